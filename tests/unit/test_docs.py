"""The documentation site builds with warnings as errors, its code examples run, and its generated parts are true."""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from docutils import nodes
from docutils.core import publish_doctree

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

import config_reference  # noqa: E402 - docs/_ext is not a package


def _sphinx(builder: str, out: Path, doctrees: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", builder, "-W", "--keep-going", "-q", "-d", str(doctrees), *extra,
         str(DOCS), str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )


@pytest.mark.slow
def test_site_builds_without_warnings_and_its_examples_run(tmp_path: Path) -> None:
    doctrees = tmp_path / "doctrees"
    shutil.rmtree(DOCS / "generated", ignore_errors=True)  # stubs of modules that no longer exist would warn
    html = _sphinx("html", tmp_path / "html", doctrees, "-E")
    assert html.returncode == 0, html.stderr[-4000:]
    for page in ("index", "getting-started", "concepts", "configuration", "deploying", "operating", "api", "DEVELOPING",
                 "generated/gda_clv.utils.common"):
        assert (tmp_path / "html" / f"{page}.html").is_file(), page
    reference = (tmp_path / "html" / "configuration.html").read_text()
    assert "data.source.columns.customer_id" in reference and "model.frequency.tuning.types" in reference
    doctest = _sphinx("doctest", tmp_path / "doctest", doctrees)
    assert doctest.returncode == 0, doctest.stdout[-4000:] + doctest.stderr[-4000:]
    summary = (tmp_path / "doctest" / "output.txt").read_text()
    ran = int(re.search(r"(\d+) tests\n\s+0 failures in tests", summary).group(1))
    assert ran >= 10, summary


def _flat(data: object, prefix: str = "") -> dict[str, object]:
    if not isinstance(data, dict) or not data:
        return {prefix: data}
    flat: dict[str, object] = {}
    for key, value in data.items():
        flat.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def test_config_reference_lists_every_shipped_key_with_its_default() -> None:
    rows = {row.key: row for row in config_reference.rows()}
    shipped: dict[str, object] = {}
    for path in config_reference.shipped_layers():
        shipped.update(_flat(yaml.safe_load(path.read_text())))
    assert set(shipped) <= set(rows)
    for key, value in shipped.items():
        assert rows[key].default == value, key
    assert rows["data.freq"].type == "one of D | W | M"
    assert rows["data.holdout_days"].type == "int (> 0)"
    assert rows["deployment.permissions.experiment"].type.startswith(
        "list of {user_name: str, permission_level: str} or {group_name: str, permission_level: str} or")
    assert rows["deployment.webhook_notifications"].type.startswith("mapping one of on_start | on_success")
    assert rows["data.source.path"].description.startswith("csv/parquet: a path")
    assert {"local", "dev"} <= set(rows["runtime.backend"].environments)


