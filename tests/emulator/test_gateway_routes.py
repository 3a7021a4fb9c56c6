"""The course's client scripts against the local gateway: routes under an API Gateway stage prefix (any, or only
`--stage`'s), ListStreams paged as Kinesis pages it, and the course seed's `records` body for PutRecords. Real
HTTP to the gateway, moto's real server behind it."""

from __future__ import annotations

import json
import signal
import uuid

import boto3
import pytest
import requests
from pinterest_emulator.cli import main
from pinterest_emulator.gateway import Gateway

try:
    from . import gateway_fixtures as fx
except ImportError:
    import gateway_fixtures as fx

# moto's state is shared by the test process: regions of their own keep other tests' streams out
REGION = "ap-northeast-2"
LIST_REGION = "ap-northeast-3"  # only the listing test's streams live here


@pytest.fixture(autouse=True)
def _no_leftover_gateways():
    yield
    fx.GatewayProcess.kill_leftovers()


@pytest.fixture(scope="module")
def gateway(kinesis_endpoint, tmp_path_factory):
    with Gateway(tmp_path_factory.mktemp("raw"), kinesis_endpoint=kinesis_endpoint, region=REGION) as gw:
        yield gw


def kinesis(endpoint: str, region: str = REGION):
    # moto takes any credentials: tests/conftest.py puts dummy ones in the environment
    return boto3.client("kinesis", endpoint_url=endpoint, region_name=region)


def read_stream(endpoint: str, name: str) -> list[tuple[str, bytes]]:
    """(partition key, data) of every record of a one-shard stream, read straight from Kinesis."""
    client = kinesis(endpoint)
    shard = client.describe_stream(StreamName=name)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = client.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = client.get_records(ShardIterator=iterator["ShardIterator"], Limit=10000)["Records"]
    return [(r["PartitionKey"], r["Data"]) for r in records]


def answer(response: requests.Response) -> tuple[int, dict, bytes]:
    """Status, headers (but Date, which is the clock's) and body of a response."""
    headers = {k.lower(): v for k, v in response.headers.items() if k.lower() != "date"}
    return response.status_code, headers, response.content


# Requests that change nothing, each answered the same wherever it is sent
READ_ONLY = [
    ("GET", "/topics", None),
    ("GET", "/topics/pinterest.pin", None),
    ("GET", "/topics/no.such.topic", None),
    ("POST", "/topics/no.such.topic", {"records": [{"value": 1}]}),
    ("DELETE", "/topics", None),
    ("GET", "/streams/nosuch-routes-stream", None),
    ("GET", "/streams?Limit=0", None),
    ("PUT", "/streams/nosuch-routes-stream/records", {"records": [{"data": 1}], "Records": []}),
    ("PUT", "/streams/nosuch-routes-stream/other", {}),
    ("GET", "/openapi.json", None),
    ("GET", "/nothing", None),
]


@pytest.mark.parametrize("prefix", ["/prod", "/Prod", "/dev-2_x", "/"])
@pytest.mark.parametrize("method, path, body", READ_ONLY, ids=[f"{m} {p}" for m, p, _ in READ_ONLY])
def test_a_stage_prefix_answers_exactly_as_the_root(gateway, prefix, method, path, body):
    kwargs = {"timeout": 30}
    if body is not None:
        content_type = fx.KAFKA_JSON if path.startswith("/topics") else "application/json"
        kwargs.update(data=json.dumps(body), headers={"Content-Type": content_type})
    at_root = requests.request(method, gateway.url + path, **kwargs)
    staged = requests.request(method, gateway.url + prefix + path, **kwargs)
    assert answer(staged) == answer(at_root)
    assert at_root.status_code < 500


