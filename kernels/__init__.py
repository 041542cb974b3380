"""rdptheory.kernels: counter-based shared randomness and fused RCC selection kernels.

THEORY.md §5. Every backend (``numpy`` reference, ``numba``, ``torch``, ``triton``, ``cupy``)
implements exactly this layout, so a message encoded on one decodes on any other.

Key and counters (Philox4x32-10, Random123; bit-exact with ``triton.language.random``)
---------------------------------------------------------------------------------------
* key = ``(seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF)`` for a 64-bit seed.
* Candidate normals: for candidate ``n`` (< 2**32), local dimension ``j`` (< 2**34) of chunk
  ``chunk`` (< 2**32) of stream ``stream`` (< 2**31) the counter is
  ``(j // 4, n, chunk, stream)`` and the normal is lane ``j % 4`` of Triton's ``randn4x``
  transform of the four output words: ``u = uint_to_uniform_float(x)`` (bitcast to int32,
  ``x < 0 -> -x - 1``, times float32 4.6566127342e-10), ``(n0, n1) = box_muller(u0, u1)``,
  ``(n2, n3) = box_muller(u2, u3)`` with ``u0`` clamped to >= 1e-7, ``r = sqrt(-2 log u0)``,
  ``theta = 2 pi u1``, ``(r cos theta, r sin theta)``, all float32; each transcendental
  (log, cos, sin) is evaluated in float64 and rounded once to float32, which makes every
  backend agree bit-for-bit in practice (GPU libdevice float32 maths would be ~1 ulp off).
* Encoder-private arrival times use the key of ``encoder_seed`` and the counter
  ``(n // 4, chunk, 0, stream | 2**31)``; ``E_n = -log((x + 1/2) 2**-32)`` (float64) with
  ``x`` the word in lane ``n % 4``. The top bit of word 3 keeps them disjoint from candidate
  normals even when ``encoder_seed == seed``.
* Chunk ``c`` of a :func:`pfr_select` call uses the global chunk id ``chunk_offset + c``.
  All offsets are 64-bit (no int32 overflow at 2**16 candidates x 32768 dims).

Backends (one registry per operation; ``numpy`` is the reference beside every kernel)
-------------------------------------------------------------------------------------
* ``numpy``: readable float64 scoring, the source of truth (``_numpy.py``, ``_philox.py``).
* ``numba``: fused loop, ``prange`` over chunks; branch-free fdlibm ``log``/``sin``/``cos``
  so the candidate loop vectorises (``_numba_kernels.py``). The CPU path of ``"auto"``.
  Its OpenMP workers spin after a parallel region; with few cores set
  ``OMP_WAIT_POLICY=PASSIVE`` before importing torch/numba when mixing them.
* ``torch``: vectorised, CPU or CUDA. ``triton``: one program per chunk, running best over
  candidate blocks, one launch for all chunks (CUDA, or ``TRITON_INTERPRET=1`` in tests).
* ``cupy``: RawKernel, one thread block per chunk (CUDA only).
Throughput: ``benchmarks/rcc.py``.

Public API
----------
``philox4x32_10(counter, key)``, ``candidate_normals(seed, stream, chunk, n, dims)``,
``pfr_select(mu_q, sigma_q, mu_p, sigma_p, chunk_starts, log2_candidates, *, seed,
encoder_seed, stream=0, chunk_offset=0, algorithm="pfr"|"orc", backend="auto") -> SelectResult``
(``indices`` int64, ``log_weights`` float64 nats), ``candidate_samples(mu_p, sigma_p,
chunk_starts, indices, *, seed, stream=0, chunk_offset=0, backend="auto") -> float64 (d,)``,
and ``available_backends()``. ``backend="auto"``: triton on CUDA, else numba, else numpy.
"""

from ._api import ALGORITHMS, SELECT, SelectResult, resolve_backend
from ._philox import philox4x32_10
from .select import candidate_normals, candidate_samples, pfr_select


def available_backends() -> tuple[str, ...]:
    """The selection backends usable on this machine now (``"numpy"`` always)."""
    resolve_backend(SELECT, "numpy")  # imports and registers every backend module
    return SELECT.available()


__all__ = [
    "ALGORITHMS",
    "SelectResult",
    "available_backends",
    "candidate_normals",
    "candidate_samples",
    "pfr_select",
    "philox4x32_10",
]
