"""The demo's HTML report: one self-contained page (inline SVG charts, no scripts, no downloads)."""

from __future__ import annotations

import datetime as dt
import html
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Rows = Sequence[dict[str, Any]]

# insight -> (label columns, value column, chart title); the rest are shown as tables
BAR_CHARTS = {
    "popular_category_by_year": (["post_year", "category"], "category_count", "Most posted category by year"),
    "popular_category_by_age_group": (
        ["age_group", "category"],
        "category_count",
        "Most posted category by age group",
    ),
    "median_followers_by_age_group": (
        ["age_group"],
        "median_follower_count",
        "Median followers by age group",
    ),
    "users_joined_by_year": (["post_year"], "number_users_joined", "Users joined by year"),
    "median_followers_by_join_year": (
        ["post_year"],
        "median_follower_count",
        "Median followers by join year",
    ),
    "median_followers_by_age_group_and_join_year": (
        ["age_group", "post_year"],
        "median_follower_count",
        "Median followers by age group and join year",
    ),
    "most_followed_country": (["country"], "follower_count", "Most followed country"),
}
TABLES = {
    "popular_category_by_country": "Most posted category by country",
    "most_followed_user_by_country": "Most followed poster by country",
}
# The stream metrics the page draws (metrics.py): posts per category per minute, posts per poster per window.
CATEGORY_METRIC = "category_popularity"
PROFILE_METRIC = "profile_popularity"
CATEGORY_MINUTES = 60  # the per-minute chart shows the last hour of windows
TOP_PROFILES = 10
# One colour per category, in the categories' alphabetical order (the seeded data has 13); more repeat.
PALETTE = (
    "#e60023",
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#ad494a",
    "#637939",
    "#d6616b",
    "#31a354",
    "#756bb1",
    "#e6550d",
    "#969696",
)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }
h1 { margin-bottom: .2rem; } .meta { color: #666; margin-top: 0; }
section { margin: 2rem 0; } table { border-collapse: collapse; font-size: .9rem; }
th, td { border-bottom: 1px solid #ddd; padding: .25rem .6rem; text-align: left; }
td.n, th.n { text-align: right; } .scroll { max-height: 24rem; overflow-y: auto; display: inline-block; }
svg text { font-size: 12px; fill: #222; } .bar { fill: #e60023; }
.chart .grid { stroke: #eee; } .axis line { stroke: #888; } .chart text.label { fill: #555; }
svg.inline { vertical-align: middle; } details { margin-top: .8rem; } summary { cursor: pointer; }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return _e(value)


def bar_chart(rows: Rows, labels: list[str], value: str, chart_id: str) -> str:
    """A horizontal SVG bar chart, one bar per row."""
    if not rows:
        return '<p class="empty">no rows</p>'
    items = sorted(
        ((" / ".join(str(r[c]) for c in labels), float(r[value] or 0)) for r in rows),
        key=lambda x: x[0].replace("+50", "~50"),
    )  # "+50" after "36-50"
    top = max(v for _, v in items) or 1.0
    label_width, bar_width, height = 260, 420, 22
    parts = [
        (
            f'<svg id="{_e(chart_id)}" class="chart" role="img" width="{label_width + bar_width + 120}" '
            f'height="{height * len(items) + 10}" xmlns="http://www.w3.org/2000/svg">'
        )
    ]
    for i, (label, v) in enumerate(items):
        y = 5 + i * height
        width = max(1.0, bar_width * v / top)
        parts.append(f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end">{_e(label)}</text>')
        parts.append(
            f'<rect class="bar" x="{label_width}" y="{y + 3}" width="{width:.1f}" height="{height - 6}"/>'
        )
        parts.append(
            f'<text x="{label_width + width + 6}" y="{y + 15}">{_number(v if v % 1 else int(v))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def table(rows: Rows, table_id: str | None = None) -> str:
    """An HTML table of rows (dicts with the same keys)."""
    if not rows:
        return '<p class="empty">no rows</p>'
    columns = list(rows[0])
    numeric = {c for c in columns if all(isinstance(r[c], (int, float)) for r in rows if r[c] is not None)}
    head = "".join(f'<th class="{"n" if c in numeric else ""}">{_e(c)}</th>' for c in columns)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"n" if c in numeric else ""}">{_number(r[c])}</td>' for c in columns)
        + "</tr>"
        for r in rows
    )
    ident = f' id="{_e(table_id)}"' if table_id else ""
    return (
        f'<div class="scroll"><table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
    )


# --- stream metrics --------------------------------------------------------------------------------------------


def utc(value: Any) -> dt.datetime:
    """A window bound as an aware UTC datetime. PySpark hands timestamps back as naive local times (what
    `datetime.fromtimestamp` gives), so a naive value is read as local time; ISO strings are accepted too."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        raise TypeError(f"not a timestamp: {value!r}")
    return value.astimezone(dt.UTC)


def _hhmm(value: dt.datetime) -> str:
    return value.strftime("%H:%M")


def _minutes(n: int) -> str:
    return f"{n:,} minute{'' if n == 1 else 's'}"


def _span(start: dt.datetime, end: dt.datetime) -> str:
    """`2024-01-01 10:05–10:15 UTC`, with the end's date too when it is another day."""
    tail = _hhmm(end) if end.date() == start.date() else end.strftime("%Y-%m-%d %H:%M")
    return f"{start:%Y-%m-%d %H:%M}–{tail} UTC"


@dataclass(frozen=True)
class PerMinute:
    """Category popularity laid out for the chart: the minutes on the x axis (window starts, UTC, one window
    length apart, empty minutes included), the categories (alphabetical) and each (category, minute)'s count."""

    minutes: list[dt.datetime]
    step: dt.timedelta
    categories: list[str]
    counts: dict[tuple[str, dt.datetime], int]
    left_out: int  # earlier minutes with rows that the chart leaves out

    def total(self, minute: dt.datetime) -> int:
        return sum(self.counts.get((c, minute), 0) for c in self.categories)


def per_minute(rows: Rows, limit: int = CATEGORY_MINUTES) -> PerMinute:
    """The last `limit` minutes of category popularity rows (window_start, window_end, category,
    category_count), ending at the latest window."""
    if not rows:
        return PerMinute([], dt.timedelta(minutes=1), [], {}, 0)
    lengths = [utc(r["window_end"]) - utc(r["window_start"]) for r in rows if r.get("window_end") is not None]
    step = min((d for d in lengths if d > dt.timedelta(0)), default=dt.timedelta(minutes=1))
    starts = {utc(r["window_start"]) for r in rows}
    last = max(starts)
    first = max(min(starts), last - step * (limit - 1))
    grid = {first + step * i for i in range((last - first) // step + 1)}
    minutes = sorted(grid | {s for s in starts if s >= first})[-limit:]
    shown = set(minutes)
    counts: dict[tuple[str, dt.datetime], int] = {}
    for r in rows:
        start = utc(r["window_start"])
        if start in shown:
            key = (str(r["category"]), start)
            counts[key] = counts.get(key, 0) + int(r["category_count"] or 0)
    categories = sorted({c for c, _ in counts})
    return PerMinute(minutes, step, categories, counts, len(starts - shown))


def _ticks(top: int) -> list[int]:
    """Round y-axis ticks from 0 to at least `top`: a step of 1, 2 or 5 times a power of ten, at most 6 ticks."""
    steps = (m * 10**e for e in itertools.count() for m in (1, 2, 5))
    step = next(s for s in steps if top <= 5 * s)
    return list(range(0, max(1, -(-top // step)) * step + 1, step))


def category_chart(
    rows: Rows, chart_id: str = "chart-category-per-minute", limit: int = CATEGORY_MINUTES
) -> str:
    """Posts per category per minute as stacked SVG bars: one bar per minute (window_start, UTC), one series
    (`g.series`, one colour) per category, a legend, labelled axes; each segment's tooltip gives its count."""
    data = per_minute(rows, limit)
    if not data.minutes:
        return '<p class="empty">no rows</p>'
    left, top_margin, plot_w, plot_h, bottom, legend_w = 56, 12, 720, 260, 58, 220
    n = len(data.minutes)
    slot = plot_w / n
    bar = max(1.0, min(slot * 0.8, 48.0))
    ticks = _ticks(max(data.total(m) for m in data.minutes))
    scale = plot_h / (ticks[-1] or 1)
    base = top_margin + plot_h
    height = max(base + bottom, top_margin + 18 * len(data.categories) + 10)
    parts = [
        (
            f'<svg id="{_e(chart_id)}" class="chart stacked" role="img" width="{left + plot_w + legend_w}" '
            f'height="{height}" xmlns="http://www.w3.org/2000/svg">'
        ),
        "<title>Posts per category per minute</title>",
        '<g class="axis y">',
    ]
    for tick in ticks:
        y = base - tick * scale
        parts.append(f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:,}</text>')
    parts.append(
        f'<text class="label" transform="translate(14 {base - plot_h / 2:.0f}) rotate(-90)" '
        'text-anchor="middle">posts (category_count)</text></g><g class="axis x">'
    )
    parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{base}" y2="{base}"/>')
    every = -(-n // 12)  # at most 12 labels
    for i, minute in enumerate(data.minutes):
        if i % every == 0:
            x = left + slot * i + slot / 2
            parts.append(f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle">{_hhmm(minute)}</text>')
    parts.append(
        f'<text class="label" x="{left + plot_w / 2:.0f}" y="{base + 44}" text-anchor="middle">'
        "minute (window_start, UTC)</text></g>"
    )
    stacked = dict.fromkeys(data.minutes, 0)
    for k, category in enumerate(data.categories):
        colour = PALETTE[k % len(PALETTE)]
        parts.append(f'<g class="series" data-category="{_e(category)}" fill="{colour}">')
        for i, minute in enumerate(data.minutes):
            count = data.counts.get((category, minute), 0)
            if not count:
                continue
            y = base - (stacked[minute] + count) * scale
            stacked[minute] += count
            parts.append(
                f'<rect x="{left + slot * i + (slot - bar) / 2:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                f'height="{count * scale:.1f}" data-minute="{_hhmm(minute)}" data-count="{count}">'
                f"<title>{_hhmm(minute)} UTC · {_e(category)}: {count:,}</title></rect>"
            )
        parts.append("</g>")
    parts.append(f'<g class="legend" transform="translate({left + plot_w + 16} {top_margin})">')
    for k, category in enumerate(data.categories):
        total = sum(data.counts.get((category, m), 0) for m in data.minutes)
        parts.append(
            f'<g class="item" transform="translate(0 {18 * k})">'
            f'<rect width="12" height="12" fill="{PALETTE[k % len(PALETTE)]}"/>'
            f'<text x="18" y="11">{_e(category)} ({total:,})</text></g>'
        )
    parts.append("</g></svg>")
    return "".join(parts)


def per_minute_table(
    rows: Rows, table_id: str = "category-per-minute-numbers", limit: int = CATEGORY_MINUTES
) -> str:
    """The chart's numbers: a row per minute, a column per category, and the minute's total."""
    data = per_minute(rows, limit)
    return table(
        [
            {
                "minute (UTC)": f"{minute:%Y-%m-%d %H:%M}",
                **{c: data.counts.get((c, minute), 0) for c in data.categories},
                "total": data.total(minute),
            }
            for minute in data.minutes
        ],
        table_id,
    )


@dataclass(frozen=True)
class TopProfiles:
    """The posters of the profile popularity window of the last full window length (see `top_profiles`), best
    first."""

    start: dt.datetime | None
    end: dt.datetime | None
    posters: int  # in that window
    ranked: list[dict[str, Any]]  # rank, poster_name, posts, follower_count


def last_full_window(rows: Rows) -> dt.datetime | None:
    """The start of the window to show of sliding windows (window_start, window_end): of the windows that end
    after the greatest window_start, the one that starts first.

    The window with the greatest start only holds the latest slide (of 10-minute windows sliding every minute, the
    last minute); this one is a whole window length up to the end of that slide (the last 10 minutes), or, with
    less data, the earliest window that holds the latest slide. Without window ends, the greatest start. The
    dashboard's query (`stream_top_profiles`) and the demo (`demo._recent_windows`) choose it the same way."""
    if not rows:
        return None
    latest = max(utc(r["window_start"]) for r in rows)
    covering = [
        utc(r["window_start"])
        for r in rows
        if r.get("window_end") is not None and utc(r["window_end"]) > latest
    ]
    return min(covering, default=latest)


def top_profiles(rows: Rows, n: int = TOP_PROFILES) -> TopProfiles:
    """The posters of the last full window (`last_full_window`) ranked by posts, then follower count (a missing
    one last, then by name for a stable order), the first `n`."""
    start = last_full_window(rows)
    if start is None:
        return TopProfiles(None, None, 0, [])
    window = [r for r in rows if utc(r["window_start"]) == start]
    ends = [utc(r["window_end"]) for r in window if r.get("window_end") is not None]
    # as SQL's ORDER BY posts DESC, follower_count DESC, poster_name does it (nulls last)
    ordered = sorted(
        window,
        key=lambda r: (
            -(r["posts"] or 0),
            r["follower_count"] is None,
            -(r["follower_count"] or 0),
            str(r["poster_name"]),
        ),
    )
    ranked = [
        {
            "rank": i,
            "poster_name": r["poster_name"],
            "posts": r["posts"],
            "follower_count": r["follower_count"],
        }
        for i, r in enumerate(ordered[:n], start=1)
    ]
    return TopProfiles(start, max(ends) if ends else None, len(window), ranked)


def top_profiles_table(rows: Rows, table_id: str = "top-profiles", n: int = TOP_PROFILES) -> str:
    """The top posters of the last full window: rank, name, posts (with a bar) and follower count, under the
    window's length and time span ("the last 10 minutes, 2024-01-01 10:05–10:15 UTC")."""
    top = top_profiles(rows, n)
    if not top.ranked:
        return '<p class="empty">no rows</p>'
    if top.end:
        length = (top.end - top.start) // dt.timedelta(minutes=1)
        last = "the last minute" if length == 1 else f"the last {_minutes(length)}"
        when = f"{last}, {_span(top.start, top.end)}"
    else:
        when = f"the window from {top.start:%Y-%m-%d %H:%M} UTC"
    which = "all" if top.posters <= n else f"the top {n} of"
    most = max(r["posts"] or 0 for r in top.ranked) or 1
    body = []
    for r in top.ranked:
        width = max(1.0, 120 * (r["posts"] or 0) / most)
        body.append(
            f'<tr data-rank="{r["rank"]}"><td class="n">{r["rank"]}</td><td>{_e(r["poster_name"])}</td>'
            f'<td class="n"><svg class="inline" width="124" height="12" aria-hidden="true">'
            f'<rect class="bar" width="{width:.1f}" height="12"/></svg> {_number(r["posts"])}</td>'
            f'<td class="n">{_number(r["follower_count"])}</td></tr>'
        )
    return (
        f'<p class="meta" id="{_e(table_id)}-window">{_e(when)}: {which} '
        f"{top.posters:,} posters, by posts, then follower count</p>"
        f'<table id="{_e(table_id)}"><thead><tr><th class="n">#</th><th>poster</th><th class="n">posts</th>'
        f'<th class="n">followers</th></tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def stream_metrics(metrics: dict[str, Rows]) -> str:
    """The stream metrics section: the per-minute category chart (its numbers folded away) and the top
    profiles of the last full window; any other metric as a table."""
    out = ["<section id='metrics'><h2>Stream metrics</h2>"]
    if not any(metrics.values()):
        out.append("<p class='empty'>no stream metrics in this run</p></section>")
        return "\n".join(out)
    categories = metrics.get(CATEGORY_METRIC, [])
    data = per_minute(categories)
    out.append("<section id='stream-category-per-minute'><h3>Category popularity per minute</h3>")
    if data.minutes:
        last = data.minutes[-1] + data.step
        earlier = f"; {_minutes(data.left_out)} before left out" if data.left_out else ""
        out.append(
            f"<p class='meta'>posts per category per minute of arrival, {_e(_span(data.minutes[0], last))} "
            f"({_minutes(len(data.minutes))}{earlier})</p>"
        )
    out.append(category_chart(categories))
    if data.minutes:
        out.append("<details id='category-per-minute-details'><summary>the numbers</summary>")
        out.append(per_minute_table(categories))
        out.append("</details>")
    out.append("</section><section id='stream-top-profiles'><h3>Top profiles</h3>")
    out.append(top_profiles_table(metrics.get(PROFILE_METRIC, [])))
    out.append("</section>")
    for name, rows in metrics.items():
        if name not in (CATEGORY_METRIC, PROFILE_METRIC):
            out.append(f"<h3>{_e(name)}</h3>")
            out.append(table(rows, f"metric-{name}"))
    out.append("</section>")
    return "\n".join(out)


def render(gold: dict[str, Rows], accounting: Rows, metrics: dict[str, Rows], facts: dict[str, Any]) -> str:
    """The whole page: run facts, record accounting, a chart or table per insight, the stream metrics (a
    per-minute chart of category popularity, the top profiles of the last full window)."""
    generated = facts.get("generated_at") or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Pinterest pipeline report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Pinterest pipeline report</h1>",
        f"<p class='meta'>generated {_e(generated)}</p>",
        "<section id='run'><h2>Run</h2>",
        table([{"fact": k, "value": v} for k, v in facts.items() if k != "generated_at"]),
        "</section><section id='accounting'><h2>Record accounting</h2>",
        "<p>records in = cleaned + quarantined + duplicates</p>",
        table(accounting, "accounting-table"),
        "</section>",
    ]
    for name, (labels, value, title) in BAR_CHARTS.items():
        out.append(f"<section class='insight' id='{name}'><h2>{_e(title)}</h2>")
        out.append(bar_chart(gold.get(name, []), labels, value, f"chart-{name}"))
        out.append("</section>")
    for name, title in TABLES.items():
        out.append(f"<section class='insight' id='{name}'><h2>{_e(title)}</h2>")
        out.append(table(gold.get(name, []), f"chart-{name}"))
        out.append("</section>")
    out.append(stream_metrics(metrics))
    out.append("</body></html>")
    return "\n".join(out)
