"""Distances and quality measures: every W₂ / Fréchet estimator of the project, once, and the
image quality measures.

- :mod:`rdptheory.metrics.w2`: W₂² between Gaussians (Bures), of a sample's Gaussian fit to a
  law (full, and diagonal in an eigenbasis), between two samples (Fréchet, sliced, exact OT);
- :mod:`rdptheory.metrics.image`: PSNR, MS-SSIM, blockiness (and its per-phase
  profile and guarded check), BD-rate, image patch samples;
- :mod:`rdptheory.metrics.perceptual`: LPIPS, DISTS, FID/KID from local weight files (torch,
  imported lazily: ``import rdptheory.metrics`` does not import it).

Numerics over numpy/scipy (POT lazily for the sliced and exact W₂²); no model or codec code.

>>> from rdptheory.metrics import bures_w2sq
>>> bures_w2sq(1.0, 4.0, 0.0, 1.0)  # (1 − 0)² + (2 − 1)²
2.0
"""

from rdptheory.metrics.image import (
    MS_SSIM_WEIGHTS,
    BlockinessCheck,
    bd_rate,
    blockiness,
    blockiness_check,
    blockiness_profile,
    image_patches,
    ms_ssim,
    psnr,
)
from rdptheory.metrics.w2 import (
    bures_w2sq,
    diagonal_w2sq,
    exact_w2sq,
    frechet_distance,
    gaussian_fit_w2sq,
    psd_sqrt,
    sliced_w2sq,
    source_w2sq,
)

__all__ = [
    "MS_SSIM_WEIGHTS",
    "BlockinessCheck",
    "bd_rate",
    "blockiness",
    "blockiness_check",
    "blockiness_profile",
    "bures_w2sq",
    "diagonal_w2sq",
    "exact_w2sq",
    "frechet_distance",
    "gaussian_fit_w2sq",
    "image_patches",
    "ms_ssim",
    "psd_sqrt",
    "psnr",
    "sliced_w2sq",
    "source_w2sq",
]
