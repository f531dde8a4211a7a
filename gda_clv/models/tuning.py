"""TPE tuning (hyperopt, or optuna with ``backend="optuna"``) of the penalizer (and optionally the frequency model
type) on holdout error; both backends search the same space and return the same trials table.

Inputs are compressed groups: one row per distinct customer history with ``weight`` = customers sharing it, so a
weighted loss equals the per-customer loss and every trial fits on the distinct (frequency, recency, T) tuples.
Pass ``trials=SparkTrials(...)`` on a cluster; the default is hyperopt's in-process ``Trials``. Seeded via
``rstate``, so the same data and seed pick the same configuration.
"""
from __future__ import annotations

import contextlib
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gda_clv.errors import DataError, ModelError
from gda_clv.models._lifetimes import quiet
from gda_clv.models._types import FloatArray
from gda_clv.models.compress import compress
from gda_clv.models.frequency import frequency_types, make_frequency_model
from gda_clv.models.gamma_gamma import GammaGammaModel
from gda_clv.models.search import LOG_DECADES, ZERO_SHARE, Evaluate, Search, optuna_rows

FREQUENCY_COLUMNS = ("frequency_cal", "recency_cal", "T_cal", "duration_holdout", "frequency_holdout")
MONETARY_COLUMNS = ("frequency_cal", "monetary_value_cal", "frequency_holdout", "monetary_value_holdout")
TRIAL_COLUMNS = ["trial", "type", "penalizer", "loss", "status", "penalizer_used", "error"]
_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?([eE][-+]?\d+)?")
_ATTEMPTS = re.compile(r"Tried: (.*?)\. (?=[A-Z])")  # a fit's list of attempts (see models._fitting)


@dataclass(frozen=True)
class TuningResult:
    """The chosen configuration, its holdout loss and one row per trial (``tuned`` False when max_evals was 0)."""

    type: str
    penalizer: float
    loss: float
    trials: pd.DataFrame
    tuned: bool


def weighted_loss(predicted: FloatArray, actual: FloatArray, weight: FloatArray, loss: str) -> float:
    """Per-customer RMSE or MAE computed on groups of ``weight`` identical customers.

    Raises ``ValueError`` for a loss other than rmse or mae.
    """
    err = np.asarray(predicted, dtype=float) - np.asarray(actual, dtype=float)
    w = np.asarray(weight, dtype=float)
    if loss == "rmse":
        return float(math.sqrt(np.sum(w * err**2) / w.sum()))
    if loss == "mae":
        return float(np.sum(w * np.abs(err)) / w.sum())
    raise ValueError(f"loss must be one of rmse, mae, got {loss!r}")


def _with_weight(groups: pd.DataFrame, columns: Sequence[str], step: str) -> pd.DataFrame:
    missing = [c for c in columns if c not in groups.columns]
    if missing:
        raise DataError(f"Cannot tune the {step} model: missing columns {missing} (expected {list(columns)} + weight).")
    if len(groups) == 0:
        raise DataError(f"Cannot tune the {step} model: no customers in the calibration features.")
    return groups if "weight" in groups.columns else groups.assign(weight=1.0)


def _scored(loss: float, penalizer_used: float, not_finite: str) -> dict[str, Any]:
    """A trial outcome; a non-finite loss is a failed trial, never a candidate."""
    if not math.isfinite(loss):
        return {"status": "fail", "error": not_finite, "penalizer_used": penalizer_used}
    return {"status": "ok", "loss": loss, "penalizer_used": penalizer_used, "error": ""}


def _check_search(penalizer_range: tuple[float, float], max_evals: int) -> None:
    low, high = penalizer_range
    if not 0 <= low < high:
        raise ValueError(f"penalizer_range must be (low, high) with 0 <= low < high, got {penalizer_range}")
    if max_evals < 0:
        raise ValueError(f"max_evals must be >= 0, got {max_evals}")




def _penalizer_space(hp: Any, low: float, high: float) -> Any:
    """Log-uniform on [low, high]; with ``low`` 0, the point 0 (prior mass ZERO_SHARE) or log-uniform below high."""
    if low > 0:
        return hp.loguniform("penalizer", math.log(low), math.log(high))
    positive = hp.loguniform("penalizer_positive", math.log(high) - LOG_DECADES * math.log(10), math.log(high))
    return hp.pchoice("penalizer", [(ZERO_SHARE, 0.0), (1 - ZERO_SHARE, positive)])


