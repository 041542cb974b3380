"""The codec's only contact with rdptheory.rcc: one diagonal-Gaussian message <-> bytes.

Each record of a codec file is the headerless body of one RCC message; the message's
dimension, index model (B, padding) and the proposal are known to the decoder from the file
header and the codec, and ``stream`` keeps the randomness of different messages under one
seed independent (THEORY.md §5, TEAM.md rcc contract).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rdptheory.rcc.coding import Algorithm


def encode_message(
    mu_q: np.ndarray, sigma_q: np.ndarray, mu_p: np.ndarray, sigma_p: np.ndarray, *,
    seed: int, stream: int, max_chunk_bits: float, padding: int, backend: str,
    layout_kl_bits: np.ndarray | None, algorithm: Algorithm = "pfr",
    max_candidate_bits: int | None = None,
) -> tuple[bytes, np.ndarray, float]:
    """(headerless body, the selected sample, KL in bits) for target q against proposal p.

    ``layout_kl_bits``: the decoder-known expected KL per coordinate; the chunk layout is then
    derived from it on both sides instead of being sent (rdptheory.rcc proxy layout).
    """
    from rdptheory import rcc

    msg = rcc.encode(mu_q, sigma_q, mu_p, sigma_p, seed=seed, stream=stream,
                     max_chunk_bits=max_chunk_bits, padding=padding, backend=backend,
                     algorithm=algorithm, layout_kl_bits=layout_kl_bits,
                     max_candidate_bits=max_candidate_bits)
    return msg.to_bytes(header=False), np.asarray(msg.sample, dtype=np.float64), msg.kl_bits


def decode_message(
    body: bytes, mu_p: np.ndarray, sigma_p: np.ndarray, *,
    seed: int, stream: int, max_chunk_bits: float, padding: int, backend: str,
    layout_kl_bits: np.ndarray | None, algorithm: Algorithm = "pfr",
) -> np.ndarray:
    """The sample the encoder selected, from a headerless body (ValueError if corrupt)."""
    from rdptheory import rcc

    sample = rcc.decode(body, mu_p, sigma_p, seed=seed, stream=stream, backend=backend,
                        header=False, max_chunk_bits=max_chunk_bits, padding=padding,
                        algorithm=algorithm, layout_kl_bits=layout_kl_bits)
    return np.asarray(sample, dtype=np.float64)
