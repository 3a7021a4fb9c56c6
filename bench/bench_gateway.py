"""Benchmark: records per second the local gateway sustains on the REST proxy route (batches of 1, 100, 500).

Run on demand (`python bench/bench_gateway.py`), not by pytest. The gateway runs as a child process with the
deployed sink settings (flush.size 500); the same client also drives, in the same run, a trivial HTTP server
that answers every request without touching the disk, and a loop of plain file appends with fsync, so the
figures come with references measured on the same machine at the same time. Writes
bench/results/gateway.md (a fragment of BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
KAFKA_JSON = "application/vnd.kafka.json.v2+json"
BATCHES = (1, 100, 500)

TRIVIAL_SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"offsets": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
print("listening on", server.server_address, flush=True)
server.serve_forever()
"""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sample_post(i: int) -> dict:
    """A pin record shaped like the source table's rows (about 600 bytes of JSON)."""
    return {
        "index": i,
        "unique_id": f"{i:08d}-3442-4773-b19e-d3ec6f54dddf",
        "title": "Summer crafts for kids",
        "description": "25 super fun summer crafts for kids, easy to make with things you already have …",
        "poster_name": "Of Life and Lisa",
        "follower_count": "124k",
        "tag_list": "Summer Crafts For Kids,Fun Crafts For Kids,Summer Kids,Craft Activities For Kids",
        "is_image_or_video": "image",
        "image_src": f"https://i.pinimg.com/originals/{i:08d}.png",
        "downloaded": 1,
        "save_location": "Local save in /data/diy-and-crafts",
        "category": "diy-and-crafts",
    }


def start(command: list[str]) -> subprocess.Popen:
    """Start a server process and wait for its 'listening on' line."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO)
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return proc


def drive(url: str, batch: int, requests_total: int, clients: int, seconds: float) -> dict:
    """POST `requests_total` batches from `clients` threads (stopping early after `seconds`)."""
    bodies = [
        json.dumps({"records": [{"value": sample_post(n * batch + i)} for i in range(batch)]})
        for n in range(8)
    ]
    latencies: list[float] = []
    acked = [0]
    lock = threading.Lock()
    counter = iter(range(requests_total))
    deadline = time.perf_counter() + seconds

    def client() -> None:
        with requests.Session() as session:
            for n in counter:
                if time.perf_counter() > deadline:
                    return
                began = time.perf_counter()
                response = session.post(
                    url, data=bodies[n % len(bodies)], headers={"Content-Type": KAFKA_JSON}, timeout=60
                )
                response.raise_for_status()
                with lock:
                    latencies.append(time.perf_counter() - began)
                    acked[0] += batch

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "records": acked[0],
        "requests": len(latencies),
        "seconds": elapsed,
        "records_per_s": acked[0] / elapsed,
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
    }


def fsync_appends(folder: Path, batch: int, records_total: int, seconds: float) -> float:
    """Records/s of plain appends of `batch` JSON lines followed by one fsync (the disk's own bound)."""
    lines = b"".join(json.dumps(sample_post(i)).encode() + b"\n" for i in range(batch))
    path = folder / f"append-{batch}.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    done, began = 0, time.perf_counter()
    try:
        while done < records_total and time.perf_counter() - began < seconds:
            os.write(fd, lines)
            os.fsync(fd)
            done += batch
    finally:
        os.close(fd)
    return done / (time.perf_counter() - began)


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory of a process (Linux VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def count_on_disk(raw_root: Path, topic: str) -> int:
    """Records in finished files of a topic."""
    return sum(p.read_bytes().count(b"\n") for p in (raw_root / "topics" / topic).glob("partition=*/*.json"))


def main() -> int:
    """Run the benchmark and write the markdown fragment."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads (default 4)")
    parser.add_argument("--records", type=int, default=20000, help="records per batch size (default 20000)")
    parser.add_argument("--seconds", type=float, default=20.0, help="time bound per measurement (default 20)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "gateway.md")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        tmp_path = Path(tmp)
        gateway_port, trivial_port = free_port(), free_port()
        gateway = start(
            [
                sys.executable,
                "-m",
                "pinterest_emulator.gateway",
                "--raw-root",
                str(tmp_path / "raw"),
                "--port",
                str(gateway_port),
                "--kinesis-endpoint",
                "http://127.0.0.1:9",
            ]
        )
        trivial = start([sys.executable, "-c", TRIVIAL_SERVER, str(trivial_port)])
        try:
            for batch in BATCHES:
                total_requests = max(1, args.records // batch)
                topic = "pinterest.pin"
                measured = drive(
                    f"http://127.0.0.1:{gateway_port}/topics/{topic}",
                    batch,
                    total_requests,
                    args.clients,
                    args.seconds,
                )
                reference = drive(
                    f"http://127.0.0.1:{trivial_port}/topics/{topic}",
                    batch,
                    total_requests,
                    args.clients,
                    args.seconds,
                )
                appends = fsync_appends(tmp_path, batch, args.records, args.seconds)
                rows.append((batch, measured, reference, appends))
                print(
                    f"batch {batch}: gateway {measured['records_per_s']:.0f} rec/s, trivial server "
                    f"{reference['records_per_s']:.0f} rec/s, fsync appends {appends:.0f} rec/s",
                    flush=True,
                )
            peak_mb = peak_rss_mb(gateway.pid)
        finally:
            gateway.terminate()
            gateway.wait(timeout=120)
            trivial.kill()
            trivial.wait()
        acknowledged = sum(r[1]["records"] for r in rows)
        on_disk = count_on_disk(tmp_path / "raw", "pinterest.pin")
    if on_disk != acknowledged:
        raise SystemExit(
            f"gateway lost or duplicated records: {acknowledged} acknowledged, {on_disk} on disk"
        )

    setup = (
        f"`python bench/bench_gateway.py` on {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()} (load average {os.getloadavg()[0]:.1f} at the end of the run, other "
        f"work included); {args.clients} client threads with keep-alive, records of about 600 bytes, "
        "flush.size 500, every acknowledgement after fsync. References measured in the same run: a trivial "
        "stdlib HTTP server that reads the body and answers without touching the disk, and plain appends of "
        "the same lines with one fsync per batch."
    )
    header = (
        "| batch | gateway records/s | requests/s | p50 ms | p95 ms | trivial server records/s "
        "| gateway / trivial | fsync appends records/s | gateway / appends |"
    )
    lines = [
        "## Local gateway (REST proxy route, S3-sink files)",
        "",
        setup,
        "",
        header,
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for batch, measured, reference, appends in rows:
        lines.append(
            f"| {batch} | {measured['records_per_s']:,.0f} | {measured['requests_per_s']:,.0f} | "
            f"{measured['p50_ms']:.1f} | {measured['p95_ms']:.1f} | {reference['records_per_s']:,.0f} | "
            f"{measured['records_per_s'] / reference['records_per_s']:.2f} | {appends:,.0f} | "
            f"{measured['records_per_s'] / appends:.2f} |"
        )
    summary = (
        f"All {acknowledged:,} acknowledged records were found on disk exactly once after the "
        f"gateway's clean shutdown. Peak resident memory of the gateway process: {peak_mb:.0f} MiB."
    )
    lines += ["", summary, ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
