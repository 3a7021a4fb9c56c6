"""Bad input sent to a running gateway over real HTTP (127.0.0.1): an invalid request is a 4xx with a JSON
message and writes nothing, never a 5xx; a valid but odd record (SQL-looking text, nested values, any Unicode)
is acknowledged and lands byte for byte in the sink files and in Kinesis."""

from __future__ import annotations

import http.client
import json
import uuid
from urllib.parse import urlsplit

import boto3
import gateway_fixtures as fx
import pytest
import requests
from pinterest_emulator.gateway import Gateway

KAFKA = fx.KAFKA_JSON
DEEP = 100_000  # levels of nesting: far past any recursion limit
SQL = [
    "'; DROP TABLE pinterest_data; --",
    "Robert'); DROP TABLE Students;--",
    "1 OR 1=1",
    '" OR ""="',
    "%' UNION SELECT * FROM user_data WHERE '1%'='1",
]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, kinesis_endpoint):
    # a region of its own: moto's state is shared by the test process
    raw = tmp_path_factory.mktemp("raw")
    with Gateway(raw, kinesis_endpoint=kinesis_endpoint, region="eu-north-1", flush_size=1000) as gw:
        yield gw


@pytest.fixture(scope="module")
def stream(gateway):
    name = f"badinput-{uuid.uuid4().hex[:8]}"
    assert (
        requests.post(f"{gateway.url}/streams/{name}", json={"ShardCount": 1}, timeout=30).status_code == 200
    )
    return name


def nested(depth: int, kind: str = "array") -> bytes:
    return (b"[" * depth + b"]" * depth) if kind == "array" else (b'{"a":' * depth + b"1" + b"}" * depth)


def produce_body(value_text: bytes) -> bytes:
    return b'{"records":[{"value":' + value_text + b"}]}"


def put_records_body(data_text: bytes) -> bytes:
    return b'{"Records":[{"PartitionKey":"k","Data":' + data_text + b"}]}"


