r"""Spectrum-shaped noise for the trained network: the noise family, its one scalar, its table.

Issue 15 item 3 (the trained-network half). The shaped chain (:mod:`rdptheory.images.
shaped_chain`) observes every non-overlapping ``p × p`` colour patch in the fixed orthonormal
block DCT ``B`` (8×8×3: :func:`block_dct_basis`) with independent noise per coefficient,
``y_i^B = x_i^B + n_i``, ``n_i ~ N(0, 1/snr_i)``, one SNR vector for all patches. The vector
comes from one scalar, the water level ``θ = t²`` of the ladder, through a fixed spectrum: the
per-coefficient variances ``λ_i`` of the training photographs (:func:`dct_statistics`,
measured once and shipped with the weights) and a recipe (:class:`ShapedFamily`):

- ``"mse"``: reverse water-filling, ``snr_i = (1/θ − 1/λ_i)₊`` (Cover & Thomas Thm 10.3.3);
- ``"perception"``: the D(R, P)-optimal forward channel
  (:func:`rdptheory.gaussian.drp_vector_solution`) at the Gaussian rate
  ``R(θ) = ½ Σ_i log(1 + λ_i snr_i^{mse}(θ))`` of the ``"mse"`` level and the W₂² budget P,
  exactly the rows of :func:`rdptheory.images.shaped_chain.ladder_snr` (which lives in the
  image layer; this module restates its two formulas so that the model layer does not import
  the codec, and the tests compare the two).

**The network's conditioning scalar** (our choice). The network sees any per-coefficient SNR
vector (ladder levels, but also the decoder's ODE path ``t_i²(τ) = τ t_i²``, which leaves the
family), so it is conditioned on a scalar defined for every vector: the *equivalent isotropic
noise* ``σ_eq``, the isotropic std whose Gaussian MMSE per coefficient (under the table λ)
equals the shaped one,

.. math::

    \frac1d \sum_i \frac{\lambda_i σ_{eq}^2}{\lambda_i + σ_{eq}^2}
        = \frac1d \sum_i \frac{\lambda_i}{1 + \lambda_i\, \mathrm{snr}_i}

(:func:`equivalent_sigma`; both sides increase with the noise, so σ_eq is unique and along a
ladder it is a strictly monotone function of θ: the conditioning is the family's level,
re-parameterised). For isotropic noise ``σ_eq = σ`` exactly, which is what lets the shaped
network start from the isotropic weights.

References: [KAAL22] Karras et al., EDM, 2022; [TSHM22] Theis et al., DiffC, 2022.
"""

from __future__ import annotations

import json
import math
import pathlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from rdptheory._validation import (
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
)

#: Noise variance of a coefficient not sent yet in the shaped chain
#: (:func:`rdptheory.images.shaped_chain.chain_levels`; model space; the shipped prior's
#: largest DCT variance is ~31).
T_DEAD2 = 1e6

__all__ = [
    "DEAD_VARIANCE",
    "FAMILY_LADDERS",
    "SKIPS",
    "SHAPING_FILE",
    "ShapedFamily",
    "block_dct_basis",
    "block_rows",
    "dct_statistics",
    "equivalent_sigma",
    "family_snr",
]

#: Ladders the network is trained on (the codec's shaped ladders).
FAMILY_LADDERS: tuple[str, ...] = ("mse", "perception")
#: Skip connections of the shaped network (:func:`rdptheory.models.unet.shaped_denoiser`):
#: "edm" (EDM's σ_d prior on every coefficient, the isotropic network at isotropic noise) or
#: "wiener" (the per-coefficient linear MMSE of the table, the network a residual on it).
SKIPS: tuple[str, ...] = ("edm", "wiener")
#: File next to the shaped network's weights holding its :class:`ShapedFamily`.
SHAPING_FILE = "rdptheory_shaping.json"
#: Noise variance standing for "not sent yet" in training states on the decoder's ODE path
#: (the shaped chain's dead level, :data:`rdptheory.images.shaped_chain.T_DEAD2`).
DEAD_VARIANCE = 1e6


