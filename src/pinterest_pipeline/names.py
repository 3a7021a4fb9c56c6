"""Every name the parts of the pipeline share, defined once: the entities, the Kafka topics and Kinesis streams
they travel on, the rules those names follow, and the lake's tables (docs/design.md, "Storage layout").

The emulator, the local gateway, the jobs and the provisioning script all import it, so it imports nothing but
the standard library.
"""

from __future__ import annotations

import re

ENTITIES = ("pin", "geo", "user")
DEFAULT_PREFIX = "pinterest"

# Kafka's legal topic names (kafka.common.internals.Topic: at most 249 of [a-zA-Z0-9._-], not "." or "..").
KAFKA_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
# Kinesis' stream names (the StreamName pattern of its API reference).
KINESIS_STREAM = re.compile(r"^[a-zA-Z0-9_.-]{1,128}$")
# A prefix the entity names are appended to: it starts with a letter or digit and stays a legal name once
# `.<entity>` or `-<entity>` is appended.
_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,122}$")


def topic(prefix: str, entity: str) -> str:
    """The Kafka topic of an entity: `<prefix>.<entity>`."""
    return f"{prefix}.{entity}"


def stream(prefix: str, entity: str) -> str:
    """The Kinesis stream of an entity: `<prefix>-<entity>`."""
    return f"{prefix}-{entity}"


def valid_topic(name: str) -> bool:
    """Kafka's rule for a topic's name."""
    return bool(KAFKA_TOPIC.match(name)) and name not in (".", "..")


def valid_stream(name: str) -> bool:
    """Kinesis' rule for a stream's name."""
    return bool(KINESIS_STREAM.match(name))


def prefix_problem(prefix: str | None, kind: str) -> str | None:
    """Why `prefix` cannot name an entity's topic or stream (`kind`: "topic" or "stream"), or None."""
    if not prefix or not _PREFIX.match(prefix):
        return f"invalid {kind} prefix {prefix!r}: letters, digits, '.', '_' and '-' only (at most 123)"
    return None


# The lake's tables by logical name, `<layer>/<name>`; DeltaStore maps a name to a path or a catalog table.
def bronze(entity: str) -> str:
    """Raw records as ingested."""
    return f"bronze/{entity}"


def silver(entity: str) -> str:
    """Cleaned records, one per ind."""
    return f"silver/{entity}"


def silver_order(entity: str) -> str:
    """The Kafka position of the record each silver row was cleaned from: what an incremental run compares a
    re-sent post with (the first record of a post, in Kafka order, wins)."""
    return f"silver_order/{entity}"


def batch_progress() -> str:
    """How far the batch job's runs brought each entity's derived tables (a bronze ingest time per run)."""
    return "progress/batch"


def quarantine(entity: str) -> str:
    """Records the batch job rejected, with their reasons."""
    return f"quarantine/{entity}"


def gold(insight: str) -> str:
    """One of the nine insights."""
    return f"gold/{insight}"


def stream_table(entity: str) -> str:
    """Cleaned streaming records, one per ind."""
    return f"stream/{entity}"


def stream_quarantine(entity: str) -> str:
    """Streaming records rejected, with their reasons."""
    return f"stream_quarantine/{entity}"


def metric(name: str) -> str:
    """A real-time metric's windows."""
    return f"stream/metrics/{name}"


def checkpoint(query: str) -> str:
    """A streaming query's checkpoint folder, under the lake root."""
    return f"_checkpoints/{query}"
