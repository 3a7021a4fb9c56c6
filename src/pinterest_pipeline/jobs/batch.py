"""The daily batch job: new sink files to bronze, then silver, quarantine and the nine gold tables.

Incremental and idempotent:
- new files are found by Spark's file stream source (Auto Loader on Databricks) with an `availableNow`
  trigger; each micro-batch is appended to bronze under an app transaction (query, batch id), so a batch
  replayed after a crash is not written twice;
- silver, silver_order and quarantine grow from the bronze rows they lack: each notes the ingest time of the
  newest bronze row it includes, and a run parses only the rows ingested after the lowest of the three notes.
  A new post's first record is appended to silver; a record ahead of its post's silver row in Kafka order (a
  file of earlier offsets landing late) replaces it, compared by the position silver_order keeps. Silver is
  written before silver_order, so a run stopped between the two is caught up by the next, and a rerun with
  nothing new writes nothing; an incremental run equals a full recompute;
- gold is rebuilt from silver only when silver changed (its tables note the silver versions they were built
  from);
- a run that wrote anything ends with table upkeep: bronze is compacted before silver reads it, the tables that
  grow by appends are compacted when due, and every table it wrote is vacuumed past the retention;
- one run at a time per lake: a second run started while one holds the lake stops at once, in one line.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.streaming import StreamingQuery

from pinterest_pipeline import names
from pinterest_pipeline.cleaning import CLEANERS, keep_first
from pinterest_pipeline.errors import ConfigError
from pinterest_pipeline.insights import INSIGHTS, InsightInputs, join_silver
from pinterest_pipeline.jobs.parallel import run_parallel
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
    validate,
)
from pinterest_pipeline.schemas import BRONZE_SCHEMA, ENTITY
from pinterest_pipeline.session import persisted, release

# Files per ingest micro-batch (one bronze commit each): 2,000 sink files of 500 records is 1M records.
MAX_FILES_PER_TRIGGER = 2000
# Independent Spark jobs (the three silver builds, the nine insights) submitted side by side from driver threads.
PARALLEL_JOBS = 4
# Kafka order: the first record of a post in it wins. A line's array elements follow their line; file and line
# break ties for files not named as the sink names them.
KAFKA_ORDER = ["partition", "offset", ELEMENT, "source_file", "line"]
PROGRESS_SCHEMA = T.StructType(
    [T.StructField("entity", T.StringType(), False), T.StructField("bronze_through", T.LongType(), False)]
)


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
        # What it wrote is read back from bronze's log after the run (`ingest`): the write need not look.
        batch_store = DeltaStore(files.sparkSession, lake, catalog, schema, confirm=False)
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


def _mark_note(through: int, rows: int) -> str:
    """A derived table's note: the ingest time (epoch microseconds) of the newest bronze row it includes, and the
    rows it holds."""
    return json.dumps({"bronze_through": through, "rows": rows})


def _noted(note: str | None) -> tuple[int | None, int]:
    """The bronze ingest time a derived table includes and its rows; (None, 0) when there is no table or one this
    job must rebuild (a lake of a revision that rebuilt every derived table from the whole of bronze noted
    something else)."""
    try:
        value = json.loads(note or "")
    except ValueError:
        return None, 0
    if not isinstance(value, dict) or not all(
        isinstance(value.get(k), int) for k in ("bronze_through", "rows")
    ):
        return None, 0
    return value["bronze_through"], value["rows"]


def _ingested_after(rows: DataFrame, mark: int | None) -> DataFrame:
    """The rows ingested after `mark` (all when None). Every bronze row of one ingest micro-batch has that
    batch's time, and a later run's batches are later: the rows after a table's mark are those it lacks."""
    return rows if mark is None else rows.where(F.unix_micros(F.col("ingested_at")) > F.lit(mark))


