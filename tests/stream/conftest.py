"""Fixtures of the streaming tier: a Kinesis client and stream names on the shared moto server (tests/conftest.py)."""

from __future__ import annotations

import itertools

import boto3
import pytest

_names = itertools.count()


@pytest.fixture
def kinesis(kinesis_endpoint):
    """A boto3 Kinesis client on the moto server (with tests/conftest.py's dummy credentials)."""
    return boto3.client("kinesis", endpoint_url=kinesis_endpoint, region_name="us-east-1")


@pytest.fixture
def prefix():
    """A stream prefix no other test uses."""
    return f"t{next(_names)}"
