"""Where the one-shot GaussianCodec's bits go: a white source at d = 256 (issue 5).

For each setting (algorithm, B = max_chunk_bits, padding) it encodes n draws of N(0, I_d) at
the noise level whose I(X; Y) is ``rate`` bits/dim and splits the file's real bits (per dim)
into: container (header, record framing, CRC32), layout side information (when the proxy
layout is replaced), index bits (ideal, under the index model) minus the chunks' *actual*
KL, the range coder's termination, against the ideal rate I(X; Y)/d = R(D, P) at the scheme's
(D, P). ``excess`` is the MSE excess of Y over the ideal channel: mean (Y - X)^2 / t^2 - 1
(truncation bias of the selection; Monte Carlo s.e. about sqrt(2 / (n d))).

Run: ``python benchmarks/codec_overhead.py [--quick] [--rates 1 0.5] [--grid pfr:11:4 ...]``.

Measured 2026-11-25 on the shared 2-core box (seed 0, n = 48, d = 256, bits/dim; ``s`` is the
rcc encode time under load, the first row of each process includes numba's JIT compile):

====  ==  ===  =====  =====  =====  ======  =====  ======  ======  ======
alg   B   pad  rate   total  gap%   contnr  side   idx-KL  excess  s
====  ==  ===  =====  =====  =====  ======  =====  ======  ======  ======
pfr   10  4    1.0    1.298  29.8   0.027*  0      0.272   0.014   32
orc   10  4    1.0    1.275  27.5   0.027*  0      0.250   0.041   15
pfr   10  4    1.0    1.290  29.0   0.019   0      0.272   0.014   27
pfr   11  4    1.0    1.264  26.4   0.019   0      0.245   0.009   87
pfr   12  4    1.0    1.235  23.5   0.019   0      0.218   0.040   75
orc   12  4    1.0    1.209  20.9   0.019   0      0.192   0.066   69
pfr   12  3    1.0    1.201  20.1   0.019   0      0.185   0.071   56
orc   8   4    1.0    1.313  31.3   0.019   0      0.295   0.057   1
orc   14  2    1.0    1.285  28.5   0.019   0.143  0.124   0.118   2 (sent layout)
orc   14  3    1.0    1.324  32.4   0.019   0.143  0.162   0.076   4 (sent layout)
orc   16  2    1.0    1.238  23.8   0.019   0.131  0.088   0.143   7 (sent layout)
pfr   10  4    0.5    0.629  25.8   0.027*  0      0.101   0.057   4
orc   10  4    0.5    0.616  23.2   0.027*  0      0.088   0.071   5
pfr   11  4    0.5    0.626  25.1   0.019   0      0.108   0.003   20
====  ==  ===  =====  =====  =====  ======  =====  ======  ======  ======

Rows above: no candidate cap (``headroom`` None, the old behaviour). With the default
``candidate_headroom`` = 6 (each chunk draws <= 2^(ceil(B) + padding + 6) candidates; the
proxy layout is always kept):

====  ==  ===  ======  =====  =====  ======  ==========================================
alg   B   pad  seed    rate   gap%   excess  s (warm; concurrent runs in brackets)
====  ==  ===  ======  =====  =====  ======  ==========================================
pfr   11  4    0       1.0    26.1   0.011   11
pfr   11  4    2       1.0    26.9   0.026   8 (uncapped: 27.4%, 0.024, 54 s)
pfr   11  4    2       0.5    24.6   0.003   7 (uncapped: 48.0%: one chunk > 24 bits sent
                                               the whole layout)
pfr   12  4    0       1.0    23.0   0.041   22
pfr   12  5    0       1.0    24.8   0.027   (52)
pfr   12  5    0       0.5    22.0   0.038   (39)
pfr   13  4    0       1.0    20.1   0.049   35 (the default)
pfr   13  4    1       1.0    21.7   0.039   (65)
pfr   13  4    2       1.0    22.7   0.030   (67)
pfr   13  4    0       0.5    19.4   0.039   22
pfr   13  4    1       0.5    20.4   0.028   (52)
====  ==  ===  ======  =====  =====  ======  ==========================================

(* the version-1 container, 13 bytes longer.) Warm ``GaussianCodec.compress`` of the report's
d = 256, n = 48 draws (seed 2026) at 1 bit/dim, alone on the box: B = 10: 13-15 s, B = 11:
52-56 s (the default; 4x the work for 2.6 points). The range coder's termination is <= 0.002
bits/dim in every row. What remains is the index: with the proxy layout (no side
information) a chunk's indices cost ~2.5 bits more than its *actual* KL at B = 10-11. That is
the spread of log2 K itself, not a mismatched index model: over the same messages the
empirical entropy of the index's bucket (the best any static bucket model can do) is only
0.1-0.2 bits/chunk below the Zipf model's cost, and the best re-tuned Zipf (s, n_ref, escape
mass, fitted in-sample) gains <= 0.05 bits/chunk. log2 K scatters by ~3.2 bits around the
chunk's KL (PFR's own randomness) plus ~2.4 bits of realised-KL scatter (the per-sample KL of
a coordinate is 0.318 + 0.375 x^2 nats at lambda = 1, t^2 = 1/3), so H(bucket) ~ 4 bits.
A per-chunk cost of c ~ 2.5 bits makes the gap ~ c / B: "a few percent" needs B ~ 60+
(2^60 candidates per chunk), out of reach; the [Li25] bound log2(I + 3.4) + 1 = 4.7 bits at
I = 10 is above what we measure. Larger B roughly halves the per-bit gain per doubling of
encoder work; padding 3 (or ORC) buys 2-3 points at 4-6% more MSE (``excess``, s.e. 0.013).
Sent layouts (B = 14, 16) have tight chunks and small index overhead but pay 1.7-1.8
bits/chunk of layout side information.

Where the ~2.5 bits per chunk come from (issue 14, measured by simulation): the PFR index is
K ~ S 2^(i(x; y)) with S ~ Exp(1), and log2 S alone has E = -0.83 bits, s.d. 1.85 bits and a
bucket entropy H(floor(log2 S + c)) = 2.83 bits (2e6 draws), so a chunk costs at least
KL - 0.83 - 0.5 + 2.83 ~ KL + 1.5 bits under any bucket model that cannot predict S, even one
that knew the chunk's information density i(x; y) exactly; the remaining ~1 bit is the
scatter of i(x; y). Conditioning the index model on the selected candidate's radius (sent as
one of 4-16 equiprobable chi^2 cells, the index as its rank within the cell: exact, the same
K) removes only 0.17-0.25 bits per chunk (m = 8 dims, 1500 chunks, in-sample entropies).
``spr-KL`` (issue 14, second pass): the index bits under :mod:`rdptheory.rcc.index_models`,
the bucket law of K ~ U 2^i, U ~ Exp(1), i ~ N(expected chunk KL, s^2) with the decoder-known
spread s (no fitted constant), minus the KL. On the pfr 13 / 4 message at 1 bit/dim (seed 0,
proxy layout): 16.19 against the Zipf law's 16.30 bits per chunk at n = 16 (316 chunks), 15.19
against 15.29 at n = 4 (79 chunks), i.e. -0.11 bit per chunk, 0.008 bit/dim; within 0.03 bit
for s scaled by 0.8-1.2 or the mean moved by +-0.5 bit. The in-sample bucket entropy of the
same indices (15.22 bits per chunk at n = 16) is the most any static bucket model could reach.
That gap of ~1 bit per chunk is the escape: under the proxy layout a chunk's *actual* KL
scatters by ~2.7 bits around B, the encoder draws up to 2^(ceil(KL_c) + padding) candidates
(capped at 2^(ceil(B) + padding + 6)), but the Zipf law stops at n_ref = ceil(B) + padding =
17 and sends every index above through the 2^-12 escape: 6.3 / 11.4 / 12.0% of the indices at
n = 4 / 8 / 16 (seed 0), at 32.9 bits each against 14.0 for the others (n = 16). ``trn-KL``:
:func:`rdptheory.rcc.index_models.truncated_bucket_probabilities` keeps the within-target
spread and the KL scatter apart and models the truncation: 14.78 / 15.35 / 15.26 bits per
chunk against the Zipf law's 15.29 / 16.28 / 16.30 at n = 4 / 8 / 16 (79 / 158 / 316 chunks;
in-sample bucket entropy 14.66 / 15.28 / 15.22), i.e. -0.5 / -0.9 / -1.0 bit per chunk; at
n = 16 -0.080 bit/dim (the default's 1.246 bits/dim would be ~1.166). Even the Zipf law with
its support widened by 3 buckets (n_ref = 20) gives 15.06 / 15.56 / 15.61. Not yet in the
bitstream (the index coder and its golden files belong to the format; a version bump).
Other methods side by side: benchmarks/channel_simulation.py.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rdptheory import rcc
from rdptheory.codec import GaussianCodec, _container
from rdptheory.rcc._index_coding import bucket_of
from rdptheory.rcc.index_models import (
    chunk_spread_bits,
    spread_index_bits,
    truncated_bucket_probabilities,
)
from rdptheory.rcc.truncation import expected_information_variance_nats


def spread_model_bits(msg: rcc.RCCMessage, proxy: np.ndarray, sigma_q: float,
                      sigma_p: float) -> float:
    """Ideal index bits of ``msg`` under :mod:`rdptheory.rcc.index_models` (white source).

    Each chunk's mean is its expected KL (the proxy), its spread the decoder-known within-
    target spread plus the KL scatter, sigma_x^4 / (2 sigma_p^4) nats^2 per coordinate
    (sigma_x^2 = sigma_p^2 - sigma_q^2; the KL is delta^2/(2 sigma_p^2) + const with
    delta ~ N(0, sigma_x^2)).
    """
    sizes = np.asarray(msg.chunk_sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    mean = np.add.reduceat(proxy, starts)
    within = float(expected_information_variance_nats(sigma_q, sigma_p))
    scatter = (sigma_p**2 - sigma_q**2) ** 2 / (2 * sigma_p**4)
    spread = chunk_spread_bits(np.sqrt(sizes * within), np.sqrt(sizes * scatter)) / np.log(2)
    return float(spread_index_bits(np.asarray(msg.indices), mean, spread,
                                   msg.model.reference_bits).sum())


def truncated_model_bits(msg: rcc.RCCMessage, proxy: np.ndarray, sigma_q: float,
                         sigma_p: float) -> float:
    """Ideal index bits of ``msg`` under
    :func:`rdptheory.rcc.index_models.truncated_bucket_probabilities` (white source): the
    within-target spread and the KL scatter kept apart, truncation at 2^(KL_c + padding)."""
    sizes = np.asarray(msg.chunk_sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    mean = np.add.reduceat(proxy, starts)
    ln2 = np.log(2)
    within = np.sqrt(sizes * float(expected_information_variance_nats(sigma_q, sigma_p))) / ln2
    scatter = np.sqrt(sizes * (sigma_p**2 - sigma_q**2) ** 2 / (2 * sigma_p**4)) / ln2
    idx = np.asarray(msg.indices, dtype=np.int64)
    b = bucket_of(idx)
    total = 0.0
    for c in range(idx.size):
        p = truncated_bucket_probabilities(float(mean[c]), float(within[c]), float(scatter[c]),
                                           msg.padding)
        total += -np.log2(p[b[c]]) + max(int(b[c]) - 1, 0)
    return total


def measure(d: int, n: int, rate: float, algorithm: str, B: float, pad: int, seed: int = 0,
            headroom: int | None = 6):
    """One row: (bits/dim: total, container, side, index-KL, termination), KL/dim, excess, s."""
    codec = GaussianCodec.for_rate(np.ones(d), rate * d, max_chunk_bits=B, padding=pad,
                                   algorithm=algorithm, candidate_headroom=headroom)
    x = np.random.default_rng(seed).standard_normal((n, d))
    t2 = float(codec.noise_var[0])
    u = x.ravel()
    proxy = codec._layout_proxy(codec.noise_var, None, n)
    t0 = time.perf_counter()
    msg = rcc.encode(u, np.sqrt(t2), np.zeros_like(u), np.sqrt(1.0 + t2), seed=codec.seed,
                     algorithm=algorithm, max_chunk_bits=B, padding=pad, layout_kl_bits=proxy,
                     max_candidate_bits=codec._candidate_cap())
    secs = time.perf_counter() - t0
    s_crc, n_crc = codec._fingerprints()  # the file GaussianCodec.compress(x) writes:
    data = _container.pack(_container.Header("one-shot", n, d, codec.seed, s_crc, n_crc, 1),
                           [msg.to_bytes(header=False)])
    body = msg.body_bits
    nd = n * d
    rep = msg.report()
    spread_bits, trunc_bits = ((spread_model_bits(msg, proxy, np.sqrt(t2), np.sqrt(1.0 + t2)),
                                truncated_model_bits(msg, proxy, np.sqrt(t2), np.sqrt(1.0 + t2)))
                               if msg.external_layout else (np.nan, np.nan))
    y = msg.sample
    excess = float(np.mean((y - u) ** 2) / t2 - 1.0)
    return dict(total=8 * len(data) / nd, container=(8 * len(data) - body) / nd,
                side=rep.side_bits / nd, index_minus_kl=(rep.index_bits - rep.kl_bits) / nd,
                termination=(body - rep.index_bits - rep.side_bits) / nd,
                spread_minus_kl=(spread_bits - rep.kl_bits) / nd,
                trunc_minus_kl=(trunc_bits - rep.kl_bits) / nd,
                kl=rep.kl_bits / nd, chunks=msg.n_chunks, sent_layout=not msg.external_layout,
                excess=excess, secs=secs, ideal=codec.info_bits() / d)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--rates", type=float, nargs="+", default=[1.0, 0.5])
    ap.add_argument("--grid", nargs="+", default=None,
                    help="settings alg:B:pad, e.g. orc:14:3 (default: the table below)")
    args = ap.parse_args()
    grid = [("pfr", 10, 4), ("orc", 10, 4), ("pfr", 10, 2), ("pfr", 10, 6), ("pfr", 8, 4),
            ("pfr", 12, 4), ("orc", 12, 4), ("pfr", 14, 2), ("orc", 14, 2), ("orc", 14, 3),
            ("orc", 16, 2)]
    if args.grid:
        grid = [(a, float(b), int(p)) for a, b, p in (g.split(":") for g in args.grid)]
    if args.quick:
        grid = grid[:2]
    print(f"white source d={args.d}, n={args.n}; bits per dim (ideal = R(D,P) = I(X;Y)/d)")
    print(f"{'alg':>4} {'B':>3} {'pad':>3} {'ideal':>6} {'total':>6} {'gap%':>6} {'contnr':>6} "
          f"{'side':>6} {'idx-KL':>6} {'spr-KL':>6} {'trn-KL':>6} {'term':>6} {'KL':>6} "
          f"{'chunks':>6} "
          f"{'excess':>7} {'s':>6}")
    for rate in args.rates:
        for alg, B, pad in grid:
            r = measure(args.d, args.n, rate, alg, B, pad)
            gap = 100 * (r["total"] / r["ideal"] - 1)
            print(f"{alg:>4} {B:>3g} {pad:>3} {r['ideal']:6.3f} {r['total']:6.3f} {gap:6.1f} "
                  f"{r['container']:6.3f} {r['side']:6.3f} {r['index_minus_kl']:6.3f} "
                  f"{r['spread_minus_kl']:6.3f} {r['trunc_minus_kl']:6.3f} "
                  f"{r['termination']:6.3f} {r['kl']:6.3f} {r['chunks']:6d}"
                  f"{'*' if r['sent_layout'] else ' '}{r['excess']:7.3f} {r['secs']:6.1f}",
                  flush=True)


if __name__ == "__main__":
    main()
