"""The models package: no import cycles, one registry of frequency types, a stated public surface."""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import gda_clv.models as models
from gda_clv.models import BetaGeoModel, FrequencyModel, GammaGammaModel, frequency, make_frequency_model
from gda_clv.models.clv import customer_lifetime_value

PACKAGE = Path(models.__file__).parent


def _imports(path: Path) -> Iterator[str]:
    """Every gda_clv.models module ``path`` imports, at module level or inside functions."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gda_clv.models"):
            if node.module == "gda_clv.models":
                yield from (f"gda_clv.models.{alias.name}" for alias in node.names)
            else:
                yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("gda_clv.models."))


def test_models_modules_import_each_other_without_cycles() -> None:
    skip = ("__init__", "pyfunc")  # pyfunc: the old path of the MLflow wrappers, a re-export
    graph = {f"gda_clv.models.{p.stem}": set(_imports(p)) for p in PACKAGE.glob("*.py") if p.stem not in skip}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for dep in graph.get(module, ()):
            visit(dep, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())


def test_public_surface_is_importable_and_registers_every_type() -> None:
    assert all(hasattr(models, name) for name in models.__all__)
    assert frequency.frequency_types() == ("bgnbd", "mbgnbd", "pareto_nbd")
    assert type(FrequencyModel.from_dict(make_frequency_model("bgnbd").to_dict() | {"params": {
        "r": 0.2, "alpha": 4.0, "a": 0.8, "b": 2.4}})) is BetaGeoModel


def test_unknown_type_names_the_argument_and_the_choices() -> None:
    with pytest.raises(ValueError, match=r"type must be one of bgnbd, mbgnbd, pareto_nbd, got 'nbd'"):
        make_frequency_model("nbd")


def test_clv_uses_the_models_own_discounted_sum() -> None:
    """customer_lifetime_value asks the model for its discounted purchases (no isinstance switch on BG/NBD)."""

    class Flat(BetaGeoModel):
        def discounted_purchases(self, frequency, recency, T, steps, discounts):  # noqa: ANN001, ANN201, N803
            return np.full(len(frequency), 2.0)

    flat = Flat()
    flat.params_ = {"r": 0.2, "alpha": 4.0, "a": 0.8, "b": 2.4}
    gg = GammaGammaModel.from_dict({"type": "gamma_gamma", "params": {"p": 6.0, "q": 4.0, "v": 15.0}})
    clv = customer_lifetime_value(flat, gg, [2.0], [30.0], [38.0], [20.0], time_months=3, discount_rate=0.01)
    spend = gg.expected_average_spend([2.0], [20.0])
    np.testing.assert_allclose(clv, 2.0 * spend)
