"""Reading what Kafka Connect's S3 sink writes: `<raw-root>/topics/<topic>/partition=<p>/<topic>+<p>+<offset>.json`.

Files are discovered by Spark's file stream source (Auto Loader on Databricks) with an `availableNow` trigger:
its checkpoint remembers which files were read, so each run reads only the files that landed since the last.
Each file is read whole and split into lines, so every record keeps its line number and Kafka offset.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from pinterest_pipeline.errors import ConfigError, InputError
from pinterest_pipeline.session import on_databricks

# <topic>+<partition>+<start offset>.json, the S3 sink's file name.
SINK_FILE_PATTERN = r"\+(\d+)\+(\d+)\.json$"
_SUPPORTED_SCHEMES = ("", "file", "s3", "s3a", "dbfs")


def normalize_raw_root(uri: str) -> str:
    """A raw root as Spark should read it: local paths absolute, DBFS mounts as dbfs:/mnt/..., s3:// as given.

    Unity Catalog volumes (/Volumes/<catalog>/<schema>/<volume>/...) are plain paths on Databricks.
    """
    if not uri or not uri.strip():
        raise ConfigError("the raw root is empty")
    parsed = urlparse(uri)
    if parsed.scheme not in _SUPPORTED_SCHEMES:
        raise ConfigError(
            f"unsupported raw root {uri!r}: use a local path, s3://, /Volumes/... or dbfs:/mnt/..."
        )
    if parsed.scheme in ("s3", "s3a") and not parsed.netloc:
        raise ConfigError(f"raw root {uri!r} names no bucket")
    if parsed.scheme == "" and uri.startswith("/mnt/") and on_databricks():
        # A legacy mount is a DBFS path; the bare /mnt/... is the driver's local disk.
        return "dbfs:" + uri
    if parsed.scheme == "" and not uri.startswith("/Volumes/"):
        return os.path.abspath(uri)
    if parsed.scheme == "file":
        return os.path.abspath(parsed.path)
    return uri.rstrip("/")


def check_raw_root(uri: str) -> None:
    """Fail early, with one line, when a local raw root does not exist (remote ones are checked by Spark)."""
    if urlparse(uri).scheme == "" and not uri.startswith("/Volumes/") and not os.path.isdir(uri):
        raise InputError(f"raw root not found: {uri}")


def topic_glob(raw_root: str, topic: str) -> str:
    """The files of one topic in the sink layout."""
    return f"{raw_root}/topics/{topic}/partition=*/*.json"


# Auto Loader's options: https://docs.databricks.com/aws/en/ingestion/cloud-object-storage/auto-loader/options
# (`cloudFiles.*`, and the text format's `wholetext` under "TEXT options"); Spark's file source takes the same
# limit as `maxFilesPerTrigger`: https://spark.apache.org/docs/latest/structured-streaming-programming-guide.html
def file_source_options(
    databricks: bool, max_files_per_trigger: int | None = None
) -> tuple[str, dict[str, str]]:
    """The streaming file source and its options: Auto Loader on Databricks, Spark's text source elsewhere."""
    if databricks:
        options = {
            "cloudFiles.format": "text",
            "cloudFiles.includeExistingFiles": "true",
            "wholetext": "true",
        }
        if max_files_per_trigger:
            options["cloudFiles.maxFilesPerTrigger"] = str(max_files_per_trigger)
        return "cloudFiles", options
    options = {"wholetext": "true"}
    if max_files_per_trigger:
        options["maxFilesPerTrigger"] = str(max_files_per_trigger)
    return "text", options


def new_files_stream(
    spark: SparkSession, raw_root: str, topic: str, max_files_per_trigger: int | None = None
) -> DataFrame:
    """A stream of the topic's sink files not read before (one row per file: whole text and file path)."""
    source, options = file_source_options(on_databricks(), max_files_per_trigger)
    return (
        spark.readStream.format(source)
        .options(**options)
        .load(topic_glob(raw_root, topic))
        .select(F.col("value").alias("text"), F.col("_metadata.file_path").alias("source_file"))
    )


def split_records(files: DataFrame, topic: str, ingested_at: Column) -> DataFrame:
    """Sink files (whole text, path) to one bronze row per non-blank line, with its Kafka partition and offset.

    The partition and start offset are taken from the file name once per file, before the lines are exploded.
    """
    partition = F.regexp_extract(F.col("source_file"), SINK_FILE_PATTERN, 1)
    start_offset = F.regexp_extract(F.col("source_file"), SINK_FILE_PATTERN, 2)
    lines = files.select(
        "source_file",
        F.when(partition != "", partition.cast("int")).alias("partition"),
        F.when(start_offset != "", start_offset.cast("long")).alias("start_offset"),
        # A writer on Windows, or a hand-made file, may end lines with \r\n.
        F.posexplode(F.split(F.col("text"), "\r?\n")).alias("line", "value"),
    )
    return lines.where(F.trim(F.col("value")) != "").select(
        F.col("value"),
        F.lit(topic).alias("topic"),
        F.col("partition"),
        (F.col("start_offset") + F.col("line")).alias("offset"),
        F.col("source_file"),
        (F.col("line") + 1).cast("int").alias("line"),
        ingested_at.alias("ingested_at"),
    )
