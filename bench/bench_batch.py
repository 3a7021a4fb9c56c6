"""Benchmark: the Spark batch job stage by stage beside the same cleaning and insights in DuckDB SQL.

For each size, `seed-db` generates the source tables (SQLite), which are landed as the S3 sink's files (500
records per file, the deployed flush.size). The Spark job (read = ingest to bronze, silver = parse + clean +
dedupe + write, gold = nine insights + write) and bench/reference.sql in DuckDB (read + clean + insights, with the
silver and gold tables written to Parquet) run on the same files in the same run; their gold tables must be equal.
With `--baseline REV` the batch job of git revision REV (checked out under bench/out/) runs on the same files in
the same run too, in its own process: an A/B of two versions of the job beside the same reference. With
`--connect` this revision's job also runs through Spark Connect (a local Connect server, `SPARK_REMOTE=local[2]`,
as databricks-connect and serverless compute run it) in its own process on a lake of its own.
Writes bench/results/batch.md (a fragment of BENCHMARKS.md). Run: `python bench/bench_batch.py [--sizes 100000,1000000,3000000]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INSIGHT_TABLES = [
    "popular_category_by_country",
    "popular_category_by_year",
    "most_followed_user_by_country",
    "most_followed_country",
    "popular_category_by_age_group",
    "median_followers_by_age_group",
    "users_joined_by_year",
    "median_followers_by_join_year",
    "median_followers_by_age_group_and_join_year",
]
FLUSH_SIZE = 500
# The previous table store's figures (Parquet by Spark, commits by delta-rs): Spark and DuckDB seconds measured by
# this script and published in BENCHMARKS.md on 2026-11-26 (commit 378e8d6).
PREVIOUS = {100_000: (75.0, 2.1), 1_000_000: (166.4, 18.3), 3_000_000: (392.9, 65.6)}


def peak_rss_mb(spark) -> dict[str, float]:
    """Peak resident memory so far of the JVM (the driver, which runs every task in local mode) and of Python."""
    import resource

    out = {"python": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    try:
        pid = spark.sparkContext._gateway.proc.pid  # spark-submit execs the JVM in the same process
        status = Path(f"/proc/{pid}/status").read_text()
        out["jvm"] = (
            int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024
        )
    except (AttributeError, OSError, StopIteration):
        pass
    return out


def land_sink_files(db_url: str, raw: Path, rows: int) -> None:
    """Write every source row once as the S3 sink would: topics/<topic>/partition=0/<topic>+0+<offset>.json."""
    from pinterest_emulator import db
    from pinterest_emulator.gateway.sink import file_name
    from pinterest_emulator.post import serialise
    from sqlalchemy import select

    from pinterest_pipeline import names
    from pinterest_pipeline.names import ENTITIES

    engine = db.make_engine(db_url)
    with engine.connect() as conn:
        for entity in ENTITIES:
            table = db.table(entity)
            key = table.c["index"] if entity == "pin" else table.c["ind"]
            topic = names.topic(names.DEFAULT_PREFIX, entity)
            folder = raw / "topics" / topic / "partition=0"
            folder.mkdir(parents=True, exist_ok=True)
            offset = 0
            result = conn.execution_options(stream_results=True, yield_per=FLUSH_SIZE).execute(
                select(table).order_by(key)
            )
            for chunk in result.mappings().partitions(FLUSH_SIZE):
                lines = [json.dumps(serialise(dict(r)), ensure_ascii=False) for r in chunk]
                (folder / file_name(topic, 0, offset)).write_text("\n".join(lines) + "\n", encoding="utf-8")
                offset += len(lines)
    engine.dispose()


def run_spark(spark, raw: Path, lake: Path) -> dict:
    """The batch job on a fresh lake; stage seconds and total."""
    from pinterest_pipeline.jobs.batch import BatchConfig, run_batch

    started = time.monotonic()
    report = run_batch(spark, BatchConfig(str(raw), str(lake)))
    total = time.monotonic() - started
    return {
        "seconds": dict(report.seconds),
        "total": total,
        "silver": {e: c.silver_total for e, c in report.entities.items()},
    }


_JOB_RUN = """
import json, sys, time
from pinterest_pipeline.jobs.batch import BatchConfig, run_batch
from pinterest_pipeline.session import get_spark
spark = get_spark("bench-batch-process")
started = time.monotonic()
report = run_batch(spark, BatchConfig(sys.argv[1], sys.argv[2]))
print(json.dumps({"total": time.monotonic() - started, "seconds": report.seconds}))
"""


def run_baseline(rev: str, raw: Path, lake: Path) -> dict:
    """The batch job of revision `rev` on `lake`, in a process of its own (its code first on the path)."""
    tree = REPO / "bench" / "out" / f"baseline-{rev}"
    if not tree.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), rev], cwd=REPO, check=True)
    return _run_job_process(tree, raw, lake, {}, "the baseline's")


def run_connect(raw: Path, lake: Path) -> dict:
    """This revision's batch job through a local Spark Connect server, in a process of its own, on `lake`."""
    return _run_job_process(REPO, raw, lake, {"SPARK_REMOTE": "local[2]"}, "the Connect")


