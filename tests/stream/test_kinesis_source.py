"""The Kinesis reader on a real moto endpoint, driven as Spark drives it: offsets, limits, replays, reshards."""

from __future__ import annotations

import itertools
import json
import time

import pytest

from pinterest_pipeline.errors import ConfigError
from pinterest_pipeline.kinesis_source import KinesisOptions, KinesisStreamReader

from .kinesis_helpers import put


def reader(endpoint: str, stream: str, **options) -> KinesisStreamReader:
    opts = {"streamname": stream, "endpointurl": endpoint, **{k.lower(): str(v) for k, v in options.items()}}
    return KinesisStreamReader(KinesisOptions.parse(opts))


def batch(r: KinesisStreamReader, start: dict) -> tuple[dict, list[tuple]]:
    """One micro-batch as Spark asks a simple reader for it: the rows after `start` and their end offset."""
    rows, end = r.read(start)
    # Spark passes offsets through JSON: what the reader returns must survive it.
    return json.loads(json.dumps(end)), list(rows)


def replay(r: KinesisStreamReader, start: dict, end: dict) -> list[tuple]:
    """A planned batch read again, as after a restart (Spark kept no rows for it)."""
    return list(r.readBetweenOffsets(start, end))


def indexes(rows: list[tuple]) -> list[int]:
    return sorted(json.loads(row[1])["index"] for row in rows)


@pytest.fixture
def stream(kinesis, prefix):
    name = f"{prefix}-src"
    kinesis.create_stream(StreamName=name, ShardCount=2)
    return name


def test_rows_have_the_databricks_columns_and_offsets_move_per_shard(kinesis, kinesis_endpoint, stream):
    put(kinesis, stream, [{"index": i} for i in range(10)])
    r = reader(kinesis_endpoint, stream)
    start = r.initialOffset()
    assert list(start) == [stream] and len(start[stream]) == 2
    assert all(state == {"seq": None, "done": False} for state in start[stream].values())
    end, rows = batch(r, start)
    assert indexes(rows) == list(range(10))
    key, data, name, shard, _seq, arrived = rows[0]
    assert (key, name, json.loads(data)["index"]) == (str(json.loads(data)["index"]), stream, int(key))
    assert shard in end[stream] and arrived.tzinfo is not None
    for shard_id, state in end[stream].items():
        assert state["seq"] == max((row[4] for row in rows if row[3] == shard_id), key=int)
    # Nothing new: the same offset and no rows, so Spark plans no batch.
    assert batch(r, end) == (end, [])


def test_record_limit_bounds_each_batch_and_loses_nothing(kinesis, kinesis_endpoint, stream):
    put(kinesis, stream, [{"index": i} for i in range(25)])
    r = reader(kinesis_endpoint, stream, maxRecordsPerTrigger=7, maxRecordsPerFetch=3)
    offset, seen, sizes = r.initialOffset(), [], []
    while True:
        end, rows = batch(r, offset)
        if end == offset:
            break
        sizes.append(len(rows))
        seen += rows
        offset = end
    assert sizes == [7, 7, 7, 4]
    assert indexes(seen) == list(range(25))


def test_replay_after_restart_reads_the_same_records(kinesis, kinesis_endpoint, stream):
    put(kinesis, stream, [{"index": i} for i in range(12)])
    first = reader(kinesis_endpoint, stream, maxRecordsPerTrigger=5)
    start = first.initialOffset()
    end, rows = batch(first, start)
    # A new reader (a restarted query) replays the planned batch from Kinesis, without the driver's rows.
    again = reader(kinesis_endpoint, stream, maxRecordsPerTrigger=5)
    assert sorted(replay(again, start, end)) == sorted(rows)
    assert replay(again, end, end) == []
    # A restarted reader asked for the batch after the last one planned follows on from there.
    restarted = reader(kinesis_endpoint, stream)
    _, rest = batch(restarted, end)
    assert indexes(rows + rest) == list(range(12))


