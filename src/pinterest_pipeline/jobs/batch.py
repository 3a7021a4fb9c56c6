"""The daily batch job: new sink files to bronze, then silver, quarantine and the nine gold tables.

Incremental and idempotent:
- new files are found by Spark's file stream source (Auto Loader on Databricks) with an `availableNow`
  trigger; each micro-batch is appended to bronze under an app transaction (query, batch id), so a batch
  replayed after a crash is not written twice;
- silver, quarantine and gold are derived from the whole of bronze and tagged with the bronze versions they
  were built from; they are rebuilt only when bronze moved on (or a previous run stopped half way), so a
  rerun with nothing new writes nothing, and an incremental run equals a full recompute by construction;
- a run that wrote anything ends with table upkeep: bronze (the only table that grows by appends) is compacted
  before silver is built from it, and every table it rewrote is vacuumed past the retention;
- one run at a time per lake: a second run started while one holds the lake stops at once, in one line.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from pinterest_pipeline import names
from pinterest_pipeline.errors import ConfigError
from pinterest_pipeline.insights import INSIGHTS
from pinterest_pipeline.lake import (
    DeltaStore,
    Txn,
    Upkeep,
    check_catalog_names,
    lake_lock,
    make_store,
    table_path,
)
from pinterest_pipeline.names import ENTITIES, prefix_problem
from pinterest_pipeline.parsing import ELEMENT, with_element
from pinterest_pipeline.readers import check_raw_root, new_files_stream, normalize_raw_root, split_records
from pinterest_pipeline.refine import (
    ReasonCount,
    quarantine_rows,
    reason_counts,
    reason_lines,
    server_micros,
    silver_rows,
    validate,
)
from pinterest_pipeline.schemas import BRONZE_SCHEMA, ENTITY
from pinterest_pipeline.session import persisted, release

# Files per ingest micro-batch (one bronze commit each): 2,000 sink files of 500 records is 1M records.
MAX_FILES_PER_TRIGGER = 2000
# Independent Spark jobs (the three silver builds, the nine insights) submitted side by side from driver threads.
PARALLEL_JOBS = 4
T = TypeVar("T")


@dataclass(frozen=True)
class BatchConfig:
    """Where the batch job reads and writes; validated on creation."""

    raw_root: str
    lake: str
    topic_prefix: str = names.DEFAULT_PREFIX
    catalog: str | None = None
    schema: str | None = None
    upkeep: Upkeep = field(default_factory=Upkeep)  # when tables are compacted and vacuumed
    # Reused intermediate results are persisted; off on compute that cannot persist (serverless).
    cache: bool = True

    def __post_init__(self) -> None:
        if not self.lake or not self.lake.strip():
            raise ConfigError("the lake location is empty")
        problem = prefix_problem(self.topic_prefix, "topic")
        if problem:
            raise ConfigError(problem)
        check_catalog_names(self.catalog, self.schema)

    def topic(self, entity: str) -> str:
        """The Kafka topic of an entity."""
        return names.topic(self.topic_prefix, entity)


@dataclass
class EntityCounts:
    """What one run did with one entity's records (records read = cleaned + quarantined + duplicates).

    A record is a line of a sink file, or an element of a line holding a JSON array of objects (design.md).
    """

    files: int = 0
    lines: int = 0  # bronze rows this run appended
    read: int = 0  # records in the bronze rows this run ingested, counted from bronze
    cleaned: int = 0
    quarantined: int = 0
    silver_total: int = 0
    quarantine_total: int = 0
    reasons: list[ReasonCount] = field(default_factory=list)  # of this run's quarantine rows

    @property
    def duplicates(self) -> int:
        """Records read that repeat an ind already in silver."""
        return self.read - self.cleaned - self.quarantined


@dataclass
class BatchReport:
    """The outcome of one batch run."""

    entities: dict[str, EntityCounts] = field(default_factory=lambda: {e: EntityCounts() for e in ENTITIES})
    gold: dict[str, int] = field(default_factory=dict)
    rebuilt: bool = False
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage: ingest, silver, gold

    def lines(self) -> list[str]:
        """A short human summary."""
        out = [
            f"{'entity':<6} {'files':>6} {'read':>8} {'duplicates':>10} {'cleaned':>8} {'quarantined':>11}"
        ]
        for name, c in self.entities.items():
            out.append(
                f"{name:<6} {c.files:>6} {c.read:>8} {c.duplicates:>10} {c.cleaned:>8} {c.quarantined:>11}"
            )
        for name, c in self.entities.items():
            out.extend(reason_lines(name, c.read, c.reasons))
        if self.rebuilt:
            totals = ", ".join(f"{n} {c.silver_total}" for n, c in self.entities.items())
            out.append(f"silver rows: {totals}; gold tables: {len(self.gold)} rebuilt")
        else:
            out.append("nothing new: silver and gold unchanged")
        out.append("seconds: " + ", ".join(f"{stage} {s:.1f}" for stage, s in self.seconds.items()))
        return out


def _ingest_query(entity: str) -> str:
    return f"batch_ingest_{entity}"


def _start_ingest(
    spark: SparkSession, store: DeltaStore, config: BatchConfig, raw_root: str, entity: str
) -> StreamingQuery:
    """Start appending the topic's new sink files to bronze, exactly once per file (one app transaction per
    micro-batch). The batch function keeps no state: under Spark Connect it runs in another Python process."""
    query = _ingest_query(entity)
    topic = config.topic(entity)
    lake, catalog, schema = store.lake, store.catalog, store.schema

    def write_batch(files: DataFrame, batch_id: int) -> None:
        # One pass over the files, no cache: each file is read once, straight into bronze's Parquet files.
        # The batch's own session (under Connect, that of the process running this function) writes it.
        batch_store = DeltaStore(files.sparkSession, lake, catalog, schema)
        batch_store.append(
            split_records(files, topic, F.current_timestamp()), names.bronze(entity), Txn(query, batch_id)
        )

    stream = new_files_stream(spark, raw_root, topic, MAX_FILES_PER_TRIGGER)
    return (
        stream.writeStream.queryName(query)
        .foreachBatch(write_batch)
        .option("checkpointLocation", table_path(config.lake, names.checkpoint(query)))
        .trigger(availableNow=True)
        .start()
    )


def ingest(
    spark: SparkSession, store: DeltaStore, config: BatchConfig, raw_root: str, report: BatchReport
) -> None:
    """Run the three topics' ingest queries side by side (their fixed costs overlap) until each is done; what
    they did is read back from bronze's log: the bronze lines of this run's commits, and the files of the
    micro-batches those commits belong to (a batch replayed after a crash committed nothing now)."""
    before = {e: store.version(names.bronze(e)) for e in ENTITIES}
    started: dict[str, StreamingQuery] = {}
    try:
        for entity in ENTITIES:
            started[entity] = _start_ingest(spark, store, config, raw_root, entity)
        for query in started.values():
            query.awaitTermination()
    finally:
        for query in started.values():
            if query.isActive:
                query.stop()
    for entity, query in started.items():
        commits = store.txn_commits(names.bronze(entity), _ingest_query(entity), before[entity])
        counts = report.entities[entity]
        counts.lines = sum(c.rows for c in commits.values())
        # A micro-batch's input rows are its files (one row per file).
        counts.files = sum(p.numInputRows for p in query.recentProgress if p.batchId in commits)


def _derived_tables() -> list[str]:
    return [f"{layer}/{e}" for layer in ("silver", "quarantine") for e in ENTITIES] + [
        names.gold(n) for n in INSIGHTS
    ]


def _parallel(tasks: dict[str, Callable[[], T]]) -> dict[str, T]:
    """Run independent Spark jobs from a few driver threads (their fixed costs and stragglers overlap); the
    first failure is raised."""
    with ThreadPoolExecutor(max_workers=PARALLEL_JOBS, thread_name_prefix="batch-job") as pool:
        futures = {name: pool.submit(task) for name, task in tasks.items()}
        return {name: future.result() for name, future in futures.items()}


def _build_silver(
    store: DeltaStore, entity: str, counts: EntityCounts, built_from: str, since: int, cache: bool
) -> DataFrame:
    """Rewrite the entity's silver and quarantine tables from bronze; the silver rows, cached for the insights
    when `cache`.

    The records read and the quarantine reasons are those of the bronze rows ingested at or after `since` (the
    run's start by the Spark server's clock), counted from the tables, not from the ingest's foreachBatch
    (under Spark Connect that runs in another process)."""
    # Silver and quarantine are only ever overwritten whole: their last write's row count is their size.
    before_silver = store.last_write_rows(names.silver(entity))
    before_quarantine = store.last_write_rows(names.quarantine(entity))
    bronze = store.read(names.bronze(entity), BRONZE_SCHEMA)
    # Bronze is parsed once and kept for both outputs; the raw text is kept only for rejected records, so what
    # is cached is about the size of the typed values.
    validated = persisted(
        validate(bronze, entity).select(
            *ENTITY[entity].raw_schema.fieldNames(),
            "reason",
            F.when(F.col("reason").isNotNull(), F.col("value")).alias("value"),
            "partition",
            "offset",
            "source_file",
            "line",
            ELEMENT,
            "ingested_at",
        ),
        cache,
    )
    try:
        # The first record of a post wins, in Kafka order: by partition, offset, then position in the line's
        # array; file and line break ties for files not named as the sink names them.
        order = ["partition", "offset", ELEMENT, "source_file", "line"]
        rows = persisted(silver_rows(validated, entity, order), cache)
        counts.silver_total = store.overwrite(rows, names.silver(entity), built_from)
        source = with_element(F.concat_ws(":", F.col("source_file"), F.col("line").cast("string")))
        counts.quarantine_total = store.overwrite(
            quarantine_rows(validated, source), names.quarantine(entity), built_from
        )
        counts.read = validated.where(F.unix_micros(F.col("ingested_at")) >= F.lit(since)).count()
    finally:
        release(validated, cache)
    counts.cleaned = counts.silver_total - before_silver
    counts.quarantined = counts.quarantine_total - before_quarantine
    if counts.quarantined:
        counts.reasons = reason_counts(store.read(names.quarantine(entity)), since)
    return rows


def build_derived(
    store: DeltaStore, report: BatchReport, built_from: str, since: int, cache: bool = True
) -> None:
    """Rebuild silver, quarantine and gold from the whole of bronze: the three entities side by side, then the
    nine insights side by side."""
    started = time.monotonic()
    silver = _parallel(
        {
            e: functools.partial(_build_silver, store, e, report.entities[e], built_from, since, cache)
            for e in ENTITIES
        }
    )
    report.seconds["silver"] = time.monotonic() - started
    started = time.monotonic()

    def write_insight(name: str) -> int:
        # A gold table is a few hundred rows at most: one file.
        return store.overwrite(INSIGHTS[name](silver).coalesce(1), names.gold(name), built_from)

    try:
        report.gold.update(_parallel({name: functools.partial(write_insight, name) for name in INSIGHTS}))
    finally:
        for rows in silver.values():
            release(rows, cache)
    report.seconds["gold"] = time.monotonic() - started
    report.rebuilt = True


def maintain(store: DeltaStore, config: BatchConfig, tables: list[str], compact: bool) -> None:
    """Table upkeep (OPTIMIZE when `compact`, then VACUUM when due), the tables side by side."""
    _parallel({name: functools.partial(store.maintain, name, config.upkeep, compact) for name in tables})


def run_batch(spark: SparkSession, config: BatchConfig, store: DeltaStore | None = None) -> BatchReport:
    """Ingest new sink files and, when bronze moved on, rebuild silver, quarantine and gold."""
    raw_root = normalize_raw_root(config.raw_root)
    check_raw_root(raw_root)
    store = store or make_store(spark, config.lake, config.catalog, config.schema)
    with lake_lock(config.lake, "batch"):
        return _run(spark, store, config, raw_root)


def _run(spark: SparkSession, store: DeltaStore, config: BatchConfig, raw_root: str) -> BatchReport:
    report = BatchReport()
    since = server_micros(spark)
    started = time.monotonic()
    ingest(spark, store, config, raw_root, report)
    report.seconds["ingest"] = time.monotonic() - started
    started = time.monotonic()
    grown = [names.bronze(e) for e, c in report.entities.items() if c.lines]
    if grown:
        # Compacted (when due) before silver reads it; upkeep commits change no data: the notes below skip them.
        maintain(store, config, grown, compact=True)
    upkeep = time.monotonic() - started
    built_from = json.dumps({e: store.data_version(names.bronze(e)) for e in ENTITIES}, sort_keys=True)
    notes = _parallel({name: functools.partial(store.last_note, name) for name in _derived_tables()})
    if any(note != built_from for note in notes.values()):
        build_derived(store, report, built_from, since, config.cache)
        started = time.monotonic()
        maintain(store, config, _derived_tables(), compact=False)
        upkeep += time.monotonic() - started
    if grown or report.rebuilt:
        report.seconds["upkeep"] = upkeep
    return report
