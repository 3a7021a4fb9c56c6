"""The demo's HTML report: one self-contained page (inline SVG charts, no scripts, no downloads)."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
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

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }
h1 { margin-bottom: .2rem; } .meta { color: #666; margin-top: 0; }
section { margin: 2rem 0; } table { border-collapse: collapse; font-size: .9rem; }
th, td { border-bottom: 1px solid #ddd; padding: .25rem .6rem; text-align: left; }
td.n, th.n { text-align: right; } .scroll { max-height: 24rem; overflow-y: auto; display: inline-block; }
svg text { font-size: 12px; fill: #222; } .bar { fill: #e60023; }
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


def render(gold: dict[str, Rows], accounting: Rows, metrics: dict[str, Rows], facts: dict[str, Any]) -> str:
    """The whole page: run facts, record accounting, a chart or table per insight, the stream metrics."""
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
    out.append("<section id='metrics'><h2>Stream metrics</h2>")
    if not metrics:
        out.append("<p class='empty'>no stream metrics in this run</p>")
    for name, rows in metrics.items():
        out.append(f"<h3>{_e(name)}</h3>")
        out.append(table(rows, f"metric-{name}"))
    out.append("</section></body></html>")
    return "\n".join(out)
