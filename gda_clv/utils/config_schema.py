"""The typed shape of the merged configuration: every key a user may set, its type and default."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    """Unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class SourceColumns(_Strict):
    """``data.source.columns.*``: which source column holds each field the pipeline reads."""

    customer_id: str = "customer_id"
    transaction_date: str = "transaction_date"
    amount: str = "amount"
    transaction_id: Optional[str] = None


class SourceConfig(_Strict):
    """``data.source.*``: where the transactions are and how to read them (format, columns, dates, reader options)."""

    path: Optional[str] = None
    format: Literal["csv", "parquet", "table", "cdnow"] = "cdnow"
    columns: SourceColumns = Field(default_factory=SourceColumns)
    date_format: Optional[str] = None
    options: dict[str, str] = Field(default_factory=dict)


class OutlierConfig(_Strict):
    """``data.outliers.*``: what to do with customers whose spend is above a quantile."""

    rule: Literal["none", "cap", "drop_customers"] = "none"
    quantile: float = Field(0.99, gt=0, lt=1)


class ValidationBounds(_Strict):
    """``data.validation.*``: the plausible range of values; rows outside it are quarantined with the reason."""

    earliest_date: Optional[dt.date] = dt.date(1970, 1, 1)
    max_amount: Optional[float] = Field(1e9, gt=0)


class DataConfig(_Strict):
    """``data.*``: the transaction source, the calibration/observation dates and the validation rules of prepare."""

    source: SourceConfig = Field(default_factory=SourceConfig)
    calibration_end: Optional[dt.date] = None
    observation_end: Optional[dt.date] = None
    holdout_days: int = Field(273, gt=0)
    freq: Literal["D", "W", "M"] = "D"
    freq_multiplier: int = Field(1, gt=0)
    quarantine_max_share: float = Field(0.05, ge=0, le=1)
    keep_zero_amounts: bool = False
    validation: ValidationBounds = Field(default_factory=ValidationBounds)
    outliers: OutlierConfig = Field(default_factory=OutlierConfig)
    skip_if_unchanged: bool = False

    @model_validator(mode="after")
    def _calibration_before_observation(self) -> DataConfig:
        if self.calibration_end and self.observation_end and self.calibration_end >= self.observation_end:
            raise ValueError(
                f"calibration_end ({self.calibration_end}) must be before observation_end ({self.observation_end})"
            )
        return self


class TablesConfig(_Strict):
    """``tables.*``: the catalog, schema, table names and storage format of the pipeline's tables."""

    catalog: Optional[str] = None
    schema_: str = Field("clv_local", alias="schema")
    features: str = "clv_features"
    quarantine: str = "clv_quarantine"
    targets: str = "clv_predictions"
    monitoring: str = "clv_monitoring"
    format: Literal["parquet", "delta"] = "parquet"

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TuningConfig(_Strict):
    """``model.<family>.tuning.*``: the penalizer search (evaluations, range, loss, backend, seed)."""

    max_evals: int = Field(20, ge=0)
    penalizer_min: float = Field(1e-6, ge=0)
    penalizer_max: float = Field(0.1, gt=0)
    loss: Literal["rmse", "mae"] = "rmse"
    parallelism: int = Field(1, gt=0)
    seed: int = 42
    backend: Literal["hyperopt", "optuna"] = "hyperopt"

    @model_validator(mode="after")
    def _range(self) -> TuningConfig:
        if self.penalizer_min >= self.penalizer_max:
            raise ValueError(f"penalizer_min ({self.penalizer_min}) must be below penalizer_max ({self.penalizer_max})")
        return self


FrequencyType = Literal["bgnbd", "mbgnbd", "pareto_nbd"]


class FrequencyTuningConfig(TuningConfig):
    """``model.frequency.tuning.*``: the penalizer search plus the frequency model types it compares."""

    types: list[FrequencyType] = Field(default_factory=lambda: list[FrequencyType](["bgnbd"]))


class FrequencyModelConfig(_Strict):
    """``model.frequency.*``: the purchase-frequency model (BG/NBD, MBG/NBD or Pareto/NBD) and its fit."""

    type: FrequencyType = "bgnbd"
    penalizer: float = Field(0.0, ge=0)
    refit_full: bool = True
    tuning: FrequencyTuningConfig = Field(default_factory=FrequencyTuningConfig)


