"""The batch job, the streaming job and the demo run through Spark Connect print the same accounting and write the
same tables as classic local Spark on the same input: the batch job and the demo on a Connect server they start
themselves (`SPARK_REMOTE=local[2] pinterest-pipeline ...`), the streaming job on one started on its own
(`pinterest-pipeline connect-server`, then `SPARK_REMOTE=sc://localhost:PORT`). Under Connect a foreachBatch
function runs in another Python process: what a run reports must come from what its writes committed, not from
state its batch functions changed."""

from __future__ import annotations

import json
import os
import secrets
import selectors
import signal
import subprocess
import time
import uuid

import boto3
import pytest
from delta_tables import delta_rows, is_delta
from pipeline.sink import sink_files
from spark_modes import accounting, command, command_env, run_command
from stream.kinesis_helpers import ENTITIES, create_streams, put
from stream.records import POISON, posts

from pinterest_pipeline.demo import DemoConfig, run_demo
from pinterest_pipeline.insights import INSIGHTS
from pinterest_pipeline.jobs.batch import BatchConfig, run_batch
from pinterest_pipeline.jobs.stream import StreamConfig, run_stream

# Columns a run stamps with its own clock: the only ones two equal runs differ in.
RUN_TIMES = {"ingested_at"}


def table(path) -> list[str]:
    """A Delta table's rows as sorted JSON, without the run's own timestamps."""
    return sorted(
        json.dumps({k: v for k, v in r.items() if k not in RUN_TIMES}, sort_keys=True, default=str)
        for r in delta_rows(path)
    )


def same_tables(classic, connect, names: list[str]) -> None:
    for name in names:
        assert is_delta(connect / name), name
        assert table(connect / name) == table(classic / name), name


