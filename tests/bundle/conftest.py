"""Fixtures of the bundle tests: sink files, and the lakes the batch notebook and the command line build from them."""

from __future__ import annotations

import json
import os

import pytest
from bundle_support import REPO, landing, posts, run_notebook

# moto accepts any credentials and boto3 needs some. Set at import, before the shared Spark session starts, so
# that Spark's Python workers (where the local Kinesis reader runs) inherit them (as tests/stream/conftest.py does).
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture(scope="session")
def batch_runs(spark, tmp_path_factory, monkeypatch_session):
    """The batch notebook and `pinterest-pipeline batch --compute serverless` run on the same sink files, into two
    lakes."""
    from pinterest_pipeline.cli import main

    root = tmp_path_factory.mktemp("batch_notebook")
    raw, notebook_lake, cli_lake = root / "raw", root / "notebook_lake", root / "cli_lake"
    landing(raw)
    monkeypatch_session.setenv("PINTEREST_WIDGET_RAW_ROOT", str(raw))
    monkeypatch_session.setenv("PINTEREST_WIDGET_LAKE", str(notebook_lake))
    # Every DataFrame.persist of the session's DataFrame class, per run: the notebook persists (classic compute),
    # the command line as the serverless task runs it must not.
    frame_class = type(spark.range(1))
    persist_calls: list[str] = []
    real_persist = frame_class.persist

    def spy(df, *args, **kwargs):
        persist_calls.append(run)
        return real_persist(df, *args, **kwargs)

    monkeypatch_session.setattr(frame_class, "persist", spy)
    shown = []
    run = "notebook"
    namespace = run_notebook(REPO / "notebooks" / "batch.py", {"spark": spark, "display": shown.append})
    monkeypatch_session.delenv("PINTEREST_WIDGET_RAW_ROOT")
    monkeypatch_session.delenv("PINTEREST_WIDGET_LAKE")
    run = "cli"
    assert main(["batch", "--raw-root", str(raw), "--lake", str(cli_lake), "--compute", "serverless"]) == 0
    monkeypatch_session.setattr(frame_class, "persist", real_persist)
    return {
        "persist_calls": persist_calls,
        "raw": raw,
        "notebook_lake": notebook_lake,
        "cli_lake": cli_lake,
        "namespace": namespace,
        "shown": shown,
    }


@pytest.fixture(scope="session")
def monkeypatch_session():
    """A monkeypatch for session-scoped fixtures."""
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="session")
def stream_runs(spark, tmp_path_factory, monkeypatch_session):
    """The stream notebook and `pinterest-pipeline stream` on the same Kinesis streams (moto), into two lakes."""
    import boto3
    from pinterest_emulator.local_kinesis import start_moto, stop_moto

    from pinterest_pipeline.cli import main

    root = tmp_path_factory.mktemp("stream_notebook")
    notebook_lake, cli_lake, prefix = root / "notebook_lake", root / "cli_lake", "nb"
    endpoint = start_moto()
    client = boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1")
    try:
        for entity, records in posts().items():
            client.create_stream(StreamName=f"{prefix}-{entity}", ShardCount=2)
            client.get_waiter("stream_exists").wait(
                StreamName=f"{prefix}-{entity}", WaiterConfig={"Delay": 0.1}
            )
            entries = [
                {"Data": (r if isinstance(r, str) else json.dumps(r)).encode(), "PartitionKey": str(n)}
                for n, r in enumerate(records)
            ]
            assert (
                client.put_records(StreamName=f"{prefix}-{entity}", Records=entries)["FailedRecordCount"] == 0
            )
        widgets = {
            "LAKE": notebook_lake,
            "KINESIS_ENDPOINT": endpoint,
            "STREAM_PREFIX": prefix,
            "AVAILABLE_NOW": "true",
        }
        for name, value in widgets.items():
            monkeypatch_session.setenv(f"PINTEREST_WIDGET_{name}", str(value))
        shown = []
        namespace = run_notebook(REPO / "notebooks" / "stream.py", {"spark": spark, "display": shown.append})
        for name in widgets:
            monkeypatch_session.delenv(f"PINTEREST_WIDGET_{name}")
        argv = [
            "stream",
            "--lake",
            str(cli_lake),
            "--kinesis-endpoint",
            endpoint,
            "--stream-prefix",
            prefix,
            "--available-now",
        ]
        assert main(argv) == 0
    finally:
        # moto's state is shared by every server in the process: leave no streams behind for other tests.
        for entity in posts():
            try:
                client.delete_stream(StreamName=f"{prefix}-{entity}", EnforceConsumerDeletion=True)
            except client.exceptions.ResourceNotFoundException:
                pass  # never created: the run stopped before
        stop_moto(endpoint)
    return {"notebook_lake": notebook_lake, "cli_lake": cli_lake, "namespace": namespace, "shown": shown}
