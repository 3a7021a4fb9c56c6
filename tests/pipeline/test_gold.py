"""jobs/gold: the posts' counts folded forward over silver's appends equal a recount of the whole join, and a
silver table rewritten or vacuumed since the counts' versions is recounted whole."""

from __future__ import annotations

import datetime as dt

import pytest

from pinterest_pipeline import names
from pinterest_pipeline.insights import join_silver, post_counts
from pinterest_pipeline.jobs.gold import refresh_counts, silver_versions
from pinterest_pipeline.lake import DeltaStore, Upkeep
from pinterest_pipeline.schemas import SILVER_GEO_SCHEMA, SILVER_PIN_SCHEMA, SILVER_USER_SCHEMA

SCHEMAS = {"pin": SILVER_PIN_SCHEMA, "geo": SILVER_GEO_SCHEMA, "user": SILVER_USER_SCHEMA}


def row(entity: str, ind: int, variant: int = 0) -> tuple:
    at = dt.datetime(2019 + variant, 1, 1, tzinfo=dt.UTC)
    return {
        "pin": (
            ind,
            f"u{ind}",
            "t",
            "d",
            100 * ind + variant,
            f"poster{ind % 3}",
            "tags",
            "image",
            "src",
            "/d",
            "art",
        ),
        "geo": (ind, ["Chad", "Benin"][(ind + variant) % 2], [0.0, 0.0], at),
        "user": (ind, f"user{ind}", 20 + 10 * (ind % 4) + variant, at),
    }[entity]


def rows(spark, entity: str, inds, variant: int = 0):
    return spark.createDataFrame([row(entity, i, variant) for i in inds], SCHEMAS[entity])


def recount(store: DeltaStore) -> set[tuple]:
    silver = {e: store.read(names.silver(e)) for e in SCHEMAS}
    return set(map(tuple, post_counts(join_silver(silver["pin"], silver["geo"], silver["user"])).collect()))


def refreshed(store: DeltaStore) -> tuple[set[tuple], bool]:
    counts, folded = refresh_counts(store, silver_versions(store), cache=False)
    return set(map(tuple, counts.collect())), folded


@pytest.fixture
def store(spark, tmp_path):
    store = DeltaStore(spark, str(tmp_path))
    for entity, inds in {"pin": [1, 2], "geo": [1], "user": []}.items():
        store.overwrite(rows(spark, entity, inds), names.silver(entity))
    counts, folded = refreshed(store)
    assert not folded and counts == recount(store)  # no counts yet: the whole join counted
    return store


def test_appends_are_folded_in_and_equal_a_recount(spark, store):
    # Post 1 gains its user, post 2 its geolocation and user (they were counted without them), post 3 is new.
    store.append(rows(spark, "geo", [2]), names.silver("geo"))
    store.append(rows(spark, "user", [1, 2]), names.silver("user"))
    store.append(rows(spark, "pin", [3]), names.silver("pin"))
    counts, folded = refreshed(store)
    assert folded and counts == recount(store)
    store.append(rows(spark, "geo", [3]), names.silver("geo"))
    store.append(rows(spark, "user", [3, 4]), names.silver("user"))  # user 4 has no post
    counts, folded = refreshed(store)
    assert folded and counts == recount(store)
    version = store.version(names.post_counts())
    assert refreshed(store) == (counts, True)  # current: read, not written again
    assert store.version(names.post_counts()) == version


def test_a_rewritten_silver_table_is_recounted(spark, store):
    store.overwrite(rows(spark, "geo", [1, 2], variant=1), names.silver("geo"))  # a replaced row
    counts, folded = refreshed(store)
    assert not folded and counts == recount(store)


def test_a_silver_table_vacuumed_since_the_counts_is_recounted(spark, store):
    store.append(rows(spark, "pin", [3]), names.silver("pin"))
    assert store.maintain(
        names.silver("pin"), Upkeep(retain_hours=0, compact_min_files=2, vacuum_min_files=1)
    ) == [
        "OPTIMIZE",
        "VACUUM",
    ]
    counts, folded = refreshed(store)
    assert not folded and counts == recount(store)