def _dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II matrix (rows = frequencies)."""
    k = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    c = np.cos(np.pi * (2 * j + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    c[0] /= np.sqrt(2.0)
    return c


def block_dct_basis(patch: int = 8, channels: int = 3) -> np.ndarray:
    """The separable DCT-II over (channel, row, column) of a flattened ``(C, p, p)`` patch.

    Columns are the basis vectors (``B = (C_C ⊗ C_p ⊗ C_p)ᵀ``), the first the luma DC; the
    same matrix as :func:`rdptheory.images.shaped.block_dct_basis` (tested), restated here
    because the model layer may not import the image layer.

    >>> b = block_dct_basis(2, 1)
    >>> bool(np.allclose(b.T @ b, np.eye(4)))
    True
    """
    check_int(patch, "patch", low=1)
    check_int(channels, "channels", low=1)
    m = np.kron(_dct_matrix(channels), np.kron(_dct_matrix(patch), _dct_matrix(patch)))
    return np.ascontiguousarray(m.T)


def block_rows(x: npt.ArrayLike, patch: int) -> np.ndarray:
    """Rows ``(N, C·p²)`` of the non-overlapping ``p × p`` patches of ``x`` (C, H, W).

    Row-major tiles, each flattened (channel, row, column), as
    :func:`rdptheory.images.shaped_chain.to_patches`; a border narrower than ``p`` is dropped.

    >>> block_rows(np.arange(8.0).reshape(2, 2, 2), 1).tolist()
    [[0.0, 4.0], [1.0, 5.0], [2.0, 6.0], [3.0, 7.0]]
    """
    a = np.asarray(x, dtype=np.float64)
    check_int(patch, "patch", low=1)
    if a.ndim != 3 or a.shape[1] < patch or a.shape[2] < patch:
        raise ValueError(f"x must have shape (C, H, W) with H, W >= {patch}, got {a.shape}")
    c, h, w = a.shape
    nh, nw = h // patch, w // patch
    t = a[:, :nh * patch, :nw * patch].reshape(c, nh, patch, nw, patch).transpose(1, 3, 0, 2, 4)
    return t.reshape(nh * nw, c * patch * patch)


def dct_statistics(parts: list[np.ndarray], patch: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Per-coefficient mean and variance of the block DCT over every patch of ``parts``.

    Every photograph (model space, ``(3, H, W)``) contributes all its aligned non-overlapping
    patches (:func:`block_rows`), pooled; the variance is the biased sample variance about
    the pooled mean (the diagonal of the overall covariance in the basis).

    Returns
    -------
    (means (d,), variances (d,)) float64, d = C·p².
    """
    if not isinstance(parts, (list, tuple)) or not parts:
        raise ValueError("parts must be a non-empty list of (C, H, W) arrays")
    rows = np.concatenate([block_rows(p, patch) for p in parts])
    if len({np.shape(p)[0] for p in parts}) != 1:
        raise ValueError("every part must have the same number of channels")
    coef = rows @ block_dct_basis(patch, int(np.shape(parts[0])[0]))
    return coef.mean(axis=0), coef.var(axis=0)


