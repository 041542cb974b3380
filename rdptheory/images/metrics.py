"""Distortion and perception measures for images.

Distortion is per image (PSNR, MS-SSIM). Perception, as the theory means it, is a divergence
between *distributions* (THEORY.md §0): the original and reconstructed patch distributions are
compared through the Fréchet distance of their Gaussian fits (= W₂² between the fits [Gel90])
and through sliced/exact W₂² between the patch samples (POT). Patch measures use pixel values
in ``[0, 1]`` and are reported **per dimension** (divided by ``d``) so they read like an MSE.

>>> import numpy as np
>>> a = np.zeros((8, 8, 3), dtype=np.uint8); b = a.copy(); b[0, 0, 0] = 255
>>> round(psnr(a, b), 4)
22.833
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.ndimage import correlate1d

from rdptheory._validation import check_int
from rdptheory.images._patches import PatchGrid, image_to_patches

#: MS-SSIM scale weights of Wang, Simoncelli & Bovik (2003).
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_WIN, _SIGMA, _K1, _K2 = 11, 1.5, 0.01, 0.03


def _pair(a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(f"images must both have shape (H, W, C), got {a.shape} and {b.shape}")
    return a.astype(np.float64), b.astype(np.float64)


def psnr(original: npt.ArrayLike, reconstruction: npt.ArrayLike, *, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB.

    .. math:: \\mathrm{PSNR} = 10 \\log_{10} (\\mathrm{peak}^2 / \\mathrm{MSE})

    Parameters: two ``(H, W, C)`` images on the same scale (``uint8`` → ``peak = 255``).
    Returns dB (``inf`` for identical images).
    """
    a, b = _pair(original, reconstruction)
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0.0 else float(10.0 * np.log10(peak**2 / mse))


