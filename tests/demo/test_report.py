"""The report's stream metrics on hand-made rows: the per-minute category chart keeps every category and minute,
the top profiles are those of the last full window (not the one with the greatest start, which holds only the
last minute) in the right order, and the page shows both in Chromium."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

from pinterest_pipeline import report

SVG = "{http://www.w3.org/2000/svg}"
UTC = dt.UTC


def at(minute: int, hour: int = 10) -> dt.datetime:
    """A minute of 2024-01-01 in UTC (minutes past 59 roll over into the next hours)."""
    return dt.datetime(2024, 1, 1, hour, tzinfo=UTC) + dt.timedelta(minutes=minute)


def category(minute: int, name: str, count: int) -> dict:
    return {
        "window_start": at(minute),
        "window_end": at(minute + 1),
        "category": name,
        "category_count": count,
    }


def profile(start: int, name: str, posts: int, followers: int | None) -> dict:
    return {
        "window_start": at(start),
        "window_end": at(start + 10),
        "poster_name": name,
        "posts": posts,
        "follower_count": followers,
    }


# 10:02 has no posts at all: the chart still has its minute, empty.
CATEGORIES = [
    category(0, "art", 3),
    category(0, "diy", 1),
    category(1, "art", 2),
    category(1, "travel", 5),
    category(3, "diy", 4),
    category(3, "travel", 1),
    category(3, "art", 1),
]


def svg(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def series(chart: ET.Element) -> dict[str, dict[str, int]]:
    """category -> minute label -> count, as the chart's bars say."""
    return {
        g.get("data-category"): {r.get("data-minute"): int(r.get("data-count")) for r in g.iter(f"{SVG}rect")}
        for g in chart.iter(f"{SVG}g")
        if g.get("class") == "series"
    }


def texts(element: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in element.iter(f"{SVG}text")]


def test_chart_has_a_series_per_category_and_a_bar_segment_per_posted_minute():
    chart = svg(report.category_chart(CATEGORIES))
    assert chart.get("id") == "chart-category-per-minute"
    assert series(chart) == {
        "art": {"10:00": 3, "10:01": 2, "10:03": 1},
        "diy": {"10:00": 1, "10:03": 4},
        "travel": {"10:01": 5, "10:03": 1},
    }
    labels = texts(chart)
    # every minute on the x axis, the empty 10:02 included, and both axes named
    assert [t for t in labels if re.fullmatch(r"\d\d:\d\d", t)] == ["10:00", "10:01", "10:02", "10:03"]
    assert "minute (window_start, UTC)" in labels and "posts (category_count)" in labels
    # a legend entry per category, with its total
    (legend,) = [g for g in chart.iter(f"{SVG}g") if g.get("class") == "legend"]
    assert texts(legend) == ["art (6)", "diy (5)", "travel (6)"]


def test_stacked_bars_are_as_tall_as_the_minute_total():
    chart = svg(report.category_chart(CATEGORIES))
    heights: dict[str, float] = {}
    for rect in chart.iter(f"{SVG}rect"):
        if rect.get("data-minute"):
            heights[rect.get("data-minute")] = heights.get(rect.get("data-minute"), 0) + float(
                rect.get("height")
            )
    totals = {"10:00": 4, "10:01": 7, "10:03": 6}
    assert heights.keys() == totals.keys()
    unit = heights["10:01"] / 7
    for minute, total in totals.items():
        assert abs(heights[minute] - total * unit) < 0.2, minute


def test_naive_timestamps_are_local_times_shown_in_utc():
    # PySpark's collect() gives naive local times (datetime.fromtimestamp); the chart labels them in UTC.
    epoch = int(at(5).timestamp())
    rows = [
        {
            "window_start": dt.datetime.fromtimestamp(epoch),
            "window_end": dt.datetime.fromtimestamp(epoch + 60),
            "category": "art",
            "category_count": 2,
        }
    ]
    assert series(svg(report.category_chart(rows))) == {"art": {"10:05": 2}}


def test_chart_keeps_the_last_hour_of_minutes():
    rows = [category(m, "art", 1) for m in range(70)]
    data = report.per_minute(rows)
    assert data.minutes[0] == at(10) and data.minutes[-1] == at(69) and len(data.minutes) == 60
    assert data.left_out == 10
    assert len(series(svg(report.category_chart(rows)))["art"]) == 60
    assert "2024-01-01 10:10–11:10 UTC (60 minutes; 10 minutes before left out)" in report.stream_metrics(
        {"category_popularity": rows}
    )
    assert "10:00–10:01 UTC (1 minute)</p>" in report.stream_metrics({"category_popularity": rows[:1]})


