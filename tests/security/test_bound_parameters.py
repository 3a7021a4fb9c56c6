"""Every SQL statement the emulator sends binds its values: rows holding SQL-looking text are seeded and posted
(SQLite and the local MariaDB), no value ever appears in a statement's text, and every value comes back intact."""

from __future__ import annotations

import io
import json

import pytest
from pinterest_emulator import db, synth
from pinterest_emulator.config import PostConfig
from pinterest_emulator.post import post_events, serialise
from pinterest_emulator.seed import seed_database
from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine

ROWS = 300
# Values that would break out of a quoted SQL literal, or run a second statement, if formatted into the SQL.
HOSTILE = {
    "pin": {
        "title": "'; DROP TABLE pinterest_data; --",
        "description": 'Robert"); DELETE FROM user_data WHERE "1"="1',
        "poster_name": "O'Brien \\' OR 1=1 -- ",
        "tag_list": "a,b'); UPDATE pinterest_data SET title='pwned",
    },
    "geo": {"country": "Côte d'Ivoire'); SELECT SLEEP(5); --"},
    "user": {"first_name": "Zoë' OR ''='", "last_name": "x' UNION SELECT user, password FROM mysql.user --"},
}


def hostile_generate(real_generate):
    """synth.generate with the hostile values written into every row."""

    def generate(rows: int, seed: int):
        for chunk in real_generate(rows, seed):
            for entity, rows_of in (("pin", chunk.pins), ("geo", chunk.geos), ("user", chunk.users)):
                for row in rows_of:
                    row.update(HOSTILE[entity])
            yield chunk

    return generate


class Statements:
    """Every statement text and its parameters, as sent to the database driver."""

    def __init__(self):
        self.sent: list[tuple[str, object]] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.sent.append((statement, parameters))

    def __enter__(self):
        event.listen(Engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        event.remove(Engine, "before_cursor_execute", self)


def stored(url: str) -> dict[str, dict[int, dict]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        out = {
            e: {r[db.KEY_COLUMNS[e]]: dict(r) for r in conn.execute(select(db.table(e))).mappings()}
            for e in db.TABLE_NAMES
        }
    engine.dispose()
    return out


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mysql)])
def database(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'source.db'}"
    return request.getfixturevalue("mysql_url")


def test_seed_and_post_bind_every_value_and_the_data_round_trips(database, monkeypatch):
    monkeypatch.setattr(synth, "generate", hostile_generate(synth.generate))
    out = io.StringIO()
    with Statements() as statements:
        seed_database(database, rows=ROWS, seed=3, replace=True, progress=False)
        report = post_events(
            PostConfig("console", database, sampling="uniform", seed=2, count=40, batch_size=15),
            progress=False,
            out=out,
        )
    assert report.ok, report.error

    inserts = [(s, p) for s, p in statements.sent if s.lstrip().upper().startswith("INSERT")]
    reads = [(s, p) for s, p in statements.sent if " IN (" in s]
    assert len(inserts) >= 3 and len(reads) == 9  # one insert per table at least; 3 batches x 3 tables
    assert all(p for _, p in inserts + reads), "values and indexes travel as parameters"
    values = [v for fields in HOSTILE.values() for v in fields.values()]
    for statement, _ in statements.sent:
        for value in values:
            assert value not in statement, f"a row value is in the SQL text: {statement[:200]}"

    # The data round-trips intact: as stored, and as posted.
    rows = stored(database)
    assert all(len(rows[e]) == ROWS for e in rows)
    for entity, fields in HOSTILE.items():
        for row in rows[entity].values():
            assert {k: row[k] for k in fields} == fields
    posted = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(posted) == 3 * 40
    for message in posted:
        entity = message["topic"].split(".")[1]
        key = db.KEY_COLUMNS[entity]
        assert message["value"] == serialise(rows[entity][message["value"][key]])
        assert {k: message["value"][k] for k in HOSTILE[entity]} == HOSTILE[entity]
