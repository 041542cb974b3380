"""The tiled patch-GMM image model: the exact-score verification model and the codec default.

:class:`PatchGMMImageModel` tiles the image into non-overlapping ``p × p`` patches and treats
them as independent draws of the patch mixture (:class:`rdptheory.models.prior.PatchGMM`, a
:class:`rdptheory.diffusion.GMMModel` with a patch geometry); tiles cut by the image border use
the exact marginal of the mixture on their visible pixels, so the image density is exact for
any size. This module is the tiling layer only: the mixture's formulas are ``GMMModel``'s.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import numpy as np

from rdptheory.models.prior import (
    PatchGMM,
    gmm_posterior_mean,
    load_prior,
    marginal_tile_prior,
)
from rdptheory.models.protocol import PixelPriorModel, as_numpy, batch_noise_var

_BLOCK = 2048  # patches per GMM evaluation (bounds the (K, N, d) temporaries)


class PatchGMMImageModel(PixelPriorModel):
    """Exact-score image model: independent non-overlapping tiles of a patch GMM [ZW11].

    .. math::

        p(x) = \\prod_{\\text{tiles } τ} p_{\\mathrm{GMM}}(x_τ), \\qquad
        E[X \\mid y] \\text{ tile by tile (prior module formula)},

    with border tiles scored by the mixture's exact marginal (THEORY.md §4).

    Parameters
    ----------
    prior : PatchGMM, default the shipped ``data/patch_gmm.npz``.
    """

    def __init__(self, prior: PatchGMM | None = None) -> None:
        self.prior = load_prior() if prior is None else prior
        if not isinstance(self.prior, PatchGMM):
            raise TypeError(f"prior must be a PatchGMM, got {type(prior).__name__}")
        self.name = f"patch-gmm-{self.prior.patch}x{self.prior.patch}-k{self.prior.n_components}"
        self._tile_prior = functools.lru_cache(maxsize=8)(self._make_tile_prior)

    def _make_tile_prior(self, height: int, width: int) -> PatchGMM:
        p = self.prior.patch
        return self.prior if (height, width) == (p, p) else marginal_tile_prior(
            self.prior, height, width)

    def denoise(self, y: Any, noise_var: Any) -> Any:
        """Exact posterior mean ``E[X | X + tN = y]`` of images ``y`` (B, C, H, W)."""
        arr, back = as_numpy(y)
        if arr.ndim != 4 or arr.shape[1] != self.prior.channels:
            raise ValueError(f"y must have shape (B, {self.prior.channels}, H, W), got {arr.shape}")
        t2 = batch_noise_var(noise_var, arr.shape[0])
        out = np.empty_like(arr)
        for rows, cols in _tile_regions(arr.shape[2], arr.shape[3], self.prior.patch):
            out[:, :, rows, cols] = self._denoise_region(arr[:, :, rows, cols], t2)
        return back(out)

    def _denoise_region(self, region: np.ndarray, t2: np.ndarray) -> np.ndarray:
        """Posterior mean of a region tiled exactly by equal tiles (the region's tile size)."""
        b, c, h, w = region.shape
        p = self.prior.patch
        th, tw = min(h, p), min(w, p)
        nr, nc = h // th, w // tw
        tiles = region.reshape(b, c, nr, th, nc, tw).transpose(0, 2, 4, 1, 3, 5)
        flat = tiles.reshape(b * nr * nc, c * th * tw)
        t2_rows = np.repeat(t2, nr * nc)
        gmm = self._tile_prior(th, tw)
        den = np.concatenate([gmm_posterior_mean(gmm, flat[i:i + _BLOCK], t2_rows[i:i + _BLOCK])
                              for i in range(0, flat.shape[0], _BLOCK)])
        den = den.reshape(b, nr, nc, c, th, tw).transpose(0, 3, 1, 4, 2, 5)
        return den.reshape(b, c, h, w)

    def fingerprint(self) -> bytes:
        """SHA-256 over the model kind and the prior's parameters."""
        return hashlib.sha256(b"PatchGMMImageModel/1" + self.prior.fingerprint()).digest()


def _tile_regions(height: int, width: int, patch: int) -> list[tuple[slice, slice]]:
    """Up to four regions, each tiled by equal tiles: interior, right strip, bottom, corner."""
    hf, wf = height - height % patch, width - width % patch
    row_parts = [slice(0, hf)] * (hf > 0) + [slice(hf, height)] * (hf < height)
    col_parts = [slice(0, wf)] * (wf > 0) + [slice(wf, width)] * (wf < width)
    return [(r, c) for r in row_parts for c in col_parts]
