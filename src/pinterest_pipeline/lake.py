"""Where tables live and how they are written: Delta tables in the lake layout of DESIGN.md.

Two stores with one interface. `SparkDeltaStore` uses Spark's own Delta writer (Databricks, or wherever Delta's
jars are on the session), at lake paths or in a Unity Catalog schema. `DeltaRsStore` writes the same tables with
Parquet files that Spark writes and the `deltalake` package (delta-rs) commits, where Spark has no Delta writer,
as on a laptop; it reads them back as the Parquet files of the table's current snapshot.
"""

from __future__ import annotations

import json
import os
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from pinterest_pipeline.errors import ConfigError


# Commit metadata key (Spark's userMetadata) naming what a derived table was built from.
NOTE_KEY = "pinterest.built_from"


@dataclass(frozen=True)
class Txn:
    """An application transaction: a write tagged (app_id, version) is done at most once."""

    app_id: str
    version: int


def table_path(lake: str, name: str) -> str:
    """The location of table `name` ("silver/pin", "gold/...") under a lake root."""
    return f"{lake.rstrip('/')}/{name}"


class TableStore(ABC):
    """Reads and writes the lake's tables by logical name ("bronze/pin", "gold/users_joined_by_year")."""

    def __init__(self, spark: SparkSession):
        self.spark = spark

    @abstractmethod
    def version(self, name: str) -> int | None:
        """The table's current version, or None when it does not exist."""

    @abstractmethod
    def read(self, name: str, schema: T.StructType | None = None) -> DataFrame:
        """The table's current snapshot (an empty frame of `schema` when it does not exist)."""

    @abstractmethod
    def append(self, df: DataFrame, name: str, txn: Txn | None = None) -> int:
        """Append rows (returns how many); with a txn, a (app_id, version) already committed is skipped (0)."""

    @abstractmethod
    def overwrite(self, df: DataFrame, name: str, note: str | None = None) -> int:
        """Replace the table's content (and schema) in one commit, tagged with `note`; the rows written."""

    @abstractmethod
    def row_count(self, name: str) -> int:
        """Rows in the table's current snapshot, from the log's statistics (0 when there is no table)."""

    @abstractmethod
    def last_note(self, name: str) -> str | None:
        """The note of the table's last commit (None when there is no table or no note)."""

    def exists(self, name: str) -> bool:
        """True when the table exists."""
        return self.version(name) is not None


class DeltaRsStore(TableStore):
    """Delta tables under a local lake root, committed with delta-rs, for sessions without Spark's Delta writer."""

    def __init__(self, spark: SparkSession, lake: str):
        super().__init__(spark)
        self.lake = _local_path(lake)

    def _uri(self, name: str) -> str:
        return table_path(self.lake, name)

    def _table(self, name: str):
        from deltalake import DeltaTable

        uri = self._uri(name)
        return DeltaTable(uri) if DeltaTable.is_deltatable(uri) else None

    def version(self, name: str) -> int | None:
        table = self._table(name)
        return None if table is None else table.version()

    def txn_version(self, name: str, app_id: str) -> int | None:
        """The last version committed for `app_id` on the table, or None."""
        table = self._table(name)
        return None if table is None else table.transaction_version(app_id)

    def read(self, name: str, schema: T.StructType | None = None) -> DataFrame:
        table = self._table(name)
        files = [] if table is None else table.file_uris()
        if not files:
            return self.spark.createDataFrame([], schema or _spark_schema(table))
        reader = self.spark.read if schema is None else self.spark.read.schema(schema)
        return reader.parquet(*files)

    def _write(self, df: DataFrame, name: str, mode: str, txn: Txn | None, note: str | None = None) -> int:
        """Spark writes the Parquet files into the table's folder; delta-rs commits them in one transaction.

        Nothing passes through the driver, so a table can be as large as Spark can write; files of a write that
        never committed stay invisible (readers follow the log) until a VACUUM removes them.
        """
        from deltalake import CommitProperties, Schema, Transaction
        from deltalake.transaction import AddAction, create_table_with_add_actions
        from pyspark.sql.pandas.types import to_arrow_schema

        import pyarrow.parquet as pq

        uri = self._uri(name)
        folder = f"part-{uuid.uuid4().hex}"
        df.write.mode("errorifexists").parquet(os.path.join(uri, folder))
        actions, rows = [], 0
        for path in sorted(Path(uri, folder).iterdir()):
            if path.suffix != ".parquet":
                path.unlink()  # Spark's _SUCCESS and checksum files are no part of a Delta table
                continue
            count = pq.read_metadata(path).num_rows
            stat = path.stat()
            stats = json.dumps({"numRecords": count})
            actions.append(AddAction(f"{folder}/{path.name}", stat.st_size, {}, int(stat.st_mtime * 1000), True, stats))
            rows += count
        properties = CommitProperties(
            custom_metadata={NOTE_KEY: note} if note is not None else None,
            app_transactions=[Transaction(app_id=txn.app_id, version=txn.version)] if txn is not None else None,
        )
        schema = Schema.from_arrow(to_arrow_schema(df.schema))
        table = self._table(name)
        if table is None:
            create_table_with_add_actions(uri, schema, actions, mode="append", commit_properties=properties)
        else:
            table.create_write_transaction(actions, mode, schema, commit_properties=properties)
        return rows

    def append(self, df: DataFrame, name: str, txn: Txn | None = None) -> int:
        if txn is not None:
            done = self.txn_version(name, txn.app_id)
            if done is not None and done >= txn.version:
                return 0
        return self._write(df, name, "append", txn)

    def overwrite(self, df: DataFrame, name: str, note: str | None = None) -> int:
        return self._write(df, name, "overwrite", None, note)

    def row_count(self, name: str) -> int:
        table = self._table(name)
        if table is None:
            return 0
        actions = table.get_add_actions(flatten=True)
        return int(sum(n or 0 for n in actions.column("num_records").to_pylist())) if actions.num_rows else 0

    def last_note(self, name: str) -> str | None:
        table = self._table(name)
        return None if table is None else table.history(1)[0].get(NOTE_KEY)


