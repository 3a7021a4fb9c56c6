"""Fixtures of the bad-input tier: a running gateway on 127.0.0.1 in front of moto's Kinesis server.

The gateway helpers of tests/emulator (`gateway_fixtures`) are importable from here, as they are there.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "emulator"))

# moto accepts any credentials; boto3 needs some (Spark's Python workers inherit them from here).
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture(scope="session")
def kinesis_endpoint():
    """A moto server for the tier (moto servers of one process share one backend: stream names are unique)."""
    from pinterest_emulator.gateway import start_moto, stop_moto

    url = start_moto()
    yield url
    stop_moto(url)
