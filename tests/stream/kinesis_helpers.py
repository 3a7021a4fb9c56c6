"""Putting records into Kinesis streams for the tests, and making the three streams of a prefix."""

from __future__ import annotations

import json

ENTITIES = ("pin", "geo", "user")


def create_streams(client, prefix: str, shards: int = 2) -> None:
    """The three streams `<prefix>-pin|geo|user`, active."""
    for entity in ENTITIES:
        client.create_stream(StreamName=f"{prefix}-{entity}", ShardCount=shards)
    for entity in ENTITIES:
        client.get_waiter("stream_exists").wait(StreamName=f"{prefix}-{entity}", WaiterConfig={"Delay": 0.1})


def put(
    client,
    stream: str,
    records: list,
    key=lambda r: str(r.get("index", r.get("ind"))) if isinstance(r, dict) else "x",
) -> None:
    """put_records, records as JSON (dicts) or as given (str: sent as the raw bytes, poison included)."""
    for start in range(0, len(records), 500):
        chunk = records[start : start + 500]
        entries = [
            {"Data": (json.dumps(r) if isinstance(r, dict) else r).encode(), "PartitionKey": key(r)}
            for r in chunk
        ]
        response = client.put_records(StreamName=stream, Records=entries)
        assert response["FailedRecordCount"] == 0
