"""Sphinx configuration of the rdptheory API reference (``make docs``; warnings are errors)."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "rdptheory"
author = "rdptheory contributors"
copyright = "2026, rdptheory contributors"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # numpy-style docstrings
    "sphinx.ext.mathjax",  # .. math:: blocks rendered
    "sphinx.ext.viewcode",
]

napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_preprocess_types = False

autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
# Keep the sub-packages' own imports lazy: the theory needs numpy/scipy/sympy only.
autodoc_mock_imports = ["torch", "triton", "cupy", "diffusers"]

html_theme = "alabaster"
html_title = "rdptheory API reference"
exclude_patterns = ["_build"]
suppress_warnings: list[str] = []
