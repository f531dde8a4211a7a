"""Workspace folders and permissions through databricks-sdk against a real HTTP server on 127.0.0.1."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import yaml

from gda_clv.errors import ConfigError
from gda_clv.utils.api.client import workspace_client
from gda_clv.utils.api.make_ws_dir import make_workspace_dirs
from gda_clv.utils.api.permissions import apply_env_permissions, grant_model_privileges, set_job_permissions
from tests.unit.utils.deployment import deployment

REPO = Path(__file__).resolve().parents[2]


class FakeWorkspace:
    """Answers Databricks REST calls from ``routes`` and records every request (method, path, body)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.folders: set[str] = set()
        self.experiments: dict[str, str] = {}
        self.routes: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}

    def answer(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        self.calls.append((method, path, body))
        if (method, path) in self.routes:
            return self.routes[(method, path)]
        if path.startswith("/api/2.0/workspace/get-status?path="):
            folder = unquote(path.split("=", 1)[1])
            if folder in self.folders:
                return 200, {"path": folder, "object_type": "DIRECTORY", "object_id": 1}
            return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Path ({folder}) doesn't exist."}
        if path == "/api/2.0/workspace/mkdirs":
            self.folders.add(body["path"])
            return 200, {}
        if path.startswith("/api/2.0/mlflow/experiments/get-by-name?experiment_name="):
            name = unquote(path.split("=", 1)[1])
            if name in self.experiments:
                return 200, {"experiment": {"experiment_id": self.experiments[name], "name": name}}
            return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Experiment '{name}' does not exist."}
        if path == "/api/2.0/mlflow/experiments/create":
            parent = body["name"].rsplit("/", 1)[0]
            if parent not in self.folders or body["name"] in self.folders:
                return 404 if parent not in self.folders else 400, {
                    "error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Parent directory {parent} does not exist."}
            self.experiments[body["name"]] = str(100 + len(self.experiments))
            return 200, {"experiment_id": self.experiments[body["name"]]}
        return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"no route {method} {path}"}


