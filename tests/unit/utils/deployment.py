"""Typed ``deployment`` sections for tests: the shipped defaults of conf/base.yml with a test's own keys on top."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from gda_clv.utils.config_schema import DeployableConfig, DeploymentConfig
from gda_clv.utils.config_utils import load_yaml

BASE = Path(__file__).resolve().parents[3] / "conf" / "base.yml"


def deployment(**keys: Any) -> DeploymentConfig:
    """conf/base.yml's ``deployment`` defaults with ``keys`` (whole top-level keys), validated by the schema."""
    return DeploymentConfig.model_validate({**load_yaml(BASE)["deployment"], **keys})


def deployable(**keys: Any) -> DeployableConfig:
    """:func:`deployment` held to what job-gen needs (``keys`` set the prefix, runtime and sizes), with a volume."""
    defaults = load_yaml(BASE)["deployment"]
    workspace = {**defaults["workspace"], "volume": "/Volumes/c/s/v"}
    return DeployableConfig.model_validate({**defaults, "workspace": workspace, **keys})
