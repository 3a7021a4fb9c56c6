"""names.py: the names every part shares, and the rules topics, streams and prefixes follow."""

import pytest

from pinterest_pipeline import names


def test_topics_streams_and_tables_of_an_entity():
    assert names.ENTITIES == ("pin", "geo", "user")
    assert names.topic("pinterest", "geo") == "pinterest.geo"
    assert names.stream("pinterest", "geo") == "pinterest-geo"
    layout = [
        names.bronze("pin"),
        names.silver("pin"),
        names.quarantine("pin"),
        names.gold("most_followed_country"),
        names.stream_table("pin"),
        names.stream_quarantine("pin"),
        names.metric("profile_popularity"),
        names.checkpoint("ingest_pin"),
    ]
    assert layout == [
        "bronze/pin",
        "silver/pin",
        "quarantine/pin",
        "gold/most_followed_country",
        "stream/pin",
        "stream_quarantine/pin",
        "stream/metrics/profile_popularity",
        "_checkpoints/ingest_pin",
    ]


@pytest.mark.parametrize(
    "name, valid",
    [
        ("a.b_c-1", True),
        ("x" * 249, True),
        ("x" * 250, False),
        (".", False),
        ("..", False),
        ("a b", False),
        ("", False),
    ],
)
def test_kafka_topic_rule(name, valid):
    assert names.valid_topic(name) is valid


@pytest.mark.parametrize(
    "name, valid", [("a.b_c-1", True), ("x" * 128, True), ("x" * 129, False), ("a/b", False), ("", False)]
)
def test_kinesis_stream_rule(name, valid):
    assert names.valid_stream(name) is valid


@pytest.mark.parametrize("prefix", ["pinterest", "posts2026", "my.app_1-x", "p" * 123])
def test_a_good_prefix_names_legal_topics_and_streams(prefix):
    assert names.prefix_problem(prefix, "topic") is None
    for entity in names.ENTITIES:
        assert names.valid_topic(names.topic(prefix, entity))
        assert names.valid_stream(names.stream(prefix, entity))


@pytest.mark.parametrize("prefix", ["", None, "a b", ".hidden", "-x", "p" * 124, "ü"])
def test_a_bad_prefix_is_refused_with_its_reason(prefix):
    problem = names.prefix_problem(prefix, "stream")
    assert problem is not None and problem.startswith(f"invalid stream prefix {prefix!r}: ")
