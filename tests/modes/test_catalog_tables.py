"""`--catalog spark_catalog --schema <s>` on this machine, in both session modes: the batch and streaming jobs write
catalog tables (Spark's own catalog, its metastore and warehouse under `<lake>/_catalog`) holding what the path
tables of the same input hold, print the same accounting, and leave the lake itself only checkpoints. A second
run finds the tables again through the metastore."""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import pytest
from pipeline.sink import sink_files
from spark_modes import MODES, accounting, run_command
from stream.kinesis_helpers import ENTITIES, create_streams, put
from stream.records import POISON, posts

from modes.test_connect_mode import table
from pinterest_pipeline.errors import ConfigError
from pinterest_pipeline.insights import INSIGHTS
from pinterest_pipeline.jobs.batch import BatchConfig, run_batch
from pinterest_pipeline.jobs.stream import StreamConfig, run_stream
from pinterest_pipeline.lake import DeltaStore, make_store
from pinterest_pipeline.metrics import METRICS
from pinterest_pipeline.session import local_catalog_home

SCHEMA = "pinterest"
CATALOG_ARGS = ["--catalog", "spark_catalog", "--schema", SCHEMA]
BATCH_TABLES = [f"{layer}/{e}" for layer in ("bronze", "silver", "quarantine") for e in ENTITIES] + [
    f"gold/{name}" for name in INSIGHTS
]
STREAM_TABLES = [f"{layer}/{e}" for layer in ("stream", "stream_quarantine") for e in ENTITIES] + [
    f"stream/metrics/{name}" for name in METRICS
]


def catalog_table(spark, lake: Path, name: str) -> Path:
    """Where the warehouse keeps the catalog table of logical table `name` (`silver/pin` is `silver_pin`)."""
    qualified = DeltaStore(spark, str(lake), "spark_catalog", SCHEMA).qualified(name)
    return local_catalog_home(str(lake)) / "warehouse" / f"{SCHEMA}.db" / qualified.split(".")[-1].strip("`")


def same_as_paths(spark, paths: Path, catalog: Path, names: list[str]) -> None:
    for name in names:
        location = catalog_table(spark, catalog, name)
        assert (location / "_delta_log").is_dir(), name
        assert table(location) == table(paths / name), name


def only_checkpoints(lake: Path) -> None:
    # The lake keeps the queries' checkpoints, its locks and the local catalog: no table of its own.
    assert {p.name for p in lake.iterdir()} <= {"_checkpoints", "_locks", "_catalog"}, sorted(lake.iterdir())


@pytest.mark.parametrize("mode", MODES)
def test_batch_writes_catalog_tables(spark, tmp_path, mode):
    raw = tmp_path / "raw"
    for entity, records in posts(range(60)).items():
        sink_files(raw, f"pinterest.{entity}", records + records[:5] + POISON[entity], flush_size=25)
    paths, catalog = tmp_path / "paths", tmp_path / "catalog"
    args = ["batch", "--raw-root", str(raw), "--lake", str(catalog), *CATALOG_ARGS]

    expected = run_batch(spark, BatchConfig(str(raw), str(paths))).lines()
    printed = run_command(args, mode)

    assert accounting(printed) == accounting("\n".join(expected))
    assert accounting(printed)[1].split()[:4] == ["pin", "3", "67", "5"]  # files, read, duplicates
    same_as_paths(spark, paths, catalog, BATCH_TABLES)
    only_checkpoints(catalog)
    if mode == "connect":
        return  # the metastore is the same in both modes: its second look is taken once, in the classic run
    # The next run finds its tables through the lake's metastore: nothing new, nothing rewritten.
    again = accounting(run_command(args, mode))
    assert [line.split()[1:3] for line in again[1:4]] == [["0", "0"]] * 3, again
    same_as_paths(spark, paths, catalog, BATCH_TABLES)


@pytest.mark.parametrize("mode", MODES)
def test_stream_writes_catalog_tables(spark, tmp_path, mode, kinesis_endpoint):
    client = boto3.client("kinesis", endpoint_url=kinesis_endpoint, region_name="us-east-1")
    prefix = f"catalog-{uuid.uuid4().hex[:6]}"
    create_streams(client, prefix)
    for entity, records in posts(range(40)).items():
        put(client, f"{prefix}-{entity}", records + records[:4])
        put(client, f"{prefix}-{entity}", POISON[entity], key=lambda r: "poison")
    paths, catalog = tmp_path / "paths", tmp_path / "catalog"

    expected = run_stream(
        spark, StreamConfig(str(paths), kinesis_endpoint, prefix, available_now=True)
    ).lines()
    printed = run_command(
        ["stream", "--lake", str(catalog), "--kinesis-endpoint", kinesis_endpoint, "--stream-prefix", prefix]
        + ["--available-now", *CATALOG_ARGS],
        mode,
    )

    assert accounting(printed) == accounting("\n".join(expected))
    read, duplicates, cleaned, quarantined = (int(n) for n in accounting(printed)[1].split()[2:])
    assert (read, duplicates, cleaned, quarantined) == (46, 4, 40, 2)
    same_as_paths(spark, paths, catalog, STREAM_TABLES)
    only_checkpoints(catalog)


def test_spark_catalog_needs_the_lakes_catalog(spark, tmp_path):
    # The tests' shared session keeps its catalog in memory: its tables would vanish with it.
    with pytest.raises(ConfigError, match="needs a session started on the lake's catalog"):
        make_store(spark, str(tmp_path / "lake"), "spark_catalog", SCHEMA)
    assert not (tmp_path / "lake").exists()