def test_records_posted_under_a_stage_land_as_at_the_root(gateway, kinesis_endpoint, tmp_path):
    name = f"routes-{uuid.uuid4().hex[:8]}-pin"
    created = requests.post(f"{gateway.url}/prod/streams/{name}", json={"ShardCount": 1}, timeout=30)
    assert (created.status_code, created.json()) == (200, {})
    for n, prefix in enumerate(("", "/prod", "/Prod", "/")):
        put = requests.put(
            f"{gateway.url}{prefix}/streams/{name}/record",
            json={"StreamName": name, "Data": {"n": n}, "PartitionKey": str(n)},
            timeout=30,
        )
        assert put.status_code == 200, put.text
    assert read_stream(kinesis_endpoint, name) == [(str(n), b'{"n":%d}' % n) for n in range(4)]
    listed = requests.get(f"{gateway.url}/prod/streams", timeout=30).json()["StreamNames"]
    assert name in listed
    assert requests.delete(f"{gateway.url}/prod/streams/{name}", timeout=30).json() == {}

    # the REST proxy route: a file with every record, wherever it was posted
    with Gateway(tmp_path, kinesis_endpoint=kinesis_endpoint, region=REGION) as own:
        for n, prefix in enumerate(("", "/prod", "/Prod", "/")):
            response = fx.produce(own.url + prefix, "pinterest.geo", [{"ind": n}])
            assert response.status_code == 200 and response.json()["offsets"][0]["offset"] == n
    assert fx.read_topic(tmp_path, "pinterest.geo") == [(0, n, {"ind": n}) for n in range(4)]


def test_a_configured_stage_is_the_only_one_served(tmp_path):
    gateway = fx.GatewayProcess(tmp_path, "--stage", "prod")
    try:
        for path in ("/topics", "/prod/topics", "//topics", "/prod/openapi.json"):
            assert requests.get(gateway.url + path, timeout=30).status_code == 200, path
        for path in ("/Prod/topics", "/dev/topics", "/dev/streams", "/dev/openapi.json"):
            refused = requests.get(gateway.url + path, timeout=30)
            assert refused.status_code == 404, path
            assert refused.json() == {
                "message": f"Stage {path.split('/')[1]!r} not found (this gateway serves 'prod')"
            }
    finally:
        code, _ = gateway.stop(signal.SIGTERM)
    assert code == 0


@pytest.mark.parametrize("stage", ["", "a/b", "prod.v1", "s" * 129, "topics", "streams"])
def test_a_bad_stage_is_a_usage_error(tmp_path, capsys, stage):
    with pytest.raises(SystemExit) as stopped:
        main(["gateway", "--raw-root", str(tmp_path), "--stage", stage])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "--stage" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("target", ["kafka-rest", "kinesis"])
def test_post_to_an_invoke_url_with_a_stage(seeded_sqlite, kinesis_endpoint, tmp_path, capsys, target):
    prefix = f"routes-{uuid.uuid4().hex[:8]}"
    with Gateway(
        tmp_path, kinesis_endpoint=kinesis_endpoint, region=REGION, stage="prod", topic_prefix=prefix
    ) as gw:
        for entity in ("pin", "geo", "user"):
            assert requests.post(f"{gw.url}/prod/streams/{prefix}-{entity}", timeout=30).status_code == 200
        code = main(
            [
                "post",
                "--target",
                target,
                "--db-url",
                seeded_sqlite,
                "--gateway",
                f"{gw.url}/prod",
                "--sampling",
                "uniform",
                "--seed",
                "8",
                "--count",
                "30",
                "--batch-size",
                "10",
                "--topic-prefix",
                prefix,
                "--stream-prefix",
                prefix,
            ]
        )
        assert code == 0
        assert "acknowledged 90, failed 0" in capsys.readouterr().err
    for entity in ("pin", "geo", "user"):
        if target == "kafka-rest":
            got = [v for _, _, v in fx.read_topic(tmp_path, f"{prefix}.{entity}")]
        else:
            got = [json.loads(data) for _, data in read_stream(kinesis_endpoint, f"{prefix}-{entity}")]
        assert len(got) == 30 and all(isinstance(v, dict) for v in got)