def _hyperopt_rows(evaluate: Evaluate, search: Search) -> list[dict[str, Any]]:
    """hyperopt TPE over (type, log-uniform penalizer); one TRIAL_COLUMNS row per trial."""
    with quiet():  # hyperopt imports pkg_resources, as lifetimes does
        from hyperopt import STATUS_FAIL, STATUS_OK, Trials, fmin, hp, space_eval, tpe
        from hyperopt.exceptions import AllTrialsFailed

    types, (low, high) = search.types, search.penalizer_range
    space = {
        "type": hp.choice("type", list(types)) if len(types) > 1 else types[0],
        "penalizer": _penalizer_space(hp, low, high),
    }

    def objective(point: dict[str, Any]) -> dict[str, Any]:
        out = evaluate(point["type"], float(point["penalizer"]))
        return {**out, "status": STATUS_OK if out["status"] == "ok" else STATUS_FAIL}

    trials = Trials() if search.trials is None else search.trials
    with contextlib.suppress(AllTrialsFailed):  # reported by _run with the trials' errors
        fmin(objective, space, algo=tpe.suggest, max_evals=search.max_evals, trials=trials,
             rstate=np.random.default_rng(search.seed), show_progressbar=False)
    rows = []
    for i, trial in enumerate(trials.trials):
        vals = {k: v[0] for k, v in trial["misc"]["vals"].items() if v}
        point = space_eval(space, vals)
        res = trial.get("result") or {}
        status = "ok" if res.get("status") == STATUS_OK else "fail"
        rows.append({"trial": i, "type": point["type"], "penalizer": float(point["penalizer"]),
                     "loss": res.get("loss", math.nan), "status": status,
                     "penalizer_used": res.get("penalizer_used", math.nan), "error": res.get("error", "")})
    return rows


def _outcomes(attempts: re.Match[str]) -> str:
    """A fit's attempts (``start=[..] penalizer=..: outcome; ...``) as their distinct outcomes."""
    outcomes = dict.fromkeys(part.split(": ", 1)[-1] for part in attempts.group(1).split("; "))
    return f"{len(attempts.group(1).split('; '))} attempts: {'; '.join(outcomes)}. "


def failure_summary(trials: pd.DataFrame) -> str:
    """``N of M trials failed: <message>``: the failed trials' errors told once per kind (numbers aside, most
    frequent first, at most three), each fit's list of attempts shortened to its distinct outcomes."""
    failed = trials[trials["status"] != "ok"]
    counts: Counter[str] = Counter()
    first: dict[str, str] = {}  # each kind's first message
    for error in failed["error"].astype(str):
        short = _ATTEMPTS.sub(_outcomes, error)
        kind = _NUMBER.sub("#", short)
        counts[kind] += 1
        first.setdefault(kind, short)
    ranked = [(count, first[kind]) for kind, count in counts.most_common()]
    head = f"{len(failed)} of {len(trials)} trials failed: "
    if len(ranked) == 1:
        return head + ranked[0][1]
    more = f"; and {len(ranked) - 3} other kinds of error" if len(ranked) > 3 else ""
    return head + "; ".join(f"{count} x {message}" for count, message in ranked[:3]) + more


SEARCHES: dict[str, Callable[[Evaluate, Search], list[dict[str, Any]]]] = {
    "hyperopt": _hyperopt_rows, "optuna": optuna_rows}


def _run(
    evaluate: Callable[[str, float], dict[str, Any]],
    types: Sequence[str],
    penalizer_range: tuple[float, float],
    max_evals: int,
    seed: int,
    trials: Any,
    default: tuple[str, float],
    what: str,
    backend: str = "hyperopt",
    field: str = "model.tuning",
) -> TuningResult:
    """Evaluate the default (max_evals 0, nothing imported) or run the backend's TPE; return the best trial."""
    if max_evals == 0:
        result = evaluate(*default)
        table = pd.DataFrame([{"trial": 0, "type": default[0], "penalizer": default[1], **result}])
        tuned = False
    else:
        if backend not in SEARCHES:
            raise ValueError(f"backend must be one of {', '.join(SEARCHES)}, got {backend!r}")
        rows = SEARCHES[backend](evaluate, Search(types, penalizer_range, max_evals, seed, field, trials))
        table = pd.DataFrame(rows, columns=TRIAL_COLUMNS)
        tuned = True
    table = table.reindex(columns=TRIAL_COLUMNS)
    ok = table[table["status"] == "ok"]
    if ok.empty:
        raise ModelError(f"No {what} configuration could be fitted: {failure_summary(table)}")
    best = ok.loc[ok["loss"].idxmin()]
    return TuningResult(type=str(best["type"]), penalizer=float(best["penalizer"]), loss=float(best["loss"]),
                        trials=table, tuned=tuned)


