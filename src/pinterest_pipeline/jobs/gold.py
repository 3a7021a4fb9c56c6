"""The batch job's gold step: the posts' counts brought up to silver, then the nine insights from them.

The counts (`insights.post_counts`: the posts by country and category, follower count and age group, ...) are
sums, kept in a table of their own (`counts/posts`) noted with the silver versions they count. A run that finds
silver moved on by appends only folds in the posts those appends touched: Delta's change data feed names the
inds the appended rows hold; their joined rows as they are now are counted in, and as they were before (the same
rows less those the appends added) counted out. Anything else (no counts yet, a silver table rewritten, vacuumed
or without the feed since the counts' versions) recounts the whole join. The counts are committed before any
gold table, in one commit: a run stopped after it finds them current and writes only the gold tables.
"""

from __future__ import annotations

import functools
import json

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pinterest_pipeline import names
from pinterest_pipeline.insights import COUNT_COLUMNS, INSIGHTS, InsightInputs, join_silver, post_counts
from pinterest_pipeline.jobs.parallel import SPARK_JOBS, run_parallel
from pinterest_pipeline.lake import DeltaStore
from pinterest_pipeline.names import ENTITIES
from pinterest_pipeline.session import persisted, release

# Silver commits that a fold can follow: appends (compaction and upkeep change no rows).
_FOLDABLE = {"OPTIMIZE", "SET TBLPROPERTIES"}
# Commits a run's upkeep may add after its last write to a table (OPTIMIZE, VACUUM START and END, a property).
_UPKEEP_COMMITS = 4


def silver_versions(store: DeltaStore) -> dict[str, int | None]:
    """The silver tables' data versions: what the counts and the gold tables are built from."""
    return {e: store.data_version(names.silver(e)) for e in ENTITIES}


def _noted_versions(note: str | None) -> dict[str, int] | None:
    try:
        value = json.loads(note or "")
    except ValueError:
        return None
    if not isinstance(value, dict) or not all(isinstance(value.get(e), int) for e in ENTITIES):
        return None
    return {e: value[e] for e in ENTITIES}


def _appended_only(store: DeltaStore, entity: str, after: int, through: int) -> bool:
    """True when every commit of silver `entity` after version `after` (its appends up to `through`, the upkeep
    after them) is an append or changes no rows, none is a VACUUM (which may have deleted the files the appends
    added), the log still reaches back to `after`, and the table records its changes."""
    name = names.silver(entity)
    # Newest first; upkeep may have committed a few times after `through`.
    history = store.history(name, through - after + 1 + _UPKEEP_COMMITS) or []
    history = [row for row in history if int(row["version"]) >= after]
    if not history or int(history[-1]["version"]) != after:
        return False
    for row in history[:-1]:
        operation = row["operation"]
        if operation in _FOLDABLE:
            continue
        if operation != "WRITE" or (row.get("operationParameters") or {}).get("mode") != "Append":
            return False
    return store.records_changes(name)


def _fold(store: DeltaStore, counts: DataFrame, old: dict[str, int], new: dict[str, int]) -> DataFrame:
    """`counts` (those of silver at versions `old`) brought to silver's versions `new`, which only appended rows."""
    appended = {
        e: store.changes(names.silver(e), old[e] + 1, new[e]).select("ind").distinct()
        for e in ENTITIES
        if new[e] != old[e]
    }
    touched = functools.reduce(DataFrame.unionByName, appended.values()).distinct()
    now = {e: store.read(names.silver(e)).join(F.broadcast(touched), "ind", "left_semi") for e in ENTITIES}
    # An ind is in a silver table once: its row before the appends is its row now, unless the appends added it.
    before = {
        e: now[e].join(F.broadcast(appended[e]), "ind", "left_anti") if e in appended else now[e]
        for e in ENTITIES
    }
    added = post_counts(join_silver(now["pin"], now["geo"], now["user"]))
    removed = post_counts(join_silver(before["pin"], before["geo"], before["user"]))
    return (
        counts.unionByName(added)
        .unionByName(removed.withColumn("posts", -F.col("posts")))
        .groupBy(*COUNT_COLUMNS)
        .agg(F.sum("posts").alias("posts"))
        .where(F.col("posts") != 0)
    )


def refresh_counts(store: DeltaStore, versions: dict[str, int | None], cache: bool) -> tuple[DataFrame, bool]:
    """The posts' counts of silver at `versions`, committed to the counts table when they were not current (kept
    in memory when `cache`), and whether only the changed posts were counted."""
    name = names.post_counts()
    note = json.dumps(versions, sort_keys=True)
    if store.last_note(name) == note:
        return persisted(store.read(name), cache), True
    old = _noted_versions(store.last_note(name))
    foldable = (
        old is not None
        and None not in versions.values()
        and all(old[e] <= versions[e] for e in ENTITIES)
        and all(old[e] == versions[e] or _appended_only(store, e, old[e], versions[e]) for e in ENTITIES)
    )
    if foldable:
        counts = _fold(store, store.read(name), old, versions)
    else:
        silver = {e: store.read(names.silver(e)) for e in ENTITIES}
        counts = post_counts(join_silver(silver["pin"], silver["geo"], silver["user"]))
    store.overwrite(counts, name, note)
    # Read back from the commit: the frame above reads the table it replaced (a Delta frame reads the table's
    # newest version whenever it runs), so running it again would fold the same posts in twice.
    return persisted(store.read(name), cache), foldable


def refresh_gold(store: DeltaStore, cache: bool) -> tuple[dict[str, int], bool] | None:
    """Bring the counts and the nine gold tables up to silver when any of them is behind; the rows each gold table
    got and whether the counts were folded, or None when every table was current."""
    versions = silver_versions(store)
    built_from = json.dumps(versions, sort_keys=True)
    gold = [names.gold(n) for n in INSIGHTS]
    # One stale table (silver moved on, or a run stopped while writing gold) is enough to rebuild them all.
    if all(store.last_note(name) == built_from for name in gold):
        return None
    counts, folded = refresh_counts(store, versions, cache)
    silver = {e: store.read(names.silver(e)) for e in ENTITIES}
    inputs = InsightInputs(silver["pin"], silver["geo"], silver["user"], counts)

    def write_insight(insight: str) -> int:
        # A gold table is a few hundred rows at most: one file.
        return store.overwrite(INSIGHTS[insight](inputs).coalesce(1), names.gold(insight), built_from)

    try:
        return run_parallel({n: functools.partial(write_insight, n) for n in INSIGHTS}, SPARK_JOBS), folded
    finally:
        release(counts, cache)
