"""The cleaning rules of docs/design.md: pure `DataFrame -> DataFrame` functions shared by batch and streaming.

`<entity>_violation()` gives the reason a typed raw record breaks a content rule (null when it keeps them);
`clean_<entity>()` turns records that keep the rules into the silver contract; `keep_first()` keeps one row
per post.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from pinterest_pipeline.columns import (
    follower_count_is_valid,
    follower_count_to_int,
    full_name,
    null_if_placeholder,
    parse_timestamp,
    save_location_path,
    timestamp_is_valid,
)

MIN_AGE, MAX_AGE = 0, 130


def _reason(failed: Column, message: str, value: Column) -> Column:
    return F.when(failed, F.concat(F.lit(message), value.cast("string")))


# The violation functions read a typed raw field by name through `col` (top-level columns by default; a field of
# the struct `parsing.parse_each` keeps them in, in the streaming job).
Field = Callable[[str], Column]


def pin_violation(col: Field = F.col) -> Column:
    """Why a typed raw pin breaks a content rule, or null."""
    return _reason(
        ~follower_count_is_valid(col("follower_count")),
        "unparseable follower_count: ",
        col("follower_count"),
    )


def geo_violation(col: Field = F.col) -> Column:
    """Why a typed raw geolocation breaks a content rule, or null."""
    latitude_out = ~col("latitude").between(-90, 90)
    longitude_out = ~col("longitude").between(-180, 180)
    return F.coalesce(
        _reason(~timestamp_is_valid(col("timestamp")), "unparseable timestamp: ", col("timestamp")),
        _reason(latitude_out, "latitude out of range: ", col("latitude")),
        _reason(longitude_out, "longitude out of range: ", col("longitude")),
    )


def user_violation(col: Field = F.col) -> Column:
    """Why a typed raw user breaks a content rule, or null."""
    age_out = ~col("age").between(MIN_AGE, MAX_AGE)
    return F.coalesce(
        _reason(~timestamp_is_valid(col("date_joined")), "unparseable date_joined: ", col("date_joined")),
        _reason(age_out, "age out of range: ", col("age")),
    )


def clean_pin(df: DataFrame, *passthrough: str) -> DataFrame:
    """Raw pins to the silver contract: placeholders to null, follower_count to int, save_location to a path.

    `passthrough` names columns (an arrival time, say) kept unchanged after the contract columns.
    """
    text = lambda name: null_if_placeholder(F.col(name))
    trimmed = lambda name: null_if_placeholder(F.trim(F.col(name)))
    return df.select(
        F.col("index").cast("long").alias("ind"),
        F.col("unique_id"),
        trimmed("title").alias("title"),
        text("description").alias("description"),
        follower_count_to_int(F.col("follower_count")).alias("follower_count"),
        # Some poster names carry stray spaces; the same poster must group as one.
        trimmed("poster_name").alias("poster_name"),
        text("tag_list").alias("tag_list"),
        F.col("is_image_or_video"),
        text("image_src").alias("image_src"),
        save_location_path(F.col("save_location")).alias("save_location"),
        F.col("category"),
        *passthrough,
    )


def clean_geo(df: DataFrame, *passthrough: str) -> DataFrame:
    """Raw geolocations to the silver contract: coordinates as an array, timestamp as a timestamp."""
    return df.select(
        F.col("ind").cast("long").alias("ind"),
        F.col("country"),
        F.array(F.col("latitude").cast("double"), F.col("longitude").cast("double")).alias("coordinates"),
        parse_timestamp(F.col("timestamp")).alias("timestamp"),
        *passthrough,
    )


def clean_user(df: DataFrame, *passthrough: str) -> DataFrame:
    """Raw users to the silver contract: one user_name, date_joined as a timestamp."""
    return df.select(
        F.col("ind").cast("long").alias("ind"),
        full_name(F.col("first_name"), F.col("last_name")).alias("user_name"),
        F.col("age").cast("int"),
        parse_timestamp(F.col("date_joined")).alias("date_joined"),
        *passthrough,
    )


def keep_first(df: DataFrame, key: str, order_by: list[Column]) -> DataFrame:
    """One row per `key`: the first by `order_by` (a post re-sent by the emulator is the same post)."""
    first = Window.partitionBy(key).orderBy(*order_by)
    return df.withColumn("_rank", F.row_number().over(first)).where(F.col("_rank") == 1).drop("_rank")


CLEANERS: dict[str, Callable[..., DataFrame]] = {"pin": clean_pin, "geo": clean_geo, "user": clean_user}
VIOLATIONS: dict[str, Callable[..., Column]] = {
    "pin": pin_violation,
    "geo": geo_violation,
    "user": user_violation,
}
