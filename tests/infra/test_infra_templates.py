"""The API Gateway mapping templates, rendered with a Velocity engine (airspeed) and an emulation of API
Gateway's $input and $util, produce requests that the real Kinesis API model accepts."""

from __future__ import annotations

import base64
import json
import re

import airspeed
import botocore.session
import pytest
from botocore.validate import ParamValidator

from infra.apigateway import KINESIS_ROUTES

ROUTES = {r.action: r for r in KINESIS_ROUTES}
KINESIS = botocore.session.get_session().get_service_model("kinesis")


class JavaString(str):
    """A request parameter as the template sees it: a java.lang.String, with the method the templates call."""

    def matches(self, regex):
        """String.matches: the whole string matches the regular expression."""
        return re.fullmatch(regex, self) is not None


class Input:
    """API Gateway's $input for one request: a JSON body, the path parameters and the query string."""

    def __init__(self, body, params, query=None):
        self.body, self.path_params, self.query = body, params, query or {}

    def path(self, expr):
        """$input.path: the value at a JSONPath ($.a.b[0].c, $.a['b-c']), '' when absent."""
        value = self.body
        for key, index, quoted in re.findall(r"\.([A-Za-z_-]+)|\[(\d+)\]|\['([^']+)'\]", expr[1:]):
            try:
                value = value[int(index)] if index else value[key or quoted]
            except (KeyError, IndexError, TypeError):
                return ""
        return value

    def json(self, expr):
        """$input.json: the JSON text of the value at a JSONPath."""
        return json.dumps(self.path(expr), ensure_ascii=False)

    def params(self, name):
        """$input.params(x): the path parameter x, else the query-string parameter x, else ''."""
        return JavaString(self.path_params.get(name, self.query.get(name, "")))


class Util:
    """API Gateway's $util (the functions the templates use)."""

    def base64Encode(self, text):
        return base64.b64encode(text.encode()).decode()

    def escapeJavaScript(self, text):
        """JavaScript string escaping: backslash, both quotes, '/', control characters (as \\uXXXX)."""
        out = []
        for char in text:
            if char in "\\\"'/":
                out.append("\\" + char)
            elif char in "\b\f\n\r\t":
                out.append(json.dumps(char)[1:-1])
            elif ord(char) < 0x20:
                out.append(f"\\u{ord(char):04X}")
            else:
                out.append(char)
        return "".join(out)


def merge(action, body=None, stream="demo-pin", query=None) -> str:
    """The text a route's template makes of a request."""
    template = airspeed.Template(ROUTES[action].mapping_template())
    return template.merge({"input": Input(body or {}, {"stream-name": stream}, query), "util": Util()})


def render(action, body=None, stream="demo-pin", query=None):
    """The Kinesis request a route's template makes of a request body, checked against the API model."""
    request = json.loads(merge(action, body, stream, query))
    for record in [request] if "Data" in request else request.get("Records", []):
        record["Data"] = base64.b64decode(record["Data"], validate=True)  # a blob in the model
    report = ParamValidator().validate(request, KINESIS.operation_model(action).input_shape)
    assert not report.has_errors(), report.generate_report()
    return request


def test_list_streams():
    assert render("ListStreams") == {}


@pytest.mark.parametrize("action", ["DescribeStream", "DeleteStream"])
def test_stream_name_comes_from_the_path(action):
    assert render(action, stream="demo-geo") == {"StreamName": "demo-geo"}


def test_create_stream_shard_count_defaults_to_one():
    assert render("CreateStream", stream="demo-user") == {"StreamName": "demo-user", "ShardCount": 1}
    assert render("CreateStream", {"ShardCount": 3}) == {"StreamName": "demo-pin", "ShardCount": 3}


def test_put_record_carries_the_json_data():
    post = {"index": 7528, "title": 'He said "hi" \\ bye', "category": "diy-and-crafts", "tags": ["a", "é"]}
    request = render("PutRecord", {"StreamName": "demo-pin", "Data": post, "PartitionKey": "7528"})
    assert request["StreamName"] == "demo-pin" and request["PartitionKey"] == "7528"
    assert json.loads(request["Data"]) == post


def test_put_records_keeps_every_record_in_order():
    posts = [{"ind": i, "country": f"Country {i}", "timestamp": "2020-01-01 00:00:00"} for i in range(5)]
    request = render(
        "PutRecords",
        {"StreamName": "demo-geo", "Records": [{"Data": p, "PartitionKey": str(p["ind"])} for p in posts]},
        stream="demo-geo",
    )
    assert request["StreamName"] == "demo-geo"
    assert [json.loads(r["Data"]) for r in request["Records"]] == posts
    assert [r["PartitionKey"] for r in request["Records"]] == ["0", "1", "2", "3", "4"]


def test_put_records_with_a_single_record():
    request = render("PutRecords", {"Records": [{"Data": {"ind": 1}, "PartitionKey": "1"}]})
    assert [json.loads(r["Data"]) for r in request["Records"]] == [{"ind": 1}]


