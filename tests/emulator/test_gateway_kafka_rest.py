"""Contract of the REST proxy routes over real HTTP: bodies, status codes, error shapes, and the files."""

from __future__ import annotations

import json
import threading

import pytest
import requests
from pinterest_emulator.gateway import Gateway
from pinterest_emulator.gateway.budget import ByteBudget

try:
    from . import gateway_fixtures as fx
except ImportError:
    import gateway_fixtures as fx

UNUSED_KINESIS = "http://127.0.0.1:9"  # these tests never reach Kinesis


@pytest.fixture
def gateway(tmp_path):
    with Gateway(tmp_path / "raw", kinesis_endpoint=UNUSED_KINESIS, flush_size=3) as gw:
        yield gw


def post(gw, topic, body, content_type=fx.KAFKA_JSON, **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(
        f"{gw.url}/topics/{topic}", data=data, headers={"Content-Type": content_type, **headers}, timeout=30
    )


def test_produce_returns_offsets_and_lands_in_sink_files(gateway):
    first = fx.produce(gateway.url, "pinterest.pin", [{"ind": 1}, {"ind": 2}])
    assert first.status_code == 200
    assert first.headers["Content-Type"] == "application/vnd.kafka.v2+json"
    assert first.json() == {
        "key_schema_id": None,
        "value_schema_id": None,
        "offsets": [
            {"partition": 0, "offset": 0, "error_code": None, "error": None},
            {"partition": 0, "offset": 1, "error_code": None, "error": None},
        ],
    }
    second = fx.produce(gateway.url, "pinterest.pin", [{"ind": 3, "title": "Ελληνικά ✨"}, {"ind": 4}])
    assert [o["offset"] for o in second.json()["offsets"]] == [2, 3]
    # flush.size 3: one finished file, the fourth record still staged
    assert fx.read_topic(gateway.raw_root, "pinterest.pin") == [
        (0, 0, {"ind": 1}),
        (0, 1, {"ind": 2}),
        (0, 2, {"ind": 3, "title": "Ελληνικά ✨"}),
    ]
    text = fx.sink_files(gateway.raw_root, "pinterest.pin")[0].read_text(encoding="utf-8")
    assert text.splitlines()[2] == '{"ind":3,"title":"Ελληνικά ✨"}'  # UTF-8, one object per line


def test_clean_close_publishes_staged_records(tmp_path):
    with Gateway(tmp_path, kinesis_endpoint=UNUSED_KINESIS) as gw:
        fx.produce(gw.url, "pinterest.geo", [{"ind": 7}])
        assert fx.read_topic(tmp_path, "pinterest.geo") == []
    assert fx.read_topic(tmp_path, "pinterest.geo") == [(0, 0, {"ind": 7})]


def test_list_and_describe_topics(gateway):
    listing = requests.get(f"{gateway.url}/topics", timeout=10)
    assert listing.status_code == 200
    assert listing.json() == ["pinterest.geo", "pinterest.pin", "pinterest.user"]
    described = requests.get(f"{gateway.url}/topics/pinterest.user", timeout=10).json()
    assert described["name"] == "pinterest.user"
    assert [p["partition"] for p in described["partitions"]] == [0]
    missing = requests.get(f"{gateway.url}/topics/nope", timeout=10)
    assert (missing.status_code, missing.json()) == (
        404,
        {"error_code": 40401, "message": "Topic not found."},
    )


@pytest.mark.parametrize(
    "content_type, body, status, code",
    [
        ("application/json", {"records": [{"value": 1}]}, 415, 415),
        ("application/vnd.kafka.binary.v2+json", {"records": [{"value": "AQ=="}]}, 415, 415),
        (fx.KAFKA_JSON, b"{not json", 400, 400),
        (fx.KAFKA_JSON, b"\xff\xfe", 400, 400),
        (fx.KAFKA_JSON, [1, 2], 400, 400),
        (fx.KAFKA_JSON, {"value": 1}, 422, 422),
        (fx.KAFKA_JSON, {"records": []}, 422, 422),
        (fx.KAFKA_JSON, {"records": "x"}, 422, 422),
        (fx.KAFKA_JSON, {"records": [1]}, 422, 422),
        (fx.KAFKA_JSON, {"records": [{"key": "k"}]}, 422, 422),
        (fx.KAFKA_JSON, {"records": [{"value": 1, "partition": "0"}]}, 422, 422),
        (fx.KAFKA_JSON, {"records": [{"value": 1, "partition": 3}]}, 404, 40402),
    ],
)
def test_produce_errors_have_the_proxy_shape_and_write_nothing(gateway, content_type, body, status, code):
    response = post(gateway, "pinterest.pin", body, content_type)
    assert response.status_code == status
    assert response.json()["error_code"] == code and response.json()["message"]
    assert fx.staged_lines(gateway.raw_root, "pinterest.pin") == []


def test_unknown_topic_is_404_unless_auto_creation_is_on(tmp_path):
    with Gateway(tmp_path, kinesis_endpoint=UNUSED_KINESIS) as gw:
        response = fx.produce(gw.url, "other.topic", [{"a": 1}])
        assert response.json() == {"error_code": 40401, "message": "Topic not found."}
        assert response.status_code == 404
    with Gateway(tmp_path, kinesis_endpoint=UNUSED_KINESIS, auto_create_topics=True) as gw:
        assert fx.produce(gw.url, "other.topic", [{"a": 1}]).status_code == 200
        assert post(gw, "bad", b"{").status_code == 400  # a bad request creates no topic
        assert "bad" not in requests.get(f"{gw.url}/topics", timeout=10).json()
    with Gateway(tmp_path, kinesis_endpoint=UNUSED_KINESIS) as gw:  # found on disk after a restart
        assert "other.topic" in requests.get(f"{gw.url}/topics", timeout=10).json()


def test_body_over_the_size_limit_is_413(tmp_path):
    with Gateway(tmp_path, kinesis_endpoint=UNUSED_KINESIS, max_request_bytes=1000) as gw:
        response = fx.produce(gw.url, "pinterest.pin", [{"text": "x" * 2000}])
        assert response.status_code == 413
        assert response.json() == {"message": "HTTP content length exceeded 1000 bytes."}
        assert fx.produce(gw.url, "pinterest.pin", [{"text": "x"}]).status_code == 200
        # a body far larger than the socket buffers gets the same answer
        big = fx.produce(gw.url, "pinterest.pin", [{"text": "x" * 8_000_000}])
        assert big.status_code == 413 and big.json()["message"] == "HTTP content length exceeded 1000 bytes."


def body_of(records: list) -> bytes:
    return json.dumps({"records": records}).encode()


def test_body_of_exactly_api_gateways_10_mib_is_accepted_and_one_byte_more_is_413(tmp_path):
    with Gateway(tmp_path, kinesis_endpoint=UNUSED_KINESIS) as gw:
        assert gw.max_request_bytes == 10_485_760
        # one record padded with JSON whitespace (which the proxy does not keep) to the exact size
        core = body_of([{"value": 1}])
        exact = core[:-1] + b" " * (10_485_760 - len(core)) + b"}"
        assert len(exact) == 10_485_760
        assert post(gw, "pinterest.pin", exact).status_code == 200
        over = post(gw, "pinterest.pin", exact[:-1] + b" }")
        assert over.status_code == 413
        assert over.json() == {"message": "HTTP content length exceeded 10485760 bytes."}
    assert [value for _, _, value in fx.read_topic(tmp_path, "pinterest.pin")] == [1]


# Kafka's producer estimate for a keyless JSON string of n characters (DefaultRecordBatch.
# estimateBatchSizeUpperBound): 61 (batch) + 21 (record) + 1 (null key) + 3 (varint) + n + 2 (quotes) + 1
# (header count); max.request.size is 1048576.
FITS = "x" * 1_048_487  # 1048576 bytes: the largest value the proxy's producer sends
OVER = "x" * 1_048_488  # 1048577 bytes
TOO_LARGE = (
    "The message is 1048577 bytes when serialized which is larger than 1048576, which is the value of the "
    "max.request.size configuration."
)


def test_a_record_over_max_request_size_is_refused_in_its_own_entry_and_the_rest_land(gateway):
    response = fx.produce(gateway.url, "pinterest.pin", [{"ind": 1}, OVER, {"ind": 2}, FITS])
    assert response.status_code == 200
    assert response.json()["offsets"] == [
        {"partition": 0, "offset": 0, "error_code": None, "error": None},
        {"partition": None, "offset": None, "error_code": 50002, "error": TOO_LARGE},
        {"partition": 0, "offset": 1, "error_code": None, "error": None},
        {"partition": 0, "offset": 2, "error_code": None, "error": None},
    ]
    # flush.size is 3: the three records written fill one file, with contiguous offsets
    assert fx.read_topic(gateway.raw_root, "pinterest.pin") == [
        (0, 0, {"ind": 1}),
        (0, 1, {"ind": 2}),
        (0, 2, FITS),
    ]
    assert fx.staged_lines(gateway.raw_root, "pinterest.pin") == []


def test_a_key_counts_toward_the_record_size(gateway):
    # a key "k" is 3 bytes of JSON with a 1-byte length, 3 bytes more than a null key
    records = [{"key": "k", "value": FITS[:-3]}, {"key": "k", "value": FITS[:-2]}]
    offsets = post(gateway, "pinterest.pin", {"records": records}).json()["offsets"]
    assert offsets[0] == {"partition": 0, "offset": 0, "error_code": None, "error": None}
    assert offsets[1]["error_code"] == 50002 and offsets[1]["offset"] is None
    assert offsets[1]["error"] == TOO_LARGE


def test_a_request_whose_records_are_all_too_large_writes_nothing(gateway):
    response = fx.produce(gateway.url, "pinterest.pin", [OVER, OVER])
    assert response.status_code == 200
    assert [entry["error_code"] for entry in response.json()["offsets"]] == [50002, 50002]
    assert fx.staged_lines(gateway.raw_root, "pinterest.pin") == []
    # the next record takes the first offset: nothing was used by the refused ones
    assert fx.produce(gateway.url, "pinterest.pin", [1]).json()["offsets"][0]["offset"] == 0


def test_keyed_records_go_to_the_murmur2_partition(tmp_path):
    with Gateway(tmp_path, kinesis_endpoint=UNUSED_KINESIS, partitions=3) as gw:
        body = {
            "records": [{"key": "abc", "value": 1}, {"key": "21", "value": 2}, {"value": 3, "partition": 2}]
        }
        offsets = post(gw, "pinterest.pin", body).json()["offsets"]
    # murmur2 of the JSON key text, as the Java client's default partitioner does
    from pinterest_emulator.gateway.kafka_rest import murmur2

    assert [o["partition"] for o in offsets] == [
        (murmur2(b'"abc"') & 0x7FFFFFFF) % 3,
        (murmur2(b'"21"') & 0x7FFFFFFF) % 3,
        2,
    ]


def test_api_key_is_required_when_configured(tmp_path):
    with Gateway(tmp_path, kinesis_endpoint=UNUSED_KINESIS, api_key="s3cret") as gw:
        for headers in ({}, {"x-api-key": "wrong"}):
            response = requests.get(f"{gw.url}/topics", headers=headers, timeout=10)
            assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})
        assert post(gw, "pinterest.pin", {"records": [{"value": 1}]}).status_code == 403
        assert (
            requests.get(f"{gw.url}/topics", headers={"x-api-key": "s3cret"}, timeout=10).status_code == 200
        )
        assert requests.get(f"{gw.url}/openapi.json", timeout=10).status_code == 200
    assert fx.read_topic(tmp_path, "pinterest.pin") == []


