"""The human report of `gda-clv run`, from a nested summary (no Spark, no MLflow)."""
from __future__ import annotations

from gda_clv.pipelines import run_all

SUMMARY = {
    "run_id": "20240501T101530-abcd1234",
    "env": "local",
    "timings": {"steps": {"prepare": 5.0, "train-frequency": 3.25, "train-monetary": 2.0, "project": 1.5},
                "total": 11.75},
    "train_frequency": {
        "gate_holdout": {"holdout_actual_purchases": 900.0, "holdout_predicted_purchases": 1100.0},
        "holdout": {"holdout_actual_purchases": 1000.0, "holdout_predicted_purchases": 950.0},
        "mlflow_run_id": "runf",
        "gate": {"challenger_version": "2", "reason": "challenger holdout_rmse=1 is within champion v1"},
    },
    "train_monetary": {
        "holdout": {"holdout_revenue_actual_total": 2000.0, "holdout_revenue_predicted_total": 2100.0},
        "mlflow_run_id": "runm",
        "gate": {"challenger_version": "1", "reason": "no champion yet: the first model becomes champion"},
    },
    "project": {
        "customers_scored": 1234, "as_of": "1998-06-30", "distinct_input_tuples": 321, "horizon_months": 12,
        "clv_total": 5000.0, "clv_mean": 4.05, "csv_path": None,
        "models": {"frequency": {"name": "clv_frequency", "version": "2"},
                   "monetary": {"name": "clv_monetary", "version": "1"}},
        "top_customers": [{"customer_id": "00042", "clv": 1234.5, "p_alive": 0.97, "frequency": 12.0,
                           "monetary_value": 40.0, "expected_avg_spend": 41.25, "value_tier": "top"}],
    },
    "outputs": {
        "tables": {"features": "s.clv_features", "targets": "s.clv_predictions", "quarantine": "s.clv_quarantine"},
        "predictions_path": "/state/output/2024-05-01/101530Z_x", "warehouse": "/state/spark-warehouse",
        "mlflow": {"experiment": "gda_clv-local-NOAM", "tracking_uri": "sqlite:////state/mlflow.db"},
        "plots": {"train_frequency": "file:///state/mlartifacts/runf/artifacts/plots"},
    },
}


def test_report_lines() -> None:
    text = run_all.report(SUMMARY, "mlflow ui --backend-store-uri sqlite:////state/mlflow.db")
    lines = text.splitlines()
    assert lines[1] == "gda_clv run 20240501T101530-abcd1234 (local) finished in 11.8s"
    assert lines[2] == (
        "Customers scored: 1,234 at as_of 1998-06-30 (321 distinct inputs); total 12-month CLV 5,000.00, mean 4.05"
    )
    # the calibration fit's holdout check, not the full-period refit's
    assert "  repeat transactions: actual 1,000  predicted 950.0  (-5.0%)" in lines
    assert "  revenue:             actual 2,000.00  predicted 2,100.00  (+5.0%)" in lines
    assert "Models used: clv_frequency v2, clv_monetary v1" in lines
    assert "  gate frequency v2: challenger holdout_rmse=1 is within champion v1" in lines
    assert "         00042     1,234.50    0.970        12      41.25  top" in lines
    assert "  plots:       file:///state/mlartifacts/runf/artifacts/plots" in lines
    assert "Timings: prepare 5.0s, train-frequency 3.2s, train-monetary 2.0s, project 1.5s" in lines
    assert lines[-1] == "Open the MLflow UI: mlflow ui --backend-store-uri sqlite:////state/mlflow.db"


def test_report_without_holdout_metrics_or_local_ui() -> None:
    summary = {**SUMMARY, "train_frequency": {}, "train_monetary": {}}
    text = run_all.report(summary, None)
    assert "  (no holdout metrics in the training summaries)" in text.splitlines()
    assert "Open the MLflow UI" not in text
