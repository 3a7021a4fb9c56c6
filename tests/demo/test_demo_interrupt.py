"""Ctrl-C during the demo: one line, exit 130, and the gateway publishes what it acknowledged before stopping."""

from __future__ import annotations

import os
import signal
import subprocess
import sys


def test_ctrl_c_while_posting_shuts_down_cleanly(tmp_path):
    env = {**os.environ, "PINTEREST_SPARK_MASTER": "local[1]"}
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pinterest_pipeline.cli",
            "demo",
            "--events",
            "20000",
            "--home",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        for line in demo.stdout:
            if line.startswith("gateway on "):
                break
        demo.send_signal(signal.SIGINT)
        _, err = demo.communicate(timeout=300)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 130
    assert err.strip().splitlines()[-1] == "pinterest-pipeline demo: interrupted"
    # Nothing acknowledged is left behind in the gateway's staging area: it was published as sink files.
    staged = [p for p in (tmp_path / "raw" / ".staging").rglob("*") if p.is_file() and p.stat().st_size > 0]
    assert staged == []
    published = list((tmp_path / "raw" / "topics").rglob("*.json"))
    assert all(p.read_text(encoding="utf-8").endswith("\n") for p in published)
