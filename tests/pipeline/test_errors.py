"""Unexpected errors as one line: the JVM exception inside a wrapper, and its root cause."""

from pinterest_pipeline.errors import one_line

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