class SparkDeltaStore(TableStore):
    """Delta tables written by Spark: at lake paths, or as `<catalog>.<schema>.<layer>_<name>` in Unity Catalog."""

    def __init__(self, spark: SparkSession, lake: str, catalog: str | None = None, schema: str | None = None):
        super().__init__(spark)
        self.lake = lake
        self.catalog = catalog
        self.schema = schema

    def _qualified(self, name: str) -> str | None:
        if not self.catalog:
            return None
        layer, _, table = name.partition("/")
        table_name = table if layer == "gold" else f"{layer}_{table.replace('/', '_')}"
        return f"`{self.catalog}`.`{self.schema}`.`{table_name}`"

    def _ref(self, name: str) -> str:
        return self._qualified(name) or f"delta.`{table_path(self.lake, name)}`"

    def version(self, name: str) -> int | None:
        try:
            row = self.spark.sql(f"DESCRIBE HISTORY {self._ref(name)} LIMIT 1").first()
        except Exception:  # noqa: BLE001 - Spark raises AnalysisException subclasses that differ by runtime
            return None
        return None if row is None else int(row["version"])

    def read(self, name: str, schema: T.StructType | None = None) -> DataFrame:
        if not self.exists(name):
            return self.spark.createDataFrame([], schema)
        qualified = self._qualified(name)
        if qualified:
            return self.spark.read.table(qualified)
        return self.spark.read.format("delta").load(table_path(self.lake, name))

    def _save(self, writer, name: str) -> None:
        qualified = self._qualified(name)
        if qualified:
            writer.saveAsTable(qualified.replace("`", ""))
        else:
            writer.save(table_path(self.lake, name))

    def append(self, df: DataFrame, name: str, txn: Txn | None = None) -> int:
        df = df.persist()
        rows = df.count()
        writer = df.write.format("delta").mode("append").option("mergeSchema", "true")
        if txn is not None:
            # Delta's idempotent writes: a (txnAppId, txnVersion) already committed is skipped.
            writer = writer.option("txnAppId", txn.app_id).option("txnVersion", txn.version)
        before = self.version(name)
        self._save(writer, name)
        df.unpersist()
        return rows if self.version(name) != before else 0

    def overwrite(self, df: DataFrame, name: str, note: str | None = None) -> int:
        writer = df.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
        if note is not None:
            writer = writer.option("userMetadata", note)
        self._save(writer, name)
        return self.row_count(name)

    def row_count(self, name: str) -> int:
        if not self.exists(name):
            return 0
        # Derived tables are always overwritten whole, so the last write's output is the table.
        row = self.spark.sql(f"DESCRIBE HISTORY {self._ref(name)} LIMIT 1").first()
        metrics = row["operationMetrics"] or {}
        if "numOutputRows" in metrics:
            return int(metrics["numOutputRows"])
        return self.read(name, None).count()

    def last_note(self, name: str) -> str | None:
        try:
            row = self.spark.sql(f"DESCRIBE HISTORY {self._ref(name)} LIMIT 1").first()
        except Exception:  # noqa: BLE001
            return None
        return None if row is None else row["userMetadata"]


def make_store(spark: SparkSession, lake: str, catalog: str | None = None, schema: str | None = None) -> TableStore:
    """Spark's Delta writer where the session has one, else delta-rs; Unity Catalog tables when named."""
    from pinterest_pipeline.session import delta_available

    if delta_available(spark):
        return SparkDeltaStore(spark, lake, catalog, schema)
    if catalog:
        raise ConfigError("--catalog needs a session with Delta (Databricks or Databricks Connect)")
    return DeltaRsStore(spark, lake)


def _local_path(lake: str) -> str:
    parsed = urlparse(lake)
    if parsed.scheme in ("", "file"):
        return os.path.abspath(parsed.path if parsed.scheme == "file" else lake)
    raise ConfigError(
        f"the lake {lake!r} is not a local path: cloud lakes are written by Spark's Delta writer (Databricks)"
    )


def _spark_schema(table) -> T.StructType:
    """The Spark schema of an existing delta-rs table (empty when there is no table)."""
    if table is None:
        return T.StructType([])
    return T.StructType.fromJson(json.loads(table.schema().to_json()))


def _utc_arrow(table):
    """Timestamps as UTC microseconds, the only timestamp a Delta table holds."""
    import pyarrow as pa

    fields = []
    for field in table.schema:
        if pa.types.is_timestamp(field.type):
            field = field.with_type(pa.timestamp("us", tz="UTC"))
        fields.append(field)
    return table.cast(pa.schema(fields))