def _run_job_process(tree: Path, raw: Path, lake: Path, extra_env: dict[str, str], who: str) -> dict:
    """The batch job of the code in `tree` on `lake`, in a process of its own: total and stage seconds."""
    # A worktree has no jars of its own: `make setup` fetched them into this checkout.
    env = {
        **os.environ,
        "PYTHONPATH": f"{tree / 'src'}{os.pathsep}{tree / 'emulator'}",
        "PINTEREST_JARS": os.environ.get("PINTEREST_JARS", str(REPO / "jars" / "lib")),
        **extra_env,
    }
    done = subprocess.run(
        [sys.executable, "-c", _JOB_RUN, str(raw), str(lake)],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{who} batch job failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def generate(size: int, data: Path) -> None:
    """Seed the source database and land it as sink files, in a process of its own: the benchmark's own peak
    memory then is the job's, not the generator's."""
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[3]); import bench_batch as b; "
        "from pinterest_emulator.seed import seed_database; d = Path(sys.argv[2]); n = int(sys.argv[1]); "
        "seed_database(f'sqlite:///{d / \"source.db\"}', rows=n, seed=100, progress=False); "
        "b.land_sink_files(f'sqlite:///{d / \"source.db\"}', d / 'raw', n)"
    )
    data.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", code, str(size), str(data), str(REPO / "bench")], check=True)


def run_duckdb(raw: Path, out: Path) -> tuple[dict, object]:
    """bench/reference.sql on the same files, silver and gold written to Parquet; seconds and the connection."""
    import duckdb

    sql = (REPO / "bench" / "reference.sql").read_text().replace("{raw}", str(raw))
    con = duckdb.connect()
    started = time.monotonic()
    con.execute(sql)
    out.mkdir(parents=True, exist_ok=True)
    for table in ["pin", "geo", "usr"] + INSIGHT_TABLES:
        con.execute(f"COPY {table} TO '{out / table}.parquet' (FORMAT parquet)")
    return {"total": time.monotonic() - started}, con


def _normal(rows) -> set:
    return {tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows}


def gold_equal(spark, lake: Path, con) -> list[str]:
    """Names of the gold tables where Spark and DuckDB disagree."""
    differ = []
    for name in INSIGHT_TABLES:
        spark_rows = [tuple(r) for r in spark.read.format("delta").load(str(lake / "gold" / name)).collect()]
        duck_rows = con.execute(f"SELECT * FROM {name}").fetchall()
        if _normal(spark_rows) != _normal(duck_rows):
            differ.append(name)
    return differ


def stage(source: Path, raw: Path, records: int) -> int:
    """Hard-link the sink files of `source` holding each topic's first `records` records into `raw` (those not
    there yet), as the sink would land them; the files linked."""
    linked = 0
    for path in sorted(source.rglob("*.json")):
        if int(path.stem.rsplit("+", 1)[1]) >= records:
            continue
        target = raw / path.relative_to(source)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)
            linked += 1
    return linked


