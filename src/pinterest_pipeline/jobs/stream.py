"""The streaming job: the three Kinesis streams to clean Delta tables, quarantine and real-time metrics.

Queries, each with its own checkpoint under `<lake>/_checkpoints/<query>`:
- `stream_<entity>` (pin, geo, user): each micro-batch is validated with the batch job's functions; rejected
  records are appended to `stream_quarantine/<entity>` and accepted ones merged into `stream/<entity>`
  insert-if-absent on ind (a post re-sent is kept once, the first to arrive). Both writes carry the app
  transaction (query, batch id), so a batch replayed after a crash writes nothing twice (`lake.py` says how). The stream tables hold
  the silver columns plus `arrived_at`, the Kinesis arrival time of the record kept.
- `metrics_<name>` (profile_popularity, category_popularity): cleaned pins, watermarked on arrival time and
  de-duplicated by ind, aggregated by `metrics.py`'s functions; each micro-batch's updated windows are upserted
  into `stream/metrics/<name>` under the same kind of app transaction.
Each query is the only writer of its tables and keeps them in shape itself: every `maintain_every` batches it
compacts and vacuums them between two of its own writes, so upkeep never conflicts with a write.

On Databricks the streams are read with the built-in `kinesis` source (a Unity Catalog service credential or
the cluster's instance profile / a role ARN; never keys); elsewhere with `kinesis_source.py` over boto3.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pinterest_pipeline import names
from pinterest_pipeline.cleaning import CLEANERS, keep_first
from pinterest_pipeline.errors import ConfigError, InputError, ServiceError
from pinterest_pipeline.kinesis_source import FORMAT, KinesisOptions, register
from pinterest_pipeline.lake import (
    DeltaStore,
    Txn,
    Upkeep,
    check_catalog_names,
    lake_lock,
    make_store,
    table_path,
)
from pinterest_pipeline.metrics import EVENT_TIME, METRIC_KEYS, METRICS, Windows
from pinterest_pipeline.names import ENTITIES, prefix_problem
from pinterest_pipeline.parsing import ELEMENT, with_element
from pinterest_pipeline.refine import (
    ReasonCount,
    quarantine_rows,
    reason_counts,
    reason_lines,
    server_micros,
    validate,
)
from pinterest_pipeline.schemas import ENTITY
from pinterest_pipeline.session import on_databricks

_INTERVAL = re.compile(r"^\d+ (second|minute|hour)s?$")


@dataclass(frozen=True)
class StreamConfig:
    """Where the streaming job reads and writes, and how it triggers; validated on creation."""

    lake: str
    kinesis_endpoint: str | None = None
    stream_prefix: str = names.DEFAULT_PREFIX
    available_now: bool = False
    region: str = "us-east-1"
    trigger_interval: str = "5 seconds"
    max_records_per_trigger: int | None = None
    watermark: str = "10 minutes"
    windows: Windows = field(default_factory=Windows)
    service_credential: str | None = None  # Databricks: a Unity Catalog service credential's name
    role_arn: str | None = None  # Databricks: a role to assume (the instance profile's when neither is set)
    maintain_every: int = 100  # batches between two looks at a query's tables by upkeep
    upkeep: Upkeep = field(default_factory=Upkeep)
    catalog: str | None = (
        None  # catalog tables `<catalog>.<schema>.stream_pin`, ...; the lake keeps checkpoints
    )
    schema: str | None = None

    def __post_init__(self) -> None:
        if not self.lake or not self.lake.strip():
            raise ConfigError("the lake location is empty")
        check_catalog_names(self.catalog, self.schema)
        problem = prefix_problem(self.stream_prefix, "stream")
        if problem:
            raise ConfigError(problem)
        if self.kinesis_endpoint is not None and not re.match(r"^https?://[^/\s]+", self.kinesis_endpoint):
            raise ConfigError(f"the Kinesis endpoint must be an http(s) URL, not {self.kinesis_endpoint!r}")
        if self.max_records_per_trigger is not None and self.max_records_per_trigger < 1:
            raise ConfigError("the per-trigger record limit must be positive")
        for interval in (self.trigger_interval, self.watermark, *vars(self.windows).values()):
            if not _INTERVAL.match(interval):
                raise ConfigError(f"invalid interval {interval!r}: '<n> seconds|minutes|hours'")
        if self.maintain_every < 1:
            raise ConfigError("upkeep needs a positive batch interval")
        if self.service_credential and self.role_arn:
            raise ConfigError("give a service credential or a role ARN, not both")

    def stream(self, entity: str) -> str:
        """The Kinesis stream of an entity."""
        return names.stream(self.stream_prefix, entity)


@dataclass
class StreamCounts:
    """What one run did with one entity's records (read = cleaned + quarantined + duplicates)."""

    batches: int = 0
    read: int = 0  # records: a Kinesis record, or each object of one holding a JSON array of objects
    cleaned: int = 0
    quarantined: int = 0
    # The quarantine reasons of the rows this run added to stream_quarantine, read back from that table.
    reasons: list[ReasonCount] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        """Records read whose post was already in the stream table (or earlier in the same batch)."""
        return self.read - self.cleaned - self.quarantined


