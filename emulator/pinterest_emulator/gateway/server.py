"""`Gateway`: the local gateway's life cycle (start, close), the object the demo, the tests and the
command line use. The HTTP server and its routing are `http_server.py`; the files, `sink.py`."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Self
from urllib.parse import unquote, urlsplit

from pinterest_emulator.local_kinesis import start_moto, stop_moto
from pinterest_pipeline.names import DEFAULT_PREFIX, ENTITIES, topic

from .http_server import GatewayHTTPServer, RequestHandler
from .kinesis import KinesisProxy
from .sink import Sink

# API Gateway's payload quota, "10 MB", which it enforces as 10485760 bytes (its 413 names that number)
MAX_REQUEST_BYTES = 10 * 1024 * 1024
MAX_INFLIGHT_BYTES = 32 * 1024 * 1024  # request bodies read and being handled at once
# API Gateway's rule for a stage name: "Stage names can only contain alphanumeric characters, hyphens, and
# underscores. Maximum length is 128 characters."
# https://docs.aws.amazon.com/apigateway/latest/api/API_CreateStage.html
STAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")


def check_stage(stage: str | None) -> str | None:
    """A `--stage` name, checked: API Gateway's rule, and not a route's own first segment."""
    if stage is None:
        return None
    if not STAGE_NAME.fullmatch(stage):
        raise ValueError(
            f"invalid stage name {stage!r}: 1 to 128 letters, digits, '-' and '_' (API Gateway's rule)"
        )
    if stage in ("topics", "streams"):
        raise ValueError(f"stage name {stage!r} would be read as the route /{stage}")
    return stage


def raw_root_path(uri: str) -> Path:
    """A local path from `--raw-root` (a path or a file:// URI); other schemes are refused."""
    parsed = urlsplit(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:  # a one-letter scheme is a Windows drive
        raise ValueError(f"raw root must be a local path or file:// URI, not {parsed.scheme}://")
    return Path(uri)


class Gateway:
    """The local gateway in a background thread; use as a context manager (`url` once started)."""

    def __init__(
        self,
        raw_root: str | Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        kinesis_endpoint: str | None = None,
        flush_size: int = 500,
        rotate_interval_ms: int = 60000,
        api_key: str | None = None,
        stage: str | None = None,
        topic_prefix: str = DEFAULT_PREFIX,
        auto_create_topics: bool = False,
        partitions: int = 1,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        max_connections: int = 64,
        max_inflight_bytes: int = MAX_INFLIGHT_BYTES,
        region: str = "us-east-1",
        clock=time.time,
    ):
        self.raw_root = raw_root_path(str(raw_root))
        self.host, self.port = host, port
        self.kinesis_endpoint = kinesis_endpoint
        self.flush_size, self.rotate_interval_ms, self.partitions = flush_size, rotate_interval_ms, partitions
        self.api_key = api_key
        # None: routes are served at the root and under any one-segment stage prefix; a name: only under it
        self.stage = check_stage(stage)
        self.topic_prefix = topic_prefix
        self.auto_create_topics = auto_create_topics
        self.max_request_bytes = max_request_bytes
        self.max_connections = max_connections
        self.max_inflight_bytes = max_inflight_bytes
        self.region = region
        self.clock = clock  # the records' timestamps, which rotation is on
        self.sink: Sink | None = None
        self.kinesis: KinesisProxy | None = None
        self._server: GatewayHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._own_moto: str | None = None
        self.url: str | None = None  # the base URL, once started

    def start(self) -> Gateway:
        """Recover the raw root, bind, and serve in background threads."""
        if self.raw_root.exists() and not self.raw_root.is_dir():
            raise ValueError(f"raw root {self.raw_root} is not a folder")
        self.sink = Sink(self.raw_root, self.flush_size, self.rotate_interval_ms, self.partitions, self.clock)
        for entity in ENTITIES:
            self.sink.create_topic(topic(self.topic_prefix, entity))
        try:
            self._server = GatewayHTTPServer(
                (self.host, self.port), RequestHandler, self, self.max_connections
            )
            if self.kinesis_endpoint is None:
                self.kinesis_endpoint = self._own_moto = start_moto()
        except BaseException:
            if self._server is not None:
                self._server.server_close()
                self._server = None
            self.sink.close()
            raise
        self.url = "http://{}:{}".format(*self._server.server_address[:2])
        loopback = urlsplit(self.kinesis_endpoint).hostname in ("127.0.0.1", "localhost")
        self.kinesis = KinesisProxy(
            self.kinesis_endpoint,
            self.region,
            local=self._own_moto is not None or loopback,
            max_connections=self.max_connections,
        )
        self._threads = [
            threading.Thread(target=self._server.serve_forever, args=(0.1,), name="gateway-http", daemon=True)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def close(self) -> None:
        """Stop accepting, finish in-flight requests, then publish every staged record."""
        if self._server is None:
            return
        self._server.stop_reading()
        self._server.shutdown()
        self._server.server_close()  # joins the request threads
        for thread in self._threads:
            thread.join()
        self.sink.close()
        self.kinesis.close()
        if self._own_moto:
            stop_moto(self._own_moto)
            self.kinesis_endpoint = self._own_moto = None  # a restart starts a new one
        self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
