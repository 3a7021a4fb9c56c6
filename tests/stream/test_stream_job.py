"""The streaming job end to end on moto's Kinesis: exactly once across runs, a reshard, poison, metrics."""

from __future__ import annotations

import pytest
from delta_tables import delta_rows, delta_versions

from pinterest_pipeline.errors import ConfigError, InputError
from pinterest_pipeline.jobs.stream import StreamConfig, run_stream
from pinterest_pipeline.metrics import METRICS, Windows

from .kinesis_helpers import ENTITIES, create_streams, put
from .records import POISON, posts


def rows(lake, name: str) -> list[dict]:
    return delta_rows(lake / name)


def versions(lake) -> dict[str, int]:
    return delta_versions(lake)


def send(client, prefix: str, indexes) -> None:
    for entity, records in posts(indexes).items():
        put(client, f"{prefix}-{entity}", records)


def reshard(client, stream: str) -> None:
    parent = client.list_shards(StreamName=stream)["Shards"][0]
    low, high = int(parent["HashKeyRange"]["StartingHashKey"]), int(parent["HashKeyRange"]["EndingHashKey"])
    client.split_shard(
        StreamName=stream, ShardToSplit=parent["ShardId"], NewStartingHashKey=str((low + high) // 2)
    )


@pytest.fixture(scope="module")
def runs(spark, tmp_path_factory, kinesis_endpoint):
    import boto3

    client = boto3.client("kinesis", endpoint_url=kinesis_endpoint, region_name="us-east-1")
    prefix, lake = "e2e", tmp_path_factory.mktemp("stream") / "lake"
    create_streams(client, prefix)
    config = StreamConfig(str(lake), kinesis_endpoint, prefix, available_now=True)
    send(client, prefix, range(1, 21))
    send(client, prefix, [1, 2])  # re-sent posts
    for entity, poison in POISON.items():
        put(client, f"{prefix}-{entity}", poison, key=lambda r: "poison")
    first = run_stream(spark, config)
    # A reshard of every stream between runs, with posts before and after it and re-sent ones.
    send(client, prefix, range(21, 31))
    for entity in ENTITIES:
        reshard(client, f"{prefix}-{entity}")
    send(client, prefix, list(range(31, 41)) + [5, 25])
    second = run_stream(spark, config)
    before_third = versions(lake)
    third = run_stream(spark, config)
    return {
        "lake": lake,
        "first": first,
        "second": second,
        "third": third,
        "before_third": before_third,
        "after_third": versions(lake),
    }


def test_each_post_is_in_the_stream_tables_exactly_once(runs):
    for entity in ENTITIES:
        inds = [r["ind"] for r in rows(runs["lake"], f"stream/{entity}")]
        assert sorted(inds) == list(range(1, 41)), entity


def test_stream_rows_are_cleaned_like_silver(runs):
    pins = {r["ind"]: r for r in rows(runs["lake"], "stream/pin")}
    assert (pins[2]["follower_count"], pins[2]["save_location"], pins[2]["category"]) == (
        6_000_000,
        "/data/travel",
        "travel",
    )
    assert pins[2]["arrived_at"] is not None
    users = {r["ind"]: r for r in rows(runs["lake"], "stream/user")}
    assert (users[3]["user_name"], users[3]["age"]) == ("Ann L3", 23)
    geos = {r["ind"]: r for r in rows(runs["lake"], "stream/geo")}
    assert geos[4]["coordinates"] == [1.5, -2.5]


def test_accounting_per_run(runs):
    first, second = runs["first"].entities, runs["second"].entities
    assert (first["pin"].read, first["pin"].cleaned, first["pin"].quarantined, first["pin"].duplicates) == (
        24,
        20,
        2,
        2,
    )
    assert (
        first["user"].read,
        first["user"].cleaned,
        first["user"].quarantined,
        first["user"].duplicates,
    ) == (23, 20, 1, 2)
    for entity in ENTITIES:
        assert (second[entity].read, second[entity].cleaned, second[entity].duplicates) == (22, 20, 2)


def test_a_run_with_nothing_new_writes_nothing(runs):
    assert all(c.read == 0 and c.batches == 0 for c in runs["third"].entities.values())
    assert runs["after_third"] == runs["before_third"]


def test_poison_lands_in_quarantine_with_a_reason(runs):
    reasons = sorted(r["reason"] for r in rows(runs["lake"], "stream_quarantine/pin"))
    assert reasons == ["index is not an integer: seven", "malformed JSON"]
    (geo,) = rows(runs["lake"], "stream_quarantine/geo")
    assert geo["reason"] == "unparseable timestamp: yesterday" and geo["source"].startswith(
        "e2e-geo:shardId-"
    )
    assert [r["raw"] for r in rows(runs["lake"], "stream_quarantine/user")] == ["[1, 2]"]


def test_metrics_equal_a_recomputation_from_the_stream_table(spark, runs):
    pins = spark.createDataFrame(rows(runs["lake"], "stream/pin"))
    for name, metric in METRICS.items():
        expected = sorted(tuple(r) for r in metric(pins, Windows()).collect())
        got = rows(runs["lake"], f"stream/metrics/{name}")
        columns = metric(pins, Windows()).columns
        # Delta hands timestamps back in UTC; Spark's collect gives them naive, in the session's UTC.
        naive = lambda v: v.replace(tzinfo=None) if hasattr(v, "tzinfo") else v
        assert sorted(tuple(naive(r[c]) for c in columns) for r in got) == expected, name
    total = sum(r["category_count"] for r in rows(runs["lake"], "stream/metrics/category_popularity"))
    assert total == 40


def test_bad_configuration_fails_before_anything_is_written(spark, tmp_path, kinesis_endpoint):
    with pytest.raises(ConfigError, match="stream prefix"):
        StreamConfig(str(tmp_path / "lake"), kinesis_endpoint, "bad prefix")
    with pytest.raises(ConfigError, match="endpoint"):
        StreamConfig(str(tmp_path / "lake"), "localhost:1")
    with pytest.raises(InputError, match="not found"):
        run_stream(
            spark, StreamConfig(str(tmp_path / "lake"), kinesis_endpoint, "absent", available_now=True)
        )
    assert not (tmp_path / "lake").exists()


def test_array_records_are_read_as_their_objects_and_the_summary_names_the_reasons(
    spark, tmp_path, kinesis_endpoint
):
    import json

    import boto3

    from .records import geo, pin, user

    client = boto3.client("kinesis", endpoint_url=kinesis_endpoint, region_name="us-east-1")
    prefix, lake = "arrays", tmp_path / "lake"
    create_streams(client, prefix, shards=1)
    # One of the course's client scripts sends "Data": [row]. One record at a time: the arrival order is known.
    sent = {
        "pin": [
            [pin(1)],
            [pin(2), {**pin(1), "title": "later"}, pin(3)],
            pin(2, "travel"),
            [pin(4), 5],
            [],
            [pin(5), {**pin(6), "follower_count": "lots"}],
        ],
        "geo": [[geo(1, "A"), geo(1, "B")], geo(2)],
        "user": [[{**user(i), "date_joined": "2016:05:05 08:00:00"}] for i in (1, 2, 3)],
    }
    for entity, records in sent.items():
        for record in records:
            client.put_record(
                StreamName=f"{prefix}-{entity}", Data=json.dumps(record).encode(), PartitionKey="k"
            )
    report = run_stream(spark, StreamConfig(str(lake), kinesis_endpoint, prefix, available_now=True))

    pins = {r["ind"]: r for r in rows(lake, "stream/pin")}
    assert sorted(pins) == [1, 2, 3, 5]
    assert (pins[1]["title"], pins[2]["category"]) == ("title 1", "art")
    assert {r["ind"]: r["country"] for r in rows(lake, "stream/geo")} == {1: "A", 2: "Albania"}
    quarantined = {r["reason"]: r for r in rows(lake, "stream_quarantine/pin")}
    assert sorted(quarantined) == [
        "array holds a non-object: element 1 of 2 is a number",
        "empty array: no record in it",
        "unparseable follower_count: lots",
    ]
    element = quarantined["unparseable follower_count: lots"]
    assert element["source"].startswith("arrays-pin:shardId-") and element["source"].endswith("[1]")
    assert json.loads(element["raw"]) == {**pin(6), "follower_count": "lots"}
    assert quarantined["empty array: no record in it"]["raw"] == "[]"
    assert not quarantined["empty array: no record in it"]["source"].endswith("]")
    counts = report.entities["pin"]
    assert (counts.read, counts.cleaned, counts.quarantined, counts.duplicates) == (9, 4, 3, 2)
    assert report.entities["geo"].duplicates == 1
    lines = report.lines()
    assert "quarantined user: unparseable date_joined 3 (e.g. 2016:05:05 08:00:00)" in lines
    assert (
        "warning: every user record was quarantined (3 of 3): top reason unparseable date_joined 3 "
        "(e.g. 2016:05:05 08:00:00)"
    ) in lines
    assert not [line for line in lines if line.startswith("warning: every pin")]
