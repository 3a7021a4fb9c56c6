"""Fixtures of the bundle tests: sink files, and the lakes the batch notebook and the command line build from them."""

from __future__ import annotations

import pytest

from bundle_support import REPO, landing, run_notebook


@pytest.fixture(scope="session")
def batch_runs(spark, tmp_path_factory, monkeypatch_session):
    """The batch notebook and `pinterest-pipeline batch` run on the same sink files, into two lakes."""
    from pinterest_pipeline.cli import main

    root = tmp_path_factory.mktemp("batch_notebook")
    raw, notebook_lake, cli_lake = root / "raw", root / "notebook_lake", root / "cli_lake"
    landing(raw)
    monkeypatch_session.setenv("PINTEREST_WIDGET_RAW_ROOT", str(raw))
    monkeypatch_session.setenv("PINTEREST_WIDGET_LAKE", str(notebook_lake))
    shown = []
    namespace = run_notebook(REPO / "notebooks" / "batch.py", {"spark": spark, "display": shown.append})
    monkeypatch_session.delenv("PINTEREST_WIDGET_RAW_ROOT")
    monkeypatch_session.delenv("PINTEREST_WIDGET_LAKE")
    assert main(["batch", "--raw-root", str(raw), "--lake", str(cli_lake)]) == 0
    return {"raw": raw, "notebook_lake": notebook_lake, "cli_lake": cli_lake, "namespace": namespace, "shown": shown}


@pytest.fixture(scope="session")
def monkeypatch_session():
    """A monkeypatch for session-scoped fixtures."""
    with pytest.MonkeyPatch.context() as patch:
        yield patch
