"""Build hooks of the gda_clv docs: short names of project objects resolve, and known-bad docstrings are shown verbatim.

A docstring listed in ``VERBATIM_DOCSTRINGS`` (docs/conf.py) is rendered as a literal block; the build warns (an
error under ``-W``) when a listed object never came through autodoc; tests/unit/test_docs.py fails when a
listed docstring now parses without a reST problem, so the list only shrinks.
"""
from __future__ import annotations

import importlib
from typing import Any

from sphinx.util.nodes import make_refnode


def _existing_constant(node: Any, contnode: Any) -> Any:
    """A ``:data:`` reference to a constant that exists in the referring module but has no doc comment to link to
    renders as its name; a name that does not exist stays a missing reference."""
    module = node.get("py:module") or ""
    if node.get("reftype") != "data" or not module.startswith("gda_clv"):
        return None
    return contnode if hasattr(importlib.import_module(module), node["reftarget"]) else None


def register(app: Any, verbatim: set[str]) -> None:
    """Connect the hooks for ``verbatim`` (fully qualified object names)."""
    seen: set[str] = set()

    def process(_app: Any, _what: str, name: str, _obj: Any, _options: Any, lines: list[str]) -> None:
        if name not in verbatim:
            return
        seen.add(name)
        lines[:] = ["::", ""] + [f"    {line}" for line in lines] + [""]

    def finished(_app: Any, exc: Exception | None) -> None:
        from sphinx.util import logging

        logger = logging.getLogger(__name__)
        if exc is None and app.builder.name == "html":
            for name in sorted(verbatim - seen):
                logger.warning("VERBATIM_DOCSTRINGS lists %s, which autodoc no longer documents: remove it", name)

    def resolve_short(_app: Any, env: Any, node: Any, contnode: Any) -> Any:
        if node.get("refdomain") != "py" or "." in node["reftarget"]:
            return None
        objects = env.get_domain("py").objects
        suffix = "." + node["reftarget"]
        matches = [full for full in objects if full.endswith(suffix) and full.startswith("gda_clv.")]
        if len(matches) != 1:
            return _existing_constant(node, contnode)
        entry = objects[matches[0]]
        return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, matches[0])

    app.connect("autodoc-process-docstring", process, priority=100)  # before napoleon and typehints parse it
    app.connect("build-finished", finished)
    app.connect("missing-reference", resolve_short)
