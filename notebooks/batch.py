# Databricks notebook source
# MAGIC %md
# MAGIC # Batch job
# MAGIC
# MAGIC New Kafka Connect S3 sink files to bronze, then silver, quarantine and the nine gold tables: the same run as the
# MAGIC `pinterest_batch` job (`resources/batch.job.yml`, the wheel's `pinterest-pipeline batch`), by hand.
# MAGIC The run is idempotent: with nothing new it changes nothing.
# MAGIC
# MAGIC Outside Databricks the widgets read `PINTEREST_WIDGET_<NAME>` environment variables (e.g.
# MAGIC `PINTEREST_WIDGET_RAW_ROOT`), else the defaults below, and tables print instead of `display`ing.

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
    "raw_root": ".pinterest/raw",
    "lake": ".pinterest/lake",
    "topic_prefix": "pinterest",
    "catalog": "",
    "schema": "",
}

widget, spark, display = notebook_context(globals(), WIDGETS, "pinterest-batch-notebook")

# COMMAND ----------

from pinterest_pipeline.jobs.batch import BatchConfig, run_batch

config = BatchConfig(
    raw_root=widget("raw_root"),
    lake=widget("lake"),
    topic_prefix=widget("topic_prefix"),
    catalog=widget("catalog") or None,
    schema=widget("schema") or None,
)

# COMMAND ----------

report = run_batch(spark, config)
print("\n".join(report.lines()))

# COMMAND ----------

# MAGIC %md
# MAGIC What this run did, per entity (records read = cleaned + quarantined + duplicates), and the gold tables' rows.

# COMMAND ----------

display(
    spark.createDataFrame(
        [
            (name, c.files, c.read, c.duplicates, c.cleaned, c.quarantined, c.silver_total)
            for name, c in report.entities.items()
        ],
        "entity string, files long, read long, duplicates long, cleaned long, quarantined long, silver_rows long",
    )
)
if report.rebuilt:
    display(spark.createDataFrame(sorted(report.gold.items()), "gold_table string, rows long"))
