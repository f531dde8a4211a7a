"""Build the embedded local SparkSession: persistent metastore + warehouse under one state folder."""
from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from pathlib import Path

from pyspark import SparkContext
from pyspark.sql import SparkSession

from gda_clv.errors import ConfigError
from gda_clv.utils import jit, jvm_archive
from gda_clv.utils.spark_master import LocalCluster, parse_master

_log = logging.getLogger("gda_clv.spark")


def active_session() -> SparkSession | None:
    """The session Databricks (or a notebook) already started, if any."""
    return SparkSession.getActiveSession()


def build_local_session(
    state_dir: Path,
    master: str = "local[*]",
    shuffle_partitions: int = 8,
    app_name: str = "gda_clv",
    metastore_url: str | None = None,
    quick_jit: bool = False,
) -> SparkSession:
    """A local SparkSession whose Derby metastore and warehouse live under ``state_dir``.

    Tables written in one run are visible to the next (same folder), which is what makes the
    embedded default behave like a workspace: prepare writes, train reads, project writes.
    ``metastore_url`` (``jdbc:postgresql://...``) replaces Derby, which admits one process, by a metastore that
    several task processes share (scripts/local_services.sh serves one). ``master`` is ``local[...]`` or
    ``local-cluster[N,C,M]`` (separate executor processes); raises ConfigError for any other master. ``quick_jit``:
    the driver JVM compiles with C1 only (``gda_clv.utils.jit``).
    """
    try:
        cluster = parse_master(master)
    except ValueError as exc:
        raise ConfigError(f"runtime.spark_master: {exc}") from None
    state_dir = Path(state_dir).resolve()
    remove_leftover_artifact_dirs(Path.cwd())
    warehouse = state_dir / "spark-warehouse"
    metastore = state_dir / "metastore_db"
    state_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    log4j = Path(__file__).with_name("log4j2.properties")
    spark_log = state_dir / "logs" / "spark.log"
    # The parallel collector: on the 2-core machine `make run`'s pipeline took 15.6-16.0 s with it against
    # 17.2-17.3 s with G1, the JVM's default, and the 1M-customer race's run 50.6 s against 52.5 s (bench/README.md).
    java_options = (
        f"-Dderby.system.home={state_dir} -Dlog4j2.configurationFile=file:{log4j} -Dgda_clv.spark_log={spark_log} "
        "-XX:+UseParallelGC"
    )
    builder = SparkSession.builder
    if cluster is not None:
        builder = _local_cluster(builder, cluster, state_dir)
    if metastore_url:
        builder = _shared_metastore(builder, metastore_url)
    archive = jvm_archive.Archive("")
    # for a JVM this call starts; not on local-cluster, whose SPARK_HOME (so class path) is its state folder's own
    if SparkContext._gateway is None and cluster is None:
        archive = jvm_archive.plan(str(POSTGRES_JDBC_JAR) if metastore_url else None)
        if archive.dump is not None:  # said now: at exit, the log's streams may be closed
            _log.info("this first local session's JVM writes a class archive as it exits, for faster starts: %s",
                      archive.path)
    if archive.java_options:
        java_options = f"{java_options} {archive.java_options}"
    if quick_jit:
        java_options = f"{java_options} {jit.QUICK_OPTION}"
    if not metastore_url:
        builder = builder.config("spark.hadoop.javax.jdo.option.ConnectionURL",
                                 f"jdbc:derby:;databaseName={metastore};create=true")
    session = (
        builder.master(master)
        .appName(app_name)
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.driver.extraJavaOptions", java_options)
        .config("spark.sql.catalogImplementation", "hive")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", os.environ.get("GDA_CLV_DRIVER_MEMORY", "2g"))
        .enableHiveSupport()
        .getOrCreate()
    )
    if cluster is not None or archive.dump is not None:
        atexit.register(_stop, session, archive)
    warm_metastore(session)
    return session


def _stop(session: SparkSession, archive: jvm_archive.Archive) -> None:
    """At exit: stop the session, then let its JVM write the class archive when this session dumps one.

    A local-cluster session is stopped before the JVM exits: a worker whose executors die in the JVM's shutdown
    relaunches them, and every relaunch fails with a Java stack in the log and leaves an empty executor folder.
    """
    gateway = session.sparkContext._gateway
    session.stop()
    jvm_archive.publish(archive, getattr(gateway, "proc", None))


