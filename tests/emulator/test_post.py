"""post: the original sampling, every target's wire format on a real loopback server, retries, bad input."""

from __future__ import annotations

import collections
import itertools
import json
import uuid

import pytest
from pinterest_emulator import db
from pinterest_emulator.cli import main
from pinterest_emulator.config import PostConfig
from pinterest_emulator.post import post_events, serialise
from pinterest_emulator.sampling import original_indexes, uniform_indexes
from pinterest_emulator.seed import seed_database
from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine

ENTITIES = ("pin", "geo", "user")
KEY = {"pin": "index", "geo": "ind", "user": "ind"}


def db_records(url: str, indexes, iso: bool = False) -> dict[str, list[dict]]:
    """The records the emulator should send for these indexes, read straight from the database."""
    engine = create_engine(url)
    out = {}
    with engine.connect() as conn:
        for entity in ENTITIES:
            tbl = db.table(entity)
            rows = {r[KEY[entity]]: serialise(dict(r), iso) for r in conn.execute(select(tbl)).mappings()}
            out[entity] = [rows[i] for i in indexes]
    engine.dispose()
    return out


def first_uniform(rows: int, seed: int, count: int) -> list[int]:
    return list(itertools.islice(uniform_indexes(rows, seed), count))


def multiset(values) -> collections.Counter:
    return collections.Counter(json.dumps(v, sort_keys=True) for v in values)


def test_original_sequence_is_the_courses():
    draws = list(itertools.islice(original_indexes(), 2000))
    assert draws[:6] == [7528, 2863, 5730, 8304, 8731, 1313]  # README
    assert len(set(draws)) == 1824 and max(draws) <= 11000


