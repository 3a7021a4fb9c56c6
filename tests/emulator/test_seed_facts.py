"""A generated database (11,154 rows, seed 1) against the known facts of the real tables and their rows.

Tolerances: a share is "the same" when it is within four standard errors of the difference of two binomial
shares (sqrt(p(1-p)(1/n1 + 1/n2))) plus 0.2 points; follower formats are drawn per poster, not per post, so
their rows are clustered and get a fixed 3-point band instead. Structural facts (block order, co-occurrence,
fixed location per person, ranges) are exact.
"""

from __future__ import annotations

import collections
import itertools
import json
import math
import re

import pytest
from pinterest_emulator import db, synth
from sqlalchemy import create_engine, select

N_DRAWN = 1824  # distinct posts in the first 2,000 original draws (README)
README_PLACEHOLDERS = {  # column -> value -> count among those 1,824 posts (README)
    ("title", "No Title Data Available"): 12,
    ("title", ""): 1,
    ("description", "No description available Story format"): 124,
    ("description", "No description available"): 29,
    ("description", "Untitled"): 1,
    ("poster_name", "User Info Error"): 12,
    ("tag_list", "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e"): 24,
    ("image_src", "Image src error."): 42,
}
README_FORMATS = {"plain": 0.175, "k": 0.742, "M": 0.076, "error": 0.007}


def fmt(value: str) -> str:
    """The follower_count format of a value."""
    if value == "User Info Error":
        return "error"
    if re.fullmatch(r"\d+", value):
        return "plain"
    if re.fullmatch(r"\d+k", value):
        return "k"
    if re.fullmatch(r"\d+M", value):
        return "M"
    return "other"


def followers(value: str) -> int:
    """follower_count as a number."""
    scale = {"k": 1000, "M": 1000000}.get(value[-1], 1)
    return int(value.rstrip("kM")) * scale


def same_share(p1: float, n1: int, p2: float, n2: int) -> bool:
    """Two binomial shares agree within four standard errors (+0.2 points)."""
    p = (p1 * n1 + p2 * n2) / (n1 + n2)
    return abs(p1 - p2) <= 4 * math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2)) + 0.002


@pytest.fixture(scope="module")
def tables(seeded_sqlite):
    """The generated rows: {pin, geo, user: [row, ...]} in index order."""
    engine = create_engine(seeded_sqlite)
    with engine.connect() as conn:
        out = {
            e: [
                dict(r)
                for r in conn.execute(
                    select(db.table(e)).order_by(db.table(e).c[db.KEY_COLUMNS[e]])
                ).mappings()
            ]
            for e in db.TABLE_NAMES
        }
    engine.dispose()
    return out


@pytest.fixture(scope="module")
def people(tables):
    """person (first, last, age, date_joined) -> list of (country, latitude, longitude), one per post."""
    out = collections.defaultdict(list)
    for g, u in zip(tables["geo"], tables["user"]):
        out[(u["first_name"], u["last_name"], u["age"], u["date_joined"])].append(
            (g["country"], g["latitude"], g["longitude"])
        )
    return out


def test_row_count_is_the_real_one(tables):
    assert [len(tables[e]) for e in ("pin", "geo", "user")] == [11154] * 3


def test_categories_fill_contiguous_blocks_in_the_real_order(tables):
    pins = tables["pin"]
    blocks = [pins[0]["category"]] + [
        b["category"] for a, b in itertools.pairwise(pins) if a["category"] != b["category"]
    ]
    assert blocks == list(synth.CATEGORIES)
    assert all(p["save_location"] == f"Local save in /data/{p['category']}" for p in pins)
    starts = [next(p["index"] for p in pins if p["category"] == c) for c in synth.CATEGORIES]
    assert starts == list(synth.BLOCK_STARTS)


