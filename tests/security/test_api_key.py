"""The gateway's API key: enforced when configured (a request without it, or with another, is refused with 403),
and never written out, neither by the gateway (stdout, stderr) nor by the emulator posting with it."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys

import gateway_fixtures as fx
import requests
from pinterest_emulator.seed import seed_database


def produce(url: str, headers: dict) -> requests.Response:
    with requests.Session() as session:
        session.headers.update(headers)
        return fx.produce(url, "pinterest.pin", [{"index": 1}], session=session)


def start_gateway(raw_root, key: str) -> tuple[subprocess.Popen, str]:
    port = fx.free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pinterest_emulator.cli",
            "gateway",
            "--raw-root",
            str(raw_root),
            "--port",
            str(port),
            "--kinesis-endpoint",
            "http://127.0.0.1:9",
            "--api-key",
            key,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    first = proc.stdout.readline()
    assert "listening on" in first, first + proc.stderr.read()
    return proc, first


def test_the_key_is_enforced_and_never_written_out(tmp_path):
    key = "key-" + secrets.token_urlsafe(24)  # made here, never stored
    gateway, first_line = start_gateway(tmp_path / "raw", key)
    url = f"http://127.0.0.1:{first_line.split(':')[2].split()[0]}"
    try:
        for headers in ({}, {"x-api-key": "wrong"}, {"x-api-key": key[:-1]}, {"X-API-KEY": key.upper()}):
            refused = produce(url, headers)
            assert (refused.status_code, refused.json()) == (403, {"message": "Forbidden"}), headers
            assert key not in refused.text
        assert requests.get(f"{url}/streams", timeout=10).status_code == 403
        accepted = produce(url, {"x-api-key": key})
        assert accepted.status_code == 200 and key not in accepted.text

        # The emulator posting with the key (and with a wrong one) prints neither.
        source = f"sqlite:///{tmp_path / 'source.db'}"
        seed_database(source, rows=50, seed=1, progress=False)
        outputs = []
        for sent_key, code in ((key, 0), (key + "-wrong", 1)):
            post = post_run(source, url, None, "--api-key", sent_key, "--count", "20")
            assert post.returncode == code, post.stderr
            outputs.append(post.stdout + post.stderr)
        assert "acknowledged 60" in outputs[0] and "HTTP 403" in outputs[1]
    finally:
        gateway.send_signal(signal.SIGTERM)
        out, err = gateway.communicate(timeout=60)
    assert gateway.returncode == 0 and "gateway stopped: 61 records acknowledged" in out
    written = "\n".join([first_line, out, err, *outputs])
    assert key not in written and key[4:] not in written
    assert fx.read_topic(tmp_path / "raw", "pinterest.pin")[0][2] == {"index": 1}


def post_run(source: str, url: str, env: dict | None, *flag: str) -> subprocess.CompletedProcess:
    """`pinterest-emulator post` (kafka-rest, 5 events unless `flag` says otherwise) in a child process with this
    environment (None: this process's)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pinterest_emulator.cli",
            "post",
            "--target",
            "kafka-rest",
            "--db-url",
            source,
            "--gateway",
            url,
            "--sampling",
            "uniform",
            "--count",
            "5",
            *flag,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def test_the_key_can_come_from_the_environment_and_the_flag_wins(tmp_path, monkeypatch):
    key = "key-" + secrets.token_urlsafe(24)
    other = "other-" + secrets.token_urlsafe(24)
    source = f"sqlite:///{tmp_path / 'source.db'}"
    seed_database(source, rows=50, seed=1, progress=False)
    monkeypatch.setenv("PINTEREST_API_KEY", key)
    gateway = fx.GatewayProcess(tmp_path / "raw")  # no --api-key: $PINTEREST_API_KEY
    try:
        with open(f"/proc/{gateway.proc.pid}/cmdline", "rb") as cmdline:
            assert key.encode() not in cmdline.read()  # not in the process list
        assert produce(gateway.url, {}).status_code == 403
        assert produce(gateway.url, {"x-api-key": key}).status_code == 200

        env = {**os.environ, "PINTEREST_API_KEY": key}
        from_env = post_run(source, gateway.url, env)
        assert from_env.returncode == 0 and "acknowledged 15" in from_env.stderr, from_env.stderr
        flag_wins = post_run(source, gateway.url, {**env, "PINTEREST_API_KEY": other}, "--api-key", key)
        assert flag_wins.returncode == 0 and "acknowledged 15" in flag_wins.stderr, flag_wins.stderr
        wrong_env = post_run(source, gateway.url, {**env, "PINTEREST_API_KEY": other})
        assert wrong_env.returncode == 1 and "HTTP 403" in wrong_env.stderr
        empty = {k: v for k, v in env.items() if k != "PINTEREST_API_KEY"}
        no_key = post_run(source, gateway.url, {**empty, "PINTEREST_API_KEY": ""})
        assert no_key.returncode == 1 and "HTTP 403" in no_key.stderr
        written = "".join(r.stdout + r.stderr for r in (from_env, flag_wins, wrong_env, no_key))
        assert key not in written and other not in written
    finally:
        code, out = gateway.stop(signal.SIGTERM)
    assert code == 0 and "gateway stopped: 31 records acknowledged" in out and key not in out

    # the gateway's flag wins over the environment too
    flagged = fx.GatewayProcess(tmp_path / "raw2", "--api-key", other)
    try:
        assert produce(flagged.url, {"x-api-key": key}).status_code == 403
        assert produce(flagged.url, {"x-api-key": other}).status_code == 200
    finally:
        assert flagged.stop(signal.SIGTERM)[0] == 0
