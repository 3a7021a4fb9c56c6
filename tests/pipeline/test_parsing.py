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


GOOD_PIN = {
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


def test_pin_uses_index_as_its_id(spark):
    pin = GOOD_PIN
    assert reasons(
        spark, "pin", [json.dumps(pin), with_(pin, index=KeyError), with_(pin, downloaded="yes")]
    ) == [None, "missing index", "downloaded is not an integer: yes"]


def test_long_values_are_cut_in_the_reason(spark):
    (reason,) = reasons(spark, "geo", [with_(GOOD_GEO, ind="x" * 100)])
    assert reason == "ind is not an integer: " + "x" * 40 + "..."


def test_extra_fields_are_ignored(spark):
    assert reasons(spark, "geo", [with_(GOOD_GEO, extra="hello")]) == [None]


def validated(spark, entity, texts):
    """refine.validate over (line, text) rows: one row per record, with its element and reason."""
    from pinterest_pipeline.refine import validate

    df = spark.createDataFrame(list(enumerate(texts)), "line int, value string")
    return [
        (r.line, r.element, r.ind, r.reason)
        for r in validate(df, entity).orderBy("line", "element").collect()
    ]


def test_an_array_of_objects_is_read_as_those_objects(spark):
    one = json.dumps([GOOD_GEO])
    three = json.dumps([{**GOOD_GEO, "ind": 1}, {**GOOD_GEO, "ind": 2}, {**GOOD_GEO, "ind": 3}])
    plain = json.dumps({**GOOD_GEO, "ind": 4})
    assert validated(spark, "geo", [one, three, plain, f"  \t{one} "]) == [
        (0, 0, 7528, None),
        (1, 0, 1, None),
        (1, 1, 2, None),
        (1, 2, 3, None),
        (2, None, 4, None),
        (3, 0, 7528, None),
    ]


def test_an_element_keeps_its_own_content_reason_and_text(spark):
    from pinterest_pipeline.refine import validate

    text = json.dumps([GOOD_GEO, {**GOOD_GEO, "timestamp": "2020:08:28 03:52:47"}])
    rows = validate(spark.createDataFrame([(text,)], "value string"), "geo").orderBy("element").collect()
    assert [(r.element, r.reason) for r in rows] == [
        (0, None),
        (1, "unparseable timestamp: 2020:08:28 03:52:47"),
    ]
    assert json.loads(rows[1].value) == {**GOOD_GEO, "timestamp": "2020:08:28 03:52:47"}


ARRAY_BREAKS = [
    ("[]", "empty array: no record in it"),
    (json.dumps([GOOD_USER, 5]), "array holds a non-object: element 1 of 2 is a number"),
    (json.dumps([GOOD_USER, [GOOD_USER]]), "array holds a non-object: element 1 of 2 is an array"),
    (json.dumps([None, GOOD_USER]), "array holds a non-object: element 0 of 2 is null"),
    (json.dumps([json.dumps(GOOD_USER)]), "array holds a non-object: element 0 of 1 is a string"),
    (json.dumps([GOOD_USER, True]), "array holds a non-object: element 1 of 2 is a boolean"),
    ("[" + json.dumps(GOOD_USER), "malformed JSON"),
]


@pytest.fixture(scope="module")
def array_break_rows(spark):
    """The table above validated in one Spark job, a line per case."""
    return validated(spark, "user", [text for text, _ in ARRAY_BREAKS])


@pytest.mark.parametrize("case", range(len(ARRAY_BREAKS)), ids=[reason for _, reason in ARRAY_BREAKS])
def test_an_array_that_is_not_all_objects_is_one_rejected_record(array_break_rows, case):
    assert [row for row in array_break_rows if row[0] == case] == [(case, None, None, ARRAY_BREAKS[case][1])]


def test_records_of_the_three_entities_validated_in_one_plan_are_validated_as_each_alone(spark):
    """The streaming job validates the three streams' records in one plan (refine.validate_each): each entity's
    rows, columns and reasons are those refine.validate gives its records alone."""
    from pinterest_pipeline.names import ENTITIES
    from pinterest_pipeline.refine import entity_rows, validate, validate_each

    texts = {
        "pin": [json.dumps(GOOD_PIN), with_(GOOD_PIN, follower_count="lots"), with_(GOOD_PIN, index="x")],
        "geo": [json.dumps(GOOD_GEO), with_(GOOD_GEO, latitude=95)] + [text for text, _ in GEO_BREAKS],
        "user": [json.dumps(GOOD_USER), with_(GOOD_USER, age=300), json.dumps([GOOD_USER, GOOD_USER])]
        + [text for text, _ in ARRAY_BREAKS],
    }
    rows = [(entity, line, text) for entity in ENTITIES for line, text in enumerate(texts[entity])]
    mixed = spark.createDataFrame(rows, "entity string, line int, value string")
    each = validate_each(mixed, list(ENTITIES))
    for entity in ENTITIES:
        alone = validate(mixed.where(mixed.entity == entity), entity)
        got = entity_rows(each, entity, list(ENTITIES))
        assert sorted(got.columns) == sorted(alone.columns), entity
        order = ["line", "element"]
        assert got.orderBy(*order).collect() == alone.select(*got.columns).orderBy(*order).collect(), entity
    reasons_found = {r.reason for r in each.collect()}
    assert {"unparseable follower_count: lots", "latitude out of range: 95.0", "age out of range: 300"} <= (
        reasons_found
    )
