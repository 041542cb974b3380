r"""The patch GMM without a block grid: posterior means averaged over shifted tilings [ZW11].

:class:`~rdptheory.models.patch_gmm.PatchGMMImageModel` cuts the image into one fixed grid of
independent ``p × p`` tiles, so its posterior mean — and every reconstruction the codec
decodes with it — is a mosaic. This model averages the exact posterior means of ``S`` shifted
tilings (EPLL-style [ZW11]):

.. math::

    D(y, t^2) = \frac1S \sum_{(a, b) \in \mathcal S} E_{a,b}[X \mid X + tN = y],

where ``E_{a,b}`` is the tiled model's exact posterior mean for the grid whose tile corners
sit at rows ``≡ a`` and columns ``≡ b (mod p)``: every tile is denoised by the mixture's
closed form (:func:`rdptheory.models.prior.gmm_posterior_mean`), tiles cut by the image border
by the mixture's exact marginal on the visible pixels *at their position inside the patch* (a
tile hanging over the top edge keeps the patch's bottom rows). ``S = {(0, 0)}`` is the tiled
model.

The default set holds ``2p`` shifts (16 for 8×8 patches): ``(i, 3i mod p)`` and
``(i, (3i + p/2) mod p)`` for ``i = 0..p−1``, so every row offset and every column offset
occurs exactly twice — every pixel boundary is a tile edge in the same fraction of the shifts
and no grid of any period is left (a 4×4 lattice of shifts, stride 2, leaves a 2-pixel grid:
blockiness 1.7 on a flat noisy image, against 1.0 here). 16 rather than all 64 shifts is a
measured choice (``../shared/notes/image-prior-measurements.md``, four unseen 128×128 crops):
16 shifts denoise +0.7–0.8 dB better than the tiled model at every noise level, 64 add only
0.03–0.08 dB more at four times the cost.

``D`` is not the posterior mean of one density (the average of the tilings' posterior means is
not the mean under their average), so :meth:`score` ``= (D − y)/t²`` is a denoiser-derived
score, as for a trained network: the codec only needs encoder and decoder to evaluate the same
deterministic function, which they do. The tiled model keeps the exact score for the
verification tests. All tiles of all shifts that share a shape are evaluated in one batched
call.

References: [ZW11] Zoran & Weiss, "From learning models of natural image patches to whole
image restoration", ICCV 2011.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import logsumexp

from rdptheory._validation import check_choice, check_int
from rdptheory.models.prior import (
    DEFAULT_PRIOR_PATH,
    PHOTO_PRIOR_PATH,
    PatchGMM,
    Span,
    load_prior,
    marginal_window_prior,
)
from rdptheory.models.protocol import PixelPriorModel, as_numpy, batch_noise_var

_BLOCK = 2048  # patches per GMM evaluation (bounds the (K, N, d) temporaries)

# A tile class: rows [r0, r1) and columns [c0, c1) of the p×p patch that the tile shows.
_Span = Span


class _Stacked:
    """A mixture's eigenbases laid side by side, ``U = [U_1 … U_K]`` (d, K·d), in one dtype, so
    that projecting onto every component and back is one matrix product each way."""

    def __init__(self, gmm: PatchGMM, dtype: type) -> None:
        k, d = gmm.n_components, gmm.dim
        self.k, self.d, self.dtype = k, d, dtype
        self.u = np.ascontiguousarray(gmm.eigvecs.transpose(1, 0, 2).reshape(d, k * d),
                                      dtype=dtype)
        self.mu_u = np.einsum("kd,kde->ke", gmm.means, gmm.eigvecs).astype(dtype)  # μ_kᵀU_k
        self.lam, self.means, self.log_w = gmm.eigvals, gmm.means, gmm._log_weights

    def posterior_mean(self, y: np.ndarray, t2: float) -> np.ndarray:
        """``E[X | y]`` of rows ``y`` (N, d) at one noise variance ``t2``: the formula of
        :mod:`rdptheory.models.prior` with both projections as single products and the
        per-component factors ``1/(λ+t²)``, ``log det`` computed once for all rows."""
        n, k, d = len(y), self.k, self.d
        proj = (y.astype(self.dtype) @ self.u).reshape(n, k, d) - self.mu_u[None]
        lam_t = self.lam + t2  # (K, d) float64
        inv = (1.0 / lam_t).astype(self.dtype)
        quad = (proj * proj * inv).sum(axis=2, dtype=np.float64)
        log_comp = self.log_w - 0.5 * (quad + np.sum(np.log(2.0 * np.pi * lam_t), axis=1))
        resp = np.exp(log_comp - logsumexp(log_comp, axis=1, keepdims=True))  # (N, K)
        gain = (self.lam * inv).astype(self.dtype)  # λ/(λ+t²), (K, d)
        shrunk = proj * gain[None] * resp.astype(self.dtype)[:, :, None]
        back = shrunk.reshape(n, k * d) @ self.u.T
        return resp @ self.means + back.astype(np.float64)


def shift_set(patch: int, shifts: str | Sequence[tuple[int, int]]) -> tuple[tuple[int, int],
                                                                            ...]:
    """The tiling offsets ``(a, b)`` named by ``shifts`` (:class:`ShiftedPatchGMMImageModel`)."""
    p = check_int(patch, "patch", low=1)
    if isinstance(shifts, str):
        check_choice(shifts, "shifts", ("balanced", "all"))
        if shifts == "all":
            return tuple((a, b) for a in range(p) for b in range(p))
        out = [(i, 3 * i % p) for i in range(p)] + [(i, (3 * i + p // 2) % p) for i in range(p)]
        return tuple(dict.fromkeys(out))  # p = 1, 2: fewer distinct pairs
    out = [(int(a), int(b)) for a, b in shifts]
    if not out or any(not (0 <= a < p and 0 <= b < p) for a, b in out) or \
            len(set(out)) != len(out):
        raise ValueError(f"shifts must be distinct (a, b) pairs in [0, {p}), got {shifts}")
    return tuple(out)


def _segments(size: int, offset: int, p: int) -> list[tuple[int, int, _Span]]:
    """Cut ``[0, size)`` at positions ``≡ offset (mod p)``: ``(start, stop, patch span)``."""
    cuts = sorted({0, size} | set(range(offset % p, size, p)))
    out = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        first = (a - offset) % p  # the tile holding row a starts at a - first
        out.append((a, b, (first, first + b - a)))
    return out


class ShiftedPatchGMMImageModel(PixelPriorModel):
    """Patch-GMM image model with the posterior mean averaged over shifted tilings (module).

    Parameters
    ----------
    prior : PatchGMM, default the shipped ``data/patch_gmm.npz``.
    shifts : "balanced" (default, the module's 2p shifts), "all" (the p² shifts) or a sequence
        of ``(a, b)`` offsets in ``[0, p)`` (``[(0, 0)]`` is the tiled model).
    precision : "float32" (default) or "float64": the dtype of the two projections (the
        responsibilities are always float64). float32 is 3–4× faster on CPU and moves the
        output by ~1e-6 (model-space units, 8-bit step 7.8e-3); encoder and decoder use the
        same precision (it is part of the fingerprint).
    """

    def __init__(self, prior: PatchGMM | None = None, *,
                 shifts: str | Sequence[tuple[int, int]] = "balanced",
                 precision: str = "float32") -> None:
        self.prior = load_prior() if prior is None else prior
        if not isinstance(self.prior, PatchGMM):
            raise TypeError(f"prior must be a PatchGMM, got {type(prior).__name__}")
        p = self.prior.patch
        self.shifts: tuple[tuple[int, int], ...] = shift_set(p, shifts)
        self.name = f"patch-gmm-shift{len(self.shifts)}-{p}x{p}-k{self.prior.n_components}"
        self.precision = check_choice(precision, "precision", ("float32", "float64"))
        dtype = np.float32 if precision == "float32" else np.float64
        covs = self.prior.covariances()
        self._window = functools.lru_cache(maxsize=256)(
            lambda rows, cols: _Stacked(marginal_window_prior(self.prior, rows, cols, covs),
                                        dtype))

    def _groups(self, height: int, width: int) -> dict[tuple[_Span, _Span], list]:
        """Tiles of every shift grouped by the patch window they show: ``(shift, r, c, h, w)``."""
        p = self.prior.patch
        groups: dict[tuple[_Span, _Span], list] = {}
        for s, (a, b) in enumerate(self.shifts):
            for r0, r1, rs in _segments(height, a, p):
                for c0, c1, cs in _segments(width, b, p):
                    groups.setdefault((rs, cs), []).append((s, r0, c0, r1 - r0, c1 - c0))
        return groups

    def denoise(self, y: Any, noise_var: Any) -> Any:
        """The shift-averaged posterior mean ``D(y, t²)`` of images ``y`` (B, C, H, W)."""
        arr, back = as_numpy(y)
        if arr.ndim != 4 or arr.shape[1] != self.prior.channels:
            raise ValueError(f"y must have shape (B, {self.prior.channels}, H, W), got {arr.shape}")
        t2 = batch_noise_var(noise_var, arr.shape[0])
        nb, nc, h, w = arr.shape
        hw = np.ascontiguousarray(arr.transpose(2, 3, 0, 1))  # (H, W, B, C)
        acc = np.empty((len(self.shifts), h, w, nb, nc))
        with _one_blas_thread():
            self._fill(acc, hw, t2)
        return back(acc.mean(axis=0).transpose(2, 3, 0, 1))

    def _fill(self, acc: np.ndarray, hw: np.ndarray, t2: np.ndarray) -> None:
        """Every shift's posterior means into ``acc`` (S, H, W, B, C) from ``hw`` (H, W, B, C)."""
        h, w, nb, nc = hw.shape
        for (rs, cs), tiles in self._groups(h, w).items():
            sid, r, c, th, tw = (np.array(v) for v in zip(*tiles))
            th, tw = int(th[0]), int(tw[0])
            rows = r[:, None, None] + np.arange(th)[None, :, None]
            cols = c[:, None, None] + np.arange(tw)[None, None, :]
            patches = hw[rows, cols]  # (n, th, tw, B, C)
            n = len(sid)
            flat = patches.transpose(3, 0, 4, 1, 2).reshape(nb, n, nc * th * tw)
            stacked = self._window(rs, cs)
            den = np.stack([np.concatenate([stacked.posterior_mean(flat[b, i:i + _BLOCK], t2[b])
                                            for i in range(0, n, _BLOCK)]) for b in range(nb)])
            acc[sid[:, None, None], rows, cols] = den.reshape(nb, n, nc, th, tw).transpose(
                1, 3, 4, 0, 2)

    def fingerprint(self) -> bytes:
        """SHA-256 over the model kind, the shifts and the prior's parameters."""
        tag = f"ShiftedPatchGMMImageModel/1/{self.shifts}/{self.precision}"
        return hashlib.sha256(tag.encode()
                              + self.prior.fingerprint()).digest()


@functools.cache
def _blas_controller() -> Any:
    """threadpoolctl's controller (a scikit-learn dependency), built once; None without it."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - numpy alone: the caller's thread settings hold
        return None
    return ThreadpoolController()


def _one_blas_thread() -> contextlib.AbstractContextManager:
    """Limit BLAS to one thread for a model call (~0.1 ms with the cached controller).

    The two projections are BLAS matrix products whose float32 results differ in the last
    bits between 1 and 2 OpenBLAS threads (measured: the ``gmm-shift`` outputs of a shell with
    the default 2 threads differed from those under ``OMP_NUM_THREADS=1``), so the encoder
    and the decoder would replay different chains; one thread gives the results of before
    in every shell.
    """
    c = _blas_controller()
    return contextlib.nullcontext() if c is None else c.limit(limits=1, user_api="blas")


#: Shipped priors of the shifted model by name: the original five-photograph fit and the
#: photograph prior of issue 11 (:mod:`rdptheory.models.fit_prior`, ``--data photos``).
SHIFT_PRIORS = {"skimage": DEFAULT_PRIOR_PATH, "photos": PHOTO_PRIOR_PATH}


def shifted_model(prior: str = "photos") -> ShiftedPatchGMMImageModel:
    """A shipped patch GMM averaged over its 16 balanced shifts (each loaded once per process).

    ``prior``: ``"photos"`` (default since issue 11's photograph prior;
    ``priors/patch_gmm_photos.npz``, 8×8, K = 16, fitted on the shipped UNet's eight training
    photographs; its figures are in ``benchmarks/results/patch_prior.json``; spec
    ``"gmm-shift"``) or ``"skimage"`` (``priors/patch_gmm.npz``, 8×8, K = 8, five scikit-image
    photographs, the tiled model's prior; spec ``"gmm-shift-skimage"``, which decodes files
    made with ``gmm-shift`` before the change).
    """
    check_choice(prior, "prior", tuple(SHIFT_PRIORS))
    return _shifted_model(prior)


@functools.lru_cache(maxsize=len(SHIFT_PRIORS))
def _shifted_model(prior: str) -> ShiftedPatchGMMImageModel:
    """:func:`shifted_model`'s cache, keyed by the prior's name (not by how it was passed)."""
    return ShiftedPatchGMMImageModel(load_prior(SHIFT_PRIORS[prior]))
