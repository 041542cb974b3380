"""Report figures, evaluation helpers and module doctests."""

import doctest

import numpy as np
import pytest

import rdptheory.images as images_pkg
import rdptheory.images.metrics as metrics_mod
from rdptheory.images.codec import CodecConfig
from rdptheory.images.datasets import bundled_image
from rdptheory.images.evaluate import rho_sweep
from rdptheory.images.fit_prior import patch_split
from rdptheory.images.report import codec_prefix_curve, report_section


def test_doctests():
    for mod in (images_pkg, metrics_mod):
        assert doctest.testmod(mod).failed == 0


def test_codec_prefix_curve_rates_increase():
    pixels = bundled_image("china").pixels[200:212, 300:312]
    curve = codec_prefix_curve(pixels, noise_var=0.05, rhos=(1.0, 2.0), n_points=3,
                               config=CodecConfig(backend="numpy", n_levels=12), ode_steps=6)
    bpp = sorted({p.bpp for p in curve.points})
    assert len(bpp) == 3 and len(curve.points) == 6
    for rho in (1.0, 2.0):
        ps = sorted((p for p in curve.points if p.rho == rho), key=lambda q: q.bpp)
        assert ps[0].psnr < ps[-1].psnr


def test_rho_sweep_theory_columns_and_rho_one_perception():
    # Gaussian theory: rho = 1 has zero W2 and the largest MSE of rho in [1, 2] (THEORY §3).
    x = patch_split(8, 10, 40, seed=3).heldout
    pts = rho_sweep(x, [0.05], [1.0, 2.0], ode_steps=4)
    assert pts[0].theory_w2sq == pytest.approx(0.0, abs=1e-15)
    assert pts[0].theory_mse > pts[1].theory_mse > 0 and pts[1].theory_w2sq > 0
    assert all(np.isfinite([p.mse, p.frechet]).all() for p in pts)


@pytest.mark.slow
def test_report_section_quick(tmp_path):
    figs = report_section(tmp_path, quick=True)
    assert len(figs) == 6 and all(p.stat().st_size > 1000 for _, p in figs)
