"""The API Gateway Kinesis proxy: the production API's routes, mapped onto Kinesis actions.

Requests are mapped as the API's integration templates do (the stream name comes from the path; `Data` is
forwarded as the UTF-8 JSON text of the request's `Data`, like `$input.json('$.Data')`), and Kinesis' JSON
response (or error, `{"__type", "message"}`, with its status) is returned as it is.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import threading

from pinterest_pipeline.names import valid_stream

from . import jsontext

MAX_SHARDS = 500  # Kinesis' default shard quota per account and region
# Kinesis' own limits, checked here before the call (moto checks only some of them, and PutRecords' request
# limit is lower in moto than in Kinesis). A record's data blob plus its partition key may hold a stream's
# maximum record size, 1 MiB unless the stream is changed with UpdateMaxRecordSize
# (https://docs.aws.amazon.com/streams/latest/dev/large-records.html); a partition key is 1 to 256 characters
# and PutRecords takes 1 to 500 records and 10 MiB in all, partition keys included
# (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html).
MAX_RECORD_BYTES = 1_048_576
MAX_PARTITION_KEY = 256
MAX_PUT_RECORDS = 500
MAX_PUT_RECORDS_BYTES = 10 * 1024 * 1024
# moto (5.x) refuses a PutRecords call of more than 5 MiB (Kinesis' limit before records of up to 10 MiB),
# so a larger request is sent to it in parts; the answer is the one Kinesis gives for the whole request
MOTO_PUT_RECORDS_BYTES = 5 * 1024 * 1024


# ListStreams: "The default value is 100. If you specify a value greater than 100, at most 100 results are
# returned." Valid range 1 to 10000. https://docs.aws.amazon.com/kinesis/latest/APIReference/API_ListStreams.html
LIST_STREAMS_DEFAULT = 100
LIST_STREAMS_MAX_LIMIT = 10_000


class ProxyResponse(Exception):
    """A finished response (status, JSON body), raised for request errors."""

    def __init__(self, status: int, body: dict):
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body


def bad_request(message: str) -> ProxyResponse:
    """API Gateway's request-validation error."""
    return ProxyResponse(400, {"message": message})


def kinesis_error(error_type: str, message: str) -> ProxyResponse:
    """An error as Kinesis answers it (status 400, `{"__type", "message"}`)."""
    return ProxyResponse(400, {"__type": error_type, "message": message})


def _length_error(at: str, constraint: str, value: str | None = None) -> ProxyResponse:
    # the wording of Kinesis' (and moto's) ValidationException for a member's length
    shown = "" if value is None else f" '{value}'"
    return kinesis_error(
        "ValidationException",
        f"1 validation error detected: Value{shown} at '{at}' failed to satisfy constraint: "
        f"Member must have length {constraint}",
    )


def _check_record(blob: bytes, key: str, member: str = "") -> int:
    """Kinesis' limits on one record (`member` is the record's path in PutRecords); returns its size."""
    if not 1 <= len(key) <= MAX_PARTITION_KEY:
        bound = "greater than or equal to 1" if not key else f"less than or equal to {MAX_PARTITION_KEY}"
        raise _length_error(f"{member}partitionKey", bound, key)
    size = len(blob) + len(key.encode("utf-8"))
    if size > MAX_RECORD_BYTES:
        raise _length_error(f"{member}data", f"less than or equal to {MAX_RECORD_BYTES}")
    return size


def _validation_error(value: str, member: str, constraint: str) -> ProxyResponse:
    """Kinesis' answer to a parameter outside its model (a 400 ValidationException)."""
    return ProxyResponse(
        400,
        {
            "__type": "ValidationException",
            "message": f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
            f"constraint: {constraint}",
        },
    )


def list_params(query: dict[str, list[str]]) -> tuple[int, str | None]:
    """(page size, exclusive start name) of a ListStreams query string; a bad value is Kinesis' 400."""
    limit = LIST_STREAMS_DEFAULT
    if "Limit" in query:
        text = query["Limit"][-1]
        if not re.fullmatch(r"-?[0-9]{1,18}", text):
            raise _validation_error(text[:64], "limit", "Member must be an integer")
        value = int(text)
        if value < 1:
            raise _validation_error(text, "limit", "Member must have value greater than or equal to 1")
        if value > LIST_STREAMS_MAX_LIMIT:
            raise _validation_error(
                text, "limit", f"Member must have value less than or equal to {LIST_STREAMS_MAX_LIMIT}"
            )
        limit = min(value, LIST_STREAMS_DEFAULT)
    start = None
    if "ExclusiveStartStreamName" in query:
        start = query["ExclusiveStartStreamName"][-1]
        if not valid_stream(start):
            raise _validation_error(
                start[:200],  # the value is echoed, as Kinesis does, but not a whole URL's worth
                "exclusiveStartStreamName",
                "Member must have length between 1 and 128 and satisfy regular expression pattern: "
                "[a-zA-Z0-9_.-]+",
            )
    return limit, start


