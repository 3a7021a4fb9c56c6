"""Confluent REST Proxy v2 produce and topic metadata, over the local sink.

Bodies, status codes and error shapes follow the proxy: errors are `{"error_code", "message"}` where the
error code is the HTTP status or a five-digit proxy code (40401 topic not found, 40402 partition not found).
A record the Kafka producer refuses (too large) is not a request error: its entry in `offsets` carries the
producer's error, and the request's other records are written.
"""

from __future__ import annotations

import zlib

from pinterest_pipeline.names import valid_topic

from . import jsontext
from .sink import Sink

PRODUCE_CONTENT_TYPE = "application/vnd.kafka.json.v2+json"
RESPONSE_CONTENT_TYPE = "application/vnd.kafka.v2+json"
# The proxy's producer refuses a record whose batch would exceed max.request.size (Kafka's default 1048576,
# https://kafka.apache.org/documentation/#producerconfigs_max.request.size) before it reaches a broker; the
# brokers' message.max.bytes (default 1048588, https://kafka.apache.org/documentation/#brokerconfigs_message.max.bytes;
# MSK keeps Kafka's default for properties its default configuration does not list,
# https://docs.aws.amazon.com/msk/latest/developerguide/msk-default-configuration.html) is larger, so the
# producer's check is the one a record meets.
MAX_REQUEST_SIZE = 1_048_576
# DefaultRecordBatch.RECORD_BATCH_OVERHEAD and DefaultRecord.MAX_RECORD_OVERHEAD (record format v2)
_BATCH_OVERHEAD, _MAX_RECORD_OVERHEAD = 61, 21
# kafka-rest's Errors.KAFKA_ERROR_ERROR_CODE: the code v2 produce puts in a record's entry for a Kafka
# exception that is not retriable (RecordTooLargeException is not), see AbstractProduceAction in
# https://github.com/confluentinc/kafka-rest/blob/master/kafka-rest/src/main/java/io/confluent/kafkarest/resources/v2/AbstractProduceAction.java
KAFKA_ERROR_CODE = 50002


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


def _varint_size(n: int) -> int:
    """Bytes of Kafka's zigzag varint for a non-negative int32."""
    value, size = n << 1, 1
    while value >= 0x80:
        value >>= 7
        size += 1
    return size


def serialized_size(key: bytes | None, value: bytes) -> int:
    """The Java producer's size estimate for one record (no headers), the number max.request.size bounds.

    `AbstractRecords.estimateSizeInBytesUpperBound` -> `DefaultRecordBatch.estimateBatchSizeUpperBound`:
    batch overhead + record overhead + key and value with their varint lengths (a null key is one byte) +
    one byte for the empty header count.
    """
    key_size = 1 if key is None else _varint_size(len(key)) + len(key)
    return _BATCH_OVERHEAD + _MAX_RECORD_OVERHEAD + key_size + _varint_size(len(value)) + len(value) + 1


def record_too_large(size: int) -> str | None:
    """RecordTooLargeException's message (KafkaProducer.ensureValidRecordSize) for an oversized record."""
    if size <= MAX_REQUEST_SIZE:
        return None
    return (
        f"The message is {size} bytes when serialized which is larger than {MAX_REQUEST_SIZE}, which is the "
        "value of the max.request.size configuration."
    )


def parse_produce(
    content_type: str | None, body: bytes
) -> list[tuple[int | None, bytes | None, bytes, str | None]]:
    """Validate a produce request; returns (requested partition, key, value line, producer error) per record.

    The producer error is None for a record that can be written, else the message the producer fails that
    record with (the proxy still answers 200, with the error in that record's entry).
    """
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
        partition = record.get("partition")
        if partition is not None and (isinstance(partition, bool) or not isinstance(partition, int)):
            raise ProxyError(422, 422, f"records[{i}].partition must be an integer")
        parsed.append((partition, key, value + b"\n", record_too_large(serialized_size(key, value))))
    return parsed


def _assign(records: list[tuple], partitions: int, spread: int) -> list[int]:
    """Kafka's default partitioner: explicit partition, else murmur2 of the key, else one partition per batch."""
    assigned = []
    for partition, key, *_ in records:
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
    offsets: list[dict | None] = [None] * len(records)
    for index, partition in enumerate(assigned):
        error = records[index][3]
        if error is None:
            by_partition.setdefault(partition, []).append(index)
        else:  # refused by the producer: never written, so the other records' offsets stay contiguous
            offsets[index] = {
                "partition": None,
                "offset": None,
                "error_code": KAFKA_ERROR_CODE,
                "error": error,
            }
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
