"""The import rules of docs/ARCHITECTURE.md, checked on the source: what each layer may import from gda_clv."""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "gda_clv"

# leaf modules every layer may import: the package root (__version__), errors, column names and time units
LEAVES = ("gda_clv", "gda_clv.errors", "gda_clv.names")
# pure layers: the only gda_clv packages each may import besides the leaves
ONLY = {
    "gda_clv.models": ("gda_clv.models",),
    "gda_clv.data": ("gda_clv.models", "gda_clv.data"),
}
# the seed's path of the pyfunc wrappers, kept as a re-export when the MLflow glue left models/ (issue 14 item 3)
REEXPORTS = {("gda_clv.models.pyfunc", "gda_clv.utils.pipelines.pyfunc")}
DEPLOY_TIME = (
    "gda_clv.utils.job_gen", "gda_clv.utils.dbx_utils", "gda_clv.utils.bundle_check",
    "gda_clv.utils.job_templates_scheduler_gen", "gda_clv.utils.job_meta_checker", "gda_clv.utils.api",
)
# what runs inside a job never reaches for the deploy-time tooling, the CLI or the local job runner
NEVER = {
    "gda_clv.pipelines": (*DEPLOY_TIME, "gda_clv.cli", "gda_clv.workflow"),
    "gda_clv.monitoring": (*DEPLOY_TIME, "gda_clv.cli", "gda_clv.workflow", "gda_clv.pipelines"),
    "gda_clv.utils": ("gda_clv.cli", "gda_clv.workflow", "gda_clv.pipelines"),
}


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path) -> Iterator[str]:
    """Every gda_clv module ``path`` imports, at module level or inside functions."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("gda_clv"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], *filter(None, [base])])
            if not base.startswith("gda_clv"):
                continue
            for alias in node.names:  # `from gda_clv.utils import tables` imports the module gda_clv.utils.tables
                sub = f"{base}.{alias.name}"
                yield sub if _is_module(sub, root) else base


def _is_module(name: str, root: Path) -> bool:
    path = root.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _violations(root: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path, root)
        deploy_time = _within(module, DEPLOY_TIME)
        for target in _imports(path, root):
            if target in LEAVES or (module, target) in REEXPORTS:
                continue
            for layer, allowed in ONLY.items():
                if _within(module, (layer,)) and not _within(target, allowed):
                    found.append(f"{module} imports {target}: {layer} may import only {', '.join(allowed)} "
                                 "and the leaf modules")
            for layer, banned in NEVER.items():
                if _within(module, (layer,)) and _within(target, banned) and not deploy_time:
                    found.append(f"{module} imports {target}: {layer} never imports it")
            if _within(module, ("gda_clv.utils",)) and not deploy_time and _within(target, DEPLOY_TIME):
                found.append(f"{module} imports {target}: runtime and output utilities never import deploy-time ones")
    return found


def test_layers_import_only_what_architecture_md_allows() -> None:
    assert _violations() == []


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    """A models module importing the registry, and a runtime utility importing job_gen, are both reported."""
    fake = tmp_path / "gda_clv"
    (fake / "models").mkdir(parents=True)
    (fake / "utils").mkdir()
    for init in (fake / "__init__.py", fake / "models" / "__init__.py", fake / "utils" / "__init__.py"):
        init.write_text("")
    (fake / "models" / "bad.py").write_text("from gda_clv.utils import registry\n")
    (fake / "utils" / "tables.py").write_text("def f():\n    from gda_clv.utils.job_gen import generate\n")
    (fake / "utils" / "registry.py").write_text("")
    assert _violations(fake) == [
        "gda_clv.models.bad imports gda_clv.utils.registry: gda_clv.models may import only gda_clv.models and the "
        "leaf modules",
        "gda_clv.utils.tables imports gda_clv.utils.job_gen: runtime and output utilities never import deploy-time "
        "ones",
    ]
