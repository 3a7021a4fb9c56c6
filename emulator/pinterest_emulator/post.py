"""`pinterest-emulator post`: replay posts from the source database to a target.

Each event is one source index: the pin, geo and user rows of that index, as the original emulator sends them.
Indexes come in batches; each batch is read with one query per table (bound parameters, `IN`) and sent with one
request per table, where the original ran `SELECT ... LIMIT n, 1` and one request per record.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import itertools
import sys
import time
from dataclasses import dataclass

from pinterest_emulator import KEY_VARIABLE, resolve_api_key
from pinterest_emulator.config import (
    DEFAULT_BACKOFF,
    DEFAULT_BATCH,
    DEFAULT_GATEWAY,
    DEFAULT_MAX_ATTEMPTS,
    SAMPLINGS,
    TARGETS,
    PostConfig,
)
from pinterest_emulator.db import DEFAULT_DB_URL
from pinterest_pipeline.errors import InputError, PipelineError, ServiceError
from pinterest_pipeline.names import DEFAULT_PREFIX, ENTITIES


@dataclass
class PostReport:
    """What a posting run did."""

    events: int
    records_sent: int
    acknowledged: int
    failed: int
    requests: int
    resent: int
    seconds: float
    # Why the run stopped before its end: a ServiceError when the gateway, Kinesis or the database could not
    # be reached, an InputError for a source that breaks its contract, else a PipelineError (records refused
    # or still unacknowledged after the last attempt).
    failure: PipelineError | None = None
    db_retries: int = 0  # source reads retried on a new connection after the old one was lost

    @property
    def error(self) -> str | None:
        """The failure's message, if the run failed."""
        return None if self.failure is None else str(self.failure)

    @property
    def ok(self) -> bool:
        """True when every record sent was acknowledged and nothing stopped the run."""
        return self.failed == 0 and self.error is None and self.acknowledged == self.records_sent

    @property
    def events_per_second(self) -> float:
        """Throughput of the run."""
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """One line for the terminal."""
        return (
            f"post: events read {self.events}, records sent {self.records_sent}, acknowledged "
            f"{self.acknowledged}, failed {self.failed} ({self.requests} requests, {self.resent} records "
            f"resent) in {self.seconds:.1f}s, {self.events_per_second:.0f} events/s"
            + (f"; {self.db_retries} source reads retried after a lost connection" if self.db_retries else "")
        )


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run; `report` counts what it had done (the target is closed)."""

    def __init__(self, report: PostReport):
        super().__init__("interrupted")
        self.report = report


def _positive(kind):
    """An argparse type: a number > 0."""

    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the post options: each flag's destination is the PostConfig field it sets."""
    parser.add_argument("--target", choices=TARGETS, required=True)
    parser.add_argument(
        "--db-url", default=DEFAULT_DB_URL, help=f"source database (default {DEFAULT_DB_URL})"
    )
    parser.add_argument(
        "--gateway",
        default=DEFAULT_GATEWAY,
        help="gateway base URL, or an API Gateway invoke URL with its stage (http://127.0.0.1:8082/prod, "
        f"https://ID.execute-api.REGION.amazonaws.com/prod): records go to <URL>/topics/... and "
        f"<URL>/streams/... (default {DEFAULT_GATEWAY})",
    )
    parser.add_argument(
        "--sampling",
        choices=SAMPLINGS,
        default="original",
        help="original: the course's sequence (seed 100, randint(0, 11000)); uniform: whole table",
    )
    parser.add_argument("--seed", type=int, help="sampling seed (default: 100 for original, 1 for uniform)")
    parser.add_argument("--count", type=_positive(int), help="events to send (default: no limit)")
    parser.add_argument("--duration", type=_positive(float), help="stop after this many seconds")
    parser.add_argument(
        "--rate", type=_positive(float), help="events per second (default: as fast as possible)"
    )
    parser.add_argument(
        "--batch-size",
        type=_positive(int),
        default=DEFAULT_BATCH,
        help=f"events read and records sent per request (default {DEFAULT_BATCH})",
    )
    parser.add_argument("--iso", action="store_true", help="send datetimes as YYYY-MM-DDTHH:MM:SS")
    parser.add_argument(
        "--api-key",
        help="sent as the x-api-key header (API Gateway usage plans; default: $"
        f"{KEY_VARIABLE} if set, which keeps the key out of the process list)",
    )
    parser.add_argument(
        "--topic-prefix", default=DEFAULT_PREFIX, help="kafka-rest topics <prefix>.pin|geo|user"
    )
    parser.add_argument(
        "--stream-prefix", default=DEFAULT_PREFIX, help="Kinesis streams <prefix>-pin|geo|user"
    )
    parser.add_argument("--kinesis-endpoint", help="kinesis-direct: endpoint URL (default: AWS)")
    parser.add_argument("--region", help="kinesis-direct: AWS region (default us-east-1)")
    parser.add_argument(
        "--max-attempts",
        type=_positive(int),
        default=DEFAULT_MAX_ATTEMPTS,
        help=f"tries per request (default {DEFAULT_MAX_ATTEMPTS})",
    )
    parser.add_argument(
        "--backoff",
        type=_positive(float),
        default=DEFAULT_BACKOFF,
        help=f"first retry delay in seconds, doubling (default {DEFAULT_BACKOFF})",
    )


