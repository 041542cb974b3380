"""Parameterisation conversions round-trip, numpy and torch (rdptheory/diffusion/scores.py)."""

import numpy as np
import pytest

from rdptheory.diffusion import scores

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("param", scores.PARAMETERIZATIONS)
@pytest.mark.parametrize("coords", scores.COORDS)
def test_prediction_round_trip(param, coords):
    rng = np.random.default_rng(0)
    x0, eps = rng.standard_normal((2, 7, 3))
    v = 0.37
    y = x0 + np.sqrt(v) * eps
    state = scores.to_coords(y, v, coords)
    pred = scores.prediction_from_x0(state, x0, v, param, coords)
    back = scores.x0_from_prediction(state, pred, v, param, coords)
    np.testing.assert_allclose(back, x0, rtol=1e-12, atol=1e-12)
    st = torch.tensor(state)
    bt = scores.x0_from_prediction(st, torch.tensor(pred), v, param, coords)
    assert isinstance(bt, torch.Tensor)
    np.testing.assert_allclose(bt.numpy(), back, rtol=1e-14, atol=1e-14)


def test_prediction_values_match_definitions():
    rng = np.random.default_rng(1)
    x0, eps = rng.standard_normal((2, 5))
    v = 2.0
    y = x0 + np.sqrt(v) * eps
    ab = 1 / (1 + v)
    z = np.sqrt(ab) * x0 + np.sqrt(1 - ab) * eps
    np.testing.assert_allclose(scores.to_coords(y, v, "vp"), z, rtol=1e-14)
    np.testing.assert_allclose(scores.eps_from_x0(y, x0, v), eps, rtol=1e-12)
    np.testing.assert_allclose(
        scores.v_from_x0(z, x0, v), np.sqrt(ab) * eps - np.sqrt(1 - ab) * x0, rtol=1e-12
    )
    u = scores.flow_time(v)
    xu = (1 - u) * x0 + u * eps
    np.testing.assert_allclose(scores.to_coords(y, v, "flow"), xu, rtol=1e-14)
    np.testing.assert_allclose(scores.velocity_from_x0(xu, x0, v), eps - x0, rtol=1e-12)
    # VP score −ε/√(1−ᾱ) is the VE score −ε/t divided by √ᾱ
    vp_score = scores.prediction_from_x0(z, x0, v, "score", "vp")
    np.testing.assert_allclose(vp_score, -eps / np.sqrt(1 - ab), rtol=1e-12)
    np.testing.assert_allclose(scores.score_from_eps(eps, v), -eps / np.sqrt(v), rtol=1e-14)


@pytest.mark.parametrize("v", [1e-8, 1e-3, 1.0, 1e4])
def test_coords_round_trip(v):
    y = np.linspace(-3, 3, 11)
    for c in scores.COORDS:
        np.testing.assert_allclose(
            scores.from_coords(scores.to_coords(y, v, c), v, c), y, rtol=1e-14
        )
