"""The source database drops the emulator's connections mid-run (`KILL` on the real MariaDB): the emulator
reconnects and posts every event once, in order; a database that keeps dropping them ends the run with one
line and exit code 5 (a service out of reach)."""

from __future__ import annotations

import itertools
import threading

import gateway_fixtures as fx
import pymysql
import pytest
from pinterest_emulator import db
from pinterest_emulator.cli import main
from pinterest_emulator.config import PostConfig
from pinterest_emulator.gateway import Gateway
from pinterest_emulator.post import post_events, serialise
from pinterest_emulator.sampling import uniform_indexes
from pinterest_emulator.seed import seed_database
from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine, make_url

pytestmark = pytest.mark.mysql
ENTITIES = ("pin", "geo", "user")
ROWS, SEED, EVENTS, BATCH = 3000, 21, 600, 50
UNUSED_KINESIS = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def source(mysql_url):
    seed_database(mysql_url, rows=ROWS, seed=12, replace=True, progress=False)
    return mysql_url


def expected_records(url: str, indexes: list[int]) -> dict[str, list[dict]]:
    """What the emulator must send for these indexes, in this order, read straight from the database."""
    engine = create_engine(url)
    out = {}
    with engine.connect() as conn:
        for entity in ENTITIES:
            tbl = db.table(entity)
            rows = {
                r[db.KEY_COLUMNS[entity]]: serialise(dict(r)) for r in conn.execute(select(tbl)).mappings()
            }
            out[entity] = [rows[i] for i in indexes]
    engine.dispose()
    return out


class Killer:
    """Kills every connection to the source database from another connection, before chosen source reads.

    Installed as a `before_cursor_execute` listener: when the emulator is about to send its n-th batch read,
    the killer finds the emulator's connections in information_schema.processlist and KILLs them, the one
    about to run the read included, so the read itself fails and the other pooled connections are dead.
    """

    def __init__(self, url: str, at: set[int] | None = None):
        parsed = make_url(url)
        self.database = parsed.database
        # the same server, no database selected: the killer is not one of its own victims
        self.admin = {
            "host": parsed.host,
            "port": parsed.port or 3306,
            "user": parsed.username,
            "password": parsed.password or "",
        }
        self.at = at  # the reads (1-based) before which to kill; None: before every read
        self.reads = 0
        self.killed: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if conn.engine.url.database != self.database or " IN (" not in statement:
            return
        with self.lock:
            self.reads += 1
            if self.at is not None and self.reads not in self.at:
                return
            admin = pymysql.connect(connect_timeout=3, **self.admin)
            try:
                with admin.cursor() as cur:
                    cur.execute(
                        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID()",
                        (self.database,),
                    )
                    victims = [row[0] for row in cur.fetchall()]
                    for victim in victims:
                        cur.execute("KILL %s", (victim,))
            finally:
                admin.close()
            self.killed.extend(victims)

    def __enter__(self):
        event.listen(Engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        event.remove(Engine, "before_cursor_execute", self)


def test_connections_killed_mid_run_the_emulator_reconnects_and_posts_every_event_once_in_order(
    source, tmp_path
):
    # 12 batches of 50 events, three reads each (36 reads): kill before reads 4, 17 and 30.
    with (
        Gateway(tmp_path, kinesis_endpoint=UNUSED_KINESIS, flush_size=100_000) as gateway,
        Killer(source, at={4, 17, 30}) as killer,
    ):
        report = post_events(
            PostConfig(
                "kafka-rest",
                source,
                gateway=gateway.url,
                sampling="uniform",
                seed=SEED,
                count=EVENTS,
                batch_size=BATCH,
            ),
            progress=False,
        )
    assert report.ok, report.error
    assert report.events == EVENTS and report.acknowledged == report.records_sent == 3 * EVENTS
    assert len(killer.killed) >= 3  # each kill found at least the connection about to read
    assert report.db_retries >= 3  # each killed read was retried on a new connection
    expected = expected_records(source, list(itertools.islice(uniform_indexes(ROWS, SEED), EVENTS)))
    for entity in ENTITIES:
        landed = [value for _, _, value in fx.read_topic(tmp_path, f"pinterest.{entity}")]
        assert landed == expected[entity], entity  # every event once, in the emulator's order


def test_a_database_that_keeps_dropping_the_connection_ends_the_run_with_one_line(source, tmp_path, capsys):
    with (
        Gateway(tmp_path, kinesis_endpoint=UNUSED_KINESIS) as gateway,
        Killer(source) as killer,  # before every read: no attempt can succeed
    ):
        code = main(
            [
                "post",
                "--target",
                "kafka-rest",
                "--db-url",
                source,
                "--gateway",
                gateway.url,
                "--sampling",
                "uniform",
                "--count",
                "10",
            ]
        )
    err = capsys.readouterr().err
    assert code == 5 and err.count("\n") == 1  # nothing was posted: the reason alone, no counts
    assert err.startswith("pinterest-emulator post: source database unreachable (") and "5 attempts" in err
    assert "Lost connection" in err or "Connection was killed" in err or "gone away" in err
    assert killer.reads >= 5
    assert fx.read_topic(tmp_path, "pinterest.pin") == []
