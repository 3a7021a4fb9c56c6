"""The two ways the commands run Spark, for the tests that run them both ways: classic local Spark, and a local
Spark Connect server (`SPARK_REMOTE=local[2]`, as databricks-connect, serverless and standard access mode run
PySpark). A command runs in a subprocess, as a user runs it; `accounting` is what it printed, less the timings.
"""

from __future__ import annotations

import os
import subprocess
import sys

MODES = ("classic", "connect")
# Short-lived JVMs start faster with the client compiler only (tiered compilation pays off later).
FAST_START = {"JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1"}


def command_env(mode: str, remote: str | None = None) -> dict[str, str]:
    """The environment of a `pinterest-pipeline` subprocess in `mode`; in connect mode, on the running Connect
    server `remote` (`sc://localhost:PORT`) when given, else on one the command starts (`local[2]`)."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    env = {
        **os.environ,
        "PINTEREST_SPARK_MASTER": "local[2]",
        "PYSPARK_PYTHON": sys.executable,
        "PINTEREST_DRIVER_MEMORY": "1g",
        **FAST_START,
    }
    env.pop("SPARK_REMOTE", None)
    if mode == "connect":
        env["SPARK_REMOTE"] = remote or "local[2]"
    return env


def command(args: list[str]) -> list[str]:
    """The command line of `pinterest-pipeline <args>` in this interpreter."""
    return [sys.executable, "-m", "pinterest_pipeline.cli", *args]


def run_command(args: list[str], mode: str, timeout: float = 600, remote: str | None = None) -> str:
    """Run `pinterest-pipeline <args>` in `mode` to its end; its standard output (a failure raises with stderr)."""
    done = subprocess.run(
        command(args),
        check=False,
        env=command_env(mode, remote),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, (
        f"{mode} {' '.join(args[:1])} exited {done.returncode}: {done.stderr[-2000:]}"
    )
    return done.stdout


def accounting(printed: str) -> list[str]:
    """A run's printed summary without its wall times (the only lines that differ between equal runs)."""
    return [line for line in printed.splitlines() if not line.startswith("seconds:")]
