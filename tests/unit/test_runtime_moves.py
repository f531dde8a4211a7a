"""The runtime-moves check (run by `make test` on the freeze the Makefile writes) reports and rejects moves."""
from __future__ import annotations

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location("runtime_moves", Path(__file__).parents[1] / "runtime_moves.py")
runtime_moves = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(runtime_moves)
ALLOWED_MOVES, main = runtime_moves.ALLOWED_MOVES, runtime_moves.main
moved, pins = runtime_moves.moved, runtime_moves.pins

RUNTIME = "# runtime\nfuture==0.18.3\n    # via hyperopt\nNumPy==2.1.3\npyyaml==6.0.2 ; python_version >= '3'\n"


def test_pins_normalise_names_and_skip_comments() -> None:
    assert pins(RUNTIME + "-e file:///work\n") == {"future": "0.18.3", "numpy": "2.1.3", "pyyaml": "6.0.2"}


def test_moved_lists_changed_and_removed_packages() -> None:
    after = {"future": "1.0.0", "numpy": "2.1.3", "hyperopt": "0.2.7"}
    assert moved(pins(RUNTIME), after) == {"future": ("0.18.3", "1.0.0"), "pyyaml": ("6.0.2", "removed")}


def test_only_allow_listed_moves_pass(tmp_path: Path) -> None:
    runtime, ok, bad = tmp_path / "pins.txt", tmp_path / "ok.txt", tmp_path / "bad.txt"
    runtime.write_text(RUNTIME)
    ok.write_text("future==1.0.0\nnumpy==2.1.3\npyyaml==6.0.2\nhyperopt==0.2.7\n")
    bad.write_text("future==1.0.0\nnumpy==2.2.0\npyyaml==6.0.2\n")
    assert "future" in ALLOWED_MOVES and "numpy" not in ALLOWED_MOVES
    assert main(["x", str(runtime), str(ok)]) == 0
    assert main(["x", str(runtime), str(bad)]) == 1
