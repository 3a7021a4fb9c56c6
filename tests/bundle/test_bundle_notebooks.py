"""The notebooks: Databricks source format, and run locally they build what the command line builds."""

from __future__ import annotations

import ast
import sys

import pytest
from bundle_support import CELL_SEPARATOR, REPO, lake_tables, notebook_cells, run_notebook

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.py"))


def test_the_three_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == ["batch.py", "explore.py", "stream.py"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_in_databricks_source_format(path):
    cells = notebook_cells(path)
    assert len(cells) >= 3
    for number, cell in enumerate(cells, start=1):
        ast.parse(cell, filename=f"{path.name}[cell {number}]")
        assert CELL_SEPARATOR not in cell
    # A markdown cell first: every line of it is a MAGIC %md line, so Databricks renders it as text.
    assert cells[0].splitlines()[0] == "# MAGIC %md"
    assert all(line.startswith("# MAGIC") for line in cells[0].splitlines())


def test_batch_notebook_builds_the_same_tables_as_the_command_line(batch_runs):
    notebook, cli = lake_tables(batch_runs["notebook_lake"]), lake_tables(batch_runs["cli_lake"])
    layers = {name.split("/")[0] for name in cli}
    assert {"bronze", "silver", "quarantine", "gold"} <= layers
    assert sorted(notebook) == sorted(cli)
    for name in cli:
        assert notebook[name] == cli[name], name
    assert len(cli["silver/pin"]) == 24 and len(cli["quarantine/pin"]) == 2
    assert all(cli[name] for name in cli if name.startswith("gold/") and "most_followed_country" not in name)


def test_batch_notebook_reports_and_displays_its_run(batch_runs):
    report = batch_runs["namespace"]["report"]
    assert report.rebuilt
    assert (
        report.entities["pin"].read,
        report.entities["pin"].cleaned,
        report.entities["pin"].quarantined,
    ) == (27, 24, 2)
    entities, gold = batch_runs["shown"]
    assert {r["entity"]: r["read"] for r in entities.collect()} == {"pin": 27, "geo": 26, "user": 25}
    assert {r["gold_table"]: r["rows"] for r in gold.collect()} == report.gold
    # The local widgets came from the environment, not from their defaults.
    assert batch_runs["namespace"]["config"].lake == str(batch_runs["notebook_lake"])


def test_explore_notebook_prints_tables_and_text_charts_locally(spark, batch_runs, monkeypatch, capsys):
    from pinterest_pipeline.insights import INSIGHTS

    monkeypatch.setenv("PINTEREST_WIDGET_LAKE", str(batch_runs["cli_lake"]))
    # Without matplotlib (as in the test venv, whatever is installed), charts fall back to text.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    namespace = run_notebook(REPO / "notebooks" / "explore.py", {"spark": spark})
    out = capsys.readouterr().out
    assert sorted(namespace["tables"]) == sorted(INSIGHTS)
    joined = {
        r["post_year"]: r["number_users_joined"]
        for r in namespace["tables"]["users_joined_by_year"].collect()
    }
    assert sorted(joined) == [2015, 2016, 2017, 2018, 2019, 2020]
    top = max(joined.values())
    for year, count in joined.items():
        bar = "#" * max(1, round(40 * count / top))
        assert f"  {year:>16} | {bar} {count}" in out.splitlines()
    assert "Users joined by year (number_users_joined by post_year)" in out
    assert (
        "Median followers by age group and join year (median_follower_count by age_group and post_year)"
        in out
    )
    country = namespace["tables"]["most_followed_country"].first()
    assert country["country"] in out and str(country["follower_count"]) in out


def test_stream_notebook_builds_the_same_tables_as_the_command_line(stream_runs):
    notebook, reference = lake_tables(stream_runs["notebook_lake"]), lake_tables(stream_runs["cli_lake"])
    assert {"stream/pin", "stream/geo", "stream/user"} <= set(reference)
    assert sorted(notebook) == sorted(reference)
    for name in reference:
        assert notebook[name] == reference[name], name
    assert sorted(r["ind"] for r in reference["stream/pin"]) == list(range(24))


def test_stream_notebook_reports_and_displays_its_run(stream_runs):
    report = stream_runs["namespace"]["report"]
    pins = report.entities["pin"]
    assert (pins.read, pins.cleaned, pins.quarantined, pins.duplicates) == (27, 24, 2, 1)
    (entities,) = stream_runs["shown"]
    assert {r["entity"]: r["read"] for r in entities.collect()} == {"pin": 27, "geo": 26, "user": 25}
    assert stream_runs["namespace"]["config"].available_now is True


def test_only_the_classic_run_persists_dataframes(batch_runs):
    # The notebook (classic compute) persists, per entity, the validated new bronze rows and the records that
    # change silver, and once the joined posts the insights read; the command line run as the serverless task runs
    # it persists nothing, and builds the same tables (the test above).
    calls = batch_runs["persist_calls"]
    assert calls.count("notebook") == 7
    assert "cli" not in calls


def test_persisted_keeps_a_dataframe_only_when_enabled(spark):
    from pyspark import StorageLevel

    from pinterest_pipeline.session import persisted, release

    df = spark.range(3)
    kept = persisted(df, True)
    assert kept.is_cached and kept.storageLevel == StorageLevel.MEMORY_AND_DISK
    release(kept, True)
    assert not kept.is_cached
    plain = persisted(spark.range(4), False)
    assert not plain.is_cached and plain.storageLevel == StorageLevel.NONE
    release(plain, False)
    assert plain.collect() == spark.range(4).collect()
