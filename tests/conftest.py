"""Shared fixtures: one local Spark session for the whole test run (it takes seconds to start), the local
MariaDB, one moto server (a real Kinesis endpoint on 127.0.0.1), the real data.

The gateway helpers of tests/emulator (`gateway_fixtures`) are importable from every tier.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest
from outside_inputs import real_data_dir

sys.path.insert(0, str(Path(__file__).resolve().parent / "emulator"))

# moto accepts any credentials; boto3 needs some. Set at import, before the shared Spark session starts, so that
# Spark's Python workers (where the Kinesis reader runs) inherit them.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

# The local MariaDB and the account `.ci/services` creates (loopback, no password, rights on pinterest_test_*
# databases only); host, port and user can be pointed elsewhere for a one-off check.
MYSQL = {
    "host": os.environ.get("PINTEREST_MYSQL_HOST", "127.0.0.1"),
    "port": int(os.environ.get("PINTEREST_MYSQL_PORT", "3306")),
    "user": os.environ.get("PINTEREST_MYSQL_USER", "pinterest"),
    "password": "",
}


@pytest.fixture(scope="session")
def mysql_url():
    """A fresh, uniquely named MariaDB/MySQL database for the session (dropped after); skips if no server."""
    import pymysql

    try:
        conn = pymysql.connect(connect_timeout=3, **MYSQL)
    except pymysql.err.OperationalError as exc:
        message = f"no MySQL/MariaDB for {MYSQL['user']} at {MYSQL['host']}:{MYSQL['port']} ({exc}): run .ci/services"
        if os.environ.get("PINTEREST_REQUIRE_MYSQL") == "1":
            pytest.fail(message + " and PINTEREST_REQUIRE_MYSQL=1")
        pytest.skip(message)
    name = f"pinterest_test_{uuid.uuid4().hex[:10]}"
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield f"mysql+pymysql://{MYSQL['user']}@{MYSQL['host']}:{MYSQL['port']}/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


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
def kinesis_endpoint():
    """A moto server for the run (moto servers of one process share one backend: tests use their own stream names)."""
    from pinterest_emulator.local_kinesis import start_moto, stop_moto

    url = start_moto()
    yield url
    stop_moto(url)


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real source rows with the original emulator's first draws (skips where they are absent)."""
    return real_data_dir("seed100_first2000_draws")
