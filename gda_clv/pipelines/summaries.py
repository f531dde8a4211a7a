"""The step summaries of train-frequency, train-monetary and project, and of ``gda-clv run`` around them.

They are plain dicts at run time (what ``--summary-json`` writes, in the order built by the steps); the TypedDicts
declare their keys for the readers: ``gda_clv.pipelines.run_all`` (outputs, plots, the printed report) and
``bench/race.py`` (phases, parity).
"""
from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from gda_clv.utils.registry import GateRecord

DataSummary = dict[str, str | float]
"""The training data's ``as_of`` and ``calibration_end`` (ISO dates) and the counts also logged as MLflow metrics."""
Holdout = dict[str, float]
"""Holdout metrics by name (their names carry the configured loss, e.g. ``holdout_rmse``)."""


class RegistrySummary(TypedDict):
    """The registered version and the gate's decision on it (``gda_clv.pipelines._training:promote``)."""

    model_uri: str
    registered_name: str
    version: str
    aliases: list[str]
    gate: GateRecord


class TuningSummary(TypedDict):
    """Whether a search ran, the chosen configuration's holdout loss and the number of trials."""

    tuned: bool
    loss: float
    trials: int


class FitSummary(TypedDict):
    """The calibration-period fit of a model (the scoring fit may be a full-period refit)."""

    params: dict[str, float]
    log_likelihood: float


class ModelFitSummary(TypedDict):
    """The registered (scoring) model: type, estimates, penalizer chosen and used."""

    type: str
    params: dict[str, float]
    standard_errors: dict[str, float]
    log_likelihood: float
    penalizer: float
    penalizer_used: float


class TrainingRunSummary(RegistrySummary):
    """Tuning, data, the MLflow run and the registry outcome of a training run (the summary's tail)."""

    tuning: TuningSummary
    data: DataSummary
    mlflow_run_id: str
    experiment: str


class TrainFrequencySummary(ModelFitSummary, TrainingRunSummary):
    """``gda-clv train-frequency``."""

    converged: bool
    refit_full: bool
    holdout: Holdout
    gate_holdout: Holdout
    calibration_fit: FitSummary


class CorrelationSummary(TypedDict):
    """The Gamma-Gamma independence check: frequency-spend correlation against its warning threshold."""

    frequency_monetary: float
    threshold: float
    warning: bool


class FrequencyModelRef(TypedDict):
    """The frequency model version train-monetary checked revenue with, and how it was found."""

    name: str
    version: str
    source: str


class TrainMonetarySummary(ModelFitSummary, TrainingRunSummary):
    """``gda-clv train-monetary``."""

    q_constraint: bool
    converged: bool
    refit_full: bool
    calibration_fit: FitSummary
    correlation: CorrelationSummary
    holdout: Holdout
    gate_holdout: Holdout
    frequency_model: FrequencyModelRef


class ModelUsed(TypedDict):
    """A model version project scored with."""

    name: str
    version: str
    run_id: str | None
    type: str
    params: dict[str, float]


class ModelsUsed(TypedDict):
    """Both model versions of a projection."""

    frequency: ModelUsed
    monetary: ModelUsed


class TopCustomer(TypedDict):
    """One row of the top customers by CLV."""

    customer_id: str
    clv: float
    p_alive: float
    frequency: float
    monetary_value: float
    expected_avg_spend: float
    value_tier: str


class ProjectSummary(TypedDict):
    """``gda-clv project``."""

    step: str
    as_of: str
    customers_scored: int
    distinct_input_tuples: int
    models: ModelsUsed
    targets_table: str
    feature_table: str
    predictions_path: str
    parquet_path: str
    csv_path: str | None
    lineage_path: str
    removed_runs: list[str]
    horizon_months: int
    horizon_units: dict[str, str]
    discount_rate: float
    clv_total: float
    clv_mean: float
    tier_thresholds: dict[str, float]
    tier_counts: dict[str, int]
    top_customers: list[TopCustomer]
    commit_id: str


class Timings(TypedDict):
    """Wall seconds of each step, their total and each logged phase (``<step>: <phase>``)."""

    steps: dict[str, float]
    total: float
    phases: dict[str, float]


class MlflowLocation(TypedDict):
    """Where the MLflow runs and models of a run are."""

    tracking_uri: str
    registry_uri: str
    experiment: str


class TableNames(TypedDict):
    """The tables a run read and wrote (the quarantine table once a run quarantined rows)."""

    features: str
    quarantine: str | None
    targets: str


class Outputs(TypedDict):
    """Where a run's results are: tables, prediction files, the local warehouse, MLflow, plots."""

    tables: TableNames
    predictions_path: str
    lineage_path: str
    warehouse: str | None
    mlflow: MlflowLocation
    plots: NotRequired[dict[str, str]]


class RunSummary(TypedDict):
    """``gda-clv run``: each step's summary under its key, then timings, outputs and the status."""

    run_id: str
    env: str
    prepare: dict[str, Any]  # prepare's and monitor's summaries are not typed yet
    train_frequency: TrainFrequencySummary
    train_monetary: TrainMonetarySummary
    project: ProjectSummary
    monitor: dict[str, Any]
    timings: Timings
    outputs: Outputs
    status: str
