"""The nine historical insights of docs/design.md, as pure functions of the silver tables joined on ind.

The silver tables are joined once (`join_silver`) into `posts`: one row per post with what the insights read of
the post, its geolocation and its user (null where silver holds none for its ind). One pass over `posts` counts
it by seven sets of keys (`post_counts`: posts by country and category, by follower count and age group, ...);
seven insights are small aggregates of those counts (a median is the percentile of a follower count weighted by
its count), `most_followed_user_by_country` finds its posters among the posts at their country's top count, and
`users_joined_by_year` counts the user table alone. A post without a geolocation has no country or post year, one
without a user no age group or join year, so each insight counts exactly the posts an inner join would give it.

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

import functools
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


def exact_median(col: Column, frequency: Column | int = 1) -> Column:
    """The exact median (midpoint of the two middle values for an even count) of `col`, each value counted
    `frequency` times."""
    return F.percentile(col.cast("double"), F.lit(0.5), frequency)


# The keys `post_counts` counts the posts by; a set counts the posts with every key known (and ALSO_KNOWN's).
COUNT_KEYS: dict[str, list[str]] = {
    "category_by_country": ["country", "category"],
    "category_by_year": ["post_year", "category"],
    "category_by_age_group": ["age_group", "category"],
    "followers_by_country": ["country", "follower_count"],
    "followers_by_age_group": ["age_group", "follower_count"],
    "followers_by_join_year": ["join_year", "follower_count"],
    "followers_by_age_group_and_join_year": ["age_group", "join_year", "follower_count"],
}
# The top follower count of a country is that of a known poster.
ALSO_KNOWN = {"followers_by_country": ["poster_name"]}
_KEY_TYPES = {
    "country": "string",
    "category": "string",
    "age_group": "string",
    "post_year": "int",
    "join_year": "int",
    "follower_count": "bigint",
}


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


def post_counts(posts: DataFrame) -> DataFrame:
    """The posts counted by each set of keys of COUNT_KEYS, in one pass: columns `counted` (the set's name), the
    keys of every set (null outside its own) and `posts`."""
    keys = list(_KEY_TYPES)

    def counted(name: str) -> Column:
        row = F.struct(
            F.lit(name).alias("counted"),
            *[
                (F.col(k) if k in COUNT_KEYS[name] else F.lit(None)).cast(_KEY_TYPES[k]).alias(k)
                for k in keys
            ],
        )
        known = functools.reduce(
            lambda a, b: a & b, [F.col(k).isNotNull() for k in COUNT_KEYS[name] + ALSO_KNOWN.get(name, [])]
        )
        return F.when(known, row)

    return (
        posts.select(F.explode(F.array(*[counted(name) for name in COUNT_KEYS])).alias("key"))
        .where(F.col("key").isNotNull())
        .groupBy(*[F.col(f"key.{k}").alias(k) for k in ["counted", *keys]])
        .agg(F.count(F.lit(1)).alias("posts"))
    )


def _counted(counts: DataFrame, name: str) -> DataFrame:
    """One set of `post_counts`: its keys and `posts`."""
    return counts.where(F.col("counted") == name).select(*COUNT_KEYS[name], "posts")


def _top_by(df: DataFrame, group: list[str], measure: str) -> DataFrame:
    """Rows holding the highest `measure` within each group, ties kept."""
    best = Window.partitionBy(*group).orderBy(F.col(measure).desc())
    return df.withColumn("_rank", F.rank().over(best)).where(F.col("_rank") == 1).drop("_rank")


def _most_posted_category(counts: DataFrame, name: str, group: str) -> DataFrame:
    """The most posted category of each `group` of set `name` (ties kept)."""
    counted = _counted(counts, name).withColumnRenamed("posts", "category_count")
    return _top_by(counted, [group], "category_count").select(group, "category", "category_count")


def _median_followers(counted: DataFrame, group: list[str]) -> DataFrame:
    """The median follower count of each `group` of a set's counts."""
    return counted.groupBy(*group).agg(
        exact_median(F.col("follower_count"), F.col("posts")).alias("median_follower_count")
    )


def popular_category_by_country(counts: DataFrame) -> DataFrame:
    """The most posted category in each country (ties kept)."""
    return _most_posted_category(counts, "category_by_country", "country")


def popular_category_by_year(counts: DataFrame) -> DataFrame:
    """The most posted category in each year of the post timestamp, 2018-2022 (ties kept)."""
    return _most_posted_category(
        counts.where(F.col("post_year").between(*POST_YEARS)), "category_by_year", "post_year"
    )


def _top_followers(counts: DataFrame) -> DataFrame:
    """The highest follower count of a poster in each country: country, follower_count."""
    return (
        _counted(counts, "followers_by_country")
        .groupBy("country")
        .agg(F.max("follower_count").alias("follower_count"))
    )


def most_followed_user_by_country(posts: DataFrame, counts: DataFrame) -> DataFrame:
    """The poster with most followers in each country (ties kept)."""
    # The top count per country (one row a country, broadcast): no sort of every post, as a rank would need.
    return (
        posts.where(F.col("poster_name").isNotNull())
        .join(F.broadcast(_top_followers(counts)), on=["country", "follower_count"], how="inner")
        .select("country", "poster_name", "follower_count")
        .distinct()
    )


def most_followed_country(counts: DataFrame) -> DataFrame:
    """Exactly one row: the country whose top poster has most followers (a tie goes to the first name A-Z)."""
    return _top_followers(counts).orderBy(F.col("follower_count").desc(), F.col("country").asc()).limit(1)


def popular_category_by_age_group(counts: DataFrame) -> DataFrame:
    """The most posted category in each age group (ties kept)."""
    return _most_posted_category(counts, "category_by_age_group", "age_group")


def median_followers_by_age_group(counts: DataFrame) -> DataFrame:
    """The median follower count of the posts of each age group."""
    return _median_followers(_counted(counts, "followers_by_age_group"), ["age_group"])


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


def _by_join_year(counts: DataFrame, name: str) -> DataFrame:
    """Set `name`'s counts of the users who joined in 2015-2020, the join year as `post_year` (the course's name for
    it)."""
    return (
        _counted(counts, name)
        .where(F.col("join_year").between(*JOIN_YEARS))
        .withColumnRenamed("join_year", "post_year")
    )


def median_followers_by_join_year(counts: DataFrame) -> DataFrame:
    """The median follower count of the posts of users who joined in each year, 2015-2020."""
    return _median_followers(_by_join_year(counts, "followers_by_join_year"), ["post_year"])


def median_followers_by_age_group_and_join_year(counts: DataFrame) -> DataFrame:
    """The median follower count by age group and join year, 2015-2020."""
    return _median_followers(
        _by_join_year(counts, "followers_by_age_group_and_join_year"), ["age_group", "post_year"]
    )


@dataclass(frozen=True)
class InsightInputs:
    """What the insights are computed from: the joined `posts`, their `post_counts` and the user table."""

    posts: DataFrame
    counts: DataFrame
    user: DataFrame

    @classmethod
    def of(cls, pin: DataFrame, geo: DataFrame, user: DataFrame) -> InsightInputs:
        """The inputs of the silver tables."""
        posts = join_silver(pin, geo, user)
        return cls(posts, post_counts(posts), user)


def _of_counts(f: Callable[[DataFrame], DataFrame]) -> Callable[[InsightInputs], DataFrame]:
    return lambda inputs: f(inputs.counts)


# table name -> insight
INSIGHTS: dict[str, Callable[[InsightInputs], DataFrame]] = {
    "popular_category_by_country": _of_counts(popular_category_by_country),
    "popular_category_by_year": _of_counts(popular_category_by_year),
    "most_followed_user_by_country": lambda inputs: most_followed_user_by_country(
        inputs.posts, inputs.counts
    ),
    "most_followed_country": _of_counts(most_followed_country),
    "popular_category_by_age_group": _of_counts(popular_category_by_age_group),
    "median_followers_by_age_group": _of_counts(median_followers_by_age_group),
    "users_joined_by_year": lambda inputs: users_joined_by_year(inputs.user),
    "median_followers_by_join_year": _of_counts(median_followers_by_join_year),
    "median_followers_by_age_group_and_join_year": _of_counts(median_followers_by_age_group_and_join_year),
}