def daily(spark, work: Path, base: int, baseline_rev: str | None, connect: bool = False) -> list[dict]:
    """A first load of `base` posts, then a run after 1% more landed and one after 10% more, on one lake; beside
    each, DuckDB's full recompute of the same files (it has no incremental run) and, with `baseline_rev`, that
    revision's job doing the same on a lake of its own, and with `connect` this revision's job through Spark
    Connect on another."""
    steps = [("first load", base), ("+1%", base + base // 100), ("+10%", base + base // 100 + base // 10)]
    total = steps[-1][1]
    data = work / f"posts-{total}"
    if not (data / "raw").exists():
        generate(total, data)
    raw, lake, baseline_lake = data / "raw-daily", data / "lake-daily", data / "lake-daily-baseline"
    connect_lake = data / "lake-daily-connect"
    for folder in (raw, lake, baseline_lake, connect_lake, data / "duck-daily"):
        shutil.rmtree(folder, ignore_errors=True)
    out = []
    for label, posts in steps:
        files = stage(data / "raw", raw, posts)
        load_before = os.getloadavg()[0]
        duck, con = run_duckdb(raw, data / "duck-daily")
        spark_run = run_spark(spark, raw, lake)
        differ = gold_equal(spark, lake, con)
        baseline = None
        if baseline_rev:
            baseline = run_baseline(baseline_rev, raw, baseline_lake)
            baseline["differ"] = gold_equal(spark, baseline_lake, con)
        connected = None
        if connect:
            connected = run_connect(raw, connect_lake)
            connected["differ"] = gold_equal(spark, connect_lake, con)
        out.append(
            {
                "step": label,
                "posts": posts,
                "files": files,
                "spark": spark_run,
                "duckdb": duck,
                "differ": differ,
                "baseline": baseline,
                "connect": connected,
                "load": (load_before, os.getloadavg()[0]),
                "rss": peak_rss_mb(spark),
            }
        )
        print(json.dumps(out[-1]), flush=True)
    return out


def _beside(run: dict | None, ratio: str) -> str:
    """A cell for a job run in a process of its own: its total, `ratio`, whether its gold tables are equal."""
    return "-" if not run else f"{run['total']:.1f}, {ratio}, {'yes' if not run['differ'] else 'NO'}"


def _all_equal(result: dict) -> bool:
    """Every job of a size or step wrote the gold tables DuckDB computed."""
    return not result["differ"] and not any((result[k] or {}).get("differ") for k in ("baseline", "connect"))


def daily_lines(results: list[dict], baseline_rev: str | None, base: int, connect: bool = False) -> list[str]:
    """The daily table, a fragment of BENCHMARKS.md."""
    first = results[0]["spark"]["total"]
    first_of = {k: (results[0][k] or {}).get("total") for k in ("baseline", "connect")}
    lines = [
        "## Batch job: daily runs on a lake that holds the first load",
        "",
        f"A first load of {base:,} posts, then the job run again after 1% more posts landed and again after 10% more "
        "(the sink files of the next offsets, 500 records each), on the same lake. Beside each run, DuckDB's full "
        "recompute of all the files landed so far (bench/reference.sql, silver and gold written to Parquet): it has "
        "no incremental run. Equal: the nine gold tables of the incremental run equal DuckDB's full recompute."
        + (
            f" Baseline: the batch job of revision `{baseline_rev}` doing the same on a lake of its own, in a "
            "process of its own."
            if baseline_rev
            else ""
        )
        + (
            " Connect: this revision's job through a local Spark Connect server (`SPARK_REMOTE=local[2]`) doing the "
            "same on a lake of its own, in a process of its own."
            if connect
            else ""
        ),
        "",
        (
            "| run | posts landed | new files | Spark ingest (s) | Spark silver (s) | Spark gold (s) "
            "| Spark upkeep (s) | Spark total (s) | / first load | DuckDB full (s) | Spark / DuckDB "
            "| baseline total (s), / its first load, equal | Connect total (s), / its first load, equal "
            "| peak RSS MB (JVM) | load avg (start, end) | equal |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---|---|",
    ]
    for r in results:
        s, seconds = r["spark"], r["spark"]["seconds"]
        beside = {
            k: _beside(r[k], f"{r[k]['total'] / first_of[k]:.0%}" if r[k] else "")
            for k in ("baseline", "connect")
        }
        lines.append(
            f"| {r['step']} | {r['posts']:,} | {r['files']:,} | {seconds.get('ingest', 0):.1f} | "
            f"{seconds.get('silver', 0):.1f} | {seconds.get('gold', 0):.1f} | {seconds.get('upkeep', 0):.1f} | "
            f"{s['total']:.1f} | {s['total'] / first:.0%} | {r['duckdb']['total']:.1f} | "
            f"{s['total'] / r['duckdb']['total']:.1f} | {beside['baseline']} | {beside['connect']} | "
            f"{r['rss'].get('jvm', float('nan')):,.0f} | "
            f"{r['load'][0]:.1f}, {r['load'][1]:.1f} | {'yes' if not r['differ'] else 'NO: ' + ', '.join(r['differ'])} |"
        )
    reproduce = (
        f"--daily {base}"
        + (f" --baseline {baseline_rev}" if baseline_rev else "")
        + (" --connect" if connect else "")
    )
    return lines + ["", f"Reproduce: `.venv/bin/python bench/bench_batch.py {reproduce}`", ""]


def main() -> int:
    """Run the sizes and write the fragment."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,3000000", help="comma-separated post counts")
    parser.add_argument(
        "--workdir",
        default=str(REPO / "bench" / "data"),
        help="where generated data sets are kept between runs (3M posts: 2.8 GB of sink files and "
        "a 2 GB SQLite source; generating them takes about 35 min here)",
    )
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "batch.md"))
    parser.add_argument(
        "--baseline", help="a git revision whose batch job also runs on the same files, for an A/B"
    )
    parser.add_argument(
        "--connect",
        action="store_true",
        help="also run this revision's job through a local Spark Connect server, in a process of its own",
    )
    parser.add_argument(
        "--daily",
        type=int,
        metavar="POSTS",
        help="instead of --sizes: a first load of POSTS posts, then runs after 1%% and 10%% more landed "
        "(writes bench/results/batch_daily.md)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)

    from pinterest_pipeline.session import get_spark

    started = time.monotonic()
    spark = get_spark("bench-batch")
    spark_start = time.monotonic() - started
    if args.daily:
        results = daily(spark, work, args.daily, args.baseline, args.connect)
        lines = daily_lines(results, args.baseline, args.daily, args.connect)
        out = (
            Path(args.out).with_name("batch_daily.md")
            if args.out == parser.get_default("out")
            else Path(args.out)
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(lines), encoding="utf-8")
        print("\n".join(lines))
        return 0 if all(_all_equal(r) for r in results) else 1
    results = []
    for size in sizes:
        data = work / f"posts-{size}"
        raw = data / "raw"
        if not raw.exists():
            generate(size, data)
        for folder in ("lake", "duck", "lake-baseline", "lake-connect"):
            shutil.rmtree(data / folder, ignore_errors=True)
        load_before = os.getloadavg()[0]
        duck, con = run_duckdb(raw, data / "duck")
        spark_run = run_spark(spark, raw, data / "lake")
        differ = gold_equal(spark, data / "lake", con)
        baseline = None
        if args.baseline:
            baseline = run_baseline(args.baseline, raw, data / "lake-baseline")
            baseline["differ"] = gold_equal(spark, data / "lake-baseline", con)
        connected = None
        if args.connect:
            connected = run_connect(raw, data / "lake-connect")
            connected["differ"] = gold_equal(spark, data / "lake-connect", con)
        raw_mb = sum(f.stat().st_size for f in raw.rglob("*.json")) / 1e6
        results.append(
            {
                "posts": size,
                "raw_mb": raw_mb,
                "spark": spark_run,
                "duckdb": duck,
                "differ": differ,
                "load": (load_before, os.getloadavg()[0]),
                "rss": peak_rss_mb(spark),
                "baseline": baseline,
                "connect": connected,
            }
        )
        print(json.dumps(results[-1]), flush=True)

    lines = [
        "## Batch job: Spark beside DuckDB",
        "",
        f"Machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, Python {platform.python_version()}; "
        f"Spark `local[*]` (session start {spark_start:.1f} s, not counted). Each size: `seed-db` rows landed as sink "
        f"files of {FLUSH_SIZE} records (3 records per post), a fresh lake; DuckDB runs bench/reference.sql on the same "
        "files in the same run, writing its silver and gold tables to Parquet. Equal: the nine gold tables match. "
        "Spark's stages: ingest = find the new files, split them into records, write bronze; silver = parse, "
        "validate, clean, de-duplicate, write silver and quarantine; gold = the nine insights, written. DuckDB does "
        "less: no bronze copy of the raw records and no quarantine table. Every table is written by Spark's Delta "
        "writer (delta-spark); upkeep = compacting bronze and vacuuming what is due. Peak RSS: the JVM's high-water "
        "mark so far in this process (it grows with the largest size run), and the benchmark's Python process beside "
        "it, which runs DuckDB in-process: that figure is mostly DuckDB's (data sets are generated in another process)."
        + (
            f" Baseline: the batch job of revision `{args.baseline}` on the same files, in the same run, in a process "
            "of its own (its own session start not counted either), so with a cold JVM at every size, "
            "where the job above runs warm after the first size."
            if args.baseline
            else ""
        )
        + (
            " Connect: this revision's job through a local Spark Connect server (`SPARK_REMOTE=local[2]`) on the "
            "same files, in a process of its own, cold at every size too."
            if args.connect
            else ""
        ),
        "",
        (
            "| posts | raw MB | Spark ingest (s) | Spark silver (s) | Spark gold (s) | Spark upkeep (s) | Spark total (s) "
            "| DuckDB total (s) | Spark / DuckDB | baseline total (s), / DuckDB, equal "
            "| Connect total (s), / DuckDB, equal | Spark s per 1M posts "
            "| DuckDB s per 1M posts | peak RSS MB (JVM, Python) | load avg (start, end) | equal |"
        ),
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---|---|---|",
    ]
    for r in results:
        s, duck = r["spark"], r["duckdb"]["total"]
        beside = {
            k: _beside(r[k], f"{r[k]['total'] / duck:.1f}" if r[k] else "") for k in ("baseline", "connect")
        }
        rss = r["rss"]
        lines.append(
            f"| {r['posts']:,} | {r['raw_mb']:,.0f} | {s['seconds'].get('ingest', 0):.1f} | {s['seconds'].get('silver', 0):.1f} | "
            f"{s['seconds'].get('gold', 0):.1f} | {s['seconds'].get('upkeep', 0):.1f} | {s['total']:.1f} | "
            f"{duck:.1f} | {s['total'] / duck:.1f} | {beside['baseline']} | {beside['connect']} | "
            f"{s['total'] / r['posts'] * 1e6:.1f} | {r['duckdb']['total'] / r['posts'] * 1e6:.1f} | "
            f"{rss.get('jvm', float('nan')):,.0f}, {rss['python']:,.0f} | {r['load'][0]:.1f}, {r['load'][1]:.1f} | "
            f"{'yes' if not r['differ'] else 'NO: ' + ', '.join(r['differ'])} |"
        )
    if len(results) > 1:
        lines += ["", "Growth from the smallest size (time ratio for the data ratio):", ""]
        first = results[0]
        for r in results[1:]:
            lines.append(
                f"- x{r['posts'] / first['posts']:.0f} posts: Spark x{r['spark']['total'] / first['spark']['total']:.1f}, "
                f"DuckDB x{r['duckdb']['total'] / first['duckdb']['total']:.1f}"
            )
    published = [
        f"{n:,} posts {spark_s:.1f} s = {spark_s / duck_s:.1f}x DuckDB"
        for n, (spark_s, duck_s) in PREVIOUS.items()
        if any(r["posts"] == n for r in results)
    ]
    if published:
        lines += [
            "",
            "Published on 2026-11-26 with the previous table store (Parquet written by Spark, commits by "
            "delta-rs), in another run: " + "; ".join(published) + ".",
        ]
    reproduce = (
        f"--sizes {args.sizes}"
        + (f" --baseline {args.baseline}" if args.baseline else "")
        + (" --connect" if args.connect else "")
    )
    lines += ["", f"Reproduce: `.venv/bin/python bench/bench_batch.py {reproduce}`", ""]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0 if all(_all_equal(r) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
