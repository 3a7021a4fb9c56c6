"""Kinesis throttling and partial PutRecords failures: retried until acknowledged, nothing lost, nothing twice.

End to end, the emulator posts to moto's real Kinesis server through a throttling proxy (kinesis_faults.py),
directly (kinesis-direct) and through the gateway's Kinesis proxy (kinesis); the streams then hold every record
exactly once. Below, the target's retry rules on botocore's Stubber: only failed records are resent, throttling
is given up after the last attempt, a missing stream stops at once.
"""

from __future__ import annotations

import collections
import itertools
import json
import uuid

import boto3
import pytest
from botocore.stub import Stubber
from pinterest_emulator import db
from pinterest_emulator.config import PostConfig
from pinterest_emulator.gateway import Gateway
from pinterest_emulator.post import post_events, serialise
from pinterest_emulator.sampling import uniform_indexes
from pinterest_emulator.seed import seed_database
from pinterest_emulator.targets import GaveUp, KinesisDirectTarget, Rejected
from sqlalchemy import create_engine, select

from .kinesis_faults import ThrottlingKinesis, stream_records

ROWS, SEED, EVENTS = 1000, 9, 200
ENTITIES = ("pin", "geo", "user")


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('source') / 'source.db'}"
    seed_database(url, rows=ROWS, seed=4, progress=False)
    return url


def expected_multisets(url: str, indexes: list[int]) -> dict[str, collections.Counter]:
    engine = create_engine(url)
    with engine.connect() as conn:
        out = {}
        for entity in ENTITIES:
            tbl = db.table(entity)
            rows = {
                r[db.KEY_COLUMNS[entity]]: serialise(dict(r)) for r in conn.execute(select(tbl)).mappings()
            }
            out[entity] = collections.Counter(json.dumps(rows[i], sort_keys=True) for i in indexes)
    engine.dispose()
    return out


@pytest.mark.parametrize("target", ["kinesis-direct", "kinesis"])
def test_throttled_and_partially_failed_puts_are_retried_until_every_record_is_in_kinesis_once(
    source, tmp_path, kinesis_endpoint, target
):
    prefix = f"throttled-{uuid.uuid4().hex[:8]}"
    client = boto3.client("kinesis", endpoint_url=kinesis_endpoint, region_name="us-east-1")
    for entity in ENTITIES:
        client.create_stream(StreamName=f"{prefix}-{entity}", ShardCount=2)
    for entity in ENTITIES:
        client.get_waiter("stream_exists").wait(StreamName=f"{prefix}-{entity}", WaiterConfig={"Delay": 0.1})
    with ThrottlingKinesis(kinesis_endpoint, throttle_share=0.3, record_fail_share=0.2) as throttling:
        options = {
            "sampling": "uniform",
            "seed": SEED,
            "count": EVENTS,
            "batch_size": 50,
            "stream_prefix": prefix,
            "max_attempts": 40,
            "backoff": 0.0001,
        }
        if target == "kinesis-direct":
            config = PostConfig(target, source, kinesis_endpoint=throttling.url, **options)
            report = post_events(config, progress=False)
        else:
            with Gateway(tmp_path, kinesis_endpoint=throttling.url) as gateway:
                report = post_events(
                    PostConfig(target, source, gateway=gateway.url, **options), progress=False
                )
    assert report.ok, report.error
    assert report.acknowledged == report.records_sent == 3 * EVENTS
    assert throttling.throttled > 0 and throttling.failed_records > 0 and report.resent > 0
    assert throttling.forwarded_records == 3 * EVENTS  # a failed record never reached the stream
    expected = expected_multisets(source, list(itertools.islice(uniform_indexes(ROWS, SEED), EVENTS)))
    for entity in ENTITIES:
        landed = stream_records(client, f"{prefix}-{entity}")
        # every record sent is in the stream exactly as many times as it was posted: nothing lost, nothing twice
        assert (
            collections.Counter(json.dumps(json.loads(d), sort_keys=True) for d in landed) == expected[entity]
        )


RECORDS = [{"ind": i, "country": "Albania"} for i in range(3)]


@pytest.fixture
def kinesis(monkeypatch):
    """A kinesis-direct target whose boto3 client is stubbed (no network)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "test")
    target = KinesisDirectTarget(
        endpoint_url="http://127.0.0.1:9", region="eu-west-1", max_attempts=3, backoff=0.001
    )
    with Stubber(target.client) as stubber:
        yield target, stubber
        stubber.assert_no_pending_responses()


def expected_call(records):
    return {
        "StreamName": "pinterest-geo",
        "Records": [{"Data": json.dumps(r).encode(), "PartitionKey": str(r["ind"])} for r in records],
    }


def test_partial_failure_resends_only_the_failed_record(kinesis):
    target, stubber = kinesis
    stubber.add_response(
        "put_records",
        {
            "FailedRecordCount": 1,
            "Records": [
                {"SequenceNumber": "1", "ShardId": "shardId-0"},
                {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"},
                {"SequenceNumber": "2", "ShardId": "shardId-0"},
            ],
        },
        expected_call(RECORDS),
    )
    stubber.add_response(
        "put_records",
        {"Records": [{"SequenceNumber": "3", "ShardId": "shardId-0"}]},
        expected_call(RECORDS[1:2]),
    )
    target.deliver("geo", RECORDS)
    assert (target.stats.acknowledged, target.stats.failed, target.stats.resent, target.stats.requests) == (
        3,
        0,
        1,
        2,
    )


def test_throttling_is_retried_then_given_up(kinesis):
    target, stubber = kinesis
    for _ in range(3):
        stubber.add_client_error(
            "put_records",
            "ProvisionedThroughputExceededException",
            http_status_code=400,
            expected_params=expected_call(RECORDS),
        )
    with pytest.raises(GaveUp, match="gave up after 3 attempts"):
        target.deliver("geo", RECORDS)
    assert (target.stats.acknowledged, target.stats.failed, target.stats.requests) == (0, 3, 3)


def test_missing_stream_is_rejected_at_once(kinesis):
    target, stubber = kinesis
    stubber.add_client_error(
        "put_records",
        "ResourceNotFoundException",
        http_status_code=400,
        expected_params=expected_call(RECORDS),
    )
    with pytest.raises(Rejected, match="ResourceNotFoundException"):
        target.deliver("geo", RECORDS)
    assert (target.stats.failed, target.stats.requests) == (3, 1)
