"""Delta stores: delta-rs tables with app transactions and notes; Unity Catalog names for Spark's writer."""

import pytest
from deltalake import DeltaTable

from pinterest_pipeline.errors import ConfigError
from pinterest_pipeline.lake import DeltaRsStore, SparkDeltaStore, Txn, make_store


def test_append_with_a_txn_is_done_once(spark, tmp_path):
    store = DeltaRsStore(spark, str(tmp_path))
    df = spark.createDataFrame([(1, "a"), (2, "b")], "id long, v string")
    assert store.append(df, "bronze/x", Txn("q", 0)) == 2
    assert store.append(df, "bronze/x", Txn("q", 0)) == 0  # a replayed batch
    assert store.append(df, "bronze/x", Txn("q", 1)) == 2
    assert store.row_count("bronze/x") == 4
    assert DeltaTable(str(tmp_path / "bronze/x")).transaction_version("q") == 1


def test_overwrite_records_its_note_and_replaces_rows(spark, tmp_path):
    store = DeltaRsStore(spark, str(tmp_path))
    assert store.last_note("silver/x") is None and store.row_count("silver/x") == 0
    store.overwrite(spark.createDataFrame([(1,), (2,)], "id long"), "silver/x", '{"pin": 1}')
    assert store.overwrite(spark.createDataFrame([(3,)], "id long"), "silver/x", '{"pin": 2}') == 1
    assert store.last_note("silver/x") == '{"pin": 2}'
    assert [r.id for r in store.read("silver/x").collect()] == [3]


def test_timestamps_are_stored_as_utc(spark, tmp_path):
    store = DeltaRsStore(spark, str(tmp_path))
    store.overwrite(spark.sql("select timestamp'2020-01-02 03:04:05' as t"), "t")
    field = DeltaTable(str(tmp_path / "t")).schema().fields[0]
    assert field.type.type == "timestamp"
    assert str(store.read("t").first().t) == "2020-01-02 03:04:05"


def test_unity_catalog_names():
    store = SparkDeltaStore(None, "/Volumes/main/p/lake", "main", "pinterest")
    assert store._qualified("silver/pin") == "`main`.`pinterest`.`silver_pin`"
    assert store._qualified("gold/users_joined_by_year") == "`main`.`pinterest`.`users_joined_by_year`"
    assert SparkDeltaStore(None, "/tmp/lake")._ref("gold/x") == "delta.`/tmp/lake/gold/x`"


def test_local_session_has_no_spark_delta_and_refuses_a_catalog(spark, tmp_path):
    assert isinstance(make_store(spark, str(tmp_path)), DeltaRsStore)
    with pytest.raises(ConfigError, match="--catalog needs a session with Delta"):
        make_store(spark, str(tmp_path), "main", "pinterest")


def test_bad_lake_uri(spark):
    with pytest.raises(ConfigError, match="is not a local path"):
        DeltaRsStore(spark, "ftp://host/lake")


def test_session_is_utc(spark):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
