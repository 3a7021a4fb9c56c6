"""The Delta store on Spark's own Delta writer: app transactions, notes, merges, upkeep, the lake lock, the jars."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from importlib import metadata
from pathlib import Path

import pytest
from delta_tables import delta_rows
from pyspark.sql import functions as F

from pinterest_pipeline.errors import ConfigError
from pinterest_pipeline.lake import DeltaStore, Txn, Upkeep, lake_lock, make_store
from pinterest_pipeline.session import delta_jars

REPO = Path(__file__).resolve().parents[2]


def log_actions(table: Path, kind: str) -> list[dict]:
    """The actions of one kind ("txn", "add", "commitInfo") in a table's Delta log, oldest first."""
    out = []
    for commit in sorted((table / "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            if kind in action:
                out.append(action[kind])
    return out


def live_parquet(table: Path) -> int:
    return sum(1 for _ in table.glob("*.parquet"))


def test_append_with_a_txn_is_done_once_and_recorded_in_the_delta_log(spark, tmp_path):
    store = DeltaStore(spark, str(tmp_path))
    df = spark.createDataFrame([(1, "a"), (2, "b")], "id long, v string")
    assert store.append(df, "bronze/x", Txn("q", 0)) == 2
    assert store.append(df, "bronze/x", Txn("q", 0)) is None  # a replayed batch
    assert store.append(df, "bronze/x", Txn("q", 1)) == 2
    assert store.append(df, "bronze/x", Txn("other", 0)) == 2  # another query's batch 0
    assert store.row_count("bronze/x") == 6
    # Delta's own SetTransaction actions, as Spark's writer committed them.
    assert [(t["appId"], t["version"]) for t in log_actions(tmp_path / "bronze/x", "txn")] == [
        ("q", 0),
        ("q", 1),
        ("other", 0),
    ]
    assert log_actions(tmp_path / "bronze/x", "commitInfo")[0]["engineInfo"].startswith("Apache-Spark/")


def test_two_writers_racing_with_the_same_txn_commit_it_once(spark, tmp_path):
    store = DeltaStore(spark, str(tmp_path))
    store.append(spark.createDataFrame([(0, "")], "id long, pad string"), "bronze/x", Txn("q", 0))
    batch = spark.range(1, 50_001).withColumn("pad", F.repeat(F.lit("x"), 50))
    results, errors = [], []

    def write():
        try:
            results.append(store.append(batch, "bronze/x", Txn("q", 1)))
        except Exception as error:  # noqa: BLE001 - the loser of the race may fail with Delta's conflict
            errors.append(str(error))

    threads = [threading.Thread(target=write) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.row_count("bronze/x") == 1 + 50_000
    assert results.count(50_000) == 1
    assert all("Concurrent" in e or "CONCURRENT" in e for e in errors), errors


def test_overwrite_records_its_note_and_upkeep_commits_are_not_data(spark, tmp_path):
    store = DeltaStore(spark, str(tmp_path))
    assert store.last_note("silver/x") is None and store.row_count("silver/x") == 0
    assert store.data_version("silver/x") is None
    store.overwrite(spark.createDataFrame([(1,), (2,)], "id long"), "silver/x", '{"pin": 1}')
    assert store.overwrite(spark.createDataFrame([(3,)], "id long"), "silver/x", '{"pin": 2}') == 1
    store.maintain("silver/x", Upkeep(retain_hours=0, compact_min_files=2, vacuum_min_files=1))
    assert store.version("silver/x") > store.data_version("silver/x") == 1
    assert store.last_note("silver/x") == '{"pin": 2}'
    assert [r.id for r in store.read("silver/x").collect()] == [3]


def test_insert_new_adds_only_unknown_keys_once_per_txn(spark, tmp_path):
    store = DeltaStore(spark, str(tmp_path))
    first = spark.createDataFrame([(1, "a"), (2, "b")], "ind long, v string")
    assert store.insert_new(first, "stream/x", ["ind"], Txn("q", 0)) == 2
    second = spark.createDataFrame([(2, "B"), (3, "c")], "ind long, v string")
    assert store.insert_new(second, "stream/x", ["ind"], Txn("q", 1)) == 1
    # The same batch id again, even with other rows: nothing written.
    assert (
        store.insert_new(
            spark.createDataFrame([(4, "d")], "ind long, v string"), "stream/x", ["ind"], Txn("q", 1)
        )
        is None
    )
    assert sorted((r["ind"], r["v"]) for r in delta_rows(tmp_path / "stream/x")) == [
        (1, "a"),
        (2, "b"),
        (3, "c"),
    ]


def test_replace_from_replaces_the_slice_whole_and_keeps_what_is_before_it(spark, tmp_path):
    import datetime as dt

    store = DeltaStore(spark, str(tmp_path))
    rows = lambda *r: spark.createDataFrame(
        [(dt.datetime(2024, 1, 1, 0, m, tzinfo=dt.UTC), k, n) for m, k, n in r],
        "window_start timestamp, k string, n long",
    )
    micros = lambda m: int(dt.datetime(2024, 1, 1, 0, m, tzinfo=dt.UTC).timestamp() * 1_000_000)
    store.replace_from(rows((0, "a", 1), (1, "a", 1), (1, "b", 1)), "m", "window_start", micros(0), "first")
    store.replace_from(rows((1, "a", 2), (2, "c", 1)), "m", "window_start", micros(1), "second")
    got = sorted((r["window_start"].minute, r["k"], r["n"]) for r in delta_rows(tmp_path / "m"))
    # Minute 1's "b" is gone: the slice from minute 1 on is the second write's rows, whole.
    assert got == [(0, "a", 1), (1, "a", 2), (2, "c", 1)]
    assert store.last_note("m") == "second"


def test_maintain_compacts_and_vacuums_without_changing_the_rows(spark, tmp_path):
    store = DeltaStore(spark, str(tmp_path))
    for i in range(6):
        store.append(
            spark.createDataFrame([(i, "x")], "id long, v string").repartition(1), "bronze/x", Txn("q", i)
        )
    before = sorted(r["id"] for r in delta_rows(tmp_path / "bronze/x"))
    assert live_parquet(tmp_path / "bronze/x") == 6
    assert store.maintain("bronze/x", Upkeep(compact_min_files=7)) == []  # six files: not due yet
    # Compacted into one file; the six removed ones are kept for the retention, so VACUUM has nothing to do.
    assert store.maintain("bronze/x", Upkeep(compact_min_files=6)) == ["OPTIMIZE"]
    assert live_parquet(tmp_path / "bronze/x") == 7
    # Six files past a zero retention: below a threshold of seven nothing runs, at six VACUUM deletes them.
    assert store.maintain("bronze/x", Upkeep(retain_hours=0, vacuum_min_files=7), compact=False) == []
    assert store.maintain("bronze/x", Upkeep(retain_hours=0, vacuum_min_files=6), compact=False) == ["VACUUM"]
    assert live_parquet(tmp_path / "bronze/x") == 1
    assert (
        store.maintain("bronze/x", Upkeep(retain_hours=0, vacuum_min_files=1), compact=False) == []
    )  # none since
    assert sorted(r["id"] for r in delta_rows(tmp_path / "bronze/x")) == before
    assert store.maintain("bronze/none", Upkeep(retain_hours=0)) == []  # no table, nothing to do
    with pytest.raises(ConfigError, match="retention must be zero or more hours"):
        Upkeep(retain_hours=-1)


def test_timestamps_are_delta_timestamps(spark, tmp_path):
    store = DeltaStore(spark, str(tmp_path))
    store.overwrite(spark.sql("select timestamp'2020-01-02 03:04:05' as t"), "t")
    schema = json.loads(log_actions(tmp_path / "t", "metaData")[0]["schemaString"])
    assert schema["fields"][0]["type"] == "timestamp"
    assert str(store.read("t").first().t) == "2020-01-02 03:04:05"


def test_unity_catalog_names():
    store = DeltaStore(None, "/Volumes/main/p/lake", "main", "pinterest")
    assert store.qualified("silver/pin") == "`main`.`pinterest`.`silver_pin`"
    assert (
        store.qualified("stream/metrics/profile_popularity")
        == "`main`.`pinterest`.`stream_metrics_profile_popularity`"
    )
    assert store.qualified("gold/users_joined_by_year") == "`main`.`pinterest`.`users_joined_by_year`"
    assert DeltaStore(None, "/tmp/lake").ref("gold/x") == "delta.`/tmp/lake/gold/x`"


def test_a_local_session_refuses_a_catalog(spark, tmp_path):
    assert isinstance(make_store(spark, str(tmp_path)), DeltaStore)
    with pytest.raises(
        ConfigError,
        match="--catalog main needs Databricks or Databricks Connect; on local Spark the catalog is spark_catalog",
    ):
        make_store(spark, str(tmp_path), "main", "pinterest")


def try_lock(lake, job: str) -> subprocess.CompletedProcess:
    """Another process asking for the lock."""
    code = (
        "import sys; from pinterest_pipeline.lake import lake_lock\n"
        "with lake_lock(sys.argv[1], sys.argv[2]): print('locked')"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(lake), job], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_lake_lock_admits_one_run_at_a_time(tmp_path):
    with lake_lock(str(tmp_path), "batch"):
        other = try_lock(tmp_path, "batch")
        assert other.returncode == 1
        assert re.search(
            rf"LakeBusyError: another batch run is using the lake {tmp_path} \(pid {os.getpid()}, since ",
            other.stderr,
        )
        assert try_lock(tmp_path, "stream").stdout == "locked\n"  # the other job's lock is its own
        with lake_lock(str(tmp_path), "batch"):  # the holder may take it again (the CLI, then the job)
            pass
    assert try_lock(tmp_path, "batch").stdout == "locked\n"  # released
    with lake_lock("s3://bucket/lake", "batch"):  # no lock on an object store: Delta's conflicts guard it
        pass


def test_missing_or_mismatched_jars_stop_with_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("PINTEREST_JARS", raising=False)
    with pytest.raises(ConfigError, match=r"Delta Lake's Spark jars are missing from .*: run `make setup`"):
        delta_jars(tmp_path)
    (tmp_path / "delta-spark_2.13-3.3.0.jar").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"holds delta-spark_2.13-3.3.0.jar, not the installed delta-spark"):
        delta_jars(tmp_path)


def test_the_jars_are_the_release_of_the_installed_delta_spark():
    pom = (REPO / "jars" / "pom.xml").read_text()
    assert re.search(r"<delta.version>([^<]+)</delta.version>", pom).group(1) == metadata.version(
        "delta-spark"
    )
    assert any(j.endswith(f"delta-spark_2.13-{metadata.version('delta-spark')}.jar") for j in delta_jars())


def test_session_is_utc_with_delta(spark):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert "DeltaSparkSessionExtension" in spark.conf.get("spark.sql.extensions")


def test_tables_keep_statistics_on_the_columns_they_are_read_by(spark, tmp_path):
    """Bronze and quarantine keep file statistics on their ingest time (a daily run skips the files it read before),
    silver on ind, the stream tables on arrival time and their metrics on window start; other layers on Delta's
    default columns. The statistics are those of Spark's Delta writer."""
    store = DeltaStore(spark, str(tmp_path))
    rows = spark.createDataFrame(
        [(1, "a long text", "2026-12-07 05:00:00")], "ind long, value string, at string"
    ).select("ind", "value", F.to_timestamp("at").alias("ingested_at"))
    arrived = rows.withColumnRenamed("ingested_at", "arrived_at")
    windows = rows.withColumnRenamed("ingested_at", "window_start")
    tables = {
        "bronze/pin": rows,
        "silver/pin": rows,
        "gold/x": rows,
        "stream/pin": arrived,
        "stream/metrics/x": windows,
        "stream_quarantine/pin": rows,
    }
    for name, frame in tables.items():
        store.append(frame, name)
    stats = {
        name: set(json.loads(log_actions(tmp_path / name, "add")[0]["stats"])["minValues"]) for name in tables
    }
    assert stats == {
        "bronze/pin": {"ingested_at"},
        "silver/pin": {"ind"},
        "gold/x": {"ind", "value", "ingested_at"},
        "stream/pin": {"arrived_at"},
        "stream/metrics/x": {"window_start"},
        "stream_quarantine/pin": {"ingested_at"},
    }
