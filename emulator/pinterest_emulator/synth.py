"""Synthetic source rows that reproduce the facts of the real tables.

How the real table is shaped, and how it is reproduced here:
- People. Every attribute of a person (first and last name in alphabetical order, age, date joined, country in
  Faker's list order, latitude, longitude) sits at about the same rank position, and rows pick people with a
  strong skew, so early names, young ages and early countries dominate and a few people post hundreds of times.
  Here a row draws person k = floor(P * u**2.4) out of P = rows * 0.8 people; person k's attributes are a pure
  function of (seed, k) (hashed, so a person never has to be stored) at position
  ((k + jitter) / P) ** (2.7 / 2.4 * e**(0.2 z)) blended with 2% uniform noise, so that over rows the positions
  spread like u**2.7 (real quantiles 0.035, 0.155, 0.44, 0.73). These constants were fitted to the real tables:
  about 5,300 people over 11,154 rows, the busiest with about 250 posts (real: 5,307 and 244); about 150 full
  names are shared by different people (real: 196).
- Posts. Categories fill contiguous index blocks (the real block boundaries, scaled to the row count). A post
  draws one of the placeholder patterns below with its real share, so placeholders co-occur as they do in the
  real table; posters come from a per-category pool (each poster keeps one follower count).
Rows are generated in fixed-size chunks from generators seeded by (seed, chunk number): the output depends only
on (rows, seed), and memory stays bounded whatever the row count.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from pinterest_emulator import vocab

CATEGORIES = vocab.CATEGORIES
REAL_ROWS = 11154
# First index of each category block in the real table (midpoints of the gaps where the rows are unknown).
BLOCK_STARTS = (0, 894, 1640, 2637, 3467, 4330, 5078, 5865, 6723, 7577, 8486, 9458, 10316)
CHUNK_ROWS = 5000

# Placeholder strings exactly as the source table holds them.
NO_TITLE = "No Title Data Available"
STORY_DESCRIPTION = "No description available Story format"
NO_DESCRIPTION = "No description available"
UNTITLED = "Untitled"
USER_INFO_ERROR = "User Info Error"
NO_TAGS = "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e"
IMAGE_SRC_ERROR = "Image src error."
STORY_FORMAT = "multi-video(story page format)"

# Joint placeholder patterns and their shares among the 4,161 complete real posts: (name, share, fields).
# The fields a pattern sets are forced; every other field gets ordinary text.
PATTERNS = (
    ("clean", 3663, {}),
    ("story", 198, {"description": STORY_DESCRIPTION, "is_image_or_video": STORY_FORMAT}),
    ("video", 116, {"is_image_or_video": "video"}),
    (
        "story_image_error",
        63,
        {
            "description": STORY_DESCRIPTION,
            "is_image_or_video": STORY_FORMAT,
            "image_src": IMAGE_SRC_ERROR,
            "downloaded": 0,
        },
    ),
    ("no_description", 58, {"description": NO_DESCRIPTION}),
    (
        "user_info_error",
        27,
        {
            "title": NO_TITLE,
            "description": STORY_DESCRIPTION,
            "poster_name": USER_INFO_ERROR,
            "follower_count": USER_INFO_ERROR,
            "tag_list": NO_TAGS,
            "image_src": IMAGE_SRC_ERROR,
            "is_image_or_video": STORY_FORMAT,
            "downloaded": 0,
        },
    ),
    ("no_tags", 22, {"tag_list": NO_TAGS}),
    (
        "story_no_tags",
        5,
        {"description": STORY_DESCRIPTION, "is_image_or_video": STORY_FORMAT, "tag_list": NO_TAGS},
    ),
    ("no_description_video", 4, {"description": NO_DESCRIPTION, "is_image_or_video": "video"}),
    ("no_tags_video", 3, {"tag_list": NO_TAGS, "is_image_or_video": "video"}),
    (
        "empty_title_story_image_error",
        1,
        {
            "title": "",
            "description": STORY_DESCRIPTION,
            "is_image_or_video": STORY_FORMAT,
            "image_src": IMAGE_SRC_ERROR,
            "downloaded": 0,
        },
    ),
    ("untitled_description", 1, {"description": UNTITLED}),
)

PATTERN_WEIGHTS = tuple((index, share) for index, (_, share, _) in enumerate(PATTERNS))

# follower_count formats among posts that have one (shares from the README: 17.5%, 74.2%, 7.6% of all posts).
FOLLOWER_FORMATS = (("plain", 17.5), ("k", 74.2), ("M", 7.6))
MILLIONS = ((1, 56), (2, 131), (3, 18), (4, 17), (5, 73), (6, 4), (7, 1), (8, 13), (15, 4))
IMAGE_EXTENSIONS = (("jpg", 830), ("png", 145), ("webp", 5), ("gif", 2))

PERSON_SKEW = 2.4
RANK_SKEW = 2.7  # attribute positions over rows: u**2.7 (real quantiles 0.035, 0.155, 0.44, 0.73)
PEOPLE_PER_ROW = 0.8
PERSON_NOISE = 0.2
HEAD_FLATTEN = 0.02
POSTERS_PER_ROW = 0.6
POSTER_SKEW = 2.0
TRUNCATED_SHARE = 0.36  # descriptions cut at 178 characters and ended with "…" + no-break space
TIMESTAMP_START = dt.datetime(2017, 10, 19)
TIMESTAMP_SECONDS = int((dt.datetime(2022, 10, 20) - TIMESTAMP_START).total_seconds())
JOINED_START = dt.datetime(2015, 10, 21)
JOINED_SECONDS = int((dt.datetime(2017, 10, 21) - JOINED_START).total_seconds())


@dataclass
class Chunk:
    """Consecutive rows of the three tables (same indexes, in order)."""

    pins: list[dict]
    geos: list[dict]
    users: list[dict]


@functools.lru_cache(maxsize=1)
def _names() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Faker's en_US first names and last names (alphabetical) and countries (Faker's order, deduplicated)."""
    from faker.providers.address.en_US import Provider as Address
    from faker.providers.person.en_US import Provider as Person

    first = tuple(sorted(set(Person.first_names)))
    last = tuple(sorted(set(Person.last_names)))
    # The course's Faker still said "Macedonia"; newer releases say "North Macedonia".
    countries = tuple(dict.fromkeys("Macedonia" if c == "North Macedonia" else c for c in Address.countries))
    return first, last, countries


