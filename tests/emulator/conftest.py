"""Fixtures of the seeding and posting tests: SQLite databases, real data, an HTTP sink (`mysql_url` is in
tests/conftest.py, shared with the fault and security tiers).

Names are specific (mysql_url, sqlite_url, http_sink, ...) because the gateway tests share this folder.
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from outside_inputs import real_data_dir


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A SQLite database file in the test's temporary folder (not created yet)."""
    return f"sqlite:///{tmp_path / 'source.db'}"


@pytest.fixture(scope="session")
def real_source_dir() -> Path:
    """The real source rows (skips where they are absent: they are never copied into the repository)."""
    return real_data_dir("geolocation_data.csv")


@pytest.fixture(scope="session")
def seeded_sqlite(tmp_path_factory) -> str:
    """A SQLite source with the default 11,154 synthetic rows (seed 1), shared read-only by the session."""
    from pinterest_emulator.seed import seed_database

    url = f"sqlite:///{tmp_path_factory.mktemp('seeded') / 'source.db'}"
    seed_database(url, rows=11154, seed=1, progress=False)
    return url


@pytest.fixture(scope="session")
def real_sqlite(tmp_path_factory, real_source_dir) -> str:
    """A SQLite source loaded from the real files (--from-real)."""
    from pinterest_emulator.seed import seed_database

    url = f"sqlite:///{tmp_path_factory.mktemp('real') / 'source.db'}"
    seed_database(url, from_real=str(real_source_dir), progress=False)
    return url


@dataclass
class RecordingSink:
    """A loopback HTTP server answering like the Kafka REST proxy and API Gateway's Kinesis proxy.

    It records every request, and can fail a share of requests (500, 429 or a dropped connection) and a share of
    the records inside accepted requests (the per-record errors of REST proxy offsets and PutRecords), drawn
    from a seeded generator. `accepted` holds (path, record) for every record it acknowledged.
    """

    fail_share: float = 0.0
    fail_modes: tuple = (500, 429, "drop")
    record_fail_share: float = 0.0
    reject_status: int | None = None
    seed: int = 7
    requests: list = field(default_factory=list)
    accepted: list = field(default_factory=list)
    url: str = ""

    def __post_init__(self):
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)

    def values(self, path: str) -> list:
        """Records acknowledged on a path, in arrival order."""
        return [value for p, value in self.accepted if p == path]

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one request."""
        body = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
        with self._lock:
            self.requests.append(
                {
                    "method": handler.command,
                    "path": handler.path,
                    "headers": dict(handler.headers),
                    "body": body,
                }
            )
            roll = self._rng.random()
            mode = self._rng.choice(self.fail_modes)
        if self.reject_status:
            return _answer(
                handler, self.reject_status, {"error_code": self.reject_status, "message": "rejected"}
            )
        if roll < self.fail_share:
            if mode == "drop":
                handler.close_connection = True
                return
            return _answer(handler, mode, {"message": f"injected {mode}"})
        payload = json.loads(body)
        if handler.command == "POST" and handler.path.startswith("/topics/"):
            offsets = []
            for record in payload["records"]:
                if self._fails_record():
                    offsets.append(
                        {"partition": None, "offset": None, "error_code": 50003, "error": "injected"}
                    )
                else:
                    offsets.append(
                        {
                            "partition": 0,
                            "offset": self._accept(handler.path, record["value"]),
                            "error_code": None,
                            "error": None,
                        }
                    )
            return _answer(handler, 200, {"key_schema_id": None, "value_schema_id": None, "offsets": offsets})
        if handler.command == "PUT" and handler.path.endswith("/records"):
            results, failed = [], 0
            for record in payload["Records"]:
                if self._fails_record():
                    failed += 1
                    results.append(
                        {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "x"}
                    )
                else:
                    seq = self._accept(handler.path, record)
                    results.append({"SequenceNumber": str(seq), "ShardId": "shardId-000000000000"})
            return _answer(handler, 200, {"FailedRecordCount": failed, "Records": results})
        if handler.command == "PUT" and handler.path.endswith("/record"):
            seq = self._accept(
                handler.path, {"Data": payload["Data"], "PartitionKey": payload["PartitionKey"]}
            )
            return _answer(handler, 200, {"SequenceNumber": str(seq), "ShardId": "shardId-000000000000"})
        return _answer(handler, 404, {"message": f"no route {handler.command} {handler.path}"})

    def _fails_record(self) -> bool:
        with self._lock:
            return self._rng.random() < self.record_fail_share

    def _accept(self, path: str, value) -> int:
        with self._lock:
            self.accepted.append((path, value))
            return len(self.accepted) - 1


def _answer(handler: BaseHTTPRequestHandler, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


@pytest.fixture
def http_sink():
    """A running RecordingSink on 127.0.0.1 (a free port); configure its failure shares before posting."""
    sink = RecordingSink()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            sink.handle(self)

        do_PUT = do_POST

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sink.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield sink
    server.shutdown()
    server.server_close()
