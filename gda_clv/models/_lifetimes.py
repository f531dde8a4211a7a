"""lifetimes behind a quiet boundary: its import-time and per-call warning filters and its prints stay inside.

lifetimes calls ``warnings.simplefilter("ignore", FutureWarning)`` at import and inside its likelihoods, and
prints the optimiser output when a fit fails. Everything of lifetimes that gda_clv uses goes through
``quiet()``, which restores the caller's warning filters afterwards and captures stdout into a string.
hyperopt, which imports pkg_resources as lifetimes does, is imported through it too.
"""
from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout


@contextmanager
def quiet() -> Iterator[io.StringIO]:
    """Run lifetimes code without touching global warning filters or printing; yields the captured stdout."""
    buffer = io.StringIO()
    with warnings.catch_warnings(), redirect_stdout(buffer):
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        yield buffer


with quiet():
    import lifetimes  # noqa: E402
    from lifetimes import generate_data  # noqa: E402
    from lifetimes.utils import ConvergenceError  # noqa: E402

__all__ = ["ConvergenceError", "generate_data", "lifetimes", "quiet"]