@dataclass
class _Marks:
    """How far each of an entity's derived tables has come (see `_mark`)."""

    silver: int | None
    order: int | None
    quarantine: int | None

    def low(self) -> int | None:
        marks = [self.silver, self.order, self.quarantine]
        return None if None in marks else min(marks)

    def lifted(self, progress: int | None) -> _Marks:
        """The marks with a run's recorded progress: a table that had nothing to write in that run (Delta records
        no empty commit) is as far as the run got."""
        lift = lambda mark: mark if mark is None or progress is None else max(mark, progress)
        return _Marks(lift(self.silver), lift(self.order), lift(self.quarantine))


def _changed_winners(
    store: DeltaStore, validated: DataFrame, entity: str, mark: int | None, full: bool
) -> DataFrame:
    """The accepted records of the rows ingested after `mark` that become their post's silver row: the first of
    their ind in Kafka order among those rows, and ahead of the record silver holds now (`silver_order`), if any.
    Raw columns, the Kafka position, and `_replaces`: silver holds a row of that ind already."""
    spec = ENTITY[entity]
    accepted = (
        _ingested_after(validated, mark)
        .where(F.col("reason").isNull())
        .select(*spec.raw_schema.fieldNames(), *KAFKA_ORDER)
    )
    first = keep_first(accepted, spec.id_field, [F.col(c) for c in KAFKA_ORDER])
    if full:
        return first.withColumn("_replaces", F.lit(False))
    # The positions silver_order holds for these posts only: their ids, a day's new posts, go to the scan of
    # silver_order as a broadcast set, and what it finds (at most as many rows) to the join with them as another.
    # A join of the two as they come shuffles and sorts every row of silver_order (BENCHMARKS.md).
    ids = first.select(F.col(spec.id_field).alias("_known_id"))
    known = F.broadcast(
        store.read(names.silver_order(entity))
        .select(F.col(spec.id_field).alias("_known_id"), F.struct(*KAFKA_ORDER).alias("_known"))
        .join(F.broadcast(ids), "_known_id", "left_semi")
    )
    # Structs compare field by field, nulls first: the order keep_first sorts by.
    ahead = F.col("_known").isNull() | (F.struct(*KAFKA_ORDER) < F.col("_known"))
    return (
        first.join(known, first[spec.id_field] == known["_known_id"], "left")
        .where(ahead)
        .select(*first.columns, F.col("_known").isNotNull().alias("_replaces"))
    )


def _merge(
    store: DeltaStore, name: str, rows: DataFrame, key: str, full: bool, replaces: bool, note: str
) -> None:
    """Bring table `name` to include `rows` (one per `key`) in one commit noted `through`: all of it when `full`,
    an append when no row replaces one it holds, else the table less the replaced keys plus `rows`."""
    if full:
        store.overwrite(rows, name, note)
    elif not replaces:
        store.append(rows, name, note=note)
    else:
        kept = store.read(name).join(rows.select(key), key, "left_anti").select(*rows.columns)
        store.overwrite(kept.unionByName(rows), name, note)


def _advance_silver(
    store: DeltaStore,
    validated: DataFrame,
    entity: str,
    mark: int | None,
    through: int,
    before: int,
    write_silver: bool,
    cache: bool,
) -> int:
    """Merge the winners of the rows after `mark` into silver (when `write_silver`) and then silver_order; the
    posts silver gained. Silver is written first: a run stopped between the two leaves silver_order behind, and
    the next run brings silver_order alone up to silver's mark (`write_silver` False). `before`: the rows silver
    held (and silver_order holds as many)."""
    spec = ENTITY[entity]
    full = mark is None
    changed = persisted(_changed_winners(store, validated, entity, mark, full), cache)
    try:
        count, replaced = changed.agg(
            F.count(F.lit(1)), F.coalesce(F.sum(F.col("_replaces").cast("int")), F.lit(0))
        ).first()
        if not count and not full:
            return 0
        gained = int(count) - int(replaced)
        note = _mark_note(through, (0 if full else before) + gained)
        if write_silver:
            silver = CLEANERS[entity](changed.drop("_replaces"))
            _merge(store, names.silver(entity), silver, "ind", full, bool(replaced), note)
        order = changed.select(spec.id_field, *KAFKA_ORDER)
        _merge(store, names.silver_order(entity), order, spec.id_field, full, bool(replaced), note)
        return gained
    finally:
        release(changed, cache)


