"""The demo end to end with a small event count: every table it should produce, the report, and a rerun."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from delta_tables import delta_rows, is_delta

from pinterest_pipeline import report
from pinterest_pipeline.demo import DemoConfig, run_demo
from pinterest_pipeline.errors import ConfigError
from pinterest_pipeline.insights import INSIGHTS

EVENTS = 60


@pytest.fixture(scope="module")
def demo(spark, tmp_path_factory):
    home = tmp_path_factory.mktemp("demo")
    lines: list[str] = []
    first = run_demo(spark, DemoConfig(home=home, events=EVENTS), out=lines.append)
    second = run_demo(spark, DemoConfig(home=home, events=EVENTS), out=lines.append)
    return home, first, second, lines


def test_every_table_exists(demo):
    home = demo[0]
    expected = [
        f"{layer}/{e}" for layer in ("bronze", "silver", "quarantine") for e in ("pin", "geo", "user")
    ]
    expected += [f"gold/{name}" for name in INSIGHTS]
    expected += [f"stream/{e}" for e in ("pin", "geo", "user")]
    expected += [f"stream/metrics/{name}" for name in ("profile_popularity", "category_popularity")]
    for name in expected:
        assert is_delta(home / "lake" / name), name


def test_both_ways_acknowledged_every_record(demo):
    _, first, _, _ = demo
    assert first.posted == {"kafka-rest": 3 * EVENTS, "kinesis": 3 * EVENTS}


def test_accounting_adds_up_and_rerun_keeps_one_row_per_post(demo):
    _, first, second, _ = demo
    for before, after in zip(first.accounting, second.accounting):
        assert before["records in"] == EVENTS and after["records in"] == 2 * EVENTS
        # The original sampling replays the same posts: the rerun adds duplicates only.
        assert after["cleaned"] == before["cleaned"] and after["quarantined"] == before["quarantined"] == 0
        for row in (before, after):
            assert row["records in"] == row["cleaned"] + row["quarantined"] + row["duplicates"]
    assert first.gold == second.gold
    assert all(first.gold[name] for name in INSIGHTS)


def test_report_is_written_and_named(demo):
    home, first, _, lines = demo
    assert first.report == home / "report.html"
    text = first.report.read_text(encoding="utf-8")
    for name in INSIGHTS:
        assert f"id='{name}'" in text
    assert any(line.startswith("report: ") for line in lines)


def test_bad_event_count_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="--events must be at least 1"):
        DemoConfig(home=tmp_path, events=0)


def test_report_renders_in_headless_chromium(demo):
    from .browser import load_page

    series, legend, profiles = (
        "#chart-category-per-minute g.series",
        "#chart-category-per-minute g.legend g",
        "#top-profiles tbody tr",
    )
    page = load_page(demo[1].report, count=(series, legend, profiles))
    assert page.errors == []
    for name in INSIGHTS:
        assert name in page.chart_ids, name
    assert page.title == "Pinterest pipeline report"
    # The stream metrics: a series and a legend entry per category, the top profiles of the last full window (of
    # the second run, whose report the file now holds).
    metrics = demo[2].metrics
    categories = {r["category"] for r in metrics["category_popularity"]}
    top = report.top_profiles(metrics["profile_popularity"])
    assert page.shown == {series: len(categories), legend: len(categories), profiles: len(top.ranked)}
    assert categories and 0 < len(top.ranked) == min(10, top.posters)


def inds(home: Path, name: str) -> list[int]:
    return sorted(r["ind"] for r in delta_rows(home / "lake" / name, ["ind"]))


def test_stream_tables_hold_the_same_posts_as_silver(demo):
    home = demo[0]
    for entity in ("pin", "geo", "user"):
        assert inds(home, f"stream/{entity}") == inds(home, f"silver/{entity}"), entity


def test_stream_metrics_are_reported(demo):
    home, first, second, _ = demo
    for result in (first, second):
        assert result.metrics["category_popularity"] and result.metrics["profile_popularity"]
        # what the report draws: the last hour of per-minute windows, the last full profile window
        latest = max(r["window_start"] for r in result.metrics["category_popularity"])
        assert all(
            latest - r["window_start"] < timedelta(hours=1) for r in result.metrics["category_popularity"]
        )
        assert len({r["window_start"] for r in result.metrics["profile_popularity"]}) == 1
    # that window is the one the report's rule picks from the whole table (as the second run left it)
    table = delta_rows(home / "lake" / "stream/metrics/profile_popularity", ["window_start", "window_end"])
    assert {report.utc(r["window_start"]) for r in second.metrics["profile_popularity"]} == {
        report.last_full_window(table)
    }
    text = second.report.read_text(encoding="utf-8")
    assert 'id="chart-category-per-minute"' in text and 'id="top-profiles"' in text
    assert "stream rows" in first.accounting[0]


def test_recent_windows_keep_the_last_full_profile_window(spark):
    # The hand-made posts of test_report: their windows as the metric computes them are the rows the report's
    # tests use, and the demo keeps of them the window the report picks (10:05-10:15, not 10:14-10:24), ranked.
    from pinterest_pipeline.demo import _recent_windows
    from pinterest_pipeline.metrics import profile_popularity

    from .test_report import POSTS, PROFILES, at

    pins = spark.createDataFrame(
        [(ind, name, followers, at(minute)) for ind, (minute, name, followers) in enumerate(POSTS)],
        "ind long, poster_name string, follower_count long, arrived_at timestamp",
    )
    columns = ("window_start", "window_end", "poster_name", "posts", "follower_count")

    def key(row: dict) -> tuple:
        return tuple(report.utc(row[c]) if c.startswith("window") else row[c] for c in columns)

    table = profile_popularity(pins)
    assert sorted(key(r.asDict()) for r in table.collect()) == sorted(key(r) for r in PROFILES)
    kept = [r.asDict() for r in _recent_windows(table, "profile_popularity").collect()]
    top = report.top_profiles(PROFILES, n=len(PROFILES))
    assert {(report.utc(r["window_start"]), report.utc(r["window_end"])) for r in kept} == {(at(5), at(15))}
    assert [(r["poster_name"], r["posts"], r["follower_count"]) for r in kept] == [
        (r["poster_name"], r["posts"], r["follower_count"]) for r in top.ranked
    ]
    assert len(kept) == top.posters == 17
