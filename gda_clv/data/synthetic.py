"""Synthetic transaction logs drawn from the BG/NBD + Gamma-Gamma generative process, vectorised with numpy.

Per customer i (time unit: days, continuous):
- first purchase at a time drawn uniformly from [start, acquisition_end + 1 day) (at most ``end``); T_i = the
  time from it to ``end`` (midnight at its start);
- purchase rate lambda_i ~ Gamma(shape r, rate alpha); dropout probability p_i ~ Beta(a, b);
- repeat purchases follow a Poisson process with rate lambda_i; after each repeat purchase the customer drops
  out with probability p_i (so D_i ~ Geometric(p_i) repeat purchases while alive, as in BG/NBD);
- spend scale nu_i ~ Gamma(shape q, rate v); every transaction's amount ~ Gamma(shape p, rate nu_i).
Observed repeat purchases are the first min(K_i, D_i) of the K_i ~ Poisson(lambda_i T_i) events in (0, T_i];
their times come from uniform order statistics via exponential spacings, so the work is proportional to the
number of transactions drawn. Everything is drawn in continuous time; only writing the log rounds: with
``round_to_days`` (default, a log of dates) each time is floored to its day, and purchases on one day then collapse
in a daily RFM summary. That rounding, not the draw, biases estimates from daily summaries (alpha by +3.6 to +5.1%
at 100k customers in the benchmarks' setting, z = 3 to 4.4); ``round_to_days=False`` keeps the exact timestamps.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from gda_clv.errors import ConfigError

if TYPE_CHECKING:
    from gda_clv.models._types import FloatArray, IndexArray

PARAM_KEYS = ("r", "alpha", "a", "b", "p", "q", "v")


@dataclass(frozen=True)
class _Draw:
    customer: IndexArray  # customer index per transaction
    time: FloatArray  # offset from start per transaction, in (fractional) days
    amount: FloatArray
    n_customers: int


def _check_params(params: Mapping[str, float]) -> dict[str, float]:
    missing = [k for k in PARAM_KEYS if k not in params]
    bad = [k for k in PARAM_KEYS if k in params and not float(params[k]) > 0]
    if missing or bad:
        raise ConfigError(
            f"Synthetic parameters need positive values for {', '.join(PARAM_KEYS)} "
            f"(missing: {missing or 'none'}, not positive: {bad or 'none'})."
        )
    return {k: float(params[k]) for k in PARAM_KEYS}


def _window(start: date | str, end: date | str, acquisition_end: date | str | None) -> tuple[np.datetime64, int, int]:
    first = np.datetime64(pd.Timestamp(start).date(), "D")
    last = np.datetime64(pd.Timestamp(end).date(), "D")
    days = int((last - first).astype(int))
    acq = days // 2 if acquisition_end is None else int(
        (np.datetime64(pd.Timestamp(acquisition_end).date(), "D") - first).astype(int)
    )
    if days <= 0 or not 0 <= acq <= days:
        raise ConfigError(
            f"Synthetic window needs start < end and start <= acquisition_end <= end (got {start}, {end}, "
            f"{acquisition_end})."
        )
    return first, days, acq


def _draw(n_customers: int, params: dict[str, float], days: int, acq: int, rng: np.random.Generator) -> _Draw:
    n = int(n_customers)
    birth = rng.uniform(0.0, min(acq + 1, days), size=n)
    age = days - birth
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], size=n)
    drop = rng.beta(params["a"], params["b"], size=n)
    events = rng.poisson(lam * age)  # K_i: purchase opportunities in (0, T_i]
    alive_for = rng.geometric(np.clip(drop, 1e-12, 1.0))  # D_i: repeat purchases before dropping out
    repeats = np.minimum(events, alive_for)
    # The first `repeats` of `events` sorted uniforms on (0, T]: S_j / S_{K+1} with S cumulative Exp(1) sums.
    owner = np.repeat(np.arange(n), repeats)
    cum = np.concatenate(([0.0], np.cumsum(rng.exponential(size=int(repeats.sum())))))
    first = np.cumsum(repeats) - repeats  # position of each customer's first spacing
    partial = cum[1:] - cum[first][owner]  # S_j within the customer
    total = cum[first + repeats] - cum[first] + rng.gamma(events - repeats + 1.0)  # S_{K+1} = S_n + Gamma(K+1-n)
    times = age[owner] * partial / total[owner]
    customer = np.concatenate((np.arange(n), owner))
    time = np.concatenate((birth, birth[owner] + times))
    nu = rng.gamma(params["q"], 1.0 / params["v"], size=n)
    amount = rng.gamma(params["p"], 1.0 / nu[customer])
    return _Draw(customer=customer, time=time, amount=amount, n_customers=n)


def generate_transactions(
    n_customers: int,
    params: Mapping[str, float],
    start: date | str,
    end: date | str,
    seed: int = 0,
    acquisition_end: date | str | None = None,
    id_prefix: str = "C",
    round_to_days: bool = True,
) -> pd.DataFrame:
    """A transaction log (customer_id: str, transaction_date: datetime64, amount: float), one row per purchase.

    ``params`` holds r, alpha (rate per day), a, b (BG/NBD) and p, q, v (Gamma-Gamma). First purchases are
    spread over [start, acquisition_end] (default: the first half of the window). Same seed, same log.
    ``round_to_days`` floors the (continuous) purchase times to dates; False keeps them to the nanosecond.

    Raises ``ConfigError`` when ``n_customers`` is not positive.
    """
    checked = _check_params(params)
    first, days, acq = _window(start, end, acquisition_end)
    if n_customers <= 0:
        raise ConfigError(f"Synthetic n_customers must be positive (got {n_customers}).")
    draw = _draw(n_customers, checked, days, acq, np.random.default_rng(seed))
    width = len(str(draw.n_customers - 1))
    ids = np.array([f"{id_prefix}{i:0{width}d}" for i in range(draw.n_customers)], dtype=object)
    return pd.DataFrame(
        {
            "customer_id": ids[draw.customer],
            "transaction_date": _timestamps(first, draw.time, round_to_days),
            "amount": draw.amount,
        }
    )


def _timestamps(first: np.datetime64, days: FloatArray, round_to_days: bool) -> npt.NDArray[np.datetime64]:
    """``first`` + ``days`` (fractional) as datetime64[ns], floored to the day when ``round_to_days``."""
    offset = np.floor(days).astype("timedelta64[D]") if round_to_days else (days * 86_400e9).astype("timedelta64[ns]")
    stamps: npt.NDArray[np.datetime64] = (first.astype("datetime64[ns]") + offset).astype("datetime64[ns]")
    return stamps


def customers_for_transactions(
    target_transactions: int,
    params: Mapping[str, float],
    start: date | str,
    end: date | str,
    seed: int = 0,
    acquisition_end: date | str | None = None,
    pilot_customers: int = 20_000,
) -> int:
    """How many customers give about ``target_transactions`` rows, from a seeded pilot draw of the same process."""
    checked = _check_params(params)
    _, days, acq = _window(start, end, acquisition_end)
    pilot = _draw(pilot_customers, checked, days, acq, np.random.default_rng(seed))
    per_customer = len(pilot.customer) / pilot.n_customers
    return max(1, math.ceil(target_transactions / per_customer))
