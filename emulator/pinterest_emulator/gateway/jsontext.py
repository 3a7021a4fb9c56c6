"""Request bodies parsed as strict JSON, and values written back as UTF-8 JSON text: bad input is a ValueError.

Python's `json` module accepts more than JSON and fails in ways a server must not turn into a 500: it reads
`NaN` and `Infinity` (and writes them back, which is not JSON), turns `1e400` into an infinity, refuses an
integer of more than 4,300 digits with a ValueError that is not a JSONDecodeError, raises RecursionError on
deep nesting, and reads a lone surrogate (`"\\ud800"`) that cannot then be encoded as UTF-8. Here every one of
those is a `BadJson` (a ValueError) with a message for the client's 4xx answer.
"""

from __future__ import annotations

import json
import math


class BadJson(ValueError):
    """The text is not JSON the gateway can accept and write back; the message says why."""


def _constant(name: str):
    raise BadJson(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJson(f"number out of range: {text[:40]}")
    return value


_DECODER = json.JSONDecoder(parse_constant=_constant, parse_float=_float)


def loads(body: bytes):
    """Parse a request body (UTF-8, or UTF-16/32 as `json.loads` detects) as strict RFC 8259 JSON."""
    try:
        text = body.decode(json.detect_encoding(body))
    except UnicodeDecodeError as exc:
        raise BadJson(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    try:
        return _DECODER.decode(text)
    except BadJson:
        raise
    except json.JSONDecodeError as exc:
        raise BadJson(str(exc)) from None
    except RecursionError:
        raise BadJson("JSON nested too deeply") from None
    except ValueError as exc:  # an integer of more digits than int() converts
        raise BadJson(" ".join(str(exc).split(";")[0].split())) from None


def dumps(value) -> bytes:
    """A parsed value as compact UTF-8 JSON text, non-ASCII characters unescaped (as Kafka's JsonFormat)."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadJson("text is not valid Unicode (a lone surrogate escape such as \\ud800)") from None
    except RecursionError:
        raise BadJson("JSON nested too deeply") from None
