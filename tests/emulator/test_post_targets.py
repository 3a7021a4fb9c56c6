"""Target retry logic where no local server can inject the failure: Kinesis PutRecords via botocore's Stubber."""

from __future__ import annotations

import json

import pytest
from botocore.stub import Stubber
from pinterest_emulator.targets import GaveUp, KinesisDirectTarget, Rejected

RECORDS = [{"ind": i, "country": "Albania"} for i in range(3)]


@pytest.fixture
def kinesis(monkeypatch):
    """A kinesis-direct target whose boto3 client is stubbed (no network)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "test")
    target = KinesisDirectTarget(endpoint_url="http://127.0.0.1:9", region="eu-west-1", max_attempts=3,
                                 backoff=0.001)
    with Stubber(target.client) as stubber:
        yield target, stubber
        stubber.assert_no_pending_responses()


def expected_call(records):
    return {"StreamName": "pinterest-geo", "Records": [
        {"Data": json.dumps(r).encode(), "PartitionKey": str(r["ind"])} for r in records]}


def test_partial_failure_resends_only_the_failed_record(kinesis):
    target, stubber = kinesis
    stubber.add_response("put_records", {"FailedRecordCount": 1, "Records": [
        {"SequenceNumber": "1", "ShardId": "shardId-0"},
        {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"},
        {"SequenceNumber": "2", "ShardId": "shardId-0"}]}, expected_call(RECORDS))
    stubber.add_response("put_records", {"Records": [
        {"SequenceNumber": "3", "ShardId": "shardId-0"}]}, expected_call(RECORDS[1:2]))
    target.deliver("geo", RECORDS)
    assert (target.stats.acknowledged, target.stats.failed, target.stats.resent, target.stats.requests) == (3, 0, 1, 2)


def test_throttling_is_retried_then_given_up(kinesis):
    target, stubber = kinesis
    for _ in range(3):
        stubber.add_client_error("put_records", "ProvisionedThroughputExceededException", http_status_code=400,
                                 expected_params=expected_call(RECORDS))
    with pytest.raises(GaveUp, match="gave up after 3 attempts"):
        target.deliver("geo", RECORDS)
    assert (target.stats.acknowledged, target.stats.failed, target.stats.requests) == (0, 3, 3)


def test_missing_stream_is_rejected_at_once(kinesis):
    target, stubber = kinesis
    stubber.add_client_error("put_records", "ResourceNotFoundException", http_status_code=400,
                             expected_params=expected_call(RECORDS))
    with pytest.raises(Rejected, match="ResourceNotFoundException"):
        target.deliver("geo", RECORDS)
    assert (target.stats.failed, target.stats.requests) == (3, 1)
