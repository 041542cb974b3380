"""Every docstring in the package is free of control characters.

A LaTeX command in a non-raw docstring is read as an escape (``\\frac`` → form feed,
``\\rho`` → carriage return, ``\\tfrac`` → tab, ``\\big`` → backspace), which breaks the
rendered formula without any error; Sphinx only fails on some of them.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = sorted(p for d in ("rdptheory", "kernels", "figures", "proofs_check")
                 for p in (ROOT / d).rglob("*.py"))
CONTROL = "\r\f\v\b\a\t"


def _docstrings(tree: ast.Module):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc is not None:
                yield getattr(node, "lineno", 1), doc


def test_sources_found():
    assert len(SOURCES) > 50


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_control_characters_in_docstrings(path):
    bad = [(line, repr(c)) for line, doc in _docstrings(ast.parse(path.read_text("utf-8")))
           for c in CONTROL if c in doc]
    assert not bad, f"{path.name}: control characters in docstrings (make them r-strings): {bad}"


def test_the_check_catches_an_escaped_latex_command():
    tree = ast.parse('def f():\n    """.. math:: \\frac12"""\n')
    assert any("\f" in doc for _, doc in _docstrings(tree))
