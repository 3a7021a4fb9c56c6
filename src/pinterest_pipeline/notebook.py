"""What the notebooks share: widgets, the Spark session and `display`, on Databricks and off it.

On Databricks the notebook's globals hold `dbutils`, `spark` and `display`; elsewhere widgets read
`PINTEREST_WIDGET_<NAME>` environment variables (else their defaults), the session is local Spark and tables print.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any


def _print_table(df) -> None:
    """Print a Spark DataFrame as a table (Databricks renders it instead)."""
    print(df.toPandas().to_string(index=False))


def notebook_context(
    namespace: dict[str, Any], widgets: dict[str, str], app_name: str
) -> tuple[Callable[[str], str], Any, Callable]:
    """Register the widgets and return (widget, spark, display) for a notebook's globals()."""
    dbutils = namespace.get("dbutils")
    if dbutils is not None:
        for name, default in widgets.items():
            dbutils.widgets.text(name, default)

        def widget(name: str) -> str:
            return dbutils.widgets.get(name)

    else:

        def widget(name: str) -> str:
            return os.environ.get(f"PINTEREST_WIDGET_{name.upper()}", widgets[name])

    spark = namespace.get("spark")
    if spark is None:
        from pinterest_pipeline.session import get_spark

        spark = get_spark(app_name)
    return widget, spark, namespace.get("display") or _print_table
