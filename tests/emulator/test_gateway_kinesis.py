"""Contract of the Kinesis proxy routes, forwarded to moto's real server over loopback."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
import requests
from pinterest_emulator.gateway import Gateway
from pinterest_emulator.local_kinesis import start_moto, stop_moto

try:
    from . import gateway_fixtures as fx
except ImportError:
    import gateway_fixtures as fx


@pytest.fixture(scope="module")
def moto_url():
    url = start_moto()
    yield url
    stop_moto(url)


# moto's state is shared by the whole test process: a region of its own keeps other tests' streams out
REGION = "eu-west-3"


@pytest.fixture(scope="module")
def gateway(moto_url, tmp_path_factory):
    with Gateway(tmp_path_factory.mktemp("raw"), kinesis_endpoint=moto_url, region=REGION) as gw:
        yield gw


@pytest.fixture
def stream(gateway):
    name = f"streaming-{uuid.uuid4().hex[:8]}-pin"
    assert requests.post(f"{gateway.url}/streams/{name}", json={"ShardCount": 1}, timeout=30).json() == {}
    yield name
    requests.delete(f"{gateway.url}/streams/{name}", timeout=30)


def read_stream(moto_url: str, name: str) -> list[tuple[str, bytes]]:
    """(partition key, data) of every record in the stream's first shard, read straight from Kinesis."""
    kinesis = boto3.client(
        "kinesis",
        endpoint_url=moto_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    shard = kinesis.describe_stream(StreamName=name)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = kinesis.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return [(r["PartitionKey"], r["Data"]) for r in records]


def test_create_list_describe_delete(gateway, moto_url):
    name = f"streaming-{uuid.uuid4().hex[:8]}-geo"
    created = requests.post(f"{gateway.url}/streams/{name}", json={"ShardCount": 2}, timeout=30)
    assert (created.status_code, created.json()) == (200, {})
    listed = requests.get(f"{gateway.url}/streams", timeout=30).json()
    assert name in listed["StreamNames"] and listed["HasMoreStreams"] is False
    described = requests.get(f"{gateway.url}/streams/{name}", timeout=30).json()["StreamDescription"]
    assert described["StreamName"] == name and len(described["Shards"]) == 2
    assert isinstance(described["StreamCreationTimestamp"], float)  # Kinesis' JSON: epoch seconds
    assert requests.delete(f"{gateway.url}/streams/{name}", timeout=30).json() == {}
    assert name not in requests.get(f"{gateway.url}/streams", timeout=30).json()["StreamNames"]


def test_create_without_body_makes_one_shard(gateway):
    name = f"streaming-{uuid.uuid4().hex[:8]}-user"
    assert requests.post(f"{gateway.url}/streams/{name}", timeout=30).status_code == 200
    described = requests.get(f"{gateway.url}/streams/{name}", timeout=30).json()["StreamDescription"]
    assert len(described["Shards"]) == 1
    requests.delete(f"{gateway.url}/streams/{name}", timeout=30)


def test_put_record_forwards_data_as_json_text(gateway, moto_url, stream):
    post = {"index": 7528, "title": "Ελληνικά ✨", "follower_count": "26k"}
    response = requests.put(
        f"{gateway.url}/streams/{stream}/record",
        json={"StreamName": stream, "Data": post, "PartitionKey": "partition-1"},
        timeout=30,
    )
    assert response.status_code == 200
    assert set(response.json()) >= {"SequenceNumber", "ShardId"}
    text = requests.put(
        f"{gateway.url}/streams/{stream}/record",
        json={"StreamName": stream, "Data": "plain", "PartitionKey": "p"},
        timeout=30,
    )
    assert text.status_code == 200
    records = read_stream(moto_url, stream)
    assert records[0][0] == "partition-1" and json.loads(records[0][1].decode("utf-8")) == post
    assert records[1] == ("p", b'"plain"')  # $input.json('$.Data') of a string is its JSON text


def test_put_records_forwards_every_record(gateway, moto_url, stream):
    batch = [{"Data": {"ind": i}, "PartitionKey": f"k{i}"} for i in range(3)]
    response = requests.put(
        f"{gateway.url}/streams/{stream}/records", json={"StreamName": stream, "Records": batch}, timeout=30
    )
    assert response.status_code == 200
    body = response.json()
    assert body["FailedRecordCount"] == 0 and len(body["Records"]) == 3
    assert all("SequenceNumber" in r and "ShardId" in r for r in body["Records"])
    assert [(k, json.loads(d)) for k, d in read_stream(moto_url, stream)] == [
        (f"k{i}", {"ind": i}) for i in range(3)
    ]


def test_kinesis_errors_come_back_with_their_status_and_type(gateway):
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    described = requests.get(f"{gateway.url}/streams/{missing}", timeout=30)
    assert described.status_code == 400
    assert described.json()["__type"] == "ResourceNotFoundException" and described.json()["message"]
    put = requests.put(
        f"{gateway.url}/streams/{missing}/record", json={"Data": {}, "PartitionKey": "k"}, timeout=30
    )
    assert (put.status_code, put.json()["__type"]) == (400, "ResourceNotFoundException")


def test_duplicate_create_is_resource_in_use(gateway, stream):
    again = requests.post(f"{gateway.url}/streams/{stream}", json={"ShardCount": 1}, timeout=30)
    assert (again.status_code, again.json()["__type"]) == (400, "ResourceInUseException")


@pytest.mark.parametrize(
    "route, method, body",
    [
        ("/streams/bad name!", "GET", None),
        ("/streams/{s}", "POST", {"ShardCount": 0}),
        ("/streams/{s}", "POST", {"ShardCount": "2"}),
        ("/streams/{s}", "POST", b"{oops"),
        ("/streams/{s}/record", "PUT", {"PartitionKey": "k"}),
        ("/streams/{s}/record", "PUT", {"Data": None, "PartitionKey": "k"}),
        ("/streams/{s}/record", "PUT", {"Data": {}, "PartitionKey": ""}),
        ("/streams/{s}/record", "PUT", {"Data": {}, "PartitionKey": 5}),
        ("/streams/{s}/record", "PUT", [1]),
        ("/streams/{s}/records", "PUT", {"Records": []}),
        ("/streams/{s}/records", "PUT", {"Records": [{"Data": 1}]}),
        ("/streams/{s}/records", "PUT", {"Records": ["x"]}),
        ("/streams/{s}/records", "PUT", {"Records": [{"Data": 1, "PartitionKey": "k"}] * 501}),
    ],
)
def test_invalid_requests_are_400_with_a_message(gateway, stream, route, method, body):
    data = body if isinstance(body, bytes) or body is None else json.dumps(body)
    response = requests.request(method, gateway.url + route.format(s=stream), data=data, timeout=30)
    assert response.status_code == 400 and response.json()["message"]


def test_wrong_method_is_405(gateway):
    assert requests.put(f"{gateway.url}/streams", timeout=30).status_code == 405
    assert requests.get(f"{gateway.url}/streams/x/record", timeout=30).status_code == 405
    assert requests.get(f"{gateway.url}/streams/x/other", timeout=30).status_code == 404


def test_unreachable_kinesis_is_502(tmp_path):
    with Gateway(tmp_path, kinesis_endpoint=f"http://127.0.0.1:{fx.free_port()}") as gw:
        response = requests.get(f"{gw.url}/streams", timeout=60)
    assert response.status_code == 502 and "Kinesis endpoint" in response.json()["message"]


def test_default_endpoint_is_an_in_process_moto(tmp_path):
    with Gateway(tmp_path, region="eu-north-1") as gw:
        assert gw.kinesis_endpoint.startswith("http://127.0.0.1:")
        name = f"default-{uuid.uuid4().hex[:8]}"
        assert (
            requests.post(f"{gw.url}/streams/{name}", json={"ShardCount": 1}, timeout=30).status_code == 200
        )
        assert name in requests.get(f"{gw.url}/streams", timeout=30).json()["StreamNames"]


# Kinesis' limits, checked by the gateway before Kinesis is called: 1 MiB for a record's data blob plus its
# partition key, partition keys of 1 to 256 characters, 1 to 500 records and 10 MiB per PutRecords request.
ONE_MIB = 1_048_576


def put(gateway, stream, route, body):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return requests.put(f"{gateway.url}/streams/{stream}/{route}", data=data, timeout=60)


def string_data(size: int) -> str:
    """A string whose Data blob ($input.json: the quoted JSON text) is `size` bytes."""
    return "x" * (size - 2)


def test_put_record_of_exactly_1_mib_with_its_key_lands_and_a_byte_more_is_a_validation_error(
    gateway, moto_url, stream
):
    fits = put(gateway, stream, "record", {"Data": string_data(ONE_MIB - 3), "PartitionKey": "pk1"})
    assert fits.status_code == 200
    over = put(gateway, stream, "record", {"Data": string_data(ONE_MIB - 2), "PartitionKey": "pk1"})
    assert over.status_code == 400
    assert over.json() == {
        "__type": "ValidationException",
        "message": "1 validation error detected: Value at 'data' failed to satisfy constraint: "
        "Member must have length less than or equal to 1048576",
    }
    assert [(key, len(data)) for key, data in read_stream(moto_url, stream)] == [("pk1", ONE_MIB - 3)]


def test_put_records_names_the_record_over_1_mib(gateway, moto_url, stream):
    records = [{"Data": 1, "PartitionKey": "a"}, {"Data": string_data(ONE_MIB), "PartitionKey": "b"}]
    over = put(gateway, stream, "records", {"Records": records})
    assert (over.status_code, over.json()["__type"]) == (400, "ValidationException")
    assert "'records.2.member.data'" in over.json()["message"]
    records[1]["Data"] = string_data(ONE_MIB - 1)
    assert put(gateway, stream, "records", {"Records": records}).json()["FailedRecordCount"] == 0
    assert [key for key, _ in read_stream(moto_url, stream)] == ["a", "b"]


@pytest.mark.parametrize("route", ["record", "records"])
def test_partition_key_of_256_characters_lands_and_257_is_a_validation_error(
    gateway, moto_url, stream, route
):
    def body(key):
        record = {"Data": 1, "PartitionKey": key}
        return record if route == "record" else {"Records": [record]}

    assert put(gateway, stream, route, body("é" * 256)).status_code == 200  # characters, not bytes
    over = put(gateway, stream, route, body("k" * 257))
    at = "partitionKey" if route == "record" else "records.1.member.partitionKey"
    assert over.status_code == 400
    assert over.json() == {
        "__type": "ValidationException",
        "message": f"1 validation error detected: Value '{'k' * 257}' at '{at}' failed to satisfy constraint: "
        "Member must have length less than or equal to 256",
    }
    assert [key for key, _ in read_stream(moto_url, stream)] == ["é" * 256]


def test_put_records_takes_500_records_and_refuses_501(gateway, moto_url, stream):
    batch = [{"Data": i, "PartitionKey": "k"} for i in range(501)]
    over = put(gateway, stream, "records", {"Records": batch})
    assert over.status_code == 400
    assert over.json() == {
        "__type": "ValidationException",
        "message": "1 validation error detected: Value at 'records' failed to satisfy constraint: "
        "Member must have length less than or equal to 500",
    }
    fits = put(gateway, stream, "records", {"Records": batch[:500]}).json()
    assert fits["FailedRecordCount"] == 0 and len(fits["Records"]) == 500
    assert [json.loads(data) for _, data in read_stream(moto_url, stream)] == list(range(500))


def ten_mib_body(extra: int) -> bytes:
    """A PutRecords body of about 3 MB whose records hold 10 MiB + `extra` bytes, none over 1 MiB.

    API Gateway's 10 MiB payload limit comes first for plain text, so the records are arrays of `1e15`,
    which `$input.json` writes back as 1000000000000000.0 (19 bytes with its comma for 5 in the body).
    """
    assert json.dumps(1e15) == "1000000000000000.0"
    numbers = b"[" + b",".join([b"1e15"] * 55_000) + b"]"  # a 1,045,001-byte blob
    records = [b'{"PartitionKey": "k%d", "Data": %s}' % (i, numbers) for i in range(10)]
    rest = 10 * 1024 * 1024 - 10 * (1_045_001 + 2) - 2 + extra  # the last record: key "kk" and a string
    records.append(b'{"PartitionKey": "kk", "Data": "%s"}' % (b"x" * (rest - 2)))
    return b'{"Records": [' + b",".join(records) + b"]}"


def test_put_records_of_10_mib_in_all_lands_and_a_byte_more_is_refused(gateway, stream):
    over = put(gateway, stream, "records", ten_mib_body(1))
    assert over.status_code == 400
    assert over.json() == {
        "__type": "InvalidArgumentException",
        "message": "Records size exceeds 10 MB limit",
    }
    fits = put(gateway, stream, "records", ten_mib_body(0))
    assert fits.status_code == 200, fits.text
    answer = fits.json()
    # moto takes 5 MiB a call: the gateway sends it in parts and answers for the request, in order
    assert answer["FailedRecordCount"] == 0 and len(answer["Records"]) == 11
    sequence = [int(r["SequenceNumber"]) for r in answer["Records"]]
    assert sequence == sorted(sequence)
