"""Benchmark: events per second from a MariaDB source to a local HTTP sink, the emulator beside the original's way.

Run on demand (`python bench/bench_post.py`, or `make bench`), not by pytest. The source is the MariaDB database
`pinterest_bench` on 127.0.0.1 (or --db-url), seeded with 1,000,000 rows on the first run. A trivial Kafka REST
sink runs as a child process (so it does not share the emulator's interpreter lock); in the same run it
measures:
- the original's way: per event, `SELECT * FROM <table> LIMIT n, 1` on each table and one POST per record on a
  fresh connection (the course's `requests.request("POST", ...)`);
- this emulator: batched `IN (...)` reads with bound parameters and one keep-alive request per table and batch.
Both with the original sampling (indexes 0..11000) and with uniform sampling over the whole table. Writes
bench/results/post.md (a fragment of BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KAFKA_JSON = "application/vnd.kafka.json.v2+json"
DEFAULT_DB_URL = "mysql+pymysql://root@127.0.0.1:3306/pinterest_bench"

SINK = """
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def do_POST(self):
        records = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))["records"]
        body = json.dumps({"offsets": [{"partition": 0, "offset": i, "error_code": None, "error": None}
                                       for i in range(len(records))]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.kafka.v2+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink() -> tuple[subprocess.Popen, str]:
    """The trivial sink as a child process, and its URL once it answers."""
    import requests

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SINK, str(port)])
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.post(url + "/topics/warmup", json={"records": []}, timeout=1)
            return proc, url
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the sink did not start")


def original_way(db_url: str, gateway: str, indexes, count: int, seconds: float) -> tuple[int, float]:
    """The course's loop without its sleep: three LIMIT n, 1 queries and three fresh-connection POSTs per event."""
    import requests
    from pinterest_emulator import db
    from pinterest_emulator.post import serialise
    from sqlalchemy import text

    from pinterest_pipeline.names import DEFAULT_PREFIX, topic

    engine = db.make_engine(db_url)
    events = 0
    started = time.monotonic()
    with engine.connect() as conn:
        for n in itertools.islice(indexes, count):
            for entity, table in db.TABLE_NAMES.items():
                row = conn.execute(text(f"SELECT * FROM {table} LIMIT :n, 1"), {"n": n}).mappings().first()
                payload = json.dumps({"records": [{"value": serialise(dict(row))}]})
                response = requests.request(
                    "POST",
                    f"{gateway}/topics/{topic(DEFAULT_PREFIX, entity)}",
                    data=payload,
                    headers={"Content-Type": KAFKA_JSON},
                )
                response.raise_for_status()
            events += 1
            if time.monotonic() - started >= seconds:
                break
    engine.dispose()
    return events, time.monotonic() - started


def ensure_source(db_url: str, rows: int) -> int:
    """Seed the source (creating a MySQL database if needed) unless it already holds `rows` rows per table."""
    from pinterest_emulator import db
    from pinterest_emulator.seed import seed_database
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() == "mysql":
        import pymysql

        conn = pymysql.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 3306,
            user=url.username or "root",
            password=url.password or "",
        )
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{url.database}` CHARACTER SET utf8mb4")
        conn.close()
    engine = db.make_engine(db_url)
    ready = len(db.existing_tables(engine)) == 3 and db.index_span(engine) == rows
    engine.dispose()
    if not ready:
        print(f"seeding {rows:,} rows into {db_url} (once; later runs reuse them)", flush=True)
        seed_database(db_url, rows=rows, seed=1, replace=True, progress=True)
    return rows


def main() -> int:
    """Run every scenario and write bench/results/post.md."""
    from pinterest_emulator import sampling
    from pinterest_emulator.config import PostConfig
    from pinterest_emulator.post import post_events

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db-url",
        default=os.environ.get("PINTEREST_BENCH_DB_URL", DEFAULT_DB_URL),
        help=f"source database (default $PINTEREST_BENCH_DB_URL or {DEFAULT_DB_URL})",
    )
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows the source must hold (seeded if not)"
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="time budget of each scenario")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "post.md"))
    args = parser.parse_args()

    rows = ensure_source(args.db_url, args.rows)
    proc, sink = start_sink()
    results = []
    try:
        for label, make in (
            ("original (0..11000)", lambda: sampling.original_indexes()),
            (f"uniform (0..{rows - 1:,})", lambda: sampling.uniform_indexes(rows, 1)),
        ):
            events, took = original_way(args.db_url, sink, make(), 100000, args.seconds)
            results.append((label, "original's way: LIMIT n, 1 + one request per record", events, took))
            print(results[-1], flush=True)
            for batch in (1, 100, 500):
                report = post_events(
                    PostConfig(
                        "kafka-rest",
                        args.db_url,
                        gateway=sink,
                        sampling="original" if label.startswith("original") else "uniform",
                        duration=args.seconds,
                        batch_size=batch,
                    ),
                    progress=False,
                )
                assert report.ok, report.error
                results.append((label, f"emulator, batch {batch}", report.events, report.seconds))
                print(results[-1], flush=True)
    finally:
        proc.terminate()
        proc.wait()

    baseline = {label: events / took for label, how, events, took in results if how.startswith("original's")}
    lines = [
        "## Posting emulator (MariaDB source to a local HTTP sink)",
        "",
        (
            f"`python bench/bench_post.py` on {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, MariaDB on 127.0.0.1 with {rows:,} rows per table (`seed-db --rows "
            f"{rows}`), load average {os.getloadavg()[0]:.1f} at the end of the run (other work included). Sink: a "
            f"trivial Kafka REST server in a child process that parses each body and answers one offset per record. "
            f"Each scenario runs for {args.seconds:.0f} s; an event is three records (pin, geo, user)."
        ),
        "",
        "| sampling | how | events | seconds | events/s | vs original's way |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for label, how, events, took in results:
        rate = events / took
        shown = f"{rate:,.0f}" if rate >= 10 else f"{rate:.2f}"
        lines.append(
            f"| {label} | {how} | {events:,} | {took:.1f} | {shown} | {rate / baseline[label]:,.1f}x |"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
