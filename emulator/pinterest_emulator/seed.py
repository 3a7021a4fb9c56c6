"""`pinterest-emulator seed-db`: create the three source tables and fill them (synthetic or real rows)."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

from pinterest_emulator.db import DEFAULT_DB_URL
from pinterest_pipeline.errors import ConfigError

DEFAULT_ROWS = 11154
DEFAULT_SEED = 1


@dataclass
class SeedReport:
    """What a seeding run did."""

    db_url: str
    rows: int
    seed: int
    source: str
    filled_pin_rows: int
    seconds: float


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the seed-db options."""
    parser.add_argument(
        "--db-url",
        default=DEFAULT_DB_URL,
        help=f"SQLAlchemy URL, e.g. mysql+pymysql://root@127.0.0.1/test (default {DEFAULT_DB_URL})",
    )
    parser.add_argument("--rows", type=int, help=f"rows per table (default {DEFAULT_ROWS})")
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="generator seed (same seed, same rows)"
    )
    parser.add_argument(
        "--from-real",
        metavar="DIR",
        help="load the real tables from DIR (geolocation_data.csv, user_data.csv, "
        "pinterest_data_partial.jsonl) instead of synthetic rows; the post "
        "rows and fields the files lack are filled with synthetic ones of the same index",
    )
    parser.add_argument("--replace", action="store_true", help="drop the three tables first if they exist")


def seed_database(
    db_url: str = DEFAULT_DB_URL,
    rows: int | None = None,
    seed: int = DEFAULT_SEED,
    from_real: str | None = None,
    replace: bool = False,
    progress: bool | None = None,
) -> SeedReport:
    """Create pinterest_data, geolocation_data and user_data in db_url and fill them; returns a SeedReport.

    Raises ConfigError for options that do not go together or tables that exist (without `replace`),
    InputError for real files that cannot be read, ServiceError for a database server out of reach.
    """
    from tqdm import tqdm

    from pinterest_emulator import db, synth

    if from_real is not None and rows is not None:
        raise ConfigError("--rows does not go with --from-real (the real tables have their own row count)")
    rows = DEFAULT_ROWS if rows is None else rows
    if rows < 1:
        raise ConfigError(f"--rows must be at least 1, got {rows}")
    started = time.monotonic()
    filled = 0
    if from_real is not None:
        from pinterest_emulator.realdata import load_real

        rows, filled, chunks = load_real(from_real, seed)
    else:
        chunks = synth.generate(rows, seed)
    engine = db.make_engine(db_url)
    try:
        present = db.existing_tables(engine)
        if present and not replace:
            raise ConfigError(
                f"{', '.join(present)} already exist(s) in {db_url} (use --replace to drop them)"
            )
        tables = [db.table(entity) for entity in db.TABLE_NAMES]
        db.metadata().drop_all(engine, tables=tables)
        db.metadata().create_all(engine, tables=tables)
        with tqdm(
            total=rows, unit="row", desc="seed-db", disable=None if progress is None else not progress
        ) as bar:
            for chunk in chunks:
                with engine.begin() as conn:
                    for entity, values in (("pin", chunk.pins), ("geo", chunk.geos), ("user", chunk.users)):
                        conn.execute(db.table(entity).insert(), values)
                bar.update(len(chunk.pins))
    finally:
        engine.dispose()
    source = f"real:{from_real}" if from_real is not None else "synthetic"
    return SeedReport(db_url, rows, seed, source, filled, time.monotonic() - started)


def run(args: argparse.Namespace) -> int:
    """Run seed-db from parsed arguments; returns the exit code (a failure raises, for the command line)."""
    report = seed_database(args.db_url, args.rows, args.seed, args.from_real, args.replace)
    extra = (
        f", {report.filled_pin_rows} post rows filled synthetically" if report.source != "synthetic" else ""
    )
    print(
        f"seed-db: {report.rows} rows per table ({report.source}, seed {report.seed}) in {report.db_url} "
        f"in {report.seconds:.1f}s{extra}"
    )
    return 0
