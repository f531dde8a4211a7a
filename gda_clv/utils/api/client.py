"""The Databricks workspace client, with credentials only from the environment or a Databricks config profile."""
from __future__ import annotations

from typing import Any

from gda_clv.errors import ConfigError


def workspace_client(profile: str | None = None) -> Any:
    """A ``databricks.sdk.WorkspaceClient``: DATABRICKS_HOST/DATABRICKS_TOKEN (or other SDK environment
    variables), else the named profile of ~/.databrickscfg. Never reads credentials from files in the repo.

    Raises ``ConfigError`` naming the variables to set when the SDK finds no credentials."""
    from databricks.sdk import WorkspaceClient

    try:
        return WorkspaceClient(profile=profile) if profile else WorkspaceClient()
    except ValueError as exc:
        raise ConfigError(
            "no Databricks credentials: set DATABRICKS_HOST and DATABRICKS_TOKEN, or DATABRICKS_CONFIG_PROFILE "
            f"naming a profile in ~/.databrickscfg ({exc})"
        ) from None


def denied(action: str, right: str, exc: Exception) -> ConfigError:
    """The error for an HTTP 403: what was attempted and which right the caller is missing."""
    said = str(exc).split(". Config: ")[0]  # the SDK appends its (redacted) config to the message
    return ConfigError(f"permission denied {action}: the caller needs {right} (Databricks said: {said})")