def _refresh_entity(
    store: DeltaStore, entity: str, counts: EntityCounts, since: int, progress: int | None, cache: bool
) -> int | None:
    """Bring the entity's silver, silver_order and quarantine tables up to bronze, each from its own mark (or the
    last run's `progress`), parsing only the bronze rows some of them lack; the ingest time of the newest bronze
    row they now include, or None when there was nothing to do.

    The records read and the quarantine reasons are those of the bronze rows ingested at or after `since` (the
    run's start by the Spark server's clock), counted from the tables, not from the ingest's foreachBatch
    (under Spark Connect that runs in another process)."""
    (silver, before_silver), (order, before_order), (quarantine, before_quarantine) = [
        _noted(store.last_note(name(entity))) for name in (names.silver, names.silver_order, names.quarantine)
    ]
    marks = _Marks(silver, order, quarantine).lifted(progress)
    if marks.silver is None or marks.order is None or marks.order > marks.silver:
        # Silver and its order are rebuilt together from the whole of bronze.
        marks.silver = marks.order = None
        before_silver = 0
    bronze = _ingested_after(store.read(names.bronze(entity), BRONZE_SCHEMA), marks.low())
    # The new bronze rows are parsed once for all three tables; the raw text is kept only for rejected records.
    validated = persisted(
        validate(bronze, entity).select(
            *ENTITY[entity].raw_schema.fieldNames(),
            "reason",
            F.when(F.col("reason").isNotNull(), F.col("value")).alias("value"),
            *KAFKA_ORDER,
            "ingested_at",
        ),
        cache,
    )
    try:
        ingested = F.unix_micros(F.col("ingested_at"))
        after_quarantine = F.lit(True) if marks.quarantine is None else ingested > F.lit(marks.quarantine)
        through, read, rejected = validated.agg(
            F.max(ingested),
            F.count(F.when(ingested >= F.lit(since), 1)),
            F.count(F.when(F.col("reason").isNotNull() & after_quarantine, 1)),
        ).first()
        if through is None:
            if None not in (marks.silver, marks.quarantine):
                return None  # nothing new
            through = marks.low() or 0  # no bronze yet: the tables are created empty
        counts.read = int(read)
        if rejected or marks.quarantine is None:
            source = with_element(F.concat_ws(":", F.col("source_file"), F.col("line").cast("string")))
            rows = quarantine_rows(_ingested_after(validated, marks.quarantine), source)
            note = _mark_note(through, before_quarantine + int(rejected))
            if marks.quarantine is None:
                store.overwrite(rows, names.quarantine(entity), note)
            else:
                store.append(rows, names.quarantine(entity), note=note)
        if marks.order is not None and marks.order < marks.silver:
            caught_up = validated.where(ingested <= F.lit(marks.silver))
            _advance_silver(
                store,
                caught_up,
                entity,
                marks.order,
                marks.silver,
                before_order,
                write_silver=False,
                cache=cache,
            )
        gained = _advance_silver(
            store, validated, entity, marks.silver, through, before_silver, write_silver=True, cache=cache
        )
    finally:
        release(validated, cache)
    counts.quarantined = int(rejected)
    counts.quarantine_total = before_quarantine + counts.quarantined
    counts.cleaned = gained
    counts.silver_total = before_silver + gained
    if counts.quarantined:
        counts.reasons = reason_counts(store.read(names.quarantine(entity)), since)
    return int(through)


