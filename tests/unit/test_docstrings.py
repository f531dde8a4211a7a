"""Every public function and class of gda_clv has a docstring, and a function that raises names what it raises.

Public: a module-level function or class, or a method of a public class, whose name does not start with ``_``, in a
module whose name does not start with ``_`` (package ``__init__`` files count). "Names what it raises": for each
``raise X(...)`` / ``raise X`` written in the function's own body (not in nested functions), the class name ``X``
appears in the docstring. A bare ``raise`` (re-raise) and raising a lower-case variable are not checked.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "gda_clv"

def _public_modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if any(part.startswith("_") and part != "__init__" for part in parts):
            continue
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield module, path


def _raised_names(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Class names in ``raise`` statements of ``func``'s own body (nested functions and classes excluded)."""
    names: set[str] = set()
    stack: list[ast.AST] = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if name[:1].isupper():
                names.add(name)
        stack.extend(ast.iter_child_nodes(node))
    return names


def _problem(node: ast.AST) -> str | None:
    doc = ast.get_docstring(node)
    if not doc:
        return "no docstring"
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        unnamed = sorted(name for name in _raised_names(node) if name not in doc)
        if unnamed:
            return f"raises {', '.join(unnamed)} but the docstring does not say so"
    return None


def _public_definitions(tree: ast.Module) -> Iterator[tuple[str, ast.AST]]:
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            yield node.name, node
            if isinstance(node, ast.ClassDef):
                for child in node.body:
                    if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and not child.name.startswith("_"):
                        yield f"{node.name}.{child.name}", child


def find_problems() -> dict[str, str]:
    """``module:qualname`` -> what is missing, for every public definition of gda_clv that breaks the rule."""
    problems: dict[str, str] = {}
    for module, path in _public_modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        for qualname, node in _public_definitions(tree):
            problem = _problem(node)
            if problem:
                problems[f"{module}:{qualname}"] = problem
    return problems


def test_public_definitions_have_docstrings_that_name_what_they_raise() -> None:
    problems = find_problems()
    assert not problems, "public definitions breaking the docstring rule:\n" + "\n".join(
        f"  {name}: {why}" for name, why in sorted(problems.items())
    )


def test_the_rule_catches_what_it_claims() -> None:
    source = '''
def undocumented():
    return 1

def raises_unnamed(x):
    """Does a thing."""
    if x:
        raise ValueError("bad")

def raises_named(x):
    """Does a thing.

    Raises
    ------
    ValueError
        when x is truthy.
    """
    def inner():
        raise KeyError("nested functions are their own definitions")
    try:
        inner()
    except KeyError as exc:
        raise
    if x:
        raise ValueError("bad")
'''
    tree = ast.parse(source)
    found = {name: _problem(node) for name, node in _public_definitions(tree)}
    assert found == {
        "undocumented": "no docstring",
        "raises_unnamed": "raises ValueError but the docstring does not say so",
        "raises_named": None,
    }