def test_follower_count_formats_and_values(tables):
    values = [p["follower_count"] for p in tables["pin"]]
    shares = collections.Counter(fmt(v) for v in values)
    assert shares["other"] == 0, "no decimals, no B, no other spelling"
    for kind, expected in README_FORMATS.items():
        band = 0.004 if kind == "error" else 0.03
        assert abs(shares[kind] / len(values) - expected) <= band, (kind, shares[kind] / len(values))
    assert {followers(v) // 1000000 for v in values if fmt(v) == "M"} <= {1, 2, 3, 4, 5, 6, 7, 8, 15}
    numbers = sorted(followers(v) for v in values if fmt(v) != "error")
    median, p90 = numbers[len(numbers) // 2], numbers[int(len(numbers) * 0.9)]
    assert 20000 <= median <= 50000, median  # real 32k
    assert 500000 <= p90 <= 2000000, p90  # real 942k
    assert numbers[-1] <= 15000000


@pytest.mark.parametrize("column, value", list(README_PLACEHOLDERS))
def test_placeholder_share_matches_the_readme(tables, column, value):
    pins = tables["pin"]
    share = sum(p[column] == value for p in pins) / len(pins)
    assert same_share(share, len(pins), README_PLACEHOLDERS[(column, value)] / N_DRAWN, N_DRAWN), share


@pytest.mark.real_data
def test_every_placeholder_and_format_share_matches_the_real_rows(tables, real_source_dir):
    """Against the 4,161 complete real posts (the 2,000 draws are a subset of these)."""
    real = []
    with (real_source_dir / "pinterest_data_partial.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if "_partial" not in row.get("_flags", []):
                real.append(row)
    pins = tables["pin"]
    checks = {f"{c}={v!r}": (lambda p, c=c, v=v: p[c] == v) for c, v in README_PLACEHOLDERS}
    checks.update({f"format {k}": (lambda p, k=k: fmt(p["follower_count"]) == k) for k in ("error",)})
    checks.update(
        {
            f"is_image_or_video={v}": (lambda p, v=v: p["is_image_or_video"] == v)
            for v in ("image", "video", synth.STORY_FORMAT)
        }
    )
    checks["downloaded=0"] = lambda p: int(p["downloaded"]) == 0
    checks["description ends with ellipsis + no-break space"] = lambda p: p["description"].endswith("…\u00a0")
    for name, check in checks.items():
        ours = sum(map(check, pins)) / len(pins)
        theirs = sum(map(check, real)) / len(real)
        assert same_share(ours, len(pins), theirs, len(real)), (name, ours, theirs)
    for kind in ("plain", "k", "M"):
        ours = sum(fmt(p["follower_count"]) == kind for p in pins) / len(pins)
        theirs = sum(fmt(p["follower_count"]) == kind for p in real) / len(real)
        assert abs(ours - theirs) <= 0.03, (kind, ours, theirs)


def test_placeholders_co_occur_as_in_the_real_table(tables):
    pins = tables["pin"]
    broken = [p for p in pins if p["follower_count"] == "User Info Error"]
    assert broken and all(
        p["poster_name"] == "User Info Error" and p["title"] == "No Title Data Available" for p in broken
    )
    assert all(
        p["follower_count"] == "User Info Error" for p in pins if p["poster_name"] == "User Info Error"
    )
    story = [p for p in pins if p["description"] == "No description available Story format"]
    assert story and all(p["is_image_or_video"] == synth.STORY_FORMAT for p in story)
    assert all((p["image_src"] == "Image src error.") == (p["downloaded"] == 0) for p in pins)


def test_text_is_multilingual_with_the_real_quirks(tables):
    pins = tables["pin"]
    text = [p["title"] + " " + p["description"] + " " + p["poster_name"] for p in pins]
    assert any(re.search("[\u0400-\u04ff]", t) for t in text), "no Russian"
    assert any(re.search("[\u0370-\u03ff]", t) for t in text), "no Greek"
    emoji = sum(bool(re.search("[\U0001f300-\U0001faff\u2600-\u27bf]", t)) for t in text) / len(text)
    assert 0.01 <= emoji <= 0.06, emoji  # real 2.8%
    spaced = sum(p["poster_name"] != p["poster_name"].strip() for p in pins) / len(pins)
    assert 0.005 <= spaced <= 0.04, spaced  # real 1.8%
    cut = [p["description"] for p in pins if p["description"].endswith("…\u00a0")]
    assert cut and max(map(len, cut)) <= 180
    tags = collections.Counter(
        p["tag_list"].count(",") + 1 for p in pins if not p["tag_list"].startswith("N,o")
    )
    assert tags.most_common(1)[0][0] == 9


def test_geolocation_facts(tables, people):
    from faker.providers.address.en_US import Provider

    geos = tables["geo"]
    faker_countries = list(
        dict.fromkeys("Macedonia" if c == "North Macedonia" else c for c in Provider.countries)
    )
    assert len(faker_countries) == 243
    rank = {c: i for i, c in enumerate(faker_countries)}
    assert all(g["country"] in rank for g in geos)
    early = sum(rank[g["country"]] < 24 for g in geos) / len(geos)
    assert 0.35 <= early <= 0.6, early  # skewed to the start of the list (real: 0.45 in the first tenth)
    assert all(-90 <= g["latitude"] <= 90 and -180 <= g["longitude"] <= 180 for g in geos)
    assert all(float(f"{g['latitude']:.6g}") == g["latitude"] for g in geos)
    stamps = [g["timestamp"] for g in geos]
    assert min(stamps).date().isoformat() >= "2017-10-19" and max(stamps).date().isoformat() <= "2022-10-19"
    assert all(t.microsecond == 0 for t in stamps)
    assert all(len(set(places)) == 1 for places in people.values()), "a person moved"


def test_user_facts(tables, people):
    users = tables["user"]
    ages = collections.Counter(u["age"] for u in users)
    assert min(ages) == 20 and max(ages) == 60 and ages.most_common(1)[0][0] == 20
    assert abs(ages[20] / len(users) - 2126 / 11154) <= 0.04
    joined = [u["date_joined"] for u in users]
    assert min(joined).date().isoformat() >= "2015-10-21" and max(joined).date().isoformat() <= "2017-10-20"
    assert abs(len(people) - 5307) <= 0.1 * 5307, len(people)
    busiest = max(len(p) for p in people.values())
    assert 150 <= busiest <= 400, busiest  # real 244
    names = collections.Counter((first, last) for first, last, _, _ in people)
    shared = sum(n > 1 for n in names.values())
    assert 60 <= shared <= 400, shared  # real 196


@pytest.mark.real_data
def test_rank_skew_matches_the_real_tables(tables, real_source_dir):
    """Country, age and latitude sit at the same rank quantiles as in the real table (within 0.05)."""
    import csv

    from faker.providers.address.en_US import Provider

    countries = list(dict.fromkeys("Macedonia" if c == "North Macedonia" else c for c in Provider.countries))
    rank = {c: i / len(countries) for i, c in enumerate(countries)}
    with (real_source_dir / "geolocation_data.csv").open(newline="", encoding="utf-8") as fh:
        real_geo = list(csv.DictReader(fh))
    with (real_source_dir / "user_data.csv").open(newline="", encoding="utf-8") as fh:
        real_user = list(csv.DictReader(fh))

    def quantiles(values):
        values = sorted(values)
        return [values[int(q * (len(values) - 1))] for q in (0.25, 0.5, 0.75, 0.9)]

    pairs = [
        ([rank[g["country"]] for g in tables["geo"]], [rank[g["country"]] for g in real_geo]),
        ([(u["age"] - 20) / 41 for u in tables["user"]], [(int(u["age"]) - 20) / 41 for u in real_user]),
        (
            [(g["latitude"] + 90) / 180 for g in tables["geo"]],
            [(float(g["latitude"]) + 90) / 180 for g in real_geo],
        ),
    ]
    for ours, theirs in pairs:
        assert all(abs(a - b) <= 0.05 for a, b in zip(quantiles(ours), quantiles(theirs))), (
            quantiles(ours),
            quantiles(theirs),
        )
