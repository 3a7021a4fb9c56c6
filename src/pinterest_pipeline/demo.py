"""`pinterest-pipeline demo`: the whole pipeline on one machine with embedded defaults.

Seeds a SQLite source database (once), starts moto's Kinesis server and the local gateway on 127.0.0.1, posts
the same events both ways (Kafka REST proxy -> sink files, and the Kinesis proxy), stops the gateway (which
finishes its open sink files), runs the batch job on the sink files and the streaming job (available-now) on the
streams, prints the insights and stream metrics and writes an HTML report. Everything lives under `<home>`; a
second run reuses the database and the lake and stays correct.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from pinterest_pipeline import names
from pinterest_pipeline.errors import ConfigError, PipelineError
from pinterest_pipeline.names import ENTITIES

DEFAULT_HOME = ".pinterest"
DEFAULT_EVENTS = 2000
PREFIX = names.DEFAULT_PREFIX


@dataclass(frozen=True)
class DemoConfig:
    """Where the demo keeps its files and how many events it posts; validated on creation."""

    home: Path = Path(DEFAULT_HOME)
    events: int = DEFAULT_EVENTS
    source_rows: int = 11_154

    def __post_init__(self) -> None:
        if self.events < 1:
            raise ConfigError(f"--events must be at least 1, got {self.events}")
        if self.home.exists() and not self.home.is_dir():
            raise ConfigError(f"demo home {self.home} is not a folder")

    @property
    def db_url(self) -> str:
        """The SQLite source database."""
        return f"sqlite:///{(self.home / 'source.db').resolve()}"

    @property
    def raw_root(self) -> Path:
        """Where the gateway writes the sink's files."""
        return self.home / "raw"

    @property
    def lake(self) -> Path:
        """The Delta lake."""
        return self.home / "lake"

    @property
    def report_path(self) -> Path:
        """The HTML report."""
        return self.home / "report.html"


@dataclass
class DemoResult:
    """What the demo produced."""

    posted: dict[str, int] = field(default_factory=dict)
    batch_lines: list[str] = field(default_factory=list)
    stream_lines: list[str] = field(default_factory=list)
    gold: dict[str, list[dict]] = field(default_factory=dict)
    accounting: list[dict] = field(default_factory=list)
    metrics: dict[str, list[dict]] = field(default_factory=dict)
    report: Path | None = None


def _seed(config: DemoConfig) -> str:
    from pinterest_emulator.seed import seed_database

    if (config.home / "source.db").exists():
        return "source database reused"
    report = seed_database(config.db_url, rows=config.source_rows, seed=100)
    return f"source database seeded: {report.rows} rows per table"


def _post(config: DemoConfig, gateway_url: str, target: str) -> int:
    from pinterest_emulator.config import PostConfig
    from pinterest_emulator.post import post_events

    report = post_events(
        PostConfig(
            target=target,
            db_url=config.db_url,
            gateway=gateway_url,
            sampling="original",
            count=config.events,
            batch_size=100,
            topic_prefix=PREFIX,
            stream_prefix=PREFIX,
        )
    )
    if not report.ok:
        raise PipelineError(f"posting to {target} failed: {report.summary()}")
    return report.acknowledged


def _create_streams(gateway_url: str) -> None:
    import requests

    for entity in ENTITIES:
        name = names.stream(PREFIX, entity)
        response = requests.post(f"{gateway_url}/streams/{name}", json={"ShardCount": 1}, timeout=30)
        if response.status_code >= 400 and "ResourceInUse" not in response.text:
            raise PipelineError(
                f"could not create stream {name}: {response.status_code} {response.text[:200]}"
            )


def use_embedded_aws_credentials() -> None:
    """Give boto3 placeholder credentials for the embedded moto server (it accepts any); real ones are kept.

    Call before the Spark session starts: the Kinesis source's Python workers inherit the environment then.
    """
    import os

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "embedded-moto")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "embedded-moto")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def _fresh_kinesis(endpoint: str) -> None:
    """Empty the embedded Kinesis: moto's servers in one process share one account, and this demo owns it."""
    import requests

    requests.post(f"{endpoint}/moto-api/reset", timeout=30).raise_for_status()


def _forget_stream_positions(lake: Path) -> None:
    """Drop the streaming checkpoints: the embedded Kinesis is new each run, its sequence numbers start again.

    The stream tables keep one row per ind, so the posts read again are not written twice.
    """
    from pinterest_pipeline.jobs.stream import QUERY

    checkpoint = lake / names.checkpoint(QUERY)
    if checkpoint.exists():
        shutil.rmtree(checkpoint)


def _rows(df) -> list[dict]:
    return [row.asDict(recursive=True) for row in df.collect()]


