r"""A stacked denoiser: dihedral self-ensembles of image models, blended per noise level.

:class:`EnsembleModel` combines image models ``D_1 … D_M`` that share one code space (the
first member's) into one denoiser:

.. math::

    D(y, t^2) = \sum_{m=1}^{M} w_m(t)\, \frac{1}{|G_m|} \sum_{g \in G_m}
                g^{-1} D_m(g\, y, t^2),

where ``G_m`` is a set of dihedral transforms of the image plane (rotations by multiples of
90°, optionally after a left–right flip; :data:`TRANSFORM_SETS`) and ``w(t)`` is a point of the
simplex (``w_m ≥ 0``, ``Σ_m w_m = 1``) tabulated on a grid of ``ln t`` and interpolated
linearly in ``ln t``, clamped outside the grid (:class:`BlendTable`). The inner average is
test-time self-ensembling; the outer sum is a convex stack of the members fitted per noise
level.

Why it helps (our reasoning, not a paper's claim): the Bayes denoiser of a prior invariant
under a transform ``g`` is ``g``-equivariant, ``E[X | g y] = g E[X | y]``, so averaging a
trained network over transforms of a group under which natural images are (nearly) invariant
keeps the target and averages out part of the network's error; a convex combination of two
estimators is never worse than the better one in MSE when its weight is the MSE-optimal one,
and the optimum moves with the noise level (the patch GMM is better at large ``t``, the UNet at
small ``t``). For a dihedral-invariant prior and its exact posterior mean the self-ensemble is
the posterior mean itself (the test suite checks this to ~1e-12).

Fitting (:func:`convex_weights`, :func:`fit_blend`): at each grid level the weights minimise
the empirical squared error of the stack on held-out images,

.. math::

    \min_{w \in \Delta_M} \Big\| \sum_m w_m \hat x_m - x \Big\|^2
    = \min_{w \in \Delta_M} w^\top G w - 2 b^\top w + \|x\|^2,
    \qquad G_{mn} = \langle \hat x_m, \hat x_n\rangle,\ b_m = \langle \hat x_m, x\rangle,

solved exactly by enumerating the supports of ``w`` (the KKT system on each support; a small
``M``). The shipped tables (:data:`SHIPPED_BLENDS`: ``weights/ensemble_blend.json`` for the
:func:`load_ensemble` spec ``"unet+gmm"``, ``weights/ensemble_blend_x4.json`` for
``"unet-x4+gmm"``) were fitted on the held-out strips of the training photographs
(:mod:`rdptheory.models.data`), never on an evaluation image; each records its data, seeds and
the fingerprints of the members it was fitted for, and loading it with other members fails.
``python -m rdptheory.models.ensemble --spec SPEC`` refits and rewrites one.

Measured (``benchmarks/model_ensemble.py``, unseen china + flower 128² crops, denoising PSNR
at t = 0.01 / 0.05 / 0.2 / 0.4 / 0.8 / 3.2, ``gmm-shift`` = the photograph prior): UNet S
45.97 / 34.62 / 26.27 / 22.26 / 19.29 / 16.40 dB; over the 4 rotations +0.08 / +0.12 / +0.24 /
+0.20 / +0.13 / +0.14 dB, over all 8 at most 0.02 dB more; ``"unet-x4+gmm"`` +0.83 / +0.27 /
+0.34 / +0.65 / +0.43 / +0.15 dB at ~4× the UNet's CPU per call (128²: 1.0 s against 0.24 s),
``"unet+gmm"`` within 0.03 dB of it at ~11× (2.6 s).

Determinism: the members are called one transform at a time. Stacking the four rotations of a
square image into one batch was measured again with the multi-threaded model calls
(2026-12-07, UNet S, 64² and 128², t² = 4e-4 / 0.09 / 4, 1 and 2 model threads): the batched
outputs differ from the single calls by up to 4.5e-6 (torch picks kernels by batch size: e.g.
batch 1 sends small 3×3 convolutions to im2col + GEMM, batch 4 to oneDNN; GEMMs change
shape), and cost the same CPU seconds on one thread (128²: 1.0-1.2 s for the four calls
either way), so files made before would not decode and nothing is gained: the calls stay
single. The transforms are summed in their listed order and the members in
theirs, so the encoder and the decoder compute the same bits whenever every member does.
:meth:`EnsembleModel.fingerprint` covers the member fingerprints, the transform sets and the
weight table: a file made with one ensemble is refused by any other.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import pathlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rdptheory.models.protocol import (
    ImageModel,
    as_numpy,
    batch_noise_var,
    denoiser_score,
)

#: A dihedral transform of the image plane: ``(k, flip)`` = flip left–right if ``flip``, then
#: rotate by ``k`` quarter turns (``numpy.rot90`` on the last two axes).
Transform = tuple[int, bool]

#: The eight elements of the dihedral group of the square, in the order they are averaged.
DIHEDRAL: tuple[Transform, ...] = tuple((k, flip) for flip in (False, True) for k in range(4))

#: Named transform sets: the identity, identity + flip, the four rotations, all eight.
TRANSFORM_SETS: dict[str, tuple[Transform, ...]] = {
    "identity": ((0, False),),
    "flip": ((0, False), (0, True)),
    "rot4": tuple((k, False) for k in range(4)),
    "x8": DIHEDRAL,
}

#: Format tag of a blend-table file.
BLEND_FORMAT = "rdptheory-ensemble-blend/1"
#: Largest number of members (the exact fit enumerates the 2^M − 1 supports).
MAX_MEMBERS = 8
#: The shipped blends: spec → (table file in ``weights/``, member specs, transform sets, name).
#: ``"unet+gmm"``: the UNet over all 8 dihedral transforms + the shifted GMM over the 4
#: rotations; ``"unet-x4+gmm"``: the UNet over the 4 rotations + the shifted GMM alone, within
#: 0.03 dB of it on the unseen crops at ~0.4× its cost (``benchmarks/model_ensemble.py``).
SHIPPED_BLENDS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], str]] = {
    "unet+gmm": ("ensemble_blend.json", ("unet", "gmm-shift"), ("x8", "rot4"),
                 "unet-s-x8+gmm-shift-x4"),
    "unet-x4+gmm": ("ensemble_blend_x4.json", ("unet", "gmm-shift"), ("rot4", "identity"),
                    "unet-s-x4+gmm-shift"),
}
#: The UNet self-ensembles: spec → transform set.
SHIPPED_SELF = {"unet-x8": "x8", "unet-x4": "rot4"}
#: The specs :func:`load_ensemble` (and :func:`rdptheory.models.load_model`) accept.
ENSEMBLE_SPECS: tuple[str, ...] = (*SHIPPED_SELF, *SHIPPED_BLENDS)


def transform_set(spec: str | Sequence[Transform]) -> tuple[Transform, ...]:
    """The transforms named by ``spec``: a key of :data:`TRANSFORM_SETS` or ``(k, flip)`` pairs.

    Pairs must be distinct elements of :data:`DIHEDRAL` (``k`` in 0..3, ``flip`` a bool).
    """
    if isinstance(spec, str):
        if spec not in TRANSFORM_SETS:
            raise ValueError(f"transforms must be one of {tuple(TRANSFORM_SETS)} or a sequence "
                             f"of (k, flip) pairs, got {spec!r}")
        return TRANSFORM_SETS[spec]
    if not isinstance(spec, Sequence):
        raise TypeError(f"transforms must be a string or a sequence of (k, flip) pairs, got "
                        f"{type(spec).__name__}")
    out = []
    for item in spec:
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise ValueError(f"each transform must be a (k, flip) pair, got {item!r}")
        k, flip = item
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= 3 \
                or not isinstance(flip, (bool, np.bool_)):
            raise ValueError(f"each transform must be (k in 0..3, flip a bool), got {item!r}")
        out.append((int(k), bool(flip)))
    if not out or len(set(out)) != len(out):
        raise ValueError(f"transforms must be a non-empty set of distinct pairs, got {spec!r}")
    return tuple(out)


def apply_transform(x: np.ndarray, transform: Transform) -> np.ndarray:
    """``g x`` for ``g = (k, flip)`` on the last two axes (a contiguous copy)."""
    k, flip = transform
    return np.ascontiguousarray(np.rot90(x[..., ::-1] if flip else x, k, axes=(-2, -1)))


def invert_transform(x: np.ndarray, transform: Transform) -> np.ndarray:
    """``g⁻¹ x`` for ``g = (k, flip)``: rotate back by ``k`` quarter turns, then unflip."""
    k, flip = transform
    back = np.rot90(x, -k, axes=(-2, -1))
    return np.ascontiguousarray(back[..., ::-1] if flip else back)


def self_ensemble(model: ImageModel, y: np.ndarray, noise_var: np.ndarray,
                  transforms: str | Sequence[Transform]) -> np.ndarray:
    r"""The transform-averaged denoiser :math:`\frac1{|G|}\sum_{g∈G} g^{-1} D(g y, t^2)`.

    ``y`` float64 (B, C, H, W), ``noise_var`` (B,); ``transforms`` as for
    :func:`transform_set`. The model is called once per transform, in the listed order, and
    the results are summed in that order (deterministic).
    """
    transforms = transform_set(transforms)
    if np.ndim(y) != 4:
        raise ValueError(f"y must have shape (B, C, H, W), got {np.shape(y)}")
    acc: np.ndarray | None = None
    for g in transforms:
        den, _ = as_numpy(model.denoise(apply_transform(y, g), noise_var))
        back = invert_transform(np.asarray(den, dtype=np.float64), g)
        acc = back if acc is None else acc + back
    assert acc is not None  # transforms is non-empty (validated by the caller)
    return acc if len(transforms) == 1 else acc / len(transforms)


@dataclass(frozen=True, eq=False)
class BlendTable:
    """Convex member weights on a grid of ``ln t``, interpolated linearly in ``ln t``.

    Parameters
    ----------
    log_t : (G,) strictly increasing natural logs of the noise std ``t`` (model-space units).
    weights : (G, M) non-negative rows summing to 1 (to 1e-9; stored renormalised).

    Outside the grid the end rows apply (clamped); ``t = 0`` takes the first row.
    """

    log_t: np.ndarray
    weights: np.ndarray

    def __post_init__(self) -> None:
        lt = np.array(self.log_t, dtype=np.float64)
        w = np.array(self.weights, dtype=np.float64)
        if lt.ndim != 1 or lt.size < 1 or not np.all(np.isfinite(lt)):
            raise ValueError(f"log_t must be a non-empty finite 1-D array, got shape {lt.shape}")
        if np.any(np.diff(lt) <= 0):
            raise ValueError("log_t must be strictly increasing")
        if w.ndim != 2 or w.shape[0] != lt.size or w.shape[1] < 1:
            raise ValueError(f"weights must have shape ({lt.size}, M), got {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or \
                np.any(np.abs(w.sum(axis=1) - 1.0) > 1e-9):
            raise ValueError("weights must be finite, >= 0, and each row must sum to 1")
        w = w / w.sum(axis=1, keepdims=True)
        lt.setflags(write=False)
        w.setflags(write=False)
        object.__setattr__(self, "log_t", lt)
        object.__setattr__(self, "weights", w)

    @classmethod
    def constant(cls, weights: npt.ArrayLike) -> BlendTable:
        """The same convex weights at every noise level."""
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights must be 1-D, got shape {w.shape}")
        return cls(np.zeros(1), w[None])

    @property
    def n_members(self) -> int:
        """Number of members ``M``."""
        return int(self.weights.shape[1])

    def weights_at(self, noise_var: npt.ArrayLike) -> np.ndarray:
        """The weights at noise variances ``t²`` (B,) as (B, M), interpolated in ``ln t``."""
        t2 = np.atleast_1d(np.asarray(noise_var, dtype=np.float64))
        if t2.ndim != 1 or np.any(~np.isfinite(t2)) or np.any(t2 < 0):
            raise ValueError("noise_var must be a finite 1-D array of values >= 0")
        with np.errstate(divide="ignore"):
            log_t = 0.5 * np.log(t2)  # t = 0 → -inf → clamped to the first row
        return np.stack([np.interp(log_t, self.log_t, self.weights[:, m])
                         for m in range(self.n_members)], axis=1)

    def to_bytes(self) -> bytes:
        """The table's exact content (little-endian float64), for fingerprints."""
        return (np.asarray(self.weights.shape, dtype="<i8").tobytes()
                + self.log_t.astype("<f8").tobytes() + self.weights.astype("<f8").tobytes())


