"""rdptheory.rcc: reverse channel coding of diagonal-Gaussian targets (THEORY.md §5).

``encode(mu_q, sigma_q, mu_p, sigma_p, *, seed, algorithm="pfr"|"pfr_es"|"orc", ...)`` selects
one shared candidate per chunk (truncated PFR [LEG18], exact early-stopped PFR, or ordered random
coding [Theis & Yosri 2022]) and entropy-codes the chunk layout and indices with constriction;
``decode(message_or_bytes, mu_p, sigma_p, *, seed)`` regenerates exactly that candidate.
:class:`RCCStreamWriter` / :class:`RCCStreamReader` put many messages in one file without a
per-message header. Candidates come from :mod:`rdptheory.kernels` (counter-based Philox), so a
message encoded with one backend decodes with any other.
``encode_ldq`` / ``decode_ldq`` (:mod:`rdptheory.rcc.dithered`) simulate the same Gaussian
channel exactly with no candidates at all (layered dithered quantisation, O(d)), at ~0.5 bit
per coordinate above the KL (benchmarks/channel_simulation.py).

Rate, measured (:func:`measure_code_length`, 4000 one-chunk trials per point, seed 3, padding
2; tests/rcc/test_code_length.py asserts the bounds). Bits per chunk minus the chunk's KL I:
truncated PFR +1.23, +0.83, +0.20, -0.40 at I = 1, 4, 8, 12 (DiffC step, sigma_q = sigma_p)
and +1.2 .. +1.5 (one-shot, sigma_q = sigma_p / 2); ORC 0.2-0.3 bits less than PFR; exact
early-stopped PFR +1.59, +2.06, +2.36 at I = 1, 4, 8. All are inside [Li25]'s
I + log2(I + 3.4) + 1. A DiffC chunk coded in *fewer* bits than its KL is the truncation bias
showing (below), not a better code. Padding 6 costs 0.4-1.9 bits more per chunk than padding
2. E[log2 K] <= I + 0.11 in every measured case (THEORY.md's unverified E[log2 K] <= I + 1.5:
see :mod:`rdptheory.rcc.bounds`).

Layout side information. A high-dimensional target also pays for its chunk layout, which the
encoder sends (greedy sizes on the size grid of least estimated cost,
:func:`~rdptheory.rcc.coding.choose_layout`; counting the Zipf code's under-fill penalty in that
estimate took DiffC 0.25 bit/dim at B = 14 from 22.8% to 16.5%, the other rows unchanged):
the size code is within 0.1-0.5 bits/chunk of the sizes' empirical entropy, so a better size
model cannot save much, and re-tuning the index model's Zipf exponent, reference bits or escape
mass per target saves <= 0.08 bits/chunk (both measured on the targets below). What does save
is a layout the decoder derives itself: pass the *expected* per-coordinate KL as
``layout_kl_bits`` to both ``encode`` and ``decode`` (or exact ``chunk_sizes``). Chunks then
scatter around B instead of filling to it, which costs encoder work (N_c = 2**(ceil(KL_c) +
padding), up to 2**26) but no layout bits. Measured, d = 4096, PFR, 3 seeds pooled,
overhead = (body bits - KL) / KL, mean candidate-dims scored in brackets:

=========================  ====================  ====================  ====================
target                     sent layout, B = 14   sent layout, B = 8    proxy layout, B = 8
=========================  ====================  ====================  ====================
DiffC, 0.25 bit/dim        16.5% (1.2e8)         49.1% (3.1e6)         8.1% (1.6e7)
DiffC, 1 bit/dim (chi^2)   34.4% (1.8e8)         71.4% (3.6e6)         53.6% (2.1e8)
one-shot, t^2 = 1          26.9% (1.1e8)         60.7% (3.2e6)         23.3% (2.1e7)
one-shot, t^2 = 0.1        32.3% (1.5e8)         63.0% (3.3e6)         32.1% (2.1e7)
=========================  ====================  ====================  ====================

(DiffC: mu_q - mu_p ~ N(0, 2 k ln2 sigma^2), proxy k; one-shot: q = N(x, t^2), p = N(0,
lambda + t^2), lambda ~ U(0.2, 2), proxy 0.5 log2(1 + lambda/t^2); the B = 8 columns are
re-measured by tests/rcc/test_proxy_layout.py::test_layout_table, slow.) With B = 14 the proxy
layout gives 9.2%, 15.7%, 21.6% on the uniform/one-shot rows but scores ~1.9e9
candidate-dims, and falls back to a sent layout (1 flag bit) when a chunk would exceed 24
bits, as it does for most 1 bit/dim DiffC targets: heavy-tailed per-coordinate KL is where a
proxy helps least.

Layout strategies (:mod:`rdptheory.rcc.layouts`): ``sent``, ``known`` (the two above) and
``diffc``, DiffC's shared permutation split into C equal chunks with only C sent [VL25];
without a known layout ``encode`` takes the cheaper of ``sent`` and ``diffc`` by a KL-only
estimate (``chunk_layout="auto"``). Measured: a d = 64 DiffC target with 40 bits of KL
(B = 14) costs 47.7 bits per message in a stream, 57.3 with sent sizes (benchmarks/rcc.py).
Diffusion codecs send one step per message with :func:`encode_step` (the ``diffc`` layout
whose chunk count follows from the step's KL; only the count and the indices are sent) in the
same stream writer (:meth:`RCCStreamWriter.add`; ``StepStreamWriter`` is that class).

Truncation bias. Truncated PFR/ORC keep N = 2**(ceil(KL) + padding) candidates, so their
sample is only approximately q. KS distance D to q over 4000 one-coordinate DiffC chunks
(sigma_q = sigma_p, shift mu_q - mu_p = s sigma; measured, seeds 13 and 14):

=========================  ===========  ===========  ===========  ===========
PFR (ORC) at padding       0            2 (default)  4            6
=========================  ===========  ===========  ===========  ===========
s = 1 (KL 0.72 bits)       .23 (.26)    .06 (.11)    .01 (.03)    .01 (.01)
s = 2 (KL 2.89 bits)       .36 (.38)    .17 (.20)    .06 (.09)    .02 (.04)
s = 3 (KL 6.49 bits)       .37 (.39)    .23 (.26)    .11 (.15)    .06 (.07)
=========================  ===========  ===========  ===========  ===========

(KS at alpha = 1e-3 with 2000 samples detects D > 0.044; the table is re-measured by
tests/rcc/test_statistics.py::test_truncation_bias_table, slow.) The sample is pulled towards p
(mean error -0.43 sigma at s = 3, padding 2). The padding a chunk needs grows with its KL:
importance sampling with N candidates is accurate once log N exceeds the KL by a few standard
deviations of log q/p under q [Chatterjee & Diaconis, Ann. Appl. Probab. 2018], which for the
DiffC step is sqrt(2 KL) nats, i.e. sqrt(2 I / ln 2) bits: 4.3 bits at I = 6.5, 6.4 bits at
I = 14 (derived here, not in the papers). So the default padding 2 (DiffC's [VL25]) trades
visible bias on full chunks for 16x fewer candidates than padding 6; ``"pfr_es"`` is exact
when sigma_q < sigma_p, and ``padding`` is an argument of ``encode``.

>>> import numpy as np
>>> from rdptheory import rcc
>>> msg = rcc.encode([1.0, -0.5, 0.2], 0.3, np.zeros(3), 1.0, seed=42, backend="numpy")
>>> z = rcc.decode(msg.to_bytes(), np.zeros(3), 1.0, seed=42, backend="numpy")
>>> bool(np.array_equal(z, msg.sample))
True
"""

