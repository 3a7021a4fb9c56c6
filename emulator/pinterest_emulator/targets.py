"""Where the emulator sends records: console, Kafka REST proxy, API Gateway's Kinesis proxy, Kinesis itself.

Every target delivers one batch of records of one entity and says how many were acknowledged. Connection errors,
5xx, 429, Kinesis throttling (a 400 ProvisionedThroughputExceededException, also through the Kinesis proxy) and
partial failures are retried with exponential backoff (tenacity); after a partial failure only the
records that failed are sent again. A 4xx other than 429 means the request itself is wrong: it is not retried and
stops the run (`Rejected`); so do records still unacknowledged after the last attempt (`GaveUp`, or
`Unreachable` when the last attempt could not even connect: refused, unknown host, connect timeout).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pinterest_pipeline.names import DEFAULT_PREFIX, stream, topic

if TYPE_CHECKING:
    from pinterest_emulator.config import PostConfig

KAFKA_JSON = "application/vnd.kafka.json.v2+json"
KINESIS_MAX_RECORDS = 500
# Kinesis errors that mean "slow down": retried, like a 429, even though Kinesis answers them with a 400
THROTTLING = ("ProvisionedThroughputExceededException", "ThrottlingException")


class Retryable(Exception):
    """A failure worth retrying (connection error, 5xx, 429)."""


class CannotConnect(Retryable):
    """No connection could be made (refused, unknown host, connect timeout); worth retrying."""


class PartialFailure(Exception):
    """Some records of a batch were not accepted; they are retried alone."""


class Rejected(Exception):
    """The receiver refused the request (4xx other than 429): retrying cannot help."""


class GaveUp(Exception):
    """Records were still not acknowledged after the last attempt."""


class Unreachable(GaveUp):
    """The last attempt, like the ones before it, could not connect to the receiver at all."""


@dataclass
class Delivery:
    """Counters a target keeps over a run."""

    acknowledged: int = 0
    failed: int = 0
    requests: int = 0
    resent: int = 0
    last_error: str | None = None


def partition_key(entity: str, record: dict) -> str:
    """The Kinesis partition key of a record: its index, so one post's records spread over shards alike."""
    return str(record["index"] if entity == "pin" else record["ind"])


class Target:
    """Base class: `deliver` wraps `_send_once` (which returns the positions of the records that failed)."""

    def __init__(self, max_attempts: int = 8, backoff: float = 0.2, max_backoff: float = 5.0):
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.stats = Delivery()

    def _send_once(self, entity: str, records: list[dict]) -> list[int]:
        raise NotImplementedError

    def deliver(self, entity: str, records: list[dict]) -> None:
        """Send records, retrying failures; updates self.stats.

        Raises Rejected when the receiver refuses, GaveUp when records are still unacknowledged after the
        last attempt (the run stops rather than read events it cannot deliver).
        """
        from tenacity import (
            Retrying,
            retry_if_exception_type,
            stop_after_attempt,
            wait_exponential,
            wait_random,
        )

        pending = list(records)
        first = True

        def attempt() -> None:
            nonlocal pending, first
            if not first:
                self.stats.resent += len(pending)
            first = False
            self.stats.requests += 1
            try:
                failed = self._send_once(entity, pending)
            except Retryable as exc:
                self.stats.last_error = str(exc)
                raise
            pending = [pending[i] for i in failed]
            if pending:
                self.stats.last_error = f"{len(pending)} records of a batch were not accepted"
                raise PartialFailure(self.stats.last_error)

        retrying = Retrying(
            retry=retry_if_exception_type((Retryable, PartialFailure)),
            wait=wait_exponential(multiplier=self.backoff, max=self.max_backoff)
            + wait_random(0, self.backoff),
            stop=stop_after_attempt(self.max_attempts),
            reraise=True,
        )
        try:
            retrying(attempt)
        except (Retryable, PartialFailure) as exc:
            gave_up = Unreachable if isinstance(exc, CannotConnect) else GaveUp
            raise gave_up(f"gave up after {self.max_attempts} attempts: {exc}") from exc
        finally:
            self.stats.failed += len(pending)
            self.stats.acknowledged += len(records) - len(pending)

    def close(self) -> None:
        """Release connections."""


