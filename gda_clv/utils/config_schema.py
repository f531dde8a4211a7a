"""The typed shape of the merged configuration: every key, its type and its constraints.

Defaults live in one place, the shipped YAML: conf/base.yml and conf/models/<region>/clv.yml (the schema has none, so a
key missing from them is an error naming it, not a silent second default)."""
from __future__ import annotations

import datetime as dt
import re
import typing
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from gda_clv.utils.spark_master import parse_master


class _Strict(BaseModel):
    """Unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


def _matching(pattern: re.Pattern[str], fix: str) -> AfterValidator:
    """A text check: ``pattern`` must match the whole value, else the error says ``fix``."""
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"{value!r} {fix}")
        return value
    return AfterValidator(check)


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

    @model_validator(mode="after")
    def _path_unless_cdnow(self) -> SourceConfig:
        if self.path is None and self.format != "cdnow":
            what = "a table name" if self.format == "table" else "a file or folder path"
            raise ValueError(f"path is required for format {self.format}: set data.source.path to {what}")
        return self


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
    input_summary: str
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

    types: list[FrequencyType] = Field(min_length=1)


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


GateMode = Literal["disabled", "dry_run", "enabled"]


class GateConfig(_Strict):
    """``model.registry.gate.*``: whether a new version must beat the champion (and by how much) to be promoted."""

    mode: GateMode
    tolerance: float = Field(ge=0, allow_inf_nan=False)


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
    horizons_days: list[Annotated[int, Field(gt=0)]]
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


def _local_master(master: str) -> str:
    """``master`` if gda_clv can start it; raises ValueError (a ConfigError naming the key) naming the forms."""
    parse_master(master)
    return master


class RuntimeConfig(_Strict):
    """``runtime.*``: backend (local or Databricks), local state dir, Spark master and logging."""

    backend: Literal["local", "databricks"]
    state_dir: str
    spark_master: Annotated[str, AfterValidator(_local_master)]
    shuffle_partitions: int = Field(gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"]
    metastore_url: Optional[Annotated[str, _matching(re.compile(r"^jdbc:postgresql:"), (
        "is not a jdbc:postgresql:// URL; leave it null for the embedded Derby metastore"))]]
    jit: Literal["auto", "quick", "full"]


# ---- deployment: how gda-clv job-gen, workspace-setup and monitoring-setup deploy an environment ----

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
UC_VOLUME = re.compile(r"^/Volumes/[^/]+/[^/]+/[^/]+/?$")
WAREHOUSE_ID = re.compile(r"^[0-9a-f]{16}$")
JobEvent = Literal["on_start", "on_success", "on_failure", "on_duration_warning_threshold_exceeded",
                   "on_streaming_backlog_exceeded"]
JobLevel = Literal["CAN_VIEW", "CAN_MANAGE_RUN", "IS_OWNER", "CAN_MANAGE"]
ExperimentLevel = Literal["CAN_READ", "CAN_EDIT", "CAN_MANAGE"]
ModelPrivilege = Literal["ALL_PRIVILEGES", "APPLY_TAG", "EXECUTE", "MANAGE"]
PRINCIPAL_KEYS = ("user_name", "group_name", "service_principal_name")


ApplicationId = Annotated[str, _matching(UUID, (
    "is not a UUID; it must be the service principal's application id (Databricks account console > Service "
    "principals > Application ID), not its display name"))]
DestinationId = Annotated[str, _matching(UUID, (
    "is not a notification destination id (a UUID: workspace settings > Notifications > Manage destinations > "
    "copy the id of the destination)"))]
EmailAddress = Annotated[str, _matching(re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), "is not an e-mail address")]
WorkspacePath = Annotated[str, _matching(re.compile(r"^/[^/]+"), "must be an absolute workspace path like /Shared/x")]
VolumePath = Annotated[str, _matching(UC_VOLUME, (
    "must be a Unity Catalog volume /Volumes/<catalog>/<schema>/<volume> (DBFS root is disabled on new workspaces)"))]
WarehouseId = Annotated[str, _matching(WAREHOUSE_ID, (
    "is not a SQL warehouse id (16 hex digits: SQL Warehouses > the warehouse > Overview > Name and ID)"))]
ModelName = Annotated[str, _matching(re.compile(r"^[^.\s]+\.[^.\s]+\.[^.\s]+$"), (
    "is not a Unity Catalog model name catalog.schema.model"))]

class UserAccess(_Strict):
    """An access-list entry for a user (by e-mail)."""

    user_name: str
    permission_level: str


class GroupAccess(_Strict):
    """An access-list entry for a workspace group."""

    group_name: str
    permission_level: str


class ServicePrincipalAccess(_Strict):
    """An access-list entry for a service principal, named by its application id."""

    service_principal_name: ApplicationId
    permission_level: str


def _principal(entry: Any) -> Optional[str]:
    """The tag of an access-list entry: the one principal key it has (``[group_name]``), None for none or several."""
    keys = [k for k in PRINCIPAL_KEYS
            if (k in entry if isinstance(entry, dict) else getattr(entry, k, None) is not None)]
    return f"[{keys[0]}]" if len(keys) == 1 else None


# An entry names exactly one principal; the errors of an entry are on its own keys (the tags leave error keys).
_ONE_PRINCIPAL = Discriminator(_principal, custom_error_type="one_principal",
                               custom_error_message=f"each entry needs exactly one of {', '.join(PRINCIPAL_KEYS)}")
AccessEntry = Annotated[Union[Annotated[UserAccess, Tag("[user_name]")], Annotated[GroupAccess, Tag("[group_name]")],
                              Annotated[ServicePrincipalAccess, Tag("[service_principal_name]")]], _ONE_PRINCIPAL]


def _levels(what: str, *levels: str) -> AfterValidator:
    """An access-list entry's permission_level must be one of ``levels`` (those of ``what``)."""
    def check(entry: AccessEntry) -> AccessEntry:
        if entry.permission_level not in levels:
            raise ValueError(f"permission_level {entry.permission_level!r} is not a permission on {what}; "
                             f"use one of {', '.join(levels)}")
        return entry
    return AfterValidator(check)


