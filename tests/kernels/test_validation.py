"""Invalid inputs raise ValueError/TypeError naming the argument (STYLE.md §10)."""

import numpy as np
import pytest

from rdptheory.kernels import candidate_normals, candidate_samples, pfr_select

MU, SD = np.zeros(4), np.ones(4)
GOOD = dict(seed=1, encoder_seed=2)


def _select(**over):
    args = dict(mu_q=MU, sigma_q=SD, mu_p=MU, sigma_p=SD, chunk_starts=[0, 2, 4],
                log2_candidates=[3, 3], backend="numpy", **GOOD)  # fmt: skip
    args.update(over)
    return pfr_select(args.pop("mu_q"), args.pop("sigma_q"), args.pop("mu_p"),
                      args.pop("sigma_p"), args.pop("chunk_starts"), args.pop("log2_candidates"),
                      **args)  # fmt: skip


@pytest.mark.parametrize(
    "over,match",
    [
        (dict(sigma_q=-SD), "sigma_q"),
        (dict(sigma_p=np.zeros(4)), "sigma_p"),
        (dict(mu_q=np.array([0, np.nan, 0, 0])), "mu_q"),
        (dict(mu_p=np.array([0, np.inf, 0, 0])), "mu_p"),
        (dict(mu_q=np.zeros(5)), "mu_q"),
        (dict(mu_p=np.zeros((2, 2))), "mu_p"),
        (dict(chunk_starts=[0, 2, 2, 4], log2_candidates=[1, 1, 1]), "chunk_starts"),
        (dict(chunk_starts=[1, 4], log2_candidates=[1]), "chunk_starts"),
        (dict(chunk_starts=[0, 3], log2_candidates=[1]), "chunk_starts"),
        (dict(log2_candidates=[3]), "log2_candidates"),
        (dict(log2_candidates=[3, 33]), "log2_candidates"),
        (dict(log2_candidates=[3, -1]), "log2_candidates"),
        (dict(seed=-1), "seed"),
        (dict(seed=2**64), "seed"),
        (dict(encoder_seed=2**64), "encoder_seed"),
        (dict(stream=2**31), "stream"),
        (dict(chunk_offset=2**32 - 1), "chunk_offset"),
        (dict(algorithm="gumbel"), "algorithm"),
        (dict(backend="cuda"), "backend"),
    ],
)
def test_pfr_select_rejects(over, match):
    with pytest.raises(ValueError, match=match):
        _select(**over)


@pytest.mark.parametrize(
    "over,exc",
    [
        (dict(chunk_starts=[0.0, 2.0, 4.0]), TypeError),
        (dict(log2_candidates=[3.5, 3]), TypeError),
        (dict(seed=1.0), TypeError),
        (dict(mu_q=["a"] * 4), TypeError),
    ],
)
def test_pfr_select_rejects_types(over, exc):
    with pytest.raises(exc):
        _select(**over)


def test_candidate_samples_and_normals_reject():
    with pytest.raises(ValueError, match="indices"):
        candidate_samples(MU, SD, [0, 2, 4], [1], seed=1)
    with pytest.raises(ValueError, match="indices"):
        candidate_samples(MU, SD, [0, 2, 4], [1, 2**32], seed=1)
    with pytest.raises(ValueError, match="sigma_p"):
        candidate_samples(MU, -SD, [0, 2, 4], [1, 1], seed=1)
    with pytest.raises(ValueError, match="n "):
        candidate_normals(1, 0, 0, [-1], 3)
    with pytest.raises(ValueError, match="dims"):
        candidate_normals(1, 0, 0, [1], 0)
    with pytest.raises(ValueError, match="chunk"):
        candidate_normals(1, 0, 2**32, [1], 3)


def test_unavailable_backend_is_a_value_error():
    from rdptheory.kernels import available_backends

    if "cupy" in available_backends():
        pytest.skip("CUDA present")
    with pytest.raises(ValueError, match="cupy"):
        _select(backend="cupy")