class EnsembleModel:
    """Image model: dihedral self-ensembles of members, blended by a :class:`BlendTable`.

    Parameters
    ----------
    members : non-empty sequence of ImageModels (at most :data:`MAX_MEMBERS`) sharing the
        first member's code space: every member's ``denoise`` receives arrays of that space.
    transforms : one transform set per member (:func:`transform_set`: a name of
        :data:`TRANSFORM_SETS` or ``(k, flip)`` pairs); default ``"identity"`` for each.
    blend : BlendTable with one column per member; may be left out for one member (weight 1).
    name : label (default built from the member names and transform counts).

    The score is Tweedie's ``(D − y)/t²`` of the stacked denoiser (a denoiser-derived score,
    as for any trained network). A member whose weight is exactly 0 for the whole batch at a
    level is not called there.
    """

    def __init__(self, members: Sequence[ImageModel], *,
                 transforms: Sequence[str | Sequence[Transform]] | None = None,
                 blend: BlendTable | None = None, name: str | None = None) -> None:
        if isinstance(members, (str, bytes)) or not isinstance(members, Sequence):
            raise TypeError(f"members must be a sequence of ImageModels, got "
                            f"{type(members).__name__}")
        if not 1 <= len(members) <= MAX_MEMBERS:
            raise ValueError(f"an ensemble needs 1..{MAX_MEMBERS} members, got {len(members)}")
        for m in members:
            if not isinstance(m, ImageModel):
                raise TypeError(f"every member must be an ImageModel, got {type(m).__name__}")
        self.members: tuple[ImageModel, ...] = tuple(members)
        if transforms is None:
            transforms = ["identity"] * len(members)
        if isinstance(transforms, str) or len(transforms) != len(members):
            raise ValueError("transforms must be a sequence with one transform set per member")
        self.transforms: tuple[tuple[Transform, ...], ...] = tuple(
            transform_set(t) for t in transforms)
        if blend is None:
            if len(members) != 1:
                raise ValueError("an ensemble of several members needs a blend table")
            blend = BlendTable.constant([1.0])
        if not isinstance(blend, BlendTable):
            raise TypeError(f"blend must be a BlendTable, got {type(blend).__name__}")
        if blend.n_members != len(members):
            raise ValueError(f"the blend table has {blend.n_members} columns for "
                             f"{len(members)} members")
        self.blend = blend
        channels = {m.code_shape(16, 16)[0] for m in self.members}
        if len(channels) != 1:
            raise ValueError(f"members must share one code space; their channel counts differ: "
                             f"{sorted(channels)}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a string, got {type(name).__name__}")
        self.name = name or "+".join(f"{m.name}/x{len(t)}" for m, t in
                                     zip(self.members, self.transforms))

    def denoise(self, y: Any, noise_var: Any) -> Any:
        """The stacked denoiser ``D(y, t²)`` (module formula) of ``y`` (B, C, H, W)."""
        arr, back = as_numpy(y)
        if arr.ndim != 4:
            raise ValueError(f"y must have shape (B, C, H, W), got {arr.shape}")
        t2 = batch_noise_var(noise_var, arr.shape[0])
        w = self.blend.weights_at(t2)  # (B, M)
        out = np.zeros_like(arr)
        for m, (member, transforms) in enumerate(zip(self.members, self.transforms)):
            if not np.any(w[:, m]):
                continue
            est = self_ensemble(member, arr, t2, transforms)
            out = out + w[:, m, None, None, None] * est
        return back(out)

    def score(self, y: Any, noise_var: Any) -> Any:
        """``(D(y, t²) − y)/t²`` (:func:`~rdptheory.models.protocol.denoiser_score`)."""
        return denoiser_score(self, y, noise_var)

    def to_code_space(self, x: np.ndarray) -> np.ndarray:
        """The first member's code space."""
        return self.members[0].to_code_space(x)

    def from_code_space(self, z: np.ndarray) -> np.ndarray:
        """The first member's decoder of its code space."""
        return self.members[0].from_code_space(z)

    def code_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """The first member's code shape."""
        return self.members[0].code_shape(height, width)

    def fingerprint(self) -> bytes:
        """SHA-256 over the member fingerprints, their transform sets and the blend table."""
        h = hashlib.sha256(b"EnsembleModel/1")
        for member, transforms in zip(self.members, self.transforms):
            h.update(member.fingerprint())
            h.update(repr(transforms).encode())
        h.update(self.blend.to_bytes())
        return h.digest()


