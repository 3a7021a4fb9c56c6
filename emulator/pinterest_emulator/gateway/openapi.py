"""The OpenAPI 3.0 document of every gateway route (served at `GET /openapi.json`)."""

from __future__ import annotations

from .kafka_rest import PRODUCE_CONTENT_TYPE, RESPONSE_CONTENT_TYPE
from .kinesis import LIST_STREAMS_DEFAULT, LIST_STREAMS_MAX_LIMIT, MAX_PUT_RECORDS, MAX_SHARDS

_PROXY_ERROR = {
    "type": "object",
    "required": ["error_code", "message"],
    "properties": {"error_code": {"type": "integer"}, "message": {"type": "string"}},
}
_GATEWAY_ERROR = {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}}
_KINESIS_ERROR = {
    "type": "object",
    "required": ["message"],
    "properties": {"__type": {"type": "string"}, "message": {"type": "string"}},
}
_TOPIC = {
    "name": "topic",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,249}$"},
}
_STREAM = {
    "name": "name",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[a-zA-Z0-9_.-]{1,128}$"},
}
_PARTITION_KEY = {"type": "string", "minLength": 1, "maxLength": 256}
_NOT_NULL = [{"type": t} for t in ("object", "array", "string", "number", "boolean")]
_DATA = {"description": "any JSON value except null; forwarded as its UTF-8 JSON text", "anyOf": _NOT_NULL}


def _json(schema: dict, media_type: str = "application/json") -> dict:
    return {"content": {media_type: {"schema": schema}}}


def _responses(
    ok: dict, errors: dict[str, str], error_schema: dict, ok_type: str = "application/json"
) -> dict:
    responses = {"200": {"description": "OK", **_json(ok, ok_type)}}
    responses.update({code: {"description": text, **_json(error_schema)} for code, text in errors.items()})
    responses["403"] = {
        "description": "missing or wrong x-api-key (when one is configured)",
        **_json(_GATEWAY_ERROR),
    }
    responses["413"] = {"description": "request body over API Gateway's 10 MB limit", **_json(_GATEWAY_ERROR)}
    return responses


def _kinesis(summary: str, ok: dict, body: dict | None = None, params: list | None = None) -> dict:
    operation = {
        "summary": summary,
        "parameters": params or [],
        "responses": _responses(
            ok,
            {
                "400": "invalid request (not JSON, as for produce), or Kinesis' error (ResourceNotFoundException...)",
                "502": "the Kinesis endpoint cannot be reached",
            },
            _KINESIS_ERROR,
        ),
    }
    if body:
        operation["requestBody"] = {"required": True, **_json(body)}
    return operation