def category_of(index: int, rows: int) -> str:
    """The category of a post index: real block boundaries scaled to the table size."""
    scaled = index * REAL_ROWS / rows
    block = 0
    for i, start in enumerate(BLOCK_STARTS):
        if scaled >= start:
            block = i
    return CATEGORIES[block]


def _hash_unit(seed: int, keys, salt: int):
    """Uniform floats in [0, 1) that depend only on (seed, key, salt): splitmix64 over uint64 arrays."""
    import numpy as np

    with np.errstate(over="ignore"):
        x = keys.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        x ^= np.uint64((seed * 0x2545F4914F6CDD1D + salt * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF)
        for shift, mult in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
            x ^= x >> np.uint64(shift)
            x *= np.uint64(mult)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _positions(seed: int, people, salt: int, pool: int):
    """Rank position in [0, 1) of one attribute for each person: (k + jitter) / pool with log-normal noise."""
    import numpy as np

    jitter = _hash_unit(seed, people, salt)
    u1 = _hash_unit(seed, people, salt + 1) + 1e-12
    u2 = _hash_unit(seed, people, salt + 2)
    z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2 * np.pi * u2)
    # A power keeps the position inside (0, 1); the small uniform share flattens the head as in the real table.
    base = ((people + jitter) / pool) ** (RANK_SKEW / PERSON_SKEW * np.exp(PERSON_NOISE * z))
    return np.minimum(
        base * (1 - HEAD_FLATTEN) + HEAD_FLATTEN * _hash_unit(seed, people, salt + 3), 1.0 - 1e-12
    )


def _six_digits(x: float) -> float:
    """Round like MySQL prints a FLOAT column (six significant digits)."""
    return float(f"{x:.6g}")


