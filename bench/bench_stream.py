"""Streaming job benchmark: post-to-row latency at a steady rate and the drain rate of a backlog, on moto's Kinesis.

The job runs as a user starts it, with its default settings (`run_stream` with a lake and an endpoint: the
default trigger, one query over the three streams), against a local moto server, writing Delta tables with
Spark's Delta writer. References measured in the same run: a plain boto3 consumer polling the same streams (the
latency floor of Kinesis on this endpoint, and the read-rate ceiling of the backlog).

`python bench/bench_stream.py` runs each configuration (rate, shards, classic or Spark Connect) in a process of
its own and writes bench/results/stream.md; `--one` runs one configuration in this process and prints its figures
as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("PINTEREST_SPARK_MASTER", "local[2]")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

# (mode, posts per second, shards per stream): the goal configuration in both modes, the job before this design
# (`baseline`: revision BASELINE, five queries, one per entity and per metric) the same way, then growth.
CONFIGS = [("classic", 10.0, 2), ("connect", 10.0, 2), ("baseline", 10.0, 2), ("classic", 50.0, 4)]
BASELINE = "d61309c"


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def put_posts(client, prefix: str, indexes: list[int]) -> float:
    """Put the posts' three records; returns the time the pins were acknowledged."""
    from stream.records import posts

    acked = 0.0
    for entity, records in posts(indexes).items():
        entries = [
            {"Data": json.dumps(r).encode(), "PartitionKey": str(r.get("index", r.get("ind")))}
            for r in records
        ]
        for start in range(0, len(entries), 500):
            client.put_records(StreamName=f"{prefix}-{entity}", Records=entries[start : start + 500])
        if entity == "pin":
            acked = time.time()
    return acked


class TableWatcher(threading.Thread):
    """Polls a Delta table (delta-rs, outside Spark) every 50 ms: when each new version was first seen, and when
    each ind of the `key` column first appeared."""

    def __init__(self, table: Path, key: str | None = "ind"):
        super().__init__(daemon=True)
        self.table, self.key = table, key
        self.seen: dict = {}
        self.versions: list[float] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        from deltalake import DeltaTable

        version = None
        while not self.stopping.is_set():
            if DeltaTable.is_deltatable(str(self.table)):
                dt = DeltaTable(str(self.table))
                if dt.version() != version:
                    version, now = dt.version(), time.time()
                    self.versions.append(now)
                    if self.key:
                        column = dt.to_pyarrow_dataset().to_table(columns=[self.key]).column(self.key)
                        for ind in column.to_pylist():
                            self.seen.setdefault(ind, now)
            time.sleep(0.05)

    def first_after(self, moment: float) -> float | None:
        """The first version seen at or after `moment`."""
        return next((t for t in self.versions if t >= moment), None)


