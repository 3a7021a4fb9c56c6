"""A Kinesis source for Spark Structured Streaming off Databricks, on Spark 4's Python Data Source API and boto3.

It gives the columns of Databricks' built-in `kinesis` source (partitionKey, data, stream, shardId,
sequenceNumber, approximateArrivalTimestamp) and, like it, reads one or more streams (streamName is a
comma-separated list), so the streaming job reads either the same way: one query, one consumer per stream.

Offsets are per stream and shard: the sequence number of the last record in the micro-batch and whether a closed
shard is read to its end. The driver finds each batch's end by reading the shards (Kinesis has no "last sequence
number" call), the streams concurrently, and hands Spark the rows it read (a simple reader: Spark keeps them in
the JVM for the batch, so reading a batch runs no Python task); a batch replayed after a restart is read again
from Kinesis between the same sequence numbers, so it holds the same records. After a reshard the child shards are
read once their parents are finished, which keeps each partition key's records in order. A shard is polled at most
once per `minFetchPeriod` (Kinesis allows 5 GetRecords per second per shard), and a shard's next iterator is kept
from one poll to the next. `maxRecordsPerTrigger` bounds what a micro-batch takes from each stream; under
`availableNow`, Spark 4.0 asks a Python source for its latest offset once, so the backlog at the start is one
batch (Spark 4.0's Python API has no admission control; the limit applies to processing-time triggers).

Options (Spark lower-cases their keys): streamName (required: one name or several, comma-separated),
endpointUrl, region (default us-east-1), initialPosition (trim_horizon or latest; default trim_horizon),
maxRecordsPerTrigger, maxRecordsPerFetch, minFetchPeriod (milliseconds, default 200).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC

from pyspark.sql import types as T
from pyspark.sql.datasource import DataSource, SimpleDataSourceStreamReader

from pinterest_pipeline.errors import ConfigError

FORMAT = "pinterest_kinesis"
KINESIS_SCHEMA = T.StructType(
    [
        T.StructField("partitionKey", T.StringType()),
        T.StructField("data", T.BinaryType()),
        T.StructField("stream", T.StringType()),
        T.StructField("shardId", T.StringType()),
        T.StructField("sequenceNumber", T.StringType()),
        T.StructField("approximateArrivalTimestamp", T.TimestampType()),
    ]
)
# GetRecords returns at most 10,000 records per call.
MAX_FETCH = 10_000
# Kinesis serves 5 GetRecords calls per second per shard: a shard is polled at most every 200 ms.
MIN_FETCH_PERIOD = 0.2
# A shard iterator is good for 5 minutes: one kept longer than this is asked for again.
_ITERATOR_LIFETIME = 240.0


@dataclass(frozen=True)
class KinesisOptions:
    """The source's options, validated (keys arrive lower-cased from Spark)."""

    streams: tuple[str, ...]
    endpoint_url: str | None = None
    region: str = "us-east-1"
    initial_position: str = "trim_horizon"
    max_records_per_trigger: int | None = None  # per stream
    max_records_per_fetch: int = MAX_FETCH
    min_fetch_period: float = MIN_FETCH_PERIOD  # seconds between two polls of a shard

    @classmethod
    def parse(cls, options: dict) -> KinesisOptions:
        """Options from a data source's option map."""
        opts = {k.lower(): v for k, v in options.items()}
        streams = tuple(name.strip() for name in (opts.get("streamname") or "").split(",") if name.strip())
        if not streams:
            raise ConfigError("the kinesis source needs the streamName option")
        position = opts.get("initialposition", "trim_horizon").lower()
        if position not in ("trim_horizon", "earliest", "latest"):
            raise ConfigError(f"initialPosition must be trim_horizon or latest, not {position!r}")
        limit = opts.get("maxrecordspertrigger")
        fetch = int(opts.get("maxrecordsperfetch", MAX_FETCH))
        if limit is not None and int(limit) < 1 or not 1 <= fetch <= MAX_FETCH:
            raise ConfigError("maxRecordsPerTrigger must be positive and maxRecordsPerFetch in 1..10000")
        period = int(opts.get("minfetchperiod", int(MIN_FETCH_PERIOD * 1000)))
        if period < 0:
            raise ConfigError("minFetchPeriod must be zero or more milliseconds")
        return cls(
            streams=streams,
            endpoint_url=opts.get("endpointurl") or None,
            region=opts.get("region") or "us-east-1",
            initial_position="latest" if position == "latest" else "trim_horizon",
            max_records_per_trigger=int(limit) if limit is not None else None,
            max_records_per_fetch=fetch,
            min_fetch_period=period / 1000,
        )

    def client(self):
        """A boto3 Kinesis client (credentials from the environment or the instance role, never options)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "kinesis",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            config=Config(retries={"max_attempts": 10, "mode": "adaptive"}),
        )


@dataclass
class ShardListing:
    """A shard as ListShards describes it."""

    shard_id: str
    parents: tuple[str, ...]
    closed: bool


def list_shards(client, stream: str) -> list[ShardListing]:
    """Every shard of the stream still in retention, oldest first, with parents and whether it is closed."""
    shards, token = [], None
    while True:
        page = client.list_shards(NextToken=token) if token else client.list_shards(StreamName=stream)
        shards.extend(page["Shards"])
        token = page.get("NextToken")
        if not token:
            break
    # A shard that is some shard's parent was split or merged: it is closed even where the endpoint does not
    # report its ending sequence number (moto does not).
    parents = {p for s in shards for p in (s.get("ParentShardId"), s.get("AdjacentParentShardId")) if p}
    return [
        ShardListing(
            s["ShardId"],
            tuple(p for p in (s.get("ParentShardId"), s.get("AdjacentParentShardId")) if p),
            "EndingSequenceNumber" in s.get("SequenceNumberRange", {}) or s["ShardId"] in parents,
        )
        for s in sorted(shards, key=lambda s: s["ShardId"])
    ]


def _iterator(client, stream: str, shard: str, after: str | None, latest: bool = False) -> str:
    if after is not None:
        kind = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": after}
    else:
        kind = {"ShardIteratorType": "LATEST" if latest else "TRIM_HORIZON"}
    return client.get_shard_iterator(StreamName=stream, ShardId=shard, **kind)["ShardIterator"]


def _row(record: dict, stream: str, shard: str) -> tuple:
    arrived = record["ApproximateArrivalTimestamp"]
    if arrived.tzinfo is None:  # Spark's Python data sources must yield time-zone-aware datetimes
        arrived = arrived.replace(tzinfo=UTC)
    return (record["PartitionKey"], bytes(record["Data"]), stream, shard, record["SequenceNumber"], arrived)


def _at_tip(page: dict, asked: int) -> bool:
    # A page short of what was asked, with nothing behind it. (moto reports 0 ms behind when the records left
    # were put in the same millisecond, so a full page is never taken for the tip.)
    return len(page["Records"]) < asked and page.get("MillisBehindLatest", 0) == 0


def read_shard(
    client,
    stream: str,
    shard: str,
    after: str | None,
    limit: float,
    fetch: int,
    iterator: str | None = None,
) -> tuple[list[tuple], bool, str | None]:
    """Records after `after` (all from the start when None), at most `limit`; whether the read reached the tip;
    and the iterator that follows on (None once a closed shard is read to its end). `iterator`, when given, is
    one that starts after `after` (the one a previous read handed back)."""
    rows: list[tuple] = []
    iterator = iterator or _iterator(client, stream, shard, after)
    while iterator and len(rows) < limit:
        asked = int(min(fetch, limit - len(rows)))
        page = client.get_records(ShardIterator=iterator, Limit=asked)
        rows.extend(_row(r, stream, shard) for r in page["Records"])
        iterator = page.get("NextShardIterator")
        if _at_tip(page, asked):
            return rows, True, iterator
    return rows, iterator is None, iterator


def read_between(
    client, stream: str, shard: str, after: str | None, until: str, fetch: int
) -> Iterator[tuple]:
    """The records after `after` up to and including sequence number `until`: a planned batch, read again."""
    iterator = _iterator(client, stream, shard, after)
    while iterator:
        page = client.get_records(ShardIterator=iterator, Limit=fetch)
        for record in page["Records"]:
            yield _row(record, stream, shard)
            if record["SequenceNumber"] == until:
                return
            if int(record["SequenceNumber"]) > int(until):
                raise RuntimeError(f"{stream}/{shard}: sequence number {until} of a planned batch is gone")
        if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
            raise RuntimeError(f"{stream}/{shard}: the records up to {until} of a planned batch are gone")
        iterator = page.get("NextShardIterator")


class KinesisStreamReader(SimpleDataSourceStreamReader):
    """Micro-batches of Kinesis streams, offsets {stream: {shardId: {"seq": last sequence number, "done": bool}}}.

    A simple reader (Spark's `SimpleDataSourceStreamReader`): `read` finds a batch's end by reading the shards on
    the driver and hands Spark the rows it read, which Spark keeps for the batch (as Arrow, in the JVM), so a
    batch's records are read once and its first job runs no Python. A batch replayed after a restart has no kept
    rows: Spark asks `readBetweenOffsets`, which reads it again from Kinesis between the same sequence numbers.
    """

    def __init__(self, options: KinesisOptions):
        self.options = options
        self._client = None
        # Per (stream, shard): the sequence number a kept iterator starts after, the iterator, when it was got.
        self._iterators: dict[tuple[str, str], tuple[str | None, str, float]] = {}
        self._polled = 0.0

    def __getstate__(self):
        return {"options": self.options, "_client": None, "_iterators": {}, "_polled": 0.0}

    @property
    def client(self):
        """The boto3 client, made on first use in whichever process runs the reader (boto3 clients are
        thread-safe: the streams are read concurrently through it)."""
        if self._client is None:
            self._client = self.options.client()
        return self._client

    def _each_stream(self, read) -> dict:
        """`read(stream)` for every stream, concurrently, as {stream: result}."""
        streams = self.options.streams
        if len(streams) == 1:
            return {streams[0]: read(streams[0])}
        with ThreadPoolExecutor(len(streams)) as pool:
            return dict(zip(streams, pool.map(read, streams)))

    def initialOffset(self) -> dict:
        """Every current shard before its first record, or at its tip for initialPosition latest."""

        def initial(stream: str) -> dict:
            offset: dict = {}
            for shard in list_shards(self.client, stream):
                seq = None
                if self.options.initial_position == "latest":
                    rows, _, _ = read_shard(
                        self.client,
                        stream,
                        shard.shard_id,
                        None,
                        float("inf"),
                        self.options.max_records_per_fetch,
                    )
                    seq = rows[-1][4] if rows else None
                offset[shard.shard_id] = {"seq": seq, "done": False}
            return offset

        return self._each_stream(initial)

    def read(self, start: dict) -> tuple[Iterator[tuple], dict]:
        """The next batch after `start`: its rows and its end, each readable shard of each stream read to its tip
        or up to the per-trigger limit of its stream. An end equal to `start` (and no rows): nothing new."""
        wait = self._polled + self.options.min_fetch_period - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._polled = time.monotonic()
        read = self._each_stream(lambda stream: self._advance(stream, dict(start.get(stream, {}))))
        end = {stream: offset for stream, (offset, _) in read.items()}
        return itertools.chain.from_iterable(rows for _, rows in read.values()), end

    def _advance(self, stream: str, position: dict) -> tuple[dict, list[tuple]]:
        """One stream's next offset (`position` is where it stands) and the rows up to it."""
        budget = float(self.options.max_records_per_trigger or "inf")
        shards = list_shards(self.client, stream)
        visited: set[str] = set()
        read: list[tuple] = []
        progressed = True
        while progressed and budget > 0:
            progressed = False
            for shard in shards:
                state = position.get(shard.shard_id, {"seq": None, "done": False})
                parents_done = all(position.get(p, {"done": True})["done"] for p in shard.parents)
                if state["done"] or not parents_done or shard.shard_id in visited:
                    continue
                visited.add(shard.shard_id)
                rows, at_tip, following = read_shard(
                    self.client,
                    stream,
                    shard.shard_id,
                    state["seq"],
                    budget,
                    self.options.max_records_per_fetch,
                    self._kept_iterator(stream, shard.shard_id, state["seq"]),
                )
                budget -= len(rows)
                read.extend(rows)
                seq = rows[-1][4] if rows else state["seq"]
                done = shard.closed and at_tip
                if following:
                    self._iterators[(stream, shard.shard_id)] = (seq, following, time.monotonic())
                position[shard.shard_id] = {"seq": seq, "done": done}
                progressed = progressed or done  # a finished parent makes its children readable
                if budget <= 0:
                    break
        return {k: position[k] for k in sorted(position)}, read

    def _kept_iterator(self, stream: str, shard: str, after: str | None) -> str | None:
        """The iterator the last read of the shard handed back, if it starts after `after` and is fresh (Kinesis
        iterators expire after 5 minutes)."""
        kept = self._iterators.pop((stream, shard), None)
        if kept and kept[0] == after and time.monotonic() - kept[2] < _ITERATOR_LIFETIME:
            return kept[1]
        return None

    def readBetweenOffsets(self, start: dict, end: dict) -> Iterator[tuple]:
        """A planned batch's records read again from Kinesis (a replay after a restart): each shard that moved
        between the two offsets, after its sequence number in `start` up to that in `end`."""
        for stream, shards in sorted(end.items()):
            for shard, state in sorted(shards.items()):
                after = start.get(stream, {}).get(shard, {}).get("seq")
                if state["seq"] is not None and state["seq"] != after:
                    yield from read_between(
                        self.client, stream, shard, after, state["seq"], self.options.max_records_per_fetch
                    )

    def commit(self, end: dict) -> None:
        """Nothing to release: Kinesis keeps records for their retention period whatever the reader does."""


class KinesisDataSource(DataSource):
    """`spark.readStream.format("pinterest_kinesis")`: Kinesis streams through boto3."""

    @classmethod
    def name(cls) -> str:
        return FORMAT

    def schema(self) -> T.StructType:
        return KINESIS_SCHEMA

    def simpleStreamReader(self, schema: T.StructType) -> SimpleDataSourceStreamReader:
        return KinesisStreamReader(KinesisOptions.parse(dict(self.options)))


def register(spark) -> None:
    """Make the `pinterest_kinesis` format known to the session."""
    spark.dataSource.register(KinesisDataSource)