def test_numbers_table_has_a_row_per_minute_and_a_column_per_category():
    table = ET.fromstring(report.per_minute_table(CATEGORIES))
    head = [th.text for th in table.iter("th")]
    assert head == ["minute (UTC)", "art", "diy", "travel", "total"]
    rows = [[td.text for td in tr.iter("td")] for tr in table.find(".//tbody")]
    assert rows == [
        ["2024-01-01 10:00", "3", "1", "0", "4"],
        ["2024-01-01 10:01", "2", "0", "5", "7"],
        ["2024-01-01 10:02", "0", "0", "0", "0"],
        ["2024-01-01 10:03", "1", "4", "1", "6"],
    ]


def windows(posts: list[tuple[int, str, int | None]], length: int = 10) -> list[dict]:
    """Profile popularity rows as the streaming job computes them (metrics.profile_popularity) from posts
    (minute, poster, follower count) in arrival order: every window of `length` minutes sliding every minute that
    holds a post, with each poster's posts in it and the follower count of their last one."""
    found: dict[tuple[int, str], tuple[int, int | None]] = {}
    for minute, name, followers in posts:
        for start in range(minute - length + 1, minute + 1):
            posts_before = found.get((start, name), (0, None))[0]
            found[(start, name)] = (posts_before + 1, followers)
    return [
        {**profile(start, name, count, followers), "window_end": at(start + length)}
        for (start, name), (count, followers) in sorted(found.items())
    ]


# Posts from 10:04 to 10:14. The window with the greatest start (10:14-10:24) holds only the last minute's posts:
# "late riser" first, then "tie high". The last full window, 10:05-10:15, holds 17 posters, ranked by posts then
# followers; "old star" posted the most, but at 10:04, in the window 10:04-10:14 that ends where the latest starts.
RANKED = [
    *((f"poster {i:02}", 1 + i % 4, 100 * i) for i in range(12)),
    ("tie low", 4, 5),
    ("tie high", 4, 5000),
    ("no followers", 4, None),
    ("zero followers", 4, 0),
]
POSTS = sorted(
    [(4, "old star", 10)] * 50
    + [(5 + (3 * k + i) % 9, name, f) for i, (name, posts, f) in enumerate(RANKED) for k in range(posts)]
    + [(14, "late riser", 9999)] * 3
    + [(14, "tie high", 5000)],
    key=lambda post: post[0],  # in arrival order
)
PROFILES = windows(POSTS)


def test_top_profiles_are_the_last_full_window_ranked_by_posts_then_followers():
    top = report.top_profiles(PROFILES)
    assert max(r["window_start"] for r in PROFILES) == at(14)
    assert report.last_full_window(PROFILES) == at(5)
    assert (top.start, top.end, top.posters) == (at(5), at(15), 17)
    assert [(r["rank"], r["poster_name"], r["posts"], r["follower_count"]) for r in top.ranked] == [
        (1, "tie high", 5, 5000),
        (2, "poster 11", 4, 1100),
        (3, "poster 07", 4, 700),
        (4, "poster 03", 4, 300),
        (5, "tie low", 4, 5),
        (6, "zero followers", 4, 0),
        (7, "no followers", 4, None),  # last among equals, as SQL's DESC puts nulls
        (8, "late riser", 3, 9999),
        (9, "poster 10", 3, 1000),
        (10, "poster 06", 3, 600),
    ]


def test_the_window_with_the_greatest_start_holds_only_the_last_minute():
    # What the top profiles were before: the latest window alone, its ranking another one.
    latest = [r for r in PROFILES if r["window_start"] == at(14)]
    assert sorted((-r["posts"], r["poster_name"]) for r in latest) == [(-3, "late riser"), (-1, "tie high")]
    assert report.top_profiles(latest).ranked[0]["poster_name"] == "late riser"
    assert report.top_profiles(PROFILES).ranked[0]["poster_name"] == "tie high"


