"""JobContext on the embedded default: config, Spark, tables, MLflow on sqlite."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import mlflow
import pytest
from pyspark.sql import SparkSession

from gda_clv.utils.common import FeatureStoreTableConfig, JobContext, TargetsTableConfig


@pytest.fixture()
def ctx(spark: SparkSession, tmp_path: Path) -> JobContext:
    return JobContext(env="local", overrides=(f"runtime.state_dir={tmp_path}", "tables.schema=ctx_test"))


def test_each_construction_is_its_own_context(ctx: JobContext, spark: SparkSession, tmp_path: Path) -> None:
    again = JobContext(env="local", overrides=(f"runtime.state_dir={tmp_path}", "tables.schema=ctx_test"))
    assert again is not ctx and again.run_id != ctx.run_id  # no hidden process-wide instance
    assert ctx.spark is spark and again.spark is spark  # an active session is reused, never a second one
    other = JobContext(env="local", overrides=(f"runtime.state_dir={tmp_path}", "tables.schema=other"))
    assert other.config.tables.schema_ == "other" and ctx.config.tables.schema_ == "ctx_test"


def test_table_names_and_local_defaults(ctx: JobContext, tmp_path: Path) -> None:
    assert ctx.feature_table == FeatureStoreTableConfig(catalog=None, schema="ctx_test", table="clv_features")
    assert ctx.feature_table.full_name == "ctx_test.clv_features"
    assert ctx.feature_table.primary_keys == ("customer_id", "as_of")
    assert isinstance(ctx.targets_table, TargetsTableConfig)
    assert ctx.targets_table.full_name == "ctx_test.clv_predictions"
    assert ctx.dbutils is None
    assert ctx.output_path == str(tmp_path / "output")
    assert ctx.registered_model_name("frequency") == "clv_frequency"
    assert ctx.mlflow_experiment == "gda_clv-local-NOAM"


def test_databricks_names_come_from_config(spark: SparkSession, tmp_path: Path) -> None:
    ctx = JobContext(env="prod", spark=spark, overrides=(f"runtime.state_dir={tmp_path}",))
    assert ctx.feature_table.full_name == "gda_prod.clv.clv_features"
    assert ctx.registered_model_name("monetary") == "gda_prod.clv.clv_monetary"
    assert (ctx.mlflow_tracking_uri, ctx.mlflow_registry_uri) == ("databricks", "databricks-uc")
    assert ctx.mlflow_experiment == "/Shared/gda_clv/prod/NOAM/experiments/clv"


def test_mlflow_setup_uses_sqlite_under_the_state_dir(ctx: JobContext, tmp_path: Path) -> None:
    experiment_id = ctx.setup_mlflow()
    assert ctx.setup_mlflow() == experiment_id  # idempotent
    assert mlflow.get_tracking_uri() == f"sqlite:///{tmp_path / 'mlflow.db'}"
    experiment = mlflow.get_experiment(experiment_id)
    assert experiment.name == "gda_clv-local-NOAM"
    assert experiment.artifact_location == (tmp_path / "mlartifacts").as_uri()
    assert (tmp_path / "mlflow.db").is_file()


def test_with_mlflow_sets_it_up_with_the_context_even_in_a_new_state_dir(spark: SparkSession, tmp_path: Path) -> None:
    state = tmp_path / "new" / "state"  # created by the set-up, which may run before the Spark builder creates it
    ctx = JobContext(env="local", overrides=(f"runtime.state_dir={state}",), with_mlflow=True)
    ctx.require_mlflow()  # no ConfigError: set up for this context
    assert mlflow.get_tracking_uri() == f"sqlite:///{state / 'mlflow.db'}" and (state / "mlflow.db").is_file()
    assert mlflow.get_experiment_by_name("gda_clv-local-NOAM") is not None


def test_with_mlflow_reports_a_databricks_env_off_a_cluster_before_touching_mlflow(spark: SparkSession,
                                                                                    tmp_path: Path) -> None:
    from gda_clv.errors import ConfigError

    tracking = mlflow.get_tracking_uri()
    with pytest.raises(ConfigError, match=r"^env 'prod' uses runtime.backend databricks"):
        JobContext(env="prod", overrides=(f"runtime.state_dir={tmp_path}",), with_mlflow=True)
    assert mlflow.get_tracking_uri() == tracking  # MLflow was not pointed at Databricks


def test_replace_where_is_idempotent_and_leaves_other_as_ofs(ctx: JobContext, spark: SparkSession) -> None:
    name = "ctx_test.replace_demo"
    spark.sql(f"DROP TABLE IF EXISTS {name}")
    day1, day2 = dt.date(2024, 1, 1), dt.date(2024, 2, 1)
    rows = lambda as_of, n: spark.createDataFrame(  # noqa: E731
        [(f"c{i}", float(i), as_of) for i in range(n)], "customer_id string, value double, as_of date"
    )
    ctx.tables.replace_where(rows(day1, 3), name, "as_of", day1)
    ctx.tables.replace_where(rows(day2, 2), name, "as_of", day2)
    ctx.tables.replace_where(rows(day1, 4), name, "as_of", day1)
    ctx.tables.replace_where(rows(day1, 4), name, "as_of", day1)
    counts = {r["as_of"]: r["count"] for r in ctx.tables.read(name).groupBy("as_of").count().collect()}
    assert counts == {day1: 4, day2: 2}
    assert ctx.tables.max_value(name, "as_of") == day2
    assert ctx.tables.max_value("ctx_test.missing", "as_of") is None


def test_failed_write_leaves_the_table_as_it_was(ctx: JobContext, spark: SparkSession) -> None:
    name = "ctx_test.failing_demo"
    spark.sql(f"DROP TABLE IF EXISTS {name}")
    day = dt.date(2024, 1, 1)
    good = spark.createDataFrame([("a", 1.0, day), ("b", 2.0, day)], "customer_id string, value double, as_of date")
    ctx.tables.replace_where(good, name, "as_of", day)
    from pyspark.sql import functions as F

    # Every row fails inside the write job, as a killed or crashed executor would.
    bad = good.withColumn("value", F.expr("raise_error('disk full')").cast("double"))
    with pytest.raises(Exception, match="disk full"):
        ctx.tables.replace_where(bad, name, "as_of", day)
    assert sorted(r["customer_id"] for r in ctx.tables.read(name).collect()) == ["a", "b"]


def test_a_step_run_without_mlflow_set_up_says_what_to_call(ctx: JobContext) -> None:
    """MLflow's globals are set at the edge (gda-clv, or the notebook), never behind a step's back."""
    from gda_clv.errors import ConfigError
    from gda_clv.pipelines import train_frequency

    with pytest.raises(ConfigError, match=r"MLflow is not set up for this context .*call ctx\.setup_mlflow\(\)"):
        train_frequency.run(ctx)
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    ctx.setup_mlflow()
    ctx.require_mlflow()
    mlflow.set_tracking_uri("sqlite:///elsewhere.db")
    try:
        with pytest.raises(ConfigError, match="tracking sqlite:///elsewhere.db"):
            ctx.require_mlflow()
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])
