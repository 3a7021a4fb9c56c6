"""The files Kafka Connect's S3 sink writes (JsonFormat), kept on a local raw root.

Layout (docs/design.md, "The data flow"):
    <raw-root>/topics/<topic>/partition=<p>/<topic>+<p>+<startOffset:010d>.json   finished files only
    <raw-root>/.staging/<topic>/partition=<p>/<topic>+<p>+<startOffset:010d>.jsonl  the open file

Every record is appended to the partition's staging file and fsynced before it is acknowledged; the staging
file becomes a finished file by one atomic rename (so no reader ever sees half a file) when it holds
`flush_size` records, when a record arrives whose timestamp is `rotate_interval_ms` or more after the file's
first record's (that record starts the next file), on close, and at the next start after a crash. Rotation
is on record time only, as the deployed connector's `rotate.interval.ms` with `timestamp.extractor=Record`
(infra/README.md, "The S3 sink"): no timer closes a file on a quiet topic. The staging folder always holds one (possibly empty) file per partition whose name carries the next
offset, so offsets only grow across restarts even if finished files are later moved away.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pinterest_pipeline.names import valid_topic

# `+` cannot occur in a topic's name, so it splits a file's name; the topic part is then held to Kafka's rule.
_FILE_NAME = re.compile(r"^(?P<topic>[^+/]+)\+(?P<partition>\d+)\+(?P<offset>\d{10,})\.(?P<ext>jsonl?)$")


def file_name(topic: str, partition: int, start_offset: int, ext: str = "json") -> str:
    """The S3 sink's object name for a file starting at `start_offset`."""
    return f"{topic}+{partition}+{start_offset:010d}.{ext}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(path: Path) -> None:
    """mkdir -p, fsyncing each parent whose entry list changed so the new folder survives a crash."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        _fsync_dir(folder.parent)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


@dataclass
class _Partition:
    topic: str
    partition: int
    next_offset: int
    lock: threading.Lock = field(default_factory=threading.Lock)  # guards writes and the open file
    sync_lock: threading.Lock = field(default_factory=threading.Lock)  # guards fd swaps and fsync
    written: int = 0  # appends written to the open file(s), counted across files
    synced: int = 0  # appends known to be on disk
    fd: int = -1
    start_offset: int = 0
    count: int = 0
    first_timestamp: int = 0  # timestamp (ms) of the first record in the open file


class Sink:
    """Appends records to topic-partitions and rolls them into S3-sink files."""

    def __init__(
        self,
        raw_root: Path | str,
        flush_size: int = 500,
        rotate_interval_ms: int = 60000,
        partitions: int = 1,
        clock=time.time,
    ):
        """`clock` gives the records' timestamps (seconds): the REST proxy stamps a record with the time it
        produces it (CreateTime), which is the time the gateway appends it."""
        if flush_size < 1:
            raise ValueError("flush size must be at least 1")
        if rotate_interval_ms < 1:
            raise ValueError("rotate interval must be at least 1 ms")
        if partitions < 1:
            raise ValueError("partitions must be at least 1")
        self.raw_root = Path(raw_root)
        self.topics_dir = self.raw_root / "topics"
        self.staging_dir = self.raw_root / ".staging"
        self.flush_size = flush_size
        self.rotate_interval_ms = rotate_interval_ms
        self.default_partitions = partitions
        self.clock = clock
        self.files_written = 0
        self.records_appended = 0
        self._parts: dict[tuple[str, int], _Partition] = {}
        self._topics_lock = threading.Lock()
        self._closed = False
        _make_dirs(self.staging_dir)
        self._recover()

    # -- topics -------------------------------------------------------------------------------------------
    def topics(self) -> list[str]:
        """Every topic that exists (created, or holding files)."""
        return sorted({topic for topic, _ in self._parts})

    def partitions(self, topic: str) -> list[int]:
        """The partition numbers of `topic` (empty when it does not exist)."""
        return sorted(p for t, p in self._parts if t == topic)

    def create_topic(self, topic: str, partitions: int | None = None) -> None:
        """Create `topic` (idempotent): its staging folders, with offsets starting at 0."""
        if not valid_topic(topic):
            raise ValueError(f"illegal topic name {topic!r}")
        with self._topics_lock:
            if self.partitions(topic):
                return
            for p in range(partitions or self.default_partitions):
                part = _Partition(topic, p, 0)
                self._open_staging(part)
                self._parts[(topic, p)] = part

    # -- writing ------------------------------------------------------------------------------------------
    def append(self, topic: str, partition: int, lines: list[bytes]) -> int:
        """Durably append newline-terminated `lines` to a partition; returns the offset of the first one."""
        part = self._parts.get((topic, partition))
        if part is None:
            raise KeyError(f"no partition {partition} in topic {topic!r}")
        with part.lock:
            if self._closed:
                raise RuntimeError("sink is closed")
            first = part.next_offset
            timestamp = round(self.clock() * 1000)
            if part.count and timestamp - part.first_timestamp >= self.rotate_interval_ms:
                # the S3 sink's rotation on record time (TopicPartitionWriter.rotateOnTime): the record that
                # crosses the interval is not written to the open file but starts the next one
                self._finish(part)
            done = 0
            while done < len(lines):
                chunk = lines[done : done + self.flush_size - part.count]
                before = os.lseek(part.fd, 0, os.SEEK_END)
                try:
                    _write_all(part.fd, b"".join(chunk))
                except OSError:
                    # leave the staging file as it was, so recovery never sees a torn line
                    os.ftruncate(part.fd, before)
                    raise
                if part.count == 0:
                    part.first_timestamp = timestamp
                part.count += len(chunk)
                part.next_offset += len(chunk)
                done += len(chunk)
                if part.count >= self.flush_size:
                    self._finish(part)
            part.written += 1
            ticket = part.written
            self.records_appended += len(lines)
        self._sync(part, ticket)
        return first

    @staticmethod
    def _sync(part: _Partition, ticket: int) -> None:
        """Group commit: one fsync, outside the write lock, covers every append written before it."""
        with part.sync_lock:
            if part.synced >= ticket:
                return
            covered = part.written  # appends counted here are already in the file
            os.fsync(part.fd)
            part.synced = covered

    def close(self) -> None:
        """Finish every open file (a clean shutdown leaves nothing staged)."""
        for part in list(self._parts.values()):
            with part.lock:
                if part.count:
                    self._finish(part)
                with part.sync_lock:
                    if part.fd >= 0:
                        os.close(part.fd)
                        part.fd = -1
        self._closed = True

    # -- internals ----------------------------------------------------------------------------------------
    def _staging_folder(self, part: _Partition) -> Path:
        return self.staging_dir / part.topic / f"partition={part.partition}"

    def _open_staging(self, part: _Partition) -> None:
        folder = self._staging_folder(part)
        _make_dirs(folder)
        path = folder / file_name(part.topic, part.partition, part.next_offset, "jsonl")
        part.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.fsync(part.fd)
        _fsync_dir(folder)
        part.start_offset = part.next_offset
        part.count = 0

    def _finish(self, part: _Partition) -> None:
        """Publish the staging file as a finished file and open the next one."""
        with part.sync_lock:
            os.fsync(part.fd)
            part.synced = part.written
            os.close(part.fd)
            part.fd = -1
            self._publish(part.topic, part.partition, part.start_offset)
            self._open_staging(part)

    def _publish(self, topic: str, partition: int, start_offset: int) -> None:
        """Move a complete, fsynced staging file into topics/ with one atomic rename."""
        source = (
            self.staging_dir
            / topic
            / f"partition={partition}"
            / file_name(topic, partition, start_offset, "jsonl")
        )
        target_folder = self.topics_dir / topic / f"partition={partition}"
        _make_dirs(target_folder)
        os.rename(source, target_folder / file_name(topic, partition, start_offset))
        _fsync_dir(target_folder)
        self.files_written += 1

    def _recover(self) -> None:
        """Rebuild offsets from disk and publish whatever a crash left staged."""
        last_file: dict[tuple[str, int], tuple[int, Path]] = {}
        staged: list[tuple[str, int, int, Path]] = []
        for root, is_staging in ((self.topics_dir, False), (self.staging_dir, True)):
            for path in sorted(root.glob("*/partition=*/*")) if root.exists() else []:
                match = _FILE_NAME.match(path.name)
                if not match or not valid_topic(match["topic"]) or match["topic"] != path.parent.parent.name:
                    continue
                key = (match["topic"], int(match["partition"]))
                start = int(match["offset"])
                if is_staging:
                    staged.append((*key, start, path))
                elif start >= last_file.get(key, (-1, path))[0]:
                    last_file[key] = (start, path)
        next_offsets = {key: start + _count_lines(path) for key, (start, path) in last_file.items()}
        for topic, partition, start, path in sorted(staged):
            key = (topic, partition)
            data = path.read_bytes()
            complete = data[: data.rfind(b"\n") + 1]  # a torn last line was never acknowledged
            lines = complete.count(b"\n")
            if lines:
                with open(path, "r+b") as handle:
                    handle.truncate(len(complete))
                    os.fsync(handle.fileno())
                self._publish(topic, partition, start)
            else:
                path.unlink()
            _fsync_dir(path.parent)
            next_offsets[key] = max(next_offsets.get(key, 0), start + lines)
        for (topic, partition), offset in next_offsets.items():
            part = _Partition(topic, partition, offset)
            self._open_staging(part)
            self._parts[(topic, partition)] = part