class ReferenceConsumer(threading.Thread):
    """A plain boto3 consumer of the three streams: when each record was first returned by GetRecords."""

    def __init__(self, client, streams: list[str]):
        super().__init__(daemon=True)
        self.client, self.streams, self.stopping = client, streams, threading.Event()
        self.seen: dict[tuple[str, int], float] = {}

    def run(self) -> None:
        iterators = {
            (stream, s["ShardId"]): self.client.get_shard_iterator(
                StreamName=stream, ShardId=s["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for stream in self.streams
            for s in self.client.list_shards(StreamName=stream)["Shards"]
        }
        while not self.stopping.is_set():
            for (stream, shard), iterator in iterators.items():
                page = self.client.get_records(ShardIterator=iterator, Limit=10_000)
                now = time.time()
                for record in page["Records"]:
                    body = json.loads(record["Data"])
                    self.seen.setdefault((stream, body.get("index", body.get("ind"))), now)
                iterators[(stream, shard)] = page["NextShardIterator"]
            time.sleep(0.05)


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def run_one(rate: float, seconds: float, backlog: int, shards: int) -> dict:
    """One configuration in this process (SPARK_REMOTE set: through Spark Connect): its figures."""
    import boto3
    from pinterest_emulator.local_kinesis import start_moto, stop_moto

    from pinterest_pipeline.jobs.stream import StreamConfig, run_stream
    from pinterest_pipeline.names import ENTITIES
    from pinterest_pipeline.session import get_spark

    endpoint = start_moto()
    client = boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1")
    prefix = "bench"
    streams = [f"{prefix}-{entity}" for entity in ENTITIES]
    for stream in streams:
        client.create_stream(StreamName=stream, ShardCount=shards)
    for stream in streams:
        client.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.1})
    home = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    lake = home / "lake"
    spark = get_spark("pinterest-bench-stream")
    config = StreamConfig(str(lake), endpoint, prefix)  # the job's defaults
    failure: list[BaseException] = []

    def job() -> None:
        try:
            run_stream(spark, config)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            failure.append(error)

    pins = TableWatcher(lake / "stream" / "pin")
    metrics = [
        TableWatcher(lake / "stream" / "metrics" / name, None)
        for name in ("profile_popularity", "category_popularity")
    ]
    reference = ReferenceConsumer(client, streams)
    runner = threading.Thread(target=job, daemon=True)
    # Warm-up post: the job's first batch pays for starting its query and Python workers.
    put_posts(client, prefix, [0])
    runner.start()
    for watcher in (pins, *metrics, reference):
        watcher.start()
    if not wait_until(lambda: 0 in pins.seen or failure, 600) or failure:
        raise SystemExit(f"the streaming job did not start: {failure}")
    time.sleep(3)  # the warm-up post's metrics

    # Steady phase: one post every 1/rate seconds.
    acked: dict[int, float] = {}
    count = int(rate * seconds)
    started = time.time()
    for n in range(1, count + 1):
        time.sleep(max(0.0, started + n / rate - time.time()))
        acked[n] = put_posts(client, prefix, [n])
    wait_until(lambda: all(i in pins.seen for i in acked), 300)
    time.sleep(5)  # the last posts' metrics
    latency = [pins.seen[i] - acked[i] for i in acked if i in pins.seen]
    metric_latency = []
    for i, moment in acked.items():
        if i in pins.seen:
            shown = [m.first_after(pins.seen[i]) for m in metrics]
            if all(t is not None for t in shown):
                metric_latency.append(max(shown) - moment)
    ref_latency = [
        reference.seen[(streams[0], i)] - acked[i] for i in acked if (streams[0], i) in reference.seen
    ]

    # Drain phase: a backlog put at once; the rate at which it becomes rows.
    first = count + 1
    posts_backlog = list(range(first, first + backlog))
    t0 = time.time()
    put_posts(client, prefix, posts_backlog)
    put_done = time.time()
    wait_until(lambda: all((s, i) in reference.seen for s in streams for i in posts_backlog), 600)
    ref_drain = max(reference.seen[(s, i)] for s in streams for i in posts_backlog) - t0
    wait_until(lambda: all(i in pins.seen for i in posts_backlog), 900)
    drained = [pins.seen[i] for i in posts_backlog if i in pins.seen]
    job_drain = max(drained) - t0 if len(drained) == len(posts_backlog) else float("nan")

    for query in spark.streams.active:
        query.stop()
    runner.join(120)
    for watcher in (pins, *metrics, reference):
        watcher.stopping.set()
        watcher.join(10)
    stop_moto(endpoint)
    return {
        "rate": rate,
        "shards": shards,
        "posts": len(acked),
        "measured": len(latency),
        "p50": percentile(latency, 50),
        "p95": percentile(latency, 95),
        "metrics_p50": percentile(metric_latency, 50),
        "metrics_p95": percentile(metric_latency, 95),
        "metrics_measured": len(metric_latency),
        "ref_p50": percentile(ref_latency, 50),
        "ref_p95": percentile(ref_latency, 95),
        "backlog": backlog,
        "put_seconds": put_done - t0,
        "drain": 3 * backlog / job_drain,
        "ref_drain": 3 * backlog / ref_drain,
        "load": os.getloadavg()[0],
    }


def baseline_source(home: Path) -> Path:
    """The baseline revision's package source, checked out under `home` (its jars are this checkout's)."""
    tree = home / BASELINE
    if not tree.exists():
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "-f", "--detach", str(tree), BASELINE], check=True
        )
        (tree / "jars").mkdir(exist_ok=True)
        (tree / "jars" / "lib").symlink_to(REPO / "jars" / "lib")
    return tree / "src"


