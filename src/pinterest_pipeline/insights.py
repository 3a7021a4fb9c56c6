"""The nine historical insights of docs/design.md, as pure functions of the silver tables joined on ind.

The silver tables are joined once (`join_silver`) into `posts`: one row per post with what the insights read of
the post, its geolocation and its user (null where silver holds none for its ind). Eight insights are aggregates
of that frame; `users_joined_by_year` counts the user table alone. A post without a geolocation has no country or
post year, one without a user no age group or join year, so each insight counts exactly the posts an inner join
would give it.

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
from dataclasses import dataclass

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


def join_silver(pin: DataFrame, geo: DataFrame, user: DataFrame) -> DataFrame:
    """One row per post: its category, poster and followers, its geolocation's country and year, its user's age
    group and join year (null where the post has no geolocation or no user)."""
    return (
        pin.select("ind", "category", "poster_name", "follower_count")
        .join(
            geo.select("ind", "country", F.year("timestamp").alias("post_year")),
            on="ind",
            how="left",
        )
        .join(
            user.select(
                "ind",
                age_group(F.col("age")).alias("age_group"),
                F.year("date_joined").alias("join_year"),
            ),
            on="ind",
            how="left",
        )
    )


def popular_category_by_country(posts: DataFrame) -> DataFrame:
    """The most posted category in each country (ties kept)."""
    return _most_posted_category(posts, "country")


def popular_category_by_year(posts: DataFrame) -> DataFrame:
    """The most posted category in each year of the post timestamp, 2018-2022 (ties kept)."""
    return _most_posted_category(posts.where(F.col("post_year").between(*POST_YEARS)), "post_year")


def most_followed_user_by_country(posts: DataFrame) -> DataFrame:
    """The poster with most followers in each country (ties kept)."""
    posters = posts.where(
        F.col("country").isNotNull() & F.col("poster_name").isNotNull() & F.col("follower_count").isNotNull()
    ).select("country", "poster_name", "follower_count")
    # The top count per country first (one row a country, broadcast): no sort of every post, as a rank would need.
    top = posters.groupBy("country").agg(F.max("follower_count").alias("_top"))
    return (
        posters.join(F.broadcast(top), on="country", how="inner")
        .where(F.col("follower_count") == F.col("_top"))
        .select("country", "poster_name", "follower_count")
        .distinct()
    )


def most_followed_country(posts: DataFrame) -> DataFrame:
    """Exactly one row: the country whose top poster has most followers (a tie goes to the first name A-Z)."""
    tops = most_followed_user_by_country(posts).select("country", "follower_count").distinct()
    return tops.orderBy(F.col("follower_count").desc(), F.col("country").asc()).limit(1)


def popular_category_by_age_group(posts: DataFrame) -> DataFrame:
    """The most posted category in each age group (ties kept)."""
    return _most_posted_category(posts, "age_group")


def median_followers_by_age_group(posts: DataFrame) -> DataFrame:
    """The median follower count of the posts of each age group."""
    return (
        posts.where(F.col("age_group").isNotNull() & F.col("follower_count").isNotNull())
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


def _by_join_year(posts: DataFrame) -> DataFrame:
    """The posts with a known follower count whose user joined in 2015-2020, the join year as `post_year` (the
    course's name for it)."""
    return posts.where(F.col("join_year").between(*JOIN_YEARS) & F.col("follower_count").isNotNull()).select(
        "age_group", F.col("join_year").alias("post_year"), "follower_count"
    )


def median_followers_by_join_year(posts: DataFrame) -> DataFrame:
    """The median follower count of the posts of users who joined in each year, 2015-2020."""
    return (
        _by_join_year(posts)
        .groupBy("post_year")
        .agg(exact_median(F.col("follower_count")).alias("median_follower_count"))
    )


def median_followers_by_age_group_and_join_year(posts: DataFrame) -> DataFrame:
    """The median follower count by age group and join year, 2015-2020."""
    return (
        _by_join_year(posts)
        .where(F.col("age_group").isNotNull())
        .groupBy("age_group", "post_year")
        .agg(exact_median(F.col("follower_count")).alias("median_follower_count"))
    )


@dataclass(frozen=True)
class InsightInputs:
    """What the insights are computed from: the joined `posts` and the user table."""

    posts: DataFrame
    user: DataFrame

    @classmethod
    def of(cls, pin: DataFrame, geo: DataFrame, user: DataFrame) -> InsightInputs:
        """The inputs of the silver tables."""
        return cls(join_silver(pin, geo, user), user)


def _of_posts(f: Callable[[DataFrame], DataFrame]) -> Callable[[InsightInputs], DataFrame]:
    return lambda inputs: f(inputs.posts)


# table name -> insight
INSIGHTS: dict[str, Callable[[InsightInputs], DataFrame]] = {
    "popular_category_by_country": _of_posts(popular_category_by_country),
    "popular_category_by_year": _of_posts(popular_category_by_year),
    "most_followed_user_by_country": _of_posts(most_followed_user_by_country),
    "most_followed_country": _of_posts(most_followed_country),
    "popular_category_by_age_group": _of_posts(popular_category_by_age_group),
    "median_followers_by_age_group": _of_posts(median_followers_by_age_group),
    "users_joined_by_year": lambda inputs: users_joined_by_year(inputs.user),
    "median_followers_by_join_year": _of_posts(median_followers_by_join_year),
    "median_followers_by_age_group_and_join_year": _of_posts(median_followers_by_age_group_and_join_year),
}