def _silver_note(store: DeltaStore) -> str:
    """What the gold tables are built from: the silver tables' data versions."""
    return json.dumps({e: store.data_version(names.silver(e)) for e in ENTITIES}, sort_keys=True)


def _progress(store: DeltaStore) -> dict[str, int]:
    """Per entity, the bronze ingest time the last run that finished its derived tables brought them all to."""
    rows = (
        store.read(names.batch_progress(), PROGRESS_SCHEMA)
        .groupBy("entity")
        .agg(F.max("bronze_through").alias("through"))
        .collect()
    )
    return {row["entity"]: int(row["through"]) for row in rows}


def refresh_derived(store: DeltaStore, report: BatchReport, since: int, cache: bool = True) -> list[str]:
    """Bring silver, silver_order and quarantine up to bronze (the three entities side by side), then, when
    silver changed, rebuild the nine gold tables from it (side by side); the tables written."""
    started = time.monotonic()
    progress = _progress(store)
    reached = run_parallel(
        {
            e: functools.partial(_refresh_entity, store, e, report.entities[e], since, progress.get(e), cache)
            for e in ENTITIES
        },
        PARALLEL_JOBS,
    )
    reached = {e: through for e, through in reached.items() if through is not None}
    written = [name(e) for e in reached for name in (names.silver, names.silver_order, names.quarantine)]
    if reached:
        # What the tables that had nothing to write in this run (no commit) have come to as well.
        rows = store.spark.createDataFrame(sorted(reached.items()), PROGRESS_SCHEMA)
        store.append(rows, names.batch_progress())
        written.append(names.batch_progress())
    report.seconds["silver"] = time.monotonic() - started
    built_from = _silver_note(store)
    gold = [names.gold(n) for n in INSIGHTS]
    # One stale table (silver moved on, or a run stopped while writing gold) is enough to rebuild them all.
    if all(store.last_note(name) == built_from for name in gold):
        report.rebuilt = bool(reached)
        return written
    started = time.monotonic()
    silver = {e: store.read(names.silver(e)) for e in ENTITIES}
    # The silver tables joined once, kept for the eight insights that aggregate it.
    joined = persisted(join_silver(silver["pin"], silver["geo"], silver["user"]), cache)
    inputs = InsightInputs(joined, silver["user"])

    def write_insight(name: str) -> int:
        # A gold table is a few hundred rows at most: one file.
        return store.overwrite(INSIGHTS[name](inputs).coalesce(1), names.gold(name), built_from)

    try:
        report.gold.update(
            run_parallel({name: functools.partial(write_insight, name) for name in INSIGHTS}, PARALLEL_JOBS)
        )
    finally:
        release(joined, cache)
    for entity, counts in report.entities.items():
        if entity not in reached:
            counts.silver_total = store.row_count(names.silver(entity))
            counts.quarantine_total = store.row_count(names.quarantine(entity))
    report.seconds["gold"] = time.monotonic() - started
    report.rebuilt = True
    return written + gold


def maintain(store: DeltaStore, config: BatchConfig, tables: list[str], compact: bool) -> None:
    """Table upkeep (OPTIMIZE when `compact`, then VACUUM when due), the tables side by side."""
    run_parallel(
        {name: functools.partial(store.maintain, name, config.upkeep, compact) for name in tables},
        PARALLEL_JOBS,
    )


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
        # Compacted (when due) before silver reads it; upkeep commits change no data: the marks skip them.
        maintain(store, config, grown, compact=True)
    upkeep = time.monotonic() - started
    written = refresh_derived(store, report, since, config.cache)
    if written:
        started = time.monotonic()
        # Gold is overwritten whole (nothing to compact); silver, silver_order and quarantine grow by appends.
        appended = [name for name in written if not name.startswith("gold/")]
        maintain(store, config, appended, compact=True)
        maintain(store, config, [name for name in written if name.startswith("gold/")], compact=False)
        upkeep += time.monotonic() - started
    if grown or written:
        report.seconds["upkeep"] = upkeep
    return report
