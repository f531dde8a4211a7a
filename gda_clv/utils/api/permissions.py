"""Set permissions from config on jobs and experiments (Permissions API) and UC registered models (grants).

Setting is idempotent: jobs and experiments get their whole access list replaced (PUT), models get privileges
added (PATCH), so repeating a call leaves the same state.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gda_clv.errors import ConfigError
from gda_clv.utils.api.client import denied, workspace_client

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

    Raises ``ConfigError`` for an ACL entry without ``permission_level`` or when not exactly one job has that name,
    and a permission error naming the missing right when the caller may not list jobs or manage the job.
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


def set_experiment_permissions(path: str, acl: Iterable[Mapping[str, Any]], client: Any = None) -> str:
    """Replace the access list of the experiment at workspace ``path``; returns its experiment id.

    Raises ``ConfigError`` when the experiment does not exist or an ACL entry lacks ``permission_level``, and a
    permission error naming the missing right when the caller may not read or manage it.
    """
    from databricks.sdk.errors import NotFound, PermissionDenied

    client = client or workspace_client()
    try:
        experiment_id = client.experiments.get_by_name(path).experiment.experiment_id
    except NotFound:
        raise ConfigError(f"experiment {path} does not exist; run a training step in this environment first") from None
    except PermissionDenied as exc:
        raise denied(f"reading experiment {path}", f"CAN_READ on experiment {path}", exc) from None
    try:
        client.permissions.set("experiments", experiment_id, access_control_list=_acl(acl, f"experiment {path}"))
    except PermissionDenied as exc:
        raise denied(f"setting permissions on experiment {path}", f"CAN_MANAGE on experiment {path}", exc) from None
    return experiment_id


def grant_model_privileges(full_name: str, grants: Iterable[Mapping[str, Any]], client: Any = None) -> None:
    """Add privileges (e.g. EXECUTE) on the Unity Catalog model ``catalog.schema.model`` to principals.

    Returns nothing. Raises ``ConfigError`` for a name that is not ``catalog.schema.model`` or a grant without
    ``principal`` and ``privileges``, and a permission error when the caller may not grant them.
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


def apply_env_permissions(settings: Mapping[str, Any], job_names: Iterable[str], client: Any = None) -> dict[str, Any]:
    """Everything an environment's ``deployment`` section asks for: job access lists (``access_control``),
    ``permissions.experiments`` and ``permissions.models``. Returns what was set."""
    client = client or workspace_client()
    permissions = settings.get("permissions") or {}
    done: dict[str, Any] = {"jobs": {}, "experiments": {}, "models": []}
    for name in job_names:
        done["jobs"][name] = set_job_permissions(name, settings.get("access_control", []), client)
    for path, acl in (permissions.get("experiments") or {}).items():
        done["experiments"][path] = set_experiment_permissions(path, acl, client)
    for model, grants in (permissions.get("models") or {}).items():
        grant_model_privileges(model, grants, client)
        done["models"].append(model)
    return done
