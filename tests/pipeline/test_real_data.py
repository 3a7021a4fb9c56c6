"""The batch job on the 2,000 real draws of the original emulator, checked against a plain-Python derivation.

The expected values are computed here from the JSON lines with the standard library only, following the
course's rules and docs/design.md, without any of the package's code.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter, defaultdict

import pytest
from delta_tables import delta_rows

from pinterest_pipeline.jobs.batch import BatchConfig, run_batch

from .sink import sink_files

PLACEHOLDERS = {
    "No Title Data Available",
    "",
    "No description available Story format",
    "No description available",
    "Untitled",
    "User Info Error",
    "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e",
    "Image src error.",
}


def followers(text):
    match = re.fullmatch(r"(\d+)([kM]?)", text or "")
    return None if not match else int(match[1]) * {"": 1, "k": 1000, "M": 1_000_000}[match[2]]


def band(age):
    return "18-24" if 18 <= age <= 24 else "25-35" if age <= 35 else "36-50" if age <= 50 else "+50"


def top(counter_by_group):
    """{group: Counter} -> {(group, key, count)} keeping ties."""
    out = set()
    for group, counter in counter_by_group.items():
        best = max(counter.values())
        out |= {(group, key, n) for key, n in counter.items() if n == best}
    return out


@pytest.fixture(scope="module")
def draws(real_data):
    loaded = {}
    for entity in ("pin", "geo", "user"):
        with open(real_data / "seed100_first2000_draws" / f"{entity}.jsonl", encoding="utf-8") as f:
            loaded[entity] = [json.loads(line) for line in f]
    return loaded


@pytest.fixture(scope="module")
def expected(draws):
    pins, geos, users = {}, {}, {}
    for p, g, u in zip(draws["pin"], draws["geo"], draws["user"]):
        pins.setdefault(p["index"], p)
        geos.setdefault(g["ind"], g)
        users.setdefault(u["ind"], u)
    posts = []
    for ind, p in pins.items():
        poster = (p["poster_name"] or "").strip()
        posts.append(
            {
                "category": p["category"],
                "followers": followers(p["follower_count"]),
                "poster": None if poster in PLACEHOLDERS else poster,
                "country": geos[ind]["country"],
                "post_year": int(geos[ind]["timestamp"][:4]),
                "age": users[ind]["age"],
                "join_year": int(users[ind]["date_joined"][:4]),
            }
        )
    by_country, by_year, by_age = defaultdict(Counter), defaultdict(Counter), defaultdict(Counter)
    best_poster = defaultdict(dict)
    medians_age, medians_join, medians_both = defaultdict(list), defaultdict(list), defaultdict(list)
    for post in posts:
        by_country[post["country"]][post["category"]] += 1
        if 2018 <= post["post_year"] <= 2022:
            by_year[post["post_year"]][post["category"]] += 1
        by_age[band(post["age"])][post["category"]] += 1
        if post["poster"] and post["followers"] is not None:
            # A poster scraped at different times has different counts: their most is what counts.
            known = best_poster[post["country"]].get(post["poster"], -1)
            best_poster[post["country"]][post["poster"]] = max(known, post["followers"])
        if post["followers"] is not None:
            medians_age[band(post["age"])].append(post["followers"])
            if 2015 <= post["join_year"] <= 2020:
                medians_join[post["join_year"]].append(post["followers"])
                medians_both[(band(post["age"]), post["join_year"])].append(post["followers"])
    top_posters = set()
    for country, posters in best_poster.items():
        most = max(posters.values())
        top_posters |= {(country, name, n) for name, n in posters.items() if n == most}
    country_best = {c: n for c, _, n in top_posters}
    most = max(country_best.values())
    people = {(f"{u['first_name']} {u['last_name']}", u["age"], u["date_joined"]) for u in users.values()}
    return {
        "counts": (len(pins), len(geos), len(users)),
        "popular_category_by_country": top(by_country),
        "popular_category_by_year": top(by_year),
        "most_followed_user_by_country": top_posters,
        "most_followed_country": {(min(c for c, n in country_best.items() if n == most), most)},
        "popular_category_by_age_group": top(by_age),
        "median_followers_by_age_group": {(k, float(statistics.median(v))) for k, v in medians_age.items()},
        "users_joined_by_year": set(Counter(int(d[:4]) for _, _, d in people).items()),
        "median_followers_by_join_year": {(k, float(statistics.median(v))) for k, v in medians_join.items()},
        "median_followers_by_age_group_and_join_year": {
            (a, y, float(statistics.median(v))) for (a, y), v in medians_both.items()
        },
    }


@pytest.fixture(scope="module")
def lake(spark, draws, tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    for entity, records in draws.items():
        sink_files(root / "raw", f"pinterest.{entity}", records, flush_size=500)
    report = run_batch(spark, BatchConfig(str(root / "raw"), str(root / "lake")))
    assert report.rebuilt
    return root / "lake", report


def rows(lake_path, name):
    return {tuple(r.values()) for r in delta_rows(lake_path / name)}


def test_record_accounting(lake, expected):
    _, report = lake
    for entity, distinct in zip(("pin", "geo", "user"), expected["counts"]):
        counts = report.entities[entity]
        assert (counts.files, counts.read, counts.cleaned, counts.quarantined) == (4, 2000, distinct, 0)
        assert counts.duplicates == 2000 - distinct == 176


@pytest.mark.parametrize(
    "name",
    [
        "popular_category_by_country",
        "popular_category_by_year",
        "most_followed_user_by_country",
        "most_followed_country",
        "popular_category_by_age_group",
        "median_followers_by_age_group",
        "users_joined_by_year",
        "median_followers_by_join_year",
        "median_followers_by_age_group_and_join_year",
    ],
)
def test_insight_matches_hand_derivation(lake, expected, name):
    assert rows(lake[0], f"gold/{name}") == expected[name]


def test_silver_types(spark, lake):
    types = {
        name: dict(spark.read.format("delta").load(str(lake[0] / "silver" / name)).dtypes)
        for name in ("pin", "geo", "user")
    }
    assert types["pin"]["follower_count"] == "bigint" and types["pin"]["ind"] == "bigint"
    assert types["geo"] == {
        "ind": "bigint",
        "country": "string",
        "coordinates": "array<double>",
        "timestamp": "timestamp",
    }
    assert types["user"] == {"ind": "bigint", "user_name": "string", "age": "int", "date_joined": "timestamp"}


def test_placeholders_are_gone_from_silver(lake):
    table = delta_rows(lake[0] / "silver/pin")
    for column in ("title", "description", "poster_name", "tag_list", "image_src"):
        assert not {r[column] for r in table} & PLACEHOLDERS, column
    assert all(r["save_location"].startswith("/data/") for r in table)