@dataclass
class StreamReport:
    """The outcome of one streaming run."""

    entities: dict[str, StreamCounts] = field(default_factory=lambda: {e: StreamCounts() for e in ENTITIES})
    metrics: dict[str, int] = field(default_factory=lambda: {name: 0 for name in METRICS})

    def lines(self) -> list[str]:
        """A short human summary."""
        out = [
            f"{'entity':<6} {'batches':>7} {'read':>8} {'duplicates':>10} {'cleaned':>8} {'quarantined':>11}"
        ]
        for name, c in self.entities.items():
            out.append(
                f"{name:<6} {c.batches:>7} {c.read:>8} {c.duplicates:>10} {c.cleaned:>8} {c.quarantined:>11}"
            )
        for name, c in self.entities.items():
            out.extend(reason_lines(name, c.read, c.reasons))
        out.append("metric windows updated: " + ", ".join(f"{n} {k}" for n, k in self.metrics.items()))
        return out


def check_streams(config: StreamConfig) -> None:
    """Fail with one line, before anything is written, when a stream does not exist (off Databricks)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    client = KinesisOptions(config.stream("pin"), config.kinesis_endpoint, config.region).client()
    for entity in ENTITIES:
        name = config.stream(entity)
        try:
            client.describe_stream_summary(StreamName=name)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                raise InputError(f"Kinesis stream {name!r} not found") from None
            raise InputError(f"Kinesis stream {name!r}: {code or error}") from None
        except NoCredentialsError as error:
            raise ConfigError(f"Kinesis: {error}") from None
        except BotoCoreError as error:
            raise ServiceError(f"Kinesis endpoint unreachable: {error}") from None


# Databricks' `kinesis` source: https://docs.databricks.com/aws/en/connect/streaming/kinesis (streamName, region,
# initialPosition, serviceCredential, roleArn, endpoint, maxRecordsPerFetch of at most 10,000, Kinesis'
# GetRecords limit). The local source (kinesis_source.py) takes endpointUrl and maxRecordsPerTrigger.
def kinesis_source_options(config: StreamConfig, entity: str, databricks: bool) -> tuple[str, dict[str, str]]:
    """The streaming source of the entity's Kinesis stream and its options, on Databricks or locally."""
    options = {
        "streamName": config.stream(entity),
        "region": config.region,
        "initialPosition": "trim_horizon",
    }
    if databricks:
        if config.service_credential:
            options["serviceCredential"] = config.service_credential
        if config.role_arn:
            options["roleArn"] = config.role_arn
        if config.kinesis_endpoint:
            options["endpoint"] = config.kinesis_endpoint
        if config.max_records_per_trigger:
            options["maxRecordsPerFetch"] = str(min(config.max_records_per_trigger, 10_000))
        return "kinesis", options
    if config.kinesis_endpoint:
        options["endpointUrl"] = config.kinesis_endpoint
    if config.max_records_per_trigger:
        options["maxRecordsPerTrigger"] = str(config.max_records_per_trigger)
    return FORMAT, options


def read_stream(spark: SparkSession, config: StreamConfig, entity: str) -> DataFrame:
    """The entity's Kinesis records (Databricks' kinesis columns) from whichever source the platform has."""
    databricks = on_databricks()
    if not databricks:
        register(spark)
    source, options = kinesis_source_options(config, entity, databricks)
    return spark.readStream.format(source).options(**options).load()


def as_records(kinesis: DataFrame) -> DataFrame:
    """Kinesis rows to records: JSON text, a source (stream:shard:sequence), arrival and ingest times.

    Kinesis data is bytes: bytes that are not UTF-8 become U+FFFD (as the batch job's text reader does), so
    that no table ever holds a string Parquet readers cannot decode.
    """
    return kinesis.select(
        F.make_valid_utf8(F.col("data").cast("string")).alias("value"),
        F.concat_ws(":", "stream", "shardId", "sequenceNumber").alias("source"),
        F.col("approximateArrivalTimestamp").alias(EVENT_TIME),
        F.col("shardId"),
        F.col("sequenceNumber"),
        F.current_timestamp().alias("ingested_at"),
    )