def run_config(mode: str, rate: float, shards: int, seconds: float, backlog: int, home: Path) -> dict:
    """One configuration in a process of its own (through a local Spark Connect server in connect mode; the
    baseline revision's package in baseline mode)."""
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    env.pop("SPARK_REMOTE", None)
    if mode == "connect":
        env["SPARK_REMOTE"] = "local[2]"
    if mode == "baseline":
        env["PYTHONPATH"] = str(baseline_source(home))
    args = ["--one", "--rate", str(rate), "--shards", str(shards), "--seconds", str(seconds)]
    args += ["--backlog", str(backlog)]
    done = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{mode} {rate} posts/s failed:\n{done.stderr[-3000:]}")
    return {"mode": mode, **json.loads(done.stdout.strip().splitlines()[-1])}


def table(results: list[dict], seconds: float) -> list[str]:
    """The results fragment."""
    lines = [
        "## Streaming job (Kinesis on moto to Delta, continuous)",
        "",
        (
            f"`python bench/bench_stream.py` on {os.cpu_count()} cores, Spark local[2]: the job with its default "
            "settings (`pinterest-pipeline stream --lake L --kinesis-endpoint E`: one query over the three "
            "streams, micro-batches back to back), each configuration in a process of its own, classic or "
            f"through a local Spark Connect server (`SPARK_REMOTE=local[2]`). Steady phase: one post (3 records) "
            f"every 1/rate s for {seconds:g} s, after one warm-up post; latency is from put_records' acknowledgement of the pin to its row "
            "being visible in `stream/pin`, and to the first commit of both metric tables after that row (the "
            "batch that wrote the row recomputes the metrics after it), tables polled every 50 ms. Drain: a "
            "backlog put at once into the three streams, records per second until its last pin is visible. "
            "References measured in the same run: a plain boto3 consumer polling the same streams every 50 ms, "
            f"and `baseline`, the job as it was at revision {BASELINE} (five queries: one per entity, one per "
            "metric with streaming state; a 5-second default trigger), run the same way."
        ),
        "",
        (
            "| mode | posts/s | shards per stream | latency p50, s | p95, s | metrics visible p50, s | p95, s | "
            "reference p50 / p95, s | drain, records/s | reference drain, records/s | drain / reference |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['mode']} | {r['rate']:g} | {r['shards']} | {r['p50']:.2f} | {r['p95']:.2f} | "
            f"{r['metrics_p50']:.2f} | {r['metrics_p95']:.2f} | {r['ref_p50']:.3f} / {r['ref_p95']:.3f} | "
            f"{r['drain']:,.0f} | {r['ref_drain']:,.0f} | {r['drain'] / r['ref_drain']:.2f} |"
        )
    lines += [
        "",
        "; ".join(
            f"{r['mode']} {r['rate']:g}/s: {r['measured']} of {r['posts']} posts measured "
            f"({r['metrics_measured']} with metrics), backlog of {r['backlog']:,} posts put in "
            f"{r['put_seconds']:.1f} s, load average {r['load']:.1f} at the end"
            for r in results
        )
        + ".",
    ]
    return lines


def main() -> int:
    """Run the configurations and write the results fragment (or one configuration with --one)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", action="store_true", help="run one configuration here, print JSON")
    parser.add_argument("--rate", type=float, default=10.0, help="posts per second in the steady phase")
    parser.add_argument("--shards", type=int, default=2, help="shards per stream")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the steady phase")
    parser.add_argument("--backlog", type=int, default=10_000, help="posts put at once in the drain phase")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.rate, args.seconds, args.backlog, args.shards)), flush=True)
        # Without the interpreter's teardown, which can crash with the JVM's and delta-rs's threads still up
        # (a segmentation fault after the figures were printed, seen on this machine).
        os._exit(0)
    home = Path(tempfile.mkdtemp(prefix="bench-stream-trees-"))
    try:
        results = [
            run_config(mode, rate, shards, args.seconds, args.backlog, home) for mode, rate, shards in CONFIGS
        ]
    finally:
        if (home / BASELINE).exists():
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(home / BASELINE)], check=False
            )
    lines = table(results, args.seconds)
    out = REPO / "bench" / "results" / "stream.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
