"""Sphinx configuration of invlearn's documentation (``make docs``; any warning fails the build).

Pages are Markdown (MyST), the tutorials are the example scripts of ``examples/`` run at build time
(sphinx-gallery), the API reference comes from the docstrings (autodoc, napoleon; its pages are written by
``_ext/apipages.py``), the command-line reference from the parser (sphinx-argparse) and the config reference from the
config schema (``_ext/schema.py``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

from sphinx.ext.napoleon import docstring as napoleon_docstring  # noqa: E402

import invlearn  # noqa: E402


def _attribute_prose(self) -> list[str]:
    """invlearn's attribute comments are prose ("The kinds of task: what ..."), never napoleon's "type: text"."""
    return self._consume_to_end()


napoleon_docstring.GoogleDocstring._parse_attribute_docstring = _attribute_prose

project = "invlearn"
author = "the invlearn developers"
copyright = "2026, the invlearn developers"  # noqa: A001 (Sphinx's name)
release = version = invlearn.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
    "sphinxarg.ext",
    "schema",
    "apipages",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "sg_execution_times.rst"]
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

autosummary_generate = False  # the API pages are written by _ext/apipages.py
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# Every reference must resolve (nitpicky), except to the libraries below, whose inventories cannot be fetched
# offline, and to torch's own docstrings inherited by our modules (set_extra_state's load_state_dict).
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(torch|numpy|pathlib|contextlib|collections\.abc|types|typing|lightning|argparse)(\..*)?"),
    (r"py:.*", r"(Tensor|Module|nn\..*|Path|load_state_dict|invlearn\.ops\.precision\.Op)"),
]

html_theme = "furo"
html_title = f"invlearn {release}"

# INVLEARN_DOCS_FAST=1 (the test suite's build) runs no example; `make docs` runs every one.
sphinx_gallery_conf = {
    "examples_dirs": [str(HERE.parent / "examples")],
    "gallery_dirs": [str(HERE / "auto_examples")],
    "filename_pattern": r"/plot_",
    "plot_gallery": "False" if os.environ.get("INVLEARN_DOCS_FAST") else "True",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
}
