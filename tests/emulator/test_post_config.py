"""PostConfig: one field per `post` flag, the flags' defaults, and every option checked when it is built."""

from __future__ import annotations

import dataclasses

import pytest
from pinterest_emulator.cli import build_parser
from pinterest_emulator.config import PostConfig

from pinterest_pipeline.errors import ConfigError


def post_parser():
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    return sub.choices["post"]


def test_every_flag_is_a_field_and_every_field_but_db_attempts_a_flag():
    flags = {a.dest for a in post_parser()._actions if a.dest != "help"}
    fields = {f.name for f in dataclasses.fields(PostConfig)}
    # db_attempts has no flag: only a caller of the Python API bounds the tries of a source read
    assert flags == fields - {"db_attempts"}


def test_the_flags_defaults_are_the_configs():
    args = post_parser().parse_args(["--target", "kafka-rest"])
    assert PostConfig(**vars(args)) == PostConfig(target="kafka-rest")


def test_every_flag_reaches_its_field():
    argv = [
        *["--target", "kinesis", "--db-url", "sqlite:///x.db", "--gateway", "https://gw.example:443/prod"],
        *["--sampling", "uniform", "--seed", "5", "--count", "7", "--duration", "2.5", "--rate", "40"],
        *["--batch-size", "250", "--iso", "--api-key", "k", "--topic-prefix", "t", "--stream-prefix", "s"],
        *["--kinesis-endpoint", "http://127.0.0.1:4566", "--region", "eu-west-1", "--max-attempts", "3"],
        *["--backoff", "0.5"],
    ]
    config = PostConfig(**vars(post_parser().parse_args(argv)))
    assert dataclasses.asdict(config) == {
        "target": "kinesis",
        "db_url": "sqlite:///x.db",
        "gateway": "https://gw.example:443/prod",
        "sampling": "uniform",
        "seed": 5,
        "count": 7,
        "duration": 2.5,
        "rate": 40.0,
        "batch_size": 250,
        "iso": True,
        "api_key": "k",
        "topic_prefix": "t",
        "stream_prefix": "s",
        "kinesis_endpoint": "http://127.0.0.1:4566",
        "region": "eu-west-1",
        "max_attempts": 3,
        "backoff": 0.5,
        "db_attempts": PostConfig().db_attempts,
    }


@pytest.mark.parametrize(
    "options, message",
    [
        (
            {"target": "kafka"},
            "unknown target 'kafka' (choose from console, kafka-rest, kinesis, kinesis-direct)",
        ),
        ({"sampling": "random"}, "unknown sampling 'random'"),
        ({"count": 0}, "--count must be > 0, got 0"),
        ({"duration": -1.0}, "--duration must be > 0, got -1.0"),
        ({"rate": 0}, "--rate must be > 0, got 0"),
        ({"batch_size": 0}, "--batch-size must be > 0, got 0"),
        ({"max_attempts": 0}, "--max-attempts must be > 0, got 0"),
        ({"backoff": 0}, "--backoff must be > 0, got 0"),
        ({"db_attempts": 0}, "db_attempts must be > 0, got 0"),
        (
            {"target": "kinesis", "batch_size": 501},
            "--batch-size 501 exceeds Kinesis PutRecords' 500 records",
        ),
        ({"target": "kinesis-direct", "batch_size": 501}, "exceeds Kinesis PutRecords' 500 records"),
        ({"topic_prefix": "my topics"}, "invalid topic prefix 'my topics'"),
        ({"stream_prefix": ""}, "invalid stream prefix ''"),
        ({"stream_prefix": "-pinterest"}, "invalid stream prefix '-pinterest'"),
        ({"db_url": "nonsense"}, "not a database URL: 'nonsense'"),
        (
            {"target": "kafka-rest", "gateway": "localhost:8082"},
            "--gateway 'localhost:8082' is not an http://",
        ),
        ({"target": "kinesis", "gateway": "http://"}, "--gateway 'http://' is not an http://"),
        ({"target": "kinesis", "gateway": "http://gw:99999"}, "--gateway 'http://gw:99999' is not a URL"),
        ({"kinesis_endpoint": "kinesis.us-east-1.amazonaws.com"}, "--kinesis-endpoint"),
    ],
)
def test_bad_options_are_one_line_config_errors(options, message):
    with pytest.raises(ConfigError) as raised:
        PostConfig(**options)
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert raised.value.exit_code == 2


def test_options_a_target_does_not_use_are_not_held_against_it():
    assert PostConfig(target="console", gateway="not a url").gateway == "not a url"
    assert (
        PostConfig(target="kafka-rest", batch_size=501).batch_size == 501
    )  # the REST proxy has no such limit


def test_a_config_is_frozen_and_keeps_its_api_key_out_of_its_repr():
    hidden = "never-printed"  # a value of its own, not the name `api_key`, so no scanner takes it for a key
    config = PostConfig(target="kafka-rest", api_key=hidden)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.count = 5
    assert hidden not in repr(config) and "kafka-rest" in repr(config)


@pytest.mark.parametrize(
    "batch_size, rate, expected",
    [(100, None, 100), (100, 40.0, 40), (100, 0.5, 1), (10, 400.0, 10)],
)
def test_a_rate_reads_about_one_seconds_worth_of_events_at_a_time(batch_size, rate, expected):
    assert PostConfig(batch_size=batch_size, rate=rate).events_per_batch == expected


def test_each_sampling_has_its_own_default_seed():
    assert PostConfig(sampling="original").sampling_seed == 100  # the course's random.seed(100)
    assert PostConfig(sampling="uniform").sampling_seed == 1
    assert PostConfig(sampling="uniform", seed=9).sampling_seed == 9