def test_top_profiles_of_a_few_minutes_are_of_the_earliest_window_holding_the_latest_minute():
    # Posts in three minutes only: windows start from 09:51 to 10:02; the ones ending after 10:02 start from
    # 09:53, which holds every post.
    rows = windows([(0, "a", 1), (0, "b", 2), (1, "b", 2), (2, "c", 3), (2, "c", 3), (2, "c", 3)])
    top = report.top_profiles(rows)
    assert (top.start, top.end) == (at(-7), at(3))
    assert [(r["poster_name"], r["posts"]) for r in top.ranked] == [("c", 3), ("b", 2), ("a", 1)]
    assert "the last 10 minutes, 2024-01-01 09:53–10:03 UTC: all 3 posters" in report.top_profiles_table(rows)


def test_top_profiles_of_one_minute_windows_are_the_latest_minute():
    rows = windows([(0, "a", 1), (1, "b", 2), (2, "c", 3)], length=1)
    top = report.top_profiles(rows)
    assert (top.start, top.end, [r["poster_name"] for r in top.ranked]) == (at(2), at(3), ["c"])
    assert "the last minute, 2024-01-01 10:02–10:03 UTC" in report.top_profiles_table(rows)


def test_top_profiles_table_shows_the_window_and_the_ranking():
    html = report.top_profiles_table(PROFILES)
    page = ET.fromstring(f"<div>{html}</div>")
    caption = "".join(page.find("p").itertext())
    assert caption.startswith("the last 10 minutes, 2024-01-01 10:05–10:15 UTC: the top 10 of 17 posters")
    assert "latest window" not in html
    table = page.find("table")
    assert table.get("id") == "top-profiles"
    rows = [[("".join(td.itertext())).strip() for td in tr.iter("td")] for tr in table.find("tbody")]
    assert rows[0] == ["1", "tie high", "5", "5,000"] and rows[6] == ["7", "no followers", "4", ""]
    assert rows[7] == ["8", "late riser", "3", "9,999"]
    assert len(rows) == 10 and "old star" not in html and "poster 00" not in html


def test_top_profiles_of_a_small_window_are_all_its_posters():
    top = report.top_profiles([profile(0, "a", 1, 3), profile(0, "b", 2, 1)])
    assert [r["poster_name"] for r in top.ranked] == ["b", "a"] and top.posters == 2
    assert "all 2 posters" in report.top_profiles_table([profile(0, "a", 1, 3), profile(0, "b", 2, 1)])


def page(metrics: dict) -> str:
    return report.render({}, [], metrics, {"generated_at": "2024-01-01T10:30:00+00:00"})


def test_page_shows_the_chart_and_the_top_profiles_instead_of_the_raw_tables():
    text = page({"profile_popularity": PROFILES, "category_popularity": CATEGORIES})
    for ident in ("chart-category-per-minute", "top-profiles", "category-per-minute-numbers"):
        assert f'id="{ident}"' in text, ident
    assert "metric-profile_popularity" not in text and "metric-category_popularity" not in text
    assert "2024-01-01 10:00–10:04 UTC (4 minutes)" in text
    assert "<script" not in text


def test_page_without_stream_metrics_says_so():
    for metrics in ({}, {"profile_popularity": [], "category_popularity": []}):
        text = page(metrics)
        assert "no stream metrics in this run" in text
        assert "chart-category-per-minute" not in text and 'id="top-profiles"' not in text


def test_one_metric_without_rows_leaves_the_other():
    text = page({"profile_popularity": PROFILES, "category_popularity": []})
    assert 'id="top-profiles"' in text and "chart-category-per-minute" not in text
    assert "no stream metrics in this run" not in text


def test_y_axis_ticks_are_round_and_cover_the_tallest_bar():
    assert report._ticks(7) == [0, 2, 4, 6, 8]
    assert report._ticks(5) == [0, 1, 2, 3, 4, 5]
    assert report._ticks(0) == [0, 1]
    assert report._ticks(230) == [0, 50, 100, 150, 200, 250]


def test_stream_section_renders_in_headless_chromium(tmp_path):
    from .browser import load_page

    path = tmp_path / "report.html"
    path.write_text(
        page({"profile_popularity": PROFILES, "category_popularity": CATEGORIES}), encoding="utf-8"
    )
    shown = load_page(
        path,
        count=(
            "#chart-category-per-minute g.series rect",
            "#chart-category-per-minute g.legend g",
            "#top-profiles tbody tr",
        ),
    )
    assert shown.errors == []
    assert shown.shown == {
        "#chart-category-per-minute g.series rect": 7,
        "#chart-category-per-minute g.legend g": 3,
        "#top-profiles tbody tr": 10,
    }
