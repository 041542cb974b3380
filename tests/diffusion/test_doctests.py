"""Run the doctests of every rdptheory.diffusion module."""

import doctest
import importlib

import pytest

MODULES = ["chain", "models", "schedules", "scores", "solvers", "steering", "verify"]


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name):
    mod = importlib.import_module(f"rdptheory.diffusion.{name}")
    result = doctest.testmod(mod)
    assert result.failed == 0
    assert result.attempted > 0
