"""The score-scaled PF-ODE decoder against the exact maps (rdptheory/diffusion/solvers.py)."""

import numpy as np
import pytest
from scipy import stats

from rdptheory.diffusion import (
    DecoderConfig,
    DiscreteSchedule,
    GaussianModel,
    GMMModel,
    PredictionModel,
    ddpm_alphas_cumprod,
    decode,
    euler_step,
    heun_step,
    integrate,
    pf_ode_drift,
    scores,
)

torch = pytest.importorskip("torch")

ALPHA = 1e-3
COV = np.array([[2.0, 0.6, 0.1], [0.6, 1.0, -0.2], [0.1, -0.2, 0.5]])
MODELS = {
    "scalar": GaussianModel(0.3, 1.7),
    "diagonal": GaussianModel(np.zeros(3), [4.0, 1.0, 0.1]),
    "full": GaussianModel([0.5, -1.0, 2.0], COV),
}


def _y(model, n=16, seed=0, noise_var=0.8):
    x = model.sample(n, seed)
    return x + np.sqrt(noise_var) * np.random.default_rng(seed + 1).standard_normal(x.shape)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("rho", [0.0, 1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("schedule", ["vp", "ve"])
def test_adaptive_ode_equals_exact_map(name, rho, schedule):
    m = MODELS[name]
    y = _y(m)
    x_hat = decode(m, y, 0.8, rho, schedule=schedule, solver="adaptive")
    np.testing.assert_allclose(x_hat, m.exact_decode(y, 0.8, rho), rtol=1e-9, atol=1e-9)


def test_rho2_is_mmse_and_rho1_preserves_gaussian_law():
    m = MODELS["full"]
    y = _y(m, 8)
    np.testing.assert_allclose(
        decode(m, y, 0.8, 2.0, solver="adaptive"), m.posterior_mean(y, 0.8), rtol=1e-9, atol=1e-9
    )
    # ρ = 1: the PF-ODE is the map A = Σ^{1/2}(Σ+t²I)^{-1/2}, which sends N(μ, Σ + t²I) to
    # N(μ, Σ) (A (Σ + t²I) Aᵀ = Σ); the numerical decoder must apply that A
    w, U = np.linalg.eigh(COV)
    A = U @ np.diag(np.sqrt(w / (w + 0.8))) @ U.T
    np.testing.assert_allclose(A @ (COV + 0.8 * np.eye(3)) @ A.T, COV, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(decode(m, y, 0.8, 1.0, solver="adaptive"),
                               np.asarray(m.mean) + (y - np.asarray(m.mean)) @ A.T,
                               rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("schedule", ["vp", "ve", "vp-cosine", "edm"])
def test_heun_converges_to_exact_map(schedule):
    m = MODELS["full"]
    y = _y(m)
    exact = m.exact_decode(y, 0.8, 1.5)
    err = np.abs(decode(m, y, 0.8, 1.5, schedule=schedule, steps=256) - exact).max()
    assert err < 2e-5 * np.abs(exact).max()


@pytest.mark.parametrize("solver,order", [("heun", 2), ("euler", 1)])
def test_error_order(solver, order):
    m = MODELS["diagonal"]
    y = _y(m)
    exact = m.exact_decode(y, 0.8, 1.5)
    e1, e2 = (
        np.abs(decode(m, y, 0.8, 1.5, solver=solver, steps=n) - exact).max() for n in (64, 128)
    )
    assert 2**order * 0.85 < e1 / e2 < 2**order * 1.15


def test_ve_equals_vp():
    m = MODELS["full"]
    y = _y(m)
    ve = decode(m, y, 0.8, 1.3, schedule="ve", solver="adaptive")
    vp = decode(m, y, 0.8, 1.3, schedule="vp", solver="adaptive")
    np.testing.assert_allclose(ve, vp, rtol=1e-9, atol=1e-10)
    ve_h = decode(m, y, 0.8, 1.3, schedule="ve", steps=128)
    vp_h = decode(m, y, 0.8, 1.3, schedule="vp", steps=128)
    np.testing.assert_allclose(ve_h, vp_h, atol=1e-4)


def test_explicit_grid_and_step_functions_compose():
    m = MODELS["diagonal"]
    y = _y(m)
    grid = np.linspace(0.8, 0.0, 33)
    a = decode(m, y, 0.8, 1.2, schedule="ve", steps=grid)
    b = integrate(pf_ode_drift(m, 1.2, "ve"), y, grid, heun_step)
    np.testing.assert_array_equal(a, b)
    c = decode(m, y, 0.8, 1.2, schedule="ve", solver="euler", steps=grid)
    np.testing.assert_array_equal(c, integrate(pf_ode_drift(m, 1.2, "ve"), y, grid, euler_step))


def test_per_coordinate_rho_matches_exact_map():
    m = MODELS["diagonal"]
    y = _y(m)
    rho = np.array([1.0, 1.5, 2.0])
    np.testing.assert_allclose(
        decode(m, y, 0.8, rho, solver="adaptive"), m.exact_decode(y, 0.8, rho), rtol=1e-9
    )


class PixelGaussian:
    """Independent N(0, lam) pixels with event shape (C, H, W): an image-shaped exact model."""

    def __init__(self, lam):
        self.lam = lam

    def denoise(self, y, v):
        lam = torch.as_tensor(self.lam, dtype=y.dtype) if torch.is_tensor(y) else self.lam
        return lam / (lam + v) * y

    def score(self, y, v):
        return (self.denoise(y, v) - y) / v


def test_torch_image_batch_on_a_discrete_ddpm_grid():
    lam = np.random.default_rng(0).uniform(0.1, 2.0, (3, 4, 4))
    model = PixelGaussian(lam)
    levels = DiscreteSchedule.from_alphas_cumprod(ddpm_alphas_cumprod(1000))
    v0 = float(levels.levels[399])
    y = np.random.default_rng(1).standard_normal((5, 3, 4, 4)) * 1.5
    out_t = decode(model, torch.tensor(y), v0, 1.0, schedule=levels, steps=100)
    out_n = decode(model, y, v0, 1.0, schedule=levels, steps=100)
    assert isinstance(out_t, torch.Tensor) and out_t.shape == (5, 3, 4, 4)
    np.testing.assert_allclose(out_t.numpy(), out_n, rtol=1e-12, atol=1e-13)
    exact = (lam / (lam + v0)) ** 0.5 * y
    assert np.abs(out_n - exact).max() < 1e-3
    # every score evaluation happened on one of the model's own levels
    seen = []

    def predict(z, v):
        seen.append(v)
        yy = scores.from_coords(z, v, "vp")
        return scores.eps_from_x0(yy, model.denoise(yy, v), v)

    out32 = decode(
        PredictionModel(predict, "eps"),
        torch.tensor(y, dtype=torch.float32),
        v0,
        1.5,
        schedule=levels,
        steps=20,
    )
    assert out32.dtype == torch.float32 and out32.shape == (5, 3, 4, 4)
    assert len(seen) == 39 and np.isin(seen, levels.levels).all()


def test_torch_matches_numpy_for_gmm():
    m = GMMModel([0.4, 0.6], [[-2.0, 0.0], [2.0, 1.0]], [[0.3, 0.5], [0.4, 0.2]])
    y = _y(m, 32, noise_var=0.5)
    a = decode(m, y, 0.5, 1.5, steps=32)
    b = decode(m, torch.tensor(y), 0.5, 1.5, steps=32)
    np.testing.assert_allclose(b.numpy(), a, rtol=1e-12, atol=1e-12)


def test_rho1_output_law_equals_source_law_for_gaussian():
    m = GaussianModel(0.5, 2.0)
    y = _y(m, 3000, seed=20, noise_var=1.5)
    x_ref = m.sample(3000, seed=98)
    assert stats.ks_2samp(decode(m, y, 1.5, 1.0, steps=32), x_ref).pvalue > ALPHA
    assert stats.ks_2samp(decode(m, y, 1.5, 2.0, steps=32), x_ref).pvalue < ALPHA


def test_rho1_output_law_equals_source_law_for_gmm():
    """ρ = 1 (PF-ODE with the exact score) transports p_Y to p_X, for any source [SSDK21]."""
    m = GMMModel([0.3, 0.7], [-2.0, 1.5], [0.2, 0.5])
    n, v = 3000, 1.0
    y = _y(m, n, seed=10, noise_var=v)
    x_hat = decode(m, y, v, 1.0, steps=48)
    x_ref = m.sample(n, seed=99)
    assert stats.ks_2samp(x_hat, x_ref).pvalue > ALPHA
    # the test can fail: ρ = 2 output of the same data is not the source law
    assert stats.ks_2samp(decode(m, y, v, 2.0, steps=48), x_ref).pvalue < ALPHA


def test_validation_errors():
    m = MODELS["diagonal"]
    y = _y(m, 2)
    with pytest.raises(TypeError, match="model"):
        decode(object(), y, 0.8, 1.0)
    with pytest.raises(ValueError, match="noise_var"):
        decode(m, y, 0.0, 1.0)
    with pytest.raises(ValueError, match="noise_var must be a scalar"):
        decode(m, y, np.ones(2), 1.0)
    with pytest.raises(ValueError, match="rho"):
        decode(m, y, 0.8, -1.0)
    with pytest.raises(ValueError, match="rho"):
        decode(m, y, 0.8, np.ones(5))
    with pytest.raises(ValueError, match="solver"):
        decode(m, y, 0.8, 1.0, solver="rk4")
    with pytest.raises(ValueError, match="schedule"):
        decode(m, y, 0.8, 1.0, schedule="linear")
    with pytest.raises(ValueError, match="start at noise_var"):
        decode(m, y, 0.8, 1.0, steps=np.linspace(0.7, 0, 5))
    with pytest.raises(ValueError, match="decreasing"):
        decode(m, y, 0.8, 1.0, steps=np.array([0.8, 0.9, 0.0]))
    with pytest.raises(ValueError, match="steps"):
        decode(m, y, 0.8, 1.0, steps=0)


def test_decoder_config():
    m = MODELS["diagonal"]
    y = _y(m, 4)
    cfg = DecoderConfig(rho=1.5, schedule="ve", steps=16)
    np.testing.assert_array_equal(
        cfg.decode(m, y, 0.8), decode(m, y, 0.8, 1.5, schedule="ve", steps=16)
    )
    with pytest.raises(ValueError, match="solver"):
        DecoderConfig(solver="rk4")
    with pytest.raises(ValueError, match="rho"):
        DecoderConfig(rho=-1.0)
    with pytest.raises(ValueError, match="steps"):
        DecoderConfig(steps=0)


class ScoreOnly:
    """Wraps a model so that the decoder sees only the protocol (the generic drift path)."""

    def __init__(self, model):
        self.model = model

    def denoise(self, y, v):
        return self.model.denoise(y, v)

    def score(self, y, v):
        return self.model.score(y, v)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("schedule", ["vp", "ve"])
@pytest.mark.parametrize("solver", ["heun", "euler"])
def test_gaussian_fast_path_equals_generic_drift(name, schedule, solver):
    """Fused diagonal drift and eigenbasis solve = the generic score path, to round-off."""
    m = MODELS[name]
    y = _y(m)
    fast = decode(m, y, 0.8, 1.4, schedule=schedule, solver=solver, steps=24)
    generic = decode(ScoreOnly(m), y, 0.8, 1.4, schedule=schedule, solver=solver, steps=24)
    np.testing.assert_allclose(fast, generic, rtol=1e-12, atol=1e-12)
    fast_t = decode(m, torch.tensor(y), 0.8, 1.4, schedule=schedule, solver=solver, steps=24)
    np.testing.assert_allclose(fast_t.numpy(), generic, rtol=1e-12, atol=1e-12)


def test_per_coordinate_rho_full_covariance_uses_generic_path():
    m = MODELS["full"]
    y = _y(m)
    rho = np.array([1.0, 1.5, 2.0])
    a = decode(m, y, 0.8, rho, steps=16)
    np.testing.assert_array_equal(a, decode(ScoreOnly(m), y, 0.8, rho, steps=16))


def test_gaussian_decode_checks_event_shape():
    with pytest.raises(ValueError, match="y must have shape"):
        decode(MODELS["full"], np.zeros((4, 2)), 0.8, 1.0)
    with pytest.raises(ValueError, match="y must have shape"):
        decode(MODELS["diagonal"], np.zeros((4, 1)), 0.8, 1.0)


def test_step_functions_leave_drift_output_and_state_untouched():
    """A step never writes into the state or into what the drift returned."""
    cached = np.array([0.5, -1.0])
    x = np.array([1.0, 2.0])
    drift = lambda x_, v: cached  # noqa: E731 -- a drift that returns the same array each call
    out_h = heun_step(drift, x, 1.0, 0.5)
    out_e = euler_step(drift, x, 1.0, 0.5)
    np.testing.assert_array_equal(out_h, x - 0.5 * cached)
    np.testing.assert_array_equal(out_e, x - 0.5 * cached)
    np.testing.assert_array_equal(cached, [0.5, -1.0])
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_custom_schedule_object():
    """Any object with .kind and .noise_vars(noise_var, steps) is a schedule (ScheduleLike)."""

    class UniformVariance:
        kind = "ve"

        def noise_vars(self, noise_var, steps):
            return np.linspace(noise_var, 0.0, steps + 1)

    m = MODELS["diagonal"]
    y = _y(m)
    a = decode(m, y, 0.8, 1.2, schedule=UniformVariance(), steps=32)
    np.testing.assert_array_equal(
        a, decode(m, y, 0.8, 1.2, schedule="ve", steps=np.linspace(0.8, 0, 33))
    )
    bad = UniformVariance()
    bad.kind = "flow"
    with pytest.raises(ValueError, match="schedule.kind"):
        decode(m, y, 0.8, 1.2, schedule=bad)
    with pytest.raises(ValueError, match="schedule"):
        decode(m, y, 0.8, 1.2, schedule=object())


def test_subclass_with_its_own_score_is_not_short_circuited():
    """The Gaussian fast path applies only when the score is the analytic one."""

    class Tempered(GaussianModel):
        def score(self, y, v):
            return 0.5 * super().score(y, v)

    m = Tempered(np.zeros(3), [4.0, 1.0, 0.1])
    y = _y(m)
    expect = decode(ScoreOnly(m), y, 0.8, 1.0, steps=16)
    np.testing.assert_array_equal(decode(m, y, 0.8, 1.0, steps=16), expect)
    # tempering the score by 1/2 is the ρ/2 decoder of the untempered model
    np.testing.assert_allclose(
        decode(m, y, 0.8, 1.0, solver="adaptive"),
        GaussianModel(np.zeros(3), [4.0, 1.0, 0.1]).exact_decode(y, 0.8, 0.5),
        rtol=1e-9,
    )


# ---------------------------------------------------------------- exponential integrators

from scipy import integrate as _quad  # noqa: E402

from rdptheory.diffusion import (  # noqa: E402
    exponential_coefficients,
    exponential_step,
    integrate_exponential,
)


class CountingModel:
    """Counts ``denoise`` / ``score`` calls of a wrapped model (the generic protocol path)."""

    def __init__(self, model):
        self.model, self.calls = model, 0

    def denoise(self, y, v):
        self.calls += 1
        return self.model.denoise(y, v)

    def score(self, y, v):
        self.calls += 1
        return self.model.score(y, v)


@pytest.mark.parametrize("schedule", ["vp", "ve"])
@pytest.mark.parametrize("solver,order", [("exp1", 1), ("exp2", 2)])
@pytest.mark.parametrize("name", ["diagonal", "full"])
@pytest.mark.parametrize("rho", [1.0, 3.0])
def test_exponential_error_order_on_gaussian(schedule, solver, order, name, rho):
    """Halving the step divides the error by 2^order (measured 1.96-2.00 / 4.01-4.16)."""
    m = MODELS[name]
    y = _y(m)
    exact = m.exact_decode(y, 0.8, rho)
    e1, e2 = (np.abs(decode(m, y, 0.8, rho, schedule=schedule, solver=solver, steps=n)
                     - exact).max() for n in (64, 128))
    assert 2**order * 0.85 < e1 / e2 < 2**order * 1.15
    assert e2 < (1e-2 if order == 1 else 1e-4)


@pytest.mark.parametrize("solver", ["exp1", "exp2"])
@pytest.mark.parametrize("steps", [1, 2, 5])
def test_exponential_exact_at_rho_0_and_2_on_gaussian(solver, steps):
    """ρ = 0 keeps y; ρ = 2: D is constant along the Gaussian trajectory, so freezing it is
    exact, the step reproduces the posterior mean at any step count (our own derivation)."""
    m = MODELS["full"]
    y = _y(m)
    np.testing.assert_allclose(decode(m, y, 0.8, 2.0, solver=solver, steps=steps),
                               m.posterior_mean(y, 0.8), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(decode(m, y, 0.8, 0.0, solver=solver, steps=steps), y)


def test_exponential_converges_on_gmm_against_adaptive():
    """The GMM's closed-form score, DOP853 at rtol 1e-10 as the truth: 2nd order for exp2."""
    m = GMMModel([0.4, 0.6], [[-2.0, 0.0], [2.0, 1.0]], [[0.3, 0.5], [0.4, 0.2]])
    y = _y(m, 32, noise_var=0.5)
    ref = decode(m, y, 0.5, 1.0, solver="adaptive")
    e = [np.abs(decode(m, y, 0.5, 1.0, solver="exp2", steps=n) - ref).max() for n in (64, 128)]
    assert 3.4 < e[0] / e[1] < 4.6 and e[1] < 1e-4
    e1 = np.abs(decode(m, y, 0.5, 1.0, solver="exp1", steps=128) - ref).max()
    assert e[1] < e1 / 10


def test_exp1_at_rho1_is_ddim():
    """One exp1 step at ρ = 1 is DDIM's deterministic update written in VP coordinates:
    z_s = √ᾱ_s x̂₀ + √(1 − ᾱ_s) ε̂ with ε̂ from z_t (Song, Meng & Ermon 2021, Eq. 12, η = 0)."""
    m = MODELS["full"]
    y = _y(m)
    v_t, v_s = 0.8, 0.3
    x0 = m.denoise(y, v_t)
    z_t = scores.to_coords(y, v_t, "vp")
    ab_t, ab_s = 1.0 / (1.0 + v_t), 1.0 / (1.0 + v_s)
    eps = (z_t - np.sqrt(ab_t) * x0) / np.sqrt(1.0 - ab_t)
    z_s = np.sqrt(ab_s) * x0 + np.sqrt(1.0 - ab_s) * eps
    step = exponential_step(y, x0, None, (None, v_t, v_s), 1.0)
    np.testing.assert_allclose(step, scores.from_coords(z_s, v_s, "vp"), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("rho", [0.0, 0.5, 1.0, 1.999999, 2.0, 3.0])
@pytest.mark.parametrize("v_next", [0.2, 0.0])
def test_exponential_coefficients_against_quadrature(rho, v_next):
    """(a, b, c) = the exact solution of dy/du = ρ(y − D(u)) over the step with D linear in
    v = e^{2u}, computed by quadrature of the variation-of-constants integral."""
    v_prev, v_cur = 1.3, 0.7
    d_prev, d_cur, y0 = 0.4, -1.1, 2.5
    a, b, c = exponential_coefficients(rho, v_cur, v_next, v_prev)
    got = a * y0 + b * d_cur + c * (d_cur - d_prev)
    d_of_v = lambda v: d_cur + (v - v_cur) * (d_cur - d_prev) / (v_cur - v_prev)  # noqa: E731
    if v_next == 0.0:  # the end point: y(0) = D(0) for ρ > 0, y0 for ρ = 0
        want = d_of_v(0.0) if rho > 0 else y0
    else:
        u0, u1 = 0.5 * np.log(v_cur), 0.5 * np.log(v_next)
        f = lambda u: np.exp(rho * (u1 - u)) * d_of_v(np.exp(2 * u))  # noqa: E731
        want = np.exp(rho * (u1 - u0)) * y0 - rho * _quad.quad(f, u0, u1, epsabs=1e-14)[0]
    assert abs(float(got) - want) < 1e-11
    a1, b1, c1 = exponential_coefficients(rho, v_cur, v_next)
    assert float(c1) == 0.0 and float(a1) == float(a) and float(b1) == 1.0 - float(a1)


def test_exponential_calls_once_per_step():
    m = MODELS["diagonal"]
    y = _y(m)
    for solver, steps, calls in [("exp1", 5, 5), ("exp2", 5, 5), ("heun", 5, 9), ("euler", 5, 5)]:
        cm = CountingModel(m)
        decode(cm, y, 0.8, 1.0, solver=solver, steps=steps)
        assert cm.calls == calls, solver


def test_exponential_per_coordinate_rho_torch_and_explicit_grid():
    m = MODELS["diagonal"]
    y = _y(m)
    rho = np.array([0.0, 1.0, 2.0])
    exact = m.exact_decode(y, 0.8, rho)
    a = decode(m, y, 0.8, rho, solver="exp2", steps=128)
    np.testing.assert_allclose(a, exact, atol=1e-4)
    np.testing.assert_array_equal(a[:, 0], y[:, 0])  # ρ_i = 0 keeps the coordinate
    b = decode(m, torch.tensor(y), 0.8, rho, solver="exp2", steps=128)
    np.testing.assert_allclose(b.numpy(), a, rtol=1e-12, atol=1e-12)
    grid = np.linspace(0.8, 0.0, 17)
    np.testing.assert_array_equal(decode(m, y, 0.8, 1.3, solver="exp2", steps=grid, schedule="ve"),
                                  integrate_exponential(m, y, grid, 1.3, order=2))
    cfg = DecoderConfig(rho=1.3, schedule="ve", solver="exp2", steps=16)  # uniform in σ
    ve_grid = (np.sqrt(0.8) * np.linspace(1.0, 0.0, 17)) ** 2
    np.testing.assert_allclose(cfg.decode(m, y, 0.8),
                               integrate_exponential(m, y, ve_grid, 1.3, order=2), rtol=1e-14)


def test_exponential_validation():
    with pytest.raises(ValueError, match="v_cur > v_next"):
        exponential_coefficients(1.0, 0.5, 0.7)
    with pytest.raises(ValueError, match="v_cur > v_next"):
        exponential_coefficients(1.0, 0.5, -0.1)
    with pytest.raises(ValueError, match="v_prev"):
        exponential_coefficients(1.0, 0.5, 0.2, 0.4)
    with pytest.raises(ValueError, match="rho"):
        exponential_coefficients(-1.0, 0.5, 0.2)
    with pytest.raises(ValueError, match="order"):
        integrate_exponential(MODELS["scalar"], np.ones(2), np.array([0.5, 0.0]), 1.0, order=3)
