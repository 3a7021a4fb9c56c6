"""The streaming job: the three Kinesis streams to clean Delta tables, quarantine and real-time metrics.

One query, `stream`, reads the three streams through one source (one consumer per stream) with its checkpoint
under `<lake>/_checkpoints/stream`. Each micro-batch, in this order:
1. every entity's records are validated with the batch job's functions (in the query's own plan, built once when
   it starts, not for each batch) and the rejected ones appended to `stream_quarantine/<entity>` (where there
   are some, or the table does not exist yet);
2. the accepted records are cleaned and inserted into `stream/<entity>` if their ind is not there yet (a post
   re-sent is kept once, the first to arrive), the three tables written concurrently;
3. the metrics (`metrics.py`) are recomputed from `stream/pin` for the windows the batch's pins fall in, and
   those windows replaced in `stream/metrics/<name>`. They so equal a recomputation from the stream table, and a
   batch replayed after a crash recomputes the same windows.
Every write carries the app transaction (query, batch id), so a batch replayed after a crash writes nothing twice
(`lake.py` says how); its note records the entity's records read. The stream tables hold the silver columns plus
`arrived_at`, the Kinesis arrival time of the record kept. The query is the only writer of its tables and keeps
them in shape itself: every `maintain_every` batches it compacts and vacuums them between two of its writes.

On Databricks the streams are read with the built-in `kinesis` source (a Unity Catalog service credential or
the cluster's instance profile / a role ARN; never keys); elsewhere with `kinesis_source.py` over boto3.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pinterest_pipeline import names
from pinterest_pipeline.cleaning import CLEANERS, keep_first
from pinterest_pipeline.errors import ConfigError, InputError, ServiceError
from pinterest_pipeline.jobs.parallel import run_parallel
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
from pinterest_pipeline.metrics import EVENT_TIME, METRICS, Windows, first_window_start
from pinterest_pipeline.names import ENTITIES, prefix_problem
from pinterest_pipeline.parsing import ELEMENT, with_element
from pinterest_pipeline.refine import (
    ReasonCount,
    entity_rows,
    quarantine_rows,
    reason_counts,
    reason_lines,
    server_micros,
    validate_each,
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
    # Micro-batches back to back: the source waits its fetch period (200 ms) between two polls of a shard.
    trigger_interval: str = "0 seconds"
    max_records_per_trigger: int | None = None  # per stream
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
        for interval in (self.trigger_interval, *vars(self.windows).values()):
            if not _INTERVAL.match(interval):
                raise ConfigError(f"invalid interval {interval!r}: '<n> seconds|minutes|hours'")
        if self.maintain_every < 1:
            raise ConfigError("upkeep needs a positive batch interval")
        if self.service_credential and self.role_arn:
            raise ConfigError("give a service credential or a role ARN, not both")

    def stream(self, entity: str) -> str:
        """The Kinesis stream of an entity."""
        return names.stream(self.stream_prefix, entity)

    def entity_of(self) -> dict[str, str]:
        """The entity of each Kinesis stream, by stream name."""
        return {self.stream(entity): entity for entity in ENTITIES}


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

    client = KinesisOptions((config.stream("pin"),), config.kinesis_endpoint, config.region).client()
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


QUERY = "stream"  # the job's one streaming query, and the app id of its transactions


# Databricks' `kinesis` source: https://docs.databricks.com/aws/en/connect/streaming/kinesis (streamName, a
# comma-separated list of streams; region, initialPosition, serviceCredential, roleArn, endpoint,
# maxRecordsPerFetch of at most 10,000, Kinesis' GetRecords limit). The local source (kinesis_source.py) reads a
# list of streams the same way and takes endpointUrl and maxRecordsPerTrigger.
def kinesis_source_options(config: StreamConfig, databricks: bool) -> tuple[str, dict[str, str]]:
    """The streaming source of the three Kinesis streams and its options, on Databricks or locally."""
    options = {
        "streamName": ",".join(config.stream(entity) for entity in ENTITIES),
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


def read_streams(spark: SparkSession, config: StreamConfig) -> DataFrame:
    """The three streams' Kinesis records (Databricks' kinesis columns) from whichever source the platform has."""
    databricks = on_databricks()
    if not databricks:
        register(spark)
    source, options = kinesis_source_options(config, databricks)
    return spark.readStream.format(source).options(**options).load()


def as_records(kinesis: DataFrame, entity_of: dict[str, str]) -> DataFrame:
    """Kinesis rows to records: JSON text, the entity (by stream name), a source (stream:shard:sequence), arrival
    and ingest times.

    Kinesis data is bytes: bytes that are not UTF-8 become U+FFFD (as the batch job's text reader does), so
    that no table ever holds a string Parquet readers cannot decode.
    """
    entity = F.lit(None).cast("string")
    for stream, name in entity_of.items():
        entity = F.when(F.col("stream") == F.lit(stream), F.lit(name)).otherwise(entity)
    return kinesis.select(
        F.make_valid_utf8(F.col("data").cast("string")).alias("value"),
        entity.alias("entity"),
        F.concat_ws(":", "stream", "shardId", "sequenceNumber").alias("source"),
        F.col("approximateArrivalTimestamp").alias(EVENT_TIME),
        F.col("shardId"),
        F.col("sequenceNumber"),
        F.current_timestamp().alias("ingested_at"),
    )


def stream_rows(kinesis: DataFrame, config: StreamConfig) -> DataFrame:
    """Kinesis rows to validated records (`refine.validate_each`): what the query hands each micro-batch. The plan
    is the query's, built once when it starts; a batch only splits it by entity."""
    return validate_each(as_records(kinesis, config.entity_of()), list(ENTITIES))


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


def all_tables() -> list[str]:
    """Every table the job writes."""
    return [
        *(names.stream_quarantine(e) for e in ENTITIES),
        *(names.stream_table(e) for e in ENTITIES),
        *(names.metric(n) for n in METRICS),
    ]


def refresh_metric(store: DeltaStore, name: str, arrived_micros: int, config: StreamConfig, txn: Txn) -> None:
    """Recompute metric `name` from `stream/pin` for every window that holds a post arrived at or after
    `arrived_micros` (the batch's earliest cleaned pin), and replace those windows in its table.

    A window holds posts that arrived at or after its start: the posts of `stream/pin` from the earliest such
    start on are all a recomputation needs, and every window from there on is recomputed, so the commit replaces
    that slice of the table whole. Replayed, the same batch recomputes the same windows from the same table,
    whatever part of it was written before: the write needs no transaction to be exactly once.
    """
    low = first_window_start(name, config.windows, arrived_micros)
    start = F.timestamp_micros(F.lit(low))
    pins = store.read(names.stream_table("pin")).where(F.col(EVENT_TIME) >= start)
    fresh = METRICS[name](pins, config.windows).where(F.col("window_start") >= start)
    store.replace_from(fresh, names.metric(name), "window_start", low, txn.note())


def _batch_function(store: DeltaStore, config: StreamConfig):
    """The query's batch function. It keeps no state: what it did is in its commits' notes (the records read)
    and metrics (the rows written), read back by `_account`."""
    lake, catalog, schema = store.lake, store.catalog, store.schema

    def write_batch(batch: DataFrame, batch_id: int) -> None:
        """`batch`: the micro-batch's records, validated (`stream_rows`)."""
        spark = batch.sparkSession
        # The batch's writes are not read back: what they wrote is read from the tables' logs after the run.
        batch_store = DeltaStore(spark, lake, catalog, schema, confirm=False)
        txn = Txn(QUERY, batch_id)
        validated = {e: entity_rows(batch, e, list(ENTITIES)) for e in ENTITIES}
        try:
            batch.persist(StorageLevel.MEMORY_AND_DISK)
            counts, arrived = _counts(batch)
            # The quarantine tables that have rejects, and those that do not exist yet (an empty table is there to
            # be queried); the others are not written.
            rejected = [
                e
                for e in ENTITIES
                if counts[e][1] or (counts[e][0] and not batch_store.exists(names.stream_quarantine(e)))
            ]
            run_parallel(
                {
                    e: functools.partial(
                        batch_store.append,
                        quarantine_rows(validated[e], with_element(F.col("source"))),
                        names.stream_quarantine(e),
                        txn,
                        {"read": counts[e][0]},
                    )
                    for e in rejected
                }
            )

            def insert(entity: str) -> None:
                rows = clean_stream_rows(validated[entity], entity)
                batch_store.insert_new(
                    rows, names.stream_table(entity), ["ind"], txn, {"read": counts[entity][0]}
                )

            # The pins first, on their own: they are what the real-time path exists for. Then the other two
            # tables and the metrics (which read stream/pin) at once.
            if counts["pin"][0]:
                insert("pin")
            run_parallel(
                {e: functools.partial(insert, e) for e in ENTITIES if e != "pin" and counts[e][0]}
                | {
                    n: functools.partial(refresh_metric, batch_store, n, arrived, config, txn)
                    for n in (METRICS if arrived is not None else [])
                }
            )
        finally:
            batch.unpersist()
        if batch_id % config.maintain_every == config.maintain_every - 1:
            for name in all_tables():
                batch_store.maintain(name, config.upkeep)

    return write_batch


def _counts(validated: DataFrame) -> tuple[dict[str, tuple[int, int]], int | None]:
    """Per entity (records read, records rejected), and the earliest arrival (epoch microseconds) of an accepted
    pin (None without one), in one Spark job."""
    rejected = F.col("reason").isNotNull()
    rows = validated.groupBy("entity").agg(
        F.count(F.lit(1)).alias("read"),
        F.count_if(rejected).alias("rejected"),
        F.min(F.when(~rejected, F.unix_micros(EVENT_TIME))).alias("arrived"),
    )
    counts = {entity: (0, 0) for entity in ENTITIES}
    arrived = None
    for row in rows.collect():
        counts[row["entity"]] = (int(row["read"]), int(row["rejected"]))
        if row["entity"] == "pin" and row["arrived"] is not None:
            arrived = int(row["arrived"])
    return counts, arrived


def _account(store: DeltaStore, report: StreamReport, before: dict[str, int | None]) -> None:
    """Fill the report from what this run's query committed (tables newer than the versions in `before`): the
    run's own numbers, whichever process wrote them."""
    for entity, counts in report.entities.items():
        quarantine, table = (
            store.txn_commits(name, QUERY, before[name])
            for name in (names.stream_quarantine(entity), names.stream_table(entity))
        )
        # A batch cut short by a crash may have committed one of its two writes before this run: its records
        # read are in the other's note.
        batches = {**quarantine, **table}
        counts.batches = len(batches)
        counts.read = sum(c.facts.get("read", 0) for c in batches.values())
        counts.quarantined = sum(c.rows for c in quarantine.values())
        counts.cleaned = sum(c.rows for c in table.values())
    for name in METRICS:
        table = names.metric(name)
        commits = store.txn_commits(table, QUERY, before[table])
        report.metrics[name] = sum(c.rows for c in commits.values())


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


def _start(spark: SparkSession, store: DeltaStore, config: StreamConfig):
    writer = (
        stream_rows(read_streams(spark, config), config)
        .writeStream.foreachBatch(_batch_function(store, config))
        .queryName(QUERY)
        .option("checkpointLocation", table_path(config.lake, names.checkpoint(QUERY)))
    )
    if config.available_now:
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=config.trigger_interval)
    return writer.start()


