"""The HTTP server: routing, API key, size limits, bounded concurrency, and the `Gateway` context manager."""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import unquote, urlsplit

from pinterest_emulator.local_kinesis import start_moto, stop_moto
from pinterest_pipeline.names import DEFAULT_PREFIX, ENTITIES, topic

from . import kafka_rest, openapi
from .kinesis import KinesisProxy, ProxyResponse
from .sink import Sink

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
MAX_INFLIGHT_BYTES = 32 * 1024 * 1024  # request bodies read and being handled at once
DRAIN_BYTES = 64 * 1024 * 1024  # a refused body up to this size is read (and dropped) before the 413


class ByteBudget:
    """Bytes of request bodies held in memory at once: a reader waits until its body fits."""

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0
        self._cond = threading.Condition()

    def acquire(self, size: int, blocking: bool = True) -> bool:
        """Reserve `size` bytes (at most the limit), waiting for room unless `blocking` is false."""
        size = min(size, self.limit)
        with self._cond:
            while self.used + size > self.limit:
                if not blocking:
                    return False
                self._cond.wait()
            self.used += size
            return True

    def release(self, size: int) -> None:
        """Give back what `acquire(size)` reserved."""
        with self._cond:
            self.used -= min(size, self.limit)
            self._cond.notify_all()