def _recent_windows(frame, metric: str):
    """What the report draws of a metric table: the windows of category popularity that start in the last hour
    of the latest one (its per-minute chart), newest first, and the last full window of profile popularity (its
    top profiles), best first. That window is chosen as `report.last_full_window` chooses it: of the windows that
    end after the greatest window_start, the one that starts first (the greatest start alone holds only the last
    slide of the sliding windows)."""
    from pyspark.sql import functions as F

    from pinterest_pipeline.report import CATEGORY_MINUTES, PROFILE_METRIC

    latest = frame.agg(F.max("window_start").alias("latest"))
    if metric == PROFILE_METRIC:
        chosen = (
            frame.crossJoin(latest)
            .where(F.col("window_end") > F.col("latest"))
            .agg(F.min("window_start").alias("chosen"))
        )
        keep = F.col("window_start") == F.col("chosen")
        order = [F.desc("posts"), F.desc("follower_count"), "poster_name"]
        return frame.crossJoin(chosen).where(keep).drop("chosen").orderBy(*order)
    keep = F.col("window_start") > F.col("latest") - F.make_dt_interval(mins=F.lit(CATEGORY_MINUTES))
    order = [F.desc("window_start"), "category"]
    return frame.crossJoin(latest).where(keep).drop("latest").orderBy(*order)


def run_demo(spark, config: DemoConfig, out=print) -> DemoResult:
    """Run the whole local pipeline and write the report."""
    from pinterest_emulator.gateway import Gateway
    from pinterest_emulator.local_kinesis import start_moto, stop_moto

    from pinterest_pipeline import report
    from pinterest_pipeline.insights import INSIGHTS
    from pinterest_pipeline.jobs.batch import BatchConfig, run_batch
    from pinterest_pipeline.jobs.stream import StreamConfig, run_stream
    from pinterest_pipeline.lake import DeltaStore
    from pinterest_pipeline.metrics import METRICS

    use_embedded_aws_credentials()
    result = DemoResult()
    config.home.mkdir(parents=True, exist_ok=True)
    out(_seed(config))
    with ExitStack() as stack:
        kinesis = start_moto()
        stack.callback(stop_moto, kinesis)
        _fresh_kinesis(kinesis)
        with Gateway(config.raw_root, kinesis_endpoint=kinesis, topic_prefix=PREFIX) as gateway:
            out(f"gateway on {gateway.url}, Kinesis endpoint {kinesis}")
            _create_streams(gateway.url)
            for target in ("kafka-rest", "kinesis"):
                result.posted[target] = _post(config, gateway.url, target)
                out(
                    f"posted {config.events} events to {target}: {result.posted[target]} records acknowledged"
                )
        # The gateway has finished its open sink files on exit: the batch job sees every record.
        batch = run_batch(spark, BatchConfig(str(config.raw_root), str(config.lake), PREFIX))
        result.batch_lines = batch.lines()
        out("\n".join(["batch:"] + result.batch_lines))
        _forget_stream_positions(config.lake)
        stream = run_stream(
            spark,
            StreamConfig(
                str(config.lake), kinesis_endpoint=kinesis, stream_prefix=PREFIX, available_now=True
            ),
        )
        result.stream_lines = stream.lines()
        out("\n".join(["stream:"] + result.stream_lines))

    store = DeltaStore(spark, str(config.lake))
    for name in INSIGHTS:
        result.gold[name] = (
            _rows(store.read(names.gold(name), None)) if store.exists(names.gold(name)) else []
        )
    for entity in ENTITIES:
        bronze = store.row_count(names.bronze(entity))
        silver = store.row_count(names.silver(entity))
        quarantined = store.row_count(names.quarantine(entity))
        result.accounting.append(
            {
                "entity": entity,
                "records in": bronze,
                "cleaned": silver,
                "quarantined": quarantined,
                "duplicates": bronze - silver - quarantined,
                "stream rows": store.row_count(names.stream_table(entity)),
            }
        )
    for name in METRICS:
        table = names.metric(name)
        result.metrics[name] = _rows(_recent_windows(store.read(table), name)) if store.exists(table) else []
    _print_insights(result.gold, out)
    _print_insights(result.metrics, out)
    facts = {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "source database": config.db_url,
        "events posted this run": config.events,
        "records acknowledged": json.dumps(result.posted),
        "raw root": str(config.raw_root.resolve()),
        "lake": str(config.lake.resolve()),
    }
    config.report_path.write_text(
        report.render(result.gold, result.accounting, result.metrics, facts), encoding="utf-8"
    )
    result.report = config.report_path
    out(f"report: {config.report_path.resolve()}")
    return result


def _print_insights(gold: dict[str, list[dict]], out) -> None:
    for name, rows in gold.items():
        out(f"\n{name} ({len(rows)} rows)")
        if not rows:
            continue
        columns = list(rows[0])
        widths = [max(len(c), *(len(str(r[c])) for r in rows[:15])) for c in columns]
        out("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
        for r in rows[:15]:
            out("  ".join(str(r[c]).ljust(w) for c, w in zip(columns, widths)))
        if len(rows) > 15:
            out(f"... {len(rows) - 15} more")