def warm_metastore(session: SparkSession) -> threading.Thread:
    """Start the metastore client in a background thread and return it (a daemon: nothing waits for it).

    Connecting the Hive client (class loading, Derby or Postgres) takes seconds and happens at the first table
    access; started here, it overlaps with what a step does before that (reading and validating the source). A
    failure is left for that first access to raise again, where it is reported (e.g. a metastore locked by
    another process).
    """

    def connect() -> None:
        try:
            session.catalog.listDatabases()
        except Exception:  # reported by the step's own first table access
            _log.debug("metastore warm-up failed; the first table access will report it", exc_info=True)

    thread = threading.Thread(target=connect, name="gda_clv-metastore-warm-up", daemon=True)
    thread.start()
    return thread


def remove_leftover_artifact_dirs(folder: Path) -> None:
    """Remove the empty ``artifacts/spark-*`` folders that killed Spark 4 sessions left in ``folder``.

    Spark creates one per session in the JVM's working directory and deletes it at a clean exit only; ours stay
    empty (no artifacts are added), so an empty one is safe to remove even while its session is alive.
    """
    artifacts = folder / "artifacts"
    if not artifacts.is_dir():
        return
    for leftover in artifacts.glob("spark-*"):
        if leftover.is_dir() and not any(leftover.iterdir()):
            leftover.rmdir()
    if not any(artifacts.iterdir()):
        artifacts.rmdir()


def _local_cluster(builder: SparkSession.Builder, cluster: LocalCluster, state_dir: Path) -> SparkSession.Builder:
    """Executors get the whole worker's memory; their work folders go under ``state_dir``, not site-packages.

    A local-cluster worker writes each executor's folder (logs, fetched files) to ``$SPARK_HOME/work``, and pip's
    pyspark is its own SPARK_HOME. Unless SPARK_HOME is set (a Spark installation), it becomes
    ``<state_dir>/spark_home``: links to the pyspark package's entries, so the JVM, its jars and the executors'
    Python path are the package's own and only ``work`` is local.
    """
    if "SPARK_HOME" not in os.environ:
        os.environ["SPARK_HOME"] = str(_linked_spark_home(state_dir / "spark_home"))
    return builder.config("spark.executor.memory", f"{cluster.memory_mb}m")


def _linked_spark_home(home: Path) -> Path:
    """``home`` holding a link to every entry of the installed pyspark package but ``work``; returns ``home``."""
    import pyspark

    package = Path(pyspark.__file__).parent
    home.mkdir(parents=True, exist_ok=True)
    for entry in package.iterdir():
        link = home / entry.name
        if entry.name == "work":
            continue
        if link.is_symlink() and link.resolve() != entry.resolve():  # a rebuilt or moved environment
            link.unlink()
        if not link.is_symlink():
            link.symlink_to(entry)
    return home


POSTGRES_JDBC_JAR = Path("/usr/share/java/postgresql.jar")


def _shared_metastore(builder: SparkSession.Builder, url: str) -> SparkSession.Builder:
    """Hive metastore in PostgreSQL (``url``: jdbc:postgresql:..., checked by the config schema): schema created on
    first use, the driver jar from Debian's package."""
    if not POSTGRES_JDBC_JAR.exists():
        raise ConfigError(f"runtime.metastore_url needs the PostgreSQL JDBC driver at {POSTGRES_JDBC_JAR}: "
                          "apt-get install -y libpostgresql-jdbc-java")
    return (
        builder.config("spark.hadoop.javax.jdo.option.ConnectionURL", url)
        .config("spark.hadoop.javax.jdo.option.ConnectionDriverName", "org.postgresql.Driver")
        # Tables and columns created on first use; not the foreign keys: DataNucleus adds those lazily, on a second
        # connection, while the first holds a transaction on the referenced table, which on PostgreSQL deadlocks the
        # first table write. (autoCreateAll would switch them back on.)
        .config("spark.hadoop.datanucleus.schema.autoCreateAll", "false")
        .config("spark.hadoop.datanucleus.schema.autoCreateTables", "true")
        .config("spark.hadoop.datanucleus.schema.autoCreateColumns", "true")
        .config("spark.hadoop.datanucleus.schema.autoCreateConstraints", "false")
        .config("spark.hadoop.hive.metastore.schema.verification", "false")
        .config("spark.driver.extraClassPath", str(POSTGRES_JDBC_JAR))
    )
