"""Which session `get_spark` starts, from the environment alone: the runtime's inside Databricks, a Connect
session when `SPARK_REMOTE` names a server (even with a workspace configured), databricks-connect's when a
workspace is configured and databricks-connect is installed, else local Spark. The sessions themselves are
stand-ins here (this machine reaches no workspace); the choice is the code's own."""

from __future__ import annotations

import sys
import types

import pytest

from pinterest_pipeline import session

WORKSPACE_VARIABLES = ("DATABRICKS_HOST", "DATABRICKS_CONFIG_PROFILE", "DATABRICKS_RUNTIME_VERSION")


class Builder:
    """A session builder that says which session it made."""

    def __init__(self, kind: str):
        self.kind = kind

    def remote(self, url: str) -> Builder:
        return Builder(f"{self.kind} {url}")

    def master(self, master: str) -> Builder:
        return Builder(f"{self.kind} {master}")

    def getOrCreate(self):
        return types.SimpleNamespace(kind=self.kind, conf=types.SimpleNamespace(set=lambda *_: None))


@pytest.fixture
def sessions(monkeypatch):
    """Stand-ins for PySpark's, databricks-connect's and the local builders; a clean environment."""
    for name in (*WORKSPACE_VARIABLES, "SPARK_REMOTE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(session, "SparkSession", types.SimpleNamespace(builder=Builder("pyspark")))
    monkeypatch.setattr(session, "_local_builder", lambda app, home=None: Builder("local"))
    monkeypatch.setattr(session, "_with_stderr_to", lambda path, start: start())
    connect = types.ModuleType("databricks.connect")
    connect.DatabricksSession = types.SimpleNamespace(builder=Builder("databricks-connect"))
    monkeypatch.setitem(sys.modules, "databricks", types.ModuleType("databricks"))
    monkeypatch.setitem(sys.modules, "databricks.connect", connect)
    return monkeypatch


def kind() -> str:
    return session.get_spark("pinterest-test").kind


def test_inside_a_databricks_runtime_the_runtimes_session(sessions):
    sessions.setenv("DATABRICKS_RUNTIME_VERSION", "17.3")
    sessions.setenv("DATABRICKS_HOST", "https://example.cloud.databricks.com")
    assert kind() == "pyspark"


@pytest.mark.parametrize("variable", ["DATABRICKS_HOST", "DATABRICKS_CONFIG_PROFILE"])
def test_a_configured_workspace_takes_databricks_connect(sessions, variable):
    sessions.setenv(variable, "my-workspace")
    assert kind() == "databricks-connect"


def test_without_databricks_connect_installed_a_workspace_variable_runs_locally(sessions):
    sessions.setenv("DATABRICKS_HOST", "https://example.cloud.databricks.com")
    sessions.setitem(sys.modules, "databricks.connect", None)  # `import databricks.connect` fails
    sessions.setenv("PINTEREST_SPARK_MASTER", "local[2]")
    assert kind() == "local local[2]"


def test_spark_remote_wins_over_a_configured_workspace(sessions):
    sessions.setenv("DATABRICKS_CONFIG_PROFILE", "my-workspace")
    sessions.setenv("SPARK_REMOTE", "sc://localhost:15002")
    assert kind() == "pyspark sc://localhost:15002"
    assert not session.uses_databricks_connect(types.SimpleNamespace())


def test_nothing_configured_is_classic_local_spark(sessions):
    sessions.setenv("PINTEREST_SPARK_MASTER", "local[2]")
    assert kind() == "local local[2]"
