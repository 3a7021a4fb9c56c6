"""Fixtures of the fault tier: processes killed mid-run, connections dropped, throttled endpoints.

Everything runs on 127.0.0.1: the local MariaDB (`mysql_url`, tests/conftest.py), the gateway, moto's server.
The gateway helpers of tests/emulator (`gateway_fixtures`) are importable from here, as they are there.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "emulator"))

# moto accepts any credentials; boto3 needs some. Set before the shared Spark session starts, so that Spark's
# Python workers (where the Kinesis reader runs) inherit them.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture(scope="session")
def kinesis_endpoint():
    """A moto server for the tier (moto servers of one process share one backend: stream names are unique)."""
    from pinterest_emulator.gateway import start_moto, stop_moto

    url = start_moto()
    yield url
    stop_moto(url)