# --- fitting -----------------------------------------------------------------------------


def convex_weights(gram: npt.ArrayLike, cross: npt.ArrayLike) -> np.ndarray:
    r"""The exact minimiser over the simplex of :math:`w^\top G w - 2 b^\top w`.

    .. math::

        w^\star = \arg\min_{w \ge 0,\ \mathbf 1^\top w = 1} w^\top G w - 2 b^\top w

    (the squared error of a convex stack, :math:`G_{mn} = \langle \hat x_m, \hat x_n\rangle`,
    :math:`b_m = \langle \hat x_m, x\rangle`). Every support ``S`` of ``w`` is tried: on ``S``
    the equality-constrained minimiser solves the KKT system
    :math:`G_S w_S + \tfrac{\lambda}{2}\mathbf 1 = b_S,\ \mathbf 1^\top w_S = 1` (least squares
    when singular); the feasible candidate with the least objective is returned (ties: the
    first support in order of size). For two members this is the clipped 1-D minimiser
    :math:`w_2 = \mathrm{clip}(\langle x - \hat x_1, \hat x_2 - \hat x_1\rangle /
    \|\hat x_2 - \hat x_1\|^2, 0, 1)`. Standard convex quadratic programming; the
    enumeration is ours.

    Parameters
    ----------
    gram : (M, M) symmetric positive semi-definite, M in 1..:data:`MAX_MEMBERS`.
    cross : (M,).

    Returns
    -------
    (M,) float64 weights, ``>= 0``, summing to 1.
    """
    g = np.asarray(gram, dtype=np.float64)
    b = np.asarray(cross, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] != g.shape[1] or not 1 <= g.shape[0] <= MAX_MEMBERS:
        raise ValueError(f"gram must be (M, M) with M in 1..{MAX_MEMBERS}, got {g.shape}")
    m = g.shape[0]
    if b.shape != (m,):
        raise ValueError(f"cross must have shape ({m},), got {b.shape}")
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(b))):
        raise ValueError("gram and cross must be finite")
    if not np.allclose(g, g.T, rtol=1e-10, atol=1e-12 * max(1.0, float(np.abs(g).max()))):
        raise ValueError("gram must be symmetric")
    best, best_value = np.zeros(m), np.inf
    scale = max(1.0, float(np.abs(g).max()), float(np.abs(b).max()))
    for size in range(1, m + 1):
        for support in itertools.combinations(range(m), size):
            w = _support_minimiser(g, b, list(support))
            if w is None or np.any(w < -1e-12):
                continue
            w = np.maximum(w, 0.0)
            w /= w.sum()
            value = float(w @ g @ w - 2.0 * b @ w)
            if value < best_value - 1e-13 * scale:
                best, best_value = w, value
    return best


