"""The stream command killed (SIGKILL) during a batch three times in a row, at three different points of the
pin query (mid-write, at a batch's start, mid-write after a replay), then run to the end: every post once in the stream tables, every rejected record once in stream_quarantine, metrics equal
to a recomputation. Records keep arriving between the runs, some through the local gateway's Kinesis proxy. In
both modes: classic local Spark and a local Spark Connect server (where the batch functions run in a process of
their own)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import boto3
import pytest
from delta_tables import delta_rows
from pinterest_emulator.gateway import Gateway
from pinterest_emulator.targets import KinesisProxyTarget
from spark_modes import MODES, command, command_env, run_command
from stream.kinesis_helpers import ENTITIES, create_streams, put
from stream.records import posts

from pinterest_pipeline.jobs.stream import StreamConfig, run_stream
from pinterest_pipeline.metrics import METRICS, Windows


def rows(lake, name: str) -> list[dict]:
    return delta_rows(lake / name)


def send(client, prefix: str, indexes) -> None:
    for entity, records in posts(indexes).items():
        put(client, f"{prefix}-{entity}", records)


def poison(phase: int) -> dict[str, list[str]]:
    """Records each entity's cleaning rejects, distinct per phase (a replayed batch would show as a repeat)."""
    return {
        "pin": [f"{{not json {phase}", f'{{"index": "seven-{phase}", "title": "x"}}'],
        "geo": [
            f'{{"ind": {900 + phase}, "timestamp": "yesterday", "latitude": 1, "longitude": 2, "country": "X"}}'
        ],
        "user": [f"[{phase}, 2]"],
    }


def send_poison(client, prefix: str, phase: int) -> int:
    for entity, records in poison(phase).items():
        put(client, f"{prefix}-{entity}", records, key=lambda r: "poison")
    return phase


def stream_args(lake, endpoint: str, prefix: str) -> list[str]:
    return [
        "stream",
        "--lake",
        str(lake),
        "--kinesis-endpoint",
        endpoint,
        "--stream-prefix",
        prefix,
        "--available-now",
    ]


def stream_command(lake, endpoint: str, prefix: str, mode: str) -> subprocess.Popen:
    return subprocess.Popen(
        command(stream_args(lake, endpoint, prefix)),
        env=command_env(mode),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def kill_when(path, process: subprocess.Popen) -> None:
    """SIGKILL the command's process group as soon as `path` exists (the run reached that point)."""
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"the stream command ended before {path}: {process.stderr.read()}")
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    process.stdout.close()
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL


@pytest.mark.parametrize("mode", MODES)
def test_killed_during_a_batch_three_times_then_run_to_the_end_is_exactly_once(
    spark, tmp_path, kinesis_endpoint, mode
):
    client = boto3.client("kinesis", endpoint_url=kinesis_endpoint, region_name="us-east-1")
    prefix, lake = f"kill3-{uuid.uuid4().hex[:6]}", tmp_path / "lake"
    create_streams(client, prefix)
    phases = []

    # Every phase sends posts and rejects, so each pin batch n commits stream_quarantine/pin version n.
    pin_quarantine = lake / "stream_quarantine" / "pin" / "_delta_log"

    # Kill 1, inside pin batch 0: its quarantine rows are committed; its stream rows and checkpoint may not be.
    send(client, prefix, range(1, 31))
    send(client, prefix, [3, 4])  # re-sent posts
    phases.append(send_poison(client, prefix, 1))
    kill_when(pin_quarantine / f"{0:020d}.json", stream_command(lake, kinesis_endpoint, prefix, mode))
    assert not (lake / "stream" / "user").exists()  # the run was cut short

    # Kill 2, at pin batch 1's start: batch 0 replayed, batch 1 planned (offsets logged), maybe partly written.
    # The records in between arrive the way the emulator posts them: through the gateway's Kinesis proxy.
    with Gateway(tmp_path / "raw", kinesis_endpoint=kinesis_endpoint) as gateway:
        target = KinesisProxyTarget(gateway.url, stream_prefix=prefix)
        for entity, records in posts(list(range(31, 41)) + [1, 35]).items():
            target.deliver(entity, records)
        target.close()
    phases.append(send_poison(client, prefix, 2))
    kill_when(
        lake / "_checkpoints" / "stream" / "offsets" / "1",
        stream_command(lake, kinesis_endpoint, prefix, mode),
    )

    # Kill 3, inside pin batch 2, after batch 1 was replayed: its quarantine rows are committed.
    send(client, prefix, list(range(41, 51)) + [10])
    phases.append(send_poison(client, prefix, 3))
    kill_when(pin_quarantine / f"{2:020d}.json", stream_command(lake, kinesis_endpoint, prefix, mode))

    # Then a run to the end (classic: in this process, on the shared session), with a last few posts.
    send(client, prefix, list(range(51, 56)) + [41])
    phases.append(send_poison(client, prefix, 4))
    if mode == "classic":
        run_stream(spark, StreamConfig(str(lake), kinesis_endpoint, prefix, available_now=True))
    else:
        run_command(stream_args(lake, kinesis_endpoint, prefix), mode)

    for entity in ENTITIES:
        inds = [r["ind"] for r in rows(lake, f"stream/{entity}")]
        assert sorted(inds) == list(range(1, 56)), entity  # every post once
        raw = sorted(r["raw"] for r in rows(lake, f"stream_quarantine/{entity}"))
        assert raw == sorted(text for phase in phases for text in poison(phase)[entity]), (
            entity
        )  # each reject once
    pins = spark.createDataFrame(rows(lake, "stream/pin"))
    naive = lambda v: v.replace(tzinfo=None) if hasattr(v, "tzinfo") else v
    for name, metric in METRICS.items():
        expected = metric(pins, Windows())
        got = sorted(
            tuple(naive(r[c]) for c in expected.columns) for r in rows(lake, f"stream/metrics/{name}")
        )
        assert got == sorted(tuple(r) for r in expected.collect()), name
