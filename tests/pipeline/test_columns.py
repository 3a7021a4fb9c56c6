"""Column helpers, each on its own (chispa's assert_column_equality)."""

import pytest
from chispa import assert_column_equality
from pyspark.sql import functions as F

from pinterest_pipeline.columns import (
    PLACEHOLDERS,
    follower_count_is_valid,
    follower_count_to_int,
    full_name,
    null_if_placeholder,
    parse_timestamp,
    save_location_path,
    timestamp_is_valid,
)


def test_every_placeholder_becomes_null(spark):
    rows = [(p, None) for p in PLACEHOLDERS] + [
        ("A real title", "A real title"),
        (None, None),
        ("untitled", "untitled"),
    ]
    df = spark.createDataFrame(rows, "value string, expected string").withColumn(
        "result", null_if_placeholder(F.col("value"))
    )
    assert_column_equality(df, "result", "expected")


def test_placeholders_are_the_contract_list():
    assert set(PLACEHOLDERS) == {
        "No Title Data Available",
        "",
        "No description available Story format",
        "No description available",
        "Untitled",
        "User Info Error",
        "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e",
        "Image src error.",
    }


def test_follower_count_formats(spark):
    rows = [
        ("0", 0),
        ("437", 437),
        ("999", 999),
        ("26k", 26_000),
        ("1k", 1_000),
        ("942k", 942_000),
        ("6M", 6_000_000),
        ("15M", 15_000_000),
        ("1.5k", 1_500),
        (" 12k ", 12_000),
        ("User Info Error", None),
        (None, None),
        ("lots", None),
        ("12B", None),
        ("-5", None),
    ]
    df = spark.createDataFrame(rows, "value string, expected long").withColumn(
        "result", follower_count_to_int(F.col("value"))
    )
    assert_column_equality(df, "result", "expected")


def test_follower_count_validity(spark):
    rows = [
        ("26k", True),
        ("6M", True),
        ("437", True),
        ("User Info Error", True),
        (None, True),
        ("", True),
        ("lots", False),
        ("12B", False),
        ("1,000", False),
    ]
    df = spark.createDataFrame(rows, "value string, expected boolean").withColumn(
        "result", follower_count_is_valid(F.col("value"))
    )
    assert_column_equality(df, "result", "expected")


@pytest.mark.parametrize("text", ["2020-08-28 03:52:47", "2020-08-28T03:52:47"])
def test_both_timestamp_formats(spark, text):
    row = (
        spark.createDataFrame([(text,)], "value string")
        .select(parse_timestamp(F.col("value")).alias("t"))
        .first()
    )
    assert row.t.isoformat() == "2020-08-28T03:52:47"


def test_timestamp_validity(spark):
    rows = [
        ("2020-08-28 03:52:47", True),
        ("2020-08-28T03:52:47", True),
        (None, True),
        ("28/08/2020", False),
        ("yesterday", False),
        ("2020-13-40 00:00:00", False),
    ]
    df = spark.createDataFrame(rows, "value string, expected boolean").withColumn(
        "result", timestamp_is_valid(F.col("value"))
    )
    assert_column_equality(df, "result", "expected")


def test_save_location_keeps_the_path(spark):
    rows = [
        ("Local save in /data/art", "/data/art"),
        ("Local save in /data/mens-fashion", "/data/mens-fashion"),
        ("/data/travel", "/data/travel"),
        (None, None),
    ]
    df = spark.createDataFrame(rows, "value string, expected string").withColumn(
        "result", save_location_path(F.col("value"))
    )
    assert_column_equality(df, "result", "expected")


def test_full_name(spark):
    rows = [("Abigail", "Ali", "Abigail Ali"), ("Abigail", None, "Abigail"), (None, None, None)]
    df = spark.createDataFrame(rows, "first string, last string, expected string").withColumn(
        "result", full_name(F.col("first"), F.col("last"))
    )
    assert_column_equality(df, "result", "expected")
