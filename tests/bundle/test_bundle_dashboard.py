"""The insights dashboard: its datasets and widgets hold together, and its queries run over real gold tables."""

from __future__ import annotations

import json
import re

import pytest
from bundle_support import REPO, resources

DASHBOARD_FILE = REPO / "resources" / "insights.lvdash.json"
GRID_WIDTH = 6  # Lakeview's canvas is six columns wide


def dashboard() -> dict:
    """The serialized dashboard the bundle deploys."""
    return json.loads(DASHBOARD_FILE.read_text())


def widgets() -> list[dict]:
    """Every layout item of every page."""
    return [item for page in dashboard()["pages"] for item in page["layout"]]


def data_widgets() -> list[dict]:
    """The widgets that query a dataset."""
    return [item["widget"] for item in widgets() if "queries" in item["widget"]]


def widget_sql(widget: dict, datasets: dict[str, str]) -> str:
    """The SQL a widget's query amounts to: its fields over its dataset, grouped unless disaggregated."""
    query = widget["queries"][0]["query"]
    fields = ", ".join(f"{f['expression']} AS `{f['name']}`" for f in query["fields"])
    sql = f"SELECT {fields} FROM ({datasets[query['datasetName']]})"
    plain = [f["expression"] for f in query["fields"] if not re.match(r"^[A-Z]+\(", f["expression"])]
    if not query["disaggregated"] and plain:
        sql += " GROUP BY " + ", ".join(plain)
    return sql


def test_bundle_deploys_this_file_on_the_gold_schema():
    ((path, spec),) = resources("dashboards").values()
    assert (REPO / path).parent.joinpath(spec["file_path"]).resolve() == DASHBOARD_FILE
    assert spec["dataset_catalog"] == "${var.catalog}" and spec["dataset_schema"] == "${var.schema}"


def test_datasets_read_the_gold_tables():
    from pinterest_pipeline.insights import INSIGHTS

    tables = {
        re.search(r"\bFROM\s+(\w+)", "".join(d["queryLines"])).group(1) for d in dashboard()["datasets"]
    }
    assert tables == set(INSIGHTS)


def test_widgets_use_known_datasets_and_fields():
    datasets = {d["name"] for d in dashboard()["datasets"]}
    shown = set()
    for widget in data_widgets():
        query = widget["queries"][0]["query"]
        assert query["datasetName"] in datasets, widget["name"]
        shown.add(query["datasetName"])
        names = {f["name"] for f in query["fields"]}
        encodings = widget["spec"]["encodings"]
        used = [e["fieldName"] for e in encodings.get("columns", [])] + [
            e["fieldName"] for key, e in encodings.items() if key != "columns"
        ]
        assert used and set(used) <= names, widget["name"]
        assert widget["spec"]["frame"]["title"]
    assert shown == datasets


def test_layout_fits_the_grid_without_overlaps():
    taken = set()
    for item in widgets():
        p = item["position"]
        assert p["x"] >= 0 and p["width"] >= 1 and p["x"] + p["width"] <= GRID_WIDTH, item["widget"]["name"]
        cells = {(p["x"] + dx, p["y"] + dy) for dx in range(p["width"]) for dy in range(p["height"])}
        assert not cells & taken, item["widget"]["name"]
        taken |= cells


@pytest.fixture(scope="module")
def gold_views(spark, batch_runs):
    """The command line's gold tables as temporary views named as in the schema the dashboard reads."""
    from pinterest_pipeline.insights import INSIGHTS

    for name in INSIGHTS:
        spark.read.format("delta").load(str(batch_runs["cli_lake"] / "gold" / name)).createOrReplaceTempView(
            name
        )
    yield
    for name in INSIGHTS:
        spark.catalog.dropTempView(name)


def test_every_dataset_and_widget_query_runs_on_the_gold_tables(spark, gold_views):
    datasets = {d["name"]: "".join(d["queryLines"]) for d in dashboard()["datasets"]}
    for name, sql in datasets.items():
        assert spark.sql(sql).count() == spark.table(name).count() > 0, name
    for widget in data_widgets():
        rows = spark.sql(widget_sql(widget, datasets)).collect()
        assert rows, widget["name"]
    # The users-by-year bars add up to the users table: the chart's SUM over the dataset is the right measure.
    (users,) = [w for w in data_widgets() if w["name"] == "users_joined_by_year"]
    bars = {
        r["post_year"]: r["sum(number_users_joined)"]
        for r in spark.sql(widget_sql(users, datasets)).collect()
    }
    assert bars == {
        r["post_year"]: r["number_users_joined"] for r in spark.table("users_joined_by_year").collect()
    }
