"""Readable numpy reference of the shared randomness: Philox4x32-10 and Triton's transforms.

This module is the source of truth for every backend (STYLE.md §8-§9). Layout (THEORY.md §5,
TEAM.md "Shared randomness layout"; fixed, every backend implements it):

* key ``(k0, k1) = (seed & 0xFFFFFFFF, seed >> 32)`` for a 64-bit ``seed``;
* candidate normals: counter ``(j // 4, n, chunk, stream)``; the normal for candidate ``n``,
  local dimension ``j`` of chunk ``chunk`` is lane ``j % 4`` of :func:`randn4x` applied to
  ``philox4x32_10(counter, key)``;
* encoder arrival times: key from ``encoder_seed``; counter
  ``(n // 4, chunk, 0, stream | 2**31)``; the exponential for candidate ``n`` is lane ``n % 4``
  of :func:`exponential4x`. The top bit of word 3 separates it from the candidate space even
  when ``encoder_seed == seed`` (so ``stream < 2**31``).

Transforms (float32 exactly as Triton's ``tl.randn4x``; each transcendental ``log``, ``cos``,
``sin`` is evaluated in float64 and rounded once to float32, so every CPU backend agrees
bit-for-bit and GPU ``libdevice`` float32 maths agrees to ~1 ulp):

* ``u = float32(int32(x) if >= 0 else ~int32(x)) * float32(4.6566127342e-10)``;
* ``(u0, u1) -> (r cos t, r sin t)``, ``u0 <- max(u0, 1e-7)``, ``r = sqrt(-2 log u0)``,
  ``t = float32(2 pi) * u1``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

# Philox4x32 constants [Salmon et al., SC'11; Random123], identical to triton.language.random.
PHILOX_M0 = 0xD2511F53
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85
PHILOX_ROUNDS = 10
MASK32 = 0xFFFFFFFF
ENCODER_STREAM_BIT = 1 << 31
# Triton's uint_to_uniform_float scale: the largest float with (2^31 - 1) * scale < 1.
UNIFORM_SCALE = np.float32(4.6566127342e-10)
BOX_MULLER_MIN_U = np.float32(1.0e-7)
TWO_PI = np.float32(6.283185307179586)


def philox_rounds(
    c: list[np.ndarray], k0: np.ndarray | np.uint64, k1: np.ndarray | np.uint64
) -> list[np.ndarray]:
    """Ten Philox4x32 rounds on uint64 arrays holding 32-bit words (no validation)."""
    c0, c1, c2, c3 = c
    for _ in range(PHILOX_ROUNDS):
        p0 = c0 * np.uint64(PHILOX_M0)  # 32 x 32 -> 64-bit product, exact in uint64
        p1 = c2 * np.uint64(PHILOX_M1)
        c0, c1, c2, c3 = (
            (p1 >> np.uint64(32)) ^ c1 ^ k0,
            p1 & np.uint64(MASK32),
            (p0 >> np.uint64(32)) ^ c3 ^ k1,
            p0 & np.uint64(MASK32),
        )
        k0 = (k0 + np.uint64(PHILOX_W0)) & np.uint64(MASK32)
        k1 = (k1 + np.uint64(PHILOX_W1)) & np.uint64(MASK32)
    return [c0, c1, c2, c3]


def philox4x32_10(counter: npt.ArrayLike, key: npt.ArrayLike) -> np.ndarray:
    """The Philox4x32-10 counter-based bijection (Random123), vectorised over leading axes.

    .. math::

        (c_0,c_1,c_2,c_3) \\leftarrow (\\mathrm{hi}(M_1 c_2) \\oplus c_1 \\oplus k_0,\\;
        \\mathrm{lo}(M_1 c_2),\\; \\mathrm{hi}(M_0 c_0) \\oplus c_3 \\oplus k_1,\\;
        \\mathrm{lo}(M_0 c_0)),\\quad k \\leftarrow k + (W_0, W_1),\\ \\text{10 rounds}.

    Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2, 3" (SC'11);
    bit-exact with ``triton.language.random.philox`` (THEORY.md §5).

    Parameters
    ----------
    counter : array of uint32-representable integers, shape (..., 4)
    key : array of uint32-representable integers, shape (..., 2); broadcasts with counter

    Returns
    -------
    ndarray of uint32, shape broadcast(counter[..., 0], key[..., 0]) + (4,)

    Examples
    --------
    >>> [f"{w:08x}" for w in philox4x32_10([0, 0, 0, 0], [0, 0])]
    ['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']
    """
    c = _as_words(counter, "counter", 4)
    k = _as_words(key, "key", 2)
    out = philox_rounds([c[..., i] for i in range(4)], k[..., 0], k[..., 1])
    return np.stack(np.broadcast_arrays(*out), axis=-1).astype(np.uint32)


def _as_words(x: npt.ArrayLike, name: str, width: int) -> np.ndarray:
    """``x`` as uint64 words in [0, 2^32) with last axis ``width``; ValueError otherwise."""
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, got dtype {a.dtype}")
    if a.ndim == 0 or a.shape[-1] != width:
        raise ValueError(f"{name} must have shape (..., {width}), got {a.shape}")
    if a.size and (a.min() < 0 or a.max() > MASK32):
        raise ValueError(f"{name} entries must lie in [0, 2**32)")
    return a.astype(np.uint64)


def uint_to_uniform_float(x: np.ndarray) -> np.ndarray:
    """Triton's ``uint_to_uniform_float`` for 32-bit words: float32 in [0, 1)."""
    i = np.asarray(x).astype(np.uint32).view(np.int32)
    i = np.where(i < 0, ~i, i)  # ~i = -i - 1 maps [-2^31, 0) onto [0, 2^31)
    return i.astype(np.float32) * UNIFORM_SCALE


