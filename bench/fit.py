"""Fitting: gda_clv's BG/NBD (compress to distinct tuples + vectorised likelihood with analytic gradient) vs
lifetimes' BetaGeoFitter().fit on all customers, same data, same (unpenalised) objective.

lifetimes is also timed on the compressed tuples with weights, to separate the gain from compression from the
gain from the likelihood code. lifetimes runs only up to ``lifetimes_max`` customers (it is slow at 10M).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.common import Row, max_rel_diff, timed, with_ratios
from bench.datasets import customers
from gda_clv.models._lifetimes import quiet
from gda_clv.models.bgnbd import BetaGeoModel
from gda_clv.models.compress import compress

KEYS = ("frequency", "recency", "T")
PARAMS = ("r", "alpha", "a", "b")


def fit_ours(df: pd.DataFrame) -> tuple[np.ndarray, dict[str, float]]:
    """Compress then fit; returns (r, alpha, a, b) and the seconds of each part."""
    tuples, t_compress = timed(compress, df[list(KEYS)], KEYS)
    model, t_fit = timed(BetaGeoModel().fit, tuples["frequency"], tuples["recency"], tuples["T"], tuples["weight"])
    return model.param_array(), {"compress_s": t_compress, "fit_s": t_fit, "tuples": len(tuples)}


def _named(params: np.ndarray) -> dict[str, float]:
    return {name: float(v) for name, v in zip(PARAMS, params, strict=True)}


def fit_lifetimes(df: pd.DataFrame, weights: Any = None) -> np.ndarray:
    """lifetimes' BetaGeoFitter().fit; returns (r, alpha, a, b)."""
    from lifetimes import BetaGeoFitter

    with quiet():
        fitter = BetaGeoFitter().fit(df["frequency"], df["recency"], df["T"], weights=weights)
    return fitter.params_[list(PARAMS)].to_numpy()


def bench_fit(sizes: list[int], cache_dir: Path, lifetimes_max: int = 2_000_000) -> list[Row]:
    """Time both fits at each size (customers); parameters must agree to 1e-4 relative."""
    rows: list[Row] = []
    for n in sizes:
        df = customers(n, cache_dir)
        (ours, parts), t_ours = timed(fit_ours, df)
        extra: dict[str, Any] = {"params": _named(ours), **parts}
        if n <= lifetimes_max:
            ref, t_ref = timed(fit_lifetimes, df)
            extra["max_rel_diff_vs_lifetimes"] = max_rel_diff(ours, ref)
            extra["lifetimes_params"] = _named(ref)
            rows.append(Row("fit", n, "customers", "lifetimes", t_ref))
            tuples = compress(df[list(KEYS)], KEYS)
            ref_c, t_ref_c = timed(fit_lifetimes, tuples, weights=tuples["weight"])
            rows.append(Row("fit", n, "customers", "lifetimes on our tuples", t_ref_c,
                            extra={"max_rel_diff_vs_lifetimes": max_rel_diff(ref_c, ref)}))
        else:
            skipped = {"skipped": f"more than {lifetimes_max} customers"}
            rows.append(Row("fit", n, "customers", "lifetimes", None, extra=skipped))
        agree = extra.get("max_rel_diff_vs_lifetimes", 0.0) < 1e-4
        extra["agree"] = agree
        rows.append(Row("fit", n, "customers", "gda_clv compress+fit", t_ours, target=">=20x lifetimes at 1M",
                        extra=extra))
    with_ratios(rows, "lifetimes")
    for r in rows:
        if r.impl == "gda_clv compress+fit" and r.size == 1_000_000 and r.ratio is not None:
            r.met = bool(r.ratio >= 20 and r.extra["agree"])
    return rows
