"""Public RCC kernels: candidate generation, fused PFR/ORC selection, decoding samples.

Each function validates its inputs, resolves ``backend`` once and dispatches through a typed
registry (STYLE.md §9). The layout of the shared randomness is documented in
:mod:`rdptheory.kernels`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rdptheory._validation import check_choice, check_int

from ._api import (
    ALGORITHMS,
    MAX_CHUNK_DIMS,
    MAX_LOG2_CANDIDATES,
    NORMALS,
    SAMPLES,
    SELECT,
    Algorithm,
    SelectProblem,
    SelectResult,
    check_chunk_starts,
    check_int_vector,
    check_seed,
    check_stream_and_offset,
    check_vector,
    resolve_backend,
)


def candidate_normals(
    seed: int,
    stream: int,
    chunk: int,
    n: npt.ArrayLike,
    dims: int,
    *,
    backend: str = "numpy",
) -> np.ndarray:
    """Shared float32 normals eps(seed, stream, chunk, n, j) of candidates ``n``, dims ``j``.

    .. math:: \\varepsilon_{n,j} = \\mathrm{randn4x}\\big(\\mathrm{Philox}_{(s_{lo}, s_{hi})}
              (\\lfloor j/4 \\rfloor, n, \\mathrm{chunk}, \\mathrm{stream})\\big)_{j \\bmod 4}

    THEORY.md §5 (counter-based shared randomness); layout in :mod:`rdptheory.kernels`.

    Parameters
    ----------
    seed : int in [0, 2**64)
    stream : int in [0, 2**31)
    chunk : int in [0, 2**32), the global chunk id
    n : 1-D integer array of candidate indices in [0, 2**32)
    dims : int in [1, 2**34], local dimensions j = 0..dims-1
    backend : "numpy" (default), "numba", "torch", "triton", "cupy" or "auto"

    Returns
    -------
    float32 array, shape (len(n), dims)

    Examples
    --------
    >>> eps = candidate_normals(0, 0, 0, [0, 1], 6)
    >>> eps.shape, eps.dtype
    ((2, 6), dtype('float32'))
    """
    seed = check_seed(seed, "seed")
    check_stream_and_offset(stream, chunk, 1, "chunk")
    dims = check_int(dims, "dims", low=1, high=MAX_CHUNK_DIMS)
    idx = check_int_vector(np.atleast_1d(np.asarray(n)), "n")
    if idx.size and (idx.min() < 0 or idx.max() >= 2**32):
        raise ValueError("n (candidate indices) must lie in [0, 2**32)")
    name = resolve_backend(NORMALS, backend)
    return NORMALS.get(name)(seed, int(stream), int(chunk), idx, dims)


def pfr_select(
    mu_q: npt.ArrayLike,
    sigma_q: npt.ArrayLike,
    mu_p: npt.ArrayLike,
    sigma_p: npt.ArrayLike,
    chunk_starts: npt.ArrayLike,
    log2_candidates: npt.ArrayLike,
    *,
    seed: int,
    encoder_seed: int,
    stream: int = 0,
    chunk_offset: int = 0,
    algorithm: Algorithm = "pfr",
    backend: str = "auto",
) -> SelectResult:
    """Fused truncated PFR / ORC selection over many chunks of a diagonal-Gaussian target.

    Chunk c covers dims ``chunk_starts[c]:chunk_starts[c+1]`` and has N_c = 2**log2_candidates[c]
    candidates Z_n = mu_p + sigma_p eps(seed, stream, chunk_offset + c, n, j), n = 0..N_c-1:

    .. math::

        K = \\arg\\min_n \\big(\\log T_n - \\log w_n\\big),\\quad
        \\log w_n = \\sum_j -\\tfrac{(Z_{nj}-\\mu_{qj})^2}{2\\sigma_{qj}^2}
        + \\tfrac{(Z_{nj}-\\mu_{pj})^2}{2\\sigma_{pj}^2} - \\log\\tfrac{\\sigma_{qj}}{\\sigma_{pj}},

    PFR [LEG18]: T_n = E_1 + ... + E_n; ORC (Theis & Yosri 2022): T_n = sum_{k<=n} E_k/(N-k+1)
    (the Renyi representation of the ascending order statistics of N iid Exp(1)); E_k iid Exp(1)
    from the encoder key (layout in :mod:`rdptheory.kernels`), summed left to right in float64.
    Ties go to the smallest n. THEORY.md §5.

    Parameters
    ----------
    mu_q, sigma_q, mu_p, sigma_p : 1-D float arrays of equal length d (sigmas > 0)
    chunk_starts : int array (n_chunks + 1,), 0 = s_0 < s_1 < ... < s_C = d
    log2_candidates : int array (n_chunks,), each in [0, 32]
    seed : int, the shared seed (decoder knows it); encoder_seed : int, encoder-private
    stream : int in [0, 2**31); chunk_offset : int, chunk c uses the global id chunk_offset + c
    algorithm : "pfr" or "orc"; backend : "auto" (triton on CUDA, else numba), "numpy", ...

    Returns
    -------
    SelectResult(indices int64 (n_chunks,), log_weights float64 (n_chunks,) in nats)
    """
    problem = _select_problem(
        mu_q, sigma_q, mu_p, sigma_p, chunk_starts, log2_candidates,
        seed, encoder_seed, stream, chunk_offset, algorithm,
    )  # fmt: skip
    name = resolve_backend(SELECT, backend)
    indices, log_weights = SELECT.get(name)(problem)
    return SelectResult(np.asarray(indices, np.int64), np.asarray(log_weights, np.float64))


def _select_problem(
    mu_q, sigma_q, mu_p, sigma_p, chunk_starts, log2_candidates,
    seed, encoder_seed, stream, chunk_offset, algorithm,
) -> SelectProblem:  # fmt: skip
    """Validate :func:`pfr_select`'s arguments into a :class:`SelectProblem`."""
    arrays = {
        "mu_q": check_vector(mu_q, "mu_q"),
        "sigma_q": check_vector(sigma_q, "sigma_q", positive=True),
        "mu_p": check_vector(mu_p, "mu_p"),
        "sigma_p": check_vector(sigma_p, "sigma_p", positive=True),
    }
    d = arrays["mu_p"].size
    for key, a in arrays.items():
        if a.size != d:
            raise ValueError(f"{key} must have the length of mu_p ({d}), got {a.size}")
    starts = check_chunk_starts(chunk_starts, d)
    bits = check_int_vector(log2_candidates, "log2_candidates")
    if bits.size != starts.size - 1:
        raise ValueError(
            f"log2_candidates must have one entry per chunk ({starts.size - 1}), got {bits.size}"
        )
    if bits.size and (bits.min() < 0 or bits.max() > MAX_LOG2_CANDIDATES):
        raise ValueError(f"log2_candidates must lie in [0, {MAX_LOG2_CANDIDATES}]")
    check_stream_and_offset(stream, chunk_offset, bits.size)
    return SelectProblem(
        **arrays, chunk_starts=starts, log2_candidates=bits,
        seed=check_seed(seed, "seed"), encoder_seed=check_seed(encoder_seed, "encoder_seed"),
        stream=int(stream), chunk_offset=int(chunk_offset),
        algorithm=check_choice(algorithm, "algorithm", ALGORITHMS),
    )  # fmt: skip


