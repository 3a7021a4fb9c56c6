"""Confluent REST Proxy v2 produce and topic metadata, over the local sink.

Bodies, status codes and error shapes follow the proxy: errors are `{"error_code", "message"}` where the
error code is the HTTP status or a five-digit proxy code (40401 topic not found, 40402 partition not found,
42201 key or value too large).
"""

from __future__ import annotations

import zlib

from pinterest_pipeline.names import valid_topic

from . import jsontext
from .sink import Sink

PRODUCE_CONTENT_TYPE = "application/vnd.kafka.json.v2+json"
RESPONSE_CONTENT_TYPE = "application/vnd.kafka.v2+json"
# Kafka's default message.max.bytes (1 MB) bounds one record's key or value
MAX_RECORD_BYTES = 1_048_588


class ProxyError(Exception):
    """An error the REST proxy reports as `{"error_code", "message"}` with an HTTP status."""

    def __init__(self, status: int, error_code: int, message: str):
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message

    def body(self) -> dict:
        """The proxy's JSON error body."""
        return {"error_code": self.error_code, "message": self.message}


def topic_not_found() -> ProxyError:
    """The proxy's 404 for a missing topic."""
    return ProxyError(404, 40401, "Topic not found.")


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash (as the Java client computes it, unsigned 32 bits)."""
    m, length = 0x5BD1E995, len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail = data[length - length % 4 :]
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h ^= tail[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    return h ^ (h >> 15)


def _encode(value, where: str) -> bytes:
    # JsonFormat writes UTF-8 without escaping non-ASCII text
    try:
        return jsontext.dumps(value)
    except jsontext.BadJson as exc:
        raise ProxyError(422, 422, f"{where}: {exc}") from None


def parse_produce(content_type: str | None, body: bytes) -> list[tuple[int | None, bytes | None, bytes]]:
    """Validate a produce request; returns (requested partition, key, value line) per record, in order."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != PRODUCE_CONTENT_TYPE:
        raise ProxyError(415, 415, "HTTP 415 Unsupported Media Type")
    try:
        request = jsontext.loads(body)
    except jsontext.BadJson as exc:
        raise ProxyError(400, 400, f"Unexpected JSON in request body: {exc}") from None
    if not isinstance(request, dict):
        raise ProxyError(400, 400, "Request body must be a JSON object")
    records = request.get("records")
    if records is None:
        raise ProxyError(422, 422, "records may not be null")
    if not isinstance(records, list) or not records:
        raise ProxyError(422, 422, "records must be a non-empty array")
    parsed = []
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise ProxyError(422, 422, f"records[{i}] must be an object")
        if record.get("value") is None:
            # the S3 sink (behavior.on.null.values=fail) cannot write a null value
            raise ProxyError(422, 422, f"records[{i}].value may not be null")
        value = _encode(record["value"], f"records[{i}].value")
        key = None if record.get("key") is None else _encode(record["key"], f"records[{i}].key")
        if len(value) > MAX_RECORD_BYTES or (key is not None and len(key) > MAX_RECORD_BYTES):
            raise ProxyError(422, 42201, "Request includes keys and/or values that are too large.")
        partition = record.get("partition")
        if partition is not None and (isinstance(partition, bool) or not isinstance(partition, int)):
            raise ProxyError(422, 422, f"records[{i}].partition must be an integer")
        parsed.append((partition, key, value + b"\n"))
    return parsed


def _assign(records: list[tuple[int | None, bytes | None, bytes]], partitions: int, spread: int) -> list[int]:
    """Kafka's default partitioner: explicit partition, else murmur2 of the key, else one partition per batch."""
    assigned = []
    for partition, key, _ in records:
        if partition is None:
            partition = (murmur2(key) & 0x7FFFFFFF) % partitions if key is not None else spread % partitions
        elif not 0 <= partition < partitions:
            raise ProxyError(404, 40402, "Partition not found.")
        assigned.append(partition)
    return assigned


def produce(sink: Sink, topic: str, content_type: str | None, body: bytes, auto_create: bool) -> dict:
    """Handle `POST /topics/{topic}`: append durably, then return the proxy's offsets response."""
    records = parse_produce(content_type, body)  # the proxy rejects a bad body before looking up the topic
    if not sink.partitions(topic):
        if not (auto_create and valid_topic(topic)):
            raise topic_not_found()
        sink.create_topic(topic)
    assigned = _assign(records, len(sink.partitions(topic)), zlib.crc32(body))
    by_partition: dict[int, list[int]] = {}
    for index, partition in enumerate(assigned):
        by_partition.setdefault(partition, []).append(index)
    offsets: list[dict | None] = [None] * len(records)
    for partition, indexes in sorted(by_partition.items()):
        first = sink.append(topic, partition, [records[i][2] for i in indexes])
        for n, index in enumerate(indexes):
            offsets[index] = {"partition": partition, "offset": first + n, "error_code": None, "error": None}
    return {"key_schema_id": None, "value_schema_id": None, "offsets": offsets}


def list_topics(sink: Sink) -> list[str]:
    """`GET /topics`: the topic names."""
    return sink.topics()


def describe_topic(sink: Sink, topic: str, flush_size: int) -> dict:
    """`GET /topics/{topic}`: name, configs and partitions as the proxy returns them."""
    partitions = sink.partitions(topic)
    if not partitions:
        raise topic_not_found()
    replica = {"broker": 1, "leader": True, "in_sync": True}
    return {
        "name": topic,
        "configs": {"cleanup.policy": "delete", "s3.sink.flush.size": str(flush_size)},
        "partitions": [{"partition": p, "leader": 1, "replicas": [replica]} for p in partitions],
    }
