"""The progressive codec over a model protocol: exact Gaussian chain, step coders, one-shot."""

import numpy as np
import pytest

from rdptheory import rcc
from rdptheory.codec import progressive as pg
from rdptheory.diffusion import chain
from rdptheory.kernels import available_backends

LAM = np.array([2.0, 1.0, 0.5, 0.1])


class _ExactSampler:
    """A step coder that sends the exact target sample (no RCC): y = mu_q + sigma_q eps."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def encode(self, step):
        eps = self.rng.standard_normal(step.mu_q.shape)
        return None, step.mu_q + np.broadcast_to(step.sigma_q, step.mu_q.shape) * eps


def test_doctests():
    import doctest

    assert doctest.testmod(pg).failed == 0


def test_first_step_with_a_scalar_level_and_a_prior_per_direction():
    x = np.ones((2, 4))
    st = pg.step_gaussians(pg.GaussianChainModel(LAM), x, None, 0, 0.3, None, x.shape)
    assert np.array_equal(st.mu_p, np.zeros_like(x)) and st.mu_q is x
    assert np.allclose(st.sigma_p, np.broadcast_to(np.sqrt(LAM + 0.3), x.shape), rtol=1e-15)
    assert np.allclose(st.sigma_q, np.full(x.shape, np.sqrt(0.3)), rtol=1e-15)


def test_gaussian_model_reverse_step_is_the_exact_kernel():
    rng = np.random.default_rng(0)
    model = pg.GaussianChainModel(LAM)
    y = rng.normal(size=(5, 4)) * 2
    t2, s2 = np.array([1.0, 0.7, 3.0, 0.2]), np.array([0.4, 0.1, 1.0, 0.15])
    step = pg.step_gaussians(model, None, y, 1, s2, t2, y.shape)
    mu, sd = chain.gaussian_reverse_kernel(y, LAM, s2, t2)
    # closed form written out: (lam + s2)/(lam + t2) y, (lam + s2)(t2 - s2)/(lam + t2)
    assert np.allclose(step.mu_p, (LAM + s2) / (LAM + t2) * y, rtol=1e-12, atol=0)
    assert np.allclose(step.mu_p, mu, rtol=1e-12, atol=0)
    assert np.allclose(np.broadcast_to(step.sigma_p, y.shape) ** 2,
                       (LAM + s2) * (t2 - s2) / (LAM + t2), rtol=1e-12, atol=0)
    assert np.allclose(step.sigma_p, sd, rtol=1e-12, atol=0)
    assert np.allclose(step.sigma_q, np.sqrt(s2 * (t2 - s2) / t2), rtol=1e-12, atol=0)


def test_exact_chain_kls_telescope_to_the_mutual_information():
    """With the exact reverse kernel, E[sum_k KL_k] = I(X; Y_target) (chain rule): a Monte
    Carlo mean over 4000 sources, 4 steps, seed 1; tolerance 5 standard errors."""
    rng = np.random.default_rng(1)
    n = 4000
    x = rng.standard_normal((n, LAM.size)) * np.sqrt(LAM)
    levels = [np.full(4, v) for v in (4.0, 1.0, 0.3, 0.05)]
    model = pg.GaussianChainModel(LAM)
    coder = _ExactSampler(2)
    total = np.zeros(n)
    y = None
    for k, s2 in enumerate(levels):
        step = pg.step_gaussians(model, x, y, k, s2, None if k == 0 else levels[k - 1], x.shape)
        sq, sp = (np.broadcast_to(s, x.shape) for s in (step.sigma_q, step.sigma_p))
        total += np.sum(np.log(sp / sq) + (sq**2 + (step.mu_q - step.mu_p) ** 2) / (2 * sp**2)
                        - 0.5, axis=1)
        _, y = coder.encode(step)
    info = float(np.sum(0.5 * np.log1p(LAM / levels[-1])))
    assert abs(total.mean() - info) < 5 * total.std() / np.sqrt(n)


@pytest.mark.parametrize("backend", available_backends())
def test_diffc_chain_decodes_to_the_encoders_states(backend):
    """Every prefix of a DiffC step stream decodes to the encoder's own state, bit for bit
    (encoder on numpy, decoder on each backend), with per-direction levels."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4)) * np.sqrt(LAM)
    levels = [LAM * g for g in (2.0, 0.5, 0.1)]
    model = pg.GaussianChainModel(LAM)
    enc = pg.DiffCStepCoder(seed=7, max_chunk_bits=6.0, backend="numpy")
    result = pg.encode_chain(x, model, levels, enc)
    assert len(result.symbols) == 3
    symbols = pg.DiffCStepCoder.read(enc.payload, 3, x.size, 6.0)
    dec = pg.DiffCStepCoder(seed=7, max_chunk_bits=6.0, backend=backend)
    for j in range(3):
        y = pg.decode_chain(symbols[: j + 1], model, levels, dec, x.shape)
        assert np.array_equal(y, result.states[j])
    # the proposals are the decoder's: a wrong model decodes to another state
    other = pg.decode_chain(symbols, pg.GaussianChainModel(LAM * 2), levels, dec, x.shape)
    assert not np.array_equal(other, result.states[-1])


