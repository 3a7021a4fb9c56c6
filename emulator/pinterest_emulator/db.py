"""The three source tables and the database access the seeder and the emulator share.

Column names and types are the original course's MySQL tables; SQLAlchemy Core makes them work on SQLite (the
local default) and on MySQL/MariaDB through PyMySQL. Module top level imports only the standard library (the
CLI imports every subcommand module); SQLAlchemy is imported when a function needs it.
"""

from __future__ import annotations

import functools
from pathlib import Path

from pinterest_pipeline.errors import ConfigError, PipelineError, ServiceError

DEFAULT_DB_URL = "sqlite:///.pinterest/source.db"
# A read that loses its connection (server restarted, connection killed, network cut) is retried on a new one.
DB_ATTEMPTS = 5
DB_BACKOFF = 0.2  # seconds before the first retry, doubling (at most 2 s)
TABLE_NAMES = {"pin": "pinterest_data", "geo": "geolocation_data", "user": "user_data"}
KEY_COLUMNS = {"pin": "index", "geo": "ind", "user": "ind"}
# MySQL's answers that mean the server was reached and refused the URL's account or database (access denied,
# unknown database): a setting to fix, unlike a server that cannot be reached.
_REFUSED_BY_SERVER = {1044, 1045, 1049}


@functools.lru_cache(maxsize=1)
def metadata():
    """SQLAlchemy metadata of pinterest_data, geolocation_data and user_data."""
    from sqlalchemy import Column, DateTime, Float, Integer, MetaData, String, Table, Text

    md = MetaData()
    # utf8mb4 on MySQL: titles and poster names carry emoji.
    opts = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
    Table(
        "pinterest_data",
        md,
        Column("index", Integer, primary_key=True, autoincrement=False),
        Column("unique_id", String(36)),
        Column("title", Text),
        Column("description", Text),
        Column("poster_name", Text),
        Column("follower_count", String(32)),
        Column("tag_list", Text),
        Column("is_image_or_video", String(64)),
        Column("image_src", Text),
        Column("downloaded", Integer),
        Column("save_location", Text),
        Column("category", String(64)),
        **opts,
    )
    Table(
        "geolocation_data",
        md,
        Column("ind", Integer, primary_key=True, autoincrement=False),
        Column("timestamp", DateTime),
        Column("latitude", Float),
        Column("longitude", Float),
        Column("country", String(100)),
        **opts,
    )
    Table(
        "user_data",
        md,
        Column("ind", Integer, primary_key=True, autoincrement=False),
        Column("first_name", String(100)),
        Column("last_name", String(100)),
        Column("age", Integer),
        Column("date_joined", DateTime),
        **opts,
    )
    return md


def table(entity: str):
    """The Table object of an entity (pin, geo, user)."""
    return metadata().tables[TABLE_NAMES[entity]]


def parse_url(db_url: str):
    """A database URL as SQLAlchemy reads it; ConfigError when it is not one."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(db_url)
    except ArgumentError as exc:
        raise ConfigError(f"not a database URL: {db_url!r}") from exc


def _cannot_open(url, exc) -> PipelineError:
    """What an OperationalError on the first connection means: a server out of reach, or a setting to fix."""
    shown = url.render_as_string(hide_password=True)
    args = getattr(exc.orig, "args", ())
    code = args[0] if args and isinstance(args[0], int) else None
    if url.get_backend_name() == "sqlite" or code in _REFUSED_BY_SERVER:
        return ConfigError(f"cannot open {shown}: {exc.orig}")
    return ServiceError(f"cannot reach {shown}: {exc.orig}")


def make_engine(db_url: str):
    """An engine for a database URL; creates the parent folder of a SQLite file, fails early when unreachable.

    Raises ConfigError for a URL, driver, account or database that cannot be used, ServiceError for a database
    server that cannot be reached.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import NoSuchModuleError, OperationalError

    url = parse_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "mysql" and "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    try:
        # pool_pre_ping: a pooled connection the server has dropped meanwhile is replaced before it is used
        engine = create_engine(url, pool_pre_ping=True)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigError(f"no driver for {url.get_backend_name()!r}: {exc}") from exc
    except OperationalError as exc:
        raise _cannot_open(url, exc) from exc
    return engine


def existing_tables(engine) -> list[str]:
    """Which of the three source tables already exist."""
    from sqlalchemy import inspect

    present = set(inspect(engine).get_table_names())
    return [name for name in TABLE_NAMES.values() if name in present]


def row_count(engine, entity: str) -> int:
    """Number of rows of an entity's table."""
    from sqlalchemy import func, select

    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table(entity))).scalar_one()


def index_span(engine) -> int:
    """Highest post index + 1 (the table holds 0..n-1; an index lookup, unlike COUNT(*) on InnoDB)."""
    from sqlalchemy import func, select

    with engine.connect() as conn:
        highest = conn.execute(select(func.max(table("pin").c["index"]))).scalar_one()
    return 0 if highest is None else highest + 1


def fetch_rows(conn, entity: str, indexes) -> dict[int, dict]:
    """The rows of one table whose key is in `indexes` (one query, bound parameters), keyed by index."""
    from sqlalchemy import bindparam, select

    tbl = table(entity)
    key = tbl.c[KEY_COLUMNS[entity]]
    query = select(tbl).where(key.in_(bindparam("keys", expanding=True)))
    result = conn.execute(query, {"keys": sorted(set(indexes))})
    return {row[KEY_COLUMNS[entity]]: dict(row) for row in result.mappings()}


def is_connection_lost(exc: BaseException) -> bool:
    """True for a database error that a new connection may cure: the server dropped or refused the connection."""
    from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError

    return isinstance(exc, (OperationalError, DisconnectionError)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def fetch_rows_retrying(
    engine, entity: str, indexes, attempts: int = DB_ATTEMPTS, backoff: float = DB_BACKOFF, on_retry=None
) -> dict[int, dict]:
    """`fetch_rows` on a pooled connection; a lost connection is retried on a new one, `attempts` times at most.

    Raises ServiceError, with one line, when the database stays unreachable. `on_retry()` is called before
    each retry (to count them).
    """
    from sqlalchemy.exc import DBAPIError
    from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

    def read() -> dict[int, dict]:
        with engine.connect() as conn:
            return fetch_rows(conn, entity, indexes)

    retrying = Retrying(
        retry=retry_if_exception(is_connection_lost),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=backoff, max=2.0),
        reraise=True,
        before_sleep=(lambda _state: on_retry()) if on_retry else None,
    )
    try:
        return retrying(read)
    except DBAPIError as exc:
        if not is_connection_lost(exc):
            raise
        reason = " ".join(str(exc.orig if exc.orig is not None else exc).split())
        raise ServiceError(
            f"source database unreachable ({TABLE_NAMES[entity]}, {attempts} attempts): {reason}"
        ) from exc
