"""Set permissions from config on jobs and experiments (Permissions API) and UC registered models (grants).

Setting is idempotent: jobs and experiments get their whole access list replaced (PUT), models get privileges
added (PATCH), so repeating a call leaves the same state.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gda_clv.errors import ConfigError
from gda_clv.utils.api.client import denied, workspace_client
from gda_clv.utils.config_schema import DeploymentConfig
from gda_clv.utils.workspace_paths import experiment_path, workspace_root

MODEL_SECURABLE = "function"  # Unity Catalog registered models are granted as securable type FUNCTION


def _acl(entries: Iterable[Mapping[str, Any]], where: str) -> list[Any]:
    from databricks.sdk.service.iam import AccessControlRequest

    acl = []
    for entry in entries:
        if "permission_level" not in entry:
            raise ConfigError(f"{where}: every entry needs permission_level, got {dict(entry)}")
        acl.append(AccessControlRequest.from_dict(dict(entry)))
    return acl


def set_job_permissions(job_name: str, acl: Iterable[Mapping[str, Any]], client: Any = None) -> str:
    """Replace the access list of the job named ``job_name``; returns its job id.

    Raises ConfigError when no single job has that name or an entry lacks permission_level.
    """
    from databricks.sdk.errors import PermissionDenied

    client = client or workspace_client()
    try:
        found = [job for job in client.jobs.list(name=job_name)]
    except PermissionDenied as exc:
        raise denied(f"listing jobs to find '{job_name}'", "CAN_VIEW on the job", exc) from None
    if len(found) != 1:
        raise ConfigError(f"job '{job_name}': expected exactly one job with this name, found {len(found)}; "
                          "deploy it first (make deploy)")
    job_id = str(found[0].job_id)
    try:
        client.permissions.set("jobs", job_id, access_control_list=_acl(acl, f"job '{job_name}'"))
    except PermissionDenied as exc:
        raise denied(f"setting permissions on job '{job_name}' (id {job_id})", "CAN_MANAGE on the job", exc) from None
    return job_id


def ensure_experiment(path: str, client: Any = None) -> str:
    """The id of the MLflow experiment at workspace ``path``, created (its parent folder must exist) if missing."""
    from databricks.sdk.errors import NotFound, PermissionDenied

    client = client or workspace_client()
    try:
        return str(client.experiments.get_by_name(path).experiment.experiment_id)
    except NotFound:
        pass
    except PermissionDenied as exc:
        raise denied(f"reading experiment {path}", f"CAN_READ on experiment {path}", exc) from None
    parent = path.rsplit("/", 1)[0]
    try:
        return str(client.experiments.create_experiment(name=path).experiment_id)
    except PermissionDenied as exc:
        raise denied(f"creating experiment {path}", f"CAN_EDIT on the folder {parent}", exc) from None


def set_experiment_permissions(path: str, acl: Iterable[Mapping[str, Any]], client: Any = None) -> str:
    """Replace the access list of the experiment at workspace ``path`` (created if missing); returns its id."""
    from databricks.sdk.errors import PermissionDenied

    client = client or workspace_client()
    experiment_id = ensure_experiment(path, client)
    try:
        client.permissions.set("experiments", experiment_id, access_control_list=_acl(acl, f"experiment {path}"))
    except PermissionDenied as exc:
        raise denied(f"setting permissions on experiment {path}", f"CAN_MANAGE on experiment {path}", exc) from None
    return experiment_id


def grant_model_privileges(full_name: str, grants: Iterable[Mapping[str, Any]], client: Any = None) -> None:
    """Add privileges (e.g. EXECUTE) on the Unity Catalog model ``catalog.schema.model`` to principals.

    Raises ConfigError for a malformed grant.
    """
    from databricks.sdk.errors import PermissionDenied
    from databricks.sdk.service.catalog import PermissionsChange, Privilege

    if full_name.count(".") != 2:
        raise ConfigError(f"model '{full_name}': use the Unity Catalog name catalog.schema.model")
    client = client or workspace_client()
    changes = []
    for grant in grants:
        try:
            privileges = [Privilege(p) for p in grant["privileges"]]
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"model '{full_name}': each grant needs principal and privileges "
                              f"(e.g. EXECUTE, MANAGE), got {dict(grant)} ({exc})") from None
        changes.append(PermissionsChange(principal=grant["principal"], add=privileges))
    try:
        client.grants.update(MODEL_SECURABLE, full_name, changes=changes)
    except PermissionDenied as exc:
        raise denied(f"granting privileges on model {full_name}",
                     f"MANAGE on the model {full_name} (or ownership of it or its schema)", exc) from None


def apply_env_permissions(env: str, settings: DeploymentConfig, job_names: Iterable[str] = (),
                          client: Any = None) -> dict[str, Any]:
    """What an environment's ``deployment`` section asks for: job access lists (``access_control``) of
    ``job_names``, ``permissions.experiment`` on the jobs' experiment of every region (``experiment_path``, created
    if missing) and ``permissions.models`` grants (a model not registered yet is listed under ``models_missing``)."""
    from databricks.sdk.errors import NotFound

    client = client or workspace_client()
    permissions = settings.permissions
    done: dict[str, Any] = {"jobs": {}, "experiments": {}, "models": [], "models_missing": []}
    for name in job_names:
        done["jobs"][name] = set_job_permissions(name, [e.model_dump() for e in settings.access_control], client)
    root = workspace_root(env, settings)
    for region in settings.workspace.regions:
        path = experiment_path(root, region)
        acl = [e.model_dump() for e in permissions.experiment]
        done["experiments"][path] = set_experiment_permissions(path, acl, client)
    for model, grants in permissions.models.items():
        try:
            grant_model_privileges(model, [g.model_dump() for g in grants], client)
        except NotFound:
            done["models_missing"].append(model)
            continue
        done["models"].append(model)
    return done
