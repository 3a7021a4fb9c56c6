"""Shared fixtures: one local Spark session for the whole test run (it takes seconds to start)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "real"


@pytest.fixture(scope="session")
def spark():
    """A local Spark session in UTC, shared by every test that needs one."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PINTEREST_SPARK_MASTER", "local[2]")
    # moto accepts any credentials and boto3 needs some; Spark's Python workers inherit them from here.
    from pinterest_pipeline.demo import use_embedded_aws_credentials

    use_embedded_aws_credentials()
    from pinterest_pipeline.session import get_spark

    session = get_spark("pinterest-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def real_data() -> Path:
    """../shared/real, the real source rows (tests that need them skip where the folder is absent)."""
    if not (REAL_DATA / "seed100_first2000_draws").is_dir():
        pytest.skip(f"real data not found at {REAL_DATA} (it lives beside the repository, in ../shared/real)")
    return REAL_DATA