def serialise(row: dict, iso: bool = False) -> dict:
    """A database row as the record sent: datetimes printed as the database prints them (or ISO)."""
    fmt = "%Y-%m-%dT%H:%M:%S" if iso else "%Y-%m-%d %H:%M:%S"
    return {k: (v.strftime(fmt) if isinstance(v, dt.datetime) else v) for k, v in row.items()}


def post_events(config: PostConfig, *, progress: bool | None = None, out=None) -> PostReport:
    """Read events from the source database and send them as `config` says; returns a PostReport.

    `progress` shows a progress bar on stderr (None: when stderr is a terminal); `out` is where the console
    target writes (default stdout). Raises, before anything is sent, InputError for source tables that are
    missing or too small and ServiceError for a database that cannot be reached (the options themselves were
    checked when `config` was built). A source read whose connection is lost is retried on a new connection
    (`config.db_attempts` tries); a source that stays unreachable ends the run with a ServiceError in the
    report. Ctrl-C raises `Interrupted`, carrying the report.
    """
    from tqdm import tqdm

    from pinterest_emulator import db
    from pinterest_emulator import sampling as sampling_mod
    from pinterest_emulator.targets import make_target

    engine = db.make_engine(config.db_url)
    try:
        missing = [name for name in db.TABLE_NAMES.values() if name not in db.existing_tables(engine)]
        if missing:
            raise InputError(
                f"{config.db_url} lacks {', '.join(missing)} (run pinterest-emulator seed-db first)"
            )
        rows = db.index_span(engine)
        if config.sampling == "original":
            if rows <= sampling_mod.ORIGINAL_HIGHEST:
                raise InputError(
                    f"original sampling reads indexes 0..{sampling_mod.ORIGINAL_HIGHEST} but the "
                    f"source has {rows} rows (seed more, or use --sampling uniform)"
                )
            indexes = sampling_mod.original_indexes(config.sampling_seed)
        else:
            if rows == 0:
                raise InputError(f"{config.db_url} has no rows")
            indexes = sampling_mod.uniform_indexes(rows, config.sampling_seed)
        sender = make_target(config, out=out)
        bar = tqdm(
            total=config.count, unit="event", desc="post", disable=None if progress is None else not progress
        )
        return _run(config, engine, sender, indexes, bar)
    finally:
        engine.dispose()


class _Counter:
    """A thread-safe count (the reader threads retry on their own)."""

    def __init__(self):
        import threading

        self.value = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.value += 1


