"""Bad records fed to the jobs: as lines of sink files to the batch job, as Kinesis records to the streaming job.
Malformed JSON, wrong types, missing fields, 5 MB lines, 100,000 levels of nesting, bytes that are not UTF-8,
SQL-looking text: every bad record is quarantined with a reason, the good ones (some after the bad ones) are
cleaned in the same run, and for every entity records in = cleaned + quarantined + duplicates. Bytes that are not
UTF-8 become U+FFFD: such a record is cleaned or quarantined by what is left, and every table stays readable."""

from __future__ import annotations

import json
import uuid

import boto3
from delta_tables import delta_rows
from stream.kinesis_helpers import create_streams
from stream.records import geo, pin, user

from pinterest_pipeline.jobs.batch import BatchConfig, run_batch
from pinterest_pipeline.jobs.stream import StreamConfig, run_stream

ENTITIES = ("pin", "geo", "user")
SQL = "'; DROP TABLE pinterest_data; --"
DEEP = 100_000


def j(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def replaced(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data, (old, data[:80])
    return data.replace(old, new)


def nested(depth: int, inner: str = "") -> bytes:
    return ("[" * depth + inner + "]" * depth).encode()


def cases(big: int) -> dict[str, list[tuple[str, bytes, int | None]]]:
    """Per entity: (kind, record bytes, the ind it cleans to, or None when it must be quarantined).

    `big` is the size of the oversized records (5 MB in sink files; under Kinesis' 1 MB limit for streams).
    """
    deep_obj = lambda key: (f'{{"{key}": 77, "x": ' + '{"a":' * DEEP + "1" + "}" * DEEP + "}").encode()
    return {
        "pin": [
            ("valid", j(pin(1)), 1),
            (
                "SQL-looking text",
                j({**pin(2), "title": SQL, "description": "1 OR 1=1; --", "poster_name": "O'Brien"}),
                2,
            ),
            (
                "a nested value inside a field",
                j({**pin(3), "tag_list": ["a", {"b": [1, {"c": None}]}]}),
                "either",
            ),
            ("re-sent", j(pin(1)), None),
            ("malformed JSON", b'{"index": 4, "title": "x"', None),
            ("not an object", b"[1, 2, 3]", None),
            ("JSON null", b"null", None),
            ("a bare string", b'"just text"', None),
            ("index of the wrong type", j({**pin(5), "index": "seven"}), None),
            (
                "index out of range",
                replaced(j(pin(6)), b'"index": 6', b'"index": 99999999999999999999999'),
                None,
            ),
            ("follower_count of the wrong type", j({**pin(7), "follower_count": {"k": 1}}), None),
            ("missing fields", j({"index": 8, "title": "only a title"}), None),
            ("no id", j({k: v for k, v in pin(9).items() if k != "index"}), None),
            ("nested 100,000 levels", nested(DEEP), None),
            ("nested 100,000 levels in a field", deep_obj("index"), None),
            ("oversized, valid", j({**pin(10), "description": "d" * big}), 10),
            ("oversized, malformed", b'{"index": 11, "description": "' + b"x" * big, None),
            ("NaN", replaced(j(pin(12)), b'"downloaded": 1', b'"downloaded": NaN'), None),
            (
                "Latin-1 bytes",
                replaced(j({**pin(13), "title": "caf\u00e9"}), "\u00e9".encode(), b"\xe9"),
                "either",
            ),
            ("bytes that are no encoding", b"\xff\xfe\xfd\x00\x80garbage", None),
            ("a lone surrogate escape", replaced(j(pin(14)), b'"title 14"', b'"\\ud800"'), "either"),
        ],
        "geo": [
            ("valid", j(geo(1)), 1),
            ("SQL-looking text", j({**geo(2), "country": SQL}), 2),
            ("re-sent", j(geo(2)), None),
            ("latitude of the wrong type", j({**geo(3), "latitude": "north"}), None),
            ("latitude out of range", j({**geo(4), "latitude": 1e300}), None),
            ("timestamp unparseable", j({**geo(5), "timestamp": "yesterday'; --"}), None),
            ("missing fields", j({"ind": 6, "country": "X"}), None),
            ("malformed JSON", b'{"ind": 7,, }', None),
            ("nested 100,000 levels", nested(DEEP, "1"), None),
            ("nested 100,000 levels in a field", deep_obj("ind"), None),
            ("oversized, malformed", b"{" + b" " * big, None),
            ("bytes that are no encoding", replaced(j(geo(8)), b'"Albania"', b'"\xc3\x28"'), "either"),
        ],
        "user": [
            ("valid", j(user(1)), 1),
            ("SQL-looking text", j({**user(2), "first_name": SQL, "last_name": "x' UNION SELECT 1 --"}), 2),
            ("re-sent", j(user(1)), None),
            ("age of the wrong type", j({**user(3), "age": "old"}), None),
            ("age out of range", j({**user(4), "age": 1e300}), None),
            ("Infinity", replaced(j(user(5)), b'"age": 20', b'"age": Infinity'), None),
            ("date_joined unparseable", j({**user(6), "date_joined": "2016-13-45 99:99:99"}), None),
            ("missing fields", j({"ind": 7}), None),
            ("an empty object", b"{}", None),
            ("nested 100,000 levels", nested(DEEP), None),
            ("oversized, valid", j({**user(8), "last_name": "L" * big}), 8),
            ("bytes that are no encoding", b'{"ind": 9, "first_name": "\xed\xa0\x80"}', None),
        ],
    }


def table(lake, name: str) -> list[dict]:
    return delta_rows(lake / name)


def check(lake, prefix: str, counts, records: dict) -> None:
    """The accounting adds up, the valid records are cleaned, the bad ones quarantined with a reason."""
    for entity in ENTITIES:
        c = counts[entity]
        assert c.read == len(records[entity]), entity
        assert c.read == c.cleaned + c.quarantined + c.duplicates, entity
        assert c.duplicates == 1, entity  # the one re-sent record
        cleaned = {r["ind"]: r for r in table(lake, f"{prefix}/{entity}")}
        quarantined = table(
            lake, f"{prefix}_quarantine/{entity}" if prefix == "stream" else f"quarantine/{entity}"
        )
        assert all(r["reason"] for r in quarantined), entity
        must_clean = {ind for _, _, ind in records[entity] if isinstance(ind, int)}
        either = [kind for kind, _, ind in records[entity] if ind == "either"]
        must_quarantine = [kind for kind, _, ind in records[entity] if ind is None and kind != "re-sent"]
        assert must_clean <= cleaned.keys(), entity
        assert len(cleaned) + len(quarantined) == len(must_clean) + len(either) + len(must_quarantine), entity
        assert len(quarantined) >= len(must_quarantine), entity
        assert c.cleaned == len(cleaned) and c.quarantined == len(quarantined), entity
    # SQL-looking text is data: cleaned as it came
    pins = {r["ind"]: r for r in table(lake, f"{prefix}/pin")}
    assert (pins[2]["title"], pins[2]["description"], pins[2]["poster_name"]) == (
        SQL,
        "1 OR 1=1; --",
        "O'Brien",
    )
    assert {r["ind"]: r for r in table(lake, f"{prefix}/geo")}[2]["country"] == SQL
    users = {r["ind"]: r for r in table(lake, f"{prefix}/user")}
    assert users[2]["user_name"] == f"{SQL} x' UNION SELECT 1 --"


def write_sink_file(raw, entity: str, start: int, lines: list[bytes]) -> None:
    """A sink file with exactly these bytes per line (sink.py's helper writes text; these are not all text)."""
    topic = f"pinterest.{entity}"
    folder = raw / "topics" / topic / "partition=0"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{topic}+0+{start:010d}.json").write_bytes(b"\n".join(lines) + b"\n")


def test_batch_job_quarantines_bad_lines_keeps_running_and_the_totals_add_up(spark, tmp_path):
    raw, lake = tmp_path / "raw", tmp_path / "lake"
    records = cases(big=5 * 1024 * 1024)
    for entity, rows in records.items():
        lines = [data for _, data, _ in rows]
        write_sink_file(raw, entity, 0, lines[: len(lines) // 2])
        write_sink_file(raw, entity, len(lines) // 2, lines[len(lines) // 2 :])
    report = run_batch(spark, BatchConfig(str(raw), str(lake)))
    check(lake, "silver", report.entities, records)


def test_stream_job_quarantines_bad_records_keeps_running_and_the_totals_add_up(
    spark, tmp_path, kinesis_endpoint
):
    client = boto3.client("kinesis", endpoint_url=kinesis_endpoint, region_name="us-east-1")
    prefix, lake = f"bad-{uuid.uuid4().hex[:6]}", tmp_path / "lake"
    create_streams(client, prefix, shards=1)
    records = cases(big=900 * 1024)  # Kinesis takes at most 1 MiB per record
    for entity, rows in records.items():
        for _, data, _ in rows:  # one at a time, in order: the re-sent record arrives after the first
            response = client.put_record(StreamName=f"{prefix}-{entity}", Data=data, PartitionKey="k")
            assert response["SequenceNumber"]
    report = run_stream(spark, StreamConfig(str(lake), kinesis_endpoint, prefix, available_now=True))
    check(lake, "stream", report.entities, records)
