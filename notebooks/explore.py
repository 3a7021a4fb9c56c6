# Databricks notebook source
# MAGIC %md
# MAGIC # Exploring the insights
# MAGIC
# MAGIC The nine gold tables of the batch job (docs/design.md, "Data contract"), as tables and charts. Point the widgets at a
# MAGIC Unity Catalog schema (`catalog`, `schema`: what the `pinterest_batch` job writes) or, with both empty, at a
# MAGIC lake root (`lake`: what `pinterest-pipeline batch --lake` writes locally).
# MAGIC
# MAGIC Outside Databricks the widgets read `PINTEREST_WIDGET_<NAME>` environment variables, else the defaults below;
# MAGIC tables print, and charts are drawn with matplotlib where it is installed, else as bars of text.

# COMMAND ----------

import os
import sys

# On a job cluster the wheel is installed; in a workspace, the bundle's synced sources sit in ../src.
try:
    import pinterest_pipeline  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.abspath(os.path.join(os.getcwd(), "..", "src")))

from pinterest_pipeline.notebook import notebook_context

WIDGETS = {
    "lake": ".pinterest/lake",
    "catalog": "",
    "schema": "",
}

widget, spark, display = notebook_context(globals(), WIDGETS, "pinterest-explore-notebook")

# COMMAND ----------

from pinterest_pipeline import names
from pinterest_pipeline.insights import INSIGHTS
from pinterest_pipeline.lake import DeltaStore

catalog, schema, lake = widget("catalog"), widget("schema"), widget("lake")
store = DeltaStore(spark, lake, catalog or None, schema or None)


def gold(name: str):
    """A gold table: from the Unity Catalog schema when one is named, else from the lake root."""
    return store.read(names.gold(name))


def chart(df, x: str, y: str, title: str, series: str | None = None) -> None:
    """A bar chart of `y` by `x` (one bar per `series` value too): matplotlib where installed, else text bars."""
    rows = df.orderBy(x, *([series] if series else [])).collect()
    labels = [" ".join(str(r[c]) for c in (x, series) if c) for r in rows]
    values = [r[y] or 0 for r in rows]
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        top = max(values, default=0) or 1
        print(f"{title} ({y} by {' and '.join(c for c in (x, series) if c)})")
        for label, value in zip(labels, values):
            print(f"  {label:>16} | {'#' * max(1, round(40 * value / top)) if value else ''} {value:g}")
        return
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.bar(labels, values)
    ax.set_title(title)
    ax.set_ylabel(y.replace("_", " "))
    ax.tick_params(axis="x", labelrotation=45)
    fig.tight_layout()
    plt.show()


tables = {name: gold(name) for name in INSIGHTS}

# COMMAND ----------

# MAGIC %md
# MAGIC ## Countries

# COMMAND ----------

display(tables["most_followed_country"])
display(tables["most_followed_user_by_country"].orderBy("country", "poster_name"))
display(tables["popular_category_by_country"].orderBy("country", "category"))

# COMMAND ----------

# MAGIC %md
# MAGIC ## Years

# COMMAND ----------

chart(
    tables["popular_category_by_year"],
    "post_year",
    "category_count",
    "Most posted category by year",
    series="category",
)
chart(tables["users_joined_by_year"], "post_year", "number_users_joined", "Users joined by year")
chart(
    tables["median_followers_by_join_year"],
    "post_year",
    "median_follower_count",
    "Median followers by join year",
)

# COMMAND ----------

# MAGIC %md
# MAGIC ## Age groups

# COMMAND ----------

chart(
    tables["median_followers_by_age_group"],
    "age_group",
    "median_follower_count",
    "Median followers by age group",
)
chart(
    tables["median_followers_by_age_group_and_join_year"],
    "age_group",
    "median_follower_count",
    "Median followers by age group and join year",
    series="post_year",
)
display(tables["popular_category_by_age_group"].orderBy("age_group", "category"))
