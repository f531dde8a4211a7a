"""MLflow Model Registry: register a challenger, gate it against the champion, load models by alias or version.

Aliases, not stages (works with the local sqlite registry and Unity Catalog alike). Every registered version gets
``@challenger``. The validation gate compares the challenger with the current ``@champion`` on one holdout metric
where lower is better (the caller evaluates both models on the same holdout data):

- ``enabled``: the challenger becomes ``@champion`` only if ``challenger <= champion * (1 + tolerance)``;
- ``dry_run``: the comparison is made and logged, the challenger is promoted whatever the outcome;
- ``disabled``: no comparison, the challenger is promoted.

With no champion yet the challenger is promoted in every mode.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PyFuncModel
from mlflow.tracking import MlflowClient

from gda_clv.errors import ModelError
from gda_clv.utils.config_schema import GateMode

CHAMPION = "champion"
CHALLENGER = "challenger"


GateRecord = dict[str, str | float | bool | None]
"""A gate decision as a plain dict, the fields of GateDecision by name (for step summaries and MLflow)."""


@dataclass(frozen=True)
class GateDecision:
    """Outcome of the validation gate for one challenger version."""

    mode: str
    metric: str
    tolerance: float
    challenger_version: str
    challenger_metric: float
    champion_version: str | None
    champion_metric: float | None
    passed: bool | None
    promoted: bool
    reason: str

    def to_dict(self) -> GateRecord:
        """The decision as a plain dict (for the step summary and MLflow)."""
        return asdict(self)


def compare(challenger_metric: float, champion_metric: float, tolerance: float) -> bool:
    """True when the challenger's error is at most the champion's error plus the relative tolerance."""
    if not math.isfinite(challenger_metric):
        return False
    if not math.isfinite(champion_metric):
        return True
    return challenger_metric <= champion_metric + tolerance * abs(champion_metric)


# Unity Catalog refuses these characters in tag keys; the local registry refuses them too, so a laptop run fails
# where a workspace would.
UC_FORBIDDEN_TAG_KEY_CHARACTERS = ".,-=/:"


def check_tag_keys(tags: dict[str, str], where: str) -> None:
    """ModelError naming the first tag key Unity Catalog would refuse.

    Refused: empty keys, keys over 255 characters and keys with any of ``UC_FORBIDDEN_TAG_KEY_CHARACTERS``.
    """
    for key in tags:
        bad = sorted({c for c in key if c in UC_FORBIDDEN_TAG_KEY_CHARACTERS})
        if bad or not key or len(key) > 255:
            raise ModelError(
                f"tag key {key!r} on {where} is not allowed in Unity Catalog (tag keys are 1-255 characters without "
                f"{' '.join(UC_FORBIDDEN_TAG_KEY_CHARACTERS)}; found {' '.join(bad) or 'a bad length'}); "
                "use letters, digits and underscores, e.g. gate_mode."
            )


def set_version_tags(name: str, version: str, tags: dict[str, str], client: MlflowClient | None = None) -> None:
    """Set model-version tags after checking their keys against Unity Catalog's rules."""
    check_tag_keys(tags, f"model version {name} v{version}")
    client = client or MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, value)


def set_run_tags(tags: dict[str, str]) -> None:
    """Set tags on the active MLflow run after checking their keys against Unity Catalog's rules."""
    check_tag_keys(tags, "the MLflow run")
    mlflow.set_tags(tags)


def register_challenger(
    model_uri: str, name: str, tags: dict[str, str] | None = None, client: MlflowClient | None = None
) -> ModelVersion:
    """Register ``model_uri`` as a new version of ``name``; aliases move after the gate decision (:func:`promote`)."""
    check_tag_keys(tags or {}, f"a new version of {name}")
    client = client or MlflowClient()
    version = mlflow.register_model(model_uri, name, tags=tags)
    return client.get_model_version(name, version.version)


def version_by_alias(name: str, alias: str, client: MlflowClient | None = None) -> ModelVersion | None:
    """The version ``name@alias`` points to, or None when the model or the alias does not exist."""
    client = client or MlflowClient()
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def decide(
    name: str,
    challenger_version: str,
    challenger_metric: float,
    champion_metric_of: Callable[[ModelVersion], float],
    mode: GateMode,
    tolerance: float,
    metric: str,
    client: MlflowClient | None = None,
) -> GateDecision:
    """Run the gate for ``challenger_version``: whether it may become ``@champion``. Moves no alias.

    ``champion_metric_of(champion_version)`` evaluates the current champion on the challenger's holdout; it is
    only called when there is a champion to compare with and the gate is not disabled.
    """
    champion = version_by_alias(name, CHAMPION, client)
    champion_version = None if champion is None else str(champion.version)
    champion_metric: float | None = None
    passed: bool | None = None
    if champion is None:
        promoted, reason = True, "no champion yet: the first model becomes champion"
    elif champion_version == str(challenger_version):
        promoted, reason = True, "the challenger already is the champion"
    elif mode == "disabled":
        promoted, reason = True, "gate disabled: promoted without comparison"
    else:
        champion_metric = float(champion_metric_of(champion))
        passed = compare(challenger_metric, champion_metric, tolerance)
        verdict = "within" if passed else "worse than"
        detail = (
            f"challenger {metric}={challenger_metric:.6g} is {verdict} champion v{champion_version} "
            f"{metric}={champion_metric:.6g} (+{tolerance:.0%} tolerance)"
        )
        promoted = passed or mode == "dry_run"
        reason = detail + ("" if mode == "enabled" else "; dry run: promoted regardless")
    return GateDecision(
        mode=mode,
        metric=metric,
        tolerance=float(tolerance),
        challenger_version=str(challenger_version),
        challenger_metric=float(challenger_metric),
        champion_version=champion_version,
        champion_metric=champion_metric,
        passed=passed,
        promoted=promoted,
        reason=reason,
    )