def _arrival_order() -> list:
    # Sequence numbers are decimal strings of up to 128 bits: shorter is earlier, then by text.
    # Then by position in the record's array (null, first, for a plain record).
    return [
        F.col(EVENT_TIME),
        F.col("shardId"),
        F.length("sequenceNumber"),
        F.col("sequenceNumber"),
        F.col(ELEMENT),
    ]


def clean_stream_rows(validated: DataFrame, entity: str) -> DataFrame:
    """Accepted records cleaned to the silver columns plus `arrived_at`, one row per ind (the first to arrive)."""
    id_field = ENTITY[entity].id_field
    firsts = keep_first(validated.where(F.col("reason").isNull()), id_field, _arrival_order())
    return CLEANERS[entity](firsts, EVENT_TIME)


def _upkeep(store: DeltaStore, config: StreamConfig, batch_id: int, tables: list[str]) -> None:
    """Every `maintain_every` batches, compact and vacuum the query's own tables (it is their only writer)."""
    if batch_id % config.maintain_every == config.maintain_every - 1:
        for name in tables:
            store.maintain(name, config.upkeep)


def _entity_batch(store: DeltaStore, config: StreamConfig, query: str, entity: str):
    """The entity query's batch function. It keeps no state: what it did is in its two commits' notes (the
    records read) and metrics (the rows written), read back by `_account`."""
    tables = [names.stream_quarantine(entity), names.stream_table(entity)]
    lake, catalog, schema = store.lake, store.catalog, store.schema

    def write_batch(batch: DataFrame, batch_id: int) -> None:
        batch_store = DeltaStore(batch.sparkSession, lake, catalog, schema)
        records = as_records(batch).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            validated = validate(records, entity).persist(StorageLevel.MEMORY_AND_DISK)
            txn, facts = Txn(query, batch_id), {"read": validated.count()}
            batch_store.append(
                quarantine_rows(validated, with_element(F.col("source"))), tables[0], txn, facts
            )
            batch_store.insert_new(clean_stream_rows(validated, entity), tables[1], ["ind"], txn, facts)
            validated.unpersist()
        finally:
            records.unpersist()
        _upkeep(batch_store, config, batch_id, tables)

    return write_batch


def _metric_batch(store: DeltaStore, config: StreamConfig, query: str, name: str):
    """The metric query's batch function: the windows it updated are in its commit's note (`upserted`)."""
    table = names.metric(name)
    lake, catalog, schema = store.lake, store.catalog, store.schema

    def write_batch(batch: DataFrame, batch_id: int) -> None:
        batch_store = DeltaStore(batch.sparkSession, lake, catalog, schema)
        rows = batch.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            batch_store.upsert(rows, table, METRIC_KEYS[name], Txn(query, batch_id), "window_start")
        finally:
            rows.unpersist()
        _upkeep(batch_store, config, batch_id, [table])

    return write_batch


def _tables_of(query: str) -> list[str]:
    """The tables a query writes."""
    kind, _, name = query.partition("_")
    if kind == "metrics":
        return [names.metric(name)]
    return [names.stream_quarantine(name), names.stream_table(name)]


def _account(store: DeltaStore, report: StreamReport, before: dict[str, int | None]) -> None:
    """Fill the report from what this run's queries committed (tables newer than the versions in `before`):
    the run's own numbers, whichever process wrote them."""
    for entity, counts in report.entities.items():
        query = f"stream_{entity}"
        quarantine, table = (store.txn_commits(name, query, before[name]) for name in _tables_of(query))
        # A batch cut short by a crash may have committed one of its two writes before this run: its records
        # read are in the other's note.
        batches = {**quarantine, **table}
        counts.batches = len(batches)
        counts.read = sum(c.facts.get("read", 0) for c in batches.values())
        counts.quarantined = sum(c.rows for c in quarantine.values())
        counts.cleaned = sum(c.rows for c in table.values())
    for name in METRICS:
        table = names.metric(name)
        commits = store.txn_commits(table, f"metrics_{name}", before[table])
        report.metrics[name] = sum(c.facts.get("upserted", 0) for c in commits.values())