@pytest.mark.parametrize("backend", available_backends())
def test_message_chain_decodes_to_the_encoders_states(backend):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 4)) * np.sqrt(LAM)
    levels = [np.full(4, v) for v in (3.0, 0.6, 0.2)]
    model = pg.PlugInModel(pg.GaussianChainModel(LAM), prior_var=1.5)
    kw = dict(seed=2, max_chunk_bits=8.0, padding=2, layout_kl=lambda st: np.full(x.size, 0.5))
    result = pg.encode_chain(x, model, levels, pg.MessageCoder(backend="numpy", **kw))
    dec = pg.MessageCoder(backend=backend, **kw)
    for j in range(3):
        y = pg.decode_chain(result.symbols[: j + 1], model, levels, dec, x.shape)
        assert np.array_equal(y, result.states[j])


def test_one_shot_is_a_one_step_chain():
    """One level: the step is q = N(x, s2) against N(0, s2 + prior_var), stream 0."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 30))
    enc = pg.DiffCStepCoder(seed=9, max_chunk_bits=8.0, backend="numpy")
    result = pg.encode_chain(x, pg.PlugInModel(pg.GaussianChainModel(np.ones(30))), [0.2], enc)
    code = rcc.encode_step(x, np.sqrt(0.2), np.zeros_like(x), np.sqrt(1.2), seed=9, stream=0,
                           max_chunk_bits=8.0, padding=2, algorithm="pfr", backend="numpy")
    assert np.array_equal(result.states[0], code.sample)
    assert enc.payload == rcc.write_steps([code.indices], 8.0)


def test_stop_chain_ends_the_chain_and_the_payload_holds_the_steps_sent():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((1, 40))
    levels = [4.0, 1.0, 0.25, 0.06]
    model = pg.PlugInModel(pg.GaussianChainModel(np.ones(40)))
    full = pg.DiffCStepCoder(seed=1, max_chunk_bits=8.0, backend="numpy")
    pg.encode_chain(x, model, levels, full)
    two = pg.DiffCStepCoder(seed=1, max_chunk_bits=8.0, backend="numpy",
                            accept=lambda n, payload: n <= 2)
    result = pg.encode_chain(x, model, levels, two)
    assert len(result.symbols) == 2 and len(full.kl_bits) == 4
    assert two.payload == rcc.write_steps(pg.DiffCStepCoder.read(full.payload, 2, 40, 8.0), 8.0)

    class Refuse(pg.DiffCStepCoder):
        def encode(self, step):
            raise pg.StopChain

    with pytest.raises(ValueError, match="first step"):
        pg.encode_chain(x, model, levels, Refuse(seed=1, max_chunk_bits=8.0))


def test_inputs_are_validated():
    model = pg.GaussianChainModel(LAM)
    coder = pg.DiffCStepCoder(seed=0, max_chunk_bits=8.0)
    x = np.zeros((1, 4))
    with pytest.raises(ValueError, match="decrease"):
        pg.encode_chain(x, model, [1.0, 2.0], coder)
    with pytest.raises(ValueError, match="at least one"):
        pg.encode_chain(x, model, [], coder)
    with pytest.raises(ValueError, match=r"levels\[0\] must be > 0"):
        pg.encode_chain(x, model, [0.0], coder)
    with pytest.raises(ValueError, match="finite"):
        pg.encode_chain(np.full((1, 4), np.nan), model, [1.0], coder)
    with pytest.raises(ValueError, match="between 1 and 1"):
        pg.decode_chain([], model, [1.0], coder, (1, 4))
    with pytest.raises(ValueError, match="1-D"):
        pg.GaussianChainModel(np.ones((2, 2)))
    with pytest.raises(TypeError, match="denoise"):
        pg.PlugInModel(object())
    assert isinstance(model, pg.ChainModel) and isinstance(pg.PlugInModel(model), pg.ChainModel)


def test_plug_in_model_is_difcs_plug_in_step_in_float64():
    """PlugInModel: v = 0, so the step is chain.plug_in_step at the denoiser's x0 (DiffC);
    a float32 denoiser is read as float64."""

    class Half:
        def denoise(self, y, t2):
            return (0.5 * y).astype(np.float32)

    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(2, 6)), rng.normal(size=(2, 6))
    model = pg.PlugInModel(Half(), prior_var=2.0)
    assert model.posterior_var(y, 0.7) == 0.0 and model.prior_var == 2.0
    assert model.denoise(y, 0.7).dtype == np.float64
    st = pg.step_gaussians(model, x, y, 3, 0.2, 0.7, x.shape)
    ref = chain.plug_in_step(x, (0.5 * y).astype(np.float32).astype(np.float64), y, 0.2, 0.7)
    assert np.array_equal(st.mu_p, ref.mu_p) and np.array_equal(st.mu_q, ref.mu_q)
    assert st.sigma_p == ref.sigma_p == st.sigma_q
    assert st.sigma_p == pytest.approx(np.sqrt(0.2 * 0.5 / 0.7), rel=1e-15)
    assert (st.k, st.s2, st.t2) == (3, 0.2, 0.7)
    dec = pg.step_gaussians(model, None, y, 3, 0.2, 0.7, x.shape)  # the decoder's view
    assert dec.mu_q is None and np.array_equal(dec.mu_p, st.mu_p)


def test_one_dimensional_gaussian_model():
    m = pg.GaussianChainModel([2.0])
    assert m.denoise(np.array([[3.0]]), 1.0).tolist() == [[2.0]]
    assert m.posterior_var(None, np.array([2.0])).tolist() == [1.0]
    with pytest.raises(ValueError, match="non-empty"):
        pg.GaussianChainModel(np.array([]))


def test_levels_must_decrease_strictly_and_the_model_sees_the_state():
    model = pg.GaussianChainModel(LAM)
    coder = pg.DiffCStepCoder(seed=0, max_chunk_bits=8.0)
    with pytest.raises(ValueError, match="decrease strictly"):
        pg.encode_chain(np.zeros((1, 4)), model, [1.0, 1.0], coder)

    class StateVar(pg.GaussianChainModel):
        def posterior_var(self, y, t2):  # a variance that depends on the state
            return 0.1 + np.abs(y)

    rng = np.random.default_rng(11)
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    m = StateVar(LAM)
    st = pg.step_gaussians(m, x, y, 1, 0.3, 0.9, x.shape)
    mu, sd = chain.reverse_step(m.denoise(y, 0.9), y, 0.3, 0.9, 0.1 + np.abs(y))
    assert np.array_equal(st.mu_p, mu) and np.array_equal(st.sigma_p, sd)
