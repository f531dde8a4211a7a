"""What every job and notebook needs: the merged config, a SparkSession, a logger, tables, MLflow and dbutils.

    from gda_clv.utils.common import JobContext
    ctx = JobContext(env="dev")          # build one per job or notebook and pass it on

``runtime.backend: local`` (the embedded default) builds a local Spark with its metastore, warehouse and the
MLflow sqlite store under ``runtime.state_dir``; ``databricks`` uses the cluster's session, Delta in Unity Catalog,
MLflow ``databricks`` tracking and the ``databricks-uc`` registry.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from gda_clv.errors import ConfigError
from gda_clv.names import AS_OF, CUSTOMER_ID
from gda_clv.utils import jit
from gda_clv.utils.background import in_background
from gda_clv.utils.config_schema import Config
from gda_clv.utils.config_utils import load_config, resolve_state_dir
from gda_clv.utils.logger_utils import get_logger, log_phase
from gda_clv.utils.workspace_paths import experiment_path, registered_model_name, workspace_root


class Singleton(type):
    """Metaclass: one instance per class and process, for notebooks' own classes (the seed's utility).

    A call with the same arguments returns the existing instance; a call with different arguments replaces it.
    gda_clv itself does not use it: a :class:`JobContext` is built once by its caller and passed on.
    """

    _instances: ClassVar[dict[type, tuple[tuple[Any, ...], Any]]] = {}

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        key = (args, tuple(sorted((k, _freeze(v)) for k, v in kwargs.items())))
        current = Singleton._instances.get(cls)
        if current is None or current[0] != key:
            Singleton._instances[cls] = (key, super().__call__(*args, **kwargs))
        return Singleton._instances[cls][1]

    def reset(cls) -> None:
        """Forget the instance of this class (tests, or a notebook that wants a fresh context)."""
        Singleton._instances.pop(cls, None)


@contextmanager
def _without_info_logs() -> Iterator[None]:
    """Drop INFO and lower records from every logger for the duration (alembic configures its own handlers)."""
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def _freeze(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class _TableConfig:
    catalog: str | None
    schema: str
    table: str
    primary_keys: tuple[str, ...] = (CUSTOMER_ID, AS_OF)
    timeseries_column: str = AS_OF

    @property
    def full_name(self) -> str:
        return ".".join(part for part in (self.catalog, self.schema, self.table) if part)


_Table = TypeVar("_Table", bound=_TableConfig)


@dataclass(frozen=True)
class FeatureStoreTableConfig(_TableConfig):
    """The RFM feature table, keyed by (customer_id, as_of)."""

    description: str = "Per-customer calibration/holdout RFM features and the full-period summary at as_of"


@dataclass(frozen=True)
class TargetsTableConfig(_TableConfig):
    """The CLV predictions table, keyed by (customer_id, as_of)."""

    description: str = "Per-customer CLV predictions at as_of"


@dataclass
class JobContext:
    """Config, Spark, logger, tables, MLflow and dbutils for one job or notebook.

    A plain object: each call builds a new context (two contexts in one process share the active Spark session).
    The CLI builds one per command and hands it to the step; a notebook calls the constructor.
    """

    env: str = "local"
    conf_files: Sequence[str] = ()
    overrides: Sequence[str] = ()
    conf_dir: str | None = None
    spark: Any = None
    job_run_id: str | None = None  # the Databricks job run ({{job.run_id}}); default: this process's run_id
    with_mlflow: bool = False  # set MLflow up too (setup_mlflow), while the local Spark session starts
    config: Config = field(init=False)
    logger: logging.Logger = field(init=False)
    run_id: str = field(init=False)
    timings: dict[str, float] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.config = load_config(self.env, self._conf_path, self.conf_files, self.overrides)
        self.logger = get_logger("gda_clv", self.config.runtime.log_level)
        self.run_id = f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        self.job_run_id = self.job_run_id or self.run_id
        self._mlflow_ready = False
        # MLflow's imports and store set-up (seconds) overlap with a local JVM's start, which runs in its own process
        overlap = self.with_mlflow and self.spark is None and not self.is_databricks
        mlflow_set_up = in_background(self.setup_mlflow, "mlflow-set-up") if overlap else None
        try:
            if self.spark is None:
                self.spark = self._session()
        except BaseException:
            if mlflow_set_up is not None:
                mlflow_set_up.exception()  # let it finish: the session's error is the one to report
            raise
        if mlflow_set_up is not None:
            mlflow_set_up.result()  # its error, if any, is raised here
        elif self.with_mlflow:
            self.setup_mlflow()  # after the session: its checks (a Databricks env off a cluster) come first
        from gda_clv.utils.tables import TableStore

        self.tables = TableStore(self.spark, self.config.tables.format)
        self.logger.info(
            "context: env=%s backend=%s region=%s run_id=%s job_run_id=%s", self.env, self.backend, self.config.region,
            self.run_id, self.job_run_id,
        )

    @property
    def backend(self) -> str:
        """``local`` or ``databricks`` (``runtime.backend``)."""
        return self.config.runtime.backend

    @property
    def is_databricks(self) -> bool:
        """True when this context runs on the Databricks backend."""
        return self.backend == "databricks"

    @property
    def job_run(self) -> str:
        """``job_run_id`` as given, else this process's ``run_id`` (what a training run is tagged with)."""
        return self.job_run_id or self.run_id

    @property
    def _conf_path(self) -> Path | None:
        return Path(self.conf_dir) if self.conf_dir else None

    @property
    def state_dir(self) -> Path:
        """The absolute local state folder (metastore, warehouse, MLflow store, logs)."""
        return resolve_state_dir(self.config.runtime.state_dir, self._conf_path)

    @property
    def output_path(self) -> str:
        """Where prediction files go (``output.path``, else ``<state_dir>/output``)."""
        return self.config.output.path or str(self.state_dir / "output")

    @property
    def dbutils(self) -> Any:
        """Databricks' dbutils on a cluster, None locally."""
        if not self.is_databricks:
            return None
        from pyspark.dbutils import DBUtils  # provided by the Databricks runtime

        return DBUtils(self.spark)

    def _table(self, cls: type[_Table], table: str) -> _Table:
        tables = self.config.tables
        return cls(catalog=tables.catalog, schema=tables.schema_, table=table)

    @property
    def feature_table(self) -> FeatureStoreTableConfig:
        """The RFM feature table (``tables.features``) in this environment's catalog and schema."""
        return self._table(FeatureStoreTableConfig, self.config.tables.features)

    @property
    def quarantine_table(self) -> FeatureStoreTableConfig:
        """The table of rejected transactions with their reason (``tables.quarantine``)."""
        return self._table(FeatureStoreTableConfig, self.config.tables.quarantine)

    @property
    def targets_table(self) -> TargetsTableConfig:
        """The CLV predictions table (``tables.targets``)."""
        return self._table(TargetsTableConfig, self.config.tables.targets)

    @property
    def monitoring_table_name(self) -> str:
        """The monitoring table, keyed by (as_of, metric, column); see gda_clv.pipelines.monitor."""
        return self._table(TargetsTableConfig, self.config.tables.monitoring).full_name

    @property
    def input_summary_table_name(self) -> str:
        """The input-data summary prepare writes per as_of and monitor reads; see gda_clv.monitoring.inputs."""
        return self._table(TargetsTableConfig, self.config.tables.input_summary).full_name

    @property
    def mlflow_experiment(self) -> str:
        """The MLflow experiment (``mlflow.experiment``, else the environment's workspace path or a local name)."""
        if self.config.mlflow.experiment:
            return self.config.mlflow.experiment
        if self.is_databricks:
            return experiment_path(workspace_root(self.env, self.config.deployment), self.config.region)
        return f"gda_clv-{self.env}-{self.config.region}"

    @property
    def mlflow_tracking_uri(self) -> str:
        """``mlflow.tracking_uri``, else ``databricks`` or the local sqlite store under the state dir."""
        default = "databricks" if self.is_databricks else f"sqlite:///{self.state_dir / 'mlflow.db'}"
        return self.config.mlflow.tracking_uri or default

    @property
    def mlflow_registry_uri(self) -> str:
        """``mlflow.registry_uri``, else Unity Catalog (``databricks-uc``) or the tracking store."""
        return self.config.mlflow.registry_uri or ("databricks-uc" if self.is_databricks else self.mlflow_tracking_uri)

    def registered_model_name(self, kind: str) -> str:
        """``clv_frequency`` locally, ``catalog.schema.clv_frequency`` in Unity Catalog; kind: frequency or monetary."""
        return registered_model_name(self.config, kind)

    def setup_mlflow(self) -> str:
        """Point MLflow's process-wide tracking store, registry and experiment at this context.

        The one place gda_clv sets MLflow's globals, called once at the edge: by ``gda-clv`` before a step that uses
        MLflow, by a notebook before it runs such a step itself. Idempotent. Returns the experiment id.
        """
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        if not self.is_databricks:
            self.state_dir.mkdir(parents=True, exist_ok=True)  # the default sqlite store's folder
        import mlflow

        mlflow.set_tracking_uri(self.mlflow_tracking_uri)
        mlflow.set_registry_uri(self.mlflow_registry_uri)
        name = self.mlflow_experiment
        with _without_info_logs():  # a new sqlite store logs every schema migration at INFO
            experiment = mlflow.get_experiment_by_name(name)
            mlflow.MlflowClient().search_registered_models(max_results=1)
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        if experiment is None:
            location = None if self.is_databricks else (self.state_dir / "mlartifacts").as_uri()
            experiment_id = mlflow.create_experiment(name, artifact_location=location)
        else:
            experiment_id = experiment.experiment_id
        mlflow.set_experiment(experiment_id=experiment_id)
        if not self._mlflow_ready:
            self.logger.info("mlflow: tracking=%s experiment=%s", self.mlflow_tracking_uri, name)
            self._mlflow_ready = True
        return experiment_id

    def require_mlflow(self) -> None:
        """What a step that logs to MLflow checks first: that MLflow was set up for this context.

        Raises ``ConfigError`` when :meth:`setup_mlflow` has not run for this context, or MLflow's tracking or
        registry URI has since been pointed elsewhere.
        """
        import mlflow

        if not self._mlflow_ready or not self._mlflow_points_here(mlflow):
            raise ConfigError(
                f"MLflow is not set up for this context (tracking {mlflow.get_tracking_uri()}, expected "
                f"{self.mlflow_tracking_uri}): "
                "call ctx.setup_mlflow() before running the step (the gda-clv command does this itself)."
            )

    def _mlflow_points_here(self, mlflow: Any) -> bool:
        """True when MLflow's process-wide tracking and registry URIs are this context's."""
        current = (mlflow.get_tracking_uri(), mlflow.get_registry_uri())
        return bool(current == (self.mlflow_tracking_uri, self.mlflow_registry_uri))

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Record the seconds the block takes in ``self.timings[name]`` (no log lines; see :meth:`phase`)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - started, 3)

    @contextmanager
    def phase(self, name: str, timings: dict[str, float] | None = None) -> Iterator[None]:
        """Log a phase and its duration; recorded in ``self.timings`` (the one record of durations) and, if given,
        copied into ``timings``."""
        try:
            with log_phase(self.logger, name, self.timings):
                yield
        finally:
            if timings is not None:
                timings[name] = self.timings[name]

    def _session(self) -> Any:
        from gda_clv.utils.spark_session import active_session, build_local_session

        if self.is_databricks and not os.environ.get("DATABRICKS_RUNTIME_VERSION"):
            raise ConfigError(
                f"env '{self.env}' uses runtime.backend databricks (Unity Catalog tables, Databricks MLflow), "
                "but this process is not on a Databricks cluster (DATABRICKS_RUNTIME_VERSION is not set). "
                "On a laptop use --env local (JobContext(env='local')); to use this environment, run on a "
                "cluster or pass the session of a Databricks Connect client as JobContext(..., spark=session)."
            )
        active = active_session()
        if active is not None:
            return active
        if self.is_databricks:
            from pyspark.sql import SparkSession

            return SparkSession.builder.getOrCreate()
        runtime = self.config.runtime
        with log_phase(self.logger, f"starting local Spark ({runtime.spark_master}, state in {self.state_dir})"):
            session = build_local_session(self.state_dir, runtime.spark_master, runtime.shuffle_partitions,
                                          metastore_url=runtime.metastore_url,
                                          quick_jit=jit.quick(runtime.jit, self.config.data.source))
        session.sparkContext.setLogLevel("ERROR")
        return session
