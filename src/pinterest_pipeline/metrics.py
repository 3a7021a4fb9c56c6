"""Real-time metrics of the streaming job, as pure functions over cleaned pins with their arrival time.

The streaming job recomputes the windows each micro-batch touches with these functions over `stream/pin` (one row
per post), and the tests recompute whole tables with them to check the job's.
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


_MICROS = {"second": 1_000_000, "minute": 60_000_000, "hour": 3_600_000_000}


def interval_micros(interval: str) -> int:
    """`<n> seconds|minutes|hours` in microseconds (the form the job's configuration accepts)."""
    count, unit = interval.split()
    return int(count) * _MICROS[unit.rstrip("s")]


def first_window_start(name: str, windows: Windows, arrived_micros: int) -> int:
    """The start (epoch microseconds) of the earliest window of metric `name` that holds a post arrived at
    `arrived_micros`: Spark's windows start at whole multiples of their slide since the epoch and hold
    [start, start + length)."""
    if name == "profile_popularity":
        length, slide = interval_micros(windows.profile_window), interval_micros(windows.profile_slide)
    else:
        length = slide = interval_micros(windows.category_window)
    return ((arrived_micros - length) // slide + 1) * slide


METRICS = {"profile_popularity": profile_popularity, "category_popularity": category_popularity}
