"""The type checker `make lint` and `make test` run: strict on gda_clv/, missing stubs excused per package only."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]


def _mypy_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]


def test_config_is_strict_on_the_package_and_excuses_missing_stubs_per_package_only() -> None:
    config = _mypy_config()
    assert config["strict"] is True and config["files"] == ["gda_clv"]
    assert "ignore_missing_imports" not in config
    excused = [m for o in config["overrides"] if o.get("ignore_missing_imports") for m in o["module"]]
    assert "lifetimes.*" in excused and "hyperopt.*" in excused
    assert not [m for m in excused if m.split(".")[0] == "gda_clv" or m in ("*", "numpy.*", "pandas.*")]


def test_make_lint_and_make_test_run_mypy() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("lint", "test"):
        recipe = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.M)
        assert recipe and "$(MYPY)" in recipe.group(1), f"make {target} does not run mypy"
    assert re.search(r"^MYPY := .*\$\(VENV\)/bin/mypy", makefile, re.M)


def test_the_projects_config_rejects_untyped_code_and_unknown_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import lifetimes\nimport no_such_package_gda\n\n\ndef untyped(x):\n    return x\n")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(tmp_path / "cache"), str(sample)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[no-untyped-def]" in done.stdout  # strict applies
    assert '"no_such_package_gda"' in done.stdout and "[import-not-found]" in done.stdout  # no global excuse
    assert "lifetimes" not in done.stdout  # the per-package excuse applies
