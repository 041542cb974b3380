"""Public launchers: validate once, resolve the backend, dispatch through the registries.

Every backend implements the layout documented in :mod:`rdptheory.kernels` (THEORY.md §5);
``numpy`` is the float64 reference and the source of truth (STYLE.md §9).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from rdptheory._registry import Registry
from rdptheory._validation import check_choice, check_int

Algorithm = Literal["pfr", "orc"]
ALGORITHMS: tuple[str, ...] = ("pfr", "orc")
BACKENDS: tuple[str, ...] = ("auto", "numpy", "numba", "torch", "triton", "cupy")
MAX_SEED = 2**64 - 1
MAX_STREAM = 2**31 - 1  # word 3's top bit separates encoder randomness
MAX_LOG2_CANDIDATES = 32  # candidate n is one 32-bit counter word
MAX_CHUNK_DIMS = 2**34  # j // 4 is one 32-bit counter word


class SelectResult(NamedTuple):
    """Per-chunk outcome of :func:`pfr_select`.

    Attributes
    ----------
    indices : int64 array (n_chunks,)
        Selected candidate index K_c in [0, 2**log2_candidates[c]).
    log_weights : float64 array (n_chunks,)
        log q/p (nats) of the selected candidate of each chunk.
    """

    indices: np.ndarray
    log_weights: np.ndarray


@dataclass(frozen=True)
class SelectProblem:
    """Validated inputs of one :func:`pfr_select` call, as handed to a backend."""

    mu_q: np.ndarray
    sigma_q: np.ndarray
    mu_p: np.ndarray
    sigma_p: np.ndarray
    chunk_starts: np.ndarray  # int64 (n_chunks + 1,), 0 = s_0 < s_1 < ... = len(mu_p)
    log2_candidates: np.ndarray  # int64 (n_chunks,)
    seed: int
    encoder_seed: int
    stream: int
    chunk_offset: int
    algorithm: str

    @property
    def n_chunks(self) -> int:
        return len(self.log2_candidates)

    def quadratic_coefficients(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(a, b, c)`` with log q/p(mu_p + sigma_p eps) = sum_j a_j eps_j^2 + b_j eps_j + c_j.

        Derived (THEORY.md §5) by substituting z = mu_p + sigma_p eps into the diagonal log-ratio:
        a = (1 - sigma_p^2/sigma_q^2)/2, b = sigma_p (mu_q - mu_p)/sigma_q^2,
        c = -(mu_q - mu_p)^2/(2 sigma_q^2) + log(sigma_p/sigma_q).
        """
        delta = self.mu_q - self.mu_p
        inv_var_q = 1.0 / self.sigma_q**2
        a = 0.5 * (1.0 - self.sigma_p**2 * inv_var_q)
        b = self.sigma_p * delta * inv_var_q
        c = -0.5 * delta**2 * inv_var_q + np.log(self.sigma_p / self.sigma_q)
        return a, b, c

    def chunk_constants(self, c: np.ndarray) -> np.ndarray:
        """Per-chunk sum of ``c_j`` (float64, (n_chunks,))."""
        return np.add.reduceat(c, self.chunk_starts[:-1])


SelectImpl = Callable[[SelectProblem], tuple[np.ndarray, np.ndarray]]
SamplesImpl = Callable[..., np.ndarray]
NormalsImpl = Callable[[int, int, int, np.ndarray, int], np.ndarray]

SELECT: Registry[SelectImpl] = Registry("pfr_select")
SAMPLES: Registry[SamplesImpl] = Registry("candidate_samples")
NORMALS: Registry[NormalsImpl] = Registry("candidate_normals")


def cuda_available() -> bool:
    """True when torch sees a CUDA device (never imports torch if it is absent)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def resolve_backend(registry: Registry, backend: str) -> str:
    """``"auto"``: triton on CUDA, else numba, else numpy; explicit names are checked."""
    check_choice(backend, "backend", BACKENDS)
    _import_backends()
    if backend != "auto":
        return registry.resolve(backend)
    pref = ("triton", "numba", "numpy") if cuda_available() else ("numba", "numpy")
    return registry.resolve(backend, preference=pref)


def _import_backends() -> None:
    """Importing a backend module registers it; its heavy dependency loads lazily."""
    from . import _cupy, _numba, _numpy, _torch, _triton  # noqa: F401


def check_seed(seed: object, name: str) -> int:
    """A 64-bit unsigned seed."""
    return check_int(seed, name, low=0, high=MAX_SEED)


def check_vector(x: npt.ArrayLike, name: str, *, positive: bool = False) -> np.ndarray:
    """A finite, non-empty 1-D float64 array (entries > 0 when ``positive``)."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a 1-D array of real numbers") from exc
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if positive and (a <= 0).any():
        raise ValueError(f"{name} must be > 0, got min {a.min()!r}")
    return a


def check_int_vector(x: npt.ArrayLike, name: str) -> np.ndarray:
    """A 1-D int64 array (integers only; floats with fractions are rejected)."""
    a = np.asarray(x)
    if a.dtype.kind not in "iu" or a.ndim != 1:
        raise TypeError(f"{name} must be a 1-D integer array, got dtype {a.dtype}, ndim {a.ndim}")
    if a.dtype.kind == "u" and a.size and a.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} entries must be < 2**63")
    return a.astype(np.int64)


def check_chunk_starts(chunk_starts: npt.ArrayLike, dims: int) -> np.ndarray:
    """Chunk boundaries 0 = s_0 < s_1 < ... < s_C = dims with every chunk < 2**34 dims."""
    s = check_int_vector(chunk_starts, "chunk_starts")
    if s.size < 2 or s[0] != 0 or s[-1] != dims:
        raise ValueError(
            f"chunk_starts must run from 0 to len(mu_p) = {dims} with at least 2 entries"
        )
    widths = np.diff(s)
    if (widths <= 0).any():
        raise ValueError("chunk_starts must be strictly increasing (no empty chunk)")
    if (widths > MAX_CHUNK_DIMS).any():
        raise ValueError(f"every chunk must have at most 2**34 dims, got {widths.max()}")
    return s


def check_stream_and_offset(
    stream: object, chunk_offset: object, n_chunks: int, offset_name: str = "chunk_offset"
) -> None:
    """``stream`` in [0, 2**31) and chunk ids ``chunk_offset + c`` in [0, 2**32)."""
    check_int(stream, "stream", low=0, high=MAX_STREAM)
    check_int(chunk_offset, offset_name, low=0, high=2**32 - n_chunks)
