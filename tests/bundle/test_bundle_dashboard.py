"""The insights dashboard: its datasets and widgets hold together, its queries run over real gold tables, and its
real-time page's over metric tables the metric functions compute from hand-made pins."""

from __future__ import annotations

import datetime as dt
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


def tables_read(sql: str) -> set[str]:
    """The tables a dataset's query names (a subquery's too)."""
    return set(re.findall(r"\bFROM\s+(\w+)", sql))


def datasets_sql() -> dict[str, str]:
    """Each dataset's query."""
    return {d["name"]: "".join(d["queryLines"]) for d in dashboard()["datasets"]}


def metric_tables() -> dict[str, str]:
    """Each real-time metric's table as the streaming job names it in a schema (DeltaStore.qualified)."""
    from pinterest_pipeline import names
    from pinterest_pipeline.lake import DeltaStore
    from pinterest_pipeline.metrics import METRICS

    store = DeltaStore(None, "lake", catalog="c", schema="s")
    return {name: store.qualified(names.metric(name)).split(".")[-1].strip("`") for name in METRICS}


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


def test_datasets_read_the_gold_and_the_metric_tables():
    from pinterest_pipeline.insights import INSIGHTS

    read = {name: tables_read(sql) for name, sql in datasets_sql().items()}
    assert all(len(tables) == 1 for tables in read.values()), read
    assert set().union(*read.values()) == set(INSIGHTS) | set(metric_tables().values())
    assert metric_tables() == {
        "profile_popularity": "stream_metrics_profile_popularity",
        "category_popularity": "stream_metrics_category_popularity",
    }


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
    pages = dashboard()["pages"]
    assert len({page["name"] for page in pages}) == len(pages)
    assert len({item["widget"]["name"] for item in widgets()}) == len(widgets())
    for page in pages:
        taken = set()
        for item in page["layout"]:
            p, name = item["position"], item["widget"]["name"]
            assert p["x"] >= 0 and p["width"] >= 1 and p["x"] + p["width"] <= GRID_WIDTH, name
            cells = {(p["x"] + dx, p["y"] + dy) for dx in range(p["width"]) for dy in range(p["height"])}
            assert not cells & taken, name
            taken |= cells


def test_realtime_page_charts_categories_per_minute_and_lists_the_top_profiles():
    (page,) = [p for p in dashboard()["pages"] if p["name"] == "realtime"]
    shown = {item["widget"]["name"]: item["widget"] for item in page["layout"] if "queries" in item["widget"]}
    chart, top = shown["stream_category_per_minute"], shown["stream_top_profiles"]
    fields = {f["name"]: f["expression"] for f in chart["queries"][0]["query"]["fields"]}
    x, y, color = (chart["spec"]["encodings"][k] for k in ("x", "y", "color"))
    assert chart["spec"]["widgetType"] == "bar" and x["scale"]["type"] == "temporal"
    assert fields[x["fieldName"]] == 'DATE_TRUNC("MINUTE", `window_start`)'
    assert fields[y["fieldName"]] == "SUM(`category_count`)" and fields[color["fieldName"]] == "`category`"
    assert top["spec"]["widgetType"] == "table"
    columns = [c["fieldName"] for c in top["spec"]["encodings"]["columns"]]
    assert columns[:4] == ["poster_rank", "poster_name", "posts", "follower_count"]
    sql = datasets_sql()
    assert tables_read(sql[chart["queries"][0]["query"]["datasetName"]]) == {
        metric_tables()["category_popularity"]
    }
    assert tables_read(sql[top["queries"][0]["query"]["datasetName"]]) == {
        metric_tables()["profile_popularity"]
    }


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


def gold_datasets() -> dict[str, str]:
    """The datasets over gold tables, by name (each is named after its table)."""
    from pinterest_pipeline.insights import INSIGHTS

    return {name: sql for name, sql in datasets_sql().items() if tables_read(sql) <= set(INSIGHTS)}


def test_every_dataset_and_widget_query_runs_on_the_gold_tables(spark, gold_views):
    datasets = gold_datasets()
    for name, sql in datasets.items():
        assert spark.sql(sql).count() == spark.table(name).count() > 0, name
    for widget in data_widgets():
        if widget["queries"][0]["query"]["datasetName"] in datasets:
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