@pytest.fixture
def workspace(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWorkspace]:
    fake = FakeWorkspace()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            if self.path.startswith("/.well-known/"):  # the SDK's unauthenticated host-metadata probe
                status, payload = 404, {"error_code": "NOT_FOUND", "message": "no host metadata"}
            elif self.headers.get("Authorization") != "Bearer test-token":
                status, payload = 401, {"error_code": "UNAUTHENTICATED", "message": "bad token"}
            else:
                status, payload = fake.answer(self.command, self.path, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for var in ("DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABRICKS_HOST", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("DATABRICKS_TOKEN", "test-token")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", "/nonexistent/.databrickscfg")
    yield fake
    server.shutdown()
    server.server_close()


def test_make_dirs_is_idempotent(workspace: FakeWorkspace) -> None:
    workspace.folders.add("/Shared/gda_clv/dev")
    first = make_workspace_dirs("/Shared/gda_clv/dev", ["NOAM"])
    assert first == {"created": ["/Shared/gda_clv/dev/NOAM", "/Shared/gda_clv/dev/NOAM/experiments",
                                 "/Shared/gda_clv/dev/NOAM/jobs"], "existing": ["/Shared/gda_clv/dev"]}
    mkdirs = [c for c in workspace.calls if c[0] == "POST"]
    assert mkdirs == [("POST", "/api/2.0/workspace/mkdirs", {"path": p}) for p in first["created"]]
    workspace.calls.clear()
    second = make_workspace_dirs("/Shared/gda_clv/dev", ["NOAM"])
    assert second == {"created": [], "existing": ["/Shared/gda_clv/dev", *first["created"]]}
    assert [c[0] for c in workspace.calls] == ["GET"] * 4


def test_make_dirs_refuses_a_relative_root() -> None:
    """Called without a config (the config's root is checked by its schema), the argument is checked here."""
    with pytest.raises(ValueError, match="root: 'Shared/x' must be an absolute workspace path like /Shared/x"):
        make_workspace_dirs("Shared/x", ["NOAM"], client=object())


def test_mkdirs_403_names_the_missing_right(workspace: FakeWorkspace) -> None:
    workspace.routes[("POST", "/api/2.0/workspace/mkdirs")] = (
        403, {"error_code": "PERMISSION_DENIED", "message": "User does not have permission"})
    with pytest.raises(ConfigError) as info:
        make_workspace_dirs("/Shared/gda_clv/prod", [])
    assert str(info.value) == (
        "permission denied creating workspace folder /Shared/gda_clv/prod: the caller needs CAN_MANAGE on the "
        "parent folder /Shared/gda_clv (Databricks said: User does not have permission)"
    )


def test_job_permissions_exact_calls_and_403(workspace: FakeWorkspace) -> None:
    workspace.routes[("GET", "/api/2.2/jobs/list?name=dev-clv-training")] = (
        200, {"jobs": [{"job_id": 42, "settings": {"name": "dev-clv-training"}}]})
    workspace.routes[("PUT", "/api/2.0/permissions/jobs/42")] = (200, {"object_id": "/jobs/42"})
    acl = [{"service_principal_name": "sp", "permission_level": "IS_OWNER"},
           {"group_name": "g", "permission_level": "CAN_VIEW"}]
    assert set_job_permissions("dev-clv-training", acl) == "42"
    assert set_job_permissions("dev-clv-training", acl) == "42"
    put = ("PUT", "/api/2.0/permissions/jobs/42", {"access_control_list": acl})
    assert workspace.calls == [("GET", "/api/2.2/jobs/list?name=dev-clv-training", None), put] * 2
    workspace.routes[("PUT", "/api/2.0/permissions/jobs/42")] = (
        403, {"error_code": "PERMISSION_DENIED", "message": "no"})
    with pytest.raises(ConfigError) as info:
        set_job_permissions("dev-clv-training", acl)
    assert str(info.value) == ("permission denied setting permissions on job 'dev-clv-training' (id 42): the caller "
                               "needs CAN_MANAGE on the job (Databricks said: no)")


def test_env_permissions_and_model_grants(workspace: FakeWorkspace) -> None:
    workspace.routes[("GET", "/api/2.2/jobs/list?name=dev-clv-scoring")] = (
        200, {"jobs": [{"job_id": 7}]})
    workspace.routes[("PUT", "/api/2.0/permissions/jobs/7")] = (200, {})
    workspace.experiments["/Shared/x/NOAM/experiments/clv"] = "99"
    workspace.routes[("PUT", "/api/2.0/permissions/experiments/99")] = (200, {})
    workspace.routes[("PATCH", "/api/2.1/unity-catalog/permissions/function/gda_dev.clv.clv_frequency")] = (200, {})
    acl = [{"user_name": "a@example.com", "permission_level": "IS_OWNER"}]
    settings = deployment(
        access_control=acl, workspace={"root": "/Shared/x", "volume": "/Volumes/c/s/v", "regions": ["NOAM"]},
        permissions={"experiment": [{"group_name": "g", "permission_level": "CAN_READ"}],
                     "models": {"gda_dev.clv.clv_frequency": [{"principal": "g", "privileges": ["EXECUTE"]}]}})
    done = apply_env_permissions("dev", settings, ["dev-clv-scoring"], workspace_client())
    assert done == {"jobs": {"dev-clv-scoring": "7"}, "experiments": {"/Shared/x/NOAM/experiments/clv": "99"},
                    "models": ["gda_dev.clv.clv_frequency"], "models_missing": []}
    assert [c for c in workspace.calls if c[0] in ("PUT", "PATCH")] == [
        ("PUT", "/api/2.0/permissions/jobs/7", {"access_control_list": acl}),
        ("PUT", "/api/2.0/permissions/experiments/99",
         {"access_control_list": [{"group_name": "g", "permission_level": "CAN_READ"}]}),
        ("PATCH", "/api/2.1/unity-catalog/permissions/function/gda_dev.clv.clv_frequency",
         {"changes": [{"add": ["EXECUTE"], "principal": "g"}]}),
    ]
    workspace.routes[("PATCH", "/api/2.1/unity-catalog/permissions/function/gda_dev.clv.clv_frequency")] = (
        403, {"error_code": "PERMISSION_DENIED", "message": "User does not have MANAGE on Function"})
    with pytest.raises(ConfigError) as info:
        grant_model_privileges("gda_dev.clv.clv_frequency", [{"principal": "g", "privileges": ["EXECUTE"]}])
    assert str(info.value) == (
        "permission denied granting privileges on model gda_dev.clv.clv_frequency: the caller needs MANAGE on the "
        "model gda_dev.clv.clv_frequency (or ownership of it or its schema) (Databricks said: User does not have "
        "MANAGE on Function)"
    )


def test_workspace_setup_command_creates_parent_experiment_and_permissions(
        workspace: FakeWorkspace, tmp_path: Path) -> None:
    """`gda-clv workspace-setup --env dev` (as `make deploy` runs it, its own process) on the shipped dev.yml: the
    experiment the jobs use exists under a created parent folder, with the env file's access list."""
    workspace.routes[("PUT", "/api/2.0/permissions/experiments/100")] = (200, {})
    for model in ("clv_frequency", "clv_monetary"):
        workspace.routes[("PATCH", f"/api/2.1/unity-catalog/permissions/function/gda_dev.clv.{model}")] = (
            404, {"error_code": "NOT_FOUND", "message": f"Function 'gda_dev.clv.{model}' does not exist."})
    summary = tmp_path / "setup.json"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "gda-clv"), "workspace-setup", "--env", "dev", "--environments-dir",
         str(REPO / "conf" / "environments"), "--summary-json", str(summary)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    experiment = "/Shared/gda_clv/dev/NOAM/experiments/clv"  # = JobContext.mlflow_experiment (test_job_context)
    assert workspace.experiments == {experiment: "100"}
    assert experiment not in workspace.folders  # make_ws_dir never makes a folder at the experiment path
    assert "/Shared/gda_clv/dev/NOAM/experiments" in workspace.folders
    env_file = yaml.safe_load((REPO / "conf" / "environments" / "dev.yml").read_text())
    puts = [c for c in workspace.calls if c[0] == "PUT"]
    assert puts == [("PUT", "/api/2.0/permissions/experiments/100",
                     {"access_control_list": env_file["deployment"]["permissions"]["experiment"]})]
    result = json.loads(summary.read_text())
    assert result["permissions"]["models_missing"] == ["gda_dev.clv.clv_frequency", "gda_dev.clv.clv_monetary"]

