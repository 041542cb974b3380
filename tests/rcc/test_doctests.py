"""Run the doctests of every rdptheory.rcc module (pytest collects doctests only under tests/)."""

import doctest
import importlib

import pytest

MODULES = ["rdptheory.rcc", "rdptheory.rcc._chunking", "rdptheory.rcc.bounds",
           "rdptheory.rcc.coding", "rdptheory.rcc.kl", "rdptheory.rcc.stream"]  # fmt: skip


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(
        importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.failed == 0 and result.attempted > 0