def _gauss_valid(x: np.ndarray) -> np.ndarray:
    """Separable 11-tap Gaussian (σ = 1.5) filter over axes 0 and 1, 'valid' part only."""
    k = np.exp(-0.5 * ((np.arange(_WIN) - _WIN // 2) / _SIGMA) ** 2)
    k /= k.sum()
    y = correlate1d(correlate1d(x, k, axis=0, mode="constant"), k, axis=1, mode="constant")
    r = _WIN // 2
    return y[r:-r, r:-r]


def _ssim_terms(a: np.ndarray, b: np.ndarray, peak: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean SSIM and contrast-structure term at one scale, shapes (C,)."""
    c1, c2 = (_K1 * peak) ** 2, (_K2 * peak) ** 2
    mu_a, mu_b = _gauss_valid(a), _gauss_valid(b)
    var_a = _gauss_valid(a * a) - mu_a**2
    var_b = _gauss_valid(b * b) - mu_b**2
    cov = _gauss_valid(a * b) - mu_a * mu_b
    cs = (2 * cov + c2) / (var_a + var_b + c2)
    lum = (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1)
    return (lum * cs).mean(axis=(0, 1)), cs.mean(axis=(0, 1))


def _half(x: np.ndarray) -> np.ndarray:
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    x = x[:h, :w]
    return 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])


def ms_ssim(original: npt.ArrayLike, reconstruction: npt.ArrayLike, *,
            peak: float = 255.0) -> float:
    """Multi-scale SSIM (Wang, Simoncelli & Bovik 2003), per channel then averaged.

    .. math:: \\mathrm{MS\\text{-}SSIM} = \\prod_{j<M} \\mathrm{cs}_j^{w_j} \\cdot
              \\mathrm{ssim}_M^{w_M}

    11×11 Gaussian window (σ = 1.5), K₁ = 0.01, K₂ = 0.03, 2×2 average-pool between scales,
    negative terms clipped at 0 (as pytorch-msssim). Images too small for 5 scales use as many
    as fit (the window must fit at the coarsest scale) with the weights renormalised.
    Parameters: two ``(H, W, C)`` images, ``min(H, W) ≥ 11``. Returns a value in [0, 1].
    """
    a, b = _pair(original, reconstruction)
    scales = sum(min(a.shape[:2]) // 2**j >= _WIN for j in range(len(MS_SSIM_WEIGHTS)))
    if scales == 0:
        raise ValueError(f"images must be at least {_WIN}x{_WIN} for MS-SSIM, got {a.shape[:2]}")
    w = np.asarray(MS_SSIM_WEIGHTS[:scales])
    w = w / w.sum()
    value = np.ones(a.shape[2])
    for j in range(scales):
        ssim_j, cs_j = _ssim_terms(a, b, peak)
        term = ssim_j if j == scales - 1 else cs_j
        value *= np.maximum(term, 0.0) ** w[j]
        a, b = _half(a), _half(b)
    return float(value.mean())


def image_patches(images: list[np.ndarray], patch: int = 8) -> np.ndarray:
    """Non-overlapping ``patch × patch`` colour patches of ``uint8 (H, W, C)`` images in [0, 1].

    Border tiles are reflect-padded (:mod:`rdptheory.images._patches`). Returns (N, C·patch²).
    """
    check_int(patch, "patch", low=1)
    out = []
    for im in images:
        im = np.asarray(im, dtype=np.float64).transpose(2, 0, 1)[None] / 255.0
        grid = PatchGrid(im.shape[1], im.shape[2], im.shape[3], patch)
        out.append(image_to_patches(im, grid)[0])
    return np.concatenate(out)


def _psd_sqrt(a: np.ndarray) -> np.ndarray:
    lam, u = np.linalg.eigh(0.5 * (a + a.T))
    return (u * np.sqrt(np.maximum(lam, 0.0))) @ u.T  # clamp round-off below 0 before sqrt


def frechet_distance(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Fréchet distance (squared) between Gaussian fits of two samples, per dimension.

    .. math:: \\frac1d\\Big(\\|μ_x-μ_y\\|^2 + \\operatorname{tr}\\big(Σ_x + Σ_y
              - 2(Σ_x^{1/2} Σ_y Σ_x^{1/2})^{1/2}\\big)\\Big)

    = W₂² between N(μ_x, Σ_x) and N(μ_y, Σ_y) [Gel90]. Samples (N, d) and (M, d); N, M ≥ 2.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(len(x), len(y)) < 2:
        raise ValueError(f"x and y must be (N, d) samples with N >= 2, got {x.shape}, {y.shape}")
    sx, sy = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    rx = _psd_sqrt(sx)
    cross = np.trace(_psd_sqrt(rx @ sy @ rx))
    total = np.sum((x.mean(0) - y.mean(0)) ** 2) + np.trace(sx) + np.trace(sy) - 2 * cross
    return float(max(total, 0.0) / x.shape[1])  # clamp round-off at 0


def sliced_w2sq(x: npt.ArrayLike, y: npt.ArrayLike, *, n_projections: int = 256,
                seed: int = 0) -> float:
    """Sliced W₂² between two samples (POT ``sliced_wasserstein_distance``), per dimension.

    .. math:: \\mathrm{SW}_2^2 = \\mathbb{E}_{θ \\sim U(S^{d-1})} W_2^2(θ_\\# p_x, θ_\\# p_y)

    It averages 1-D W₂² over unit directions, so it is already on a per-dimension scale and is
    returned as is. Samples (N, d), (M, d); ``seed`` draws the projections.
    """
    import ot

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must be (N, d) samples, got {x.shape}, {y.shape}")
    check_int(n_projections, "n_projections", low=1)
    sw = ot.sliced_wasserstein_distance(x, y, n_projections=n_projections, seed=seed, p=2)
    return float(sw) ** 2


def exact_w2sq(x: npt.ArrayLike, y: npt.ArrayLike, *, max_samples: int = 2000,
               seed: int = 0) -> float:
    """Exact W₂² between the empirical distributions (POT ``emd2``), per dimension.

    .. math:: \\frac1d \\min_{π} \\sum_{ij} π_{ij} \\|x_i - y_j\\|^2

    Each sample is subsampled (seeded) to at most ``max_samples`` points (cost O(n³)).
    """
    import ot

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must be (N, d) samples, got {x.shape}, {y.shape}")
    rng = np.random.default_rng(seed)
    x = x[rng.permutation(len(x))[:max_samples]]
    y = y[rng.permutation(len(y))[:max_samples]]
    cost = ot.dist(x, y, metric="sqeuclidean")
    return float(ot.emd2(ot.unif(len(x)), ot.unif(len(y)), cost)) / x.shape[1]
