"""`pinterest-pipeline`: the batch job, the streaming job and the local demo (see docs/design.md, "Commands").

Every command prints a short summary; a failure is one line on stderr with the exit code of its kind
(errors.py: 2 bad arguments, 3 unreadable input, 4 busy lake, 5 unreachable service, 1 anything else);
set PINTEREST_DEBUG=1 to see the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from pinterest_pipeline.errors import CommandLineParser, LakeBusyError, PipelineError, one_line, run_command
from pinterest_pipeline.lake import DEFAULT_RETAIN_HOURS
from pinterest_pipeline.names import DEFAULT_PREFIX

# What Delta (and Spark's checkpoint log) raise when two runs write the same table or checkpoint at once.
_CONCURRENT_WRITE = (
    "ConcurrentTransactionException",
    "ConcurrentAppendException",
    "DELTA_CONCURRENT_",
    "ConcurrentModificationException",
    "Multiple streaming jobs detected",
)


def _add_batch(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help="ingest new sink files; rebuild silver, quarantine and gold")
    p.add_argument(
        "--raw-root",
        required=True,
        help="root of the S3 sink's files (path, s3://, /Volumes/..., dbfs:/mnt/...)",
    )
    p.add_argument("--lake", required=True, help="lake root for tables and checkpoints (path or URI)")
    p.add_argument(
        "--topic-prefix",
        default=DEFAULT_PREFIX,
        help=f"topics are <prefix>.pin|geo|user (default: {DEFAULT_PREFIX})",
    )
    p.add_argument(
        "--catalog",
        help="catalog of the tables (needs --schema): Unity Catalog on Databricks, spark_catalog locally",
    )
    p.add_argument("--schema", help="schema of the tables (needs --catalog)")
    p.add_argument(
        "--retain-hours",
        type=int,
        default=DEFAULT_RETAIN_HOURS,
        help=f"table upkeep keeps the files of this much history (default: {DEFAULT_RETAIN_HOURS})",
    )
    p.add_argument(
        "--compute",
        choices=("classic", "serverless"),
        default="classic",
        help="what the job runs on: on serverless, nothing is persisted (it cannot be there) (default: classic)",
    )
    p.set_defaults(run=_run_batch)


def batch_config(args: argparse.Namespace):
    """The batch job's validated configuration from its parsed arguments."""
    from pinterest_pipeline.jobs.batch import BatchConfig
    from pinterest_pipeline.lake import Upkeep

    return BatchConfig(
        args.raw_root,
        args.lake,
        args.topic_prefix,
        args.catalog,
        args.schema,
        Upkeep(retain_hours=args.retain_hours),
        cache=args.compute != "serverless",
    )


def _run_batch(args: argparse.Namespace) -> int:
    from pinterest_pipeline.jobs.batch import run_batch
    from pinterest_pipeline.readers import check_raw_root, normalize_raw_root

    config = batch_config(args)
    check_raw_root(normalize_raw_root(config.raw_root))  # before Spark starts: a typo costs no time
    with _job_session("pinterest-batch", "batch", config) as spark:
        report = run_batch(spark, config)
    print("\n".join(report.lines()))
    return 0


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the whole pipeline on this machine, with embedded defaults")
    p.add_argument("--events", type=int, default=2000, help="events to post each way (default: 2000)")
    p.add_argument("--home", default=".pinterest", help="folder for the database, raw files, lake, report")
    p.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pinterest_pipeline.demo import DemoConfig, run_demo, use_embedded_aws_credentials
    from pinterest_pipeline.session import get_spark

    config = DemoConfig(home=Path(args.home), events=args.events)
    use_embedded_aws_credentials()
    run_demo(get_spark("pinterest-demo"), config)
    return 0


def _add_stream(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stream", help="Kinesis streams to the stream tables, quarantine and real-time metrics"
    )
    p.add_argument("--lake", required=True, help="lake root for tables and checkpoints (path or URI)")
    p.add_argument("--kinesis-endpoint", help="Kinesis endpoint URL (default: AWS's; moto's server locally)")
    p.add_argument(
        "--stream-prefix",
        default=DEFAULT_PREFIX,
        help=f"streams are <prefix>-pin|geo|user (default: {DEFAULT_PREFIX})",
    )
    p.add_argument("--available-now", action="store_true", help="read what the streams hold now, then stop")
    p.add_argument("--region", default="us-east-1", help="AWS region of the streams (default: us-east-1)")
    p.add_argument(
        "--service-credential",
        help="Databricks: the name of the Unity Catalog service credential for Kinesis (a name, never a key)",
    )
    p.add_argument(
        "--catalog", help="catalog of the stream tables (needs --schema); the lake keeps checkpoints"
    )
    p.add_argument("--schema", help="schema of the stream tables (needs --catalog)")
    p.set_defaults(run=_run_stream)


