"""Source database seeding, the posting emulator and the local gateway (the stand-ins for RDS, API Gateway,
the Kafka REST proxy with Kafka Connect's S3 sink, and the Kinesis proxy)."""

from __future__ import annotations

import os

# The API key of `post --api-key` and `gateway --api-key`, read from the environment when the flag is not
# given, so that it need not appear in a process list (`ps` shows every argument).
KEY_VARIABLE = "PINTEREST_API_KEY"


def resolve_api_key(flag: str | None) -> str | None:
    """The API key in use: the flag's value if given, else $PINTEREST_API_KEY (an empty value is none)."""
    if flag is not None:
        return flag
    return os.environ.get(KEY_VARIABLE) or None