def record_decision(name: str, decision: GateDecision, client: MlflowClient | None = None) -> None:
    """Write the decision as tags of the challenger version (before any alias moves)."""
    set_version_tags(name, decision.challenger_version, _version_tags(decision), client)


def promote(name: str, decision: GateDecision, client: MlflowClient | None = None) -> None:
    """Point ``@challenger``, and ``@champion`` if the decision says so, at the challenger version.

    ModelError, with no alias moved, unless the decision is recorded on the version and the MLflow run that logged
    it has ended FINISHED (a killed or failed training run never gets an alias).
    """
    client = client or MlflowClient()
    version = client.get_model_version(name, decision.challenger_version)
    if "gate_promoted" not in version.tags:
        raise ModelError(f"'{name}' v{version.version} has no recorded gate decision; record it before promoting.")
    status = client.get_run(version.run_id).info.status if version.run_id else "FINISHED"
    if status != "FINISHED":
        raise ModelError(
            f"'{name}' v{version.version} comes from MLflow run {version.run_id} with status {status}; "
            "aliases move only after the training run has ended FINISHED."
        )
    client.set_registered_model_alias(name, CHALLENGER, decision.challenger_version)
    if decision.promoted:
        client.set_registered_model_alias(name, CHAMPION, decision.challenger_version)


def validate_and_promote(
    name: str,
    challenger_version: str,
    challenger_metric: float,
    champion_metric_of: Callable[[ModelVersion], float],
    mode: GateMode,
    tolerance: float,
    metric: str,
    client: MlflowClient | None = None,
) -> GateDecision:
    """:func:`decide`, :func:`record_decision`, then :func:`promote`, in that order."""
    decision = decide(name, challenger_version, challenger_metric, champion_metric_of, mode, tolerance, metric, client)
    record_decision(name, decision, client)
    promote(name, decision, client)
    return decision


def _version_tags(decision: GateDecision) -> dict[str, str]:
    return {
        "gate_mode": decision.mode,
        "gate_passed": str(decision.passed),
        "gate_promoted": str(decision.promoted),
        "gate_champion_version": str(decision.champion_version),
        f"gate_challenger_{decision.metric}": f"{decision.challenger_metric:.6g}",
        f"gate_champion_{decision.metric}": str(decision.champion_metric),
    }


def log_gate_decision(decision: GateDecision) -> None:
    """Log the decision and both metrics to the active MLflow run (tags, metrics and ``gate_decision.json``)."""
    metrics = {f"gate_challenger_{decision.metric}": decision.challenger_metric}
    if decision.champion_metric is not None:
        metrics[f"gate_champion_{decision.metric}"] = decision.champion_metric
    mlflow.log_metrics(metrics)
    set_run_tags(
        {
            "gate_mode": decision.mode,
            "gate_passed": str(decision.passed),
            "gate_promoted": str(decision.promoted),
            "gate_reason": decision.reason,
        }
    )
    mlflow.log_dict(decision.to_dict(), "gate_decision.json")


def aliases_of(name: str, version: str, client: MlflowClient | None = None) -> list[str]:
    """The aliases currently pointing at ``name`` version ``version``, sorted."""
    client = client or MlflowClient()
    return sorted(client.get_model_version(name, str(version)).aliases)


def resolve_version(
    name: str,
    alias: str = CHAMPION,
    version: str | int | None = None,
    run_first: str = "the training step",
    client: MlflowClient | None = None,
) -> ModelVersion:
    """The pinned ``version`` of ``name`` if given, else the version ``@alias`` points to.

    Raises ModelError saying what to run first when the model, the version or the alias does not exist.
    """
    client = client or MlflowClient()
    where = f"in the registry at {mlflow.get_registry_uri()}"
    try:
        client.get_registered_model(name)
    except MlflowException:
        raise ModelError(f"Registered model '{name}' does not exist {where}. Run {run_first} first.") from None
    if version is not None:
        try:
            return client.get_model_version(name, str(version))
        except MlflowException:
            raise ModelError(
                f"Registered model '{name}' has no version {version} {where}; "
                "pin an existing version or set it to null to use @champion."
            ) from None
    found = version_by_alias(name, alias, client)
    if found is None:
        raise ModelError(
            f"Registered model '{name}' has no alias '@{alias}' {where}. Run {run_first} first "
            "(or pin a version)."
        )
    return found


def load_registered_model(
    name: str,
    alias: str = CHAMPION,
    version: str | int | None = None,
    run_first: str = "the training step",
    client: MlflowClient | None = None,
) -> tuple[PyFuncModel, ModelVersion]:
    """Load ``models:/name/<version>`` (pinned, or resolved from ``@alias``) as a pyfunc; returns (model, version)."""
    found = resolve_version(name, alias, version, run_first, client)
    return mlflow.pyfunc.load_model(f"models:/{name}/{found.version}"), found