def draws(real_data, entity: str, count: int | None = None) -> list[dict]:
    with open(real_data / "seed100_first2000_draws" / f"{entity}.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return rows[:count]


@pytest.fixture
def connect_server(tmp_path, monkeypatch):
    """`pinterest-pipeline connect-server` started on its own, as a user starts one for `SPARK_REMOTE=sc://...`;
    its SPARK_REMOTE. The commands of the test send the server's token from the environment. It is stopped as
    a service manager stops one: SIGTERM to its whole process group, the JVM included."""
    monkeypatch.setenv("SPARK_CONNECT_AUTHENTICATE_TOKEN", secrets.token_hex(16))
    env = {**command_env("classic"), "PINTEREST_LOG_DIR": str(tmp_path / "server-logs")}
    server = subprocess.Popen(
        command(["connect-server", "--port", "0", "--master", "local[2]"]),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        with selectors.DefaultSelector() as ready:
            ready.register(server.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + 300
            while not ready.select(timeout=1):
                assert server.poll() is None, f"the server exited: {server.stderr.read()}"
                assert time.monotonic() < deadline, "the server did not start within 300 s"
        line = server.stdout.readline()
        assert "SPARK_REMOTE=sc://localhost:" in line, line + server.stderr.read()
        yield line.strip().split("SPARK_REMOTE=")[1]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        out, err = server.communicate(timeout=120)
    assert server.returncode == 0 and "server stopped" in out, err


@pytest.mark.real_data
def test_batch_through_connect_equals_classic(spark, tmp_path, real_data):
    raw = tmp_path / "raw"
    for entity in ENTITIES:
        # The 2,000 real draws (176 of them repeats), the cleaning's rejects, and a line holding an array.
        records = draws(real_data, entity) + POISON[entity]
        sink_files(raw, f"pinterest.{entity}", records, flush_size=500)
    classic, connect = tmp_path / "classic", tmp_path / "connect"

    expected = run_batch(spark, BatchConfig(str(raw), str(classic))).lines()
    printed = run_command(["batch", "--raw-root", str(raw), "--lake", str(connect)], "connect")

    assert accounting(printed) == accounting("\n".join(expected))
    assert accounting(printed)[1].split()[:3] == ["pin", "5", "2002"]  # files and records read
    layers = [f"{layer}/{e}" for layer in ("bronze", "silver", "quarantine") for e in ENTITIES]
    same_tables(classic, connect, layers + [f"gold/{name}" for name in INSIGHTS])


def test_daily_batch_through_connect_equals_classic(spark, tmp_path):
    """A second day's run is incremental: its new posts are appended to silver, and its re-sent posts, in files of
    earlier offsets of the same partition, replace their silver rows (found through silver_order's positions)."""
    raw = tmp_path / "raw"
    classic, connect = tmp_path / "classic", tmp_path / "connect"

    def land(indexes: list[int], first_offset: int) -> None:
        for entity, records in posts(indexes).items():
            sink_files(raw, f"pinterest.{entity}", records, flush_size=120, first_offset=first_offset)

    def run_both() -> list[str]:
        expected = run_batch(spark, BatchConfig(str(raw), str(classic))).lines()
        printed = run_command(["batch", "--raw-root", str(raw), "--lake", str(connect)], "connect")
        assert accounting(printed) == accounting("\n".join(expected))
        return accounting(printed)

    land(list(range(200)), first_offset=1000)
    run_both()
    land(list(range(100, 300)) + list(range(0, 100, 4)), first_offset=0)  # 100 new posts, 125 re-sent
    # Per entity: files, records read, duplicates, cleaned, quarantined.
    assert [line.split()[:6] for line in run_both()[1:4]] == [
        [entity, "2", "225", "125", "100", "0"] for entity in ENTITIES
    ]
    # The re-sent posts' silver rows are day two's records now: earlier in Kafka order than day one's.
    resent = [r for r in delta_rows(connect / "silver_order" / "pin") if r["index"] < 200]
    assert sorted(r["index"] for r in resent if r["offset"] < 1000) == [*range(0, 100, 4), *range(100, 200)]
    layers = [
        f"{layer}/{e}" for layer in ("bronze", "silver", "silver_order", "quarantine") for e in ENTITIES
    ]
    same_tables(classic, connect, layers + [f"gold/{name}" for name in INSIGHTS])


@pytest.mark.real_data
def test_stream_through_a_running_connect_server_equals_classic(
    spark, tmp_path, real_data, kinesis_endpoint, connect_server
):
    client = boto3.client("kinesis", endpoint_url=kinesis_endpoint, region_name="us-east-1")
    prefix = f"modes-{uuid.uuid4().hex[:6]}"
    create_streams(client, prefix)
    for entity in ENTITIES:
        records = draws(real_data, entity, 400)
        put(client, f"{prefix}-{entity}", records + records[:20])  # 20 posts sent twice
        put(client, f"{prefix}-{entity}", POISON[entity], key=lambda r: "poison")
    classic, connect = tmp_path / "classic", tmp_path / "connect"

    config = StreamConfig(str(classic), kinesis_endpoint, prefix, available_now=True)
    expected = run_stream(spark, config).lines()
    printed = run_command(
        ["stream", "--lake", str(connect), "--kinesis-endpoint", kinesis_endpoint, "--stream-prefix", prefix]
        + ["--available-now"],
        "connect",
        remote=connect_server,
    )

    assert accounting(printed) == accounting("\n".join(expected))
    distinct = len({r["index"] for r in draws(real_data, "pin", 400)})
    read, duplicates, cleaned, quarantined = (int(n) for n in accounting(printed)[1].split()[2:])
    assert (read, duplicates, cleaned, quarantined) == (422, 420 - distinct, distinct, 2)
    tables = [f"{layer}/{e}" for layer in ("stream", "stream_quarantine") for e in ENTITIES]
    same_tables(
        classic,
        connect,
        tables + [f"stream/metrics/{n}" for n in ("profile_popularity", "category_popularity")],
    )


def test_demo_through_connect_equals_classic(spark, tmp_path):
    events = 40
    lines: list[str] = []
    run_demo(spark, DemoConfig(home=tmp_path / "classic", events=events), out=lines.append)
    printed = run_command(["demo", "--events", str(events), "--home", str(tmp_path / "connect")], "connect")

    def summaries(text: str) -> list[str]:
        # The batch and stream summaries; not the metric windows: each demo posts anew, so its records'
        # arrival times, and with them the windows, are its own.
        kept, keep = [], False
        for line in accounting(text):
            if line in ("batch:", "stream:"):
                keep = True
            elif not line.strip() or line.startswith("metric windows updated"):
                keep = False
            if keep:
                kept.append(line)
        return kept

    assert summaries(printed) == summaries("\n".join(lines))
    assert len(summaries(printed)) >= 10
    layers = [f"{layer}/{e}" for layer in ("silver", "quarantine") for e in ENTITIES]
    same_tables(
        tmp_path / "classic" / "lake", tmp_path / "connect" / "lake", layers + [f"gold/{n}" for n in INSIGHTS]
    )


@pytest.mark.parametrize(
    ("args", "token", "message"),
    [
        (["--port", "70000"], "t0ken", "--port must be 0..65535, not 70000"),
        (["--port", "0"], "", "a Connect server needs SPARK_CONNECT_AUTHENTICATE_TOKEN"),
    ],
)
def test_connect_server_refuses_bad_configuration_before_spark_starts(tmp_path, args, token, message):
    env = {**command_env("classic"), "SPARK_CONNECT_AUTHENTICATE_TOKEN": token}
    env["PINTEREST_LOG_DIR"] = str(tmp_path / "logs")
    done = subprocess.run(
        command(["connect-server", *args]), check=False, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"pinterest-pipeline connect-server: {message}"), line
    assert not (tmp_path / "logs").exists()  # no JVM was started
