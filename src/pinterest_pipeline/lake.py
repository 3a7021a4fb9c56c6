"""Where tables live and how they are written: Delta tables, committed by Spark's own Delta writer.

One store, `DeltaStore`, the same locally (delta-spark, jars fetched by `make setup`) and on Databricks: tables at
`<lake>/<layer>/<name>` paths, or catalog tables `<catalog>.<schema>.<layer>_<name>` (gold tables keep their
names). Every write is one Delta commit; what a write did is read back from that commit's metrics.

Exactly once. A streaming micro-batch's writes carry Delta's application transaction as DataFrameWriter options
(`txnAppId` = the query, `txnVersion` = the batch id): Delta skips a write whose (app id, version) the table has
already committed, and of two writers racing with the same pair, one fails with a conflict. Delta's other
idempotency switch, the session confs `spark.databricks.delta.write.txnAppId/txnVersion` for MERGE, is
deliberately not used: under Spark Connect every foreachBatch call runs on the session the queries were started
from (SPARK-44462), so the five streaming queries would share it. The two merges the stream tables need are
therefore written as one writer-option commit each: insert-if-absent is an anti-join and an append; an upsert of
metric windows is an overwrite of the affected slice (`replaceWhere`). Each table has one writer (its query), so
reading the target and then committing is not racing anybody.

Upkeep: `maintain` compacts (Delta's OPTIMIZE) and removes files older than the retention (VACUUM).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlparse

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pinterest_pipeline.errors import ConfigError, LakeBusyError

# Commits that change no data: they are skipped when asking what a table was last built from or holds.
MAINTENANCE_OPERATIONS = frozenset({"OPTIMIZE", "VACUUM START", "VACUUM END", "SET TBLPROPERTIES"})
# Delta's default for delta.deletedFileRetentionDuration (7 days): files a reader of an older version may need.
DEFAULT_RETAIN_HOURS = 168
# How far back in a table's history the store looks for its own commits (a write adds one, upkeep at most four).
_HISTORY_DEPTH = 20
# How far back upkeep looks for removed files and the last VACUUM.
_VACUUM_HISTORY_DEPTH = 200
# The column Delta keeps file statistics on (min, max, nulls), by layer: the first of the layer's candidates the
# table has. A layer not named here keeps Delta's default, its first 32 columns (silver_order's six short columns,
# keyed by `index`, keep it). Bronze and quarantine are read by ingest time, silver whole: statistics of their long
# text columns would cost a third of each write and skip nothing (BENCHMARKS.md). The stream tables are read by
# arrival time (the metrics' recomputation), their metrics replaced by window start: a micro-batch's small writes
# spend a fifth of their time building the statistics of 32 columns otherwise. Set when a table is created (Delta
# ignores the property on a write to an existing table).
STATS_COLUMNS = {
    "bronze": ("ingested_at",),
    "quarantine": ("ingested_at",),
    "silver": ("ind",),
    "stream": ("arrived_at", "window_start"),
    "stream_quarantine": ("ingested_at",),
}


@dataclass(frozen=True)
class Txn:
    """An application transaction: a write tagged (app_id, version) is done at most once."""

    app_id: str
    version: int

    def note(self, facts: dict[str, int] | None = None) -> str:
        """The commit's userMetadata: the transaction, by which the store finds its commit in the table's history,
        and what the writer wants the commit to record (a micro-batch's records read, say)."""
        return json.dumps({"txn": self.app_id, "version": self.version, **(facts or {})}, sort_keys=True)


def txn_note(user_metadata: str | None) -> dict | None:
    """The note a transactional write of this store left (see `Txn.note`), or None for any other commit."""
    try:
        note = json.loads(user_metadata or "")
    except ValueError:
        return None
    return note if isinstance(note, dict) and "txn" in note and "version" in note else None


@dataclass(frozen=True)
class TxnCommit:
    """One committed write of an application transaction: its rows and the facts its note records."""

    version: int  # the transaction's version: a micro-batch's id
    rows: int
    facts: dict[str, int]


@dataclass(frozen=True)
class Upkeep:
    """When `DeltaStore.maintain` compacts and vacuums a table; validated on creation.

    OPTIMIZE and VACUUM each cost a second or more even on a small table (VACUUM lists the whole table), so they
    run when there is enough to do: a table compacted once it has `compact_min_files` files, vacuumed once
    `vacuum_min_files` removed files are past the retention. A table so never holds more than
    `compact_min_files` live files (plus what one write adds), the removed files the retention protects, and
    `vacuum_min_files` more.
    """

    retain_hours: int = DEFAULT_RETAIN_HOURS
    compact_min_files: int = 32
    vacuum_min_files: int = 32

    def __post_init__(self) -> None:
        if self.retain_hours < 0:
            raise ConfigError(f"the retention must be zero or more hours, not {self.retain_hours}")
        if self.compact_min_files < 2 or self.vacuum_min_files < 1:
            raise ConfigError("upkeep needs at least 2 files to compact and 1 file to vacuum")


def lake_root(lake: str) -> str:
    """The lake root as Spark names its tables: a local path made absolute (SQL's delta.`<path>` finds no table at a
    relative one, so a relative lake read as empty), a URI or a Databricks path as it is."""
    if urlparse(lake).scheme == "" and not lake.startswith(("/Volumes/", "/dbfs/")):
        return os.path.abspath(lake)
    return lake


def table_path(lake: str, name: str) -> str:
    """The location of table `name` ("silver/pin", "gold/...") under a lake root."""
    return f"{lake_root(lake).rstrip('/')}/{name}"


class DeltaStore:
    """Reads and writes the lake's tables by logical name ("bronze/pin", "gold/users_joined_by_year")."""

    def __init__(
        self,
        spark: SparkSession,
        lake: str,
        catalog: str | None = None,
        schema: str | None = None,
        confirm: bool = True,
    ):
        """`confirm`: whether a write reads the table's log back to return what it wrote (two looks at the
        history per write); a writer that reads its commits later anyway (`txn_commits`) saves them."""
        if bool(catalog) != bool(schema):
            raise ConfigError("--catalog and --schema go together")
        self.spark = spark
        self.lake = lake_root(lake)
        self.catalog = catalog
        self.schema = schema
        self.confirm = confirm
        self._retention_set: set[str] = set()
        # Each table's history as read right after this store's last write to it: upkeep, which comes next,
        # needs no second look when that one reaches back far enough.
        self._written: dict[str, list[dict]] = {}

    # --- names -------------------------------------------------------------------------------------------------

    def qualified(self, name: str) -> str | None:
        """The catalog table of `name` (`c`.`s`.`layer_name`; gold tables by their own name), or None for paths."""
        if not self.catalog:
            return None
        layer, _, table = name.partition("/")
        table_name = table if layer == "gold" else f"{layer}_{table.replace('/', '_')}"
        return f"`{self.catalog}`.`{self.schema}`.`{table_name}`"

    def ref(self, name: str) -> str:
        """The table as SQL names it."""
        return self.qualified(name) or f"delta.`{table_path(self.lake, name)}`"

    # --- reading -----------------------------------------------------------------------------------------------

    def history(
        self,
        name: str,
        limit: int | None = _HISTORY_DEPTH,
        spark: SparkSession | None = None,
        after: int | None = None,
    ) -> list[dict] | None:
        """The table's last commits (all when `limit` is None; those newer than version `after` when given),
        newest first, `ms` their epoch milliseconds (None when there is no table)."""
        query = f"DESCRIBE HISTORY {self.ref(name)}" + ("" if limit is None else f" LIMIT {int(limit)}")
        try:
            frame = (spark or self.spark).sql(query)
            if after is not None:
                frame = frame.where(F.col("version") > F.lit(after))
            rows = frame.select(
                "version",
                F.unix_millis("timestamp").alias("ms"),
                "operation",
                "operationMetrics",
                "userMetadata",
            ).collect()
        except AnalysisException:
            return None
        return [row.asDict() for row in rows]

    def version(self, name: str, spark: SparkSession | None = None) -> int | None:
        """The table's current version, or None when it does not exist."""
        rows = self.history(name, 1, spark)
        return int(rows[0]["version"]) if rows else None

    def data_version(self, name: str) -> int | None:
        """The version of the table's last commit that changed data (upkeep commits skipped); None: no table."""
        commit = self._last_data_commit(name)
        return None if commit is None else int(commit["version"])

    def last_note(self, name: str) -> str | None:
        """The note of the table's last data commit (None when there is no table or no note)."""
        commit = self._last_data_commit(name)
        return None if commit is None else commit["userMetadata"]

    def _last_data_commit(self, name: str):
        for row in self.history(name) or []:
            if row["operation"] not in MAINTENANCE_OPERATIONS:
                return row
        return None

    def txn_commits(
        self, name: str, app_id: str, after: int | None, spark: SparkSession | None = None
    ) -> dict[int, TxnCommit]:
        """The writes of app transaction `app_id` the table committed after version `after` (all when None), by
        transaction version: what a run of a query wrote, read back from the table's own log."""
        found: dict[int, TxnCommit] = {}
        for row in self.history(name, None, spark, after) or []:
            note = txn_note(row["userMetadata"])
            if note is None or note["txn"] != app_id:
                continue
            facts = {k: int(v) for k, v in note.items() if k not in ("txn", "version")}
            rows = int((row["operationMetrics"] or {}).get("numOutputRows", 0))
            found[int(note["version"])] = TxnCommit(int(note["version"]), rows, facts)
        return found

    def exists(self, name: str, spark: SparkSession | None = None) -> bool:
        """True when the table exists."""
        return self._load(name, spark or self.spark) is not None

    def _load(self, name: str, spark: SparkSession) -> DataFrame | None:
        """The table's current snapshot, or None when there is no table. Resolving the schema is what finds out
        (under Spark Connect too, where reading is lazy): it costs a tenth of the one-commit DESCRIBE HISTORY that
        would answer the same, which runs a Spark job."""
        qualified = self.qualified(name)
        try:
            if qualified:
                frame = spark.read.table(qualified)
            else:
                frame = spark.read.format("delta").load(table_path(self.lake, name))
            _ = frame.schema  # resolving it is what fails for a missing table
        except AnalysisException:
            return None
        return frame

    def read(
        self, name: str, schema: T.StructType | None = None, spark: SparkSession | None = None
    ) -> DataFrame:
        """The table's current snapshot (an empty frame of `schema` when it does not exist)."""
        spark = spark or self.spark
        frame = self._load(name, spark)
        return spark.createDataFrame([], schema or T.StructType([])) if frame is None else frame

    def row_count(self, name: str) -> int:
        """Rows in the table's current snapshot (0 when there is no table); Delta answers from its statistics."""
        frame = self._load(name, self.spark)
        return 0 if frame is None else frame.count()

    # --- writing -----------------------------------------------------------------------------------------------

    def _save(self, writer, name: str) -> None:
        qualified = self.qualified(name)
        if qualified:
            writer.saveAsTable(qualified.replace("`", ""))
        else:
            writer.save(table_path(self.lake, name))

    def _committed(self, name: str, before: int | None, txn: Txn | None, spark: SparkSession) -> dict | None:
        """The metrics of the commit this store just made (the newest, or that of `txn` newer than `before`), or
        None when nothing was committed."""
        history = self.history(name, spark=spark) or []
        self._written[name] = history
        for row in history:
            if before is not None and int(row["version"]) <= before:
                break
            note = txn_note(row["userMetadata"]) if txn is not None else None
            if txn is None or (note and (note["txn"], note["version"]) == (txn.app_id, txn.version)):
                return dict(row["operationMetrics"] or {})
        return None

    def last_write_rows(self, name: str) -> int:
        """The rows the table's last data commit wrote: its whole content for a table that is only overwritten
        (0 when there is no table)."""
        commit = self._last_data_commit(name)
        return int((commit["operationMetrics"] or {}).get("numOutputRows", 0)) if commit else 0

    def _write(
        self,
        df: DataFrame,
        name: str,
        mode: str,
        txn: Txn | None,
        note: str | None,
        options: dict[str, str] | None = None,
        facts: dict[str, int] | None = None,
    ) -> int | None:
        spark = df.sparkSession
        tag = txn.note(facts) if txn is not None else note
        created = _table_properties(name, df.columns)
        writer = df.write.format("delta").mode(mode).options(**created, **(options or {}))
        if txn is not None:
            # Delta's idempotent writes: a (txnAppId, txnVersion) the table already committed is skipped.
            writer = writer.option("txnAppId", txn.app_id).option("txnVersion", str(txn.version))
        if tag is not None:
            writer = writer.option("userMetadata", tag)
        # A write with a txn may be skipped, and the txn of a skipped write is that of an earlier commit: only
        # commits newer than this version are ours. A write without one always commits, the newest commit.
        before = self.version(name, spark) if (txn is not None and self.confirm) or self.catalog else None
        if self.catalog and before is None:
            # Delta keeps no userMetadata (the note) on the CREATE TABLE AS SELECT that a first saveAsTable is:
            # the table is created empty, and the write is an ordinary append or overwrite of it.
            self._save(df.limit(0).write.format("delta").options(**created), name)
        before = before if txn is not None else None
        self._save(writer, name)
        if not self.confirm:
            return None
        metrics = self._committed(name, before, txn, spark)
        return None if metrics is None else int(metrics.get("numOutputRows", 0))

    def append(
        self,
        df: DataFrame,
        name: str,
        txn: Txn | None = None,
        facts: dict[str, int] | None = None,
        note: str | None = None,
    ) -> int | None:
        """Append rows in one commit: the rows written, or None when `txn` was committed before (a replay) or the
        store does not confirm its writes.
        `facts` go into the commit's note with `txn` (see `txn_commits`); without a `txn`, `note` is the note."""
        return self._write(df, name, "append", txn, note, facts=facts)

    def overwrite(self, df: DataFrame, name: str, note: str | None = None) -> int:
        """Replace the table's content (and schema) in one commit tagged with `note`; the rows written."""
        return self._write(df, name, "overwrite", None, note, {"overwriteSchema": "true"}) or 0

    def insert_new(
        self, df: DataFrame, name: str, keys: list[str], txn: Txn, facts: dict[str, int] | None = None
    ) -> int | None:
        """Insert the rows of `df` (unique on `keys`) whose keys the table does not hold yet, once per `txn`.

        The rows inserted, or None when the transaction was committed before (the batch is a replay).
        """
        table = self._load(name, df.sparkSession)
        if table is not None:
            df = df.join(table.select(*keys), keys, "left_anti").select(*df.columns)
        return self.append(df, name, txn, facts)

    def replace_from(
        self, df: DataFrame, name: str, column: str, low_micros: int, note: str | None = None
    ) -> None:
        """Replace the table's rows whose timestamp `column` is at or after `low_micros` (epoch microseconds) by
        the rows of `df` (all in that slice), in one commit tagged with `note`; creates the table if need be."""
        predicate = f"`{column}` >= timestamp_micros({int(low_micros)})"
        self._write(df, name, "overwrite", None, note, {"replaceWhere": predicate})

    # --- upkeep ------------------------------------------------------------------------------------------------

    def maintain(self, name: str, upkeep: Upkeep = Upkeep(), compact: bool = True) -> list[str]:
        """Compact (OPTIMIZE, when `compact`) and vacuum the table when `upkeep` says it is due; the commands run."""
        ref, done = self.ref(name), []
        history = self._written.pop(name, None)
        if compact:
            if history is None and not self.exists(name):
                return []
            files = self.spark.sql(f"DESCRIBE DETAIL {ref}").select("numFiles").first()[0]
            if files >= upkeep.compact_min_files:
                self.spark.sql(f"OPTIMIZE {ref}").collect()
                done.append("OPTIMIZE")
                history = None  # what OPTIMIZE removed counts too
        if history is None or (len(history) >= _HISTORY_DEPTH and not _vacuumed(history)):
            history = self.history(name, _VACUUM_HISTORY_DEPTH)
        if history is None:
            return []
        if expired_files(history, upkeep.retain_hours) < upkeep.vacuum_min_files:
            return done
        hours = int(upkeep.retain_hours)
        if hours < DEFAULT_RETAIN_HOURS and name not in self._retention_set:
            # Delta refuses a VACUUM shorter than the table's own retention; a shorter retention is the table's.
            self.spark.sql(
                f"ALTER TABLE {ref} SET TBLPROPERTIES ('delta.deletedFileRetentionDuration' = 'interval {hours} hours')"
            ).collect()
            self._retention_set.add(name)
        self.spark.sql(f"VACUUM {ref} RETAIN {hours} HOURS").collect()
        return done + ["VACUUM"]


def _table_properties(name: str, columns: list[str]) -> dict[str, str]:
    """The table properties a table `name` of `columns` is created with (writer options Delta applies on
    creation)."""
    stats = [c for c in STATS_COLUMNS.get(name.partition("/")[0], ()) if c in columns]
    return {"delta.dataSkippingStatsColumns": stats[0]} if stats else {}


def _vacuumed(history: list[dict]) -> bool:
    return any(c["operation"] == "VACUUM END" for c in history)


def expired_files(history: list[dict], retain_hours: int) -> int:
    """How many removed files the retention no longer protects and no VACUUM deleted yet, from a table's history
    (newest first).

    Removed files are what an overwrite, a replaceWhere or an OPTIMIZE left behind; a VACUUM deletes those removed
    before its cutoff (its time less the retention). Orphans of a write that never committed are deleted by the
    next VACUUM too; they are not counted.
    """
    retain_ms = retain_hours * 3_600_000
    now_cutoff = int(time.time() * 1000) - retain_ms
    vacuumed_before = next((c["ms"] - retain_ms for c in history if c["operation"] == "VACUUM END"), None)
    return sum(
        int((c["operationMetrics"] or {}).get("numRemovedFiles", 0))
        for c in history
        if c["ms"] < now_cutoff and (vacuumed_before is None or c["ms"] >= vacuumed_before)
    )


def check_catalog_names(catalog: str | None, schema: str | None) -> None:
    """One line, before anything runs, when `--catalog/--schema` are not given together or are not plain names."""
    if bool(catalog) != bool(schema):
        raise ConfigError("--catalog and --schema go together")
    for name in (catalog, schema):
        if name and not re.match(r"^[A-Za-z0-9_]+$", name):
            raise ConfigError(f"invalid Unity Catalog name {name!r}")


def make_store(
    spark: SparkSession, lake: str, catalog: str | None = None, schema: str | None = None
) -> DeltaStore:
    """The store of a lake (path tables) or of a catalog schema (catalog tables, checkpoints in the lake).

    On local Spark the one catalog is Spark's own, `spark_catalog`, kept under the lake (session.local_catalog_home):
    its schema is created on first use, as `databricks bundle deploy` creates the Unity Catalog one."""
    from pinterest_pipeline.session import LOCAL_CATALOG, is_connect, on_databricks, uses_databricks_connect

    remote = on_databricks() or uses_databricks_connect(spark)
    if catalog and not remote:
        if catalog != LOCAL_CATALOG and not is_connect(spark):
            raise ConfigError(
                f"--catalog {catalog} needs Databricks or Databricks Connect; on local Spark the catalog is "
                f"{LOCAL_CATALOG} (kept under the lake)"
            )
        if catalog == LOCAL_CATALOG:
            if spark.conf.get("spark.sql.catalogImplementation") != "hive":
                raise ConfigError(
                    f"--catalog {LOCAL_CATALOG} needs a session started on the lake's catalog "
                    "(session.get_spark(..., catalog_home=local_catalog_home(lake)), as the command line does)"
                )
            spark.sql(f"CREATE SCHEMA IF NOT EXISTS `{catalog}`.`{schema}`")
    return DeltaStore(spark, lake, catalog, schema)


def is_local(lake: str) -> bool:
    """True for a lake on this machine's file system (a path or file: URI)."""
    return urlparse(lake).scheme in ("", "file") and not lake.startswith(("/Volumes/", "/dbfs/"))


@contextmanager
def lake_lock(lake: str, job: str) -> Iterator[None]:
    """Hold the lake's `job` lock for the block, or fail at once, in one line, if another run holds it.

    A local lake only: an advisory lock file (`<lake>/_locks/<job>.lock`) that the system releases when its
    holder ends, killed or not. A cloud lake has no such lock; there the jobs run one at a time by their
    `max_concurrent_runs: 1`, and bronze's app transactions stay exactly-once even if runs do overlap.
    """
    if not is_local(lake):
        yield
        return
    root = urlparse(lake).path if lake.startswith("file:") else lake
    folder = os.path.join(os.path.abspath(root), "_locks")
    path = os.path.join(folder, f"{job}.lock")
    if path in _HELD:  # this process holds it already (the command line takes it before Spark starts)
        yield
        return
    os.makedirs(folder, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            what = "the catalog of" if job == "catalog" else f"another {job} run is using"
            raise LakeBusyError(
                f"{'another run is using ' if job == 'catalog' else ''}{what} the lake {lake} ({holder}); "
                "try again when it ends"
            ) from None
        handle.seek(0)
        handle.truncate()
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        handle.write(f"pid {os.getpid()}, since {started}")
        handle.flush()
        _HELD.add(path)
        try:
            yield
        finally:
            _HELD.discard(path)
            fcntl.flock(handle, fcntl.LOCK_UN)


_HELD: set[str] = set()