def test_a_broken_template_is_caught():
    # The check is real: a record without a partition key does not pass the Kinesis model.
    with pytest.raises(AssertionError, match="PartitionKey"):
        render("PutRecords", {"Records": [{"Data": {"ind": 1}}]})


@pytest.mark.parametrize(
    "query, expected",
    [
        ({}, {}),
        ({"Limit": "25"}, {"Limit": 25}),
        ({"ExclusiveStartStreamName": "demo-geo"}, {"ExclusiveStartStreamName": "demo-geo"}),
        (
            {"Limit": "10000", "ExclusiveStartStreamName": "a.b_c-1"},
            {"Limit": 10000, "ExclusiveStartStreamName": "a.b_c-1"},
        ),
    ],
)
def test_list_streams_maps_the_query_string(query, expected):
    assert render("ListStreams", query=query) == expected


@pytest.mark.parametrize("limit", ["0", "abc", "-1", "1.5", '1, "x": 2', "5}"])
def test_list_streams_with_a_bad_limit_is_a_request_kinesis_refuses(limit):
    # The text never breaks out of the JSON: anything but digits is sent as a string, which the model refuses
    # (Kinesis answers 400), as is 0.
    text = merge("ListStreams", query={"Limit": limit})
    request = json.loads(text)
    assert set(request) == {"Limit"}
    report = ParamValidator().validate(request, KINESIS.operation_model("ListStreams").input_shape)
    assert report.has_errors() and "Limit" in report.generate_report()


@pytest.mark.parametrize("name", ['x", "Limit": 1, "y": "', 'x"}/', "a\\b\n"])
def test_list_streams_escapes_the_start_name(name):
    # a start name is one JSON string whatever it holds: never a second member (Kinesis refuses its pattern)
    assert json.loads(merge("ListStreams", query={"ExclusiveStartStreamName": name})) == {
        "ExclusiveStartStreamName": name
    }


SEED_POSTS = [{"index": 7528, "title": 'say "hi"', "tags": ["é"]}, {"index": 2863, "title": None}]


def test_put_records_takes_the_course_seeds_body():
    body = {
        "StreamName": "demo-pin",
        "records": [{"data": p, "partition-key": str(p["index"])} for p in SEED_POSTS],
    }
    request = render("PutRecords", body)
    assert request["StreamName"] == "demo-pin"
    assert [json.loads(r["Data"]) for r in request["Records"]] == SEED_POSTS
    assert [r["PartitionKey"] for r in request["Records"]] == ["7528", "2863"]
    # the same Kinesis request as AWS's spelling of the body makes
    aws = {"Records": [{"Data": p, "PartitionKey": str(p["index"])} for p in SEED_POSTS]}
    assert render("PutRecords", aws) == request


def put_records_model():
    import jsonschema

    schema = json.loads(ROUTES["PutRecords"].model_schema())
    jsonschema.Draft4Validator.check_schema(schema)  # API Gateway's models are JSON Schema draft 4
    return jsonschema.Draft4Validator(schema)


@pytest.mark.parametrize(
    "body",
    [
        {"StreamName": "s", "Records": [{"Data": {"a": 1}, "PartitionKey": "k"}]},
        {"StreamName": "s", "records": [{"data": {"a": 1}, "partition-key": "k"}]},
        {"records": [{"data": "text", "partition-key": "k"}, {"data": [1], "partition-key": "j"}]},
    ],
)
def test_the_records_model_accepts_either_body(body):
    assert list(put_records_model().iter_errors(body)) == []


@pytest.mark.parametrize(
    "body",
    [
        {"Records": [{"Data": 1, "PartitionKey": "k"}], "records": [{"data": 1, "partition-key": "k"}]},
        {"records": [{"Data": 1, "partition-key": "k"}]},
        {"records": [{"data": 1, "partition-key": "k", "PartitionKey": "k"}]},
        {"Records": [{"Data": 1, "partition-key": "k"}]},
        {"Records": [{"Data": 1, "PartitionKey": "k"}, {"data": 1, "partition-key": "k"}]},
        {"records": [{"data": 1}]},
        {"records": []},
        {"StreamName": "s"},
        {"records": "x"},
    ],
    ids=[
        "both lists",
        "seed list, AWS data key",
        "seed record with both partition keys",
        "AWS list, seed partition key",
        "AWS list, one seed record",
        "seed record without a partition key",
        "empty seed list",
        "no records",
        "records not a list",
    ],
)
def test_the_records_model_refuses_both_mixed_or_missing(body):
    # API Gateway's request validator answers these with 400 {"message": "Invalid request body"}
    assert list(put_records_model().iter_errors(body)) != []


def test_only_put_records_has_a_model_and_only_list_streams_a_query():
    assert [r.action for r in KINESIS_ROUTES if r.model] == ["PutRecords"]
    assert {r.action: r.query for r in KINESIS_ROUTES if r.query} == {
        "ListStreams": ("Limit", "ExclusiveStartStreamName")
    }
    assert ROUTES["ListStreams"].request_parameters() == {
        "method.request.querystring.Limit": False,
        "method.request.querystring.ExclusiveStartStreamName": False,
    }