@pytest.mark.real_data
def test_original_sampling_replays_the_real_emulator(real_source_dir, real_sqlite):
    """With the real rows loaded, the first 2,000 events are exactly what the course's emulator posted."""
    expected = {
        e: [
            json.loads(line)
            for line in (real_source_dir / "seed100_first2000_draws" / f"{e}.jsonl")
            .read_text(encoding="utf-8")
            .splitlines()
        ]
        for e in ENTITIES
    }
    assert [r["index"] for r in expected["pin"]] == list(itertools.islice(original_indexes(), 2000))
    complete = set()
    for line in (real_source_dir / "pinterest_data_partial.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if not row.get("_flags"):
            complete.add(row["index"])

    import io

    out = io.StringIO()
    report = post_events(
        PostConfig("console", real_sqlite, sampling="original", count=2000, batch_size=300),
        out=out,
        progress=False,
    )
    assert report.ok and report.events == 2000 and report.acknowledged == 6000
    sent = collections.defaultdict(list)
    for line in out.getvalue().splitlines():
        message = json.loads(line)
        sent[message["topic"]].append(message["value"])
    assert sent["pinterest.geo"] == expected["geo"]
    assert sent["pinterest.user"] == expected["user"]
    compared = [
        (ours, theirs)
        for ours, theirs in zip(sent["pinterest.pin"], expected["pin"])
        if theirs["index"] in complete
    ]
    assert len(compared) > 1800
    assert all(ours == theirs for ours, theirs in compared)


def test_kafka_rest_wire_format(seeded_sqlite, http_sink):
    report = post_events(
        PostConfig(
            "kafka-rest",
            seeded_sqlite,
            gateway=http_sink.url,
            sampling="uniform",
            seed=3,
            count=250,
            batch_size=100,
            api_key="secret-key",
        ),
        progress=False,
    )
    assert report.ok and (report.events, report.records_sent, report.acknowledged) == (250, 750, 750)
    assert report.requests == 9  # 100 + 100 + 50 events, one request per table each
    for request in http_sink.requests:
        assert request["method"] == "POST" and request["path"] in {f"/topics/pinterest.{e}" for e in ENTITIES}
        assert request["headers"]["Content-Type"] == "application/vnd.kafka.json.v2+json"
        assert request["headers"]["x-api-key"] == "secret-key"
        body = json.loads(request["body"])
        assert list(body) == ["records"] and all(list(r) == ["value"] for r in body["records"])
    expected = db_records(seeded_sqlite, first_uniform(11154, 3, 250))
    for entity in ENTITIES:
        assert http_sink.values(f"/topics/pinterest.{entity}") == expected[entity]
    assert all(" " in r["timestamp"] and "T" not in r["timestamp"] for r in expected["geo"])


def test_kinesis_proxy_wire_format_records_and_record(seeded_sqlite, http_sink):
    report = post_events(
        PostConfig(
            "kinesis",
            seeded_sqlite,
            gateway=http_sink.url,
            sampling="uniform",
            seed=4,
            count=60,
            batch_size=25,
            stream_prefix="demo",
        ),
        progress=False,
    )
    assert report.ok and report.acknowledged == 180
    expected = db_records(seeded_sqlite, first_uniform(11154, 4, 60))
    for request in http_sink.requests:
        body = json.loads(request["body"])
        stream = request["path"].split("/")[2]
        assert request["method"] == "PUT" and request["path"] == f"/streams/{stream}/records"
        assert stream in {"demo-pin", "demo-geo", "demo-user"} and body["StreamName"] == stream
        assert all(set(r) == {"Data", "PartitionKey"} for r in body["Records"])
    for entity in ENTITIES:
        records = http_sink.values(f"/streams/demo-{entity}/records")
        assert [r["Data"] for r in records] == expected[entity]
        assert [r["PartitionKey"] for r in records] == [str(r[KEY[entity]]) for r in expected[entity]]

    http_sink.requests.clear()
    single = post_events(
        PostConfig(
            "kinesis",
            seeded_sqlite,
            gateway=http_sink.url,
            sampling="uniform",
            seed=4,
            count=2,
            batch_size=1,
            iso=True,
        ),
        progress=False,
    )
    assert single.ok and single.requests == 6
    body = json.loads(http_sink.requests[1]["body"])
    assert http_sink.requests[1]["path"] == "/streams/pinterest-geo/record"
    assert set(body) == {"StreamName", "Data", "PartitionKey"} and body["StreamName"] == "pinterest-geo"
    assert body["Data"] == db_records(seeded_sqlite, [body["Data"]["ind"]], iso=True)["geo"][0]
    assert "T" in body["Data"]["timestamp"]


def test_kinesis_direct_puts_records_into_kinesis(seeded_sqlite, monkeypatch):
    import boto3
    from moto.server import ThreadedMotoServer

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "test")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{server._server.server_port}"
        client = boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1")
        # moto's servers in one process share one in-memory account: a prefix of its own keeps this test apart.
        prefix = f"post-{uuid.uuid4().hex[:8]}"
        for entity in ENTITIES:
            client.create_stream(StreamName=f"{prefix}-{entity}", ShardCount=1)
        report = post_events(
            PostConfig(
                "kinesis-direct",
                seeded_sqlite,
                sampling="uniform",
                seed=5,
                count=30,
                batch_size=10,
                kinesis_endpoint=endpoint,
                stream_prefix=prefix,
            ),
            progress=False,
        )
        assert report.ok and report.acknowledged == 90
        expected = db_records(seeded_sqlite, first_uniform(11154, 5, 30))
        for entity in ENTITIES:
            stream = f"{prefix}-{entity}"
            shard = client.describe_stream(StreamName=stream)["StreamDescription"]["Shards"][0]["ShardId"]
            iterator = client.get_shard_iterator(
                StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            got = client.get_records(ShardIterator=iterator, Limit=1000)["Records"]
            assert [json.loads(r["Data"]) for r in got] == expected[entity]
    finally:
        server.stop()


def test_console_cli_prints_json_lines_and_a_summary(seeded_sqlite, capsys):
    code = main(
        ["post", "--target", "console", "--db-url", seeded_sqlite, "--count", "3", "--batch-size", "2"]
    )
    captured = capsys.readouterr()
    assert code == 0
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [m["topic"] for m in lines] == ["pinterest.pin"] * 2 + ["pinterest.geo"] * 2 + [
        "pinterest.user"
    ] * 2 + ["pinterest.pin", "pinterest.geo", "pinterest.user"]
    assert [m["value"]["index"] for m in lines if m["topic"] == "pinterest.pin"] == [7528, 2863, 5730]
    assert "events read 3, records sent 9, acknowledged 9, failed 0" in captured.err


@pytest.mark.parametrize("target", ["kafka-rest", "kinesis"])
def test_retries_lose_nothing_and_resend_only_failed_records(seeded_sqlite, http_sink, target):
    http_sink.fail_share = 0.3  # whole requests: 500, 429 or a dropped connection
    http_sink.record_fail_share = 0.2  # single records inside accepted requests
    report = post_events(
        PostConfig(
            target,
            seeded_sqlite,
            gateway=http_sink.url,
            sampling="uniform",
            seed=6,
            count=400,
            batch_size=50,
            max_attempts=40,
            backoff=0.001,
        ),
        progress=False,
    )
    assert report.ok, report.error
    assert report.acknowledged == report.records_sent == 1200 and report.resent > 0
    expected = db_records(seeded_sqlite, first_uniform(11154, 6, 400))
    statuses = collections.Counter()
    for entity in ENTITIES:
        path = (
            f"/topics/pinterest.{entity}"
            if target == "kafka-rest"
            else f"/streams/pinterest-{entity}/records"
        )
        got = http_sink.values(path)
        values = got if target == "kafka-rest" else [r["Data"] for r in got]
        # Every record acknowledged exactly once: nothing lost, and no acknowledged record was sent again.
        assert multiset(values) == multiset(expected[entity])
    statuses.update(
        len(json.loads(r["body"]).get("records") or json.loads(r["body"])["Records"])
        for r in http_sink.requests
    )
    assert sum(n * c for n, c in statuses.items()) == report.records_sent + report.resent


def test_exhausted_retries_exit_non_zero_with_counts(seeded_sqlite, http_sink, capsys):
    http_sink.fail_share = 1.0
    http_sink.fail_modes = (503,)
    code = main(
        [
            "post",
            "--target",
            "kafka-rest",
            "--db-url",
            seeded_sqlite,
            "--gateway",
            http_sink.url,
            "--count",
            "4",
            "--max-attempts",
            "2",
            "--backoff",
            "0.001",
        ]
    )
    summary, failure = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    # The run stops at the first batch it cannot deliver: the geo and user records were never read out.
    assert "events read 4, records sent 4, acknowledged 0, failed 4" in summary
    assert (
        failure.startswith("pinterest-emulator post: gave up after 2 attempts: POST ")
        and "HTTP 503" in failure
    )
    assert len(http_sink.requests) == 2


def test_a_rejected_request_stops_the_run(seeded_sqlite, http_sink, capsys):
    http_sink.reject_status = 403
    code = main(
        [
            "post",
            "--target",
            "kinesis",
            "--db-url",
            seeded_sqlite,
            "--gateway",
            http_sink.url,
            "--count",
            "50",
            "--batch-size",
            "10",
        ]
    )
    summary, failure = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(http_sink.requests) == 1
    assert summary.startswith("post: events read 10, records sent 10, acknowledged 0")
    assert failure.startswith("pinterest-emulator post: PUT ") and "HTTP 403" in failure


def test_unreachable_gateway_fails_after_retries_with_one_line_and_exit_code_5(seeded_sqlite, capsys):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = main(
        [
            "post",
            "--target",
            "kafka-rest",
            "--db-url",
            seeded_sqlite,
            "--gateway",
            f"http://127.0.0.1:{port}",
            "--count",
            "2",
            "--max-attempts",
            "2",
            "--backoff",
            "0.001",
        ]
    )
    err = capsys.readouterr().err
    assert code == 5 and err.count("\n") == 1  # nothing was posted: the reason alone, no counts
    assert err.startswith("pinterest-emulator post: gave up after 2 attempts: POST ")
    assert "cannot connect" in err and "Connection refused" in err


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["--target", "kinesis", "--batch-size", "501"], 2, "exceeds Kinesis PutRecords' 500 records"),
        (["--target", "console", "--db-url", "sqlite:///{tmp}/empty.db"], 3, "lacks pinterest_data"),
        (["--target", "console", "--db-url", "{small}"], 3, "original sampling reads indexes 0..11000"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(tmp_path, capsys, argv, code, message):
    small = f"sqlite:///{tmp_path / 'small.db'}"
    seed_database(small, rows=20, seed=1, progress=False)
    argv = [a.format(tmp=tmp_path, small=small) for a in argv]
    if "--db-url" not in argv:
        argv += ["--db-url", small]
    assert main(["post", *argv]) == code
    err = capsys.readouterr().err.strip()
    assert err.startswith("pinterest-emulator post: ") and message in err and "\n" not in err


@pytest.mark.parametrize(
    "argv", [["--batch-size", "0"], ["--count", "-1"], ["--rate", "0"], ["--target", "nope"]]
)
def test_argument_errors_exit_2(argv, capsys):
    base = ["post", "--target", "console"] if "--target" not in argv else ["post"]
    with pytest.raises(SystemExit) as exc:
        main(base + argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("pinterest-emulator post: argument ") and err.count("\n") == 1


def test_rate_and_duration_end_the_run(seeded_sqlite, http_sink):
    paced = post_events(
        PostConfig("kafka-rest", seeded_sqlite, gateway=http_sink.url, count=20, rate=400), progress=False
    )
    assert paced.ok and paced.events == 20
    assert max(len(json.loads(r["body"])["records"]) for r in http_sink.requests) <= 400
    bounded = post_events(
        PostConfig("kafka-rest", seeded_sqlite, gateway=http_sink.url, duration=0.2, rate=200, batch_size=10),
        progress=False,
    )
    assert bounded.ok and bounded.events > 0 and bounded.acknowledged == 3 * bounded.events


@pytest.mark.mysql
def test_mysql_source_is_read_in_batches_with_bound_parameters(mysql_url, http_sink):
    seed_database(mysql_url, rows=3000, seed=12, replace=True, progress=False)
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", capture)
    try:
        report = post_events(
            PostConfig(
                "kafka-rest",
                mysql_url,
                gateway=http_sink.url,
                sampling="uniform",
                seed=8,
                count=500,
                batch_size=200,
            ),
            progress=False,
        )
    finally:
        event.remove(Engine, "before_cursor_execute", capture)
    assert report.ok and report.acknowledged == 1500
    reads = [
        (s, p)
        for s, p in statements
        if "FROM pinterest_data" in s or "FROM geolocation_data" in s or "FROM user_data" in s
    ]
    selects = [(s, p) for s, p in reads if "IN (" in s]
    assert len(selects) == 9  # 200 + 200 + 100 events, one query per table
    assert not any("LIMIT" in s.upper() for s, _ in reads)
    assert all(p for _, p in selects), "indexes are bound parameters, not formatted into the SQL"
    expected = db_records(mysql_url, first_uniform(3000, 8, 500))
    for entity in ENTITIES:
        assert http_sink.values(f"/topics/pinterest.{entity}") == expected[entity]


def test_progress_bar_goes_to_stderr(seeded_sqlite, http_sink, capsys):
    report = post_events(
        PostConfig("kafka-rest", seeded_sqlite, gateway=http_sink.url, count=50, batch_size=10), progress=True
    )
    captured = capsys.readouterr()
    assert report.ok and "post: 100%" in captured.err and "50/50" in captured.err and captured.out == ""