def candidate_samples(
    mu_p: npt.ArrayLike,
    sigma_p: npt.ArrayLike,
    chunk_starts: npt.ArrayLike,
    indices: npt.ArrayLike,
    *,
    seed: int,
    stream: int = 0,
    chunk_offset: int = 0,
    backend: str = "auto",
) -> np.ndarray:
    """The decoder's sample: candidate ``indices[c]`` of every chunk, concatenated.

    .. math:: \\hat z_j = \\mu_{pj} + \\sigma_{pj}\\,\\varepsilon(\\mathrm{seed}, \\mathrm{stream},
              \\mathrm{chunk\\_offset} + c, K_c, j - s_c),\\quad s_c \\le j < s_{c+1}

    THEORY.md §5; the same layout as :func:`pfr_select`, so ``decode`` needs only (seed, K).

    Parameters
    ----------
    mu_p, sigma_p : 1-D float arrays (d,), sigma_p > 0
    chunk_starts : int array (n_chunks + 1,), as in :func:`pfr_select`
    indices : int array (n_chunks,), each in [0, 2**32)
    seed, stream, chunk_offset, backend : as in :func:`pfr_select`

    Returns
    -------
    float64 array (d,)
    """
    mu = check_vector(mu_p, "mu_p")
    sd = check_vector(sigma_p, "sigma_p", positive=True)
    if sd.size != mu.size:
        raise ValueError(f"sigma_p must have the length of mu_p ({mu.size}), got {sd.size}")
    starts = check_chunk_starts(chunk_starts, mu.size)
    idx = check_int_vector(indices, "indices")
    if idx.size != starts.size - 1:
        raise ValueError(f"indices must have one entry per chunk ({starts.size - 1})")
    if idx.size and (idx.min() < 0 or idx.max() >= 2**32):
        raise ValueError("indices must lie in [0, 2**32)")
    check_stream_and_offset(stream, chunk_offset, idx.size)
    seed = check_seed(seed, "seed")
    name = resolve_backend(SAMPLES, backend)
    return SAMPLES.get(name)(mu, sd, starts, idx, seed, int(stream), int(chunk_offset))
