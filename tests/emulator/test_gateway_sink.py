"""The S3-sink file writer: file names, flush size, rotation, offsets across restarts, crash recovery."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pinterest_emulator.gateway.kafka_rest import murmur2
from pinterest_emulator.gateway.sink import Sink

from pinterest_pipeline.names import valid_topic

try:
    from . import gateway_fixtures as fx
except ImportError:
    import gateway_fixtures as fx

TOPIC = "pinterest.pin"


def lines(*values) -> list[bytes]:
    return [json.dumps(v).encode() + b"\n" for v in values]


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_flush_size_makes_files_named_by_start_offset(tmp_path):
    sink = Sink(tmp_path, flush_size=3)
    sink.create_topic(TOPIC)
    assert sink.append(TOPIC, 0, lines(*range(2))) == 0
    assert sink.append(TOPIC, 0, lines(*range(2, 10))) == 2  # crosses two file boundaries in one call
    names = [p.name for p in fx.sink_files(tmp_path, TOPIC)]
    assert names == [
        "pinterest.pin+0+0000000000.json",
        "pinterest.pin+0+0000000003.json",
        "pinterest.pin+0+0000000006.json",
    ]
    assert [(o, v) for _, o, v in fx.read_topic(tmp_path, TOPIC)] == [(i, i) for i in range(9)]
    sink.close()  # the open file holds offset 9 only
    assert [p.name for p in fx.sink_files(tmp_path, TOPIC)][-1] == "pinterest.pin+0+0000000009.json"
    assert [o for _, o, _ in fx.read_topic(tmp_path, TOPIC)] == list(range(10))


def test_nothing_but_finished_json_files_under_topics(tmp_path):
    sink = Sink(tmp_path, flush_size=5)
    sink.create_topic(TOPIC)
    sink.append(TOPIC, 0, lines(*range(7)))
    files = [p for p in (tmp_path / "topics").rglob("*") if p.is_file()]
    assert [p.name for p in files] == ["pinterest.pin+0+0000000000.json"]
    assert fx.staged_lines(tmp_path, TOPIC) == ["5", "6"]
    sink.close()


def test_a_record_rotate_interval_after_the_files_first_starts_the_next_file(tmp_path):
    clock = FakeClock()
    sink = Sink(tmp_path, flush_size=500, rotate_interval_ms=60000, clock=clock)
    sink.create_topic(TOPIC)
    sink.append(TOPIC, 0, lines("a"))
    clock.now += 59.999
    sink.append(TOPIC, 0, lines("b"))  # 1 ms short of the interval: same file
    assert fx.sink_files(tmp_path, TOPIC) == []
    clock.now += 0.001  # 60 s after the file's first record, not its last
    sink.append(TOPIC, 0, lines("c", "d"))
    # the records that cross are not in the finished file: they start the next one
    assert [(o, v) for _, o, v in fx.read_topic(tmp_path, TOPIC)] == [(0, "a"), (1, "b")]
    assert fx.staged_lines(tmp_path, TOPIC) == ['"c"', '"d"']
    sink.close()


def test_a_quiet_topic_waits_for_its_next_record(tmp_path):
    clock = FakeClock()
    sink = Sink(tmp_path, flush_size=500, rotate_interval_ms=60000, clock=clock)
    sink.create_topic(TOPIC)
    sink.append(TOPIC, 0, lines("a"))
    clock.now += 3600  # an hour with no record: nothing closes the file (no wall-clock timer)
    assert fx.sink_files(tmp_path, TOPIC) == [] and fx.staged_lines(tmp_path, TOPIC) == ['"a"']
    sink.append(TOPIC, 0, lines("b"))
    assert [v for _, _, v in fx.read_topic(tmp_path, TOPIC)] == ["a"]
    # the new file's interval counts from its own first record
    clock.now += 59
    sink.append(TOPIC, 0, lines("c"))
    assert len(fx.sink_files(tmp_path, TOPIC)) == 1
    sink.close()  # a clean close publishes the rest
    assert [v for _, _, v in fx.read_topic(tmp_path, TOPIC)] == ["a", "b", "c"]


def test_rotation_on_time_and_on_size_together(tmp_path):
    clock = FakeClock()
    sink = Sink(tmp_path, flush_size=3, rotate_interval_ms=1000, clock=clock)
    sink.create_topic(TOPIC)
    sink.append(TOPIC, 0, lines(0, 1))
    clock.now += 1
    sink.append(TOPIC, 0, lines(2, 3, 4, 5))  # time closes [0, 1]; size then closes [2, 3, 4]
    names = [p.name for p in fx.sink_files(tmp_path, TOPIC)]
    assert names == ["pinterest.pin+0+0000000000.json", "pinterest.pin+0+0000000002.json"]
    assert fx.staged_lines(tmp_path, TOPIC) == ["5"]
    sink.close()


def test_partitions_rotate_on_their_own_first_records(tmp_path):
    clock = FakeClock()
    sink = Sink(tmp_path, flush_size=500, rotate_interval_ms=1000, partitions=2, clock=clock)
    sink.create_topic(TOPIC)
    sink.append(TOPIC, 0, lines("p0-a"))
    clock.now += 0.5
    sink.append(TOPIC, 1, lines("p1-a"))
    clock.now += 0.5
    sink.append(TOPIC, 0, lines("p0-b"))  # 1 s after partition 0's first record
    sink.append(TOPIC, 1, lines("p1-b"))  # 0.5 s after partition 1's
    assert [(p, v) for p, _, v in fx.read_topic(tmp_path, TOPIC)] == [(0, "p0-a")]
    sink.close()


def test_offsets_continue_after_restart(tmp_path):
    sink = Sink(tmp_path, flush_size=4)
    sink.create_topic(TOPIC)
    sink.append(TOPIC, 0, lines(*range(6)))
    sink.close()
    again = Sink(tmp_path, flush_size=4)
    assert again.topics() == [TOPIC]
    assert again.append(TOPIC, 0, lines(6)) == 6
    again.close()
    assert [o for _, o, _ in fx.read_topic(tmp_path, TOPIC)] == list(range(7))


def test_offsets_survive_removal_of_finished_files(tmp_path):
    sink = Sink(tmp_path, flush_size=2)
    sink.create_topic(TOPIC)
    sink.append(TOPIC, 0, lines(*range(4)))
    sink.close()
    for path in fx.sink_files(tmp_path, TOPIC):
        path.unlink()  # e.g. a lifecycle rule moved them away
    again = Sink(tmp_path, flush_size=2)
    assert again.append(TOPIC, 0, lines(4)) == 4
    again.close()


def test_recovery_publishes_staged_records_and_drops_a_torn_line(tmp_path):
    sink = Sink(tmp_path, flush_size=100)
    sink.create_topic(TOPIC)
    sink.append(TOPIC, 0, lines(*range(5)))
    staging = next((tmp_path / ".staging" / TOPIC).glob("partition=0/*.jsonl"))
    with open(staging, "ab") as handle:  # a crash in the middle of an (unacknowledged) write
        handle.write(b'{"half": ')
    # no close(): the process died
    again = Sink(tmp_path, flush_size=100)
    assert [(o, v) for _, o, v in fx.read_topic(tmp_path, TOPIC)] == [(i, i) for i in range(5)]
    assert again.append(TOPIC, 0, lines(5)) == 5
    again.close()
    assert [o for _, o, _ in fx.read_topic(tmp_path, TOPIC)] == list(range(6))


def test_partitions_are_independent(tmp_path):
    sink = Sink(tmp_path, flush_size=2, partitions=2)
    sink.create_topic(TOPIC)
    assert sink.partitions(TOPIC) == [0, 1]
    sink.append(TOPIC, 1, lines("x", "y"))
    assert sink.append(TOPIC, 0, lines("z")) == 0
    sink.close()
    assert sorted((p, o) for p, o, _ in fx.read_topic(tmp_path, TOPIC)) == [(0, 0), (1, 0), (1, 1)]


def test_append_to_missing_partition_fails(tmp_path):
    sink = Sink(tmp_path)
    with pytest.raises(KeyError):
        sink.append(TOPIC, 0, lines(1))
    sink.close()


def test_failed_write_leaves_no_torn_line(tmp_path, monkeypatch):
    sink = Sink(tmp_path, flush_size=10)
    sink.create_topic(TOPIC)
    sink.append(TOPIC, 0, lines("kept"))
    real_write = os.write

    def half_then_fail(fd, data):
        real_write(fd, bytes(data[:3]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_fail)
    with pytest.raises(OSError):
        sink.append(TOPIC, 0, lines("lost"))
    monkeypatch.setattr(os, "write", real_write)
    assert sink.append(TOPIC, 0, lines("next")) == 1
    sink.close()
    assert [v for _, _, v in fx.read_topic(tmp_path, TOPIC)] == ["kept", "next"]


@pytest.mark.parametrize(
    "name, ok",
    [
        ("pinterest.pin", True),
        ("0a1b2c.geo", True),
        ("a+b", False),
        ("..", False),
        ("", False),
        ("x" * 250, False),
        ("a/b", False),
    ],
)
def test_topic_names(name, ok, tmp_path):
    assert valid_topic(name) is ok
    sink = Sink(tmp_path)
    try:
        if ok:
            sink.create_topic(name)
            assert sink.partitions(name) == [0]
        else:
            with pytest.raises(ValueError, match="illegal topic name"):
                sink.create_topic(name)
    finally:
        sink.close()


def test_murmur2_matches_the_java_client():
    # Kafka's own test vectors (org.apache.kafka.common.utils.UtilsTest), as signed 32-bit ints
    vectors = {
        "21": -973932308,
        "foobar": -790332482,
        "a-little-bit-long-string": -985981536,
        "a-little-bit-longer-string": -1486304829,
        "abc": 479470107,
        "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    }
    for text, expected in vectors.items():
        h = murmur2(text.encode())
        assert (h - 2**32 if h >= 2**31 else h) == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    flush_size=st.integers(1, 7),
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("append"), st.integers(1, 12)),
            st.tuples(st.sampled_from(["wait", "close", "crash", "torn_crash"]), st.just(0)),
        ),
        max_size=25,
    ),
)
def test_any_history_keeps_every_record_once_in_order(tmp_path_factory, flush_size, steps):
    """Appends, rotations, clean restarts and crashes in any order: every record once, offsets contiguous,
    no file larger than flush.size."""
    root = tmp_path_factory.mktemp("history")
    clock = FakeClock()
    sink = Sink(root, flush_size=flush_size, rotate_interval_ms=1000, clock=clock)
    sink.create_topic(TOPIC)
    sent = 0
    for action, n in steps:
        if action == "append":
            assert sink.append(TOPIC, 0, lines(*range(sent, sent + n))) == sent
            sent += n
        elif action == "wait":  # the next append crosses the rotate interval
            clock.now += 1
        else:
            if action == "close":
                sink.close()
            else:  # the process dies: open files stay staged, maybe with a torn unacknowledged line
                for part in sink._parts.values():
                    os.close(part.fd)  # as the kernel does for a dead process
                staging = next((root / ".staging" / TOPIC).glob("partition=0/*.jsonl"))
                if action == "torn_crash":
                    with open(staging, "ab") as handle:
                        handle.write(b'{"torn"')
            sink = Sink(root, flush_size=flush_size, rotate_interval_ms=1000, clock=clock)
    sink.close()
    records = fx.read_topic(root, TOPIC)
    assert [(o, v) for _, o, v in records] == [(i, i) for i in range(sent)]
    assert all(len(p.read_text().splitlines()) <= flush_size for p in fx.sink_files(root, TOPIC))