def family_snr(theta: float, variances: npt.ArrayLike, ladder: str = "perception",
               perception: float = 0.0) -> np.ndarray:
    """The SNR vector (d,) of the family at water level ``θ = t²`` (module docstring).

    ``0`` marks a coefficient not sent. ``θ >= max λ`` sends nothing (all zeros).

    >>> family_snr(1.0, [2.0, 0.5], "mse").tolist()
    [0.5, 0.0]
    """
    th = float(check_positive(theta, "theta"))
    lam = check_positive(variances, "variances")
    if lam.ndim != 1 or lam.size == 0:
        raise ValueError(f"variances must be a non-empty 1-D array, got shape {lam.shape}")
    check_choice(ladder, "ladder", FAMILY_LADDERS)
    p = float(check_nonnegative(perception, "perception"))
    wf = np.maximum(1.0 / th - 1.0 / lam, 0.0)
    if ladder == "mse" or not (wf > 0).any():
        return wf
    from rdptheory.gaussian import drp_vector_solution  # here: it imports scipy (~0.7 s)

    rate = 0.5 * float(np.log1p(lam * wf).sum())
    nv = np.asarray(drp_vector_solution(rate, p, lam, unit="nats").noise_var, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(np.isfinite(nv), 1.0 / nv, 0.0)


def equivalent_sigma(snr: npt.ArrayLike, variances: npt.ArrayLike, *, low: float = 1e-3,
                     high: float = 1e3, iterations: int = 64) -> np.ndarray:
    """σ_eq of every SNR row (module docstring), clipped to ``[low, high]``.

    Bisection on ``ln σ`` (``iterations`` halvings of ``[ln low, ln high]``: 64 reach float64
    resolution); deterministic numpy, so an encoder and a decoder get the same bits.

    Parameters
    ----------
    snr : (..., d) >= 0 (0 = not sent)
    variances : (d,) > 0, the table λ

    Returns
    -------
    ndarray of shape ``snr.shape[:-1]``.

    >>> round(float(equivalent_sigma([4.0, 4.0], [1.0, 3.0])), 12)
    0.5
    """
    s = check_nonnegative(snr, "snr", allow_inf=True)
    lam = check_positive(variances, "variances")
    if lam.ndim != 1 or s.shape[-1:] != lam.shape:
        raise ValueError(f"snr must end in the variances' length {lam.size}, got {s.shape}")
    lo_, hi_ = float(check_positive(low, "low")), float(check_positive(high, "high"))
    if not lo_ < hi_:
        raise ValueError(f"low must be < high, got {low}, {high}")
    check_int(iterations, "iterations", low=1, high=200)
    with np.errstate(divide="ignore"):
        target = np.where(np.isinf(s), 0.0, lam / (1.0 + lam * s)).mean(axis=-1)
    a = np.full(target.shape, math.log(lo_))
    b = np.full(target.shape, math.log(hi_))
    for _ in range(iterations):
        m = 0.5 * (a + b)
        s2 = np.exp(2.0 * m)[..., None]
        above = (lam * s2 / (lam + s2)).mean(axis=-1) > target
        b = np.where(above, m, b)
        a = np.where(above, a, m)
    return np.exp(0.5 * (a + b))


@dataclass(frozen=True, eq=False)
class ShapedFamily:
    """The shaped noise family the network is trained for: table, recipe, patch geometry.

    means, variances : (d,) per-coefficient mean and variance of the block DCT of the
        training photographs (:func:`dct_statistics`), model space.
    ladder : "perception" (default) or "mse".
    perception : the W₂² budget P of the "perception" ladder (per patch), >= 0.
    patch, channels : the block geometry (d = channels·patch²).
    skip : the network's skip connection, one of :data:`SKIPS` (a property of the network
        trained for the family, stored with it).
    """

    means: np.ndarray
    variances: np.ndarray
    ladder: str = "perception"
    perception: float = 0.0
    patch: int = 8
    channels: int = 3
    skip: str = "edm"
    _cache: dict[float, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        check_int(self.patch, "patch", low=1)
        check_int(self.channels, "channels", low=1)
        d = self.channels * self.patch**2
        lam = check_positive(self.variances, "variances")
        mu = np.asarray(self.means, dtype=np.float64)
        if lam.shape != (d,) or mu.shape != (d,) or not np.isfinite(mu).all():
            raise ValueError(f"means and variances must be finite arrays of shape ({d},), got "
                             f"{mu.shape}, {lam.shape}")
        check_choice(self.ladder, "ladder", FAMILY_LADDERS)
        check_choice(self.skip, "skip", SKIPS)
        object.__setattr__(self, "perception",
                           float(check_nonnegative(self.perception, "perception")))
        object.__setattr__(self, "variances", lam)
        object.__setattr__(self, "means", mu)

    @property
    def dim(self) -> int:
        """d = channels·patch²."""
        return self.channels * self.patch**2

    def snr(self, theta: float) -> np.ndarray:
        """:func:`family_snr` of this family at water level ``θ`` (memoised)."""
        key = float(theta)
        if key not in self._cache:
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[key] = family_snr(key, self.variances, self.ladder, self.perception)
        return self._cache[key].copy()

    def sigma_eq(self, snr: npt.ArrayLike) -> np.ndarray:
        """:func:`equivalent_sigma` under this family's table."""
        return equivalent_sigma(snr, self.variances)

    def to_json(self) -> dict[str, Any]:
        """The record written as :data:`SHAPING_FILE` (floats as written by ``repr``)."""
        return {"basis": "block-dct", "patch": self.patch, "channels": self.channels,
                "ladder": self.ladder, "perception": self.perception, "skip": self.skip,
                "conditioning": "equivalent isotropic sigma (rdptheory.models.shaped_noise)",
                "means": [float(v) for v in self.means],
                "variances": [float(v) for v in self.variances]}

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> ShapedFamily:
        """Inverse of :meth:`to_json`; ``ValueError`` for another basis or a bad record."""
        if not isinstance(record, dict) or record.get("basis") != "block-dct":
            raise ValueError("not a block-DCT shaping record")
        try:
            return cls(np.asarray(record["means"], dtype=np.float64),
                       np.asarray(record["variances"], dtype=np.float64),
                       str(record["ladder"]), float(record["perception"]),
                       int(record["patch"]), int(record["channels"]),
                       str(record.get("skip", "edm")))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed shaping record: {exc}") from None

    def save(self, directory: str | pathlib.Path) -> None:
        """Write :data:`SHAPING_FILE` into ``directory``."""
        path = pathlib.Path(directory) / SHAPING_FILE
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n")

    @classmethod
    def load(cls, directory: str | pathlib.Path) -> ShapedFamily:
        """Read :data:`SHAPING_FILE` from ``directory`` (``FileNotFoundError`` if absent)."""
        path = pathlib.Path(directory) / SHAPING_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: not a shaped-noise model folder")
        return cls.from_json(json.loads(path.read_text()))