def metric_input(kinesis: DataFrame, watermark: str) -> DataFrame:
    """Cleaned pins with their arrival time, watermarked and de-duplicated by ind (a re-sent post counts once)."""
    accepted = validate(as_records(kinesis), "pin").where(F.col("reason").isNull())
    cleaned = CLEANERS["pin"](accepted, EVENT_TIME)
    return (
        cleaned.select("ind", "poster_name", "follower_count", "category", EVENT_TIME)
        .withWatermark(EVENT_TIME, watermark)
        # Exact de-duplication keeps one state entry per post for good: the metrics then equal a recomputation
        # from stream/pin. dropDuplicatesWithinWatermark would bound the state at the price of that equality.
        .dropDuplicates(["ind"])
    )


def has_uncommitted_batch(checkpoint: str) -> bool:
    """True when a query's checkpoint holds a planned batch with no commit (its last run was cut short)."""
    from urllib.parse import urlparse

    parsed = urlparse(checkpoint)
    if parsed.scheme not in ("", "file"):
        return False  # object stores: Spark's replay is left as it is (a later run reads the rest)
    root = parsed.path if parsed.scheme == "file" else checkpoint

    def last(folder: str) -> int:
        path = os.path.join(root, folder)
        names = os.listdir(path) if os.path.isdir(path) else []
        return max((int(n) for n in names if n.isdigit()), default=-1)

    return last("offsets") > last("commits")


def _start(writer, config: StreamConfig, query: str):
    writer = writer.queryName(query).option(
        "checkpointLocation", table_path(config.lake, names.checkpoint(query))
    )
    if config.available_now:
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=config.trigger_interval)
    return writer.start()


def run_stream(spark: SparkSession, config: StreamConfig, store: DeltaStore | None = None) -> StreamReport:
    """Run the five queries: until the streams' current ends with `available_now`, else until one stops."""
    if not on_databricks():
        check_streams(config)
    store = store or make_store(spark, config.lake, config.catalog, config.schema)
    with lake_lock(config.lake, "stream"):
        return _run(spark, store, config)


def _run(spark: SparkSession, store: DeltaStore, config: StreamConfig) -> StreamReport:
    report = StreamReport()
    since = server_micros(spark)
    # Where the tables stand before the run: the run's writes are the commits after these versions.
    query_names = [f"stream_{e}" for e in ENTITIES] + [f"metrics_{n}" for n in METRICS]
    before = {name: store.version(name) for query in query_names for name in _tables_of(query)}
    starts = [
        (
            f"stream_{entity}",
            lambda entity=entity: read_stream(spark, config, entity).writeStream.foreachBatch(
                _entity_batch(store, config, f"stream_{entity}", entity)
            ),
        )
        for entity in ENTITIES
    ] + [
        (
            f"metrics_{name}",
            lambda name=name, metric=metric: (
                metric(metric_input(read_stream(spark, config, "pin"), config.watermark), config.windows)
                .writeStream.outputMode("update")
                .foreachBatch(_metric_batch(store, config, f"metrics_{name}", name))
            ),
        )
        for name, metric in METRICS.items()
    ]
    queries = []
    try:
        for query, writer in starts:
            replay = config.available_now and has_uncommitted_batch(
                table_path(config.lake, names.checkpoint(query))
            )
            queries.append(_start(writer(), config, query))
            if not config.available_now:
                # Start the next query once this one has run a trigger: each query starts a Python worker for
                # its source, and many starting at once on a busy machine time out connecting back to Spark.
                while queries[-1].isActive and queries[-1].lastProgress is None:
                    queries[-1].awaitTermination(0.2)
            if config.available_now:
                # One catch-up query at a time: each starts Python workers, which a busy machine starts slowly.
                queries[-1].awaitTermination()
                if replay:
                    # Spark 4.0 ends an availableNow run that began by replaying a batch cut short by a crash
                    # after that batch, for a source without admission control: a second run reads the rest.
                    queries.append(_start(writer(), config, query))
                    queries[-1].awaitTermination()
        if not config.available_now:
            # Until one of this run's queries ends (stopped or failed). Not the session's awaitAnyTermination:
            # that returns at once if any query of the session ever ended, an earlier run's included.
            while all(q.isActive for q in queries):
                queries[0].awaitTermination(1)
    finally:
        for q in queries:
            if q.isActive:
                q.stop()
    for q in queries:
        if q.exception() is not None:
            raise q.exception()
    _account(store, report, before)
    for entity, counts in report.entities.items():
        # From the table, not the foreachBatch counters: under Spark Connect those run in another process.
        table = names.stream_quarantine(entity)
        if store.exists(table):
            counts.reasons = reason_counts(store.read(table), since)
    return report