def test_yaml_comments_follow_nesting(tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    path.write_text("a:   # section\n  b: 1   # inner\n  c:\n    d: x # deep\ne: 2 # top\n")
    assert config_reference.yaml_comments(path) == {"a": "section", "a.b": "inner", "a.c.d": "deep", "e": "top"}


def _rst_problems(text: str) -> list[str]:
    """reST warnings/errors of ``text`` under plain docutils, with Sphinx roles reduced to literals."""
    plain = re.sub(r":[a-z:]+:`~?([^`]+)`", r"``\1``", text)
    doctree = publish_doctree(plain, settings_overrides={"report_level": 5, "halt_level": 5,
                                                         "warning_stream": io.StringIO()})
    problems = [m.astext() for m in doctree.findall(nodes.system_message) if m["level"] >= 2]
    # transform messages (an unknown link target, ...) replace the markup by a "problematic" node
    return problems + [f"problematic: {node.astext()}" for node in doctree.findall(nodes.problematic)]


def _docstring(qualified: str) -> str:
    parts = qualified.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj.__doc__ or ""
    raise AssertionError(f"cannot import {qualified}")


def test_verbatim_docstrings_list_only_shrinks() -> None:
    spec = importlib.util.spec_from_file_location("docs_conf", DOCS / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    clean = [name for name in sorted(conf.VERBATIM_DOCSTRINGS) if not _rst_problems(inspect.cleandoc(_docstring(name)))]
    assert not clean, f"these docstrings now render; remove them from VERBATIM_DOCSTRINGS in docs/conf.py: {clean}"


def test_rst_check_sees_the_problems_it_claims() -> None:
    assert _rst_problems("Summary.\n\n- a\n- b\nunindented text") != []
    assert _rst_problems("Has fit / params_ / predict.") != []
    assert _rst_problems("Summary with :class:`gda_clv.errors.ConfigError`.\n\n- a\n- b\n\nText.") == []


# ---- the Markdown documents point only to files a clone has and names that exist --------------------------------
MARKDOWN = [*sorted(DOCS.glob("*.md")), ROOT / "README.md", ROOT / "bench" / "README.md"]
CODE = re.compile(r"```.*?```|`[^`\n]+`|\]\(([^)\s]+)\)", re.S)
PATH = re.compile(r"[\w.-]+(?:/[\w.*<>{},-]*)+|[\w-]+\.(?:py|yml|yaml|md|txt|toml|json|sh)\b")
NAME = re.compile(r"\bgda_clv(?:\.\w+)*:\w+|\bgda_clv(?:\.\w+)+")


def _git(*args: str) -> list[str]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.splitlines()


def _expand(token: str) -> list[str]:
    """``a/{b,c}.py`` -> ``a/b.py``, ``a/c.py``."""
    match = re.search(r"\{([^{}]*)\}", token)
    if not match:
        return [token]
    return [out for alt in match.group(1).split(",")
            for out in _expand(token[:match.start()] + alt + token[match.end():])]


def _code(text: str) -> str:
    """The code spans, code blocks and link targets of a Markdown text."""
    return "\n".join(m.group(1) or m.group(0) for m in CODE.finditer(text))


def _missing_paths(text: str, tracked: set[str]) -> list[str]:
    """Repository paths in ``text``'s code that a clone does not have (ignored, i.e. generated, paths excepted)."""
    tops = {path.split("/", 1)[0] for path in tracked}
    candidates = set()
    for token in PATH.findall(_code(text)):
        for path in _expand(token.rstrip(".,:;")):
            path = re.split(r"[<*]|\.\.\.", path)[0].removeprefix("./")
            if path.split("/", 1)[0] in tops and path.rstrip("/") not in {"", "."}:
                candidates.add(path)
    present = {p for p in candidates if p.rstrip("/") in tracked or any(t.startswith(p.rstrip("/") + "/")
                                                                        for t in tracked)}
    ignored = set(_git("check-ignore", "--no-index", *sorted(candidates - present))) if candidates - present else set()
    return sorted(candidates - present - ignored)


def _missing_names(text: str) -> list[str]:
    missing = []
    for name in sorted(set(NAME.findall(text))):
        dotted = name.replace(":", ".")
        try:
            _docstring(dotted)
        except (AssertionError, AttributeError):
            missing.append(name)
    return missing


@pytest.mark.parametrize("doc", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_markdown_points_to_files_and_names_that_exist(doc: Path) -> None:
    tracked = set(_git("ls-files"))
    assert tracked, "needs a git checkout"
    text = doc.read_text(encoding="utf-8")
    assert _missing_paths(text, tracked) == []
    assert _missing_names(text) == []


def test_developing_md_names_only_real_job_context_attributes() -> None:
    from dataclasses import fields

    from gda_clv.utils.common import JobContext

    source = inspect.getsource(JobContext)
    known = {f.name for f in fields(JobContext)} | {n for n in dir(JobContext) if not n.startswith("_")}
    known |= set(re.findall(r"self\.(\w+) =", source))
    used = set(re.findall(r"\bctx\.(\w+)", (DOCS / "DEVELOPING.md").read_text()))
    assert used and used <= known, sorted(used - known)


def test_reference_checks_see_what_is_missing() -> None:
    tracked = {"gda_clv/cli.py", "conf/base.yml", "docs/conf.py"}
    text = ("`gda_clv/cli.py`, `gda_clv/gone.py`, `conf/{base,extra}.yml`, `conf/deployment.yml` (ignored), "
            "`docs/_build/html`, `gda_clv/pipelines/<step>.py`, BG/NBD, `gda_clv.utils.common:JobContext`, "
            "`gda_clv.utils.common:NoSuchThing`, `gda_clv.nowhere`\n```\ngda_clv/utils/{common,gone}.py\n```")
    assert _missing_paths(text, tracked) == ["conf/extra.yml", "gda_clv/gone.py", "gda_clv/pipelines/",
                                             "gda_clv/utils/common.py", "gda_clv/utils/gone.py"]
    assert _missing_names(text) == ["gda_clv.nowhere", "gda_clv.utils.common:NoSuchThing"]
