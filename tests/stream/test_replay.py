"""Exactly once by (query, batch id): batches already committed are written again, with other records, into every
table of the streaming job while its five queries run on new records; nothing is written twice."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import Counter
from pathlib import Path

from delta_tables import delta_rows

from pinterest_pipeline.jobs.stream import (
    StreamConfig,
    _entity_batch,
    _metric_batch,
    run_stream,
)
from pinterest_pipeline.kinesis_source import KINESIS_SCHEMA
from pinterest_pipeline.lake import DeltaStore
from pinterest_pipeline.metrics import METRICS

from .kinesis_helpers import ENTITIES, create_streams, put
from .records import posts

REPLAYED = range(9000, 9010)  # posts that exist only in the replayed batches


def committed_batches(lake: Path, query: str) -> list[int]:
    return sorted(
        int(p.name) for p in (lake / "_checkpoints" / query / "commits").iterdir() if p.name.isdigit()
    )


def kinesis_rows(spark, entity: str):
    """Records of the REPLAYED posts, shaped as the Kinesis source gives them."""
    now = dt.datetime.now(dt.UTC)
    rows = [
        (str(i), json.dumps(r).encode(), f"replay-{entity}", "shardId-000000000000", str(10**20 + i), now)
        for i, r in zip(REPLAYED, posts(REPLAYED)[entity])
    ]
    return spark.createDataFrame(rows, KINESIS_SCHEMA)


def metric_rows(spark, name: str):
    start = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    if name == "profile_popularity":
        return spark.createDataFrame(
            [(start, start + dt.timedelta(minutes=10), "replayed poster", 99, 1)],
            "window_start timestamp, window_end timestamp, poster_name string, posts long, "
            "follower_count long",
        )
    return spark.createDataFrame(
        [(start, start + dt.timedelta(minutes=1), "replayed category", 99)],
        "window_start timestamp, window_end timestamp, category string, category_count long",
    )


def txn_actions(table: Path) -> list[tuple[str, int]]:
    out = []
    for commit in sorted((table / "_delta_log").glob("*.json")):
        out += [
            (a["txn"]["appId"], a["txn"]["version"])
            for a in map(json.loads, commit.read_text().splitlines())
            if "txn" in a
        ]
    return out


def wait_for(predicate, timeout: float = 240, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_replayed_batch_ids_write_nothing_while_the_other_queries_run(spark, kinesis, prefix, tmp_path):
    lake = tmp_path / "lake"
    create_streams(kinesis, prefix, shards=1)
    for entity, records in posts(range(30)).items():
        put(kinesis, f"{prefix}-{entity}", records)
    run_stream(spark, StreamConfig(str(lake), kinesis.meta.endpoint_url, prefix, available_now=True))
    queries = [f"stream_{e}" for e in ENTITIES] + [f"metrics_{n}" for n in METRICS]
    done = {q: committed_batches(lake, q) for q in queries}
    assert all(done.values()), done

    config = StreamConfig(str(lake), kinesis.meta.endpoint_url, prefix, trigger_interval="1 second")
    running = threading.Thread(target=run_stream, args=(spark, config), daemon=True)
    running.start()
    try:
        wait_for(lambda: len(spark.streams.active) == len(queries), what="the five queries")
        for entity, records in posts(range(30, 60)).items():
            put(kinesis, f"{prefix}-{entity}", records)

        store = DeltaStore(spark, str(lake))
        for entity in ENTITIES:
            write = _entity_batch(store, config, f"stream_{entity}", entity)
            for batch_id in done[f"stream_{entity}"]:
                write(kinesis_rows(spark, entity), batch_id)
        for name in METRICS:
            write = _metric_batch(store, config, f"metrics_{name}", name)
            for batch_id in done[f"metrics_{name}"]:
                write(metric_rows(spark, name), batch_id)

        def arrived() -> bool:
            assert running.is_alive(), "the streaming job stopped before the new posts arrived"
            return all(len(delta_rows(lake / "stream" / e, ["ind"])) >= 60 for e in ENTITIES)

        wait_for(arrived, what="the new posts in the stream tables")
    finally:
        # The session is shared by the whole test run: a query left running would block the next test's.
        for query in spark.streams.active:
            query.stop()
        running.join(timeout=120)

    for entity in ENTITIES:
        inds = [r["ind"] for r in delta_rows(lake / "stream" / entity, ["ind"])]
        assert sorted(inds) == list(range(60)), entity  # the replayed posts never landed; no post twice
    assert not (lake / "stream_quarantine" / "pin").exists() or not delta_rows(
        lake / "stream_quarantine" / "pin"
    )
    profiles = delta_rows(lake / "stream" / "metrics" / "profile_popularity", ["poster_name"])
    categories = delta_rows(lake / "stream" / "metrics" / "category_popularity", ["category"])
    assert "replayed poster" not in {r["poster_name"] for r in profiles}
    assert "replayed category" not in {r["category"] for r in categories}
    # Every (query, batch id) committed at most once into each table, by Delta's own record of it.
    for table in [lake / "stream" / e for e in ENTITIES] + [lake / "stream" / "metrics" / n for n in METRICS]:
        counts = Counter(txn_actions(table))
        assert counts and max(counts.values()) == 1, (table, counts.most_common(3))