class _Server(ThreadingHTTPServer):
    """A threading server with a bound on concurrent connections (memory stays bounded under load)."""

    daemon_threads = False
    block_on_close = True
    request_queue_size = 128

    def __init__(self, address, handler, gateway: Gateway, max_connections: int):
        self.gateway = gateway
        self.budget = ByteBudget(max(gateway.max_inflight_bytes, gateway.max_request_bytes))
        self._slots = threading.BoundedSemaphore(max_connections)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self.closing = False
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        if self.closing:
            self.shutdown_request(request)
            return
        # waiting for a free slot stops accepting, so excess clients queue in the kernel's backlog
        while not self._slots.acquire(timeout=0.2):
            if self.closing:
                self.shutdown_request(request)
                return
        with self._open_lock:
            self._open.add(request)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release(request)
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release(request)

    def _release(self, request) -> None:
        with self._open_lock:
            self._open.discard(request)
        self._slots.release()

    def handle_error(self, request, client_address):
        # a client that hangs up mid-answer is routine; anything else is worth a traceback
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("client %s went away", client_address)
        else:
            log.exception("error serving %s", client_address)

    def stop_reading(self) -> None:
        """End idle keep-alive connections: a request being handled still gets its response."""
        self.closing = True
        with self._open_lock:
            for request in self._open:
                try:
                    request.shutdown(socket.SHUT_RD)
                except OSError:
                    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pinterest-gateway"
    timeout = 60  # an idle keep-alive connection frees its slot after this
    disable_nagle_algorithm = True  # headers and body go out in two writes; Nagle would hold the second

    def log_message(self, format, *args):
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _not_allowed(self):
        """Any other method: 405 in the proxy's shape (the base class would answer 501)."""
        self._dispatch(self.command)

    do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed

    def do_HEAD(self):
        self.close_connection = True  # a HEAD answer has no body to delimit
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    def _send(self, status: int, body, content_type: str = "application/json") -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering a length error (the connection then closes)."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._send(411, {"error_code": 411, "message": "Content-Length is required"})
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            self._send(400, {"error_code": 400, "message": "invalid Content-Length"})
            return None
        limit = self.server.gateway.max_request_bytes
        if length > limit:
            self.close_connection = True
            self._discard(min(length, DRAIN_BYTES))
            self._send(413, {"error_code": 413, "message": f"Request body is larger than {limit} bytes"})
            return None
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            return None
        return body

    def _discard(self, length: int) -> None:
        """Read and drop a refused body, so the client is not reset before it reads the answer."""
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                return
            length -= len(chunk)

    def _dispatch(self, method: str) -> None:
        length = self.headers.get("Content-Length", "0")
        size = int(length) if length.isdigit() else 0
        size = size if size <= self.server.gateway.max_request_bytes else 0  # never read: answered with 413
        # bodies (and the objects parsed from them) in memory at once stay within the byte budget
        self.server.budget.acquire(size)
        try:
            body = self._read_body()
            if body is not None:
                self._route(method, body)
        finally:
            self.server.budget.release(size)

    def _route(self, method: str, body: bytes) -> None:
        gateway = self.server.gateway
        parts = [unquote(p) for p in urlsplit(self.path).path.split("/") if p]
        if method == "GET" and parts == ["openapi.json"]:
            return self._send(200, openapi.document())
        if gateway.api_key is not None and self.headers.get("x-api-key") != gateway.api_key:
            return self._send(403, {"message": "Forbidden"})
        try:
            if parts and parts[0] == "topics":
                self._kafka(method, parts[1:], body)
            elif parts and parts[0] == "streams":
                self._kinesis(method, parts[1:], body)
            else:
                self._send(404, {"error_code": 404, "message": "HTTP 404 Not Found"})
        except kafka_rest.ProxyError as exc:
            self._send(exc.status, exc.body())
        except ProxyResponse as exc:
            self._send(exc.status, exc.body)
        except Exception as exc:  # the proxy answers 500 with its error shape rather than dropping the client
            log.exception("request failed")
            self._send(500, {"error_code": 50002, "message": f"Internal error: {exc}"})

    def _kafka(self, method: str, rest: list[str], body: bytes) -> None:
        gateway = self.server.gateway
        allowed = {0: ("GET",), 1: ("GET", "POST")}.get(len(rest))
        if allowed is None:
            return self._send(404, {"error_code": 404, "message": "HTTP 404 Not Found"})
        if method not in allowed:
            return self._send(405, {"error_code": 405, "message": "HTTP 405 Method Not Allowed"})
        kind = kafka_rest.RESPONSE_CONTENT_TYPE
        if not rest:
            return self._send(200, kafka_rest.list_topics(gateway.sink), kind)
        if method == "GET":
            return self._send(
                200, kafka_rest.describe_topic(gateway.sink, rest[0], gateway.sink.flush_size), kind
            )
        response = kafka_rest.produce(
            gateway.sink, rest[0], self.headers.get("Content-Type"), body, gateway.auto_create_topics
        )
        self._send(200, response, kind)

    def _kinesis(self, method: str, rest: list[str], body: bytes) -> None:
        kinesis = self.server.gateway.kinesis
        routes = {
            (0, "GET"): lambda: kinesis.list_streams(),
            (1, "POST"): lambda: kinesis.create_stream(rest[0], body),
            (1, "GET"): lambda: kinesis.describe_stream(rest[0]),
            (1, "DELETE"): lambda: kinesis.delete_stream(rest[0]),
        }
        if len(rest) == 2 and rest[1] in ("record", "records"):
            routes[(2, "PUT")] = lambda: (kinesis.put_record if rest[1] == "record" else kinesis.put_records)(
                rest[0], body
            )
        route = routes.get((len(rest), method))
        if route is None:
            known = any(length == len(rest) for length, _ in routes)
            return self._send(
                405 if known else 404, {"message": "Method Not Allowed" if known else "Not Found"}
            )
        status, response = route()
        self._send(status, response)


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
        topic_prefix: str = DEFAULT_PREFIX,
        auto_create_topics: bool = False,
        partitions: int = 1,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        max_connections: int = 64,
        max_inflight_bytes: int = MAX_INFLIGHT_BYTES,
        region: str = "us-east-1",
    ):
        self.raw_root = raw_root_path(str(raw_root))
        self.host, self.port = host, port
        self.kinesis_endpoint = kinesis_endpoint
        self.flush_size, self.rotate_interval_ms, self.partitions = flush_size, rotate_interval_ms, partitions
        self.api_key = api_key
        self.topic_prefix = topic_prefix
        self.auto_create_topics = auto_create_topics
        self.max_request_bytes = max_request_bytes
        self.max_connections = max_connections
        self.max_inflight_bytes = max_inflight_bytes
        self.region = region
        self.sink: Sink | None = None
        self.kinesis: KinesisProxy | None = None
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._own_moto: str | None = None
        self.url: str | None = None  # the base URL, once started

    def start(self) -> Gateway:
        """Recover the raw root, bind, and serve in background threads."""
        if self.raw_root.exists() and not self.raw_root.is_dir():
            raise ValueError(f"raw root {self.raw_root} is not a folder")
        self.sink = Sink(self.raw_root, self.flush_size, self.rotate_interval_ms, self.partitions)
        for entity in ENTITIES:
            self.sink.create_topic(topic(self.topic_prefix, entity))
        try:
            self._server = _Server((self.host, self.port), _Handler, self, self.max_connections)
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
            threading.Thread(
                target=self._server.serve_forever, args=(0.1,), name="gateway-http", daemon=True
            ),
            threading.Thread(target=self._rotate, name="gateway-rotate", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def _rotate(self) -> None:
        tick = min(1.0, max(0.01, self.rotate_interval_ms / 4000))
        while not self._stop.wait(tick):
            try:
                self.sink.rotate_due()
            except OSError:
                log.exception("rotation failed; retrying on the next tick")

    def close(self) -> None:
        """Stop accepting, finish in-flight requests, then publish every staged record."""
        if self._server is None:
            return
        self._server.stop_reading()
        self._server.shutdown()
        self._server.server_close()  # joins the request threads
        self._stop.set()
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
