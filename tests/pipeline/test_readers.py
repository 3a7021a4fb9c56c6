"""The sink reader: raw root locations, file names to Kafka coordinates, lines to records."""

import pytest
from pyspark.sql import functions as F

from pinterest_pipeline.errors import ConfigError, InputError
from pinterest_pipeline.readers import (
    check_raw_root,
    file_source_options,
    normalize_raw_root,
    split_records,
    topic_glob,
)


@pytest.mark.parametrize(
    "uri, expected",
    [
        ("s3://my-bucket/raw/", "s3://my-bucket/raw"),
        ("/Volumes/main/pinterest/raw", "/Volumes/main/pinterest/raw"),
        ("dbfs:/mnt/pinterest-raw", "dbfs:/mnt/pinterest-raw"),
        ("file:///tmp/raw", "/tmp/raw"),
    ],
)
def test_supported_raw_roots(uri, expected):
    assert normalize_raw_root(uri) == expected


def test_relative_local_root_becomes_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert normalize_raw_root("raw") == str(tmp_path / "raw")


def test_legacy_mount_is_a_dbfs_path_on_databricks(monkeypatch):
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "16.4")
    assert normalize_raw_root("/mnt/pinterest-raw") == "dbfs:/mnt/pinterest-raw"


@pytest.mark.parametrize(
    "uri, message",
    [
        ("", "the raw root is empty"),
        ("ftp://host/x", "unsupported raw root"),
        ("s3:///no-bucket", "names no bucket"),
    ],
)
def test_bad_raw_roots(uri, message):
    with pytest.raises(ConfigError, match=message):
        normalize_raw_root(uri)


def test_missing_local_root(tmp_path):
    with pytest.raises(InputError, match="raw root not found"):
        check_raw_root(str(tmp_path / "absent"))
    check_raw_root(str(tmp_path))  # exists: no error


def test_topic_glob_is_the_sink_layout():
    assert topic_glob("s3://b/raw", "pinterest.pin") == "s3://b/raw/topics/pinterest.pin/partition=*/*.json"


def test_split_records_gives_lines_offsets_and_partitions(spark):
    files = spark.createDataFrame(
        [
            (
                '{"a": 1}\n{"a": 2}\r\n\n{"a": 3}',
                "s3://b/raw/topics/p.pin/partition=2/p.pin+2+0000000040.json",
            ),
            ('{"a": 9}', "/x/odd-name.json"),
        ],
        "text string, source_file string",
    )
    rows = split_records(files, "p.pin", F.current_timestamp()).orderBy("source_file", "line").collect()
    got = [(r.value, r.topic, r.partition, r.offset, r.line) for r in rows]
    assert got == [
        ('{"a": 9}', "p.pin", None, None, 1),
        ('{"a": 1}', "p.pin", 2, 40, 1),
        ('{"a": 2}', "p.pin", 2, 41, 2),
        ('{"a": 3}', "p.pin", 2, 43, 4),
    ]


def test_file_source_options_by_their_documented_names():
    # Auto Loader namespaces its own options (cloudFiles.maxFilesPerTrigger, not Spark's maxFilesPerTrigger):
    # https://docs.databricks.com/aws/en/ingestion/cloud-object-storage/auto-loader/options
    assert file_source_options(databricks=True, max_files_per_trigger=100) == (
        "cloudFiles",
        {
            "cloudFiles.format": "text",
            "cloudFiles.includeExistingFiles": "true",
            "wholetext": "true",
            "cloudFiles.maxFilesPerTrigger": "100",
        },
    )
    assert file_source_options(databricks=False, max_files_per_trigger=100) == (
        "text",
        {"wholetext": "true", "maxFilesPerTrigger": "100"},
    )
    assert file_source_options(databricks=False) == ("text", {"wholetext": "true"})