def run_stream(spark: SparkSession, config: StreamConfig, store: DeltaStore | None = None) -> StreamReport:
    """Run the query: until the streams' current ends with `available_now`, else until it stops."""
    if not on_databricks():
        check_streams(config)
    store = store or make_store(spark, config.lake, config.catalog, config.schema)
    with lake_lock(config.lake, "stream"):
        return _run(spark, store, config)


def _run(spark: SparkSession, store: DeltaStore, config: StreamConfig) -> StreamReport:
    report = StreamReport()
    since = server_micros(spark)
    # Where the tables stand before the run: the run's writes are the commits after these versions.
    before = {name: store.version(name) for name in all_tables()}
    replay = config.available_now and has_uncommitted_batch(table_path(config.lake, names.checkpoint(QUERY)))
    query = _start(spark, store, config)
    try:
        if config.available_now:
            query.awaitTermination()
            if replay and query.exception() is None:
                # Spark 4.0 ends an availableNow run that began by replaying a batch cut short by a crash after
                # that batch, for a source without admission control: a second run reads the rest.
                query = _start(spark, store, config)
                query.awaitTermination()
        else:
            # Until the query ends (stopped or failed). Not the session's awaitAnyTermination: that returns at
            # once if any query of the session ever ended, an earlier run's included.
            while query.isActive:
                query.awaitTermination(1)
    finally:
        if query.isActive:
            query.stop()
    if query.exception() is not None:
        raise query.exception()
    _account(store, report, before)
    for entity, counts in report.entities.items():
        # From the table, not the foreachBatch counters: under Spark Connect those run in another process.
        table = names.stream_quarantine(entity)
        if store.exists(table):
            counts.reasons = reason_counts(store.read(table), since)
    return report
