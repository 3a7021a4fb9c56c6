"""The posting emulator against the real gateway: the same events land as sink files (kafka-rest) and in
Kinesis streams through the proxy routes (kinesis), with the API key a usage plan requires."""

from __future__ import annotations

import json

import boto3
import requests
from pinterest_emulator.config import PostConfig
from pinterest_emulator.gateway import Gateway
from pinterest_emulator.local_kinesis import start_moto, stop_moto
from pinterest_emulator.post import post_events

try:
    from . import gateway_fixtures as fx
except ImportError:
    import gateway_fixtures as fx

REGION = "ca-central-1"  # moto's state is per process: a region of its own
EVENTS = 120


def kinesis_values(moto_url: str, stream: str) -> list[dict]:
    """Every record of a one-shard stream, decoded from its JSON text."""
    client = boto3.client(
        "kinesis",
        endpoint_url=moto_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    shard = client.describe_stream(StreamName=stream)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = client.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = client.get_records(ShardIterator=iterator["ShardIterator"], Limit=10000)["Records"]
    return [json.loads(r["Data"]) for r in records]


def test_emulator_posts_the_same_events_both_ways(seeded_sqlite, tmp_path):
    moto_url = start_moto()
    try:
        with Gateway(tmp_path, kinesis_endpoint=moto_url, region=REGION, api_key="k3y", flush_size=50) as gw:
            for entity in ("pin", "geo", "user"):
                created = requests.post(
                    f"{gw.url}/streams/pinterest-{entity}",
                    json={"ShardCount": 1},
                    headers={"x-api-key": "k3y"},
                    timeout=30,
                )
                assert created.status_code == 200, created.text
            common = {
                "db_url": seeded_sqlite,
                "gateway": gw.url,
                "sampling": "uniform",
                "seed": 11,
                "count": EVENTS,
                "api_key": "k3y",
            }
            batch = post_events(PostConfig("kafka-rest", batch_size=25, **common), progress=False)
            stream = post_events(PostConfig("kinesis", batch_size=25, **common), progress=False)
        assert batch.failed == stream.failed == 0 and batch.error is None and stream.error is None
        for entity in ("pin", "geo", "user"):
            on_disk = [v for _, _, v in fx.read_topic(tmp_path, f"pinterest.{entity}")]
            assert len(on_disk) == EVENTS
            assert on_disk == kinesis_values(moto_url, f"pinterest-{entity}")
        assert len(fx.sink_files(tmp_path, "pinterest.pin")) == 3  # 50 + 50 + 20 published at shutdown
    finally:
        stop_moto(moto_url)