JobAccess = Annotated[AccessEntry, _levels("a job", *typing.get_args(JobLevel))]
ExperimentAccess = Annotated[AccessEntry, _levels("an experiment", *typing.get_args(ExperimentLevel))]


class ModelGrant(_Strict):
    """``deployment.permissions.models.<model>[]``: Unity Catalog privileges a principal gets on a registered model."""

    principal: str
    privileges: list[ModelPrivilege] = Field(min_length=1)


class PermissionsConfig(_Strict):
    """``deployment.permissions.*``: the jobs' MLflow experiment access list and the registered models' grants."""

    experiment: list[ExperimentAccess]
    models: dict[ModelName, list[ModelGrant]]


class WorkspaceConfig(_Strict):
    """``deployment.workspace.*``: the workspace root folder, the Unity Catalog volume and the regions deployed."""

    root: Optional[WorkspacePath]
    volume: Optional[VolumePath]
    regions: list[str]


class QualityMonitorConfig(_Strict):
    """``deployment.quality_monitor.*``: the Lakehouse monitor of the predictions table (gda-clv monitoring-setup)."""

    schedule: str
    timezone: str
    granularities: list[str] = Field(min_length=1)
    slicing_exprs: list[str]
    output_schema: Optional[str]
    warehouse_id: Optional[WarehouseId]


class DashboardConfig(_Strict):
    """``deployment.dashboard.*``: the AI/BI dashboard of the bundle; no ``warehouse_id``, no dashboard."""

    warehouse_id: Optional[WarehouseId]
    parent_path: Optional[WorkspacePath]
    embed_credentials: bool

    @model_validator(mode="after")
    def _needs_warehouse(self) -> DashboardConfig:
        if self.warehouse_id is None and (self.parent_path is not None or self.embed_credentials):
            raise ValueError("warehouse_id is needed (the SQL warehouse the dashboard queries with); "
                             "without it there is no dashboard")
        return self


class DeploymentConfig(_Strict):
    """``deployment.*``: how conf/templates.yml becomes this environment's jobs, folders, grants and monitors.

    conf/base.yml leaves the keys of :class:`DeployableConfig` unset: an environment that sets them can be deployed.
    """

    job_name_prefix: Optional[str]
    spark_version: Optional[str]
    cluster_sizes: dict[str, dict[str, Any]]
    pause_schedules: bool
    notifications: dict[JobEvent, list[EmailAddress]]
    webhook_notifications: dict[JobEvent, list[DestinationId]]
    access_control: list[JobAccess]
    remove_tasks: dict[str, list[str]]
    workspace: WorkspaceConfig
    permissions: PermissionsConfig
    quality_monitor: QualityMonitorConfig
    dashboard: DashboardConfig



def _needed(value: Any) -> Any:
    """A key conf/base.yml leaves unset (null, {}) that a deployed environment must set."""
    if value is None or value == {}:
        raise ValueError("is needed to deploy this environment: set it in its conf/environments/<env>.yml "
                         "(conf/environments/dev.yml is an example)")
    return value


_NEEDED = BeforeValidator(_needed)


class DeployableWorkspace(WorkspaceConfig):
    """``deployment.workspace.*`` of a deployed environment: the volume is set."""

    volume: Annotated[VolumePath, _NEEDED]


class DeployableConfig(DeploymentConfig):
    """``deployment.*`` of an environment job-gen renders: the keys conf/base.yml leaves unset are set."""

    job_name_prefix: Annotated[str, _NEEDED]
    spark_version: Annotated[str, _NEEDED]
    cluster_sizes: Annotated[dict[str, dict[str, Any]], _NEEDED]
    workspace: DeployableWorkspace


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
    deployment: DeploymentConfig
