"""`PostConfig`: every option of a posting run, validated once, when it is built.

`pinterest-emulator post` builds one from its flags (a field per flag, of the flag's name); the demo, the
tests and the benchmarks build their own. `post_events`, `make_target` and the run loop take it whole, so an
option is added here and read where it is used. What can only be checked against the database (the tables
exist, they hold enough rows) is checked when the run starts, as an InputError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pinterest_emulator.db import DB_ATTEMPTS, DEFAULT_DB_URL, parse_url
from pinterest_emulator.sampling import ORIGINAL_SEED
from pinterest_emulator.targets import KINESIS_MAX_RECORDS
from pinterest_pipeline.errors import ConfigError
from pinterest_pipeline.names import DEFAULT_PREFIX, prefix_problem

TARGETS = ("console", "kafka-rest", "kinesis", "kinesis-direct")
SAMPLINGS = ("original", "uniform")
DEFAULT_GATEWAY = "http://127.0.0.1:8082"
DEFAULT_BATCH = 100
DEFAULT_UNIFORM_SEED = 1
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_BACKOFF = 0.2
# Options that must be > 0 when given, by the name a message calls them (db_attempts has no flag).
_POSITIVE = {
    "count": "--count",
    "duration": "--duration",
    "rate": "--rate",
    "batch_size": "--batch-size",
    "max_attempts": "--max-attempts",
    "backoff": "--backoff",
    "db_attempts": "db_attempts",
}


@dataclass(frozen=True)
class PostConfig:
    """How a posting run reads the source and what it sends where; ConfigError (one line) when invalid."""

    target: str = "console"
    db_url: str = DEFAULT_DB_URL
    gateway: str = DEFAULT_GATEWAY  # kafka-rest and kinesis: the API gateway's base or invoke URL (/stage)
    sampling: str = "original"
    seed: int | None = None  # default: 100 for original, 1 for uniform
    count: int | None = None  # events to send (None: no limit)
    duration: float | None = None  # seconds, then stop
    rate: float | None = None  # events per second (None: as fast as possible)
    batch_size: int = DEFAULT_BATCH  # events read, and records sent per request and table
    iso: bool = False  # datetimes as YYYY-MM-DDTHH:MM:SS
    api_key: str | None = field(default=None, repr=False)  # a secret: never in a printed config
    topic_prefix: str = DEFAULT_PREFIX
    stream_prefix: str = DEFAULT_PREFIX
    kinesis_endpoint: str | None = None  # kinesis-direct (None: AWS's)
    region: str | None = None  # kinesis-direct (None: us-east-1)
    max_attempts: int = DEFAULT_MAX_ATTEMPTS  # tries per request
    backoff: float = DEFAULT_BACKOFF  # first retry delay in seconds, doubling
    db_attempts: int = DB_ATTEMPTS  # tries per source read that loses its connection

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ConfigError(f"unknown target {self.target!r} (choose from {', '.join(TARGETS)})")
        if self.sampling not in SAMPLINGS:
            raise ConfigError(f"unknown sampling {self.sampling!r} (original or uniform)")
        for name, label in _POSITIVE.items():
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"{label} must be > 0, got {value}")
        if self.target.startswith("kinesis") and self.batch_size > KINESIS_MAX_RECORDS:
            raise ConfigError(
                f"--batch-size {self.batch_size} exceeds Kinesis PutRecords' {KINESIS_MAX_RECORDS} records"
            )
        for problem in (
            prefix_problem(self.topic_prefix, "topic"),
            prefix_problem(self.stream_prefix, "stream"),
        ):
            if problem:
                raise ConfigError(problem)
        parse_url(self.db_url)
        if self.target in ("kafka-rest", "kinesis"):
            _check_http_url("--gateway", self.gateway)
        if self.kinesis_endpoint is not None:
            _check_http_url("--kinesis-endpoint", self.kinesis_endpoint)

    @property
    def events_per_batch(self) -> int:
        """Events read, and records sent per request and table: with a rate, about one second's worth, so that
        a low rate is not sent in bursts."""
        return self.batch_size if self.rate is None else max(1, min(self.batch_size, int(self.rate)))

    @property
    def sampling_seed(self) -> int:
        """The seed of the index sequence: the one given, else the sampling's own."""
        if self.seed is not None:
            return self.seed
        return ORIGINAL_SEED if self.sampling == "original" else DEFAULT_UNIFORM_SEED


def _check_http_url(flag: str, url: str) -> None:
    """A base URL the targets can send to: http(s)://host[:port][/path]."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check: a bad one raises ValueError
    except ValueError as exc:
        raise ConfigError(f"{flag} {url!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{flag} {url!r} is not an http:// or https:// URL")
    if parts.query or parts.fragment:
        # routes are appended to the URL's path (an invoke URL's stage, /prod): a ?query or #fragment would
        # end up before them
        raise ConfigError(
            f"{flag} {url!r} must not have a ?query or #fragment (a path such as /prod is fine)"
        )
