"""Sphinx configuration of the gda_clv documentation (``make docs``: HTML in docs/_build/html, warnings are errors)."""
from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path[:0] = [str(DOCS.parent), str(DOCS / "_ext")]

project = "gda_clv"
author = "gda_clv maintainers"
copyright = "gda_clv maintainers"  # noqa: A001 - Sphinx's name

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "sphinx_autodoc_typehints",
    "myst_parser",
    "config_reference",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
html_theme = "furo"
html_title = "gda_clv"

# API reference: autosummary writes one page per module (docs/api/generated, not committed) from the docstrings.
autosummary_generate = True
autosummary_imported_members = False
# every member defined in the module (a module's __all__ may re-export names documented where they are defined)
autodoc_default_options = {"members": True, "undoc-members": True, "ignore-module-all": True}
autodoc_inherit_docstrings = False  # mlflow's PythonModel docstrings are not ours and do not resolve here
autodoc_member_order = "bysource"
autodoc_typehints = "description"  # rendered by sphinx-autodoc-typehints into the parameter lists
typehints_use_signature_return = False
always_document_param_types = False
napoleon_numpy_docstring = True
napoleon_google_docstring = False

# Every cross-reference inside the project must resolve. Names from other libraries stay unlinked: the build runs
# offline (no intersphinx inventories), so those are the only references allowed to be unresolved.
nitpicky = True
_EXTERNAL = (
    r"(pd|np|pandas|numpy|pyspark|mlflow|pydantic|pydantic_core|sklearn|scipy|databricks|matplotlib|yaml|hyperopt"
    r"|argparse|logging|pathlib|datetime|dt|collections|typing|typing_extensions|contextlib|concurrent|os|subprocess"
    r"|dataclasses|enum|abc|json|io|types)(\..*)?"
)
nitpick_ignore_regex = [
    (r"py:.*", _EXTERNAL),
    (r"py:.*", r"(DataFrame|SparkSession|Column|Axes|Figure|ArrayLike|NDArray|Path|Any|Callable|Iterator|Iterable"
               r"|Mapping|Sequence|ValidationError|BaseModel|BaseEstimator|TransformerMixin|Protocol|Logger"
               r"|LoggerAdapter|Namespace|ndarray|date|datetime|Trials|PythonModel|PythonModelContext"
               r"|ModelVersion|MlflowClient|WorkspaceClient|Series|Generator|Literal|Optional|Union|Self|TypeVar"
               r"|NoneType|timedelta|T|Sized|Ellipsis)"),
    # pydantic Field constraints and union tags as sphinx-autodoc-typehints renders Annotated[...] metadata
    (r"py:.*", r"(annotated_types\..*|(gt|ge|lt|le|min_length|tag|discriminator|custom_error_\w+)=.*"
               r"|json_schema_input_type=.*|func=.*)"),
    # ... and a Field(...) inside Annotated[...] (list items) or with allow_inf_nan, rendered as its FieldInfo repr
    (r"py:.*", r"(FieldInfo|_PydanticGeneralMetadata|Gt|Ge|Lt|Le|(annotation|required|metadata|allow_inf_nan)=.*)"),
    # typing.Annotated, which older sphinx-autodoc-typehints (the 16.4 mirror) qualifies with the using module
    (r"py:.*", r"(\w+\.)*Annotated"),
]

# Code examples marked ``.. doctest::`` / ``>>>`` run in the test suite (tests/unit/test_docs.py) and in make docs.
doctest_global_setup = "import gda_clv"

# Docstrings that do not render as reST yet, in modules other branches are editing (the integrator fixes them after
# merging and removes them here). They are shown verbatim instead of parsed. Shrink-only: the build fails when a
# listed object is no longer documented, and tests/unit/test_docs.py fails when its docstring now parses cleanly.
VERBATIM_DOCSTRINGS = {
    "gda_clv.data.synthetic",  # unindented bullet list
    "gda_clv.data.transactions.apply_outlier_rule",  # bullet list without a blank line after it
    "gda_clv.models.frequency.FrequencyModel",  # ``params_`` written as params_ (a reST reference)
}


def setup(app):  # noqa: ANN001, ANN201 - Sphinx's hook
    """Project hooks: unique short names resolve, VERBATIM_DOCSTRINGS shown verbatim and kept honest."""
    from docs_hooks import register

    register(app, VERBATIM_DOCSTRINGS)
