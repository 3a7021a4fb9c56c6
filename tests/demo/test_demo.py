"""The demo end to end with a small event count: every table it should produce, the report, and a rerun."""

from __future__ import annotations

from pathlib import Path

import pytest
from delta_tables import delta_rows, is_delta

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

    page = load_page(demo[1].report)
    assert page.errors == []
    for name in INSIGHTS:
        assert name in page.chart_ids, name
    assert page.title == "Pinterest pipeline report"


def inds(home: Path, name: str) -> list[int]:
    return sorted(r["ind"] for r in delta_rows(home / "lake" / name, ["ind"]))


def test_stream_tables_hold_the_same_posts_as_silver(demo):
    home = demo[0]
    for entity in ("pin", "geo", "user"):
        assert inds(home, f"stream/{entity}") == inds(home, f"silver/{entity}"), entity


def test_stream_metrics_are_reported(demo):
    _, first, second, _ = demo
    for result in (first, second):
        assert result.metrics["category_popularity"] and result.metrics["profile_popularity"]
    assert "stream rows" in first.accounting[0]
