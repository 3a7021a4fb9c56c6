"""A throttling Kinesis: a loopback HTTP proxy in front of moto's server that answers a share of PutRecord(s)
calls with ProvisionedThroughputExceededException and fails a share of the records inside PutRecords calls.

A record reported as failed never reaches moto (the proxy forwards only the others and merges moto's results
back in order), exactly as Kinesis behaves: what is in the stream afterwards is what was acknowledged.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import urlsplit

JSON_11 = "application/x-amz-json-1.1"


class ThrottlingKinesis:
    """Start with `with ThrottlingKinesis(moto_url, ...) as proxy:`; `proxy.url` is the endpoint to use."""

    def __init__(self, upstream: str, throttle_share: float, record_fail_share: float, seed: int = 3):
        self.upstream = urlsplit(upstream)
        self.throttle_share = throttle_share
        self.record_fail_share = record_fail_share
        self.throttled = 0  # whole calls answered with ProvisionedThroughputExceededException
        self.failed_records = 0  # records reported failed inside PutRecords answers
        self.forwarded_records = 0  # records that reached moto
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.url = ""

    def _roll(self) -> float:
        with self._lock:
            return self._rng.random()

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes, str]:
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        try:
            headers = {
                k: v for k, v in handler.headers.items() if k.lower() not in ("host", "content-length")
            }
            headers["Content-Length"] = str(len(body))
            conn.request(handler.command, handler.path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read(), response.getheader("Content-Type", JSON_11)
        finally:
            conn.close()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        action = (handler.headers.get("X-Amz-Target") or "").rsplit(".", 1)[-1]
        if action in ("PutRecord", "PutRecords") and self._roll() < self.throttle_share:
            with self._lock:
                self.throttled += 1
            request = json.loads(body)
            return _answer(
                handler,
                400,
                {
                    "__type": "ProvisionedThroughputExceededException",
                    "message": f"Rate exceeded for shard shardId-000000000000 in stream {request.get('StreamName')}",
                },
            )
        if action != "PutRecords":
            status, data, kind = self._forward(handler, body)
            if action == "PutRecord" and status == 200:
                with self._lock:
                    self.forwarded_records += 1
            return _answer(handler, status, data, kind)
        request = json.loads(body)
        failing = [self._roll() < self.record_fail_share for _ in request["Records"]]
        kept = [r for r, fails in zip(request["Records"], failing) if not fails]
        results = iter([])
        if kept:
            status, data, kind = self._forward(handler, json.dumps({**request, "Records": kept}).encode())
            if status != 200:
                return _answer(handler, status, data, kind)
            results = iter(json.loads(data)["Records"])
        merged = [
            {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded for shard"}
            if fails
            else next(results)
            for fails in failing
        ]
        with self._lock:
            self.failed_records += sum(failing)
            self.forwarded_records += len(kept)
        return _answer(handler, 200, {"FailedRecordCount": sum(failing), "Records": merged})

    def __enter__(self) -> Self:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                proxy.handle(self)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def _answer(handler: BaseHTTPRequestHandler, status: int, body, kind: str = JSON_11) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", kind)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def stream_records(client, stream: str) -> list[bytes]:
    """The data of every record in a stream (all shards, from the start), read straight from Kinesis."""
    data = []
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        iterator = client.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = client.get_records(ShardIterator=iterator, Limit=10_000)
            data += [r["Data"] for r in page["Records"]]
            iterator = page.get("NextShardIterator") if page["Records"] else None
    return data
