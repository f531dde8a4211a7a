"""The fit bookkeeping every model shares: penalizer, fitted parameters, standard errors, attempts, persistence."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np

from gda_clv.errors import ModelError
from gda_clv.models._fitting import FitOutcome
from gda_clv.models._types import FloatArray


class FittedModel:
    """A model with a penalizer and, once fitted or loaded, ``params_`` and the record of how they were found.

    Subclasses set ``param_names`` and ``label`` (for messages).
    """

    param_names: ClassVar[tuple[str, ...]]
    label: ClassVar[str]

    def __init__(self, penalizer: float = 0.0) -> None:
        """An unfitted model.

        Raises ``ValueError`` when the penalizer is not a number >= 0.
        """
        if not penalizer >= 0:
            raise ValueError(f"penalizer must be a number >= 0, got {penalizer}")
        self.penalizer = float(penalizer)
        self.penalizer_used_ = float(penalizer)
        self.params_: dict[str, float] = {}
        self.standard_errors_: dict[str, float] = {}
        self.log_likelihood_ = math.nan
        self.converged_ = False
        self.fit_attempts_: list[str] = []
        self.n_customers_ = 0.0

    @classmethod
    def checked(cls, model: object, where: str) -> Self:
        """``model`` (e.g. loaded from the registry) when it is a ``cls`` model.

        Raises ``ModelError`` naming ``where`` (the registered version) when it is another kind of model.
        """
        if not isinstance(model, cls):
            raise ModelError(f"{where} holds a {type(model).__name__}, not a {cls.__name__}: register each model "
                             "under its own model.registry.*_name, or pin another version.")
        return model

    def _record_fit(
        self, params: FloatArray, ses: FloatArray, log_likelihood: float, outcome: FitOutcome, n_customers: float
    ) -> None:
        """Store the results of a converged fit."""
        self.params_ = {n: float(v) for n, v in zip(self.param_names, params, strict=True)}
        self.standard_errors_ = {n: float(v) for n, v in zip(self.param_names, ses, strict=True)}
        self.log_likelihood_ = float(log_likelihood)
        self.converged_ = True
        self.fit_attempts_ = outcome.attempts
        self.penalizer_used_ = outcome.penalizer
        self.n_customers_ = float(n_customers)

    def param_array(self) -> FloatArray:
        """The fitted parameters in ``param_names`` order.

        Raises ``ModelError`` before the model is fitted or loaded.
        """
        if not self.params_:
            raise ModelError(f"The {self.label} model has no parameters yet: call fit() or load it with from_dict().")
        return np.array([self.params_[n] for n in self.param_names])

    def _fit_state(self) -> dict[str, Any]:
        """The JSON-serialisable fit results (NaN standard errors / likelihood become None)."""
        return {
            "penalizer": self.penalizer,
            "penalizer_used": self.penalizer_used_,
            "params": dict(self.params_),
            "standard_errors": {k: (None if math.isnan(v) else v) for k, v in self.standard_errors_.items()},
            "log_likelihood": None if math.isnan(self.log_likelihood_) else self.log_likelihood_,
            "converged": self.converged_,
            "fit_attempts": list(self.fit_attempts_),
            "n_customers": self.n_customers_,
        }

    def _restore_fit_state(self, d: dict[str, Any], param_names: Sequence[str]) -> None:
        """Set what :meth:`_fit_state` wrote into ``d``."""
        self.params_ = {n: float(d["params"][n]) for n in param_names}
        ses = d.get("standard_errors") or {}
        self.standard_errors_ = {n: math.nan if ses.get(n) is None else float(ses[n]) for n in param_names}
        ll = d.get("log_likelihood")
        self.log_likelihood_ = math.nan if ll is None else float(ll)
        self.converged_ = bool(d.get("converged", True))
        self.fit_attempts_ = list(d.get("fit_attempts", []))
        self.penalizer_used_ = float(d.get("penalizer_used", self.penalizer))
        self.n_customers_ = float(d.get("n_customers", 0.0))

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items()) or "not fitted"
        return f"<{type(self).__name__} {self.label}: {shown}>"