def test_unknown_routes_and_methods(gateway):
    assert requests.get(f"{gateway.url}/nothing", timeout=10).status_code == 404
    assert requests.delete(f"{gateway.url}/topics/pinterest.pin", timeout=10).status_code == 405
    assert requests.get(f"{gateway.url}/topics/a/b/c", timeout=10).status_code == 404
    patched = requests.patch(f"{gateway.url}/topics/pinterest.pin", timeout=10)
    assert (patched.status_code, patched.json()["error_code"]) == (405, 405)  # not the base class's 501
    assert requests.options(f"{gateway.url}/streams", timeout=10).status_code == 405
    assert requests.head(f"{gateway.url}/topics", timeout=10).status_code == 405


def test_concurrent_clients_get_distinct_offsets(tmp_path):
    with Gateway(tmp_path, kinesis_endpoint=UNUSED_KINESIS, flush_size=50, max_connections=4) as gw:
        acked = []

        def client(n):
            with requests.Session() as session:
                for i in range(20):
                    response = fx.produce(
                        gw.url,
                        "pinterest.user",
                        [{"c": n, "i": i, "j": j} for j in range(5)],
                        session=session,
                    )
                    acked.extend(o["offset"] for o in response.json()["offsets"])

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]  # more clients than slots
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    records = fx.read_topic(tmp_path, "pinterest.user")
    assert sorted(acked) == [o for _, o, _ in records] == list(range(800))
    assert len({(v["c"], v["i"], v["j"]) for _, _, v in records}) == 800
    assert all(len(p.read_text().splitlines()) == 50 for p in fx.sink_files(tmp_path, "pinterest.user"))


