"""The held-out figures: the chain's likelihood bound agrees with the tiled GMM's exact code
length (an independent closed form), and the unseen crops are china/flower only."""

import numpy as np
import pytest

from rdptheory.data import bundled_image, to_model_space
from rdptheory.experiments.model_measure import (
    bits_per_dim_bound,
    chain_bits_per_dim,
    tiled_gmm_bits_per_dim,
)
from rdptheory.models import load_model


def test_bound_extrapolates_to_the_exact_gmm_code_length():
    g = load_model("gmm")
    x = to_model_space(bundled_image("china").pixels)[None, :, 200:232, 300:332]
    exact = tiled_gmm_bits_per_dim(g, x)
    b64 = bits_per_dim_bound(g, x, (5.0, 0.002, 64))
    b128 = bits_per_dim_bound(g, x, (5.0, 0.002, 128))
    assert exact < b128 < b64  # a bound, tightening as the ladder refines
    # the L=64 excess is ~0.7 bits/dim; Richardson removes most of it (one noise draw)
    assert abs((2 * b128 - b64) - exact) < 0.2, (exact, b64, b128)


def test_chain_rate_is_positive_and_falls_with_a_better_model():
    x = to_model_space(bundled_image("flower").pixels)[None, :, 100:132, 100:132]
    r_gmm = chain_bits_per_dim(load_model("gmm"), x)

    class Zero:  # predicts the data mean 0 everywhere: a worse model
        def denoise(self, y, noise_var):
            return np.zeros_like(y)

    assert 0 < r_gmm < chain_bits_per_dim(Zero(), x)


def test_measure_without_the_bound_keeps_psnr_and_chain_rate():
    from rdptheory.experiments.model_measure import markdown, measure

    x = to_model_space(bundled_image("flower").pixels)[None, :, 100:132, 100:132]
    g = load_model("gmm")
    res = measure({"gmm": g}, {"crop": x}, levels=(0.1, 0.4), bound=False)["crop"]
    assert res["bpd_bound"] == {} and "bpd_extrapolated" not in res
    assert res["bits_per_dim"]["gmm"] == chain_bits_per_dim(g, x)  # same seed, same value
    assert res["psnr"]["gmm"][0] > res["psnr"]["noisy"][0]
    assert "| 0.4 |" in markdown({"crop": res})
    with pytest.raises(ValueError):
        measure({}, {"crop": x})
