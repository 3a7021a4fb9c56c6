"""The nine historical insights of docs/design.md, as pure functions of the silver tables (joined on ind).

Choices, documented here and in README.md:
- "Most popular" keeps every tied category (rank 1 by count), in every table that picks a top category.
- `most_followed_user_by_country` keeps every poster tied for the top follower count of a country.
- `most_followed_country` is exactly one row: the highest top-poster follower count; a tie goes to the
  country first in alphabetical order.
- Medians are exact: `percentile(x, 0.5)`, the midpoint of the two middle values for an even count (as in
  pandas, DuckDB and SQL's PERCENTILE_CONT), over every post with a known follower count, as a double.
- Age groups: "18-24", "25-35", "36-50", "+50" (over 50); younger posters fall in no group and are left out.
- Years: post years 2018-2022 for categories by year, join years 2015-2020 for the users tables.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

POST_YEARS = (2018, 2022)
JOIN_YEARS = (2015, 2020)


def age_group(age: Column) -> Column:
    """The age band of an age: 18-24, 25-35, 36-50, +50; null below 18."""
    return (
        F.when(age.between(18, 24), F.lit("18-24"))
        .when(age.between(25, 35), F.lit("25-35"))
        .when(age.between(36, 50), F.lit("36-50"))
        .when(age > 50, F.lit("+50"))
    )


def exact_median(col: Column) -> Column:
    """The exact median (midpoint of the two middle values for an even count)."""
    return F.percentile(col.cast("double"), F.lit(0.5))


def _top_by(df: DataFrame, group: list[str], measure: str) -> DataFrame:
    """Rows holding the highest `measure` within each group, ties kept."""
    best = Window.partitionBy(*group).orderBy(F.col(measure).desc())
    return df.withColumn("_rank", F.rank().over(best)).where(F.col("_rank") == 1).drop("_rank")


def _most_posted_category(df: DataFrame, group: str) -> DataFrame:
    counts = (
        df.where(F.col(group).isNotNull() & F.col("category").isNotNull())
        .groupBy(group, "category")
        .agg(F.count(F.lit(1)).alias("category_count"))
    )
    return _top_by(counts, [group], "category_count").select(group, "category", "category_count")


def popular_category_by_country(pin: DataFrame, geo: DataFrame) -> DataFrame:
    """The most posted category in each country (ties kept)."""
    return _most_posted_category(pin.join(geo, on="ind", how="inner"), "country")


def popular_category_by_year(pin: DataFrame, geo: DataFrame) -> DataFrame:
    """The most posted category in each year of the post timestamp, 2018-2022 (ties kept)."""
    posts = pin.join(geo, on="ind", how="inner").withColumn("post_year", F.year("timestamp"))
    in_range = posts.where(F.col("post_year").between(*POST_YEARS))
    return _most_posted_category(in_range, "post_year")


def most_followed_user_by_country(pin: DataFrame, geo: DataFrame) -> DataFrame:
    """The poster with most followers in each country (ties kept)."""
    posters = (
        pin.join(geo, on="ind", how="inner")
        .where(
            F.col("country").isNotNull()
            & F.col("poster_name").isNotNull()
            & F.col("follower_count").isNotNull()
        )
        .select("country", "poster_name", "follower_count")
        .distinct()
    )
    return _top_by(posters, ["country"], "follower_count").select("country", "poster_name", "follower_count")


def most_followed_country(pin: DataFrame, geo: DataFrame) -> DataFrame:
    """Exactly one row: the country whose top poster has most followers (a tie goes to the first name A-Z)."""
    tops = most_followed_user_by_country(pin, geo).select("country", "follower_count").distinct()
    return tops.orderBy(F.col("follower_count").desc(), F.col("country").asc()).limit(1)


def _with_age_group(pin: DataFrame, user: DataFrame) -> DataFrame:
    return pin.join(user, on="ind", how="inner").withColumn("age_group", age_group(F.col("age")))


def popular_category_by_age_group(pin: DataFrame, user: DataFrame) -> DataFrame:
    """The most posted category in each age group (ties kept)."""
    return _most_posted_category(_with_age_group(pin, user), "age_group")


def median_followers_by_age_group(pin: DataFrame, user: DataFrame) -> DataFrame:
    """The median follower count of the posts of each age group."""
    return (
        _with_age_group(pin, user)
        .where(F.col("age_group").isNotNull() & F.col("follower_count").isNotNull())
        .groupBy("age_group")
        .agg(exact_median(F.col("follower_count")).alias("median_follower_count"))
    )


def users_joined_by_year(user: DataFrame) -> DataFrame:
    """How many distinct users (user_name, age, date_joined) joined each year, 2015-2020."""
    return (
        user.select("user_name", "age", "date_joined")
        .distinct()
        .withColumn("post_year", F.year("date_joined"))
        .where(F.col("post_year").between(*JOIN_YEARS))
        .groupBy("post_year")
        .agg(F.count(F.lit(1)).alias("number_users_joined"))
    )


def _joined_posts(pin: DataFrame, user: DataFrame) -> DataFrame:
    return (
        _with_age_group(pin, user)
        .withColumn("post_year", F.year("date_joined"))
        .where(F.col("post_year").between(*JOIN_YEARS) & F.col("follower_count").isNotNull())
    )


def median_followers_by_join_year(pin: DataFrame, user: DataFrame) -> DataFrame:
    """The median follower count of the posts of users who joined in each year, 2015-2020."""
    return (
        _joined_posts(pin, user)
        .groupBy("post_year")
        .agg(exact_median(F.col("follower_count")).alias("median_follower_count"))
    )


def median_followers_by_age_group_and_join_year(pin: DataFrame, user: DataFrame) -> DataFrame:
    """The median follower count by age group and join year, 2015-2020."""
    return (
        _joined_posts(pin, user)
        .where(F.col("age_group").isNotNull())
        .groupBy("age_group", "post_year")
        .agg(exact_median(F.col("follower_count")).alias("median_follower_count"))
    )


def _pin_geo(f: Callable[[DataFrame, DataFrame], DataFrame]) -> Callable[[dict[str, DataFrame]], DataFrame]:
    return lambda t: f(t["pin"], t["geo"])


def _pin_user(f: Callable[[DataFrame, DataFrame], DataFrame]) -> Callable[[dict[str, DataFrame]], DataFrame]:
    return lambda t: f(t["pin"], t["user"])


# table name -> insight over the silver tables {"pin": ..., "geo": ..., "user": ...}
INSIGHTS: dict[str, Callable[[dict[str, DataFrame]], DataFrame]] = {
    "popular_category_by_country": _pin_geo(popular_category_by_country),
    "popular_category_by_year": _pin_geo(popular_category_by_year),
    "most_followed_user_by_country": _pin_geo(most_followed_user_by_country),
    "most_followed_country": _pin_geo(most_followed_country),
    "popular_category_by_age_group": _pin_user(popular_category_by_age_group),
    "median_followers_by_age_group": _pin_user(median_followers_by_age_group),
    "users_joined_by_year": lambda t: users_joined_by_year(t["user"]),
    "median_followers_by_join_year": _pin_user(median_followers_by_join_year),
    "median_followers_by_age_group_and_join_year": _pin_user(median_followers_by_age_group_and_join_year),
}
