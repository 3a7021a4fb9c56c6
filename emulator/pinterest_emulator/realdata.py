"""Loads the real source rows (the course's three tables as files) as chunks of the three tables.

The geolocation and user tables are complete. The post table is only partly known (4,219 of 11,154 rows, some
with fields the public notebooks did not show): every unknown post, and every unknown field of a known post, is
filled from a synthetic post of the same index (its category comes from the real index blocks, so the blocks
stay intact). The `_flags` column of the file is not part of the table and is dropped.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from collections.abc import Iterator
from pathlib import Path

from pinterest_emulator.synth import CHUNK_ROWS, Chunk, pin_row
from pinterest_pipeline.errors import InputError

FILES = ("geolocation_data.csv", "user_data.csv", "pinterest_data_partial.jsonl")
DB_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _read_csv(path: Path) -> list[dict]:
    """Rows of one of the real CSV files (the unnamed first column is a row number and is dropped)."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row.pop("", None)
    return rows


def real_row_count(directory: str | Path) -> int:
    """Number of rows of the real tables (the geolocation table is complete)."""
    return len(_read_csv(Path(directory) / FILES[0]))


def load_real(directory: str | Path, seed: int) -> tuple[int, int, Iterator[Chunk]]:
    """(rows, filled post rows, chunks) of the real tables; missing post rows are synthetic (see module doc)."""
    root = Path(directory)
    missing = [name for name in FILES if not (root / name).is_file()]
    if missing:
        raise InputError(
            f"{root} lacks {', '.join(missing)} (expected the real tables' files: {', '.join(FILES)})"
        )
    try:
        geos = [
            {
                "ind": int(r["ind"]),
                "timestamp": dt.datetime.strptime(r["timestamp"], DB_TIME_FORMAT),
                "latitude": float(r["latitude"]),
                "longitude": float(r["longitude"]),
                "country": r["country"],
            }
            for r in _read_csv(root / FILES[0])
        ]
        users = [
            {
                "ind": int(r["ind"]),
                "first_name": r["first_name"],
                "last_name": r["last_name"],
                "age": int(r["age"]),
                "date_joined": dt.datetime.strptime(r["date_joined"], DB_TIME_FORMAT),
            }
            for r in _read_csv(root / FILES[1])
        ]
        known = {}
        with (root / FILES[2]).open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    row = json.loads(line)
                    row.pop("_flags", None)
                    known[int(row["index"])] = row
    except (KeyError, ValueError) as exc:
        raise InputError(f"unreadable real data in {root}: {exc}") from exc
    geos.sort(key=lambda r: r["ind"])
    users.sort(key=lambda r: r["ind"])
    rows = len(geos)
    if [r["ind"] for r in geos] != list(range(rows)) or [r["ind"] for r in users] != list(range(rows)):
        raise InputError(f"{root}: geolocation and user rows must hold ind 0..n-1 exactly once")
    filled = sum(1 for i in range(rows) if i not in known or any(v is None for v in known[i].values()))

    def chunks() -> Iterator[Chunk]:
        for start in range(0, rows, CHUNK_ROWS):
            pins = []
            for index in range(start, min(rows, start + CHUNK_ROWS)):
                synthetic = pin_row(random.Random(f"fill:{seed}:{index}"), index, rows, seed)
                row = known.get(index, {})
                pin = {
                    col: (row.get(col) if row.get(col) is not None else value)
                    for col, value in synthetic.items()
                }
                pin["downloaded"] = int(pin["downloaded"])
                pins.append(pin)
            yield Chunk(pins, geos[start : start + CHUNK_ROWS], users[start : start + CHUNK_ROWS])

    return rows, filled, chunks()
