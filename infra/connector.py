"""The Confluent S3 sink connector configuration that MSK Connect runs.

It lands every topic as `topics/<topic>/partition=<p>/<topic>+<p>+<startOffset>.json`, one JSON object per
line. The original course used flush.size=1, which writes one S3 object (and one PUT) per record; here a
file is closed after SINK_FLUSH_SIZE records or after SINK_ROTATE_INTERVAL_MS, whichever comes first. The
local gateway (emulator) uses the same defaults so local and cloud runs produce the same kind of files.
"""

from __future__ import annotations

import re

# Records per file: a file is committed once it holds this many records.
SINK_FLUSH_SIZE = 500
# Milliseconds after which an open file is committed even if not full. rotate.interval.ms alone only
# rotates when a new record arrives; rotate.schedule.interval.ms also closes files on a quiet topic.
SINK_ROTATE_INTERVAL_MS = 60000
SINK_CONNECTOR_CLASS = "io.confluent.connect.s3.S3SinkConnector"


def topics_regex(topic_prefix: str) -> str:
    """The regex that selects exactly this deployment's three topics."""
    return f"^{re.escape(topic_prefix)}\\.(pin|geo|user)$"


def sink_connector_config(
    bucket: str,
    region: str,
    topic_prefix: str,
    tasks: int = 3,
    flush_size: int = SINK_FLUSH_SIZE,
    rotate_interval_ms: int = SINK_ROTATE_INTERVAL_MS,
) -> dict[str, str]:
    """The S3 sink's connector properties (MSK Connect takes them as a string map)."""
    return {
        "connector.class": SINK_CONNECTOR_CLASS,
        "tasks.max": str(tasks),
        "topics.regex": topics_regex(topic_prefix),
        "s3.region": region,
        "s3.bucket.name": bucket,
        "topics.dir": "topics",
        "storage.class": "io.confluent.connect.s3.storage.S3Storage",
        "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
        # DefaultPartitioner writes partition=<p> directories (docs/design.md, "The data flow").
        "partitioner.class": "io.confluent.connect.storage.partitioner.DefaultPartitioner",
        "schema.compatibility": "NONE",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "flush.size": str(flush_size),
        "rotate.interval.ms": str(rotate_interval_ms),
        "rotate.schedule.interval.ms": str(rotate_interval_ms),
        # rotate.schedule.interval.ms is wall-clock based and requires a time zone.
        "timezone": "UTC",
    }