def _json_ready(value):
    """Kinesis' JSON wire form of a boto3 response (epoch seconds for timestamps)."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _data_blob(data, where: str) -> bytes:
    if data is None:
        raise bad_request(f"{where}.Data may not be null")
    try:
        blob = jsontext.dumps(data)
    except jsontext.BadJson as exc:
        raise bad_request(f"{where}.Data: {exc}") from None
    return blob


def _partition_key(key, where: str) -> str:
    if not isinstance(key, str):
        raise bad_request(f"{where}.PartitionKey must be a string of 1 to {MAX_PARTITION_KEY} characters")
    return key


def _json_object(body: bytes, allow_empty: bool = False) -> dict:
    if allow_empty and not body.strip():
        return {}
    try:
        request = jsontext.loads(body)
    except jsontext.BadJson as exc:
        raise bad_request(f"Invalid request body: malformed JSON ({exc})") from None
    if not isinstance(request, dict):
        raise bad_request("Invalid request body: expected a JSON object")
    return request


SEED_KEYS = {"data": "Data", "partition-key": "PartitionKey"}  # the course seed's record keys -> AWS's


def aws_records(request: dict):
    """The request's `Records`, or its `records` (the course seed's body) with each record's `data` and
    `partition-key` renamed to `Data` and `PartitionKey`; both lists, or a record mixing both spellings, is
    a 400. What is not a list or an object is returned as it is, for the caller's checks."""
    if "Records" in request and "records" in request:
        raise bad_request("Invalid request body: give Records or records, not both")
    if "records" not in request:
        records, own, other = request.get("Records"), "Records", SEED_KEYS
    else:
        records, own, other = request["records"], "records", SEED_KEYS.values()
    if not isinstance(records, list):
        return records
    for i, record in enumerate(records):
        if isinstance(record, dict) and any(key in record for key in other):
            raise bad_request(
                f"Invalid request body: {own}[{i}] mixes the keys of Records (Data, PartitionKey) and "
                "records (data, partition-key)"
            )
    if own == "Records":
        return records
    return [
        {SEED_KEYS[k]: v for k, v in record.items() if k in SEED_KEYS} if isinstance(record, dict) else record
        for record in records
    ]


