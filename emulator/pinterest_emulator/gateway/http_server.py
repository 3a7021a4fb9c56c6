"""The gateway's HTTP server and its request routing.

`GatewayHTTPServer` bounds concurrent connections (excess clients wait in the listen backlog) and request
bodies held in memory (a `ByteBudget`); `RequestHandler` enforces API Gateway's limits (Content-Length
required, 10 MiB bodies), the API key, and routes `/topics...` to the Kafka REST proxy and `/streams...` to
the Kinesis proxy. Both read their settings and services (sink, Kinesis proxy) from the `Gateway` that owns
the server.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from . import kafka_rest, openapi
from .budget import ByteBudget
from .kinesis import ProxyResponse

if TYPE_CHECKING:
    from .server import Gateway

log = logging.getLogger(__name__)

DRAIN_BYTES = 64 * 1024 * 1024  # a refused body up to this size is read (and dropped) before the 413


ROUTE_ROOTS = ("topics", "streams", "openapi.json")


def strip_stage(parts: list[str], stage: str | None) -> tuple[list[str], str | None]:
    """The path's segments without an API Gateway stage prefix, and the stage refused (None when served).

    A deployed API is called at `https://{api}.execute-api.{region}.amazonaws.com/{stage}/...` (the course's
    scripts use `/prod/...`, `/Prod/...`): one segment before a route's first segment is that stage. With no
    `stage` configured any name is served; with one, only it (and the bare routes) are. A path whose first
    segment is already a route's is never a stage: `/topics/streams` is the topic `streams`.
    """
    if len(parts) < 2 or parts[0] in ROUTE_ROOTS or parts[1] not in ROUTE_ROOTS:
        return parts, None
    if stage is not None and parts[0] != stage:
        return parts, parts[0]
    return parts[1:], None


class GatewayHTTPServer(ThreadingHTTPServer):
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


class RequestHandler(BaseHTTPRequestHandler):
    """One connection: body limits and the byte budget, the API key, then the route's answer."""

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
            # API Gateway's answer over its 10 MB payload quota (a 413 whose body cannot be customized,
            # https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html);
            # the text is the one it sends (as plain text; here in the JSON message every error has)
            self._send(413, {"message": f"HTTP content length exceeded {limit} bytes."})
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
        url = urlsplit(self.path)
        # empty segments are dropped: `{invoke_url}/{stage}/topics` with an empty stage is `//topics`
        parts = [unquote(p) for p in url.path.split("/") if p]
        parts, wrong_stage = strip_stage(parts, gateway.stage)
        if wrong_stage is not None:
            return self._send(
                404, {"message": f"Stage {wrong_stage!r} not found (this gateway serves {gateway.stage!r})"}
            )
        if method == "GET" and parts == ["openapi.json"]:
            return self._send(200, openapi.document())
        if gateway.api_key is not None and self.headers.get("x-api-key") != gateway.api_key:
            return self._send(403, {"message": "Forbidden"})
        try:
            if parts and parts[0] == "topics":
                self._kafka(method, parts[1:], body)
            elif parts and parts[0] == "streams":
                self._kinesis(method, parts[1:], body, url.query)
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

    def _kinesis(self, method: str, rest: list[str], body: bytes, query: str) -> None:
        kinesis = self.server.gateway.kinesis
        routes = {
            (0, "GET"): lambda: kinesis.list_streams(parse_qs(query, keep_blank_values=True)),
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
