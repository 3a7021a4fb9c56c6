"""Helpers for the gateway tests: a gateway subprocess, raw-file readers and a produce client.

Imported explicitly by the gateway test modules (tests/emulator/conftest.py belongs to the emulator tests).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import requests

KAFKA_JSON = "application/vnd.kafka.json.v2+json"
FILE_NAME = re.compile(r"^(?P<topic>.+)\+(?P<partition>\d+)\+(?P<offset>\d{10})\.json$")
REPO = Path(__file__).resolve().parents[2]


def produce(url: str, topic: str, values: list, session=None, **kwargs) -> requests.Response:
    """POST records to the REST proxy route."""
    body = {"records": [{"value": v} for v in values]}
    return (session or requests).post(
        f"{url}/topics/{topic}",
        data=json.dumps(body),
        headers={"Content-Type": KAFKA_JSON},
        timeout=30,
        **kwargs,
    )


def sink_files(raw_root: Path, topic: str) -> list[Path]:
    """The finished files of a topic, in offset order."""
    return sorted((raw_root / "topics" / topic).glob("partition=*/*"))


def read_topic(raw_root: Path, topic: str) -> list[tuple[int, int, dict]]:
    """(partition, offset, value) of every record in finished files; fails on anything not a valid sink file."""
    records = []
    for path in sink_files(raw_root, topic):
        match = FILE_NAME.match(path.name)
        assert match, f"not a sink file name: {path}"
        assert match["topic"] == topic and path.parent.name == f"partition={match['partition']}"
        text = path.read_text(encoding="utf-8")
        assert text.endswith("\n"), f"{path} does not end with a newline"
        # split on "\n" only: a record's text may hold U+2028 and the like, which str.splitlines() also splits on
        for n, line in enumerate(text[:-1].split("\n")):
            records.append((int(match["partition"]), int(match["offset"]) + n, json.loads(line)))
    return records


def staged_lines(raw_root: Path, topic: str) -> list[str]:
    """Complete lines in the hidden staging area of a topic."""
    lines = []
    for path in sorted((raw_root / ".staging" / topic).glob("partition=*/*.jsonl")):
        data = path.read_text(encoding="utf-8")
        lines += data[: data.rfind("\n") + 1].splitlines()
    return lines


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GatewayProcess:
    """`python -m pinterest_emulator.gateway` as a child process, on a free port."""

    started: ClassVar[list[subprocess.Popen]] = []

    @classmethod
    def kill_leftovers(cls) -> None:
        """Kill every child a failed test left running."""
        while cls.started:
            proc = cls.started.pop()
            if proc.poll() is None:
                proc.kill()
            proc.communicate()

    def __init__(self, raw_root: Path, *extra: str, kinesis_endpoint: str = "http://127.0.0.1:9"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pinterest_emulator.gateway",
                "--raw-root",
                str(raw_root),
                "--port",
                str(self.port),
                "--kinesis-endpoint",
                kinesis_endpoint,
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        self.started.append(self.proc)
        first = self.proc.stdout.readline()  # printed once the server is bound
        assert "listening on" in first, first + self.proc.stderr.read()

    def stop(self, signum: int) -> tuple[int, str]:
        """Send `signum`, wait, and return (exit code, stdout)."""
        self.proc.send_signal(signum)
        out, _ = self.proc.communicate(timeout=60)
        return self.proc.returncode, out


def wait_for(predicate, seconds: float = 30.0) -> None:
    """Poll until `predicate()` is true (a bound on waiting, never a timing assertion)."""
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)
