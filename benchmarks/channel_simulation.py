"""Channel simulation methods side by side on the Gaussian codec (issue 14).

Each row encodes n draws of N(0, diag lambda) (d = 256) with ``GaussianCodec`` at I(X; Y) = I
bits/dim and reports the real file bits per dim (header, records, CRCs: everything), the gap to
R(D, P) = I(X; Y)/d, the MSE excess of the decoded reconstruction over the Gaussian theory at
rho = 1 and rho = 2 (one-shot; and for the progressive rows the last step, i.e. the whole
file), the encode and decode seconds, and the ratio to today's default in the same run.
Sources: "white" (lambda = 1) with isotropic noise; "shaped": lambda_i = 2^(2 - 4 i/(d-1))
(16:1 spread) with the reverse-water-filling noise t_i^2 = lambda_i theta/(lambda_i - theta)
(off where lambda_i <= theta), theta solved for I bits/dim. MSE theory per direction:
(g - 1)^2 lambda + g^2 t^2, g = (lambda/(lambda + t^2))^(rho/2) (THEORY.md §3); the Monte
Carlo s.e. of an excess is about sqrt(2/(n d_live)) (1.1% at n = 64, 2.2% at n = 16).

Run: ``python benchmarks/channel_simulation.py [--quick] [--n 64] [--methods default ldq]``.

Methods: ``default`` = today's codec default (PFR, B = 13, padding 4, candidate headroom 6,
proxy layout); ``orc`` = the same with ordered random coding; ``pfr11`` = B = 11; ``ldq`` =
layered dithered quantisation (:mod:`rdptheory.rcc.dithered`, exact, no candidates);
``hybrid`` = ldq on directions with >= 2.6 expected bits per coordinate, the default's PFR on
the rest (:mod:`rdptheory.codec._hybrid`; identical to ``default`` where no direction
qualifies, e.g. white sources below 2.6 bits/dim and progressive steps); ``pad6`` = padding
6; ``spread`` = the padding of :func:`rdptheory.rcc.truncation.spread_padding`, ceil(1.5
sigma_B) clipped to [2, 6], sigma_B the decoder-known spread of a 13-bit chunk's information
density (:func:`spread_padding_for`: 6 at white I = 0.5 / 1, 4 at white I = 2; 6 / 5 / 4 on
the shaped source; 6 for every progressive file).

Measured 2026-12-06 on the shared 2-core box (a training job on the other core,
NUMBA_NUM_THREADS=1, seed 0; GPU rows: no device in this session, left empty):

======== ====== === ===== ======= ====== ====== ====== ====== ======= ====== =========
mode     source I   n     method  bits/d gap%   mse1%  mse2%  |worst| enc s  dec s
======== ====== === ===== ======= ====== ====== ====== ====== ======= ====== =========
one-shot white  1   64    default 1.196  19.6   5.9    5.8    5.9     1200   0.12
one-shot white  1   64    ldq     1.517  51.7   -2.2   -1.9   2.2     0.10   0.06
one-shot white  1   16    default 1.246  24.6   5.0    4.8    5.0     269    0.04
one-shot white  1   16    orc     1.230  23.0   7.0    6.9    7.0     253    0.02
one-shot white  1   16    ldq     1.574  57.4   -2.7   -2.2   2.7     0.03   0.02
one-shot white  0.5 16    default 0.637  27.3   7.3    6.1    7.3     185    0.002
one-shot white  0.5 16    ldq     1.020  103.9  -2.3   -1.0   2.3     0.03   0.002
one-shot white  2   16    default 2.535  26.8   2.1    2.5    2.5     152    0.04
one-shot white  2   16    ldq     2.590  29.5   -0.8   -0.5   0.8     0.03   0.002
one-shot white  4   16    default 5.027  25.7   -2.0   -1.9   2.0     127    0.09
one-shot white  4   16    ldq     4.598  14.9   -0.6   -0.6   0.6     0.003  0.03
one-shot shaped 0.5 16    default 0.652  30.5   4.7    5.6    5.6     131    0.02
one-shot shaped 0.5 16    ldq     0.895  78.9   0.3    -1.5   1.5     0.03   0.02
one-shot shaped 1   16    default 1.285  28.5   3.9    3.6    3.9     119    0.03
one-shot shaped 1   16    ldq     1.543  54.3   -3.2   -2.1   3.2     0.003  0.03
one-shot shaped 2   16    default 2.559  27.9   -0.7   -0.6   0.7     138    0.06
one-shot shaped 2   16    ldq     2.598  29.9   -3.7   -4.0   4.0     0.03   0.002
one-shot shaped 2   16    hybrid  2.492  24.6   0.8    1.1    1.1     115    0.04
progr.   white  1   16    default 1.342  34.2   14.5   15.4   15.4    902    0.10
progr.   white  1   16    ldq     3.521  252.1  1.6    2.0    4.4     0.08   0.14
======== ====== === ===== ======= ====== ====== ====== ====== ======= ====== =========

``default`` is today's codec default, run in the same invocation as the rows below it
(wall-clock seconds; the box ran ~12 processes on 2 cores, so encode times vary ~2x between
invocations: 269 s for n = 16 at I = 1 against 152 s at I = 2). ``hybrid`` draws the same
samples as ``default`` wherever no direction reaches 2.6 expected bits (every white row up to I
= 2, shaped I <= 1, progressive), in files one byte per record longer (the empty ldq body's
length; shaped I = 0.5: 0.654 against 0.652 bits/dim), so only its shaped I = 2 row is listed.
``|worst|``: the largest |excess| over rho in {1, 2} and, for progressive files, over every
prefix that ends at a record boundary (9 records). GPU rows (Triton/CuPy at the DiffC size): no
device in this session; not measured. ldq's exactness at scale (10^6 coordinates, I = 1 / 4 /
8): E[(y - x)^2]/t^2 - 1 = +0.26% / -0.12% / +0.14% (s.e. 0.14%), KS p = 0.45 / 0.12 / 0.85.

Rerun in the afternoon of 2026-12-06 (issue 14, second pass). The box then ran load 13-17 on
its 2 cores; our niced processes got 2-3% of a core each and wall-clock time was ~30x the CPU
time, so the full table at n = 16 (30-160 CPU-s per PFR row, i.e. 15-80 min of wall-clock each)
did not fit in the session. Every value but the times is a deterministic function of the seed:
the rerun reproduced the white and shaped I = 0.5 rows (default, ldq) above to the last printed
digit (and hybrid at shaped I = 0.5: 0.654 bits/dim, the default's MSE). The new methods were
therefore run *paired* with the default (same draws, same shared candidates: truncated PFR with
more padding scores a superset of the default's candidates, so the two samples differ only in
the chunks the default truncated) at n = 4 over several seeds, with the encode CPU seconds
(``cpu s``; the default's include numba's compilation, a few seconds: shaped seed 0's
``spread`` row took less CPU than its default; the benchmark now compiles before the first
timed row):

======== ====== === ==== ======= ====== ====== ====== ====== ====== ======
mode     source I   seed method  bits/d gap%   mse1%  mse2%  cpu s  cpu/def
======== ====== === ==== ======= ====== ====== ====== ====== ====== ======
one-shot white  1   0    default 1.391  39.1   4.3    3.9    7.7    1
one-shot white  1   0    spread  1.453  45.3   1.0    0.4    21.1   2.7
one-shot white  1   0    ldq     1.672  67.2   1.7    2.1    <0.01  <1e-3
one-shot white  1   1    default 1.453  45.3   4.2    5.3    13.2   1
one-shot white  1   1    spread  1.484  48.4   0.7    1.6    41.8   3.2
one-shot white  1   2    default 1.453  45.3   6.1    6.6    10.9   1
one-shot white  1   2    spread  1.453  45.3   4.7    5.0    31.9   2.9
one-shot white  1   3    default 1.422  42.2   6.1    6.8    11.1   1
one-shot white  1   3    spread  1.453  45.3   3.7    4.6    33.2   3.0
one-shot white  1   4    default 1.453  45.3   5.1    6.2    9.8    1
one-shot white  1   4    spread  1.484  48.4   2.0    2.8    28.4   2.9
one-shot shaped 1   0    default 1.422  42.2   12.7   8.9    4.9    1
one-shot shaped 1   0    spread  1.453  45.3   9.4    5.7    4.4    0.9
one-shot shaped 1   1    default 1.484  48.4   4.1    3.6    9.2    1
one-shot shaped 1   1    spread  1.484  48.4   4.1    3.6    12.5   1.4
progr.   white  1   0    default 1.812  81.2   11.8*  -      -      -
progr.   white  1   0    pad6    1.875  87.5   8.0*   -      -      -
======== ====== === ==== ======= ====== ====== ====== ====== ====== ======

(n = 4 vectors of d = 256: one row's excess has a Monte Carlo s.e. of ~4.4%, the pooled five
white seeds ~2.0%, the paired differences much less. The rates are those of 4-vector files,
container included, hence above the n = 16 rows. Progressive rows: d = 64, n = 16, 9 records,
``*`` = the excess of the decoded Y itself, E (y - x)^2 / t^2 - 1, s.e. 4.4%; no CPU
times: 156 s and 2128 s of wall-clock under different loads, 2^2 the candidates.) Pooled
over the five white seeds: mse1 / mse2 excess 5.2 / 5.8% for the default against 2.4 / 2.9%
for ``spread``; rates 1.434 against 1.465 bits/dim; encode CPU 52.7 s against 156.4 s.
``spread`` (padding 6 here) removes about half of the default's excess for +2.2% of rate
and ~3x the encode CPU (~4x once the default's JIT is taken out). On the shaped source the
rule gives padding 5, which changed nothing on seed 1 and took a quarter of the excess off
seed 0 (12.7 -> 9.4%).

Then the load fell (to 3-8) for the last half hour and the n = 16 rows ran in one invocation
per source (default, spread, ldq; progressive at d = 64, 9 records; ``cpu s`` = encode CPU
seconds, ``cpu/def`` their ratio to the default's in the same process, after a JIT warm-up):

======== ====== === ======= ====== ====== ====== ====== ======= ====== =======
mode     source I   method  bits/d gap%   mse1%  mse2%  |worst| cpu s  cpu/def
======== ====== === ======= ====== ====== ====== ====== ======= ====== =======
one-shot white  0.5 default 0.637  27.3   7.3    6.1    7.3     22.6   1
one-shot white  0.5 spread  0.668  33.6   3.3    2.4    3.3     90.3   4.0
one-shot white  0.5 ldq     1.020  103.9  -2.3   -1.0   2.3     <0.01  <1e-3
one-shot white  1   default 1.246  24.6   5.0    4.8    5.0     28.3   1
one-shot white  1   spread  1.285  28.5   1.2    0.9    1.2     116.5  4.1
one-shot white  1   ldq     1.574  57.4   -2.7   -2.2   2.7     <0.01  <1e-3
one-shot shaped 0.5 default 0.652  30.5   4.7    5.6    5.6     15.1   1
one-shot shaped 0.5 spread  0.684  36.7   1.6    2.5    2.5     60.9   4.0
one-shot shaped 0.5 ldq     0.895  78.9   0.3    -1.5   1.5     <0.01  <1e-3
one-shot shaped 1   default 1.285  28.5   3.9    3.6    3.9     16.5   1
one-shot shaped 1   spread  1.309  30.9   2.6    1.9    2.6     32.3   2.0
one-shot shaped 1   ldq     1.543  54.3   -3.2   -2.1   3.2     <0.01  <1e-3
one-shot shaped 2   default 2.559  27.9   -0.7   -0.6   0.7     14.1   1
progr.   white  1   default 1.812  81.2   14.0   13.3   14.0    21.6   1
progr.   white  1   spread  1.875  87.5   7.6    5.6    7.6     65.8   3.0
progr.   white  1   ldq     3.938  293.8  5.9    5.1    9.1     <0.01  <1e-3
======== ====== === ======= ====== ====== ====== ====== ======= ====== =======

(``spread`` = padding 6 at white I <= 1, shaped 0.5 and progressive, 5 at shaped 1, 4 = the
default at I = 2, whose rows are therefore not repeated; s.e. of an excess 2.2% one-shot,
4.4% progressive at d = 64.) Every number but the times equals the first table's where both
have the row. ``spread`` roughly halves the excess on every row (one-shot: 0.9-3.3% left,
within ~1 s.e. of the goal; progressive 14.0 -> 7.6%) for +2.4 to +6.3 points of gap (the
Zipf law's support grows with the padding) and 2-4x the encode CPU.

Where the MSE excess comes from (:mod:`rdptheory.rcc.truncation`, derived and tested there):
truncated PFR is exact unless the untruncated index K ~ S 2^i(Z) would pass N = 2^(ceil(KL) +
padding), so what the padding must cover is the spread sigma_B of the information density
i(Z) of a chunk, not its KL. For a 13-bit chunk sigma_B = 4.50 / 3.56 / 2.60 / 1.84 bits at
one-shot I = 0.5 / 1 / 2 / 4 (white), and the default's measured excess falls in the same
order: 7.3 / 5.0 (5.9 at n = 64) / 2.5 / -2.0% (padding 4 = 0.9 / 1.1 / 1.5 / 2.2 sigma_B).
Across the chunks of one message sigma_B hardly varies (s.d. 0.27 bit at I = 1), so a padding
adapted *per chunk* buys nothing over one per message; across regimes it does, hence
``spread``. Progressive steps carry little KL per coordinate, where Var i -> 2 nats^2 per nat
of KL (one-shot I = 1: 0.68), so sigma_B = 5.0 bits at the last step (0.31 bit/coordinate) and
~6.1 at the earlier ones: padding 4 covers < 0.8 sigma_B. The excess is not accumulated over
the 9 records; it is made by the last one (measured per record at d = 64, n = 16, padding 4:
the excess of Y after each of the first 8 records is -8% .. +2%, s.e. 4.4%, while the last
record, from t^2 = 0.62 to 1/3, takes it to 11.8%). A truncated step under-moves: its sample
stays nearer the proposal mean mu_p, i.e. it keeps part of the previous state's error instead
of correcting it (the step's target mean is x + r (y_prev - x), r = t^2 / t_prev^2). Writing
y - x = r e_prev + u, the last record's own residual u has 9.1% more than its variance
t^2 (1 - r) and a covariance with r e_prev worth another 6.5% of t^2 (our decomposition of
the measured 11.8%; at padding 6: 7.7% and 8.0% in all). Earlier records truncate as hard,
but the mean shift they leave is small next to their own, much larger, noise. Reaching 2%
would take a padding of ~2 sigma_B on the last records (10-12 bits, 2^6-2^8 times the work;
extrapolated from the one-shot rows, where 1.5-1.7 sigma_B still leave 2.4-2.9%).

Against the issue's goals: no method reaches <= 1.10 bits/dim at I = 1 (best: the default,
1.196 at n = 64), nor +10% at 0.5 / 2 bits or on the shaped source (best: 24.6%, hybrid, shaped
I = 2); the index model that stops sending 6-12% of the indices through the escape (below)
would take ~0.08 bit/dim off at I = 1 (1.196 -> ~1.12 at n = 64), not yet in the format. MSE
within 2%: ldq (exact) yes within Monte Carlo error; ``spread`` brings the one-shot PFR file at
I = 1 to +1.2 / +0.9% at rho = 1 / 2 (n = 16, s.e. 2.2%; +2.4 / +2.9% pooled over the five n =
4 seeds, s.e. 2.0%) and every one-shot row to <= 3.3%: within or within ~1 s.e. of the goal,
for ~4x the encode CPU and +2.4 to +6.3 points of gap; the default does not (+5.9% at n = 64,
s.e. 1.1%); no PFR setting within 2^2 of the default's work does in progressive mode (+14.0% ->
+7.6% at rho = 1 with padding 6 at d = 64, s.e. 4.4%). Encode 5x faster: ldq (10^4x), not the
default (nor ``spread``, 3-4x slower). Decode >= 5x faster than encode: the default
(10^3-10^4x); ldq decodes and encodes in O(d), both ~0.002-0.15 s, so its ratio is ~1 at a
thousandth of the time: the goal is meant for search-based coders. Which default a user should
get: PFR stays the codec's default (it has the best rate at the issue's rates; changing it
would change the golden bitstreams for a loss of rate); a user who needs the MSE of the theory
asks for ``padding=spread_padding(...)`` (or ldq where speed matters more than ~0.5 bit per
coordinate), and above ~2.6 bits per coordinate ``hybrid``. ldq beats PFR on rate somewhere
between 2 and 4 bits per coordinate (white I = 2: 29.5% vs 26.8%; I = 4: 14.9% vs 25.7%; ~2.2
by linear interpolation of the overheads), so ``hybrid``'s threshold of 2.6 bits is on the safe
side.

What won, what lost (and why, with numbers):

- **ldq** (layered dithered quantisation [Hegazy & Li 2022]) is exact (KS tests in
  tests/rcc/test_dithered.py; MSE excess within Monte Carlo error) and encodes 64 x 256 in
  ~0.1 s instead of ~minutes, but pays I(X; A | Y), the information the shared quantiser width
  A leaks about X: 0.46 / 0.51 / 0.52 bits per coordinate at I = 0.5 / 1 / 2 (numerical
  integration; measured 0.963 / 1.502 / 2.529 bits/dim on 16384 coordinates; the leak tends
  to 0.519 bit from I = 2 on and is 0.39 at I = 0.25). The layered quantiser uses the
  horizontal-slice (Khintchine) decomposition of N(0, 1) into uniforms; we found none with a
  larger E[log width] (the leak is h(N) - E[log width]) but have not proved it optimal. In
  progressive mode the leak is paid per record (9 records: ~4.6 bits/dim at I = 1, d = 64).
  Kept as an option (fast, exact) and as the high-rate half of ``hybrid``: PFR's overhead is
  ~0.2 bit per bit of KL at B = 13, ldq's a fixed ~0.52 bit, so ldq wins above ~2.6 bits per
  coordinate (rows at I = 4, and the top directions of the shaped source at I = 2). Not the
  default: it loses at the issue's rates.
- **Hybrid: a coarse dithered quantiser on mu_q, then RCC of the rest** (the Theis & Yosri
  2022 idea): the quantiser index M of mu_q = x at step s cuts the RCC's KL by its rate
  R_Q = I(X; M | U) but wastes I(X; M | Y, U), which we computed (X ~ N(0, 1), t^2 = 1/3,
  numerical integration): s = 0.5, 1, 2, 3, 4, 6 -> R_Q = 3.06, 2.11, 1.25, 0.86, 0.65, 0.43
  bits and waste/R_Q = 0.69, 0.60, 0.52, 0.50, 0.50, 0.50. A bit moved from the RCC to the
  quantiser costs >= 0.5 bit of waste, while the RCC's own overhead is ~0.2 bit per bit at
  B = 13 (2.5 bits per chunk). Lost before implementation. With a lattice finer than the
  target's width (so the RCC's candidates need not cover q's support) the cell of Y given x is
  random and its entropy is wasted instead, unless the encoder searches every cell jointly,
  which is exponential in the chunk's dimension (our analysis).
- **Rotated dithered quantisation** (Kobus, Theis & Gündüz 2024) simulates the Gaussian channel
  only approximately (KL to it O(1/n)), so it fails the exactness bar; not implemented.
- **Larger chunks / more candidates** (the RCC itself): the per-chunk overhead is ~2.5 bits
  (spread of log2 K, benchmarks/codec_overhead.py), so the gap falls like 2.5/B: <= 10% needs
  B ~ 25-30 bits per chunk, i.e. 2^29-2^34 candidates per chunk, ~2^12 times today's work.
  Even a perfect model of each chunk's information density would leave ~1.5 bits per chunk:
  PFR's index is K ~ S 2^(i(x; y)) with S ~ Exp(1), and floor(log2 S) alone has 2.83 bits of
  entropy (E log2 S = -0.83), so B = 13 cannot go below ~+12% (+ the container) with PFR.
  ORC: 0.2-0.3 bits/chunk less than PFR, more truncation bias (white I = 1, n = 16: 1.230
  bits/dim and +7.0% MSE against 1.246 and +5.0%); not the default, since the MSE goal is the
  one still within reach. Conditioning the index model on the selected candidate's radius
  (exact, same K): -0.17..-0.25 bits/chunk in simulation (m = 8 dims, in-sample entropies;
  benchmarks/codec_overhead.py), ~2 points; not implemented: the decoder would have to
  regenerate every candidate of a chunk up to K to rank it in its cell (O(K m) decoding
  instead of O(m)).
- **Index model conditioned on what the decoder knows** (:mod:`rdptheory.rcc.index_models`,
  a winner not yet in the bitstream): the bucket law of K ~ U 2^i, U ~ Exp(1), i ~ N(expected
  chunk KL, s^2), no fitted constant. Taken with one spread s it gains only -0.11 bit per
  chunk over the Zipf law (16.19 vs 16.30, n = 16, 316 chunks). The real gain comes from
  separating the chunk's within-target spread from the scatter of its actual KL (~2.7 bits
  under the proxy layout) and modelling the truncation at 2^(KL_c + padding)
  (``truncated_bucket_probabilities``): the Zipf law stops at n_ref = ceil(B) + padding = 17
  although the encoder draws up to 2^23 candidates, so the 6-12% of indices above 2^17 pay
  the 2^-12 escape (32.9 bits each against 14.0). Measured on real messages (white I = 1, B =
  13, padding 4, seed 0; benchmarks/codec_overhead.py ``trn-KL``): 14.78 / 15.35 / 15.26 bits
  per chunk against 15.29 / 16.28 / 16.30 at n = 4 / 8 / 16 (in-sample bucket entropy 14.66 /
  15.28 / 15.22), i.e. -0.5 / -0.9 / -1.0 bit per chunk; at n = 16 -0.080 bit/dim, 8 points
  of the gap (1.246 -> ~1.166 bits/dim; the n = 64 row's 1.196 would be ~1.12, still above
  1.10). The Zipf law on a support 3 buckets wider already recovers -0.7 bit per chunk.
  Putting either in the format is a version bump of the index coder (golden files); handed to
  the format's owner.
- **Exact samplers** (early-stopped PFR "pfr_es", greedy Poisson rejection sampling): both
  need ~2^(D_inf) candidates, D_inf = sup log q/p of the chunk, and for every message of the
  codec E[D_inf - KL] = 1/2 nat = 0.72 bit per coordinate (:mod:`rdptheory.rcc.truncation`,
  derived, tested by quadrature): +9.4 bits for a 13-dim one-shot chunk at I = 1 (~700x the
  work), +30 bits for the 42-dim chunks of the last progressive step. Lost.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy.optimize import brentq

from rdptheory.codec import GaussianCodec

METHODS: dict[str, dict[str, object]] = {
    "default": {},
    "orc": {"algorithm": "orc"},
    "pfr11": {"max_chunk_bits": 11.0},
    "pad6": {"padding": 6},
    "spread": {},  # padding from rcc.truncation.spread_padding (see spread_padding_for)
    "ldq": {"algorithm": "ldq"},
    "hybrid": {"algorithm": "hybrid"},
}


def source(kind: str, d: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """(lambda, t^2) of the white or shaped source at I(X; Y) = ``rate`` bits/dim."""
    if kind == "white":
        lam = np.ones(d)
        return lam, np.full(d, 1.0 / (2.0 ** (2 * rate) - 1.0))
    lam = 2.0 ** (2.0 - 4.0 * np.arange(d) / (d - 1))

    def excess(log_theta: float) -> float:
        return float(np.sum(np.maximum(0.5 * np.log2(lam / np.exp(log_theta)), 0.0))) - rate * d

    theta = float(np.exp(brentq(excess, np.log(lam.min()) - 40, np.log(lam.max()))))
    with np.errstate(divide="ignore"):
        t2 = np.where(lam > theta, lam * theta / (lam - theta), np.inf)
    return lam, t2


def spread_padding_for(lam: np.ndarray, t2: np.ndarray, mode: str, steps: int = 8,
                       budget: float = 13.0) -> int:
    """The ``spread`` method's padding: :func:`rdptheory.rcc.truncation.spread_padding` of
    the one-shot message, or the largest over the progressive chain's messages.

    Message k of the chain (exact Gaussian kernels, level a below the previous b, r = a/b):
    sigma_q^2 = a (1 - r), sigma_p^2 = sigma_q^2 + (1 - r)^2 lambda b/(lambda + b); the first
    message (from the prior) sigma_q^2 = a, sigma_p^2 = lambda + a.
    """
    from rdptheory.diffusion.chain import geometric_grid
    from rdptheory.rcc.truncation import spread_padding

    live = np.isfinite(t2)
    lam, t2 = lam[live], t2[live]
    levels = [t2] if mode == "one-shot" else list(geometric_grid(t2, lam, steps)[::-1])
    pads, prev = [], None
    for a in levels:
        if prev is None:
            sq2, sp2 = a, lam + a
        else:
            r = a / prev
            sq2 = a * (1.0 - r)
            sp2 = sq2 + (1.0 - r) ** 2 * lam * prev / (lam + prev)
        pads.append(spread_padding(np.sqrt(sq2), np.sqrt(sp2), budget))
        prev = a
    return max(pads)


def mse_theory(lam: np.ndarray, t2: np.ndarray, rho: float) -> float:
    """Per-dim MSE of x_hat = (lambda/(lambda + t^2))^(rho/2) y for exact y = x + t n."""
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(np.isfinite(t2), (lam / (lam + t2)) ** (rho / 2), 0.0)
        noise = np.where(np.isfinite(t2), g**2 * t2, 0.0)
    return float(np.mean((g - 1.0) ** 2 * lam + noise))


def run(method: str, kind: str, rate: float, n: int, d: int, mode: str, seed: int = 0) -> dict:
    """One row: real bits/dim, gap, MSE excess at rho 1 and 2, encode and decode seconds."""
    lam, t2 = source(kind, d, rate)
    kwargs = dict(METHODS[method])
    if method == "spread":
        kwargs["padding"] = spread_padding_for(lam, t2, mode)
    codec = GaussianCodec(lam, t2, mode=mode, seed=seed, **kwargs)  # type: ignore[arg-type]
    x = np.random.default_rng(seed).standard_normal((n, d)) * np.sqrt(lam)
    t0, c0 = time.perf_counter(), time.process_time()
    data = codec.compress(x)
    enc, enc_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    y, level = codec.decode_observation(data)
    dec = time.perf_counter() - t0
    out = dict(bits=8 * len(data) / x.size, ideal=codec.info_bits() / d, enc=enc, dec=dec,
               enc_cpu=enc_cpu)
    for rho in (1.0, 2.0):
        xh = codec.decompress(data, rho=rho)
        out[f"mse{rho:g}"] = float(np.mean((xh - x) ** 2)) / mse_theory(lam, level, rho) - 1.0
    out["worst"] = max(abs(out["mse1"]), abs(out["mse2"]))
    if mode == "progressive":  # every prefix ending at a record boundary
        for k in range(1, codec.steps + 2):
            _, level_k = codec.decode_observation(data, steps=k)
            for rho in (1.0, 2.0):
                xh = codec.decompress(data, rho=rho, steps=k)
                err = float(np.mean((xh - x) ** 2)) / mse_theory(lam, level_k, rho) - 1.0
                out["worst"] = max(out["worst"], abs(err))
    out["gap"] = out["bits"] / out["ideal"] - 1.0
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="n = 8, white I = 1 only")
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--rates", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    ap.add_argument("--kinds", nargs="+", default=["white", "shaped"])
    ap.add_argument("--modes", nargs="+", default=["one-shot"])
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--seed", type=int, default=0, help="seed of the draws and the codec")
    args = ap.parse_args()
    if args.quick:
        args.n, args.rates, args.kinds = 8, [1.0], ["white"]
    print(f"d={args.d} n={args.n} seed={args.seed} "
          f"NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS')}")
    GaussianCodec(np.ones(8), 0.5).compress(np.ones((1, 8)))  # numba JIT outside the timings
    print(f"{'mode':>11} {'source':>6} {'I':>4} {'method':>8} {'bits/d':>7} {'gap%':>6} "
          f"{'mse1%':>6} {'mse2%':>6} {'|worst|':>7} {'enc s':>7} {'cpu s':>7} {'dec s':>7} "
          f"{'enc/base':>8}")
    for mode in args.modes:
        for kind in args.kinds:
            for rate in args.rates:
                base = None
                for method in args.methods:
                    r = run(method, kind, rate, args.n, args.d, mode, args.seed)
                    base = r["enc_cpu"] if method == "default" else base
                    ratio = f"{r['enc_cpu'] / base:8.3g}" if base else f"{'-':>8}"
                    print(f"{mode:>11} {kind:>6} {rate:4g} {method:>8} {r['bits']:7.3f} "
                          f"{100 * r['gap']:6.1f} {100 * r['mse1']:6.1f} {100 * r['mse2']:6.1f} "
                          f"{100 * r['worst']:7.1f} "
                          f"{r['enc']:7.2f} {r['enc_cpu']:7.2f} {r['dec']:7.3f} {ratio}",
                          flush=True)


if __name__ == "__main__":
    main()
