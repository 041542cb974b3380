"""Measured code lengths of the RCC algorithms against the one-shot bounds (THEORY.md §5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

import numpy as np

from rdptheory._validation import check_choice, check_int, check_positive

from .bounds import leg18_bound_bits, leg18_entropy_bound_bits, li25_bound_bits
from .coding import ALGORITHMS, Algorithm, encode
from .message import DEFAULT_PADDING

Case = Literal["diffc", "oneshot"]


@dataclass(frozen=True)
class CodeLengthStats:
    """Per-chunk code length of ``trials`` independent one-chunk problems of KL ``kl_bits``.

    All in bits per chunk: ``coded_bits`` from the real range-coded bytes (one stream for all
    trials, so the coder's termination is amortised), ``index_bits`` the model's ideal length,
    ``entropy_bits`` the plug-in entropy of the indices (biased low for large alphabets),
    ``mean_log2_index`` = E[log2(K + 1)] for the 0-based index K, i.e. E[log2 K'] for the
    1-based K' of THEORY.md's (unverified) E[log2 K'] <= I + 1.5 (see :mod:`.bounds`).
    """

    algorithm: str
    case: str
    kl_bits: float
    padding: int
    trials: int
    coded_bits: float
    index_bits: float
    entropy_bits: float
    mean_log2_index: float
    candidates_per_chunk: float
    leg18_bound_bits: float
    leg18_entropy_bound_bits: float
    li25_bound_bits: float


def _target(kl_bits: float, case: str) -> tuple[float, float]:
    """(mu_q, sigma_q) with KL(q || N(0, 1)) = kl_bits: DiffC shift or sigma_q = 1/2 one-shot."""
    kl_nats = kl_bits * np.log(2.0)
    if case == "diffc":
        return float(np.sqrt(2.0 * kl_nats)), 1.0
    base = np.log(2.0) + 0.125 - 0.5  # KL of N(0, 1/4) vs N(0, 1) in nats
    if kl_nats < base:
        raise ValueError(f"case='oneshot' needs kl_bits >= {base / np.log(2):.3f}")
    return float(np.sqrt(2.0 * (kl_nats - base))), 0.5


def measure_code_length(
    kl_bits: float,
    *,
    algorithm: Algorithm = "pfr",
    case: Case = "diffc",
    trials: int = 2000,
    padding: int = DEFAULT_PADDING,
    seed: int = 0,
    backend: str = "auto",
) -> CodeLengthStats:
    """Encode ``trials`` independent chunks of KL ``kl_bits`` each and measure their length.

    .. math:: \\bar L = \\frac{8\\,|\\mathrm{bytes}|}{\\mathrm{trials}}
              \\quad\\text{vs}\\quad I + \\log_2(I+1) + 5\\ \\text{[LEG18]},\\
              I + \\log_2(I+3.4) + 1\\ \\text{[Li25]}

    One message of ``trials`` coordinates with ``max_chunk_bits = kl_bits`` puts every coordinate
    in its own chunk (chunks use disjoint counters, so they are independent trials).

    Parameters
    ----------
    kl_bits : float in (0, 24], I
    algorithm : "pfr", "pfr_es" or "orc"; case : "diffc" (sigma_q = sigma_p) or "oneshot"
        (sigma_q = sigma_p / 2, needs I >= 0.46; the only case "pfr_es" accepts)
    trials : int >= 2; padding, seed, backend : as in :func:`encode`

    Returns
    -------
    CodeLengthStats (bits per chunk)
    """
    kl = float(check_positive(kl_bits, "kl_bits"))
    algorithm = cast(Algorithm, check_choice(algorithm, "algorithm", ALGORITHMS))
    case = check_choice(case, "case", ("diffc", "oneshot"))  # type: ignore[assignment]
    trials = check_int(trials, "trials", low=2)
    mu, sd = _target(kl, case)
    msg = encode(np.full(trials, mu), sd, np.zeros(trials), 1.0, seed=seed, algorithm=algorithm,
                 max_chunk_bits=kl, padding=padding, backend=backend)  # fmt: skip
    if msg.n_chunks != trials:  # float round-off merged two coordinates: say so
        raise ValueError(f"kl_bits={kl} did not give one chunk per trial; perturb it slightly")
    k = np.asarray(msg.indices)
    _, counts = np.unique(k, return_counts=True)
    freq = counts / trials
    return CodeLengthStats(
        algorithm=algorithm, case=case, kl_bits=kl, padding=msg.padding, trials=trials,
        coded_bits=msg.body_bits / trials, index_bits=msg.index_bits / trials,
        entropy_bits=float(-(freq * np.log2(freq)).sum()),
        mean_log2_index=float(np.log2(k + 1.0).mean()),
        candidates_per_chunk=(msg.candidate_dims or 0) / trials,
        leg18_bound_bits=float(leg18_bound_bits(kl)),
        leg18_entropy_bound_bits=float(leg18_entropy_bound_bits(kl)),
        li25_bound_bits=float(li25_bound_bits(kl)),
    )  # fmt: skip
