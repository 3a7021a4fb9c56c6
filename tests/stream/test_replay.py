"""Exactly once by (query, batch id): batches already committed are written again, with other records, into every
table of the streaming job while its query runs on new records; nothing is written twice."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from delta_tables import delta_rows

from pinterest_pipeline.jobs.stream import QUERY, StreamConfig, _batch_function, run_stream, stream_rows
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


def kinesis_rows(spark, prefix: str, indexes=REPLAYED):
    """Records of the posts (the REPLAYED ones by default) in the three streams, shaped as the Kinesis source gives
    them; their pins arrived in 2030, so any metric window they reached would show."""
    arrived = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    rows = [
        (
            str(i),
            json.dumps(r).encode(),
            f"{prefix}-{entity}",
            "shardId-000000000000",
            str(10**20 + i),
            arrived,
        )
        for entity in ENTITIES
        for i, r in zip(indexes, posts(indexes)[entity])
    ]
    return spark.createDataFrame(rows, KINESIS_SCHEMA)


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


def test_replayed_batch_ids_write_nothing_while_the_query_runs(spark, kinesis, prefix, tmp_path):
    lake = tmp_path / "lake"
    create_streams(kinesis, prefix, shards=1)
    for entity, records in posts(range(30)).items():
        put(kinesis, f"{prefix}-{entity}", records)
    run_stream(spark, StreamConfig(str(lake), kinesis.meta.endpoint_url, prefix, available_now=True))
    for entity, records in posts(range(30, 40)).items():
        put(kinesis, f"{prefix}-{entity}", records)
    run_stream(spark, StreamConfig(str(lake), kinesis.meta.endpoint_url, prefix, available_now=True))
    done = committed_batches(lake, QUERY)
    assert len(done) == 2, done

    config = StreamConfig(str(lake), kinesis.meta.endpoint_url, prefix, trigger_interval="1 second")
    running = threading.Thread(target=run_stream, args=(spark, config), daemon=True)
    running.start()
    try:
        wait_for(lambda: len(spark.streams.active) == 1, what="the query")
        for entity, records in posts(range(40, 60)).items():
            put(kinesis, f"{prefix}-{entity}", records)

        write = _batch_function(DeltaStore(spark, str(lake)), config)
        for batch_id in done:
            write(stream_rows(kinesis_rows(spark, prefix), config), batch_id)

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
    for name in METRICS:
        # No window of the replayed pins: the metrics are recomputed from stream/pin, which never held them.
        starts = {
            r["window_start"].year for r in delta_rows(lake / "stream" / "metrics" / name, ["window_start"])
        }
        assert 2030 not in starts, name
    # Every (query, batch id) committed at most once into each stream table, by Delta's own record of it.
    for table in [lake / "stream" / e for e in ENTITIES]:
        counts = Counter(txn_actions(table))
        assert counts and max(counts.values()) == 1, (table, counts.most_common(3))


def test_a_micro_batch_like_the_one_before_compiles_almost_no_code(spark, tmp_path):
    """Spark compiles its query stages to Java classes and keeps the last ones compiled. A micro-batch of the job
    runs some 170 classes, more than Spark's default cache of 100 holds: every batch compiled them all again. The
    local session keeps enough (session.py) for a batch to reuse those of the batch before."""
    if not hasattr(spark, "_jvm"):
        pytest.skip("Spark's compile counter is read from the JVM of a classic session")
    compiled = spark._jvm.org.apache.spark.metrics.source.CodegenMetrics.METRIC_COMPILATION_TIME()
    config = StreamConfig(str(tmp_path / "lake"))
    write = _batch_function(DeltaStore(spark, config.lake), config)
    # The first batch creates the tables (a path of its own); the second is the one the third repeats.
    write(stream_rows(kinesis_rows(spark, config.stream_prefix, range(10)), config), 0)
    write(stream_rows(kinesis_rows(spark, config.stream_prefix, range(10, 20)), config), 1)
    before = compiled.getCount()
    write(stream_rows(kinesis_rows(spark, config.stream_prefix, range(20, 30)), config), 2)
    new = compiled.getCount() - before
    # With Spark's default cache this batch compiled 150 to 200 classes (measured); what varies from one batch to
    # the next (the batch's ingest time, a literal in the code) a few.
    assert new < 30, new
    rows = delta_rows(tmp_path / "lake" / "stream" / "pin", ["ind"])
    assert sorted(r["ind"] for r in rows) == list(range(30))
