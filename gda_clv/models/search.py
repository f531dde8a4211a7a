"""What a tuning backend searches (``Search``) and the optuna backend, over the same space as hyperopt's.

optuna is preinstalled on Databricks Runtime 17.3 LTS ML; elsewhere install ``gda_clv[optuna]``. Imported only when
the backend runs, so hyperopt users never need it.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gda_clv.errors import ConfigError

Evaluate = Callable[[str, float], dict[str, Any]]


ZERO_SHARE = 0.2  # with penalizer_min 0: the prior probability hyperopt's TPE gives to the unpenalized fit
LOG_DECADES = 6  # with penalizer_min 0: the log-uniform part spans penalizer_max * 1e-6 .. penalizer_max


@dataclass(frozen=True)
class Search:
    """A seeded TPE search over ``types`` x log-uniform penalizer; ``field`` names the config section in errors.

    ``trials``: hyperopt's Trials/SparkTrials (None: in-process); the optuna backend runs trials in this process.
    """

    types: Sequence[str]
    penalizer_range: tuple[float, float]
    max_evals: int
    seed: int
    field: str
    trials: Any = None


def optuna_rows(evaluate: Evaluate, search: Search) -> list[dict[str, Any]]:
    """Run ``max_evals`` seeded optuna TPE trials; one row per trial (trial, type, penalizer, loss, status, ...).

    Raises ConfigError when optuna is not installed.
    """
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            f"{search.field}.backend is optuna but optuna is not installed: pip install 'gda_clv[optuna]' "
            f"(preinstalled on Databricks Runtime 17.3 LTS ML) or set {search.field}.backend: hyperopt."
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    types, (low, high) = search.types, search.penalizer_range
    rows: list[dict[str, Any]] = []

    def objective(trial: Any) -> float:
        model_type = trial.suggest_categorical("type", list(types)) if len(types) > 1 else types[0]
        penalizer = _suggest_penalizer(trial, low, high)
        out = evaluate(model_type, penalizer)
        rows.append({"trial": trial.number, "type": model_type, "penalizer": penalizer,
                     "loss": out.get("loss", math.nan), "status": out["status"],
                     "penalizer_used": out.get("penalizer_used", math.nan), "error": out.get("error", "")})
        # A failed fit scores +inf: TPE learns to avoid it and the trial is never chosen (status stays "fail").
        return float(out["loss"]) if out["status"] == "ok" else math.inf

    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=search.seed))
    study.optimize(objective, n_trials=search.max_evals)
    return rows


def _suggest_penalizer(trial: Any, low: float, high: float) -> float:
    """Log-uniform on [low, high]; with ``low`` 0, first a choice between the unpenalized fit and a log-uniform
    value in the LOG_DECADES below ``high`` (optuna has no weighted choice: the two are equally likely a priori)."""
    if low > 0:
        return float(trial.suggest_float("penalizer", low, high, log=True))
    if trial.suggest_categorical("unpenalized", [True, False]):
        return 0.0
    return float(trial.suggest_float("penalizer_positive", high * 10.0**-LOG_DECADES, high, log=True))
