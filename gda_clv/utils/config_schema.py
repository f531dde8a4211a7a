"""The typed shape of the merged configuration: every key, its type and its constraints.

Defaults live in one place, the shipped YAML: conf/base.yml and conf/models/<region>/clv.yml (the schema has none, so a
key missing from them is an error naming it, not a silent second default)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from gda_clv.utils.spark_master import parse_master


class _Strict(BaseModel):
    """Unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class SourceColumns(_Strict):
    """``data.source.columns.*``: which source column holds each field the pipeline reads."""

    customer_id: str
    transaction_date: str
    amount: str
    transaction_id: Optional[str]


class SourceConfig(_Strict):
    """``data.source.*``: where the transactions are and how to read them (format, columns, dates, reader options)."""

    path: Optional[str]
    format: Literal["csv", "parquet", "table", "cdnow"]
    columns: SourceColumns
    date_format: Optional[str]
    options: dict[str, str]


class OutlierConfig(_Strict):
    """``data.outliers.*``: what to do with customers whose spend is above a quantile."""

    rule: Literal["none", "cap", "drop_customers"]
    quantile: float = Field(gt=0, lt=1)


class ValidationBounds(_Strict):
    """``data.validation.*``: the plausible range of values; rows outside it are quarantined with the reason."""

    earliest_date: Optional[dt.date]
    max_amount: Optional[float] = Field(gt=0)


class DataConfig(_Strict):
    """``data.*``: the transaction source, the calibration/observation dates and the validation rules of prepare."""

    source: SourceConfig
    calibration_end: Optional[dt.date]
    observation_end: Optional[dt.date]
    holdout_days: int = Field(gt=0)
    freq: Literal["D", "W", "M"]
    freq_multiplier: int = Field(gt=0)
    quarantine_max_share: float = Field(ge=0, le=1)
    keep_zero_amounts: bool
    validation: ValidationBounds
    outliers: OutlierConfig
    skip_if_unchanged: bool

    @model_validator(mode="after")
    def _calibration_before_observation(self) -> DataConfig:
        if self.calibration_end and self.observation_end and self.calibration_end >= self.observation_end:
            raise ValueError(
                f"calibration_end ({self.calibration_end}) must be before observation_end ({self.observation_end})"
            )
        return self


class TablesConfig(_Strict):
    """``tables.*``: the catalog, schema, table names and storage format of the pipeline's tables."""

    catalog: Optional[str]
    schema_: str = Field(alias="schema")
    features: str
    quarantine: str
    targets: str
    monitoring: str
    format: Literal["parquet", "delta"]

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TuningConfig(_Strict):
    """``model.<family>.tuning.*``: the penalizer search (evaluations, range, loss, backend, seed)."""

    max_evals: int = Field(ge=0)
    penalizer_min: float = Field(ge=0)
    penalizer_max: float = Field(gt=0)
    loss: Literal["rmse", "mae"]
    parallelism: int = Field(gt=0)
    seed: int
    backend: Literal["hyperopt", "optuna"]

    @model_validator(mode="after")
    def _range(self) -> TuningConfig:
        if self.penalizer_min >= self.penalizer_max:
            raise ValueError(f"penalizer_min ({self.penalizer_min}) must be below penalizer_max ({self.penalizer_max})")
        return self


FrequencyType = Literal["bgnbd", "mbgnbd", "pareto_nbd"]


class FrequencyTuningConfig(TuningConfig):
    """``model.frequency.tuning.*``: the penalizer search plus the frequency model types it compares."""

    types: list[FrequencyType]


class FrequencyModelConfig(_Strict):
    """``model.frequency.*``: the purchase-frequency model (BG/NBD, MBG/NBD or Pareto/NBD) and its fit."""

    type: FrequencyType
    penalizer: float = Field(ge=0)
    refit_full: bool
    tuning: FrequencyTuningConfig


class MonetaryModelConfig(_Strict):
    """``model.monetary.*``: the Gamma-Gamma spend model, its fit and the frequency-spend correlation check."""

    penalizer: float = Field(ge=0)
    q_constraint: bool
    correlation_warn_threshold: float = Field(ge=0, le=1)
    tuning: TuningConfig


