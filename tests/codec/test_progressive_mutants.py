"""rdptheory.codec.progressive: the exact error messages of the model and level checks.

Mutation testing (issue 10) left these messages unchecked: a mutant that renames the checked
argument (``"variances"`` -> ``None``) or reports the wrong type still raised *an* error. Each
test pins the whole message, built here from the argument name and value by hand.
"""

import re

import numpy as np
import pytest

from rdptheory.codec.progressive import (
    GaussianChainModel,
    MessageCoder,
    PlugInModel,
    decode_chain,
    encode_chain,
)


def exact(msg: str) -> str:
    """A pattern matching ``msg`` and nothing longer or shorter."""
    return "^" + re.escape(msg) + "$"


@pytest.mark.parametrize("bad", [[1.0, -1.0], [0.0], [2.0, 1.0, -0.5]])
def test_gaussian_chain_model_names_the_variances(bad):
    first_bad = next(v for v in bad if not v > 0)
    with pytest.raises(ValueError, match=exact(f"variances must be > 0, got {first_bad}")):
        GaussianChainModel(bad)


class _NoDenoise:
    denoise = 3  # an attribute, not a method


@pytest.mark.parametrize("denoiser, type_name", [(3, "int"), (None, "NoneType"),
                                                  (_NoDenoise(), "_NoDenoise")])
def test_plug_in_model_reports_the_denoisers_type(denoiser, type_name):
    msg = f"denoiser must have a denoise(y, t2) method, got {type_name}"
    with pytest.raises(TypeError, match=exact(msg)):
        PlugInModel(denoiser)


@pytest.mark.parametrize("prior_var", [-2.0, 0.0])
def test_plug_in_model_names_the_prior_variance(prior_var):
    with pytest.raises(ValueError, match=exact(f"prior_var must be > 0, got {prior_var}")):
        PlugInModel(GaussianChainModel([1.0]), prior_var=prior_var)
    assert PlugInModel(GaussianChainModel([1.0]), prior_var=0.5).prior_var == 0.5


class _NeverCalled:
    def encode(self, step):
        raise AssertionError("levels are checked before any step is coded")

    def decode(self, symbol, step):
        raise AssertionError("levels are checked before any step is coded")


@pytest.mark.parametrize("levels, msg", [
    ([], "levels must hold at least one noise level"),
    ([1.0, 1.0], "levels must decrease strictly (noise variances, top first)"),
    ([1.0, 0.1, 0.2], "levels must decrease strictly (noise variances, top first)"),
    ([np.array([1.0, 0.5]), np.array([0.5, 0.5])],
     "levels must decrease strictly (noise variances, top first)"),
])
def test_levels_messages(levels, msg):
    model = GaussianChainModel([1.0, 0.5])
    with pytest.raises(ValueError, match=exact(msg)):
        encode_chain(np.zeros((1, 2)), model, levels, _NeverCalled())


@pytest.mark.parametrize("seed", [0, 1])
def test_message_coder_decodes_with_its_own_algorithm(seed):
    """A headerless pfr_es body is parsed with pfr_es's heavy-tailed index model: the decoder
    must pass its algorithm on (a 2-coordinate state is one unpermuted chunk, where the two
    index models differ; parsed as "pfr", the body does not re-encode to itself)."""
    model = GaussianChainModel([1.0, 0.5])
    levels = [1.0, 0.3, 0.05]
    x = np.random.default_rng(seed).normal(size=(1, 2))
    kw = dict(seed=seed, max_chunk_bits=4.0, padding=2, algorithm="pfr_es")
    sent = encode_chain(x, model, levels, MessageCoder(backend="numpy", **kw))
    assert len(sent.symbols) == 3
    y = decode_chain(sent.symbols, model, levels, MessageCoder(backend="numpy", **kw), x.shape)
    assert np.array_equal(y, sent.states[-1])
    kw["algorithm"] = "pfr"
    with pytest.raises(ValueError, match="does not re-encode to the same bytes"):
        decode_chain(sent.symbols, model, levels, MessageCoder(backend="numpy", **kw), x.shape)