def _people(seed: int, people, pool: int) -> list[tuple]:
    """(first_name, last_name, age, date_joined, country, latitude, longitude) of each person id."""
    import numpy as np

    first, last, countries = _names()
    pos = [_positions(seed, people, 10 * a, pool) for a in range(7)]
    fi = np.floor(pos[0] * len(first)).astype(int)
    la = np.floor(pos[1] * len(last)).astype(int)
    age = 20 + np.floor(pos[2] * 41).astype(int)
    joined = np.floor(pos[3] * JOINED_SECONDS).astype(int)
    co = np.floor(pos[4] * len(countries)).astype(int)
    lat = -90 + 180 * pos[5]
    lon = -180 + 360 * pos[6]
    return [
        (
            first[fi[i]],
            last[la[i]],
            int(age[i]),
            JOINED_START + dt.timedelta(seconds=int(joined[i])),
            countries[co[i]],
            _six_digits(lat[i]),
            _six_digits(lon[i]),
        )
        for i in range(len(people))
    ]


@functools.cache
def _cumulative(table: tuple) -> tuple[tuple, list[float]]:
    """(values, cumulative weights) of a ((value, weight), ...) table, computed once."""
    values, weights = zip(*table)
    return values, list(itertools.accumulate(weights))


def _weighted(rng: random.Random, table: tuple) -> object:
    """One value of a ((value, weight), ...) table."""
    values, cumulative = _cumulative(table)
    return rng.choices(values, cum_weights=cumulative)[0]


@functools.cache
def _title_case(words: tuple) -> tuple:
    """Title-cased copies of a word list, computed once."""
    return tuple(w.title() for w in words)


@functools.lru_cache(maxsize=200_000)
def _poster(seed: int, category: str, poster: int) -> tuple[str, str]:
    """(poster_name, follower_count) of one poster of a category: fixed for the seed."""
    rng = random.Random(f"poster:{seed}:{category}:{poster}")
    first, last, _ = _names()
    roll = rng.random()
    topic = rng.choice(_title_case(tuple(vocab.NOUNS[category])))
    if roll < 0.004:
        name = rng.choice(vocab.RUSSIAN_NAMES)
    elif roll < 0.012:
        name = rng.choice(vocab.FANCY_NAMES) + " " + rng.choice(vocab.EMOJI)
    elif roll < 0.35:
        name = f"{rng.choice(first)} {rng.choice(last)}"
    elif roll < 0.55:
        name = f"{rng.choice(first)} | {topic} Blogger"
    elif roll < 0.8:
        name = f"{rng.choice(_title_case(tuple(vocab.ADJECTIVES)))} {topic} {rng.choice(vocab.BRAND_WORDS)}"
    else:
        name = f"{rng.choice(last)} {rng.choice(vocab.BRAND_WORDS)}"
    if rng.random() < 0.018:
        # Real poster names sometimes carry stray spaces at either end.
        name = name + " " if rng.random() < 0.8 else " " + name
    fmt = _weighted(rng, FOLLOWER_FORMATS)
    if fmt == "plain":
        followers = str(math.floor(1000 * rng.random() ** 2.7))
    elif fmt == "k":
        followers = f"{min(999, max(1, round(10 ** rng.gauss(1.65, 0.85))))}k"
    else:
        followers = f"{_weighted(rng, MILLIONS)}M"
    return name, followers


def _title(rng: random.Random, category: str) -> str:
    """A title-cased post title, sometimes with a site suffix, emoji or non-English text."""
    roll = rng.random()
    if roll < 0.0005:
        return rng.choice(vocab.GREEK)
    if roll < 0.004:
        return rng.choice(vocab.RUSSIAN)
    nouns = _title_case(tuple(vocab.NOUNS[category]))
    title = rng.choice(vocab.TITLE_TEMPLATES).format(
        n=rng.randint(5, 60),
        Adj=rng.choice(_title_case(tuple(vocab.ADJECTIVES))),
        Noun=rng.choice(nouns),
        Noun2=rng.choice(nouns),
        Audience=rng.choice(_title_case(tuple(vocab.AUDIENCES))),
    )
    if rng.random() < 0.15:
        title += rng.choice((" | ", " - ")) + rng.choice(vocab.SITES)
    if rng.random() < 0.02:
        title += " " + rng.choice(vocab.EMOJI)
    return title


