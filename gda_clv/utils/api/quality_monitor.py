"""`gda-clv monitoring-setup --env ENV`: a Lakehouse Monitoring monitor on the predictions table (databricks-sdk).

A time-series monitor over ``as_of`` (one window per scoring day, sliced by value tier): Databricks profiles every
column of each window and computes the drift against the window before, writing
``<predictions>_profile_metrics`` and ``<predictions>_drift_metrics`` to the output schema and refreshing on its
schedule. Idempotent: created when absent, updated (same dashboard) when present. Settings:
``deployment.quality_monitor`` of the environment file; the failure e-mails of ``deployment.notifications``.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from gda_clv.errors import ConfigError
from gda_clv.names import AS_OF
from gda_clv.utils.api.client import denied, workspace_client
from gda_clv.utils.config_schema import DeploymentConfig
from gda_clv.utils.workspace_paths import workspace_root

NEEDED = ("USE CATALOG and USE SCHEMA, SELECT and MANAGE (or ownership) on the table {table}, "
          "and CREATE TABLE on the schema {schema}")


@dataclass(frozen=True)
class MonitorSpec:
    """What the monitor of one environment must look like (:func:`monitor_spec` builds it from the config)."""

    table_name: str
    output_schema_name: str
    assets_dir: str
    schedule: str
    timezone: str
    granularities: list[str]
    slicing_exprs: list[str]
    emails: list[str]
    warehouse_id: str | None

    def fields(self) -> dict[str, Any]:
        """Keyword arguments of both ``quality_monitors.create`` and ``.update``."""
        from databricks.sdk.service.catalog import (
            MonitorCronSchedule,
            MonitorDestination,
            MonitorNotifications,
            MonitorTimeSeries,
        )

        notifications = MonitorNotifications(on_failure=MonitorDestination(email_addresses=self.emails)) \
            if self.emails else None
        return {
            "output_schema_name": self.output_schema_name,
            "time_series": MonitorTimeSeries(timestamp_col=AS_OF, granularities=list(self.granularities)),
            "schedule": MonitorCronSchedule(quartz_cron_expression=self.schedule, timezone_id=self.timezone),
            "slicing_exprs": list(self.slicing_exprs),
            "notifications": notifications,
        }


def monitor_spec(env: str, settings: DeploymentConfig, table_name: str) -> MonitorSpec:
    """The spec from an environment's validated ``deployment`` section and the predictions table's full name.

    Raises ConfigError for a table name without catalog and schema.
    """
    own = settings.quality_monitor
    if table_name.count(".") != 2:
        raise ConfigError(f"environment '{env}': the predictions table '{table_name}' needs a Unity Catalog name "
                          "catalog.schema.table for Lakehouse Monitoring; set tables.catalog and tables.schema")
    return MonitorSpec(
        table_name=table_name, output_schema_name=own.output_schema or table_name.rsplit(".", 1)[0],
        assets_dir=f"{workspace_root(env, settings)}/monitoring", schedule=own.schedule, timezone=own.timezone,
        granularities=list(own.granularities), slicing_exprs=list(own.slicing_exprs),
        emails=list(settings.notifications.get("on_failure", [])), warehouse_id=own.warehouse_id,
    )


def ensure_monitor(spec: MonitorSpec, client: Any = None, refresh: bool = False) -> dict[str, Any]:
    """Create the monitor of ``spec.table_name`` if absent, else update it to ``spec`` (``refresh``: then start a
    refresh); returns what was done.

    Raises ConfigError naming the missing right on a 403, and asking for a scoring run when the table is missing.
    """
    from databricks.sdk.errors import NotFound, PermissionDenied
    from databricks.sdk.errors.base import DatabricksError

    client = client or workspace_client()
    table, schema = spec.table_name, spec.output_schema_name
    right = NEEDED.format(table=table, schema=schema)
    try:
        try:
            existing = client.quality_monitors.get(table)
        except NotFound:
            existing = None
        if existing is None:
            info = client.quality_monitors.create(table, assets_dir=spec.assets_dir,
                                                  warehouse_id=spec.warehouse_id, **spec.fields())
            action = "created"
        else:
            info = client.quality_monitors.update(table, dashboard_id=existing.dashboard_id, **spec.fields())
            action = "updated"
        started = client.quality_monitors.run_refresh(table) if refresh else None
    except PermissionDenied as exc:
        raise denied(f"setting up the Lakehouse monitor of {table}", right, exc) from None
    except NotFound as exc:
        raise ConfigError(f"Lakehouse monitor of {table}: the table does not exist yet; run the clv-scoring job "
                          f"(or `gda-clv project`) once, then this command (Databricks said: {exc})") from None
    except DatabricksError as exc:
        raise ConfigError(f"Lakehouse monitor of {table}: Databricks rejected it: {exc}") from None
    return {"table": table, "action": action, "output_schema": schema, "assets_dir": spec.assets_dir,
            "status": getattr(info.status, "value", None), "dashboard_id": info.dashboard_id,
            "profile_metrics_table": info.profile_metrics_table_name,
            "drift_metrics_table": info.drift_metrics_table_name,
            "refresh": None if started is None else {"refresh_id": started.refresh_id,
                                                     "state": getattr(started.state, "value", None)}}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `gda-clv monitoring-setup` (``--env`` is the environment)."""
    parser.add_argument("--refresh", action="store_true", help="start a refresh of the monitor after setting it up")


def run_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Create or update the monitor of ``args.env``'s predictions table; ``--refresh`` starts a refresh.

    Raises ConfigError for bad settings, missing rights or a missing table.
    """
    from gda_clv.utils.common import TargetsTableConfig
    from gda_clv.utils.config_utils import default_conf_dir, load_config
    from gda_clv.utils.job_gen import load_settings

    config = load_config(args.env, conf_files=tuple(args.conf_file), overrides=tuple(args.overrides))
    tables = config.tables
    table = TargetsTableConfig(catalog=tables.catalog, schema=tables.schema_, table=tables.targets).full_name
    spec = monitor_spec(args.env, load_settings(default_conf_dir() / "environments", args.env), table)
    return {"environment": args.env, "quality_monitor": ensure_monitor(spec, workspace_client(), args.refresh)}