def _support_minimiser(g: np.ndarray, b: np.ndarray, support: list[int]) -> np.ndarray | None:
    """The KKT solution of the simplex-equality problem restricted to ``support`` (or None)."""
    s = len(support)
    kkt = np.zeros((s + 1, s + 1))
    kkt[:s, :s] = g[np.ix_(support, support)]
    kkt[:s, s] = kkt[s, :s] = 1.0
    rhs = np.concatenate([b[support], [1.0]])
    sol = np.linalg.lstsq(kkt, rhs, rcond=None)[0]
    if not np.all(np.isfinite(sol)):
        return None
    w = np.zeros(len(b))
    w[support] = sol[:s]
    return w


def fit_convex_weights(estimates: npt.ArrayLike, target: npt.ArrayLike) -> np.ndarray:
    """The convex weights of ``estimates`` (M, ...) that minimise ``‖Σ w_m x̂_m − x‖²``.

    :func:`convex_weights` of the Gram matrix and cross products of the flattened arrays.
    """
    e = np.asarray(estimates, dtype=np.float64)
    x = np.asarray(target, dtype=np.float64)
    if e.ndim < 1 or e.shape[1:] != x.shape or e.shape[0] < 1:
        raise ValueError(f"estimates must have shape (M, *target.shape), got {e.shape} for "
                         f"target {x.shape}")
    flat = e.reshape(e.shape[0], -1)
    return convex_weights(flat @ flat.T, flat @ x.reshape(-1))