class KinesisProxy:
    """Maps the proxy routes onto a Kinesis endpoint (boto3, created on first use)."""

    def __init__(
        self,
        endpoint_url: str | None,
        region: str = "us-east-1",
        local: bool = False,
        max_connections: int = 64,
    ):
        self.endpoint_url = endpoint_url
        self.region = region
        self.local = local
        self.max_connections = max_connections
        self._client = None
        self._lock = threading.Lock()

    def client(self):
        """The boto3 Kinesis client (thread-safe, shared)."""
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                # a local endpoint (moto) accepts any credentials; a real one uses the default chain
                credentials = (
                    {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"} if self.local else {}
                )
                self._client = boto3.client(
                    "kinesis",
                    endpoint_url=self.endpoint_url,
                    region_name=self.region,
                    # one attempt, as API Gateway's integration makes: Kinesis' throttling goes back to the
                    # client, which retries (the emulator does), instead of being slept on here
                    config=Config(
                        max_pool_connections=self.max_connections,
                        retries={"total_max_attempts": 1, "mode": "standard"},
                    ),
                    **credentials,
                )
            return self._client

    def close(self) -> None:
        """Close the client's connection pool."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _call(self, action: str, **params) -> tuple[int, dict]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = getattr(self.client(), action)(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            return status, {"__type": error.get("Code", "UnknownError"), "message": error.get("Message", "")}
        except BotoCoreError as exc:
            return 502, {"message": f"Kinesis endpoint failed: {exc}"}
        return 200, _json_ready(response)

    @staticmethod
    def _stream(name: str) -> str:
        if not valid_stream(name):
            raise bad_request("Invalid stream name: 1 to 128 of a-z, A-Z, 0-9, '_', '-', '.'")
        return name

    def list_streams(self, query: dict[str, list[str]] | None = None) -> tuple[int, dict]:
        """`GET /streams[?Limit=N&ExclusiveStartStreamName=S]` -> ListStreams, paged as Kinesis pages it.

        The endpoint is read to the end and the page cut here, in name order: moto's own ListStreams pages 10
        by default, fails on a start name that is not a stream and summarises every stream on every page.
        """
        limit, start = list_params(query or {})
        names, summaries = [], {}
        params = {"Limit": LIST_STREAMS_MAX_LIMIT}
        while True:
            status, page = self._call("list_streams", **params)
            if status != 200:
                return status, page
            names += page.get("StreamNames", [])
            summaries.update({s.get("StreamName"): s for s in page.get("StreamSummaries", [])})
            if not page.get("HasMoreStreams") or not page.get("StreamNames"):
                break
            params["ExclusiveStartStreamName"] = page["StreamNames"][-1]
        after = sorted(n for n in set(names) if start is None or n > start)
        answer = {"HasMoreStreams": len(after) > limit, "StreamNames": after[:limit]}
        if summaries:
            answer["StreamSummaries"] = [summaries[n] for n in answer["StreamNames"] if n in summaries]
        return 200, answer

    def create_stream(self, name: str, body: bytes) -> tuple[int, dict]:
        """`POST /streams/{name}` with `{"ShardCount": n}` -> CreateStream."""
        name = self._stream(name)
        shards = _json_object(body, allow_empty=True).get("ShardCount", 1)
        if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= MAX_SHARDS:
            raise bad_request(f"ShardCount must be an integer from 1 to {MAX_SHARDS}")
        return self._call("create_stream", StreamName=name, ShardCount=shards)

    def describe_stream(self, name: str) -> tuple[int, dict]:
        """`GET /streams/{name}` -> DescribeStream."""
        return self._call("describe_stream", StreamName=self._stream(name))

    def delete_stream(self, name: str) -> tuple[int, dict]:
        """`DELETE /streams/{name}` -> DeleteStream."""
        return self._call("delete_stream", StreamName=self._stream(name))

    def put_record(self, name: str, body: bytes) -> tuple[int, dict]:
        """`PUT /streams/{name}/record` with `{"StreamName", "Data", "PartitionKey"}` -> PutRecord."""
        name = self._stream(name)
        request = _json_object(body)
        blob = _data_blob(request.get("Data"), "body")
        key = _partition_key(request.get("PartitionKey"), "body")
        _check_record(blob, key)
        return self._call("put_record", StreamName=name, Data=blob, PartitionKey=key)

    def put_records(self, name: str, body: bytes) -> tuple[int, dict]:
        """`PUT /streams/{name}/records` with `{"StreamName", "Records": [{"Data", "PartitionKey"}]}` (or the
        course seed's `{"StreamName", "records": [{"data", "partition-key"}]}`, see `aws_records`)."""
        name = self._stream(name)
        records = aws_records(_json_object(body))
        if not isinstance(records, list):
            raise bad_request(f"Records must be an array of 1 to {MAX_PUT_RECORDS} records")
        if not 1 <= len(records) <= MAX_PUT_RECORDS:
            bound = (
                "greater than or equal to 1" if not records else f"less than or equal to {MAX_PUT_RECORDS}"
            )
            raise _length_error("records", bound)
        entries = []
        for i, record in enumerate(records):
            if not isinstance(record, dict):
                raise bad_request(f"Records[{i}] must be an object")
            entries.append(
                {
                    "Data": _data_blob(record.get("Data"), f"Records[{i}]"),
                    "PartitionKey": _partition_key(record.get("PartitionKey"), f"Records[{i}]"),
                }
            )
        sizes = [
            _check_record(e["Data"], e["PartitionKey"], f"records.{i + 1}.member.")
            for i, e in enumerate(entries)
        ]
        if sum(sizes) > MAX_PUT_RECORDS_BYTES:
            # moto's wording for the request limit, with Kinesis' current number
            raise kinesis_error("InvalidArgumentException", "Records size exceeds 10 MB limit")
        return self._put_records_in_parts(name, entries, sizes)

    def _put_records_in_parts(self, name: str, entries: list[dict], sizes: list[int]) -> tuple[int, dict]:
        """One PutRecords call per part moto accepts, answered as one call (records in request order)."""
        parts, start, total = [], 0, 0
        for i, size in enumerate(sizes):
            if total + size > MOTO_PUT_RECORDS_BYTES:
                parts.append(entries[start:i])
                start, total = i, 0
            total += size
        parts.append(entries[start:])
        merged: dict = {}
        for part in parts:
            status, response = self._call("put_records", StreamName=name, Records=part)
            if status != 200:
                return status, response
            if not merged:
                merged = response
            else:
                merged["FailedRecordCount"] += response["FailedRecordCount"]
                merged["Records"] += response["Records"]
        return 200, merged
