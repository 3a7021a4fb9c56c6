# Databricks notebook source
# MAGIC %md
# MAGIC # Streaming job
# MAGIC
# MAGIC The three Kinesis streams (`<stream_prefix>-pin|geo|user`) to the cleaned streaming tables and the real-time
# MAGIC metrics: the wheel's `pinterest_pipeline.jobs.stream`, as run by the `pinterest_stream` job
# MAGIC (`resources/stream.job.yml`). Kinesis is reached through a Unity Catalog service credential (its name in
# MAGIC `service_credential`), never keys. `available_now` = `true` processes what the streams hold and stops;
# MAGIC otherwise the query runs until the notebook is stopped.
# MAGIC
# MAGIC Outside Databricks the widgets read `PINTEREST_WIDGET_<NAME>` environment variables (e.g.
# MAGIC `PINTEREST_WIDGET_KINESIS_ENDPOINT` for a local Kinesis), else the defaults below.

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
    "stream_prefix": "pinterest",
    "region": "us-east-1",
    "service_credential": "",
    "kinesis_endpoint": "",
    "available_now": "false",
}

widget, spark, display = notebook_context(globals(), WIDGETS, "pinterest-stream-notebook")

# COMMAND ----------

from pinterest_pipeline.jobs.stream import StreamConfig, run_stream

config = StreamConfig(
    lake=widget("lake"),
    kinesis_endpoint=widget("kinesis_endpoint") or None,
    stream_prefix=widget("stream_prefix"),
    available_now=widget("available_now").strip().lower() == "true",
    region=widget("region"),
    service_credential=widget("service_credential") or None,
)

# COMMAND ----------

report = run_stream(spark, config)
print("\n".join(report.lines()))

# COMMAND ----------

# MAGIC %md
# MAGIC What the run did, per entity (records read = cleaned + quarantined + duplicates).

# COMMAND ----------

display(
    spark.createDataFrame(
        [
            (name, c.batches, c.read, c.duplicates, c.cleaned, c.quarantined)
            for name, c in report.entities.items()
        ],
        "entity string, batches long, read long, duplicates long, cleaned long, quarantined long",
    )
)