def _read_batch(engine, pool, draws: list[int], retries: _Counter, attempts: int) -> tuple[list[int], dict]:
    """The rows of a batch of indexes: one query per table, the three tables read concurrently.

    A read whose connection is lost (the server restarted or killed it) is retried on a new connection,
    `attempts` tries in all.
    """
    from pinterest_emulator import db

    def fetch(entity: str) -> dict:
        return db.fetch_rows_retrying(engine, entity, draws, attempts=attempts, on_retry=retries.add)

    fetched = dict(zip(ENTITIES, pool.map(fetch, ENTITIES)))
    for entity in ENTITIES:
        absent = sorted(set(draws) - fetched[entity].keys())
        if absent:
            raise InputError(
                f"{db.TABLE_NAMES[entity]} has no row {absent[0]}: the source tables must hold indexes 0..n-1"
            )
    return draws, fetched


def _run(config: PostConfig, engine, sender, indexes, bar) -> PostReport:
    """The read-and-send loop; stops at count, duration, Ctrl-C, or records that cannot be delivered.

    The next batch is read while the current one is being sent, so database and network time overlap.
    """
    from concurrent.futures import ThreadPoolExecutor

    from pinterest_emulator.targets import GaveUp, Rejected, Unreachable

    events = sent = planned = 0
    failure: PipelineError | None = None
    interrupted = False
    retries = _Counter()
    started = time.monotonic()
    count, rate, duration, batch_size = config.count, config.rate, config.duration, config.events_per_batch
    tables = ThreadPoolExecutor(len(ENTITIES), thread_name_prefix="read-table")
    reader = ThreadPoolExecutor(1, thread_name_prefix="read-batch")

    def plan():
        """Start reading the next batch, or None when the count is reached."""
        nonlocal planned
        if count is not None and planned >= count:
            return None
        draws = list(
            itertools.islice(indexes, batch_size if count is None else min(batch_size, count - planned))
        )
        planned += len(draws)
        return reader.submit(_read_batch, engine, tables, draws, retries, config.db_attempts)

    upcoming = None
    try:
        with bar:
            upcoming = plan()
            while upcoming is not None:
                draws, fetched = upcoming.result()
                upcoming = plan()
                events += len(draws)
                for entity in ENTITIES:
                    records = [serialise(fetched[entity][i], config.iso) for i in draws]
                    sent += len(records)
                    sender.deliver(entity, records)
                bar.update(len(draws))
                if rate is not None:
                    # Hold the average at the rate: sleep until the events sent so far are due.
                    delay = started + events / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                if duration is not None and time.monotonic() - started >= duration:
                    break
    except Unreachable as exc:
        failure = ServiceError(str(exc))
    except (Rejected, GaveUp) as exc:
        failure = PipelineError(str(exc))
    except PipelineError as exc:  # the source: out of reach (ServiceError), or a missing row (InputError)
        failure = exc
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if upcoming is not None:
            upcoming.cancel()
        reader.shutdown(wait=True)
        tables.shutdown(wait=True)
        sender.close()
    stats = sender.stats
    if failure is None and stats.failed:
        failure = PipelineError(f"{stats.failed} records not acknowledged; last error: {stats.last_error}")
    report = PostReport(
        events,
        sent,
        stats.acknowledged,
        stats.failed,
        stats.requests,
        stats.resent,
        time.monotonic() - started,
        failure,
        retries.value,
    )
    if interrupted:
        raise Interrupted(report)
    return report


def run(args: argparse.Namespace) -> int:
    """Run post from parsed arguments; returns the exit code (a failure raises, for the command line).

    The summary line goes to stderr (stdout carries the console target's records) after every run that sent
    something, before the failure's line if it failed. A run that acknowledged nothing and stopped on an
    unreachable service or unreadable input raises that alone: it has nothing to count.
    """
    options = {f.name: getattr(args, f.name) for f in dataclasses.fields(PostConfig) if f.name in args}
    options["api_key"] = resolve_api_key(options.get("api_key"))
    config = PostConfig(**options)
    try:
        report = post_events(config)
    except Interrupted as stop:
        print(stop.report.summary(), file=sys.stderr)
        raise
    if report.ok:
        print(report.summary(), file=sys.stderr)
        return 0
    failure = report.failure or PipelineError("not every record sent was acknowledged")
    if report.acknowledged == 0 and failure.exit_code != PipelineError.exit_code:
        raise failure
    print(report.summary(), file=sys.stderr)
    raise PipelineError(str(failure)) from failure  # records were posted, then the run failed: exit code 1
