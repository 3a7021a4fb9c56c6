"""The metric functions on tiny hand-written pins: sliding windows, the latest follower count, per-minute counts."""

from __future__ import annotations

from datetime import datetime

from chispa import assert_df_equality

from pinterest_pipeline.metrics import (
    METRICS,
    Windows,
    category_popularity,
    first_window_start,
    profile_popularity,
)

PINS = "ind long, poster_name string, follower_count long, category string, arrived_at timestamp"
WINDOWS = Windows(profile_window="2 minutes", profile_slide="1 minute", category_window="1 minute")


def t(minute: int, second: int = 0) -> datetime:
    return datetime(2024, 1, 1, 10, minute, second)


def test_profile_popularity_counts_posts_and_keeps_the_latest_follower_count(spark):
    pins = spark.createDataFrame(
        [
            (1, "ann", 100, "art", t(0, 10)),
            (2, "ann", 150, "art", t(0, 50)),
            (3, "bob", 7, "diy", t(1, 5)),
            (4, None, 9, "diy", t(1, 6)),
        ],
        PINS,
    )
    expected = spark.createDataFrame(
        [
            (datetime(2024, 1, 1, 9, 59), t(1), "ann", 2, 150),
            (t(0), t(2), "ann", 2, 150),
            (t(0), t(2), "bob", 1, 7),
            (t(1), t(3), "bob", 1, 7),
        ],
        "window_start timestamp, window_end timestamp, poster_name string, posts long, follower_count long",
    )
    assert_df_equality(
        profile_popularity(pins, WINDOWS), expected, ignore_row_order=True, ignore_nullable=True
    )


def test_category_popularity_per_minute(spark):
    pins = spark.createDataFrame(
        [
            (1, "a", 1, "art", t(0, 10)),
            (2, "a", 1, "art", t(0, 59)),
            (3, "a", 1, "art", t(1)),
            (4, "a", 1, None, t(1, 1)),
        ],
        PINS,
    )
    expected = spark.createDataFrame(
        [(t(0), t(1), "art", 2), (t(1), t(2), "art", 1)],
        "window_start timestamp, window_end timestamp, category string, category_count long",
    )
    assert_df_equality(
        category_popularity(pins, WINDOWS), expected, ignore_row_order=True, ignore_nullable=True
    )


def test_the_first_window_start_of_a_post_is_that_of_its_earliest_window_in_spark(spark):
    from pyspark.sql import functions as F

    windows = Windows(profile_window="10 minutes", profile_slide="1 minute", category_window="1 minute")
    moments = [t(0), t(0, 1), t(3, 59), t(9, 0), t(59, 59)]
    pins = spark.createDataFrame([(i, "ann", 1, "art", m) for i, m in enumerate(moments)], PINS)
    for name, metric in METRICS.items():
        for i, moment in enumerate(moments):
            # Spark's own earliest window of that one post.
            expected = (
                metric(pins.where(F.col("ind") == i), windows)
                .agg(F.min(F.unix_micros("window_start")))
                .first()[0]
            )
            micros = pins.where(F.col("ind") == i).select(F.unix_micros("arrived_at")).first()[0]
            assert first_window_start(name, windows, micros) == expected, (name, moment)