class ConsoleTarget(Target):
    """JSON lines on a stream: {"topic": "<prefix>.<entity>", "value": record}."""

    def __init__(self, out=None, topic_prefix: str = DEFAULT_PREFIX, **kwargs):
        super().__init__(**kwargs)
        self.out = out or sys.stdout
        self.topic_prefix = topic_prefix

    def _send_once(self, entity, records):
        for record in records:
            self.out.write(
                json.dumps({"topic": topic(self.topic_prefix, entity), "value": record}, ensure_ascii=False)
                + "\n"
            )
        self.out.flush()
        return []


class HttpTarget(Target):
    """Shared HTTP plumbing: a keep-alive session, the API key header, status classification."""

    def __init__(self, gateway: str, api_key: str | None = None, timeout: float = 30.0, **kwargs):
        import requests

        super().__init__(**kwargs)
        self.gateway = gateway.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        if api_key:
            self.session.headers["x-api-key"] = api_key

    def _request(self, method: str, path: str, body: dict, content_type: str) -> dict:
        """One request; raises Retryable or Rejected, returns the JSON body of a 2xx answer."""
        import requests

        url = self.gateway + path
        try:
            response = self.session.request(
                method,
                url,
                data=json.dumps(body, ensure_ascii=False).encode(),
                headers={"Content-Type": content_type},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            reason = _connect_failure(exc)
            if reason is not None:
                raise CannotConnect(f"{method} {url}: cannot connect: {reason}") from exc
            raise Retryable(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise Retryable(f"{method} {url}: HTTP {response.status_code}")
        if response.status_code == 400 and _error_type(response) in THROTTLING:
            # the Kinesis proxy passes Kinesis' throttling errors on with their status (400)
            raise Retryable(f"{method} {url}: HTTP 400 {_error_type(response)}")
        if response.status_code >= 400:
            text = " ".join(response.text.split())[:200]
            raise Rejected(f"{method} {url}: HTTP {response.status_code}: {text}")
        try:
            return response.json() if response.content else {}
        except ValueError as exc:
            raise Retryable(f"{method} {url}: answer is not JSON") from exc

    def close(self):
        self.session.close()


class KafkaRestTarget(HttpTarget):
    """Confluent REST Proxy v2: POST /topics/<prefix>.<entity> with {"records": [{"value": ...}, ...]}."""

    def __init__(self, gateway: str, topic_prefix: str = DEFAULT_PREFIX, **kwargs):
        super().__init__(gateway, **kwargs)
        self.topic_prefix = topic_prefix

    def _send_once(self, entity, records):
        answer = self._request(
            "POST",
            f"/topics/{topic(self.topic_prefix, entity)}",
            {"records": [{"value": r} for r in records]},
            KAFKA_JSON,
        )
        offsets = answer.get("offsets")
        if not isinstance(offsets, list) or len(offsets) != len(records):
            raise Retryable("REST proxy answer has no offset per record")
        return [i for i, o in enumerate(offsets) if o.get("error_code") is not None or o.get("error")]


class KinesisProxyTarget(HttpTarget):
    """API Gateway's Kinesis proxy: PUT /streams/<name>/record (single, as the course did) or /records."""

    def __init__(self, gateway: str, stream_prefix: str = DEFAULT_PREFIX, single: bool = False, **kwargs):
        super().__init__(gateway, **kwargs)
        self.stream_prefix = stream_prefix
        self.single = single

    def _send_once(self, entity, records):
        name = stream(self.stream_prefix, entity)
        if self.single:
            if len(records) != 1:
                raise ValueError("single-record mode sends one record per request")
            self._request(
                "PUT",
                f"/streams/{name}/record",
                {"StreamName": name, "Data": records[0], "PartitionKey": partition_key(entity, records[0])},
                "application/json",
            )
            return []
        answer = self._request(
            "PUT",
            f"/streams/{name}/records",
            {
                "StreamName": name,
                "Records": [{"Data": r, "PartitionKey": partition_key(entity, r)} for r in records],
            },
            "application/json",
        )
        return _failed_positions(answer, len(records))


def _connect_failure(exc: Exception) -> str | None:
    """Why no connection could be made (refused, unknown host, connect timeout), or None if one was made.

    A connection made and then dropped (the server hung up, reset it mid-answer) is not one of these: the
    receiver is there, only its answer was lost.
    """
    import requests
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    if not isinstance(exc, requests.ConnectionError):
        return None
    cause = exc.args[0] if exc.args else None
    cause = getattr(cause, "reason", cause)  # urllib3's MaxRetryError carries what stopped the connection
    return str(cause) if isinstance(cause, (ConnectTimeoutError, NewConnectionError)) else None


def _error_type(response) -> str | None:
    """The `__type` of a Kinesis error body, if the answer is one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("__type") if isinstance(body, dict) else None


def _failed_positions(answer: dict, expected: int) -> list[int]:
    """Positions of the failed records of a PutRecords answer."""
    results = answer.get("Records")
    if not isinstance(results, list) or len(results) != expected:
        raise Retryable("PutRecords answer has no result per record")
    return [i for i, r in enumerate(results) if r.get("ErrorCode")]


class KinesisDirectTarget(Target):
    """boto3 put_records to any Kinesis endpoint (AWS, or a local one such as moto's server)."""

    def __init__(
        self,
        stream_prefix: str = DEFAULT_PREFIX,
        endpoint_url: str | None = None,
        region: str | None = None,
        **kwargs,
    ):
        import boto3
        from botocore.config import Config

        super().__init__(**kwargs)
        self.stream_prefix = stream_prefix
        # tenacity does the retrying, so botocore must not retry on its own underneath: one attempt in all
        # (botocore's `max_attempts` counts retries after the first; `total_max_attempts` counts them all).
        self.client = boto3.client(
            "kinesis",
            endpoint_url=endpoint_url,
            region_name=region or "us-east-1",
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
        )

    def _send_once(self, entity, records):
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectTimeoutError,
            EndpointConnectionError,
            HTTPClientError,
        )
        from botocore.exceptions import ConnectionError as BotoConnectionError

        name = stream(self.stream_prefix, entity)
        try:
            answer = self.client.put_records(
                StreamName=name,
                Records=[
                    {
                        "Data": json.dumps(r, ensure_ascii=False).encode(),
                        "PartitionKey": partition_key(entity, r),
                    }
                    for r in records
                ],
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in THROTTLING or status >= 500:
                raise Retryable(f"put_records {name}: {code}") from exc
            raise Rejected(f"put_records {name}: {code}: {exc}") from exc
        except (EndpointConnectionError, ConnectTimeoutError) as exc:
            raise CannotConnect(f"put_records {name}: cannot connect: {exc}") from exc
        except (BotoConnectionError, HTTPClientError) as exc:
            raise Retryable(f"put_records {name}: {exc}") from exc
        except BotoCoreError as exc:  # no credentials, no region, bad parameters: retrying cannot help
            raise Rejected(f"put_records {name}: {exc}") from exc
        return _failed_positions(answer, len(records))


def make_target(config: PostConfig, out=None) -> Target:
    """The target `config` names (console, kafka-rest, kinesis, kinesis-direct); console writes to `out`.

    The Kinesis proxy target sends one record per request (PutRecord, as the course did) when the run reads
    one event at a time.
    """
    common = {"max_attempts": config.max_attempts, "backoff": config.backoff}
    if config.target == "console":
        return ConsoleTarget(out=out, topic_prefix=config.topic_prefix, **common)
    if config.target == "kafka-rest":
        return KafkaRestTarget(
            config.gateway, topic_prefix=config.topic_prefix, api_key=config.api_key, **common
        )
    if config.target == "kinesis":
        return KinesisProxyTarget(
            config.gateway,
            stream_prefix=config.stream_prefix,
            api_key=config.api_key,
            single=config.events_per_batch == 1,
            **common,
        )
    if config.target == "kinesis-direct":
        return KinesisDirectTarget(
            stream_prefix=config.stream_prefix,
            endpoint_url=config.kinesis_endpoint,
            region=config.region,
            **common,
        )
    raise ValueError(f"unknown target {config.target!r}")
