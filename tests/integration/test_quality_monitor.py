"""The Lakehouse monitor of the predictions table through databricks-sdk, against a real HTTP server on 127.0.0.1
(the ``workspace`` fixture of test_api_workspace), and as the `gda-clv monitoring-setup` process."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gda_clv.errors import ConfigError
from gda_clv.utils.api.quality_monitor import ensure_monitor, monitor_spec
from gda_clv.utils.config_utils import load_config
from gda_clv.utils.job_gen import load_settings
from tests.integration.test_api_workspace import REPO, FakeWorkspace, workspace  # noqa: F401 - the fixture
from tests.unit.utils.deployment import deployment

TABLE = "gda_dev.clv.clv_predictions"
MONITOR = f"/api/2.1/unity-catalog/tables/{TABLE}/monitor"


def serve_monitors(fake: FakeWorkspace, tables: set[str]) -> dict[str, dict[str, Any]]:
    """Make ``fake`` answer the quality-monitor REST paths for the existing ``tables``; returns its monitors."""
    monitors: dict[str, dict[str, Any]] = {}
    answer = fake.answer

    def monitor_answer(method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        if not (path.startswith("/api/2.1/unity-catalog/tables/") and path.endswith("/monitor")):
            return answer(method, path, body)
        fake.calls.append((method, path, body))
        table = path.split("/")[-2]
        if table not in tables:
            return 404, {"error_code": "TABLE_DOES_NOT_EXIST", "message": f"Table '{table}' does not exist."}
        if method == "GET":
            if table not in monitors:
                return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Monitor for {table} not found"}
            return 200, monitors[table]
        if method == "POST" and table in monitors:
            return 409, {"error_code": "RESOURCE_ALREADY_EXISTS", "message": "Monitor already exists"}
        if method == "PUT" and table not in monitors:
            return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Monitor for {table} not found"}
        dashboard = monitors.get(table, {}).get("dashboard_id", "dash-1")
        monitors[table] = {**body, "table_name": table, "status": "MONITOR_STATUS_ACTIVE", "dashboard_id": dashboard,
                           "profile_metrics_table_name": f"{table}_profile_metrics",
                           "drift_metrics_table_name": f"{table}_drift_metrics"}
        return 200, monitors[table]

    fake.answer = monitor_answer  # type: ignore[method-assign]
    return monitors


def dev_spec() -> Any:
    return monitor_spec("dev", load_settings(REPO / "conf" / "environments", "dev"), TABLE)


def test_monitor_is_created_then_updated_with_the_same_dashboard(workspace: FakeWorkspace) -> None:  # noqa: F811
    monitors = serve_monitors(workspace, {TABLE})
    first = ensure_monitor(dev_spec())
    assert first["action"] == "created" and first["drift_metrics_table"] == f"{TABLE}_drift_metrics"
    created = next(body for method, path, body in workspace.calls if method == "POST")
    assert created["time_series"] == {"timestamp_col": "as_of", "granularities": ["1 day"]}
    assert created["output_schema_name"] == "gda_dev.clv"
    assert created["assets_dir"] == "/Shared/gda_clv/dev/monitoring"
    assert created["slicing_exprs"] == ["value_tier"]
    assert created["schedule"] == {"quartz_cron_expression": "0 0 9 * * ?", "timezone_id": "UTC"}
    assert created["notifications"] == {"on_failure": {"email_addresses": ["clv-dev-alerts@example.com"]}}
    second = ensure_monitor(dev_spec())
    assert second["action"] == "updated" and second["dashboard_id"] == "dash-1"
    methods = [method for method, path, _ in workspace.calls if path == MONITOR]
    assert methods == ["GET", "POST", "GET", "PUT"]
    updated = [body for method, path, body in workspace.calls if method == "PUT"][0]
    assert updated["dashboard_id"] == "dash-1" and "assets_dir" not in updated
    assert list(monitors) == [TABLE]


def test_missing_table_asks_for_a_scoring_run(workspace: FakeWorkspace) -> None:  # noqa: F811
    serve_monitors(workspace, set())
    with pytest.raises(ConfigError, match=r"the table does not exist yet; run the clv-scoring job"):
        ensure_monitor(dev_spec())


def test_403_names_the_rights(workspace: FakeWorkspace) -> None:  # noqa: F811
    workspace.routes[("GET", MONITOR)] = (403, {"error_code": "PERMISSION_DENIED", "message": "User lacks MANAGE"})
    with pytest.raises(ConfigError) as info:
        ensure_monitor(dev_spec())
    assert str(info.value).startswith(
        f"permission denied setting up the Lakehouse monitor of {TABLE}: the caller needs USE CATALOG and USE SCHEMA, "
        f"SELECT and MANAGE (or ownership) on the table {TABLE}, and CREATE TABLE on the schema gda_dev.clv")


def test_a_table_without_catalog_and_schema_names_the_keys() -> None:
    expected = "needs a Unity Catalog name catalog.schema.table for Lakehouse Monitoring; set tables.catalog"
    with pytest.raises(ConfigError, match=expected):
        monitor_spec("dev", deployment(), "clv_local.clv_predictions")


@pytest.mark.parametrize(("setting", "expected"), [
    ("deployment.quality_monitor.schedul=0 0 9 * * ?", "unknown key 'deployment.quality_monitor.schedul'"),
    ("deployment.quality_monitor.slicing_exprs=value_tier",
     "'deployment.quality_monitor.slicing_exprs' must be a list"),
])
def test_bad_settings_name_the_key(setting: str, expected: str) -> None:
    """The monitor's settings are checked by the config schema, with the key and the layer that set it."""
    with pytest.raises(ConfigError) as info:
        load_config("dev", overrides=[setting])
    assert expected in str(info.value) and f"(from --set {setting})" in str(info.value)


def test_the_spec_comes_from_the_typed_settings() -> None:
    spec = monitor_spec("prod", deployment(quality_monitor={
        "schedule": "0 0 6 * * ?", "timezone": "Europe/Paris", "granularities": ["1 week"], "slicing_exprs": [],
        "output_schema": "gda_prod.monitoring", "warehouse_id": "0123456789abcdef"},
        notifications={"on_failure": ["a@example.com"]}), TABLE)
    assert (spec.schedule, spec.timezone, spec.granularities, spec.slicing_exprs) == \
        ("0 0 6 * * ?", "Europe/Paris", ["1 week"], [])
    assert (spec.output_schema_name, spec.warehouse_id, spec.emails) == \
        ("gda_prod.monitoring", "0123456789abcdef", ["a@example.com"])
    assert spec.assets_dir == "/Shared/gda_clv/prod/monitoring"


def test_monitoring_setup_command_is_idempotent(workspace: FakeWorkspace, tmp_path: Path) -> None:  # noqa: F811
    """`gda-clv monitoring-setup --env dev` twice, each its own process: one monitor, created then updated."""
    monitors = serve_monitors(workspace, {TABLE})
    workspace.routes[("POST", f"{MONITOR}/refreshes")] = (200, {"refresh_id": 7, "state": "PENDING"})
    for action in ("created", "updated"):
        summary = tmp_path / f"{action}.json"
        done = subprocess.run(
            [str(Path(sys.executable).parent / "gda-clv"), "monitoring-setup", "--env", "dev", "--refresh",
             "--summary-json", str(summary)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert done.returncode == 0, done.stderr
        result = json.loads(summary.read_text())["quality_monitor"]
        assert result["action"] == action and result["refresh"] == {"refresh_id": 7, "state": "PENDING"}
    assert list(monitors) == [TABLE]