def document() -> dict:
    """The OpenAPI document."""
    offsets = {
        "type": "object",
        "required": ["offsets"],
        "properties": {
            "key_schema_id": {"type": "integer", "nullable": True},
            "value_schema_id": {"type": "integer", "nullable": True},
            "offsets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        # null, with error_code and error, for a record the producer refused
                        "partition": {"type": "integer", "nullable": True},
                        "offset": {"type": "integer", "nullable": True},
                        "error_code": {"type": "integer", "nullable": True},
                        "error": {"type": "string", "nullable": True},
                    },
                },
            },
        },
    }
    produce_body = {
        "type": "object",
        "required": ["records"],
        "properties": {
            "records": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["value"],
                    "properties": {
                        "key": {},
                        "value": {"anyOf": _NOT_NULL},
                        "partition": {"type": "integer", "minimum": 0},
                    },
                },
            }
        },
    }
    topic_info = {
        "type": "object",
        "required": ["name", "partitions"],
        "properties": {
            "name": {"type": "string"},
            "configs": {"type": "object"},
            "partitions": {"type": "array"},
        },
    }
    record = {
        "type": "object",
        "required": ["Data", "PartitionKey"],
        "properties": {"StreamName": {"type": "string"}, "Data": _DATA, "PartitionKey": _PARTITION_KEY},
    }

    def record_list(data: str, key: str) -> dict:
        return {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_PUT_RECORDS,
            "items": {
                "type": "object",
                "required": [data, key],
                "properties": {data: _DATA, key: _PARTITION_KEY},
            },
        }

    records = {
        "description": "AWS's Records, or the course seed's records (data, partition-key); not both, not mixed",
        "oneOf": [
            {
                "type": "object",
                "required": ["Records"],
                "properties": {
                    "StreamName": {"type": "string"},
                    "Records": record_list("Data", "PartitionKey"),
                },
            },
            {
                "type": "object",
                "required": ["records"],
                "properties": {
                    "StreamName": {"type": "string"},
                    "records": record_list("data", "partition-key"),
                },
            },
        ],
    }
    list_params = [
        {
            "name": "Limit",
            "in": "query",
            "description": f"page size (default {LIST_STREAMS_DEFAULT}; above {LIST_STREAMS_DEFAULT}, "
            f"{LIST_STREAMS_DEFAULT} are returned)",
            "schema": {"type": "integer", "minimum": 1, "maximum": LIST_STREAMS_MAX_LIMIT},
        },
        {
            "name": "ExclusiveStartStreamName",
            "in": "query",
            "description": "list the names after this one (the last name of the previous page)",
            "schema": _STREAM["schema"],
        },
    ]
    proxy_errors = {
        "404": "topic (40401) or partition (40402) not found",
        "415": "unsupported content type",
        "400": "not JSON: malformed, not UTF-8, NaN or Infinity, a number out of range, nested too deeply",
        "422": "missing or invalid records (a lone surrogate escape)",
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Pinterest pipeline local gateway",
            "version": "1.0.0",
            "description": "Kafka REST Proxy v2 (records land as Kafka Connect S3 sink files) and the "
            "API Gateway Kinesis proxy.",
        },
        "components": {
            "securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}
        },
        "security": [{"api_key": []}],
        # every route is served at the root and under a stage prefix, as an API Gateway invoke URL has one
        "servers": [
            {"url": "/"},
            {
                "url": "/{stage}",
                "description": "any stage, or only the gateway's --stage",
                "variables": {"stage": {"default": "prod"}},
            },
        ],
        "paths": {
            "/openapi.json": {
                "get": {
                    "summary": "this document",
                    "security": [],
                    "responses": {"200": {"description": "OK", **_json({"type": "object"})}},
                }
            },
            "/topics": {
                "get": {
                    "summary": "list topics",
                    "responses": _responses(
                        {"type": "array", "items": {"type": "string"}},
                        {},
                        _PROXY_ERROR,
                        RESPONSE_CONTENT_TYPE,
                    ),
                }
            },
            "/topics/{topic}": {
                "parameters": [_TOPIC],
                "get": {
                    "summary": "topic metadata",
                    "responses": _responses(
                        topic_info, {"404": "topic not found (40401)"}, _PROXY_ERROR, RESPONSE_CONTENT_TYPE
                    ),
                },
                "post": {
                    "summary": "produce JSON records",
                    "requestBody": {"required": True, **_json(produce_body, PRODUCE_CONTENT_TYPE)},
                    "responses": _responses(offsets, proxy_errors, _PROXY_ERROR, RESPONSE_CONTENT_TYPE),
                },
            },
            "/streams": {
                "get": _kinesis(
                    "ListStreams",
                    {
                        "type": "object",
                        "properties": {
                            "HasMoreStreams": {"type": "boolean"},
                            "StreamNames": {"type": "array", "items": {"type": "string"}},
                            "StreamSummaries": {"type": "array"},
                        },
                    },
                    params=list_params,
                )
            },
            "/streams/{name}": {
                "parameters": [_STREAM],
                "post": _kinesis(
                    "CreateStream",
                    {"type": "object"},
                    {
                        "type": "object",
                        "properties": {
                            "ShardCount": {"type": "integer", "minimum": 1, "maximum": MAX_SHARDS}
                        },
                    },
                ),
                "get": _kinesis("DescribeStream", {"type": "object"}),
                "delete": _kinesis("DeleteStream", {"type": "object"}),
            },
            "/streams/{name}/record": {
                "parameters": [_STREAM],
                "put": _kinesis(
                    "PutRecord",
                    {
                        "type": "object",
                        "properties": {"SequenceNumber": {"type": "string"}, "ShardId": {"type": "string"}},
                    },
                    record,
                ),
            },
            "/streams/{name}/records": {
                "parameters": [_STREAM],
                "put": _kinesis(
                    "PutRecords",
                    {
                        "type": "object",
                        "properties": {
                            "FailedRecordCount": {"type": "integer"},
                            "Records": {"type": "array"},
                        },
                    },
                    records,
                ),
            },
        },
    }
