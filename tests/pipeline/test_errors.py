"""The command-line convention of errors.py: every failure one line and the exit code of its kind; unexpected
errors as one line (the JVM exception inside a wrapper, and its root cause)."""

import subprocess
import sys
from pathlib import Path

import pytest

from pinterest_pipeline.errors import (
    CommandLineParser,
    ConfigError,
    InputError,
    LakeBusyError,
    ServiceError,
    one_line,
    run_command,
)

WRAPPED = """[STREAM_FAILED] Query [id = 1, runId = 2] terminated with exception: An error occurred. Reason:
Traceback (most recent call last):
  File "x.py", line 1, in call
py4j.protocol.Py4JJavaError: An error occurred while calling o213.save.
: org.apache.spark.sql.delta.DeltaIOException: [DELTA_CANNOT_CREATE_LOG_PATH] Cannot create /l/_delta_log
\tat org.apache.spark.sql.delta.DeltaErrorsBase.cannotCreateLogPathException(DeltaErrors.scala:1711)
Caused by: java.io.IOException: disk says no
\tat org.apache.hadoop.fs.X.y(X.java:1)
Caused by: org.apache.hadoop.fs.ParentNotDirectoryException: Parent path is not a directory: /l
"""


class StreamingQueryException(Exception):
    pass


def test_the_exception_inside_the_wrapper_and_its_root_cause():
    assert one_line(StreamingQueryException(WRAPPED)) == (
        "DeltaIOException: [DELTA_CANNOT_CREATE_LOG_PATH] Cannot create /l/_delta_log "
        "(cause: ParentNotDirectoryException: Parent path is not a directory: /l)"
    )


def test_a_plain_error_keeps_its_type_and_first_line():
    assert one_line(ValueError("bad value\nmore")) == "ValueError: bad value"
    assert one_line(KeyError()) == "KeyError"


def test_one_jvm_exception_is_not_repeated_as_its_own_cause():
    error = RuntimeError("x\n: java.lang.IllegalStateException: no way\n\tat a.b(c)")
    assert one_line(error) == "IllegalStateException: no way"


def _raise(error: BaseException):
    def body() -> int:
        raise error

    return body


@pytest.mark.parametrize(
    "error, code",
    [
        (ConfigError("bad --x"), 2),
        (InputError("raw root not found: /r"), 3),
        (LakeBusyError("another batch run is using the lake"), 4),
        (ServiceError("Kinesis endpoint unreachable:\n  refused"), 5),
        (KeyboardInterrupt(), 130),
        (RuntimeError("boom\nat line 2"), 1),
    ],
)
def test_each_kind_of_failure_is_one_line_and_its_exit_code(capsys, error, code):
    assert run_command("tool cmd", _raise(error)) == code
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("tool cmd: ")


def test_describe_turns_an_unexpected_error_into_a_kind(capsys):
    def describe(error: Exception):
        return ServiceError(f"unreachable: {error}") if isinstance(error, ConnectionRefusedError) else None

    assert run_command("tool cmd", _raise(ConnectionRefusedError("refused")), describe) == 5
    assert capsys.readouterr().err == "tool cmd: unreachable: refused\n"
    assert run_command("tool cmd", _raise(ValueError("odd")), describe) == 1
    assert capsys.readouterr().err == "tool cmd: ValueError: odd\n"


def test_a_success_passes_its_exit_code_through(capsys):
    assert run_command("tool cmd", lambda: 0) == 0
    assert capsys.readouterr().err == ""


def test_a_usage_error_is_one_line_naming_the_subcommand_and_exit_code_2(capsys):
    parser = CommandLineParser(prog="tool")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("cmd").add_argument("--need", required=True)
    with pytest.raises(SystemExit) as stopped:
        parser.parse_args(["cmd"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err == (
        "tool cmd: the following arguments are required: --need (see tool cmd --help)\n"
    )


REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "argv, prefix",
    [
        (["-m", "pinterest_pipeline.cli", "batch", "--lake", "x"], "pinterest-pipeline batch: "),
        (["-m", "pinterest_emulator.cli", "post", "--count", "many"], "pinterest-emulator post: "),
        ([str(REPO / "infra" / "provision.py"), "apply", "--bogus"], "provision.py: "),
    ],
)
def test_the_three_command_lines_answer_a_usage_error_alike(argv, prefix, tmp_path):
    done = subprocess.run(
        [sys.executable, *argv], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(prefix), done.stderr
    assert done.stderr.rstrip().endswith("--help)")
