"""The emulator's command-line convention, over the real console entry point (python -m pinterest_emulator.cli):
a failure is one line on stderr, `pinterest-emulator <command>: <message>`, and the exit code of its kind
(2 bad arguments or settings, 3 a source that cannot be read, 5 a service out of reach, 1 a run that posted
and then failed, 130 Ctrl-C). A run that got to post prints its summary line before the failure's line."""

from __future__ import annotations

import itertools
import re
import signal
import sqlite3
import subprocess
import sys

import pytest
from pinterest_emulator.sampling import uniform_indexes
from pinterest_emulator.seed import seed_database

try:
    from . import gateway_fixtures as fx
except ImportError:
    import gateway_fixtures as fx

REFUSED = "http://127.0.0.1:9"  # the discard port: nothing listens on it here
FAST = ["--max-attempts", "2", "--backoff", "0.001"]


def emulator(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pinterest_emulator.cli", *argv],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def only_line(result: subprocess.CompletedProcess, command: str) -> str:
    """The one line a failure prints on stderr, checked to be the only one and to name the command."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"pinterest-emulator {command}: "), lines[0]
    return lines[0]


def summary_then_failure(stderr: str) -> tuple[str, str]:
    """The summary line and the failure's line, the only two lines on stderr."""
    lines = stderr.splitlines()
    assert len(lines) == 2, stderr
    summary, failure = lines
    assert summary.startswith("post: events read ") and failure.startswith("pinterest-emulator post: ")
    return summary, failure


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> str:
    """A source of 60 rows per table (too few for the original sampling)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('small') / 'source.db'}"
    seed_database(url, rows=60, seed=1, progress=False)
    return url


def test_success_prints_the_summary_alone(small):
    result = emulator(
        "post", "--target", "console", "--db-url", small, "--sampling", "uniform", "--count", "4"
    )
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 12
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("post: events read 4, records sent 12, acknowledged 12, failed 0")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["post", "--target", "console", "--count", "0"], "argument --count: must be > 0, got 0"),
        (["post", "--db-url", "sqlite://"], "the following arguments are required: --target"),
        (["post", "--target", "nope"], "argument --target: invalid choice: 'nope'"),
        (["gateway", "--raw-root", "r", "--flush-size", "0"], "argument --flush-size: must be at least 1"),
        (["seed-db", "--rows", "many"], "argument --rows: invalid int value: 'many'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, message):
    result = emulator(*argv)
    assert result.returncode == 2
    line = only_line(result, argv[0])
    assert message in line and line.endswith(f"(see pinterest-emulator {argv[0]} --help)")


def test_no_command_is_a_usage_error():
    result = emulator()
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "pinterest-emulator: the following arguments are required: command (see pinterest-emulator --help)"
    ]


def test_bad_settings_exit_2_with_one_line(small, tmp_path):
    result = emulator("post", "--target", "kinesis", "--db-url", small, "--batch-size", "501")
    assert result.returncode == 2
    assert "--batch-size 501 exceeds Kinesis PutRecords' 500 records" in only_line(result, "post")

    result = emulator("post", "--target", "kafka-rest", "--db-url", small, "--gateway", "127.0.0.1:8082")
    assert result.returncode == 2
    assert "--gateway '127.0.0.1:8082' is not an http:// or https:// URL" in only_line(result, "post")

    result = emulator("post", "--target", "console", "--db-url", small, "--topic-prefix", "my topics")
    assert result.returncode == 2 and "invalid topic prefix 'my topics'" in only_line(result, "post")

    result = emulator("seed-db", "--db-url", small, "--rows", "5")
    assert result.returncode == 2 and "already exist(s)" in only_line(result, "seed-db")

    (tmp_path / "file").write_text("x")
    result = emulator(
        "gateway", "--raw-root", str(tmp_path / "file"), "--port", "0", "--kinesis-endpoint", REFUSED
    )
    assert result.returncode == 2 and "is not a folder" in only_line(result, "gateway")


def test_missing_or_empty_source_tables_exit_3(small, tmp_path):
    result = emulator("post", "--target", "console", "--db-url", f"sqlite:///{tmp_path / 'none.db'}")
    assert result.returncode == 3
    assert "lacks pinterest_data, geolocation_data, user_data" in only_line(result, "post")

    empty = tmp_path / "empty.db"
    seed_database(f"sqlite:///{empty}", rows=3, seed=1, progress=False)
    with sqlite3.connect(empty) as conn:
        for table in ("pinterest_data", "geolocation_data", "user_data"):
            conn.execute(f"DELETE FROM {table}")
    result = emulator(
        "post", "--target", "console", "--db-url", f"sqlite:///{empty}", "--sampling", "uniform"
    )
    assert result.returncode == 3 and "has no rows" in only_line(result, "post")

    result = emulator("post", "--target", "console", "--db-url", small)  # original sampling reads 0..11000
    assert result.returncode == 3 and "the source has 60 rows" in only_line(result, "post")

    result = emulator(
        "seed-db", "--db-url", f"sqlite:///{tmp_path / 'real.db'}", "--from-real", str(tmp_path)
    )
    assert result.returncode == 3 and "lacks geolocation_data.csv" in only_line(result, "seed-db")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--target", "kafka-rest", "--gateway", REFUSED], "Connection refused"),
        (["--target", "kinesis", "--gateway", "http://no-such-host.invalid:8082"], "Failed to resolve"),
        (
            ["--target", "kinesis-direct", "--kinesis-endpoint", REFUSED],
            "Could not connect to the endpoint URL",
        ),
    ],
)
def test_a_gateway_or_kinesis_out_of_reach_exits_5_with_one_line(small, monkeypatch, argv, message):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "test")  # kinesis-direct: credentials are not what is missing
    result = emulator("post", *argv, "--db-url", small, "--sampling", "uniform", "--count", "3", *FAST)
    assert result.returncode == 5
    line = only_line(result, "post")
    assert "gave up after 2 attempts" in line and "cannot connect" in line and message in line


@pytest.mark.parametrize("command", ["post", "seed-db"])
def test_a_database_server_out_of_reach_exits_5_with_one_line(command):
    argv = ["--target", "console"] if command == "post" else []
    result = emulator(command, *argv, "--db-url", "mysql+pymysql://root@127.0.0.1:1/x")
    assert result.returncode == 5
    line = only_line(result, command)
    assert "cannot reach mysql+pymysql://root@127.0.0.1:1/x" in line and "Connection refused" in line


def test_a_run_that_posted_then_failed_exits_1_after_its_summary(tmp_path):
    """The source lacks a geolocation row the second batch reads: the first batch is posted, then it stops."""
    url = f"sqlite:///{tmp_path / 'gap.db'}"
    seed_database(url, rows=60, seed=1, progress=False)
    draws = list(itertools.islice(uniform_indexes(60, 7), 30))
    victim = next(i for i in draws[10:20] if i not in draws[:10])
    with sqlite3.connect(tmp_path / "gap.db") as conn:
        conn.execute("DELETE FROM geolocation_data WHERE ind = ?", (victim,))
    result = emulator(
        *["post", "--target", "console", "--db-url", url, "--sampling", "uniform", "--seed", "7"],
        *["--count", "30", "--batch-size", "10"],
    )
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 30  # the first batch: 10 events, three records each
    summary, failure = summary_then_failure(result.stderr)
    assert "records sent 30, acknowledged 30, failed 0" in summary
    assert failure == (
        f"pinterest-emulator post: geolocation_data has no row {victim}: "
        "the source tables must hold indexes 0..n-1"
    )


def test_ctrl_c_exits_130_after_the_summary(small):
    post = subprocess.Popen(
        [sys.executable, "-m", "pinterest_emulator.cli", "post", "--target", "console", "--db-url", small]
        + ["--sampling", "uniform", "--rate", "2", "--count", "1000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert post.stdout.readline().startswith('{"topic": "pinterest.pin"')  # posting has begun
        post.send_signal(signal.SIGINT)
        _, err = post.communicate(timeout=60)
    finally:
        if post.poll() is None:
            post.kill()
    assert post.returncode == 130
    summary, failure = summary_then_failure(err)
    assert failure == "pinterest-emulator post: interrupted"
    sent = int(re.search(r"records sent (\d+)", summary).group(1))
    assert sent >= 1  # the summary counts the batch that was on its way when Ctrl-C came


def test_the_gateway_module_entry_point_keeps_the_convention(tmp_path):
    running = fx.GatewayProcess(tmp_path / "a")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pinterest_emulator.gateway", "--raw-root", str(tmp_path / "b")]
            + ["--port", str(running.port), "--kinesis-endpoint", REFUSED],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2
        line = only_line(result, "gateway")
        assert "cannot start: " in line and "Address already in use" in line
    finally:
        assert running.stop(signal.SIGINT)[0] == 0  # Ctrl-C is the gateway's clean shutdown, exit code 0
