"""Fit the embedded patch priors: ``python -m rdptheory.models.fit_prior [--data photos|skimage]``.

Two priors ship, both 8×8×3 full-covariance Gaussian mixtures in model space:

- ``priors/patch_gmm_photos.npz`` (``--data photos``, the default; issue 11): fitted on the
  shipped UNet's training photographs (:mod:`rdptheory.models.data`: scikit-image's five,
  matplotlib's grace_hopper and the two DIV2K photographs of ``../shared/data/train``), 100 000
  random patches of the left 85 % of each (the same number per photograph), by this module's
  EM (:func:`em_gmm`), stopped when the likelihood of 10 000 patches of the right 15 % strips
  stops improving; china and flower are never used. Its patch means are modelled apart
  (``dc="separate"``, :func:`fit_photo_prior`): one Gaussian for the three channel means, 16
  components for the zero-mean part. ``gmm-shift`` uses it (``shifted_model("photos")``, the
  default, :mod:`rdptheory.models.gmm_shifted`). Measured 2026-12-06 (100 000 patches, seed 0;
  ``benchmarks/patch_prior.py``)::

      prior                  held-out unseen  PSNR t=0.05  0.1   0.2   0.4   0.8  CPU/call
      five photos, K=8 (1)     3.810   3.782      36.41  32.29 28.22 24.45 21.15   1
      photos, K=16, joint      3.579   3.596      36.88  32.82 28.61 24.66 21.20   1.5-1.9
      photos, K=16, separate   3.623   3.560      36.96  32.86 28.80 24.95 21.38   1.5-1.9
      photos, K=32, joint      3.575   3.607      36.74  32.80 28.70 24.79 21.25   2.2-3.1

  (bits per 8-bit dimension on the held-out strips and on china/flower patches; PSNR of the
  16-shift posterior mean, mean of four unseen 128×128 crops; CPU seconds per 128×128 call
  relative to (1), the shipped ``patch_gmm.npz``, which saw part of the strips.) K = 32 fits
  the strips better but the unseen photographs worse; separating the patch mean costs
  in-distribution likelihood but generalises best, hence the shipped K = 16, separate.
- ``priors/patch_gmm.npz`` (``--data skimage``): the first prior, described below. The tiled
  exact-score model, the golden bitstreams and ``gmm-shift-skimage``
  (``shifted_model("skimage")``) use it; it is never refitted in place.

EM (scikit-learn ``GaussianMixture``, full covariances, k-means++ initialisation) on
dequantised colour patches of scikit-image's bundled photographs (``TRAIN_IMAGES``), as in
EPLL [ZW11]. The right-most 20 % of every training image is held out (in-distribution test
patches); scikit-learn's ``china.jpg``/``flower.jpg`` are never seen (out-of-distribution).
Scores are bits per dimension of 8-bit pixels,

.. math::

    \\mathrm{bpd} = \\frac{-\\log p_x(x) + d \\log 127.5}{d \\log 2},

with ``x = (u + v − ½)/127.5 − 1``, ``v ~ U[0,1)`` (uniform dequantisation, so bpd bounds the
discrete code length from above). ``--sweep`` prints the table used to choose the defaults.

Measured on this project's 2-core machine (20 000 training / 4 000 test patches, seed 0;
bits per 8-bit dimension, lower is better)::

    patch  K   train  held-out  unseen
      4   16   3.948    3.598    4.013
      4   64   3.705    3.598    4.379
      6   32   3.712    3.536    4.006
      8    8   3.941    3.524    3.750
      8   16   3.850    3.571    4.052

Larger K overfits five photographs (unseen bits/dim rise), and 8×8 patches generalise best,
so the default is 8×8×3 with K = 8; fitted on 30 000 patches it scores 3.471 bits/dim on
held-out patches and 3.781 on the unseen photographs (stored in the file's metadata). The
shipped file is 0.53 MB (float32, packed upper-triangular covariances).
"""

from __future__ import annotations

import argparse
import pathlib
import time
from typing import Any, NamedTuple

import numpy as np
from scipy.special import logsumexp

