"""`gda-clv train-monetary` on CDNOW-sample features, after train-frequency in the same pipeline run."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from gda_clv.data import rfm
from gda_clv.errors import ModelError
from gda_clv.models._lifetimes import lifetimes, quiet
from gda_clv.models.gamma_gamma import GammaGammaModel
from gda_clv.pipelines import train_frequency, train_monetary
from gda_clv.pipelines.summaries import TrainMonetarySummary
from gda_clv.utils.common import JobContext
from tests.integration.mlflow_layout import MODEL_IN_RUN_ARTIFACTS
from tests.integration.test_train_frequency import make_context, write_features


@pytest.fixture(scope="module")
def ctx(spark, mlflow_store: Path, tmp_path_factory, cdnow_sample_transactions: pd.DataFrame) -> Iterator[JobContext]:
    context = make_context(
        spark, tmp_path_factory.mktemp("monetary_state"), uuid.uuid4().hex[:8],
        "model.frequency.tuning.max_evals=0", "model.monetary.correlation_warn_threshold=0.05",
    )
    write_features(context, cdnow_sample_transactions)
    yield context


def test_monetary_model_without_a_frequency_model_says_what_to_run(ctx: JobContext) -> None:
    with pytest.raises(ModelError) as err:
        train_monetary.run(ctx)
    name = ctx.registered_model_name("frequency")
    assert str(err.value).startswith(f"Registered model '{name}' does not exist in the registry at sqlite:///")
    assert str(err.value).endswith("Run `gda-clv train-frequency --env local` first.")


def test_monetary_after_frequency(ctx: JobContext) -> None:
    freq = train_frequency.run(ctx)
    summary = train_monetary.run(ctx)
    features = ctx.tables.read(ctx.feature_table.full_name)
    filtered = rfm.filtered_cal(features).toPandas()
    # lifetimes penalizes v in currency units, we in units of the mean spend: the estimates agree at penalizer 0.
    ours = GammaGammaModel(summary["penalizer"]).fit(filtered["frequency_cal"], filtered["monetary_value_cal"])
    assert summary["calibration_fit"]["params"] == pytest.approx(ours.params_, rel=1e-9)
    # The scoring model is refitted on the whole period, as the frequency model is (model.frequency.refit_full).
    full = features.where("frequency > 0 AND monetary_value > 0").toPandas()
    scoring_fit = GammaGammaModel(summary["penalizer"]).fit(full["frequency"], full["monetary_value"])
    assert summary["refit_full"] and summary["params"] == pytest.approx(scoring_fit.params_, rel=1e-9)
    assert summary["params"] != pytest.approx(summary["calibration_fit"]["params"], rel=1e-3)
    ggf = lifetimes.GammaGammaFitter(penalizer_coef=0.0)
    with quiet():
        ggf.fit(filtered["frequency_cal"], filtered["monetary_value_cal"], q_constraint=True)
    unpenalized = GammaGammaModel(0.0).fit(filtered["frequency_cal"], filtered["monetary_value_cal"])
    for name in ("p", "q", "v"):  # lifetimes' Nelder-Mead stops ~2e-4 short of the optimum our L-BFGS-B reaches
        assert unpenalized.params_[name] == pytest.approx(ggf.params_[name], rel=1e-3)
    corr = np.corrcoef(filtered["frequency_cal"], filtered["monetary_value_cal"])[0, 1]
    assert summary["correlation"] == {"frequency_monetary": pytest.approx(corr), "threshold": 0.05,
                                      "warning": abs(corr) > 0.05}
    # The frequency model of this run, from the registry; the revenue check covers every calibration customer.
    assert summary["frequency_model"] == {"name": freq["registered_name"], "version": freq["version"],
                                          "source": f"job run {ctx.job_run_id}"}
    cal = rfm.calibration_rows(features).toPandas()
    holdout = summary["holdout"]
    actual = float((cal["frequency_holdout"] * cal["monetary_value_holdout"].fillna(0)).sum())
    assert holdout["holdout_revenue_customers"] == len(cal) == 2357
    assert holdout["holdout_revenue_actual_total"] == pytest.approx(actual, rel=1e-12)
    assert holdout["holdout_revenue_actual_per_customer"] == pytest.approx(actual / 2357, rel=1e-12)
    assert 0.5 < holdout["holdout_revenue_predicted_total"] / actual < 2.0
    assert (summary["version"], summary["aliases"], summary["converged"]) == ("1", ["challenger", "champion"], True)
    run = MlflowClient().get_run(summary["mlflow_run_id"])
    assert run.data.metrics["p"] == pytest.approx(summary["params"]["p"])
    assert run.data.metrics["frequency_monetary_correlation"] == pytest.approx(corr)
    assert run.data.tags["frequency_model"] == f"{freq['registered_name']}/1"
    assert_declared_outputs(summary, run)
    phases = [name.split(": ", 1)[1] for name in ctx.timings if name.startswith(f"{train_monetary.STEP}: ")]
    assert phases == ["read and compress filtered_cal", "tune (3 evals)",
                      f"fit Gamma-Gamma (penalizer {summary['penalizer']:.3g})",
                      "holdout revenue check with the frequency model", "log, register and gate", "promote"]


def assert_declared_outputs(summary: dict, run: Run) -> None:
    """What --summary-json writes (keys in this order, as typed) and what the MLflow run holds: the step's contract."""
    assert set(summary) == TrainMonetarySummary.__required_keys__
    assert list(summary) == [
        "type", "params", "standard_errors", "log_likelihood", "penalizer", "penalizer_used", "q_constraint",
        "converged", "refit_full", "calibration_fit", "correlation", "holdout", "gate_holdout", "frequency_model",
        "tuning", "data", "mlflow_run_id", "experiment", "model_uri", "registered_name", "version", "aliases", "gate",
    ]
    assert list(summary["data"]) == ["as_of", "calibration_end", "n_customers", "n_distinct_tuples"]
    assert set(run.data.params) == {"as_of", "calibration_end", "model_type", "penalizer", "q_constraint",
                                    "tuning_loss", "tuning_max_evals", "tuning_penalizer_range"}
    fit = {"p", "q", "v", "se_p", "se_q", "se_v", "log_likelihood", "penalizer_used"}
    holdout = {"holdout_spend_actual_mean", "holdout_spend_customers", "holdout_spend_predicted_mean",
               "holdout_spend_rmse", "holdout_revenue_actual_per_customer", "holdout_revenue_actual_total",
               "holdout_revenue_customers", "holdout_revenue_predicted_per_customer",
               "holdout_revenue_predicted_total", "holdout_revenue_rmse_per_customer"}
    assert set(summary["holdout"]) == holdout
    assert set(run.data.metrics) == {*fit, *(f"cal_{k}" for k in fit), *holdout, "n_customers", "n_distinct_tuples",
                                     "frequency_monetary_correlation", "gate_challenger_holdout_spend_rmse"}
    assert {k for k in run.data.tags if not k.startswith("mlflow.")} == {
        "correlation_warning", "env", "frequency_model", "gate_mode", "gate_passed", "gate_promoted", "gate_reason",
        "gda_clv_job_run_id", "gda_clv_run_id", "gda_clv_version", "git_commit", "region", "step"}
    assert {a.path for a in MlflowClient().list_artifacts(run.info.run_id)} == {
        "fits.json", "gate_decision.json", "tuning", *MODEL_IN_RUN_ARTIFACTS}
