"""The stream command killed (SIGKILL) in the middle of a run, then restarted: no loss, no duplicate."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import boto3
from deltalake import DeltaTable
from pinterest_emulator.gateway import Gateway
from pinterest_emulator.targets import KinesisProxyTarget

from pinterest_pipeline.metrics import METRICS, Windows

from .kinesis_helpers import ENTITIES, create_streams, put
from .records import POISON, posts


def rows(lake, name: str) -> list[dict]:
    return DeltaTable(str(lake / name)).to_pyarrow_dataset().to_table().to_pylist()


def send(client, prefix: str, indexes) -> None:
    for entity, records in posts(indexes).items():
        put(client, f"{prefix}-{entity}", records)


def stream_command(lake, endpoint: str, prefix: str) -> subprocess.Popen:
    env = {**os.environ, "PINTEREST_SPARK_MASTER": "local[2]", "PYSPARK_PYTHON": sys.executable,
           "PINTEREST_DRIVER_MEMORY": "1g"}
    return subprocess.Popen(
        [sys.executable, "-m", "pinterest_pipeline.cli", "stream", "--lake", str(lake), "--kinesis-endpoint", endpoint,
         "--stream-prefix", prefix, "--available-now"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


def wait_for(path, process: subprocess.Popen) -> None:
    """Until `path` exists (the run reached that point), or the process ended without reaching it."""
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"the stream command ended before {path}: {process.stderr.read()}")
        time.sleep(0.05)


def test_sigkill_mid_run_then_restart_is_exactly_once(spark, tmp_path, kinesis_endpoint):
    client = boto3.client("kinesis", endpoint_url=kinesis_endpoint, region_name="us-east-1")
    prefix, lake = "crash", tmp_path / "lake"
    create_streams(client, prefix)
    send(client, prefix, range(1, 31))
    send(client, prefix, [3, 4])
    for entity, poison in POISON.items():
        put(client, f"{prefix}-{entity}", poison, key=lambda r: "poison")

    first = stream_command(lake, kinesis_endpoint, prefix)
    # The geo query has planned its first batch (offsets logged) but may not have written it: kill right there.
    wait_for(lake / "_checkpoints" / "stream_geo" / "offsets" / "0", first)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    first.stdout.close()
    first.stderr.close()
    assert first.returncode == -signal.SIGKILL
    assert (lake / "stream" / "pin" / "_delta_log").is_dir()  # the pin query had committed its batch
    assert not (lake / "stream" / "user").exists()  # the user query had not started: the run was cut short

    # The rest arrives the way the emulator posts it: through the local gateway's Kinesis proxy.
    with Gateway(tmp_path / "raw", kinesis_endpoint=kinesis_endpoint) as gateway:
        target = KinesisProxyTarget(gateway.url, stream_prefix=prefix)
        for entity, records in posts(list(range(31, 41)) + [1, 35]).items():
            target.deliver(entity, records)
        target.close()
    second = stream_command(lake, kinesis_endpoint, prefix)
    _out, err = second.communicate()
    assert second.returncode == 0, err

    for entity in ENTITIES:
        inds = [r["ind"] for r in rows(lake, f"stream/{entity}")]
        assert sorted(inds) == list(range(1, 41)), entity
        reasons = [r["reason"] for r in rows(lake, f"stream_quarantine/{entity}")]
        assert len(reasons) == len(POISON[entity]), entity
    pins = spark.createDataFrame(rows(lake, "stream/pin"))
    naive = lambda v: v.replace(tzinfo=None) if hasattr(v, "tzinfo") else v
    for name, metric in METRICS.items():
        expected = metric(pins, Windows())
        got = sorted(tuple(naive(r[c]) for c in expected.columns) for r in rows(lake, f"stream/metrics/{name}"))
        assert got == sorted(tuple(r) for r in expected.collect()), name