def box_muller(u0: np.ndarray, u1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Triton's ``pair_uniform_to_normal``; float32, transcendentals rounded from float64.

    .. math:: (r\\cos\\theta, r\\sin\\theta),\\quad r = \\sqrt{-2\\log\\max(u_0, 10^{-7})},
              \\ \\theta = 2\\pi u_1.
    """
    u0 = np.maximum(BOX_MULLER_MIN_U, u0)
    theta = TWO_PI * u1
    log_u0 = np.log(u0.astype(np.float64)).astype(np.float32)
    r = np.sqrt(np.float32(-2.0) * log_u0)
    cos_t = np.cos(theta.astype(np.float64)).astype(np.float32)
    sin_t = np.sin(theta.astype(np.float64)).astype(np.float32)
    return r * cos_t, r * sin_t


def randn4x(words: np.ndarray) -> np.ndarray:
    """Four float32 normals per Philox output (Triton's ``randn4x``); shape (..., 4)."""
    u = uint_to_uniform_float(words)
    n0, n1 = box_muller(u[..., 0], u[..., 1])
    n2, n3 = box_muller(u[..., 2], u[..., 3])
    return np.stack([n0, n1, n2, n3], axis=-1)


def exponential4x(words: np.ndarray) -> np.ndarray:
    """Four float64 Exp(1) variates per Philox output: ``-log((x + 1/2) 2^-32)``; (..., 4)."""
    u = (np.asarray(words).astype(np.float64) + 0.5) * 2.0**-32
    return -np.log(u)


def seed_key(seed: int) -> tuple[int, int]:
    """Philox key words ``(seed & 0xFFFFFFFF, seed >> 32)`` of a 64-bit seed."""
    return seed & MASK32, (seed >> 32) & MASK32


def normals_block(seed: int, stream: int, chunk: int, n: np.ndarray, dims: int) -> np.ndarray:
    """float32 normals ``eps[i, j]`` for candidates ``n[i]``, local dims ``j < dims``."""
    k0, k1 = (np.uint64(w) for w in seed_key(seed))
    n = np.asarray(n, dtype=np.uint64)
    q = np.arange((dims + 3) // 4, dtype=np.uint64)
    c0, c1 = np.meshgrid(q, n, indexing="xy")  # shapes (len(n), n_words)
    const = np.zeros_like(c0)
    words = philox_rounds([c0, c1, const + np.uint64(chunk), const + np.uint64(stream)], k0, k1)
    eps = randn4x(np.stack(words, axis=-1))  # (len(n), n_words, 4)
    return eps.reshape(len(n), -1)[:, :dims]


def exponentials_block(encoder_seed: int, stream: int, chunk: int, n: np.ndarray) -> np.ndarray:
    """float64 Exp(1) arrival increments ``E[n]`` for candidate indices ``n`` (any order)."""
    k0, k1 = (np.uint64(w) for w in seed_key(encoder_seed))
    n = np.asarray(n, dtype=np.uint64)
    c0 = n >> np.uint64(2)
    const = np.zeros_like(c0)
    words = philox_rounds(
        [c0, const + np.uint64(chunk), const, const + np.uint64(stream | ENCODER_STREAM_BIT)],
        k0,
        k1,
    )
    e = exponential4x(np.stack(words, axis=-1))  # (len(n), 4)
    return np.take_along_axis(e, (n & np.uint64(3)).astype(np.intp)[:, None], axis=1)[:, 0]