from ._chunking import MAX_CHUNK_BITS, ChunkLayout, partition_chunks
from .bounds import leg18_bound_bits, leg18_entropy_bound_bits, li25_bound_bits
from .coding import (
    ALGORITHMS,
    MAX_STEP_KL,
    StepCode,
    StepTooLarge,
    decode,
    decode_step,
    derive_encoder_seed,
    encode,
    encode_step,
)
from .dithered import LDQMessage, decode_ldq, encode_ldq
from .kl import diagonal_gaussian_kl
from .layouts import LAYOUTS, LayoutStrategy, register_layout
from .measure import CodeLengthStats, measure_code_length
from .message import DEFAULT_MAX_CHUNK_BITS, DEFAULT_PADDING, RCCMessage, RCCReport
from .stream import RCCStreamReader, RCCStreamWriter, StepStreamWriter, read_steps, write_steps

__all__ = [
    "ALGORITHMS",
    "LAYOUTS",
    "MAX_STEP_KL",
    "DEFAULT_MAX_CHUNK_BITS",
    "DEFAULT_PADDING",
    "MAX_CHUNK_BITS",
    "ChunkLayout",
    "LDQMessage",
    "LayoutStrategy",
    "CodeLengthStats",
    "RCCMessage",
    "RCCReport",
    "RCCStreamReader",
    "RCCStreamWriter",
    "StepCode",
    "StepStreamWriter",
    "StepTooLarge",
    "decode",
    "decode_ldq",
    "decode_step",
    "derive_encoder_seed",
    "diagonal_gaussian_kl",
    "encode",
    "encode_ldq",
    "encode_step",
    "leg18_bound_bits",
    "leg18_entropy_bound_bits",
    "li25_bound_bits",
    "measure_code_length",
    "partition_chunks",
    "read_steps",
    "register_layout",
    "write_steps",
]
