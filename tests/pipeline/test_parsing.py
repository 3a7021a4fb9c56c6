"""Raw JSON text to typed raw columns, with a reason for each record that breaks the contract."""

import json

import pytest

from pinterest_pipeline.parsing import parse_records

GOOD_GEO = {
    "ind": 7528,
    "timestamp": "2020-08-28 03:52:47",
    "latitude": -89.9787,
    "longitude": -173.293,
    "country": "Albania",
}
GOOD_USER = {
    "ind": 7528,
    "first_name": "Abigail",
    "last_name": "Ali",
    "age": 20,
    "date_joined": "2015-10-24 11:23:51",
}


def reasons(spark, entity, texts):
    df = spark.createDataFrame([(t,) for t in texts], "value string")
    return [r.reason for r in parse_records(df, entity).collect()]


def with_(record, **changes):
    out = dict(record)
    for key, value in changes.items():
        if value is KeyError:
            out.pop(key)
        else:
            out[key] = value
    return json.dumps(out)


def test_a_good_record_has_no_reason_and_typed_columns(spark):
    row = parse_records(spark.createDataFrame([(json.dumps(GOOD_GEO),)], "value string"), "geo").first()
    assert row.reason is None
    assert (row.ind, row.latitude, row.longitude, row.country, row.timestamp) == (
        7528,
        -89.9787,
        -173.293,
        "Albania",
        "2020-08-28 03:52:47",
    )


# One table of contract breaks, parsed in one Spark job (a job per case would cost the quick tier seconds); each
# case is still its own test.
GEO_BREAKS = [
    ("{bad json", "malformed JSON"),
    ("", "empty record"),
    ("[1, 2]", "unknown shape: the JSON value is not an object"),
    ('"just a string"', "unknown shape: the JSON value is not an object"),
    (json.dumps({"foo": 1, "bar": 2}), "unknown shape: no geo field in keys foo,bar"),
    (with_(GOOD_GEO, ind=KeyError), "missing ind"),
    (with_(GOOD_GEO, ind=None), "missing ind"),
    (with_(GOOD_GEO, ind="abc"), "ind is not an integer: abc"),
    (with_(GOOD_GEO, ind=1.5), "ind is not an integer: 1.5"),
    (with_(GOOD_GEO, country=KeyError), "missing fields: country"),
    (with_(GOOD_GEO, latitude="north"), "latitude is not a number: north"),
    (with_(GOOD_GEO, longitude={"deg": 3}), 'longitude is not a number: {"deg":3}'),
]


@pytest.fixture(scope="module")
def geo_break_reasons(spark):
    return reasons(spark, "geo", [text for text, _ in GEO_BREAKS])


@pytest.mark.parametrize("case", range(len(GEO_BREAKS)), ids=[reason for _, reason in GEO_BREAKS])
def test_geo_contract_breaks_have_a_reason(geo_break_reasons, case):
    assert geo_break_reasons[case] == GEO_BREAKS[case][1]


def test_integer_given_as_text_is_accepted(spark):
    # Some producers quote numbers ("downloaded": "1" is seen in the real rows); the value is still an integer.
    assert reasons(spark, "user", [with_(GOOD_USER, ind="7528", age="20")]) == [None]


def test_user_wrong_age_type(spark):
    assert reasons(spark, "user", [with_(GOOD_USER, age="twenty")]) == ["age is not an integer: twenty"]


def test_pin_uses_index_as_its_id(spark):
    pin = {
        "index": 1,
        "unique_id": "u",
        "title": "t",
        "description": "d",
        "poster_name": "p",
        "follower_count": "1k",
        "tag_list": "a,b",
        "is_image_or_video": "image",
        "image_src": "s",
        "downloaded": 1,
        "save_location": "Local save in /data/art",
        "category": "art",
    }
    assert reasons(
        spark, "pin", [json.dumps(pin), with_(pin, index=KeyError), with_(pin, downloaded="yes")]
    ) == [None, "missing index", "downloaded is not an integer: yes"]


def test_long_values_are_cut_in_the_reason(spark):
    (reason,) = reasons(spark, "geo", [with_(GOOD_GEO, ind="x" * 100)])
    assert reason == "ind is not an integer: " + "x" * 40 + "..."


def test_extra_fields_are_ignored(spark):
    assert reasons(spark, "geo", [with_(GOOD_GEO, extra="hello")]) == [None]
