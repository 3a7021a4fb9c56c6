"""`pinterest-emulator gateway`: the local API gateway (Kafka REST proxy + S3 sink files, Kinesis proxy).

Topics: `<prefix>.pin|geo|user` always exist (prefix `pinterest`, `--topic-prefix`); with
`--auto-create-topics` a produce to any other legal topic name creates it, like Kafka's
auto.create.topics.enable, and topics found on disk at start exist again. The Python API for the demo and
tests is `Gateway` (a context manager); a Kinesis endpoint of one's own is `pinterest_emulator.local_kinesis`.
"""

from __future__ import annotations

import argparse
import signal
import threading

from pinterest_emulator import KEY_VARIABLE, resolve_api_key
from pinterest_pipeline.errors import ConfigError
from pinterest_pipeline.names import DEFAULT_PREFIX

from .server import Gateway, check_stage

__all__ = ["Gateway", "add_arguments", "run"]


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _stage(text: str) -> str:
    try:
        return check_stage(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the gateway's command-line options."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8082, help="port to bind (default 8082; 0 picks one)")
    parser.add_argument("--raw-root", required=True, help="folder (or file:// URI) the sink files land in")
    parser.add_argument("--kinesis-endpoint", help="Kinesis endpoint URL (default: moto, in-process)")
    parser.add_argument(
        "--flush-size",
        type=_positive,
        default=500,
        help="records per sink file, the connector's flush.size (default 500)",
    )
    parser.add_argument(
        "--rotate-interval-ms",
        type=_positive,
        default=60000,
        help="finish an open file when a record arrives this long or more after the file's first record "
        "(record time, the connector's rotate.interval.ms with timestamp.extractor=Record; default 60000)",
    )
    parser.add_argument(
        "--api-key",
        help="require this x-api-key header, as an API Gateway usage plan does "
        f"(default: ${KEY_VARIABLE} if set, which keeps the key out of the process list)",
    )
    parser.add_argument(
        "--stage",
        type=_stage,
        help="serve the routes under /STAGE/ (as an invoke URL's stage) and at the root, and no other "
        "stage (default: any one path segment before /topics or /streams is taken as a stage)",
    )
    parser.add_argument(
        "--topic-prefix", default=DEFAULT_PREFIX, help="topics <prefix>.pin|geo|user always exist"
    )
    parser.add_argument(
        "--auto-create-topics",
        action="store_true",
        help="create any other topic on its first produce request",
    )
    parser.add_argument(
        "--partitions", type=_positive, default=1, help="partitions of a new topic (default 1)"
    )
    parser.add_argument(
        "--max-connections",
        type=_positive,
        default=64,
        help="concurrent connections served; more wait in the backlog (default 64)",
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or SIGINT, then shut down cleanly (every acknowledged record in a file), exit 0.

    A gateway that cannot start (a raw root that is not a local folder, a port in use or not allowed) raises
    ConfigError: these are settings to change.
    """
    try:
        gateway = Gateway(
            args.raw_root,
            host=args.host,
            port=args.port,
            kinesis_endpoint=args.kinesis_endpoint,
            flush_size=args.flush_size,
            rotate_interval_ms=args.rotate_interval_ms,
            api_key=resolve_api_key(args.api_key),
            stage=args.stage,
            topic_prefix=args.topic_prefix,
            auto_create_topics=args.auto_create_topics,
            partitions=args.partitions,
            max_connections=args.max_connections,
        )
        gateway.start()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot start: {exc}") from exc
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(
        f"gateway listening on {gateway.url} (raw root {gateway.raw_root}, kinesis {gateway.kinesis_endpoint})",
        flush=True,
    )
    while not stop.wait(0.5):
        pass
    gateway.close()
    print(
        f"gateway stopped: {gateway.sink.records_appended} records acknowledged, "
        f"{gateway.sink.files_written} files written",
        flush=True,
    )
    return 0
