"""The three cleaning functions and the content rules, on tiny hand-written frames."""

import datetime as dt

from chispa import assert_df_equality
from pyspark.sql import functions as F

from pinterest_pipeline.cleaning import (
    clean_geo,
    clean_pin,
    clean_user,
    geo_violation,
    keep_first,
    pin_violation,
    user_violation,
)
from pinterest_pipeline.schemas import (
    RAW_GEO_SCHEMA,
    RAW_PIN_SCHEMA,
    RAW_USER_SCHEMA,
    SILVER_GEO_SCHEMA,
    SILVER_PIN_SCHEMA,
    SILVER_USER_SCHEMA,
)

UTC = dt.UTC


def pin_row(**values):
    base = {
        "index": 1,
        "unique_id": "u1",
        "title": "t",
        "description": "d",
        "poster_name": "p",
        "follower_count": "1k",
        "tag_list": "a,b",
        "is_image_or_video": "image",
        "image_src": "https://i",
        "downloaded": 1,
        "save_location": "Local save in /data/art",
        "category": "art",
    }
    base.update(values)
    return tuple(base[f] for f in RAW_PIN_SCHEMA.fieldNames())


def test_clean_pin(spark):
    raw = spark.createDataFrame(
        [
            pin_row(),
            pin_row(
                index=2,
                title="No Title Data Available",
                description="No description available Story format",
                poster_name="User Info Error",
                follower_count="User Info Error",
                tag_list="N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e",
                image_src="Image src error.",
                is_image_or_video="multi-video(story page format)",
                save_location="Local save in /data/mens-fashion",
                category="mens-fashion",
            ),
            pin_row(
                index=3,
                title="",
                description="No description available",
                follower_count="6M",
                poster_name="  Bored Panda ",
            ),
            pin_row(index=4, title="Untitled", description="Untitled", follower_count="437"),
            pin_row(
                index=5,
                unique_id=None,
                title=None,
                description=None,
                poster_name=None,
                follower_count=None,
                tag_list=None,
                is_image_or_video=None,
                image_src=None,
                downloaded=None,
                save_location=None,
                category=None,
            ),
        ],
        RAW_PIN_SCHEMA,
    )
    expected = spark.createDataFrame(
        [
            (1, "u1", "t", "d", 1000, "p", "a,b", "image", "https://i", "/data/art", "art"),
            (
                2,
                "u1",
                None,
                None,
                None,
                None,
                None,
                "multi-video(story page format)",
                None,
                "/data/mens-fashion",
                "mens-fashion",
            ),
            (3, "u1", None, None, 6_000_000, "Bored Panda", "a,b", "image", "https://i", "/data/art", "art"),
            (4, "u1", None, None, 437, "p", "a,b", "image", "https://i", "/data/art", "art"),
            (5, None, None, None, None, None, None, None, None, None, None),
        ],
        SILVER_PIN_SCHEMA,
    )
    assert_df_equality(clean_pin(raw), expected, ignore_row_order=True, ignore_nullable=True)


def test_clean_geo_both_timestamp_formats_and_nulls(spark):
    raw = spark.createDataFrame(
        [
            (1, "2020-08-28 03:52:47", -89.9787, -173.293, "Albania"),
            (2, "2020-08-28T03:52:47", 10.5, 20.25, "Cote d'Ivoire"),
            (3, None, None, None, None),
        ],
        RAW_GEO_SCHEMA,
    )
    expected = spark.createDataFrame(
        [
            (1, "Albania", [-89.9787, -173.293], dt.datetime(2020, 8, 28, 3, 52, 47, tzinfo=UTC)),
            (2, "Cote d'Ivoire", [10.5, 20.25], dt.datetime(2020, 8, 28, 3, 52, 47, tzinfo=UTC)),
            (3, None, [None, None], None),
        ],
        SILVER_GEO_SCHEMA,
    )
    assert_df_equality(clean_geo(raw), expected, ignore_row_order=True, ignore_nullable=True)


def test_clean_user(spark):
    raw = spark.createDataFrame(
        [
            (1, "Abigail", "Ali", 20, "2015-10-24 11:23:51"),
            (2, "Dylan", "Holmes", 32, "2016-10-23T14:06:51"),
            (3, None, None, None, None),
        ],
        RAW_USER_SCHEMA,
    )
    expected = spark.createDataFrame(
        [
            (1, "Abigail Ali", 20, dt.datetime(2015, 10, 24, 11, 23, 51, tzinfo=UTC)),
            (2, "Dylan Holmes", 32, dt.datetime(2016, 10, 23, 14, 6, 51, tzinfo=UTC)),
            (3, None, None, None),
        ],
        SILVER_USER_SCHEMA,
    )
    assert_df_equality(clean_user(raw), expected, ignore_row_order=True, ignore_nullable=True)


def test_content_violations(spark):
    pins = spark.createDataFrame(
        [pin_row(follower_count="lots"), pin_row(follower_count="26k")], RAW_PIN_SCHEMA
    )
    assert [r.v for r in pins.select(pin_violation().alias("v")).collect()] == [
        "unparseable follower_count: lots",
        None,
    ]
    geos = spark.createDataFrame(
        [
            (1, "last tuesday", 1.0, 1.0, "X"),
            (2, "2020-01-01 00:00:00", 91.0, 1.0, "X"),
            (3, "2020-01-01 00:00:00", 1.0, -181.0, "X"),
            (4, None, None, None, None),
        ],
        RAW_GEO_SCHEMA,
    )
    assert [r.v for r in geos.select(geo_violation().alias("v")).orderBy("ind").collect()] == [
        "unparseable timestamp: last tuesday",
        "latitude out of range: 91.0",
        "longitude out of range: -181.0",
        None,
    ]
    users = spark.createDataFrame(
        [(1, "a", "b", 20, "2015/10/24"), (2, "a", "b", -3, "2015-10-24 11:23:51"), (3, "a", "b", 20, None)],
        RAW_USER_SCHEMA,
    )
    assert [r.v for r in users.select(user_violation().alias("v")).orderBy("ind").collect()] == [
        "unparseable date_joined: 2015/10/24",
        "age out of range: -3",
        None,
    ]


def test_keep_first_keeps_one_row_per_key(spark):
    df = spark.createDataFrame(
        [(1, "b", 2), (1, "a", 1), (2, "c", 5), (2, "d", 3)], "ind long, v string, pos int"
    )
    kept = keep_first(df, "ind", [F.col("pos")])
    expected = spark.createDataFrame([(1, "a", 1), (2, "d", 3)], "ind long, v string, pos int")
    assert_df_equality(kept, expected, ignore_row_order=True)


def test_passthrough_columns_follow_the_contract_columns(spark):
    raw = spark.createDataFrame(
        [(1, "Abigail", "Ali", 20, "2015-10-24 11:23:51", "kept")],
        "ind long, first_name string, last_name string, age int, date_joined string, arrived_at string",
    )
    cleaned = clean_user(raw, "arrived_at")
    assert cleaned.columns == ["ind", "user_name", "age", "date_joined", "arrived_at"]
    assert cleaned.first().arrived_at == "kept"