class Clock:
    """The records' timestamps, moved by the test (no sleeps)."""

    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self):
        return self.now


def test_files_rotate_on_record_time_and_a_quiet_topic_keeps_its_open_file(tmp_path):
    clock = Clock()
    with Gateway(tmp_path, kinesis_endpoint=UNUSED_KINESIS, rotate_interval_ms=60000, clock=clock) as gw:
        fx.produce(gw.url, "pinterest.pin", [{"ind": 1}, {"ind": 2}])
        clock.now += 3600  # no traffic for an hour: no timer publishes the open file
        assert fx.sink_files(tmp_path, "pinterest.pin") == []
        # the next record is an hour after the file's first: it closes that file and starts the next
        assert fx.produce(gw.url, "pinterest.pin", [{"ind": 3}]).json()["offsets"][0]["offset"] == 2
        assert fx.read_topic(tmp_path, "pinterest.pin") == [(0, 0, {"ind": 1}), (0, 1, {"ind": 2})]
        assert fx.staged_lines(tmp_path, "pinterest.pin") == ['{"ind":3}']
    # the graceful close publishes the rest (the one difference from the connector, for a local demo)
    assert [v for _, _, v in fx.read_topic(tmp_path, "pinterest.pin")] == [{"ind": 1}, {"ind": 2}, {"ind": 3}]


