"""The batch command killed (SIGKILL) while it writes bronze, then run again: the lake ends up with the same
bronze, silver, quarantine and gold tables as an undisturbed run on the same files. In both modes: classic local
Spark and a local Spark Connect server (where the batch functions run in a process of their own). And killed while
an incremental run merges silver, then run again: the same tables as undisturbed daily runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from delta_tables import delta_rows, delta_version
from pipeline.sink import sink_files
from spark_modes import MODES, command, command_env, run_command
from stream.records import posts

from pinterest_pipeline.insights import INSIGHTS
from pinterest_pipeline.jobs.batch import BatchConfig, run_batch

ENTITIES = ("pin", "geo", "user")
TABLES = [
    f"{layer}/{e}" for layer in ("bronze", "silver", "silver_order", "quarantine") for e in ENTITIES
] + [f"gold/{name}" for name in INSIGHTS]


def land(raw, first_offset: int = 0, indexes: list[int] | None = None) -> int:
    """Three sink files per topic: 300 posts, 30 of them re-sent, and a few records the cleaning rejects."""
    indexes = indexes or list(range(300)) + list(range(0, 300, 10))
    records = posts(indexes)
    records["pin"] += ["{not json", '{"index": "x", "title": "t"}']
    records["geo"] += [
        '{"ind": 5000, "timestamp": "yesterday", "latitude": 1, "longitude": 2, "country": "X"}'
    ]
    records["user"] += ["[1, 2]"]
    for entity, values in records.items():
        sink_files(raw, f"pinterest.{entity}", values, flush_size=120, first_offset=first_offset)
    return sum(len(v) for v in records.values())


def table(lake, name: str) -> list[str]:
    """A table's rows as sorted JSON, without the ingest time (the only column that differs between runs)."""
    rows = delta_rows(lake / name)
    return sorted(
        json.dumps({k: v for k, v in r.items() if k != "ingested_at"}, sort_keys=True, default=str)
        for r in rows
    )


@pytest.mark.parametrize("mode", MODES)
def test_killed_while_writing_bronze_then_rerun_equals_an_undisturbed_run(spark, tmp_path, mode):
    raw = tmp_path / "raw"
    lines = land(raw)
    undisturbed, killed = tmp_path / "undisturbed", tmp_path / "killed"
    run_batch(spark, BatchConfig(str(raw), str(undisturbed)))

    args = ["batch", "--raw-root", str(raw), "--lake", str(killed)]
    process = subprocess.Popen(
        command(args),
        env=command_env(mode),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    # The geo topic's first micro-batch is committed to bronze: its checkpoint commit, silver and gold are not
    # written yet (the three topics' ingest queries run side by side; silver and gold follow all three).
    marker = killed / "bronze" / "geo" / "_delta_log" / f"{0:020d}.json"
    while not marker.exists():
        assert process.poll() is None, f"the batch command ended before {marker}: {process.stderr.read()}"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    assert not (killed / "gold").exists()  # the run was cut short

    if mode == "classic":
        assert run_batch(spark, BatchConfig(str(raw), str(killed))).rebuilt
    else:
        assert "gold tables: 9 rebuilt" in run_command(args, mode)
    for name in TABLES:
        assert table(killed, name) == table(undisturbed, name), name
    assert sum(len(table(killed, f"bronze/{e}")) for e in ENTITIES) == lines  # each line once in bronze


def test_killed_while_merging_silver_then_rerun_equals_undisturbed_daily_runs(spark, tmp_path):
    """Day two's files come earlier in Kafka order than day one's (lower offsets of the same partition), so its
    re-sent posts replace their silver rows: the merge rewrites silver, and the kill lands while it does."""
    raw = tmp_path / "raw"
    undisturbed, killed = tmp_path / "undisturbed", tmp_path / "killed"
    land(raw, first_offset=1000)
    for lake in (undisturbed, killed):
        run_batch(spark, BatchConfig(str(raw), str(lake)))
    land(raw, indexes=list(range(200, 400)) + list(range(0, 200, 4)))
    run_batch(spark, BatchConfig(str(raw), str(undisturbed)))

    silver = killed / "silver" / "pin"
    day_one = set(silver.glob("*.parquet"))
    process = subprocess.Popen(
        command(["batch", "--raw-root", str(raw), "--lake", str(killed)]),
        env=command_env("classic"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    # Silver's first new data file: the merge is writing it (its commit may or may not have followed).
    while not set(silver.glob("*.parquet")) - day_one:
        assert process.poll() is None, (
            f"the batch command ended before writing silver: {process.stderr.read()}"
        )
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    assert delta_version(killed / "gold" / "most_followed_country") == 0  # gold still day one's

    assert run_batch(spark, BatchConfig(str(raw), str(killed))).rebuilt
    for name in TABLES:
        assert table(killed, name) == table(undisturbed, name), name