@dataclass(frozen=True, eq=False)
class BlendFit:
    """A fitted :class:`BlendTable` and its per-level figures on the fitting images.

    ``member_mse`` (G, M) and ``blend_mse`` (G,) are mean squared errors per coordinate
    (model space ``[-1, 1]``) of each member's self-ensemble and of the stack at each ``t``.
    """

    table: BlendTable
    t: np.ndarray
    member_mse: np.ndarray
    blend_mse: np.ndarray


def fit_blend(members: Sequence[ImageModel], transforms: Sequence[str | Sequence[Transform]],
              images: npt.ArrayLike, t: npt.ArrayLike, *, seed: int,
              batch: int = 8) -> BlendFit:
    """Fit per-level convex weights of ``members`` (self-ensembled) on clean ``images``.

    At level ``i`` the noisy images are ``y = x + t_i N`` with ``N`` drawn from
    ``numpy.random.default_rng(SeedSequence([seed, i]))``; each member's self-ensemble
    (:func:`self_ensemble`) is evaluated in batches of ``batch`` images, the Gram matrix and
    cross products are accumulated over all images and :func:`convex_weights` solves the level.

    Parameters
    ----------
    members, transforms : as for :class:`EnsembleModel`.
    images : (N, C, H, W) clean images in the members' code space.
    t : (G,) strictly increasing noise stds > 0.
    seed : int >= 0.
    batch : images per member call, >= 1.
    """
    x = np.asarray(images, dtype=np.float64)
    if x.ndim != 4 or x.shape[0] < 1:
        raise ValueError(f"images must have shape (N, C, H, W), got {x.shape}")
    ts = np.asarray(t, dtype=np.float64)
    if ts.ndim != 1 or ts.size < 1 or np.any(~np.isfinite(ts)) or np.any(ts <= 0) or \
            np.any(np.diff(ts) <= 0):
        raise ValueError("t must be a non-empty, strictly increasing 1-D array of stds > 0")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"batch must be an int >= 1, got {batch!r}")
    ens = EnsembleModel(members, transforms=transforms,
                        blend=BlendTable.constant(np.full(len(members), 1.0 / len(members))))
    m = len(ens.members)
    rows, member_mse, blend_mse = [], np.zeros((ts.size, m)), np.zeros(ts.size)
    for i, t_i in enumerate(ts):
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), i]))
        y = x + t_i * rng.standard_normal(x.shape)
        gram, cross, sq = np.zeros((m, m)), np.zeros(m), 0.0
        for j in range(0, x.shape[0], batch):
            est = _member_estimates(ens, y[j:j + batch], t_i**2)
            flat, xs = est.reshape(m, -1), x[j:j + batch].reshape(-1)
            gram += flat @ flat.T
            cross += flat @ xs
            sq += float(xs @ xs)
        w = convex_weights(gram, cross)
        rows.append(w)
        member_mse[i] = (np.diag(gram) - 2.0 * cross + sq) / x.size
        blend_mse[i] = (w @ gram @ w - 2.0 * cross @ w + sq) / x.size
    return BlendFit(BlendTable(np.log(ts), np.array(rows)), ts, member_mse, blend_mse)


