"""The gateway command: options, one-line errors on bad input, and the console entry point."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys

import pytest
from pinterest_emulator import gateway
from pinterest_emulator.gateway.server import raw_root_path

try:
    from . import gateway_fixtures as fx
except ImportError:
    import gateway_fixtures as fx


@pytest.fixture(autouse=True)
def _no_leftover_gateways():
    yield
    fx.GatewayProcess.kill_leftovers()


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    gateway.add_arguments(parser)
    return parser.parse_args(argv)


def test_defaults_match_the_deployed_connector():
    args = parse("--raw-root", "raw")
    assert (args.host, args.port, args.flush_size, args.rotate_interval_ms) == ("127.0.0.1", 8082, 500, 60000)
    assert args.kinesis_endpoint is None and args.api_key is None


@pytest.mark.parametrize(
    "argv",
    [("--raw-root", "r", "--flush-size", "0"), ("--raw-root", "r", "--rotate-interval-ms", "soon"), ()],
)
def test_bad_options_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        parse(*argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def run_gateway(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pinterest_emulator.gateway", *argv],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=fx.REPO,
    )


def test_raw_root_that_is_a_file_fails_with_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    result = run_gateway(
        "--raw-root", str(tmp_path / "file"), "--port", "0", "--kinesis-endpoint", "http://x"
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert (
        result.stderr.startswith("pinterest-emulator gateway: cannot start: ")
        and "is not a folder" in result.stderr
    )


def test_remote_raw_root_is_refused(tmp_path):
    result = run_gateway("--raw-root", "s3://bucket/raw", "--port", "0", "--kinesis-endpoint", "http://x")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert (
        result.stderr.startswith("pinterest-emulator gateway: ") and "local path or file://" in result.stderr
    )
    assert raw_root_path(f"file://{tmp_path}") == tmp_path


def test_port_in_use_fails_with_one_line(tmp_path):
    running = fx.GatewayProcess(tmp_path / "a")
    try:
        result = run_gateway(
            "--raw-root", str(tmp_path / "b"), "--port", str(running.port), "--kinesis-endpoint", "http://x"
        )
        assert result.returncode == 2 and result.stderr.count("\n") == 1
        assert result.stderr.startswith("pinterest-emulator gateway: cannot start: ")
    finally:
        assert running.stop(signal.SIGINT)[0] == 0  # Ctrl-C is a clean shutdown too


def test_console_entry_point_dispatches_to_the_gateway(tmp_path, capsys):
    from pinterest_emulator.cli import main

    (tmp_path / "file").write_text("x")
    code = main(
        ["gateway", "--raw-root", str(tmp_path / "file"), "--port", "0", "--kinesis-endpoint", "http://x"]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("pinterest-emulator gateway: ") and "is not a folder" in err
    assert err.count("\n") == 1