class GateConfig(_Strict):
    """``model.registry.gate.*``: whether a new version must beat the champion (and by how much) to be promoted."""

    mode: Literal["disabled", "dry_run", "enabled"]
    tolerance: float = Field(ge=0)


class RegistryConfig(_Strict):
    """``model.registry.*``: the registered model names and the promotion gate."""

    frequency_name: str
    monetary_name: str
    gate: GateConfig


class ModelsConfig(_Strict):
    """``model.*``: the frequency model, the monetary model and the registry."""

    frequency: FrequencyModelConfig
    monetary: MonetaryModelConfig
    registry: RegistryConfig


class MlflowConfig(_Strict):
    """``mlflow.*``: experiment path and tracking/registry URIs (unset: the backend's defaults)."""

    experiment: Optional[str]
    tracking_uri: Optional[str]
    registry_uri: Optional[str]


# A registry version given as 3 or "3" is the same version.
VersionText = Annotated[Optional[str], BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)]


class ModelVersions(_Strict):
    """``projection.model_versions.*``: registry versions to score with (unset: the champion alias)."""

    frequency: VersionText
    monetary: VersionText


class ProjectionConfig(_Strict):
    """``projection.*``: CLV horizon, discount rate, month convention and value tiers of the scoring step."""

    horizon_months: int = Field(gt=0)
    discount_rate: float = Field(ge=0, lt=1)
    horizons_days: list[int]
    month: Literal["calendar", "lifetimes"]
    tier_quantiles: list[float]
    tier_labels: list[str]
    model_versions: ModelVersions

    @model_validator(mode="after")
    def _tiers(self) -> ProjectionConfig:
        if len(self.tier_labels) != len(self.tier_quantiles) + 1:
            raise ValueError(
                f"tier_labels needs one more entry than tier_quantiles "
                f"({len(self.tier_quantiles)} quantiles, {len(self.tier_labels)} labels)"
            )
        if any(not 0 < q < 1 for q in self.tier_quantiles) or self.tier_quantiles != sorted(self.tier_quantiles):
            raise ValueError(f"tier_quantiles must be increasing and inside (0, 1), got {self.tier_quantiles}")
        return self


class OutputConfig(_Strict):
    """``output.*``: where prediction files go, their format and how many runs are kept."""

    path: Optional[str]
    format: Literal["parquet"]
    write_csv: bool
    keep_last: int = Field(gt=0)


class MonitoringThresholds(_Strict):
    """Alert thresholds per metric (a metric without a threshold is recorded, never breached)."""

    psi: float = Field(gt=0)
    ks: float = Field(gt=0)
    tier_share_change: float = Field(gt=0)
    purchases_bias: float = Field(gt=0)
    revenue_bias: float = Field(gt=0)
    transactions_per_day_change: float = Field(gt=0)
    new_customer_share_change: float = Field(gt=0)
    quarantine_share_change: float = Field(gt=0)


class MonitoringConfig(_Strict):
    """``monitoring.*``: bins of the drift statistics, alert thresholds, whether an alert fails the step."""

    bins: int = Field(ge=2, le=100)
    input_window_days: int = Field(ge=1)
    thresholds: MonitoringThresholds
    fail_on_alert: bool


class RuntimeConfig(_Strict):
    """``runtime.*``: backend (local or Databricks), local state dir, Spark master and logging."""

    backend: Literal["local", "databricks"]
    state_dir: str
    spark_master: str
    shuffle_partitions: int = Field(gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"]
    metastore_url: Optional[str]

    @field_validator("spark_master")
    @classmethod
    def _local_master(cls, master: str) -> str:
        """Raises ValueError (a ConfigError naming the key) unless ``master`` is a local master gda_clv can start."""
        parse_master(master)
        return master


class Config(_Strict):
    """The whole merged configuration of one environment."""

    env: str
    region: str
    data: DataConfig
    tables: TablesConfig
    model: ModelsConfig
    mlflow: MlflowConfig
    projection: ProjectionConfig
    output: OutputConfig
    monitoring: MonitoringConfig
    runtime: RuntimeConfig
    deployment: dict[str, Any]