def _member_estimates(ens: EnsembleModel, y: np.ndarray, t2: float) -> np.ndarray:
    """Each member's self-ensemble of ``y`` at ``t²``, stacked (M, B, C, H, W)."""
    nv = np.full(y.shape[0], t2)
    return np.stack([self_ensemble(mm, y, nv, tr) for mm, tr in zip(ens.members,
                                                                     ens.transforms)])


# --- the shipped ensembles -----------------------------------------------------------------


def blend_table_path(spec: str = "unet+gmm") -> pathlib.Path:
    """The shipped blend table of a spec of :data:`SHIPPED_BLENDS`."""
    if spec not in SHIPPED_BLENDS:
        raise ValueError(f"spec must be one of {tuple(SHIPPED_BLENDS)}, got {spec!r}")
    return pathlib.Path(__file__).resolve().parent / "weights" / SHIPPED_BLENDS[spec][0]


def read_blend_file(path: str | pathlib.Path) -> tuple[list[tuple[str, str, str]], BlendTable,
                                                       dict[str, Any]]:
    """A blend file: ``([(member spec, transform set, fingerprint hex)], table, provenance)``."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or doc.get("format") != BLEND_FORMAT:
        raise ValueError(f"{path} is not a blend table ({BLEND_FORMAT})")
    try:
        members = [(str(e["spec"]), str(e["transforms"]), str(e["fingerprint"]))
                   for e in doc["members"]]
        table = BlendTable(np.log(np.asarray(doc["t"], dtype=np.float64)),
                           np.asarray(doc["weights"], dtype=np.float64))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path}: malformed blend table ({exc})") from exc
    return members, table, dict(doc.get("provenance", {}))


def write_blend_file(path: str | pathlib.Path, specs: Sequence[str],
                     transforms: Sequence[str], members: Sequence[ImageModel], fit: BlendFit,
                     provenance: dict[str, Any]) -> None:
    """Write a fitted table with its member specs, transform sets, fingerprints, provenance."""
    doc = {
        "format": BLEND_FORMAT,
        "members": [{"spec": s, "transforms": tr, "fingerprint": m.fingerprint().hex()}
                    for s, tr, m in zip(specs, transforms, members)],
        "t": [float(v) for v in fit.t],
        "weights": [[round(float(v), 12) for v in row] for row in fit.table.weights],
        "member_mse": fit.member_mse.tolist(),
        "blend_mse": fit.blend_mse.tolist(),
        "provenance": provenance,
    }
    pathlib.Path(path).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def ensemble_from_file(path: str | pathlib.Path, name: str | None = None,
                       load: Callable[[str], ImageModel] | None = None) -> EnsembleModel:
    """The ensemble a blend file describes; its members must match the recorded fingerprints.

    ``load`` builds a member from its spec (default :func:`rdptheory.models.load_model`).
    """
    specs, table, _ = read_blend_file(path)
    if load is None:
        from rdptheory.models import load_model

        load = load_model
    members = [load(s) for s, _, _ in specs]
    for (spec, _, fp), member in zip(specs, members):
        if member.fingerprint().hex() != fp:
            raise ValueError(f"{path} was fitted for another {spec!r} model (fingerprint "
                             f"{fp[:16]}…, now {member.fingerprint().hex()[:16]}…): refit it "
                             "with `python -m rdptheory.models.ensemble`")
    return EnsembleModel(members, transforms=[tr for _, tr, _ in specs], blend=table,
                         name=name)


@functools.lru_cache(maxsize=len(ENSEMBLE_SPECS))
def load_ensemble(spec: str) -> EnsembleModel:
    """A shipped ensemble (loaded once per process); needs torch and diffusers (the UNet).

    ``"unet-x8"`` / ``"unet-x4"``: the UNet averaged over the 8 dihedral transforms / the 4
    rotations; ``"unet+gmm"`` / ``"unet-x4+gmm"``: the blends of :data:`SHIPPED_BLENDS`
    (tables in ``weights/``).
    """
    if spec in SHIPPED_SELF:
        from rdptheory.models import load_default

        return EnsembleModel([load_default()], transforms=[SHIPPED_SELF[spec]],
                             name=f"unet-s-{spec.removeprefix('unet-')}")
    if spec in SHIPPED_BLENDS:
        return ensemble_from_file(blend_table_path(spec), name=SHIPPED_BLENDS[spec][3])
    raise ValueError(f"spec must be one of {ENSEMBLE_SPECS}, got {spec!r}")


# --- refitting the shipped table ---------------------------------------------------------


#: The shipped table's fit: noise stds (0.01 … 10, 16 log-spaced levels: the codec ladder
#: t_max 10 … t_min 0.05 and the ODE below it), the fitting crops, the noise seed.
FIT_T = tuple(float(v) for v in np.geomspace(0.01, 10.0, 16))
FIT_CROP, FIT_PER_IMAGE, FIT_SEED = 64, 2, 20261206


def fit_shipped(spec: str = "unet+gmm", out: str | pathlib.Path | None = None) -> BlendFit:
    """Refit a shipped table (:data:`SHIPPED_BLENDS`) on the held-out strips of the training
    photographs and write it (default: over the shipped file).

    Data: :func:`rdptheory.models.data.holdout_crops` (``FIT_PER_IMAGE`` crops of
    ``FIT_CROP``² from each photograph's held-out strip); levels :data:`FIT_T`; noise seed
    ``FIT_SEED``.
    """
    from rdptheory.models import load_model
    from rdptheory.models.data import holdout_crops, split_holdout, training_photographs

    blend_table_path(spec)  # validates the spec
    photos = training_photographs()
    splits = [split_holdout(p) for p in photos]
    crops = holdout_crops(splits, size=FIT_CROP, per_image=FIT_PER_IMAGE).astype(np.float64)
    _, specs, transforms, _ = SHIPPED_BLENDS[spec]
    members = [load_model(s) for s in specs]
    fit = fit_blend(members, transforms, crops, FIT_T, seed=FIT_SEED)
    provenance = {
        "data": "held-out strips (right 15 %) of the training photographs "
                f"({', '.join(p.name for p in photos)}): {len(crops)} crops of "
                f"{crops.shape[2]}x{crops.shape[3]}, rdptheory.models.data.holdout_crops("
                f"size={FIT_CROP}, per_image={FIT_PER_IMAGE})",
        "noise_seed": FIT_SEED,
        "noise": "y = x + t N, N from numpy default_rng(SeedSequence([seed, level]))",
        "command": f"python -m rdptheory.models.ensemble --spec {spec}",
    }
    write_blend_file(blend_table_path(spec) if out is None else out, specs, transforms, members,
                     fit, provenance)
    return fit


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rdptheory.models.ensemble [--spec SPEC] [--out PATH]``: refit a shipped
    blend table."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--spec", default="unet+gmm", choices=tuple(SHIPPED_BLENDS))
    parser.add_argument("--out", default=None, help="output JSON (default: the shipped table)")
    args = parser.parse_args(argv)
    fit = fit_shipped(args.spec, out=args.out)
    for t_i, w, mse, bm in zip(fit.t, fit.table.weights, fit.member_mse, fit.blend_mse):
        psnr = [10 * np.log10(4.0 / v) for v in (*mse, bm)]
        print(f"t={t_i:8.4f} w={np.round(w, 3)} PSNR members/blend "
              + " ".join(f"{p:6.2f}" for p in psnr))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
