"""Table upkeep: 10 daily landings, the batch job run after each; the number of data files of every table stays
bounded (compaction of bronze, VACUUM past the retention) and the tables equal one run over all the landings."""

from __future__ import annotations

import json
from pathlib import Path

from delta_tables import delta_rows
from stream.records import posts

from pinterest_pipeline.insights import INSIGHTS
from pinterest_pipeline.jobs.batch import BatchConfig, run_batch
from pinterest_pipeline.lake import Upkeep
from pinterest_pipeline.session import LOCAL_SHUFFLE_PARTITIONS

from .sink import sink_files

DAYS = 10
ENTITIES = ("pin", "geo", "user")
TABLES = [f"{layer}/{e}" for layer in ("bronze", "silver", "quarantine") for e in ENTITIES] + [
    f"gold/{name}" for name in INSIGHTS
]
# Compact at 4 files, vacuum at 2 removed files past a zero retention (the job's defaults, 32 and 32 past 7
# days, would not be reached by ten small runs, and the bound would say nothing): bronze is compacted three
# times (days 4, 7 and 10), and every table vacuumed, within the 10 days.
UPKEEP = Upkeep(retain_hours=0, compact_min_files=4, vacuum_min_files=2)
# Live files: bronze fewer than compact_min_files, silver and quarantine up to one per shuffle partition, a gold
# table one. Upkeep leaves fewer than vacuum_min_files removed files beside them.
BOUND = max(UPKEEP.compact_min_files - 1, LOCAL_SHUFFLE_PARTITIONS) + UPKEEP.vacuum_min_files - 1


def land(raw: Path, day: int) -> None:
    """A day's sink file per topic: 12 posts, two of them re-sent from the day before, and a bad record."""
    indexes = list(range(day * 10, day * 10 + 10)) + [max(day * 10 - 1, 0), max(day * 10 - 2, 0)]
    for entity, records in posts(indexes).items():
        sink_files(raw, f"pinterest.{entity}", records + ["{not json"], flush_size=100, first_offset=day * 13)


def data_files(table: Path) -> int:
    return sum(1 for p in table.rglob("*.parquet") if "_delta_log" not in p.parts)


def files_ever_added(table: Path) -> int:
    return sum(
        1
        for commit in (table / "_delta_log").glob("*.json")
        for line in commit.read_text().splitlines()
        if '"add"' in line[:8]
    )


def rows(lake: Path, name: str) -> list[str]:
    return sorted(
        json.dumps({k: v for k, v in r.items() if k != "ingested_at"}, sort_keys=True, default=str)
        for r in delta_rows(lake / name)
    )


def test_ten_daily_runs_keep_the_files_bounded_and_the_tables_unchanged(spark, tmp_path):
    raw, daily, once = tmp_path / "raw", tmp_path / "daily", tmp_path / "once"
    most = dict.fromkeys(TABLES, 0)
    for day in range(DAYS):
        land(raw, day)
        report = run_batch(spark, BatchConfig(str(raw), str(daily), upkeep=UPKEEP))
        assert report.rebuilt and report.entities["pin"].read == 13
        for name in TABLES:
            most[name] = max(most[name], data_files(daily / name))
    assert max(most.values()) <= BOUND, most
    # Without upkeep the same runs leave every file they ever wrote: bronze one per micro-batch and more.
    for name in TABLES:
        assert files_ever_added(daily / name) >= DAYS > BOUND, name

    run_batch(spark, BatchConfig(str(raw), str(once)))
    for name in TABLES:
        assert rows(daily, name) == rows(once, name), name
    assert len(rows(daily, "silver/pin")) == DAYS * 10