class MonetaryModelConfig(_Strict):
    """``model.monetary.*``: the Gamma-Gamma spend model, its fit and the frequency-spend correlation check."""

    penalizer: float = Field(0.0, ge=0)
    q_constraint: bool = True
    correlation_warn_threshold: float = Field(0.3, ge=0, le=1)
    tuning: TuningConfig = Field(default_factory=TuningConfig)


class GateConfig(_Strict):
    """``model.registry.gate.*``: whether a new version must beat the champion (and by how much) to be promoted."""

    mode: Literal["disabled", "dry_run", "enabled"] = "enabled"
    tolerance: float = Field(0.05, ge=0)


class RegistryConfig(_Strict):
    """``model.registry.*``: the registered model names and the promotion gate."""

    frequency_name: str = "clv_frequency"
    monetary_name: str = "clv_monetary"
    gate: GateConfig = Field(default_factory=GateConfig)


class ModelsConfig(_Strict):
    """``model.*``: the frequency model, the monetary model and the registry."""

    frequency: FrequencyModelConfig = Field(default_factory=FrequencyModelConfig)
    monetary: MonetaryModelConfig = Field(default_factory=MonetaryModelConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)


class MlflowConfig(_Strict):
    """``mlflow.*``: experiment path and tracking/registry URIs (unset: the backend's defaults)."""

    experiment: Optional[str] = None
    tracking_uri: Optional[str] = None
    registry_uri: Optional[str] = None


# A registry version given as 3 or "3" is the same version.
VersionText = Annotated[Optional[str], BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)]


class ModelVersions(_Strict):
    """``projection.model_versions.*``: registry versions to score with (unset: the champion alias)."""

    frequency: VersionText = None
    monetary: VersionText = None


class ProjectionConfig(_Strict):
    """``projection.*``: CLV horizon, discount rate, month convention and value tiers of the scoring step."""

    horizon_months: int = Field(12, gt=0)
    discount_rate: float = Field(0.01, ge=0, lt=1)
    horizons_days: list[int] = Field(default_factory=lambda: [30, 90, 365])
    month: Literal["calendar", "lifetimes"] = "calendar"
    tier_quantiles: list[float] = Field(default_factory=lambda: [0.5, 0.8, 0.95])
    tier_labels: list[str] = Field(default_factory=lambda: ["low", "medium", "high", "top"])
    model_versions: ModelVersions = Field(default_factory=ModelVersions)

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

    path: Optional[str] = None
    format: Literal["parquet"] = "parquet"
    write_csv: bool = False
    keep_last: int = Field(5, gt=0)


class MonitoringThresholds(_Strict):
    """Alert thresholds per metric (a metric without a threshold is recorded, never breached)."""

    psi: float = Field(0.2, gt=0)
    ks: float = Field(0.1, gt=0)
    tier_share_change: float = Field(0.05, gt=0)
    purchases_bias: float = Field(0.2, gt=0)
    revenue_bias: float = Field(0.25, gt=0)


class MonitoringConfig(_Strict):
    """``monitoring.*``: bins of the drift statistics, alert thresholds, whether an alert fails the step."""

    bins: int = Field(10, ge=2, le=100)
    thresholds: MonitoringThresholds = Field(default_factory=MonitoringThresholds)
    fail_on_alert: bool = False


class RuntimeConfig(_Strict):
    """``runtime.*``: backend (local or Databricks), local state dir, Spark master and logging."""

    backend: Literal["local", "databricks"] = "local"
    state_dir: str = ".gda_clv"
    spark_master: str = "local[*]"
    shuffle_partitions: int = Field(8, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metastore_url: Optional[str] = None


class Config(_Strict):
    """The whole merged configuration of one environment."""

    env: str
    region: str = "NOAM"
    data: DataConfig = Field(default_factory=DataConfig)
    tables: TablesConfig = Field(default_factory=TablesConfig)
    model: ModelsConfig = Field(default_factory=ModelsConfig)
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig)
    projection: ProjectionConfig = Field(default_factory=ProjectionConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig)
    deployment: dict[str, Any] = Field(default_factory=dict)
