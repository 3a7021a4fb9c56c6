"""The project's exceptions: one small hierarchy, so that a command can print one clear line and exit."""

from __future__ import annotations

import re

# A JVM exception in an error's text: "org.x.YException: message", after ": " or "Caused by: ".
_JVM_ERROR = re.compile(
    r"^(?::\s*|Caused by:\s*)?((?:[a-z_$][\w$]*\.)+([A-Z][\w$]*(?:Exception|Error))): (.+)$"
)
# Wrappers that say where an error surfaced, not what it was.
_WRAPPERS = ("Py4JJavaError", "StreamingQueryException", "PythonException")


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose."""

    exit_code = 1


class ConfigError(PipelineError):
    """Bad arguments or configuration, found before anything was written."""

    exit_code = 2


class InputError(PipelineError):
    """Input that cannot be read at all (a missing raw root, an unreadable location)."""

    exit_code = 3


class LakeBusyError(PipelineError):
    """Another run holds the lake (or wrote the same table at the same moment); nothing was written."""

    exit_code = 4


def one_line(error: BaseException) -> str:
    """An unexpected error as one line: the first JVM exception its text names, and the root cause if another.

    A failure inside a streaming query reaches Python as a StreamingQueryException whose first line names only
    the query; the exception that stopped it, and what caused that, are further down its text.
    """
    text = str(error)
    found = [
        (m.group(2), m.group(3).strip())
        for m in map(_JVM_ERROR.match, text.splitlines())
        if m and m.group(2) not in _WRAPPERS
    ]
    if not found:
        first = (text.strip().splitlines() or [""])[0]
        return f"{type(error).__name__}: {first}" if first else type(error).__name__
    (name, message), (root, cause) = found[0], found[-1]
    line = f"{name}: {message}"
    return line if (root, cause) == (name, message) else f"{line} (cause: {root}: {cause})"
