"""Fixtures of the streaming tier: one moto server (a real Kinesis endpoint on 127.0.0.1) for the whole tier."""

from __future__ import annotations

import itertools
import os

import boto3
import pytest
from pinterest_emulator.gateway import start_moto, stop_moto

_names = itertools.count()

# moto accepts any credentials; boto3 needs some. Set at import, before the shared Spark session starts, so that
# Spark's Python workers (where the Kinesis reader runs) inherit them.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture(scope="session")
def kinesis_endpoint():
    """The URL of a moto server shared by the tier's tests (each test uses its own stream prefix)."""
    url = start_moto()
    yield url
    stop_moto(url)


@pytest.fixture
def kinesis(kinesis_endpoint):
    """A boto3 Kinesis client on the moto server."""
    return boto3.client("kinesis", endpoint_url=kinesis_endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def prefix():
    """A stream prefix no other test uses."""
    return f"t{next(_names)}"
