"""Schemas of every table, as constants shared by the batch and the streaming code.

Raw schemas describe the records exactly as the source tables hold them (see docs/design.md, "Data contract"):
`follower_count` stays a string on the way in and timestamps are strings in one of two formats.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import types as T

RAW_PIN_SCHEMA = T.StructType(
    [
        T.StructField("index", T.LongType()),
        T.StructField("unique_id", T.StringType()),
        T.StructField("title", T.StringType()),
        T.StructField("description", T.StringType()),
        T.StructField("poster_name", T.StringType()),
        T.StructField("follower_count", T.StringType()),
        T.StructField("tag_list", T.StringType()),
        T.StructField("is_image_or_video", T.StringType()),
        T.StructField("image_src", T.StringType()),
        T.StructField("downloaded", T.IntegerType()),
        T.StructField("save_location", T.StringType()),
        T.StructField("category", T.StringType()),
    ]
)

RAW_GEO_SCHEMA = T.StructType(
    [
        T.StructField("ind", T.LongType()),
        T.StructField("timestamp", T.StringType()),
        T.StructField("latitude", T.DoubleType()),
        T.StructField("longitude", T.DoubleType()),
        T.StructField("country", T.StringType()),
    ]
)

RAW_USER_SCHEMA = T.StructType(
    [
        T.StructField("ind", T.LongType()),
        T.StructField("first_name", T.StringType()),
        T.StructField("last_name", T.StringType()),
        T.StructField("age", T.IntegerType()),
        T.StructField("date_joined", T.StringType()),
    ]
)

SILVER_PIN_SCHEMA = T.StructType(
    [
        T.StructField("ind", T.LongType(), False),
        T.StructField("unique_id", T.StringType()),
        T.StructField("title", T.StringType()),
        T.StructField("description", T.StringType()),
        T.StructField("follower_count", T.LongType()),
        T.StructField("poster_name", T.StringType()),
        T.StructField("tag_list", T.StringType()),
        T.StructField("is_image_or_video", T.StringType()),
        T.StructField("image_src", T.StringType()),
        T.StructField("save_location", T.StringType()),
        T.StructField("category", T.StringType()),
    ]
)

SILVER_GEO_SCHEMA = T.StructType(
    [
        T.StructField("ind", T.LongType(), False),
        T.StructField("country", T.StringType()),
        T.StructField("coordinates", T.ArrayType(T.DoubleType())),
        T.StructField("timestamp", T.TimestampType()),
    ]
)

SILVER_USER_SCHEMA = T.StructType(
    [
        T.StructField("ind", T.LongType(), False),
        T.StructField("user_name", T.StringType()),
        T.StructField("age", T.IntegerType()),
        T.StructField("date_joined", T.TimestampType()),
    ]
)

# Raw text as it arrived, one row per record, with where it came from. `partition` and `offset` are the
# Kafka coordinates (the sink names each file after its first offset; a record's offset is that plus its line).
BRONZE_SCHEMA = T.StructType(
    [
        T.StructField("value", T.StringType()),
        T.StructField("topic", T.StringType()),
        T.StructField("partition", T.IntegerType()),
        T.StructField("offset", T.LongType()),
        T.StructField("source_file", T.StringType()),
        T.StructField("line", T.IntegerType()),
        T.StructField("ingested_at", T.TimestampType()),
    ]
)

QUARANTINE_SCHEMA = T.StructType(
    [
        T.StructField("raw", T.StringType()),
        T.StructField("reason", T.StringType(), False),
        T.StructField("source", T.StringType()),
        T.StructField("ingested_at", T.TimestampType()),
    ]
)


@dataclass(frozen=True)
class Entity:
    """What the pipeline needs to know about one of the three record kinds."""

    name: str
    raw_schema: T.StructType
    id_field: str  # the key holding the post index in raw records ("index" for pins, "ind" elsewhere)


ENTITY = {
    "pin": Entity("pin", RAW_PIN_SCHEMA, "index"),
    "geo": Entity("geo", RAW_GEO_SCHEMA, "ind"),
    "user": Entity("user", RAW_USER_SCHEMA, "ind"),
}
