"""Real-time metrics of the streaming job, as pure functions over cleaned pins with their arrival time.

The same functions run in the streaming queries (after a watermark and a per-post de-duplication) and over the
stream tables in a batch, which is how the tests check the metrics against a recomputation.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

EVENT_TIME = "arrived_at"


@dataclass(frozen=True)
class Windows:
    """Window lengths (Spark interval strings) of the metrics."""

    profile_window: str = "10 minutes"
    profile_slide: str = "1 minute"
    category_window: str = "1 minute"


def profile_popularity(pins: DataFrame, windows: Windows = Windows()) -> DataFrame:
    """Posts per poster and the poster's latest follower count, per sliding window of arrival time."""
    return (
        pins.where(F.col("poster_name").isNotNull())
        .groupBy(
            F.window(F.col(EVENT_TIME), windows.profile_window, windows.profile_slide).alias("w"),
            "poster_name",
        )
        .agg(
            F.count(F.lit(1)).alias("posts"),
            # The follower count of the poster's last post in the window (ties by arrival: the highest ind).
            F.max_by(F.col("follower_count"), F.struct(F.col(EVENT_TIME), F.col("ind"))).alias(
                "follower_count"
            ),
        )
        .select(
            F.col("w.start").alias("window_start"),
            F.col("w.end").alias("window_end"),
            "poster_name",
            "posts",
            "follower_count",
        )
    )


def category_popularity(pins: DataFrame, windows: Windows = Windows()) -> DataFrame:
    """Posts per category per minute of arrival time."""
    return (
        pins.where(F.col("category").isNotNull())
        .groupBy(F.window(F.col(EVENT_TIME), windows.category_window).alias("w"), "category")
        .agg(F.count(F.lit(1)).alias("category_count"))
        .select(
            F.col("w.start").alias("window_start"),
            F.col("w.end").alias("window_end"),
            "category",
            "category_count",
        )
    )


METRICS = {"profile_popularity": profile_popularity, "category_popularity": category_popularity}
METRIC_KEYS = {
    "profile_popularity": ["window_start", "poster_name"],
    "category_popularity": ["window_start", "category"],
}
