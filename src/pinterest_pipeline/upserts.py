"""Idempotent merges for streaming micro-batches: insert-if-absent and upsert by key, once per (query, batch).

`TableStore.append` covers appends; the streaming tables also need a merge (a post re-sent is kept once, a
metric's window is updated in place), committed with the micro-batch's app transaction so that a batch
replayed after a crash changes nothing. delta-rs commits the merge and the transaction together; on Databricks
Delta's SQL confs `txnAppId`/`txnVersion` make the MERGE idempotent the same way.
"""

from __future__ import annotations

from pyspark.sql import DataFrame

from pinterest_pipeline.lake import DeltaRsStore, TableStore, Txn, _utc_arrow, table_path


def merge_rows(store: TableStore, df: DataFrame, name: str, keys: list[str], txn: Txn, update: bool) -> int | None:
    """Merge `df` (unique on `keys`) into table `name`: insert new keys, and with `update` overwrite known ones.

    Returns the rows inserted, or None when the transaction was committed before (the batch is a replay).
    """
    if isinstance(store, DeltaRsStore):
        return _merge_delta_rs(store, df, name, keys, txn, update)
    return _merge_spark(store, df, name, keys, txn, update)


def _merge_delta_rs(store: DeltaRsStore, df: DataFrame, name: str, keys: list[str], txn: Txn, update: bool) -> int | None:
    from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

    done = store.txn_version(name, txn.app_id)
    if done is not None and done >= txn.version:
        return None
    data = _utc_arrow(df.toArrow())
    properties = CommitProperties(app_transactions=[Transaction(app_id=txn.app_id, version=txn.version)])
    uri = table_path(store.lake, name)
    if not DeltaTable.is_deltatable(uri):
        # The first batch creates the table: `df` is unique on its keys, so every row is new.
        write_deltalake(uri, data, mode="append", commit_properties=properties)
        return data.num_rows
    merger = DeltaTable(uri).merge(
        data,
        " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys),
        source_alias="s",
        target_alias="t",
        commit_properties=properties,
    )
    if update:
        merger = merger.when_matched_update_all()
    metrics = merger.when_not_matched_insert_all().execute()
    return int(metrics.get("num_target_rows_inserted", 0))


def _merge_spark(store: TableStore, df: DataFrame, name: str, keys: list[str], txn: Txn, update: bool) -> int | None:
    """MERGE with Spark's Delta writer (Databricks), idempotent through Delta's txnAppId/txnVersion confs."""
    spark = store.spark
    if not store.exists(name):
        written = store.append(df, name, txn)
        return written if store.version(name) is not None and written else None
    before = store.version(name)
    view = f"_merge_source_{abs(hash((name, txn.app_id, txn.version)))}"
    df.createOrReplaceTempView(view)
    target = store._ref(name)
    on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
    matched = "WHEN MATCHED THEN UPDATE SET * " if update else ""
    spark.conf.set("spark.databricks.delta.write.txnAppId", txn.app_id)
    spark.conf.set("spark.databricks.delta.write.txnVersion", str(txn.version))
    try:
        row = spark.sql(
            f"MERGE INTO {target} t USING {view} s ON {on} {matched}WHEN NOT MATCHED THEN INSERT *"
        ).first()
    finally:
        spark.conf.unset("spark.databricks.delta.write.txnAppId")
        spark.conf.unset("spark.databricks.delta.write.txnVersion")
    if store.version(name) == before:
        return None
    return int(row["num_inserted_rows"]) if row is not None and "num_inserted_rows" in row else 0
