"""optuna TPE over the same space as the hyperopt backend (type choice, log-uniform penalizer), seeded.

optuna is preinstalled on Databricks Runtime 17.3 LTS ML; elsewhere install ``gda_clv[optuna]``. Imported only when
the backend runs, so hyperopt users never need it.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from gda_clv.errors import ConfigError


def optuna_rows(
    evaluate: Callable[[str, float], dict[str, Any]],
    types: Sequence[str],
    penalizer_range: tuple[float, float],
    max_evals: int,
    seed: int,
    trials: Any,
    field: str,
) -> list[dict[str, Any]]:
    """Run ``max_evals`` seeded TPE trials; one row per trial (trial, type, penalizer, loss, status, ...).

    ``trials`` (hyperopt's SparkTrials on a cluster) does not apply to optuna: trials run in this process.
    """
    del trials
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            f"{field}.backend is optuna but optuna is not installed: pip install 'gda_clv[optuna]' "
            f"(preinstalled on Databricks Runtime 17.3 LTS ML) or set {field}.backend: hyperopt."
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    low, high = penalizer_range
    rows: list[dict[str, Any]] = []

    def objective(trial: Any) -> float:
        model_type = trial.suggest_categorical("type", list(types)) if len(types) > 1 else types[0]
        penalizer = trial.suggest_float("penalizer", low, high, log=True)
        out = evaluate(model_type, penalizer)
        rows.append({"trial": trial.number, "type": model_type, "penalizer": penalizer,
                     "loss": out.get("loss", math.nan), "status": out["status"],
                     "penalizer_used": out.get("penalizer_used", math.nan), "error": out.get("error", "")})
        # A failed fit scores +inf: TPE learns to avoid it and the trial is never chosen (status stays "fail").
        return float(out["loss"]) if out["status"] == "ok" else math.inf

    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=max_evals)
    return rows
