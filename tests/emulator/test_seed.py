"""seed-db: tables and types, determinism, MySQL and SQLite alike, bounded memory, the CLI, --from-real."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import subprocess
import sys

import pytest
from pinterest_emulator import db, synth
from pinterest_emulator.cli import main
from pinterest_emulator.seed import seed_database
from sqlalchemy import create_engine, inspect, select, text

from pinterest_pipeline.errors import ConfigError

COLUMNS = {
    "pinterest_data": [
        "index",
        "unique_id",
        "title",
        "description",
        "poster_name",
        "follower_count",
        "tag_list",
        "is_image_or_video",
        "image_src",
        "downloaded",
        "save_location",
        "category",
    ],
    "geolocation_data": ["ind", "timestamp", "latitude", "longitude", "country"],
    "user_data": ["ind", "first_name", "last_name", "age", "date_joined"],
}


def read_all(url: str) -> dict[str, list[dict]]:
    """Every row of the three tables, in index order."""
    engine = create_engine(url)
    with engine.connect() as conn:
        out = {}
        for entity, name in db.TABLE_NAMES.items():
            tbl = db.table(entity)
            out[name] = [
                dict(r) for r in conn.execute(select(tbl).order_by(tbl.c[db.KEY_COLUMNS[entity]])).mappings()
            ]
    engine.dispose()
    return out


def test_seed_creates_the_three_tables_with_original_columns(sqlite_url):
    report = seed_database(sqlite_url, rows=300, seed=4, progress=False)
    assert (report.rows, report.seed, report.source) == (300, 4, "synthetic")
    engine = create_engine(sqlite_url)
    inspector = inspect(engine)
    for name, columns in COLUMNS.items():
        assert [c["name"] for c in inspector.get_columns(name)] == columns
    types = {c["name"]: type(c["type"]).__name__ for c in inspector.get_columns("geolocation_data")}
    assert types == {
        "ind": "INTEGER",
        "timestamp": "DATETIME",
        "latitude": "FLOAT",
        "longitude": "FLOAT",
        "country": "VARCHAR",
    }
    rows = read_all(sqlite_url)
    assert [len(rows[name]) for name in COLUMNS] == [300, 300, 300]
    assert [r["index"] for r in rows["pinterest_data"]] == list(range(300))
    assert isinstance(rows["user_data"][0]["date_joined"], dt.datetime)
    assert isinstance(rows["pinterest_data"][0]["downloaded"], int)


def test_same_seed_same_rows_other_seed_other_rows(tmp_path):
    urls = [f"sqlite:///{tmp_path / name}.db" for name in ("a", "b", "c")]
    seed_database(urls[0], rows=700, seed=5, progress=False)
    seed_database(urls[1], rows=700, seed=5, progress=False)
    seed_database(urls[2], rows=700, seed=6, progress=False)
    a, b, c = (read_all(u) for u in urls)
    assert a == b
    assert a["pinterest_data"] != c["pinterest_data"] and a["user_data"] != c["user_data"]


def test_chunks_are_bounded_and_rows_continue_across_chunks():
    chunks = list(synth.generate(synth.CHUNK_ROWS * 2 + 17, seed=3))
    assert [len(c.pins) for c in chunks] == [synth.CHUNK_ROWS, synth.CHUNK_ROWS, 17]
    assert [p["index"] for c in chunks for p in c.pins] == list(range(synth.CHUNK_ROWS * 2 + 17))


def _peak_rss_mb(rows: int) -> float:
    """Peak resident memory (MB) of a fresh interpreter that generates `rows` rows and drops them."""
    code = (
        "import resource, sys\n"
        "from pinterest_emulator import synth\n"
        "n = sum(len(c.pins) for c in synth.generate(int(sys.argv[1]), 2))\n"
        "print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(rows)], check=True, capture_output=True, text=True)
    count, peak_kb = out.stdout.split()
    assert int(count) == rows
    return int(peak_kb) / 1024


def test_generation_memory_does_not_grow_with_row_count():
    small, large = _peak_rss_mb(synth.CHUNK_ROWS), _peak_rss_mb(synth.CHUNK_ROWS * 8)
    # Kept in memory, 35,000 more rows of three tables take about 70 MB more (measured); streamed, the peak
    # is one chunk plus the poster cache, which stops growing at its bound.
    assert large - small < 35, (small, large)


def test_refuses_existing_tables_without_replace_and_keeps_them(sqlite_url):
    seed_database(sqlite_url, rows=50, seed=1, progress=False)
    before = read_all(sqlite_url)
    with pytest.raises(ConfigError, match="already exist"):
        seed_database(sqlite_url, rows=80, seed=2, progress=False)
    assert read_all(sqlite_url) == before
    seed_database(sqlite_url, rows=80, seed=2, replace=True, progress=False)
    assert len(read_all(sqlite_url)["user_data"]) == 80


def test_cli_seeds_and_reports(sqlite_url, capsys):
    assert main(["seed-db", "--db-url", sqlite_url, "--rows", "120", "--seed", "9"]) == 0
    out = capsys.readouterr().out
    assert "120 rows per table" in out and "seed 9" in out
    assert len(read_all(sqlite_url)["pinterest_data"]) == 120


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["--rows", "0"], 2, "--rows must be at least 1"),
        (["--db-url", "nonsense"], 2, "not a database URL"),
        (["--db-url", "postgresql+nosuchdriver://x/y"], 2, "no driver"),
        (["--db-url", "mysql+pymysql://root@127.0.0.1:1/x"], 5, "cannot reach"),  # nothing listens on port 1
        (["--from-real", "/nonexistent/folder"], 3, "lacks geolocation_data.csv"),
        (["--from-real", "/nonexistent/folder", "--rows", "5"], 2, "--rows does not go with --from-real"),
    ],
)
def test_cli_bad_input_is_one_line_and_non_zero(sqlite_url, capsys, argv, code, message):
    full = ["seed-db", "--db-url", sqlite_url, *argv] if "--db-url" not in argv else ["seed-db", *argv]
    assert main(full) == code
    err = capsys.readouterr().err
    assert err.startswith("pinterest-emulator seed-db: ") and message in err and err.count("\n") == 1


def test_cli_refuses_existing_tables_with_exit_code_2(sqlite_url, capsys):
    seed_database(sqlite_url, rows=10, seed=1, progress=False)
    assert main(["seed-db", "--db-url", sqlite_url, "--rows", "20"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pinterest-emulator seed-db: ") and "already exist" in err and err.count("\n") == 1
    assert len(read_all(sqlite_url)["user_data"]) == 10


@pytest.mark.mysql
def test_mysql_holds_exactly_what_sqlite_holds(mysql_url, tmp_path):
    """The same seed gives the same rows on MariaDB and SQLite (emoji, Cyrillic and no-break spaces included)."""
    sqlite = f"sqlite:///{tmp_path / 'same.db'}"
    seed_database(mysql_url, rows=3000, seed=11, replace=True, progress=False)
    seed_database(sqlite, rows=3000, seed=11, progress=False)
    in_mysql, in_sqlite = read_all(mysql_url), read_all(sqlite)
    assert in_mysql == in_sqlite
    text_values = [r["title"] + r["description"] + r["poster_name"] for r in in_mysql["pinterest_data"]]
    assert any("\u00a0" in t for t in text_values)
    assert any(any(ord(ch) > 0xFFFF for ch in t) for t in text_values), "no 4-byte character survived"
    engine = create_engine(mysql_url)
    with engine.connect() as conn:
        kinds = dict(
            conn.execute(
                text(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = DATABASE() AND table_name = 'user_data'"
                )
            ).all()
        )
    engine.dispose()
    assert {k.lower(): v.lower() for k, v in kinds.items()} == {
        "ind": "int",
        "first_name": "varchar",
        "last_name": "varchar",
        "age": "int",
        "date_joined": "datetime",
    }


@pytest.mark.real_data
def test_from_real_loads_every_real_row(real_source_dir, real_sqlite):
    rows = read_all(real_sqlite)
    assert [len(rows[name]) for name in COLUMNS] == [11154] * 3
    import csv

    with (real_source_dir / "user_data.csv").open(newline="", encoding="utf-8") as fh:
        users = list(csv.DictReader(fh))
    for real, loaded in zip(users, rows["user_data"]):
        assert (
            int(real["ind"]),
            real["first_name"],
            real["last_name"],
            int(real["age"]),
            real["date_joined"],
        ) == (
            loaded["ind"],
            loaded["first_name"],
            loaded["last_name"],
            loaded["age"],
            loaded["date_joined"].strftime("%Y-%m-%d %H:%M:%S"),
        )
    known = {}
    with (real_source_dir / "pinterest_data_partial.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            known[row["index"]] = row
    pins = rows["pinterest_data"]
    for index, real in known.items():
        for column, value in real.items():
            if column != "_flags" and value is not None:
                expected = int(value) if column == "downloaded" else value
                assert pins[index][column] == expected, (index, column)
    # Filled rows: no nulls, and the category blocks stay contiguous and in the real order.
    assert all(v is not None for row in pins for v in row.values())
    blocks = [pins[0]["category"]] + [
        b["category"] for a, b in itertools.pairwise(pins) if a["category"] != b["category"]
    ]
    assert blocks == list(synth.CATEGORIES)