def test_post_refuses_a_gateway_url_with_a_query(seeded_sqlite, capsys):
    code = main(
        ["post", "--target", "kinesis", "--db-url", seeded_sqlite, "--gateway", "http://h:1/prod?x=1"]
    )
    assert code == 2
    assert "must not have a ?query" in capsys.readouterr().err


@pytest.fixture(scope="module")
def listing(kinesis_endpoint, tmp_path_factory):
    """A gateway on a region holding exactly 105 streams of this module (more than a default page)."""
    client = kinesis(kinesis_endpoint, LIST_REGION)
    tag = uuid.uuid4().hex[:6]
    # created out of name order: the listing's order is the names', not the creation's
    names = [f"list-{tag}-{n:03d}" for n in (*range(104, 49, -1), *range(50))]
    for name in names:
        client.create_stream(StreamName=name, ShardCount=1)
    with Gateway(tmp_path_factory.mktemp("raw"), kinesis_endpoint=kinesis_endpoint, region=LIST_REGION) as gw:
        yield gw, sorted(names)
    for name in names:
        client.delete_stream(StreamName=name)


def list_streams(gw: Gateway, **params) -> dict:
    response = requests.get(f"{gw.url}/streams", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_list_streams_default_page_is_100(listing):
    gw, names = listing
    page = list_streams(gw)
    assert page["StreamNames"] == names[:100] and page["HasMoreStreams"] is True
    assert [s["StreamName"] for s in page["StreamSummaries"]] == names[:100]
    rest = list_streams(gw, ExclusiveStartStreamName=names[99])
    assert rest["StreamNames"] == names[100:] and rest["HasMoreStreams"] is False


@pytest.mark.parametrize("limit", [1, 7, 25, 100, 101, 10000])
def test_list_streams_pages_reach_every_stream(listing, limit):
    gw, names = listing
    page_size = min(limit, 100)  # "If you specify a value greater than 100, at most 100 results are returned"
    seen, start, pages = [], None, 0
    while True:
        params = {"Limit": limit} | ({"ExclusiveStartStreamName": start} if start else {})
        page = list_streams(gw, **params)
        pages += 1
        assert len(page["StreamNames"]) == min(page_size, len(names) - len(seen))
        seen += page["StreamNames"]
        assert page["HasMoreStreams"] is (len(seen) < len(names))
        if not page["HasMoreStreams"]:
            break
        start = page["StreamNames"][-1]
    assert seen == names and pages == -(-len(names) // page_size)


def test_list_streams_starts_after_any_name(listing):
    gw, names = listing
    between = names[29] + "a"  # no such stream: the list starts at the next name
    assert list_streams(gw, Limit=3, ExclusiveStartStreamName=between)["StreamNames"] == names[30:33]
    last = list_streams(gw, ExclusiveStartStreamName=names[-1])
    assert (last["StreamNames"], last["HasMoreStreams"]) == ([], False)


@pytest.mark.parametrize(
    "query, constraint",
    [
        ("Limit=0", "greater than or equal to 1"),
        ("Limit=-5", "greater than or equal to 1"),
        ("Limit=10001", "less than or equal to 10000"),
        ("Limit=abc", "must be an integer"),
        ("Limit=", "must be an integer"),
        ("Limit=1.5", "must be an integer"),
        ("ExclusiveStartStreamName=", "regular expression pattern"),
        ("ExclusiveStartStreamName=a%2Fb", "regular expression pattern"),
        ("ExclusiveStartStreamName=" + "s" * 129, "length between 1 and 128"),
    ],
)
def test_list_streams_bad_parameters_are_kinesis_validation_errors(listing, query, constraint):
    gw, _ = listing
    refused = requests.get(f"{gw.url}/streams?{query}", timeout=30)
    assert refused.status_code == 400
    body = refused.json()
    assert body["__type"] == "ValidationException" and constraint in body["message"]
    assert body["message"].startswith("1 validation error detected: Value ")


def test_the_course_seeds_records_body_lands_in_kinesis(gateway, kinesis_endpoint):
    name = f"routes-{uuid.uuid4().hex[:8]}-geo"
    assert (
        requests.post(f"{gateway.url}/streams/{name}", json={"ShardCount": 1}, timeout=30).status_code == 200
    )
    posts = [
        {"ind": 7528, "country": "Côte d'Ivoire", "latitude": -89.9787, "timestamp": "2020-08-28 03:52:47"},
        {"ind": 2863, "country": 'say "hi" \\ bye', "tags": [1, None, {"a": []}]},
    ]
    seed = requests.put(
        f"{gateway.url}/Prod/streams/{name}/records",
        json={"StreamName": name, "records": [{"data": p, "partition-key": str(p["ind"])} for p in posts]},
        timeout=30,
    )
    assert seed.status_code == 200 and seed.json()["FailedRecordCount"] == 0
    aws = requests.put(
        f"{gateway.url}/streams/{name}/records",
        json={"StreamName": name, "Records": [{"Data": p, "PartitionKey": str(p["ind"])} for p in posts]},
        timeout=30,
    )
    assert aws.status_code == 200 and aws.json()["FailedRecordCount"] == 0
    got = read_stream(kinesis_endpoint, name)
    assert [key for key, _ in got] == ["7528", "2863"] * 2
    assert [json.loads(data) for _, data in got] == posts * 2
    assert got[:2] == got[2:]  # the same bytes in Kinesis whichever body carried them
    requests.delete(f"{gateway.url}/streams/{name}", timeout=30)


@pytest.mark.parametrize(
    "body, message",
    [
        (
            {"Records": [{"Data": 1, "PartitionKey": "k"}], "records": [{"data": 1, "partition-key": "k"}]},
            "give Records or records, not both",
        ),
        ({"records": [{"Data": 1, "partition-key": "k"}]}, "records[0] mixes the keys"),
        (
            {"Records": [{"Data": 1, "PartitionKey": "k"}, {"data": 1, "PartitionKey": "k"}]},
            "Records[1] mixes",
        ),
        ({"records": [{"data": 1}]}, "PartitionKey must be a string"),
        ({"records": [{"data": None, "partition-key": "k"}]}, "Data may not be null"),
        # an empty list is Kinesis' own ValidationException, as with AWS's body
        ({"records": []}, "at 'records' failed to satisfy constraint: Member must have length greater than"),
        ({"records": {"data": 1}}, "must be an array of 1 to"),
        ({"records": ["x"]}, "must be an object"),
    ],
)
def test_bad_records_bodies_are_400_with_a_message(gateway, kinesis_endpoint, body, message):
    name = f"routes-{uuid.uuid4().hex[:8]}-pin"
    assert requests.post(f"{gateway.url}/streams/{name}", timeout=30).status_code == 200
    refused = requests.put(f"{gateway.url}/prod/streams/{name}/records", json=body, timeout=30)
    assert refused.status_code == 400 and message in refused.json()["message"]
    assert read_stream(kinesis_endpoint, name) == []
    requests.delete(f"{gateway.url}/streams/{name}", timeout=30)


def test_the_openapi_document_describes_stages_paging_and_both_bodies(gateway):
    doc = requests.get(f"{gateway.url}/prod/openapi.json", timeout=30).json()
    assert [s["url"] for s in doc["servers"]] == ["/", "/{stage}"]
    params = {p["name"]: p["schema"] for p in doc["paths"]["/streams"]["get"]["parameters"]}
    assert params["Limit"] == {"type": "integer", "minimum": 1, "maximum": 10000}
    assert set(params) == {"Limit", "ExclusiveStartStreamName"}
    body = doc["paths"]["/streams/{name}/records"]["put"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert [b["required"] for b in body["oneOf"]] == [["Records"], ["records"]]
    seed_record = body["oneOf"][1]["properties"]["records"]["items"]
    assert seed_record["required"] == ["data", "partition-key"]


@pytest.mark.parametrize("command", ["post", "gateway"])
def test_help_names_the_api_key_variable(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "$PINTEREST_API_KEY" in text
    assert ("/prod" if command == "post" else "--stage") in text
