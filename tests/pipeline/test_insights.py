"""The nine insights on small hand-built silver frames, ties included."""

import datetime as dt

import pytest

from pinterest_pipeline import insights as I
from pinterest_pipeline.schemas import SILVER_GEO_SCHEMA, SILVER_PIN_SCHEMA, SILVER_USER_SCHEMA

UTC = dt.UTC


def ts(year, month=1, day=1):
    return dt.datetime(year, month, day, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def tables(spark):
    # ind, category, poster, followers | country, post year | user_name, age, join year
    posts = [
        (1, "art", "ann", 100, "Albania", 2018, "Ann A", 20, 2015),
        (2, "art", "ann", 100, "Albania", 2018, "Ann A", 20, 2015),  # ann posts twice
        (3, "diy", "bob", 5000, "Albania", 2019, "Bob B", 30, 2016),
        (4, "diy", "cat", 5000, "Albania", 2019, "Cat C", 40, 2016),  # tie with bob for Albania's top poster
        (5, "travel", "dan", 7000, "Chad", 2018, "Dan D", 55, 2017),
        (
            6,
            "quotes",
            "eve",
            7000,
            "Benin",
            2023,
            "Eve E",
            24,
            2017,
        ),  # Benin ties Chad on followers; 2023 out of range
        (7, "quotes", "fay", None, "Benin", 2017, "Fay F", 25, 2014),  # unknown followers; years out of range
        (8, "art", "gus", 300, "Chad", 2022, "Gus G", 17, 2020),  # too young for an age group
        (9, "travel", None, 50, None, 2020, "Hal H", 51, 2020),  # no poster name, no country
    ]
    pin = spark.createDataFrame(
        [(i, f"u{i}", "t", "d", f, p, "tags", "image", "src", f"/data/{c}", c) for i, c, p, f, *_ in posts],
        SILVER_PIN_SCHEMA,
    )
    geo = spark.createDataFrame(
        [(i, country, [0.0, 0.0], ts(y)) for i, _, _, _, country, y, *_ in posts], SILVER_GEO_SCHEMA
    )
    user = spark.createDataFrame([(i, n, a, ts(j, 6, 1)) for i, *_, n, a, j in posts], SILVER_USER_SCHEMA)
    return {"pin": pin, "geo": geo, "user": user, "posts": I.join_silver(pin, geo, user)}


def check(spark, actual, rows, ddl):
    """The insight's columns and types are `ddl`'s (nullability aside) and its rows are `rows`, in any order.
    One Spark job: the rows are compared on the driver (a frame of the expected rows, sorted on both sides as
    chispa's assert_df_equality does, costs three)."""
    expected = spark.createDataFrame([], ddl).schema  # no job: an empty local relation
    assert [(f.name, f.dataType.simpleString()) for f in actual.schema] == [
        (f.name, f.dataType.simpleString()) for f in expected.fields
    ]
    assert sorted(map(tuple, actual.collect()), key=repr) == sorted(rows, key=repr)


def test_age_group_bands(spark):
    df = spark.createDataFrame([(a,) for a in (17, 18, 24, 25, 35, 36, 50, 51, 60)], "age int")
    assert [r.g for r in df.select(I.age_group(df.age).alias("g")).collect()] == [
        None,
        "18-24",
        "18-24",
        "25-35",
        "25-35",
        "36-50",
        "36-50",
        "+50",
        "+50",
    ]


def test_popular_category_by_country_keeps_ties(spark, tables):
    check(
        spark,
        I.popular_category_by_country(tables["posts"]),
        [
            ("Albania", "art", 2),
            ("Albania", "diy", 2),
            ("Chad", "travel", 1),
            ("Chad", "art", 1),
            ("Benin", "quotes", 2),
        ],
        "country string, category string, category_count long",
    )


def test_popular_category_by_year_only_2018_to_2022(spark, tables):
    check(
        spark,
        I.popular_category_by_year(tables["posts"]),
        [(2018, "art", 2), (2019, "diy", 2), (2020, "travel", 1), (2022, "art", 1)],
        "post_year int, category string, category_count long",
    )


def test_most_followed_user_by_country_keeps_ties(spark, tables):
    check(
        spark,
        I.most_followed_user_by_country(tables["posts"]),
        [("Albania", "bob", 5000), ("Albania", "cat", 5000), ("Chad", "dan", 7000), ("Benin", "eve", 7000)],
        "country string, poster_name string, follower_count long",
    )


def test_most_followed_country_is_one_row_with_alphabetical_tie_break(spark, tables):
    check(
        spark,
        I.most_followed_country(tables["posts"]),
        [("Benin", 7000)],
        "country string, follower_count long",
    )


def test_popular_category_by_age_group(spark, tables):
    check(
        spark,
        I.popular_category_by_age_group(tables["posts"]),
        [
            ("18-24", "art", 2),
            ("25-35", "diy", 1),
            ("25-35", "quotes", 1),
            ("36-50", "diy", 1),
            ("+50", "travel", 2),
        ],
        "age_group string, category string, category_count long",
    )


def test_median_followers_by_age_group_is_exact(spark, tables):
    # 18-24: 100, 100, 7000 -> 100; 25-35: 5000 (fay unknown); 36-50: 5000; +50: 7000, 50 -> 3525
    check(
        spark,
        I.median_followers_by_age_group(tables["posts"]),
        [("18-24", 100.0), ("25-35", 5000.0), ("36-50", 5000.0), ("+50", 3525.0)],
        "age_group string, median_follower_count double",
    )


def test_users_joined_by_year_counts_distinct_users(spark, tables):
    check(
        spark,
        I.users_joined_by_year(tables["user"]),
        [(2015, 1), (2016, 2), (2017, 2), (2020, 2)],
        "post_year int, number_users_joined long",
    )


def test_median_followers_by_join_year(spark, tables):
    # 2015: 100, 100; 2016: 5000, 5000; 2017: 7000, 7000; 2020: 300, 50 -> 175
    check(
        spark,
        I.median_followers_by_join_year(tables["posts"]),
        [(2015, 100.0), (2016, 5000.0), (2017, 7000.0), (2020, 175.0)],
        "post_year int, median_follower_count double",
    )


def test_median_followers_by_age_group_and_join_year(spark, tables):
    check(
        spark,
        I.median_followers_by_age_group_and_join_year(tables["posts"]),
        [
            ("18-24", 2015, 100.0),
            ("25-35", 2016, 5000.0),
            ("36-50", 2016, 5000.0),
            ("+50", 2017, 7000.0),
            ("18-24", 2017, 7000.0),
            ("+50", 2020, 50.0),
        ],
        "age_group string, post_year int, median_follower_count double",
    )


def test_every_insight_has_the_contract_columns(spark, tables):
    columns = {
        "popular_category_by_country": ["country", "category", "category_count"],
        "popular_category_by_year": ["post_year", "category", "category_count"],
        "most_followed_user_by_country": ["country", "poster_name", "follower_count"],
        "most_followed_country": ["country", "follower_count"],
        "popular_category_by_age_group": ["age_group", "category", "category_count"],
        "median_followers_by_age_group": ["age_group", "median_follower_count"],
        "users_joined_by_year": ["post_year", "number_users_joined"],
        "median_followers_by_join_year": ["post_year", "median_follower_count"],
        "median_followers_by_age_group_and_join_year": ["age_group", "post_year", "median_follower_count"],
    }
    inputs = I.InsightInputs.of(tables["pin"], tables["geo"], tables["user"])
    assert {name: f(inputs).columns for name, f in I.INSIGHTS.items()} == columns


def test_a_post_counts_only_in_the_insights_its_geolocation_and_user_reach(spark):
    """Silver may hold a post without its geolocation or user (they landed on different days): the insights count
    each post where an inner join of its tables would, and the user table counts users without a post."""
    pin = spark.createDataFrame(
        [
            (1, "u1", "t", "d", 900, "ann", "tags", "image", "src", "/data/art", "art"),  # geolocation only
            (2, "u2", "t", "d", 800, "bob", "tags", "image", "src", "/data/diy", "diy"),  # user only
            (3, "u3", "t", "d", 900, "ann", "tags", "image", "src", "/data/art", "art"),  # ann's top, again
        ],
        SILVER_PIN_SCHEMA,
    )
    geo = spark.createDataFrame(
        [
            (1, "Albania", [0.0, 0.0], ts(2019)),
            (3, "Albania", [0.0, 0.0], ts(2019)),
            (4, "Chad", [0.0, 0.0], ts(2020)),
        ],
        SILVER_GEO_SCHEMA,
    )
    user = spark.createDataFrame([(2, "Bob B", 30, ts(2016)), (5, "Cy C", 40, ts(2016))], SILVER_USER_SCHEMA)
    posts = I.join_silver(pin, geo, user)
    check(
        spark,
        I.popular_category_by_country(posts),
        [("Albania", "art", 2)],
        "country string, category string, category_count long",
    )
    check(
        spark,
        I.popular_category_by_year(posts),
        [(2019, "art", 2)],
        "post_year int, category string, category_count long",
    )
    check(
        spark,
        I.most_followed_user_by_country(posts),
        [("Albania", "ann", 900)],
        "country string, poster_name string, follower_count long",
    )
    check(
        spark,
        I.popular_category_by_age_group(posts),
        [("25-35", "diy", 1)],
        "age_group string, category string, category_count long",
    )
    check(
        spark,
        I.median_followers_by_join_year(posts),
        [(2016, 800.0)],
        "post_year int, median_follower_count double",
    )
    check(spark, I.users_joined_by_year(user), [(2016, 2)], "post_year int, number_users_joined long")


def test_a_post_without_a_poster_name_sets_no_countrys_top(spark):
    """The top follower count of a country is that of a known poster: a post with more followers but no poster name
    (cleaned to null) leaves the top to the poster below it, in both tables that read the top."""
    pin = spark.createDataFrame(
        [
            (1, "u1", "t", "d", 900, None, "tags", "image", "src", "/data/art", "art"),
            (2, "u2", "t", "d", 800, "bob", "tags", "image", "src", "/data/diy", "diy"),
        ],
        SILVER_PIN_SCHEMA,
    )
    geo = spark.createDataFrame(
        [(1, "Chad", [0.0, 0.0], ts(2019)), (2, "Chad", [0.0, 0.0], ts(2019))], SILVER_GEO_SCHEMA
    )
    posts = I.InsightInputs.of(pin, geo, spark.createDataFrame([], SILVER_USER_SCHEMA)).posts
    check(
        spark,
        I.most_followed_user_by_country(posts),
        [("Chad", "bob", 800)],
        "country string, poster_name string, follower_count long",
    )
    check(spark, I.most_followed_country(posts), [("Chad", 800)], "country string, follower_count long")
