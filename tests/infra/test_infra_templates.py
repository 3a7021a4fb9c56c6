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


class Input:
    """API Gateway's $input for one request: a JSON body and the path parameters."""

    def __init__(self, body, params):
        self.body, self.path_params = body, params

    def path(self, expr):
        """$input.path: the value at a JSONPath ($.a.b[0].c), '' when absent."""
        value = self.body
        for key, index in re.findall(r"\.([A-Za-z_-]+)|\[(\d+)\]", expr[1:]):
            try:
                value = value[key] if key else value[int(index)]
            except (KeyError, IndexError, TypeError):
                return ""
        return value

    def json(self, expr):
        """$input.json: the JSON text of the value at a JSONPath."""
        return json.dumps(self.path(expr), ensure_ascii=False)

    def params(self, name):
        """$input.params: a path parameter."""
        return self.path_params[name]


class Util:
    """API Gateway's $util (the function the templates use)."""

    def base64Encode(self, text):
        return base64.b64encode(text.encode()).decode()


def render(action, body=None, stream="demo-pin"):
    """The Kinesis request a route's template makes of a request body, checked against the API model."""
    template = airspeed.Template(ROUTES[action].mapping_template())
    request = json.loads(
        template.merge({"input": Input(body or {}, {"stream-name": stream}), "util": Util()})
    )
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
