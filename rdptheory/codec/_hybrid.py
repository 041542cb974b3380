"""The codec's "hybrid" algorithm: ldq on high-rate directions, truncated PFR on the rest.

Layered dithered quantisation (:mod:`rdptheory.rcc.dithered`) pays a fixed leak of
0.46-0.52 bit per coordinate (0.39 at 0.25 bit, 0.519 from 2 bits on), whatever the
coordinate's rate; truncated PFR at B = 13 pays ~2.5 bits per chunk of ~13 bits of KL, i.e.
~0.2 bit per bit of KL (benchmarks/codec_overhead.py). So a direction whose expected KL per
coordinate exceeds ~0.52 / 0.2 = 2.6 bits is cheaper, and ~10^3 x faster, with ldq
(our comparison; the threshold is :data:`LDQ_MIN_BITS`). Both sides know each direction's
expected KL (the chain rule, as for the proxy layout), so the split costs nothing.

Record layout: ``varint len(ldq body) | ldq body | PFR body`` (either body may be empty when
no direction falls on its side; the decoder knows which).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rdptheory._bytes import get_varint, put_varint

#: Directions whose expected KL per coordinate (bits) is at least this use ldq.
LDQ_MIN_BITS = 2.6


def ldq_directions(expected_bits: np.ndarray) -> np.ndarray:
    """Boolean mask (per direction) of the directions coded with ldq.

    .. math:: \\mathbb E\\,\\mathrm{KL}_i \\ge 2.6\\ \\text{bits}
    """
    return np.asarray(expected_bits, dtype=float) >= LDQ_MIN_BITS


def encode_split(mu_q: np.ndarray, sd_q: np.ndarray, mu_p: np.ndarray, sd_p: np.ndarray,
                 hi: np.ndarray, *, seed: int, stream: int, pfr: Any,
                 pfr_layout: np.ndarray | None) -> tuple[bytes, np.ndarray]:
    """(record, sample) for (n, d) targets: columns ``hi`` by ldq, the others by ``pfr``.

    ``pfr(mu_q, sd_q, mu_p, sd_p, layout_kl_bits) -> (body, sample)`` codes flat arrays;
    ``pfr_layout``: the expected KL per coordinate of the PFR columns (flat) or None.
    """
    from rdptheory.rcc.dithered import encode_ldq

    arrays = [np.broadcast_to(a, mu_q.shape) for a in (mu_q, sd_q, mu_p, sd_p)]
    sample = np.empty(mu_q.shape)
    ldq_body = b""
    if hi.any():
        msg = encode_ldq(*(a[:, hi] for a in arrays), seed=seed, stream=stream)
        ldq_body, sample[:, hi] = msg.body(), msg.sample
    rest = b""
    if (~hi).any():
        rest, y = pfr(*(a[:, ~hi].ravel() for a in arrays), pfr_layout)
        sample[:, ~hi] = np.asarray(y).reshape(mu_q.shape[0], -1)
    return put_varint(len(ldq_body)) + ldq_body + rest, sample


def decode_split(record: bytes, mu_p: np.ndarray, sd_p: np.ndarray, sd_q: np.ndarray,
                 hi: np.ndarray, *, seed: int, stream: int, pfr: Any,
                 pfr_layout: np.ndarray | None) -> np.ndarray:
    """Inverse of :func:`encode_split`; ``pfr(body, mu_p, sd_p, layout_kl_bits) -> sample``."""
    from rdptheory.rcc.dithered import decode_ldq

    mu_p, sd_p, sd_q = (np.broadcast_to(a, mu_p.shape) for a in (mu_p, sd_p, sd_q))
    n_ldq, pos = get_varint(record, 0, "ldq body length")
    if pos + n_ldq > len(record) or (n_ldq > 0 and not hi.any()):
        raise ValueError("corrupted hybrid record: bad ldq body length")
    sample = np.empty(mu_p.shape)
    if hi.any():
        sample[:, hi] = decode_ldq(record[pos:pos + n_ldq], mu_p[:, hi], sd_p[:, hi],
                                   sd_q[:, hi], seed=seed, stream=stream)  # fmt: skip
    rest = record[pos + n_ldq:]
    if (~hi).any():
        y = pfr(rest, mu_p[:, ~hi].ravel(), sd_p[:, ~hi].ravel(), pfr_layout)
        sample[:, ~hi] = np.asarray(y).reshape(mu_p.shape[0], -1)
    elif rest:
        raise ValueError("corrupted hybrid record: trailing bytes")
    return sample


def expected_bits(variances: np.ndarray, a: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """Expected KL (bits) per coordinate of the message from level b down to level a.

    .. math:: \\tfrac12\\log_2(1 + \\lambda/a) - \\tfrac12\\log_2(1 + \\lambda/b)

    (b = None: the first message, from the prior); the chain rule on X - Y_a - Y_b.
    """
    info = 0.5 * np.log2(1.0 + variances / a)
    return info if b is None else info - 0.5 * np.log2(1.0 + variances / b)
