"""Reading the lake's Delta tables in tests: Spark's Delta reader on the run's shared session, and versions off
the Delta log (the number of its last commit file)."""

from __future__ import annotations

import json
from pathlib import Path


def _spark():
    from pinterest_pipeline.session import get_spark

    return get_spark("pinterest-tests")  # the shared session of tests/conftest.py when it is up


def is_delta(path) -> bool:
    """True when `path` holds a Delta table."""
    return (Path(path) / "_delta_log").is_dir()


def delta_rows(path, columns: list[str] | None = None) -> list[dict]:
    """The rows of the Delta table at `path`, as dicts (structs as dicts, timestamps aware, in UTC)."""
    df = _spark().read.format("delta").load(str(path))
    if columns:
        df = df.select(*columns)
    return df.toArrow().to_pylist()


def delta_version(path) -> int:
    """The table's current version: the number of the last commit in its Delta log."""
    return max(int(p.stem) for p in (Path(path) / "_delta_log").glob("*.json") if p.stem.isdigit())


def delta_versions(lake) -> dict[str, int]:
    """The current version of every Delta table under a lake root, by table name ("silver/pin")."""
    lake = Path(lake)
    return {str(log.parent.relative_to(lake)): delta_version(log.parent) for log in lake.rglob("_delta_log")}


def delta_notes(path) -> list[str | None]:
    """The userMetadata of every commit of the table at `path`, oldest first, off its Delta log."""
    notes = []
    for commit in sorted(p for p in (Path(path) / "_delta_log").glob("*.json") if p.stem.isdigit()):
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            if "commitInfo" in action:
                notes.append(action["commitInfo"].get("userMetadata"))
    return notes
