"""The Confluent S3 sink connector configuration that MSK Connect runs.

It lands every topic as `topics/<topic>/partition=0/<topic>+0+<startOffset>.json` (one partition per topic), one JSON object per
line. The original course used flush.size=1, which writes one S3 object (and one PUT) per record; here a
file is closed after SINK_FLUSH_SIZE records, or when a record arrives SINK_ROTATE_INTERVAL_MS or more after
the open file's first record (record time), whichever comes first. Both rules depend only on the records, so
a task that restarts writes the same files again: the sink's exactly-once delivery holds (infra/README.md,
"The S3 sink"). The local gateway (emulator) uses the same defaults and rules.
"""

from __future__ import annotations

import re

# Records per file: a file is committed once it holds this many records.
SINK_FLUSH_SIZE = 500
# rotate.interval.ms: a file is committed when a record's timestamp is this many ms or more after the file's
# first record's; that record starts the next file. A quiet topic's open file waits for its next record.
SINK_ROTATE_INTERVAL_MS = 60000
SINK_CONNECTOR_CLASS = "io.confluent.connect.s3.S3SinkConnector"
# The S3 sink only applies rotate.interval.ms with a TimeBasedPartitioner (with any other partitioner it logs
# "This property is ignored"): TopicPartitionWriter takes the timestamp extractor from the partitioner,
# https://github.com/confluentinc/kafka-connect-storage-cloud/blob/master/kafka-connect-s3/src/main/java/io/confluent/connect/s3/TopicPartitionWriter.java
TIME_BASED_PARTITIONER = "io.confluent.connect.storage.partitioner.TimeBasedPartitioner"
# A path.format of one quoted literal gives every record the same output partition, so time never splits a
# file by directory. The literal is the raw layout's `partition=<p>` folder of the topics' one Kafka partition
# (infra/config.py allows no other count): the files land where DefaultPartitioner put them. The time bucket
# then does not matter; a day is a valid duration.
SINK_PATH_FORMAT = "'partition=0'"
SINK_PARTITION_DURATION_MS = 86_400_000


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
        "partitioner.class": TIME_BASED_PARTITIONER,
        "path.format": SINK_PATH_FORMAT,
        "partition.duration.ms": str(SINK_PARTITION_DURATION_MS),
        "locale": "en-US",
        "timezone": "UTC",
        # Record: the Kafka record's own timestamp (CreateTime, set by the REST proxy when it produces the
        # record), a deterministic extractor; the default, Wallclock, is not
        # (https://docs.confluent.io/kafka-connectors/s3-sink/current/configuration_options.html)
        "timestamp.extractor": "Record",
        "schema.compatibility": "NONE",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "flush.size": str(flush_size),
        # rotation on record time only: rotate.schedule.interval.ms (wall clock) is left out, as it makes the
        # files a restarted task writes depend on when it runs, which breaks exactly-once delivery
        "rotate.interval.ms": str(rotate_interval_ms),
    }