# Hand-made pins over 75 minutes of arrival: four categories, a post or three a minute (by three "early"
# posters); in the last minute, 14 "late" posters with 1-3 posts each (ties in posts broken by follower count).
# The profile window with the greatest start (11:15-11:25) holds the late posters only; the last full window
# (11:06-11:16) the three early ones too, the first two of them at the top.
START = dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)
CATEGORIES = ("art", "diy", "travel", "quotes")


def pins() -> list[dict]:
    rows = []

    def pin(poster: str, followers: int, category: str, arrived: dt.datetime) -> None:
        rows.append(
            {
                "ind": len(rows),
                "poster_name": poster,
                "follower_count": followers,
                "category": category,
                "arrived_at": arrived,
            }
        )

    for minute in range(75):
        for k in range(1 + minute % 3):
            pin(
                f"early {k}",
                10,
                CATEGORIES[(minute + k) % 4],
                START + dt.timedelta(minutes=minute, seconds=10 * k),
            )
    last = START + dt.timedelta(minutes=75)
    for i in range(14):
        for post in range(1 + i % 3):
            pin(f"late {i:02}", 100 * (i % 5), CATEGORIES[i % 4], last + dt.timedelta(seconds=3 * i + post))
    return rows


@pytest.fixture(scope="module")
def metric_views(spark):
    """The metric tables the streaming job writes, computed by its metric functions from the pins, as temporary
    views named as in the schema the dashboard reads."""
    from pinterest_pipeline.metrics import METRICS

    frame = spark.createDataFrame(
        pins(), "ind long, poster_name string, follower_count long, category string, arrived_at timestamp"
    )
    tables = metric_tables()
    for name, metric in METRICS.items():
        metric(frame).createOrReplaceTempView(tables[name])
    yield tables
    for table in tables.values():
        spark.catalog.dropTempView(table)


def test_realtime_datasets_and_widgets_run_on_the_metric_tables(spark, metric_views):
    from pinterest_pipeline import report

    sql = {name: s for name, s in datasets_sql().items() if name not in gold_datasets()}
    assert set(sql) == {"stream_category_popularity", "stream_top_profiles"}
    # The per-minute categories: the last hour of windows, every row of those; the chart's bars are the rows.
    table = spark.table(metric_views["category_popularity"]).collect()
    latest = max(r["window_start"] for r in table)
    last_hour = {
        (r["window_start"], r["category"]): r["category_count"]
        for r in table
        if latest - r["window_start"] < dt.timedelta(hours=1)
    }
    shown = spark.sql(sql["stream_category_popularity"]).collect()
    assert {(r["window_start"], r["category"]): r["category_count"] for r in shown} == last_hour
    assert len({r["window_start"] for r in shown}) == 60 < len({r["window_start"] for r in table})
    (chart,) = [w for w in data_widgets() if w["name"] == "stream_category_per_minute"]
    bars = spark.sql(widget_sql(chart, sql)).collect()
    assert {(r["minutely(window_start)"], r["category"]): r["sum(category_count)"] for r in bars} == last_hour
    # The top profiles: the ten best of the last full window (not of the one with the greatest start, which holds
    # only the last minute), chosen and ranked as the demo's report does.
    profiles = [r.asDict() for r in spark.table(metric_views["profile_popularity"]).collect()]
    top = spark.sql(sql["stream_top_profiles"]).collect()
    expected = report.top_profiles(profiles)
    assert max(report.utc(r["window_start"]) for r in profiles) == START + dt.timedelta(minutes=75)
    assert (expected.start, expected.end) == (
        START + dt.timedelta(minutes=66),
        START + dt.timedelta(minutes=76),
    )
    assert expected.posters == 17 and len(expected.ranked) == 10
    assert [p["poster_name"] for p in expected.ranked[:2]] == ["early 0", "early 1"]
    assert [(r["poster_rank"], r["poster_name"], r["posts"], r["follower_count"]) for r in top] == [
        (p["rank"], p["poster_name"], p["posts"], p["follower_count"]) for p in expected.ranked
    ]
    assert {(report.utc(r["window_start"]), report.utc(r["window_end"])) for r in top} == {
        (expected.start, expected.end)
    }
    (table_widget,) = [w for w in data_widgets() if w["name"] == "stream_top_profiles"]
    assert len(spark.sql(widget_sql(table_widget, sql)).collect()) == 10
