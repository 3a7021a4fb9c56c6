"""Runs that overlap (a schedule firing while a retry still runs, two people on one lake): no record is ever in
bronze twice, and a run that cannot proceed says why in one line; Spark's own log goes to a file, not the terminal."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from delta_tables import delta_rows
from pipeline.sink import sink_files
from stream.records import posts

ENTITIES = ("pin", "geo", "user")
FAST_START = {"JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1"}


def batch_command(raw, lake, log_dir) -> subprocess.Popen:
    env = {
        **os.environ,
        "PINTEREST_SPARK_MASTER": "local[2]",
        "PYSPARK_PYTHON": sys.executable,
        "PINTEREST_DRIVER_MEMORY": "1g",
        "PINTEREST_LOG_DIR": str(log_dir),
        **FAST_START,
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pinterest_pipeline.cli",
            "batch",
            "--raw-root",
            str(raw),
            "--lake",
            str(lake),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_runs_started_two_seconds_apart_leave_every_record_in_bronze_once(spark, tmp_path):
    raw, lake = tmp_path / "raw", tmp_path / "lake"
    records = posts(range(400))
    for entity, values in records.items():
        sink_files(raw, f"pinterest.{entity}", values, flush_size=50)
    first = batch_command(raw, lake, tmp_path / "logs")
    time.sleep(2)
    second = batch_command(raw, lake, tmp_path / "logs")
    second_out, second_err = second.communicate(timeout=600)
    _first_out, first_err = first.communicate(timeout=600)

    assert first.returncode == 0, first_err
    assert first_err == ""  # the JVM's warnings and Spark's log went to the log file
    assert second.returncode == 4, second_err
    assert second_out == ""
    lines = second_err.splitlines()
    assert len(lines) == 1, second_err
    assert lines[0].startswith(f"pinterest-pipeline batch: another batch run is using the lake {lake} (pid ")
    assert lines[0].endswith("; try again when it ends")
    for entity in ENTITIES:
        bronze = delta_rows(lake / "bronze" / entity, ["source_file", "line"])
        assert len(bronze) == len(records[entity]) == len({(r["source_file"], r["line"]) for r in bronze})

    # Once the first has ended, the lake is free again; a run with nothing new changes nothing.
    again = batch_command(raw, lake, tmp_path / "logs")
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert "nothing new: silver and gold unchanged" in out


def test_a_run_that_fails_in_spark_prints_one_line_naming_the_log_that_holds_the_trace(tmp_path):
    raw, lake, logs = tmp_path / "raw", tmp_path / "lake", tmp_path / "logs"
    for entity, values in posts(range(20)).items():
        sink_files(raw, f"pinterest.{entity}", values, flush_size=50)
    (lake / "bronze").mkdir(parents=True)
    (lake / "bronze" / "geo").write_text("a file where the table's folder should be")
    run = batch_command(raw, lake, logs)
    _out, err = run.communicate(timeout=600)
    assert run.returncode == 1, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    # The exception that stopped the query and its root cause, not the query wrapper's first line.
    assert lines[0].startswith("pinterest-pipeline batch: DeltaIOException: [DELTA_CANNOT_CREATE_LOG_PATH]")
    assert "(cause: ParentNotDirectoryException: Parent path is not a directory: " in lines[0]
    log = lines[0].rsplit("(Spark's log: ", 1)[1].rstrip(")")
    assert os.path.dirname(log) == str(logs) and os.path.basename(log).startswith("pinterest-batch-")
    text = Path(log).read_text(encoding="utf-8")
    assert "\tat org.apache.spark" in text  # the JVM's stack trace is in the file, not on the terminal