def send(url: str, method: str, path: str, body: bytes, headers: dict) -> tuple[int, bytes, dict]:
    """One request with exactly these bytes and headers (http.client: nothing is added or fixed up)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        if body:
            conn.send(body)
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        conn.close()


def assert_refused(status: int, body: bytes, low: int = 400, high: int = 499) -> dict:
    assert low <= status <= high, (status, body[:300])
    message = json.loads(body)
    assert isinstance(message.get("message"), str) and message["message"], message
    return message


# (name, body bytes, status, Kafka REST error code)
KAFKA_BAD = [
    ("malformed JSON", b"{not json", 400, 400),
    ("truncated JSON", b'{"records": [{"value": 1}', 400, 400),
    ("empty body", b"", 400, 400),
    ("a JSON array, not an object", b"[1, 2]", 400, 400),
    ("records missing", b'{"value": 1}', 422, 422),
    ("records of the wrong type", b'{"records": "x"}', 422, 422),
    ("records empty", b'{"records": []}', 422, 422),
    ("a record of the wrong type", b'{"records": [1]}', 422, 422),
    ("value missing", b'{"records": [{"key": "k"}]}', 422, 422),
    ("value null", b'{"records": [{"value": null}]}', 422, 422),
    ("partition of the wrong type", b'{"records": [{"value": 1, "partition": "0"}]}', 422, 422),
    ("partition that does not exist", b'{"records": [{"value": 1, "partition": 7}]}', 404, 40402),
    ("nested 100,000 levels (arrays)", produce_body(nested(DEEP)), 400, 400),
    ("nested 100,000 levels (objects)", produce_body(nested(DEEP, "object")), 400, 400),
    ("Latin-1 bytes", produce_body(b'{"title": "caf\xe9"}'), 400, 400),
    ("bytes that are no encoding", produce_body(b'"\xff\xfe\xfd\x80"'), 400, 400),
    ("a truncated UTF-8 sequence", produce_body(b'"\xe2\x82"'), 400, 400),
    ("a raw control character", produce_body(b'"a\x00b"'), 400, 400),
    ("a lone surrogate escape", produce_body(b'{"title": "\\ud800"}'), 422, 422),
    ("NaN", produce_body(b'{"x": NaN}'), 400, 400),
    ("Infinity", produce_body(b'{"x": -Infinity}'), 400, 400),
    ("a number out of range", produce_body(b'{"x": 1e400}'), 400, 400),
    ("an integer of 5,000 digits", produce_body(b"9" * 5000), 400, 400),
]


@pytest.mark.parametrize("name, body, status, code", KAFKA_BAD, ids=[c[0] for c in KAFKA_BAD])
def test_invalid_produce_requests_are_4xx_with_a_message_and_write_nothing(gateway, name, body, status, code):
    got, answer, _ = send(
        gateway.url,
        "POST",
        "/topics/pinterest.geo",
        body,
        {"Content-Type": KAFKA, "Content-Length": str(len(body))},
    )
    message = assert_refused(got, answer)
    assert (got, message["error_code"]) == (status, code), message
    assert fx.staged_lines(gateway.raw_root, "pinterest.geo") == []
    assert fx.read_topic(gateway.raw_root, "pinterest.geo") == []


def test_a_value_over_1_mb_is_refused_in_its_offset_entry_and_written_nowhere(gateway):
    # the proxy's producer refuses the record (RecordTooLargeException), the request itself is 200
    body = produce_body(json.dumps("x" * 1_100_000).encode())
    got, answer, _ = send(
        gateway.url,
        "POST",
        "/topics/pinterest.geo",
        body,
        {"Content-Type": KAFKA, "Content-Length": str(len(body))},
    )
    assert got == 200
    [entry] = json.loads(answer)["offsets"]
    assert (entry["partition"], entry["offset"], entry["error_code"]) == (None, None, 50002)
    assert "max.request.size" in entry["error"]
    assert fx.staged_lines(gateway.raw_root, "pinterest.geo") == []
    assert fx.read_topic(gateway.raw_root, "pinterest.geo") == []


@pytest.mark.parametrize(
    "headers, status",
    [
        ({"Content-Type": "application/json", "Content-Length": "2"}, 415),
        ({"Content-Type": KAFKA, "Content-Length": "abc"}, 400),
        ({"Content-Type": KAFKA, "Content-Length": "-5"}, 400),
        ({"Content-Type": KAFKA, "Transfer-Encoding": "chunked"}, 411),
        ({"Content-Type": KAFKA, "Content-Length": str(11 * 1024 * 1024)}, 413),
    ],
    ids=["wrong content type", "non-numeric length", "negative length", "chunked", "over 10 MiB"],
)
def test_invalid_headers_are_4xx_with_a_message(gateway, headers, status):
    length = headers.get("Content-Length", "")
    body = (
        b"x" * int(length) if length.isdigit() else (b"0\r\n\r\n" if "Transfer-Encoding" in headers else b"")
    )
    got, answer, _ = send(gateway.url, "POST", "/topics/pinterest.geo", body, headers)
    assert got == status
    assert_refused(got, answer)


@pytest.mark.parametrize(
    "path, status",
    [
        ("/topics/pinterest.nothing", 404),
        ("/topics/pinterest.pin';DROP%20TABLE%20pinterest_data;--", 404),
        ("/topics/%ff%fe", 404),
        ("/" + "a" * 5000, 404),
    ],
    ids=["unknown topic", "SQL in the topic", "non-UTF-8 topic", "long path"],
)
def test_unknown_topics_are_404(gateway, path, status):
    body = produce_body(b"1")
    got, answer, _ = send(
        gateway.url, "POST", path, body, {"Content-Type": KAFKA, "Content-Length": str(len(body))}
    )
    assert got == status
    assert_refused(got, answer)


KINESIS_BAD = [
    ("malformed JSON", "records", b"{not json"),
    ("a JSON array, not an object", "records", b"[1]"),
    ("Records missing", "records", b'{"StreamName": "x"}'),
    ("Records of the wrong type", "records", b'{"Records": {"Data": 1}}'),
    ("a record of the wrong type", "records", b'{"Records": ["x"]}'),
    ("Data missing", "records", b'{"Records": [{"PartitionKey": "k"}]}'),
    ("PartitionKey of the wrong type", "records", b'{"Records": [{"PartitionKey": 7, "Data": 1}]}'),
    ("PartitionKey missing", "record", b'{"Data": {"ind": 1}}'),
    ("501 records", "records", json.dumps({"Records": [{"PartitionKey": "k", "Data": 1}] * 501}).encode()),
    ("Data over 1 MB", "records", put_records_body(json.dumps("x" * 1_100_000).encode())),
    ("nested 100,000 levels", "records", put_records_body(nested(DEEP))),
    (
        "nested 100,000 levels (single record)",
        "record",
        b'{"PartitionKey": "k", "Data": ' + nested(DEEP, "object") + b"}",
    ),
    ("Latin-1 bytes", "records", put_records_body(b'{"title": "caf\xe9"}')),
    ("bytes that are no encoding", "record", b'{"PartitionKey": "k", "Data": "\xff\xfe\xfd"}'),
    ("a lone surrogate escape", "records", put_records_body(b'"\\udc80"')),
    ("NaN", "records", put_records_body(b"NaN")),
    (
        "Records and the seed's records",
        "records",
        b'{"Records": [{"PartitionKey": "k", "Data": 1}], "records": [{"partition-key": "k", "data": 1}]}',
    ),
    ("the seed's records with AWS's keys", "records", b'{"records": [{"PartitionKey": "k", "data": 1}]}'),
    ("the seed's records without partition-key", "records", b'{"records": [{"data": 1}]}'),
    ("the seed's records with null data", "records", b'{"records": [{"partition-key": "k", "data": null}]}'),
    (
        "the seed's records nested 100,000 levels",
        "records",
        b'{"records": [{"partition-key": "k", "data": ' + nested(DEEP) + b"}]}",
    ),
    ("a number out of range", "record", b'{"PartitionKey": "k", "Data": 1e999}'),
]


@pytest.mark.parametrize("name, route, body", KINESIS_BAD, ids=[c[0] for c in KINESIS_BAD])
def test_invalid_kinesis_requests_are_400_with_a_message(
    gateway, stream, kinesis_endpoint, name, route, body
):
    got, answer, _ = send(
        gateway.url,
        "PUT",
        f"/streams/{stream}/{route}",
        body,
        {"Content-Type": "application/json", "Content-Length": str(len(body))},
    )
    assert got == 400
    assert_refused(got, answer)
    assert read_stream(kinesis_endpoint, stream) == []  # nothing reached Kinesis (here or in an earlier case)


@pytest.mark.parametrize(
    "method, path, body, status",
    [
        ("PUT", "/streams/nosuch-{uuid}/records", put_records_body(b"1"), 400),
        ("PUT", "/streams/nosuch-{uuid}/record", b'{"PartitionKey": "k", "Data": 1}', 400),
        ("GET", "/streams/nosuch-{uuid}", b"", 400),
        ("PUT", "/streams/x';DROP%20TABLE%20s;--/records", put_records_body(b"1"), 400),
        ("PUT", "/streams/" + "s" * 200 + "/records", put_records_body(b"1"), 400),
        ("POST", "/streams/new-{uuid}", b'{"ShardCount": "two"}', 400),
        ("POST", "/streams/new-{uuid}", b'{"ShardCount": 100000}', 400),
        ("PATCH", "/streams/nosuch-{uuid}", b"", 405),
        ("PUT", "/streams/nosuch-{uuid}/other", b"{}", 404),
        ("GET", "/streams?Limit=0", b"", 400),
        ("GET", "/streams?Limit=1e3", b"", 400),
        ("GET", "/streams?Limit=99999999999999999999999", b"", 400),
        ("GET", "/streams?ExclusiveStartStreamName=x'%3BDROP", b"", 400),
        ("GET", "/prod/streams?Limit=-1", b"", 400),
    ],
    ids=[
        "unknown stream (records)",
        "unknown stream (record)",
        "unknown stream (describe)",
        "SQL in the stream name",
        "stream name too long",
        "ShardCount of the wrong type",
        "ShardCount out of range",
        "wrong method",
        "unknown route",
        "list limit 0",
        "list limit not an integer",
        "list limit huge",
        "SQL in the list start name",
        "list limit negative, under a stage",
    ],
)
def test_unknown_streams_and_bad_stream_requests_are_4xx(gateway, method, path, body, status):
    path = path.replace("{uuid}", uuid.uuid4().hex[:8])
    got, answer, _ = send(
        gateway.url,
        method,
        path,
        body,
        {"Content-Type": "application/json", "Content-Length": str(len(body))},
    )
    assert got == status
    message = assert_refused(got, answer)
    if "nosuch" in path and status == 400:
        assert message.get("__type") == "ResourceNotFoundException"


def odd_values() -> list:
    """Valid records no one would type: SQL, quotes and backslashes, line breaks, every plane of Unicode, nesting."""
    deep = "bottom"
    for level in range(300):
        deep = {"level": level, "next": [deep]}
    return [
        *({"index": i, "title": text, "description": text} for i, text in enumerate(SQL)),
        {
            "index": 10,
            "title": 'quote " backslash \\ slash / tab \t newline \n return \r nul \u0000 bell \u0007',
        },
        {
            "index": 11,
            "title": "emoji 📌🎨, Arabic مرحبا, CJK 你好, combining é, zero-width \u200b, BOM \ufeff",
        },
        {
            "index": 12,
            "title": "line\u2028separator\u2029paragraph",
            "tags": ["a", ["b", ["c", {"d": None}]]],
        },
        {"index": 13, "nested": deep},
        {"index": 14, "big": 10**4000, "small": -0.0, "tiny": 5e-324, "float": 1.5e300, "flag": False},
        "just a string",
        [1, "two", {"three": 3}],
        0,
    ]


def compact(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def test_odd_but_valid_records_are_acknowledged_and_land_byte_for_byte_in_the_sink_files(
    tmp_path, kinesis_endpoint
):
    values = odd_values()
    with Gateway(tmp_path, kinesis_endpoint=kinesis_endpoint, flush_size=4) as gw:
        response = fx.produce(gw.url, "pinterest.pin", values)
        assert response.status_code == 200, response.text
        assert [o["offset"] for o in response.json()["offsets"]] == list(range(len(values)))
    files = fx.sink_files(tmp_path, "pinterest.pin")
    lines = b"".join(path.read_bytes() for path in files).split(b"\n")
    assert lines[-1] == b"" and len(lines) - 1 == len(values)  # one line per record: line breaks stay escaped
    for line, value in zip(lines, values):
        assert line == compact(value)  # the JSON text of the value, UTF-8, exactly
        assert json.loads(line) == value
    assert [v for _, _, v in fx.read_topic(tmp_path, "pinterest.pin")] == values


def read_stream(endpoint: str, name: str) -> list[tuple[str, bytes]]:
    """(partition key, data) of every record of a one-shard stream, read straight from Kinesis."""
    kinesis = boto3.client("kinesis", endpoint_url=endpoint, region_name="eu-north-1")
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return [
        (r["PartitionKey"], r["Data"])
        for r in kinesis.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    ]


def test_odd_but_valid_records_are_acknowledged_and_land_byte_for_byte_in_kinesis(gateway, kinesis_endpoint):
    name = f"odd-{uuid.uuid4().hex[:8]}"
    assert (
        requests.post(f"{gateway.url}/streams/{name}", json={"ShardCount": 1}, timeout=30).status_code == 200
    )
    values = odd_values()
    many = requests.put(
        f"{gateway.url}/streams/{name}/records",
        timeout=30,
        data=json.dumps({"Records": [{"PartitionKey": SQL[0], "Data": v} for v in values]}),
    )
    assert many.status_code == 200 and many.json()["FailedRecordCount"] == 0, many.text
    one = requests.put(
        f"{gateway.url}/streams/{name}/record",
        timeout=30,
        data=json.dumps({"PartitionKey": "k", "Data": values[0]}),
    )
    assert one.status_code == 200, one.text
    assert read_stream(kinesis_endpoint, name) == [(SQL[0], compact(v)) for v in values] + [
        ("k", compact(values[0]))
    ]