def test_a_reshard_loses_nothing_and_children_follow_their_parent(kinesis, kinesis_endpoint, stream):
    put(kinesis, stream, [{"index": i} for i in range(10)])
    r = reader(kinesis_endpoint, stream)
    offset, rows = batch(r, r.initialOffset())
    put(kinesis, stream, [{"index": i} for i in range(10, 20)])
    parent = kinesis.list_shards(StreamName=stream)["Shards"][0]
    middle = (
        int(parent["HashKeyRange"]["StartingHashKey"]) + int(parent["HashKeyRange"]["EndingHashKey"])
    ) // 2
    kinesis.split_shard(StreamName=stream, ShardToSplit=parent["ShardId"], NewStartingHashKey=str(middle))
    put(kinesis, stream, [{"index": i} for i in range(20, 40)])
    end, more = batch(r, offset)
    assert indexes(rows + more) == list(range(40))
    assert end[stream][parent["ShardId"]]["done"] is True
    children = [
        s["ShardId"] for s in kinesis.list_shards(StreamName=stream)["Shards"] if s.get("ParentShardId")
    ]
    assert len(children) == 2 and all(c in end[stream] for c in children)
    # Per partition key, records stay in order: a key's records in the parent come before those in a child.
    by_key: dict[str, list[str]] = {}
    for row in more:
        by_key.setdefault(row[0], []).append(row[3])
    assert all(shards == sorted(shards, key=lambda s: s != parent["ShardId"]) for shards in by_key.values())


def test_several_streams_are_read_by_one_reader_each_with_its_own_offsets(kinesis, kinesis_endpoint, prefix):
    names = [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]
    for n, name in enumerate(names):
        kinesis.create_stream(StreamName=name, ShardCount=n + 1)
    for n, name in enumerate(names):
        kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1})
        put(kinesis, name, [{"index": 100 * n + i} for i in range(8)])
    r = reader(kinesis_endpoint, ",".join(names), maxRecordsPerTrigger=5, minFetchPeriod=0)
    offset = r.initialOffset()
    assert {name: len(shards) for name, shards in offset.items()} == dict(zip(names, (1, 2, 3)))
    end, rows = batch(r, offset)
    # The limit is per stream: five records of each.
    assert sorted(sum(1 for row in rows if row[2] == name) for name in names) == [5, 5, 5]
    end, more = batch(r, end)
    assert indexes(rows + more) == sorted(100 * n + i for n in range(3) for i in range(8))
    assert batch(r, end) == (end, [])
    # A restarted reader replays each stream's part of a planned batch from Kinesis.
    again = reader(kinesis_endpoint, ",".join(names))
    assert sorted(replay(again, offset, end)) == sorted(rows + more)


def test_a_shard_is_polled_at_most_once_per_fetch_period(kinesis, kinesis_endpoint, stream):
    r = reader(kinesis_endpoint, stream, minFetchPeriod=300)
    start = r.initialOffset()
    polls = []
    list_shards = r.client.list_shards

    def noted(**kwargs):
        polls.append(time.monotonic())
        return list_shards(**kwargs)

    r.client.list_shards = noted
    for _ in range(3):
        r.read(start)
    # A poll lists the shards, then reads each: two polls start at least the period apart (a busy machine only
    # spaces them more; without the period they follow each other within milliseconds).
    assert len(polls) == 3
    assert all(later - earlier >= 0.29 for earlier, later in itertools.pairwise(polls))


@pytest.mark.parametrize(
    "options, message",
    [
        ({}, "streamName"),
        ({"streamname": "s", "initialposition": "at_timestamp"}, "initialPosition"),
        ({"streamname": "s", "maxrecordspertrigger": "0"}, "maxRecordsPerTrigger"),
        ({"streamname": " , "}, "streamName"),
        ({"streamname": "s", "minfetchperiod": "-1"}, "minFetchPeriod"),
    ],
)
def test_bad_options_are_one_line_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        KinesisOptions.parse(options)