from rdptheory._patches import random_patches
from rdptheory._validation import check_choice, check_int, check_positive
from rdptheory.data import TRAIN_IMAGES, UNSEEN_IMAGES, bundled_image
from rdptheory.models.prior import (
    DEFAULT_PRIOR_PATH,
    PHOTO_PRIOR_PATH,
    PatchGMM,
    gmm_log_density,
    load_prior,
    save_prior,
)

#: Defaults chosen from the ``--sweep`` table (see the module docstring of ``prior``).
DEFAULT_PATCH = 8
DEFAULT_COMPONENTS = 8
DEFAULT_TRAIN_PATCHES = 30000
HELDOUT_FRACTION = 0.2
#: Defaults of the photograph prior (``--data photos``, the module docstring's table).
PHOTO_COMPONENTS = 16
PHOTO_DC = "separate"
PHOTO_TRAIN_PATCHES = 100000
PHOTO_TEST_PATCHES = 10000


class PatchSplit(NamedTuple):
    """Training patches, in-distribution held-out patches and unseen-photograph patches."""

    train: np.ndarray
    heldout: np.ndarray
    unseen: np.ndarray


def _dequantised(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    u = pixels.transpose(2, 0, 1).astype(np.float64)
    return (u + rng.random(u.shape) - 0.5) / 127.5 - 1.0


def patch_split(patch: int, n_train: int, n_test: int, seed: int = 0) -> PatchSplit:
    """Random patches: train from the left 80 % of each training image, held out from the rest."""
    rng = np.random.default_rng(seed)
    per_train, per_test = -(-n_train // len(TRAIN_IMAGES)), -(-n_test // len(TRAIN_IMAGES))
    train, held = [], []
    for i, name in enumerate(TRAIN_IMAGES):
        x = _dequantised(bundled_image(name).pixels, rng)
        cut = int(round(x.shape[2] * (1.0 - HELDOUT_FRACTION)))
        train.append(random_patches(x[:, :, :cut], patch, per_train, seed + 2 * i))
        held.append(random_patches(x[:, :, cut:], patch, per_test, seed + 2 * i + 1))
    unseen = [random_patches(_dequantised(bundled_image(n).pixels, rng), patch,
                             -(-n_test // len(UNSEEN_IMAGES)), seed + 100 + j)
              for j, n in enumerate(UNSEEN_IMAGES)]
    return PatchSplit(np.concatenate(train)[:n_train], np.concatenate(held)[:n_test],
                      np.concatenate(unseen)[:n_test])


def bits_per_dim(gmm: PatchGMM, patches: np.ndarray) -> float:
    """Mean code length in bits per 8-bit dimension (module equation), noise level 0."""
    nll = -gmm_log_density(gmm, patches, 0.0).mean() / gmm.dim
    return float((nll + np.log(127.5)) / np.log(2.0))


def fit_patch_gmm(train: np.ndarray, *, patch: int, n_components: int, seed: int = 0,
                  max_iter: int = 60) -> PatchGMM:
    """EM fit of a full-covariance mixture to ``train`` (N, 3·patch²) [ZW11]."""
    from sklearn.mixture import GaussianMixture

    gm = GaussianMixture(n_components, covariance_type="full", reg_covar=1e-6,
                         max_iter=max_iter, tol=1e-3, init_params="k-means++",
                         random_state=seed).fit(train)
    return PatchGMM.from_covariances(gm.weights_, gm.means_, gm.covariances_, patch=patch)


# --- the photograph prior (issue 11): all training photographs, own EM with held-out stopping

#: Noise-free floor added to every fitted covariance (model units²; an 8-bit step's uniform
#: dequantisation variance is (1/127.5)²/12 ≈ 5.1e-6).
EM_REG = 1e-6
_CHUNK = 16384  # rows per block in the E and M steps (bounds the (rows, d) temporaries)


def photo_patch_split(patch: int, n_train: int, n_test: int, seed: int = 0,
                      extra_dir: str | pathlib.Path | None = None) -> PatchSplit:
    """Dequantised random patches of the UNet's training photographs (:mod:`rdptheory.models.data`).

    Training patches come from the left 85 % of every photograph, held-out patches from its
    right 15 % strip (:func:`rdptheory.models.data.split_holdout`), the same number from each
    photograph; unseen patches from scikit-learn's china and flower. Pixels are dequantised as
    in the module equation, ``x = (u + v − ½)/127.5 − 1``, ``v ~ U[0, 1)`` (seeded).
    """
    from rdptheory.models.data import split_holdout, training_photographs

    check_int(patch, "patch", low=1)
    check_int(n_train, "n_train", low=1)
    check_int(n_test, "n_test", low=1)
    rng = np.random.default_rng(seed)
    photos = training_photographs(extra_dir)
    per_train, per_test = -(-n_train // len(photos)), -(-n_test // len(photos))
    train: list[np.ndarray] = []
    held: list[np.ndarray] = []
    for i, image in enumerate(photos):
        sp = split_holdout(image)
        for part, n, out, s in ((sp.train, per_train, train, 2 * i),
                                (sp.holdout, per_test, held, 2 * i + 1)):
            x = part.astype(np.float64) + (rng.random(part.shape) - 0.5) / 127.5
            out.append(random_patches(x, patch, n, seed + 1000 + s))
    unseen = [random_patches(_dequantised(bundled_image(n).pixels, rng), patch,
                             -(-n_test // len(UNSEEN_IMAGES)), seed + 100 + j)
              for j, n in enumerate(UNSEEN_IMAGES)]
    perm = np.random.default_rng(seed + 1).permutation(per_train * len(photos))[:n_train]
    return PatchSplit(np.concatenate(train)[perm], np.concatenate(held)[:n_test],
                      np.concatenate(unseen)[:n_test])


def _log_components(x: np.ndarray, log_w: np.ndarray, means: np.ndarray,
                    prec_chol: np.ndarray, log_det_half: np.ndarray) -> np.ndarray:
    """``log π_k + log N(x; μ_k, Σ_k)`` (N, K), with ``prec_chol`` the upper factor ``L⁻ᵀ``
    of each precision (``Σ_k = L Lᵀ``) and ``log_det_half = Σ log diag L``."""
    n, d = x.shape
    out = np.empty((n, len(log_w)))
    for k in range(len(log_w)):
        z = (x - means[k]) @ prec_chol[k]
        out[:, k] = log_w[k] - log_det_half[k] - 0.5 * (np.einsum("ij,ij->i", z, z)
                                                        + d * np.log(2.0 * np.pi))
    return out


def _factor(covs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per component: ``L⁻ᵀ`` and ``Σ log diag L`` of the Cholesky factor ``Σ = L Lᵀ``."""
    from scipy.linalg import solve_triangular

    chol = np.linalg.cholesky(covs)
    eye = np.eye(covs.shape[1])
    prec = np.stack([solve_triangular(c, eye, lower=True).T for c in chol])
    return prec, np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)


def mixture_log_likelihood(x: np.ndarray, weights: np.ndarray, means: np.ndarray,
                           covs: np.ndarray) -> np.ndarray:
    """Per-row ``log Σ_k π_k N(x; μ_k, Σ_k)`` (nats) of a full-covariance mixture."""
    prec, ldh = _factor(np.asarray(covs, dtype=np.float64))
    log_w = np.log(weights)
    return np.concatenate([logsumexp(_log_components(x[i:i + _CHUNK], log_w, means, prec,
                                                     ldh), axis=1)
                           for i in range(0, len(x), _CHUNK)])


def _m_step(x: np.ndarray, resp: np.ndarray, reg: float
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights, means and covariances (``+ reg·I``) maximising the expected log-likelihood."""
    n, d = x.shape
    nk = resp.sum(axis=0) + 10.0 * np.finfo(float).eps
    means = (resp.T @ x) / nk[:, None]
    covs = np.empty((len(nk), d, d))
    for k in range(len(nk)):
        acc = np.zeros((d, d))
        for i in range(0, n, _CHUNK):
            diff = x[i:i + _CHUNK] - means[k]
            acc += (diff * resp[i:i + _CHUNK, k, None]).T @ diff
        covs[k] = acc / nk[k] + reg * np.eye(d)
    return nk / n, means, covs


class EMStep(NamedTuple):
    """One EM iteration: mean log-likelihoods in nats per dimension, seconds since the start."""

    iteration: int
    train_ll: float
    heldout_ll: float
    seconds: float


class EMFit(NamedTuple):
    """Parameters of the best held-out iteration and the per-iteration history."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    history: list[EMStep]


def em_gmm(train: np.ndarray, n_components: int, *, heldout: np.ndarray, seed: int = 0,
           max_iter: int = 100, tol: float = 2e-4, patience: int = 3, reg: float = EM_REG,
           log: Any = None) -> EMFit:
    """EM for a full-covariance Gaussian mixture, stopped on the held-out likelihood.

    Initialisation as scikit-learn's ``init_params="k-means++"``: k-means++ centres (seeded),
    every training row assigned to its nearest centre, one M-step. Each iteration is one E-step
    and one M-step on ``train``; after it the held-out mean log-likelihood per dimension is
    evaluated, and the fit stops when it has not improved by more than ``tol`` nats/dim for
    ``patience`` iterations (or at ``max_iter``). Returns the parameters of the best held-out
    iteration and the per-iteration history (:class:`EMFit`); ``log`` (optional) is called
    with each :class:`EMStep`. The training log-likelihood of a step is that of the
    parameters entering it (the E-step's by-product).
    """
    from sklearn.cluster import kmeans_plusplus

    x = np.ascontiguousarray(train, dtype=np.float64)
    held = np.ascontiguousarray(heldout, dtype=np.float64)
    if x.ndim != 2 or held.ndim != 2 or held.shape[1] != x.shape[1]:
        raise ValueError(f"train and heldout must be (N, d) arrays of one d, got {x.shape}, "
                         f"{held.shape}")
    k = check_int(n_components, "n_components", low=1)
    if len(x) < k:
        raise ValueError(f"need at least n_components = {k} training rows, got {len(x)}")
    check_int(max_iter, "max_iter", low=1)
    check_int(patience, "patience", low=1)
    check_positive(reg, "reg")
    n, d = x.shape
    centres, _ = kmeans_plusplus(x[:min(n, 20 * k * 50)], k, random_state=seed)
    sq = (centres * centres).sum(axis=1)
    label = np.concatenate([np.argmin(sq[None] - 2.0 * x[i:i + _CHUNK] @ centres.T, axis=1)
                            for i in range(0, n, _CHUNK)])
    resp = np.zeros((n, k))
    resp[np.arange(n), label] = 1.0
    params = _m_step(x, resp, reg)
    best, best_ll, stale, history = params, -np.inf, 0, []
    t0 = time.perf_counter()
    for it in range(1, max_iter + 1):
        w, mu, cov = params
        prec, ldh = _factor(cov)
        train_ll = 0.0
        for i in range(0, n, _CHUNK):
            lc = _log_components(x[i:i + _CHUNK], np.log(w), mu, prec, ldh)
            norm = logsumexp(lc, axis=1, keepdims=True)
            resp[i:i + _CHUNK] = np.exp(lc - norm)
            train_ll += float(norm.sum())
        held_ll = float(mixture_log_likelihood(held, w, mu, cov).mean()) / d
        history.append(EMStep(it, train_ll / (n * d), held_ll, time.perf_counter() - t0))
        if log is not None:
            log(history[-1])
        if held_ll > best_ll + tol:
            best, best_ll, stale = params, held_ll, 0
        else:
            if held_ll > best_ll:
                best, best_ll = params, held_ll
            stale += 1
            if stale >= patience:
                break
        params = _m_step(x, resp, reg)
    return EMFit(*best, history)


def dc_basis(patch: int, channels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal ``(D, Q)``: ``D`` (d, C) the per-channel mean directions ``1/p`` on one
    channel's pixels, ``Q`` (d, d − C) an orthonormal basis of their complement (the patch's
    zero-mean part)."""
    p, c = check_int(patch, "patch", low=1), check_int(channels, "channels", low=1)
    d = c * p * p
    dc = np.zeros((d, c))
    for ch in range(c):
        dc[ch * p * p:(ch + 1) * p * p, ch] = 1.0 / p
    _, vecs = np.linalg.eigh(np.eye(d) - dc @ dc.T)  # eigenvalues 0 (C times) then 1
    return dc, vecs[:, c:]


def fit_photo_prior(split: PatchSplit, *, patch: int, n_components: int, dc: str = "joint",
                    seed: int = 0, max_iter: int = 100, log: Any = None
                    ) -> tuple[PatchGMM, list[EMStep]]:
    """Fit the patch mixture to ``split.train`` with :func:`em_gmm` (held-out stopping).

    ``dc="joint"``: one mixture over whole patches. ``dc="separate"``: the patch's channel
    means ``D ᵀx`` get one Gaussian ``N(m, S)`` and its zero-mean part ``Qᵀx`` a K-component
    mixture, independent of it (EPLL's mean removal [ZW11]); the product is again a
    K-component Gaussian mixture in patch space (our rewriting),

    .. math::

        p(x) = \\sum_k π_k\\, N\\big(x;\\; D m + Q μ_k,\\; Q Σ_k Qᵀ + D S Dᵀ\\big),

    so every closed form of :mod:`rdptheory.models.prior` (posterior mean, marginals, exact
    code length) holds unchanged.
    """
    check_choice(dc, "dc", ("joint", "separate"))
    if dc == "joint":
        fit = em_gmm(split.train, n_components, heldout=split.heldout, seed=seed,
                     max_iter=max_iter, log=log)
        return PatchGMM.from_covariances(fit.weights, fit.means, fit.covariances,
                                         patch=patch), fit.history
    dcb, q = dc_basis(patch)
    dc_train = split.train @ dcb
    m, s = dc_train.mean(axis=0), np.cov(dc_train, rowvar=False)
    fit = em_gmm(split.train @ q, n_components, heldout=split.heldout @ q, seed=seed,
                 max_iter=max_iter, log=log)
    means = m @ dcb.T + fit.means @ q.T
    covs = q @ fit.covariances @ q.T + (dcb @ s @ dcb.T)[None]
    return PatchGMM.from_covariances(fit.weights, means, covs, patch=patch), fit.history


def sweep(configs: list[tuple[int, int]], n_train: int, n_test: int, seed: int) -> None:
    """Print held-out and unseen bits/dim for each (patch, K)."""
    print("patch  K  train_bpd  heldout_bpd  unseen_bpd  fit_s")
    for patch, k in configs:
        split = patch_split(patch, n_train, n_test, seed)
        t0 = time.perf_counter()
        gmm = fit_patch_gmm(split.train, patch=patch, n_components=k, seed=seed)
        fit_s = time.perf_counter() - t0
        print(f"{patch:5d} {k:3d} {bits_per_dim(gmm, split.train[:n_test]):10.3f} "
              f"{bits_per_dim(gmm, split.heldout):12.3f} {bits_per_dim(gmm, split.unseen):11.3f}"
              f" {fit_s:6.1f}", flush=True)


def save_photo_prior(gmm: PatchGMM, out: str | pathlib.Path, *, dc: str, seed: int,
                     n_train: int, n_test: int, em_iterations: int) -> dict[str, str]:
    """Write ``gmm`` with its provenance and scores; returns the metadata written.

    The bits/dim are those of the file as stored (float32 parameters, reloaded): held out on
    :func:`photo_patch_split`'s ``n_test`` strip patches and unseen china/flower patches of
    ``seed`` (they do not depend on ``n_train``, so anyone can recompute them cheaply).
    """
    from rdptheory.models.data import training_photographs

    meta = {"data": "left 85 % of " + ",".join(im.name for im in training_photographs()),
            "unseen_images": ",".join(UNSEEN_IMAGES), "dc": dc, "seed": str(seed),
            "components": str(gmm.n_components), "train_patches": str(n_train),
            "test_patches": str(n_test), "em_iterations": str(em_iterations)}
    save_prior(gmm, out, **meta)
    stored = load_prior(out)
    split = photo_patch_split(gmm.patch, 1, n_test, seed)
    meta["heldout_bpd"] = f"{bits_per_dim(stored, split.heldout):.4f}"
    meta["unseen_bpd"] = f"{bits_per_dim(stored, split.unseen):.4f}"
    save_prior(stored, out, **meta)
    return meta


def main(argv: list[str] | None = None) -> int:
    """Fit and save a prior (or ``--sweep`` over patch sizes and K on the five photographs)."""
    ap = argparse.ArgumentParser(prog="python -m rdptheory.models.fit_prior",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--data", choices=("photos", "skimage"), default="photos",
                    help="photos: the UNet's training photographs, own EM with held-out "
                         "stopping (writes priors/patch_gmm_photos.npz by default); skimage: "
                         "the original five-photograph fit (writes priors/patch_gmm.npz)")
    ap.add_argument("--out", type=pathlib.Path, default=None)
    ap.add_argument("--patch", type=int, default=DEFAULT_PATCH)
    ap.add_argument("--components", type=int, default=None,
                    help=f"K (default {PHOTO_COMPONENTS} for photos, {DEFAULT_COMPONENTS} for "
                         "skimage)")
    ap.add_argument("--dc", choices=("joint", "separate"), default=PHOTO_DC)
    ap.add_argument("--train-patches", type=int, default=None)
    ap.add_argument("--test-patches", type=int, default=None)
    ap.add_argument("--max-iter", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sweep", type=str, default=None,
                    help="comma list of PATCHxK, e.g. 4x16,8x16: print bits/dim, save nothing")
    args = ap.parse_args(argv)
    if args.sweep:
        configs = [(int(c.split("x")[0]), int(c.split("x")[1])) for c in args.sweep.split(",")]
        sweep(configs, args.train_patches or DEFAULT_TRAIN_PATCHES, args.test_patches or 5000,
              args.seed)
        return 0
    if args.data == "photos":
        out = args.out or PHOTO_PRIOR_PATH
        k = args.components or PHOTO_COMPONENTS
        n_train = args.train_patches or PHOTO_TRAIN_PATCHES
        n_test = args.test_patches or PHOTO_TEST_PATCHES
        split = photo_patch_split(args.patch, n_train, n_test, args.seed)
        gmm, hist = fit_photo_prior(
            split, patch=args.patch, n_components=k, dc=args.dc, seed=args.seed,
            max_iter=args.max_iter,
            log=lambda s: print(f"EM {s.iteration}: train {s.train_ll:.5f}, held-out "
                                f"{s.heldout_ll:.5f} nats/dim, {s.seconds:.0f} s", flush=True))
        meta = save_photo_prior(gmm, out, dc=args.dc, seed=args.seed, n_train=n_train,
                                n_test=n_test, em_iterations=len(hist))
        print(f"wrote {out}: patch {args.patch}, K {k}, held-out {meta['heldout_bpd']} "
              f"bits/dim, unseen photographs {meta['unseen_bpd']} bits/dim")
        return 0
    out = args.out or DEFAULT_PRIOR_PATH
    k = args.components or DEFAULT_COMPONENTS
    n_train = args.train_patches or DEFAULT_TRAIN_PATCHES
    split = patch_split(args.patch, n_train, args.test_patches or 5000, args.seed)
    gmm = fit_patch_gmm(split.train, patch=args.patch, n_components=k, seed=args.seed)
    held, unseen = bits_per_dim(gmm, split.heldout), bits_per_dim(gmm, split.unseen)
    save_prior(gmm, out, train_images=",".join(TRAIN_IMAGES),
               unseen_images=",".join(UNSEEN_IMAGES), heldout_bpd=f"{held:.4f}",
               unseen_bpd=f"{unseen:.4f}", seed=str(args.seed), train_patches=str(n_train))
    print(f"wrote {out}: patch {args.patch}, K {k}, held-out {held:.3f} "
          f"bits/dim, unseen photographs {unseen:.3f} bits/dim")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
