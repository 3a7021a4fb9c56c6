"""The project's exceptions and its command-line convention, shared by its three command lines
(`pinterest-pipeline`, `pinterest-emulator`, `infra/provision.py`).

A failing command prints one line on stderr, `<program> <command>: <what went wrong>`, and exits with the code
of its kind of failure:

    1  the run failed (an unexpected error; a partial failure the summary above it counts)
    2  bad arguments or configuration, found before anything was done
    3  input that cannot be read (a missing raw root, an empty or missing source table)
    4  the lake is busy: another run holds it
    5  a service the command needs cannot be reached (database, gateway, Kinesis, AWS)
  130  interrupted (Ctrl-C)

Set PINTEREST_DEBUG=1 to see the traceback of an unexpected error as well. This module imports nothing but the
standard library, so every command line can use it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from collections.abc import Callable

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


class ServiceError(PipelineError):
    """A service the command needs cannot be reached: a database, the gateway, Kinesis, an AWS endpoint."""

    exit_code = 5


INTERRUPTED = 130


class CommandLineParser(argparse.ArgumentParser):
    """argparse with a usage error as one line, `<program> <command>: <message> (see --help)`, exit code 2."""

    def error(self, message: str):
        self.exit(ConfigError.exit_code, f"{self.prog}: {message} (see {self.prog} --help)\n")


def run_command(
    prog: str, body: Callable[[], int], describe: Callable[[Exception], PipelineError | None] | None = None
) -> int:
    """Run a command's body and return its exit code; a failure becomes one line on stderr and its code.

    `describe` may turn an unexpected exception into one of the kinds above (a refused connection into a
    ServiceError, say); what it leaves is reported by `one_line` with exit code 1.
    """
    try:
        return body()
    except PipelineError as error:
        return fail(prog, str(error), error.exit_code)
    except KeyboardInterrupt:
        return fail(prog, "interrupted", INTERRUPTED)
    except Exception as error:  # noqa: BLE001 - the last line of defence of a command-line tool
        if os.environ.get("PINTEREST_DEBUG"):
            traceback.print_exc()
        known = describe(error) if describe is not None else None
        if known is not None:
            return fail(prog, str(known), known.exit_code)
        return fail(prog, one_line(error), PipelineError.exit_code)


def fail(prog: str, message: str, code: int) -> int:
    """Print `prog: message` as one line on stderr; returns `code`."""
    text = " ".join(message.split()) or "failed"
    print(f"{prog}: {text}", file=sys.stderr)
    return code


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
