"""Hand-made posts for the streaming tests (the shape of the source tables), poison included."""

from __future__ import annotations


def pin(i: int, category: str = "art", followers: str = "1k", poster: str | None = None) -> dict:
    return {
        "index": i,
        "unique_id": f"u{i}",
        "title": f"title {i}",
        "description": "d",
        "poster_name": poster or f"poster{i % 3}",
        "follower_count": followers,
        "tag_list": "a,b",
        "is_image_or_video": "image",
        "image_src": "s",
        "downloaded": 1,
        "save_location": f"Local save in /data/{category}",
        "category": category,
    }


def geo(i: int, country: str = "Albania") -> dict:
    return {
        "ind": i,
        "timestamp": "2019-03-01 10:00:00",
        "latitude": 1.5,
        "longitude": -2.5,
        "country": country,
    }


def user(i: int, age: int = 20) -> dict:
    return {
        "ind": i,
        "first_name": "Ann",
        "last_name": f"L{i}",
        "age": age,
        "date_joined": "2016-05-05 08:00:00",
    }


def posts(indexes) -> dict[str, list[dict]]:
    """The three records of each post; a poster's follower count is the same in each of its posts."""
    followers = {0: "1k", 1: "26k", 2: "6M"}
    return {
        "pin": [pin(i, ("art", "diy", "travel")[i % 3], followers[i % 3]) for i in indexes],
        "geo": [geo(i) for i in indexes],
        "user": [user(i, 20 + i % 40) for i in indexes],
    }


POISON = {
    "pin": ["{not json", '{"index": "seven", "title": "x"}'],
    "geo": ['{"ind": 900, "timestamp": "yesterday", "latitude": 1, "longitude": 2, "country": "X"}'],
    "user": ["[1, 2]"],
}