def _description(rng: random.Random, category: str) -> str:
    """A description; long ones are cut at 178 characters and end with "…" and a no-break space."""
    if rng.random() < 0.0005:
        return rng.choice(vocab.GREEK) + ". " + rng.choice(vocab.GREEK) + "."
    if rng.random() < 0.003:
        return rng.choice(vocab.RUSSIAN) + ". " + rng.choice(vocab.RUSSIAN) + "."
    truncated = rng.random() < TRUNCATED_SHARE
    target = 200 if truncated else rng.randint(30, 175)
    parts: list[str] = []
    while sum(len(p) + 1 for p in parts) < target:
        parts.append(
            rng.choice(vocab.SENTENCES).format(
                adj=rng.choice(vocab.ADJECTIVES),
                noun=rng.choice(vocab.NOUNS[category]),
                audience=rng.choice(vocab.AUDIENCES),
            )
        )
    text = " ".join(parts)
    if rng.random() < 0.01:
        text = rng.choice(vocab.EMOJI) + " " + text
    if truncated:
        return text[:178].rstrip() + "…\u00a0"
    return text[:175]


def _tags(rng: random.Random, category: str) -> str:
    """Nine (rarely eight) comma-separated title-case tags."""
    nouns = _title_case(tuple(vocab.NOUNS[category]))
    adjectives = _title_case(tuple(vocab.ADJECTIVES))
    count = 8 if rng.random() < 0.005 else 9
    tags = []
    for _ in range(count):
        tag = rng.choice(nouns)
        if rng.random() < 0.5:
            tag = rng.choice(adjectives) + " " + tag
        tags.append(tag)
    return ",".join(tags)


def _image_src(rng: random.Random) -> str:
    """A Pinterest originals URL."""
    digest = f"{rng.getrandbits(128):032x}"
    ext = _weighted(rng, IMAGE_EXTENSIONS)
    return f"https://i.pinimg.com/originals/{digest[:2]}/{digest[2:4]}/{digest[4:6]}/{digest}.{ext}"


def pin_row(rng: random.Random, index: int, rows: int, seed: int) -> dict:
    """One pinterest_data row for an index."""
    category = category_of(index, rows)
    forced = PATTERNS[_weighted(rng, PATTERN_WEIGHTS)][2]
    pool = max(1, round(rows * POSTERS_PER_ROW / len(CATEGORIES)))
    poster_name, follower_count = _poster(seed, category, math.floor(pool * rng.random() ** POSTER_SKEW))
    row = {
        "index": index,
        "unique_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "title": _title(rng, category),
        "description": _description(rng, category),
        "poster_name": poster_name,
        "follower_count": follower_count,
        "tag_list": _tags(rng, category),
        "is_image_or_video": "image",
        "image_src": _image_src(rng),
        "downloaded": 1,
        "save_location": f"Local save in /data/{category}",
        "category": category,
    }
    row.update(forced)
    return row


def generate(rows: int, seed: int) -> Iterator[Chunk]:
    """All rows of the three tables for (rows, seed), in index order, CHUNK_ROWS at a time."""
    import numpy as np

    pool = max(1, round(rows * PEOPLE_PER_ROW))
    for chunk_no, start in enumerate(range(0, rows, CHUNK_ROWS)):
        stop = min(rows, start + CHUNK_ROWS)
        rng = random.Random(f"rows:{seed}:{chunk_no}")
        nprng = np.random.default_rng([seed, chunk_no])
        people = np.minimum(np.floor(pool * nprng.random(stop - start) ** PERSON_SKEW), pool - 1).astype(
            np.int64
        )
        seconds = nprng.integers(0, TIMESTAMP_SECONDS, stop - start)
        persons = _people(seed, people, pool)
        pins, geos, users = [], [], []
        for offset, index in enumerate(range(start, stop)):
            first, last, age, joined, country, lat, lon = persons[offset]
            pins.append(pin_row(rng, index, rows, seed))
            geos.append(
                {
                    "ind": index,
                    "timestamp": TIMESTAMP_START + dt.timedelta(seconds=int(seconds[offset])),
                    "latitude": lat,
                    "longitude": lon,
                    "country": country,
                }
            )
            users.append(
                {"ind": index, "first_name": first, "last_name": last, "age": age, "date_joined": joined}
            )
        yield Chunk(pins, geos, users)
