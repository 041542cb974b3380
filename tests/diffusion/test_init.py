"""Package-level doctest and lazy import (rdptheory/diffusion/__init__.py)."""

import doctest
import subprocess
import sys

import rdptheory.diffusion


def test_package_doctest():
    assert doctest.testmod(rdptheory.diffusion).failed == 0


def test_import_does_not_pull_torch():
    code = "import rdptheory.diffusion, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