def test_byte_budget_holds_readers_back_until_memory_is_released():
    budget = ByteBudget(100)
    assert budget.acquire(60) and budget.acquire(40)
    assert not budget.acquire(1, blocking=False)
    released = threading.Event()
    got = []

    def reader():
        got.append(budget.acquire(50))
        released.set()

    thread = threading.Thread(target=reader)
    thread.start()
    budget.release(60)  # the reader gets its 50 bytes only once these are back
    thread.join()
    assert got == [True] and budget.used == 90
    assert budget.acquire(10_000, blocking=False) is False  # capped at the limit, never more than it


def test_large_concurrent_requests_wait_for_the_byte_budget_and_all_succeed(tmp_path):
    # 6 clients with 400 kB bodies against a 1 MB budget: at most two bodies are held at once, the rest wait
    with Gateway(
        tmp_path, kinesis_endpoint=UNUSED_KINESIS, max_request_bytes=500_000, max_inflight_bytes=1_000_000
    ) as gw:
        statuses = []

        def client(n):
            for i in range(3):
                values = [{"n": n, "i": i, "pad": "x" * 4000} for _ in range(100)]
                statuses.append(fx.produce(gw.url, "pinterest.geo", values).status_code)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses == [200] * 18
        budget = gw._server.budget
    # a handler gives its reservation back after its answer is sent; closing the gateway joins the handlers
    assert budget.used == 0  # every reservation was given back
    assert len(fx.read_topic(tmp_path, "pinterest.geo")) == 1800