def tune_frequency(
    groups: pd.DataFrame,
    types: Sequence[str],
    penalizer_range: tuple[float, float],
    max_evals: int,
    loss: str = "rmse",
    seed: int = 42,
    trials: Any = None,
    default_type: str | None = None,
    default_penalizer: float = 0.0,
    backend: str = "hyperopt",
) -> TuningResult:
    """Choose (type, penalizer) minimising the holdout purchase error per customer.

    ``groups``: frequency_cal, recency_cal, T_cal, duration_holdout, frequency_holdout and optionally weight.
    ``max_evals`` 0 evaluates only (``default_type`` or types[0], ``default_penalizer``).

    Raises ``ValueError`` for bad arguments (``types`` naming no known model type, a bad range, loss or backend;
    the config's are checked by its schema), ``DataError`` when nobody repeats, and
    ``ModelError`` when every trial fails (see :func:`failure_summary`).
    """
    known = frequency_types()
    if not types or any(t not in known for t in types):
        raise ValueError(f"types must list some of {', '.join(known)}, got {list(types)}")
    _check_search(penalizer_range, max_evals)
    weighted_loss(np.zeros(1), np.zeros(1), np.ones(1), loss)  # validate the loss name up front
    data = _with_weight(groups, FREQUENCY_COLUMNS, "frequency")
    if not (data["frequency_cal"] > 0).any():
        raise DataError(
            f"Cannot tune the frequency model: none of the {data['weight'].sum():g} customers bought again in the "
            "calibration period, and the models learn from repeat purchases; use more data or a later calibration end."
        )
    fit_data = compress(data[["frequency_cal", "recency_cal", "T_cal", "weight"]],
                        ["frequency_cal", "recency_cal", "T_cal"])
    f, r, t = (data[c].to_numpy(float) for c in ("frequency_cal", "recency_cal", "T_cal"))
    duration, actual, weight = (data[c].to_numpy(float) for c in ("duration_holdout", "frequency_holdout", "weight"))

    def evaluate(model_type: str, penalizer: float) -> dict[str, Any]:
        try:
            model = make_frequency_model(model_type, penalizer).fit(
                fit_data["frequency_cal"], fit_data["recency_cal"], fit_data["T_cal"], fit_data["weight"]
            )
        except ModelError as err:
            return {"status": "fail", "error": str(err), "penalizer_used": math.nan}
        predicted = model.expected_purchases(duration, f, r, t)
        return _scored(weighted_loss(predicted, actual, weight, loss), model.penalizer_used_,
                       f"{model_type} penalizer={penalizer:g}: some expected purchases are not finite")

    default = (default_type or types[0], float(default_penalizer))
    return _run(evaluate, types, penalizer_range, max_evals, seed, trials, default, "frequency model", backend,
                "model.frequency.tuning")


def tune_monetary(
    groups: pd.DataFrame,
    penalizer_range: tuple[float, float],
    max_evals: int,
    loss: str = "rmse",
    seed: int = 42,
    trials: Any = None,
    q_constraint: bool = True,
    default_penalizer: float = 0.0,
    backend: str = "hyperopt",
) -> TuningResult:
    """Choose the Gamma-Gamma penalizer minimising the holdout average-spend error.

    ``groups``: frequency_cal, monetary_value_cal, frequency_holdout, monetary_value_holdout (+ weight). The
    model is fitted on repeat customers (frequency_cal > 0, monetary_value_cal > 0). The loss is taken over the
    repeat customers who bought in the holdout twice: once with their expected average spend given their history,
    once with the spend predicted for a customer without one (a one-time buyer), the population mean p*v/(q-1).
    The model assumes spend independent of frequency, so the same holdout spends are its target; the second term
    keeps the tuner from pushing q towards 1, where that mean grows without bound. ``penalizer_range`` may start
    at 0 (see ``_penalizer_space``).

    Raises ``ValueError`` for a bad range, loss or backend (the config's are checked by its schema), ``DataError``
    when there are no repeat customers with positive spend to tune on, and ``ModelError`` when every trial fails
    (see :func:`failure_summary`).
    """
    _check_search(penalizer_range, max_evals)
    weighted_loss(np.zeros(1), np.zeros(1), np.ones(1), loss)
    data = _with_weight(groups, MONETARY_COLUMNS, "monetary")
    repeat = data[(data["frequency_cal"] > 0) & (data["monetary_value_cal"] > 0)]
    if repeat.empty:
        raise DataError("Cannot tune the monetary model: no repeat customers with positive monetary_value_cal.")
    scored = repeat[(repeat["frequency_holdout"] > 0) & (repeat["monetary_value_holdout"] > 0)]
    if scored.empty:
        raise DataError(
            "Cannot tune the monetary model: no repeat customer bought in the holdout period; lengthen the holdout "
            "or set model.monetary.tuning.max_evals: 0."
        )

    def evaluate(_: str, penalizer: float) -> dict[str, Any]:
        try:
            model = GammaGammaModel(penalizer, q_constraint).fit(
                repeat["frequency_cal"], repeat["monetary_value_cal"], repeat["weight"]
            )
        except ModelError as err:
            return {"status": "fail", "error": str(err), "penalizer_used": math.nan}
        with np.errstate(divide="ignore", invalid="ignore"):
            predicted = model.expected_average_spend(scored["frequency_cal"], scored["monetary_value_cal"])
            one_time = model.expected_average_spend(np.zeros(len(scored)), scored["monetary_value_cal"])
        actual, weight = scored["monetary_value_holdout"].to_numpy(float), scored["weight"].to_numpy(float)
        error = weighted_loss(np.concatenate([predicted, one_time]), np.concatenate([actual, actual]),
                              np.concatenate([weight, weight]), loss)
        return _scored(error, model.penalizer_used_, f"penalizer={penalizer:g}: expected spend is not finite (q = 1)")

    return _run(evaluate, ["gamma_gamma"], penalizer_range, max_evals, seed, trials,
                ("gamma_gamma", float(default_penalizer)), "monetary model", backend, "model.monetary.tuning")