def stream_config(args: argparse.Namespace):
    """The streaming job's validated configuration from its parsed arguments."""
    from pinterest_pipeline.jobs.stream import StreamConfig

    return StreamConfig(
        args.lake,
        args.kinesis_endpoint,
        args.stream_prefix,
        args.available_now,
        region=args.region,
        service_credential=args.service_credential,
        catalog=args.catalog,
        schema=args.schema,
    )


def _run_stream(args: argparse.Namespace) -> int:
    from pinterest_pipeline.jobs.stream import check_streams, run_stream
    from pinterest_pipeline.session import on_databricks

    config = stream_config(args)
    if not on_databricks():
        check_streams(config)  # before Spark starts: a typo costs no time
    with _job_session("pinterest-stream", "stream", config) as spark:
        report = run_stream(spark, config)
    print("\n".join(report.lines()))
    return 0


def _add_connect_server(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "connect-server",
        help="a Spark Connect server on this machine (Delta, UTC) for SPARK_REMOTE=sc://localhost:PORT",
    )
    p.add_argument(
        "--port", type=int, default=15002, help="loopback port, 0 for any free one (default: 15002)"
    )
    p.add_argument("--master", default="local[*]", help="the server's Spark master (default: local[*])")
    p.set_defaults(run=_run_connect_server)


def _run_connect_server(args: argparse.Namespace) -> int:
    import signal
    import threading

    from pinterest_pipeline.errors import ConfigError
    from pinterest_pipeline.session import connect_url, start_connect_server

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be 0..65535, not {args.port}")
    server, port = start_connect_server("pinterest-connect-server", args.master, args.port)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"Spark Connect server listening: SPARK_REMOTE={connect_url(port)}", flush=True)
    try:
        stop.wait()
    finally:
        _stop_server(server)
    print("Spark Connect server stopped")
    return 0


def _stop_server(server) -> None:
    import warnings

    from py4j.protocol import Py4JError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # PySpark's "unable to cleanly shutdown" warning
            server.stop()
    except (ConnectionError, Py4JError):
        pass  # SIGTERM to the process group (a service manager's stop) ended the JVM already; Ctrl-C does not
        # reach it (PySpark starts it ignoring SIGINT)


@contextmanager
def _job_session(app_name: str, job: str, config) -> Iterator:
    """The job's session, with the lake's `job` lock held (taken before Spark starts: a run that cannot proceed
    says so at once). With `--catalog spark_catalog` on this machine, the session's catalog is the lake's own, and
    its `catalog` lock is held too: the embedded metastore serves one process at a time."""
    from pinterest_pipeline.lake import is_local, lake_lock
    from pinterest_pipeline.session import LOCAL_CATALOG, get_spark, local_catalog_home, on_databricks

    local_catalog = config.catalog == LOCAL_CATALOG and is_local(config.lake) and not on_databricks()
    with ExitStack() as held:
        held.enter_context(lake_lock(config.lake, job))
        if local_catalog:
            held.enter_context(lake_lock(config.lake, "catalog"))
        yield get_spark(app_name, local_catalog_home(config.lake) if local_catalog else None)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = CommandLineParser(prog="pinterest-pipeline", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_batch(sub)
    _add_connect_server(sub)
    _add_demo(sub)
    _add_stream(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Console entry point: parse, run, and turn failures into one line and an exit code (errors.py)."""
    args = build_parser().parse_args(argv)
    return run_command(f"pinterest-pipeline {args.command}", lambda: args.run(args), describe=_spark_error)


def _spark_error(error: Exception) -> PipelineError:
    """An unexpected error in one line that names Spark's log; two writers racing on a table as a busy lake."""
    if any(marker in str(error) for marker in _CONCURRENT_WRITE):
        return LakeBusyError(
            "another run wrote the same table or checkpoint at the same moment; nothing was "
            f"written twice, run again when it ends{_log_hint()}"
        )
    return PipelineError(f"{one_line(error)}{_log_hint()}")


def _log_hint() -> str:
    from pinterest_pipeline.session import log_file

    path = log_file()
    return f" (Spark's log: {path})" if path is not None else ""


if __name__ == "__main__":
    sys.exit(main())
