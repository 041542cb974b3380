r"""Noise choices of the image codec: which models can code spectrum-shaped noise, and how.

The image codec (:mod:`rdptheory.images.codec`) sends either the isotropic chain
``y = x + tN`` (any :class:`~rdptheory.models.ImageModel`) or a *shaped* chain whose noise
covariance at every step is diagonal in a fixed basis with per-coefficient levels set by a
:class:`~rdptheory.images.shaped_chain.ShapingRecipe` (issue 15). Only some models can code
shaped noise; the codec asks for the chain of one image through :func:`shaped_chain_for`,
which dispatches on a small protocol rather than on model classes:

- a model with a ``shaped_chain(recipe, height, width)`` method (:class:`ShapedNoiseModel`)
  builds its own :class:`ShapedChain`;
- a model class that cannot depend on this package layer (``rdptheory.models`` must not
  import ``rdptheory.images``) is registered with :func:`register_shaped` and a factory
  ``factory(model, recipe, height, width)``; the tiled patch GMM
  (:class:`~rdptheory.models.patch_gmm.PatchGMMImageModel`) is registered here, with
  :class:`PatchDCTChain`, and the shaped-noise UNet
  (:class:`~rdptheory.models.shaped_unet.ShapedNet`) by :mod:`rdptheory.images.shaped_net`,
  which is imported the first time such a model is met;
- anything else raises ``ValueError`` (the model cannot code shaped noise).

A :class:`ShapedChain` is everything both sides need for one image: the state's shape, the
per-step noise variances (strictly decreasing per coordinate), the progressive codec's
``ChainModel`` over the state, the step coder, the coordinates it codes per step (the stream
reader's bound), and the decoder's reconstruction. Encoder and decoder build it from the
model, the recipe in the file header and the image size alone.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rdptheory._validation import check_int
from rdptheory.codec import progressive
from rdptheory.diffusion import chain as _chain
from rdptheory.images import shaped_chain as _sc
from rdptheory.models.patch_gmm import PatchGMMImageModel
from rdptheory.models.prior import PatchGMM

__all__ = [
    "NOISES",
    "PatchDCTChain",
    "ShapedChain",
    "ShapedNoiseModel",
    "first_step_kl_floor_nats",
    "register_shaped",
    "shaped_chain_for",
]

#: The codec's noise choices (:class:`rdptheory.images.CodecConfig` ``noise``).
NOISES: tuple[str, ...] = ("isotropic", "shaped")


@runtime_checkable
class ShapedChain(Protocol):
    """One image's shaped chain, built identically by encoder and decoder.

    ``state_shape``: the chain state's shape; ``levels``: the noise variance of every step
    (each broadcasting to the state), top first, strictly decreasing per coordinate;
    ``water_levels``: the recipe's scalar water level θ = t² of each step (decreasing; the
    ``noise_var`` stop and the reports use it); ``model``: the progressive codec's
    :class:`~rdptheory.codec.progressive.ChainModel` over the state.
    """

    state_shape: tuple[int, ...]
    levels: list[Any]
    water_levels: np.ndarray
    model: progressive.ChainModel

    def to_state(self, x: np.ndarray) -> np.ndarray:
        """The code-space image ``(1, C, H, W)`` as a state."""
        ...

    def from_state(self, y: np.ndarray) -> np.ndarray:
        """A state as a code-space image ``(1, C, H', W')``, ``H' >= H``, ``W' >= W``."""
        ...

    def step_coder(self, *, seed: int, max_chunk_bits: float, padding: int = 2,
                   algorithm: str = "pfr", backend: str = "auto",
                   accept: Callable[[int, bytes], bool] | None = None) -> Any:
        """A progressive step coder with ``payload`` and ``kl_bits`` (one RCC step stream)."""
        ...

    def coded_dims(self) -> list[int]:
        """The number of coordinates the stream codes at each step (>= 1)."""
        ...

    def reconstruct(self, y: np.ndarray, n_steps: int, rho: float | np.ndarray,
                    ode_steps: int) -> np.ndarray:
        """The code-space reconstruction from the state after ``n_steps`` steps."""
        ...

    def per_direction_rho(self, rho: float, n_steps: int) -> np.ndarray:
        """Per-direction score scales with the Gaussian-predicted W₂² of one ``rho``."""
        ...


@runtime_checkable
class ShapedNoiseModel(Protocol):
    """An image model that builds its own shaped chain."""

    def shaped_chain(self, recipe: _sc.ShapingRecipe, height: int, width: int) -> ShapedChain:
        """The chain of a ``height × width`` image under ``recipe``."""
        ...


Factory = Callable[[Any, _sc.ShapingRecipe, int, int], ShapedChain]
_FACTORIES: dict[type, Factory] = {}


def register_shaped(cls: type, factory: Factory) -> None:
    """Let instances of ``cls`` (and its subclasses) code shaped noise through ``factory``.

    ``factory(model, recipe, height, width)`` returns the image's :class:`ShapedChain`. For
    model classes that cannot carry a ``shaped_chain`` method themselves (layering).
    """
    if not isinstance(cls, type):
        raise TypeError(f"cls must be a class, got {type(cls).__name__}")
    if not callable(factory):
        raise TypeError(f"factory must be callable, got {type(factory).__name__}")
    _FACTORIES[cls] = factory


def shaped_chain_for(model: Any, recipe: _sc.ShapingRecipe, height: int,
                     width: int) -> ShapedChain:
    """The shaped chain of a ``height × width`` image for ``model`` (module docstring).

    ``ValueError`` if the model cannot code shaped noise.
    """
    if not isinstance(recipe, _sc.ShapingRecipe):
        raise TypeError(f"recipe must be a ShapingRecipe, got {type(recipe).__name__}")
    height = check_int(height, "height", low=1)
    width = check_int(width, "width", low=1)
    if isinstance(model, ShapedNoiseModel):
        return model.shaped_chain(recipe, height, width)
    if type(model).__module__ == "rdptheory.models.shaped_unet":
        import rdptheory.images.shaped_net  # noqa: F401 (registers the shaped UNet's chain)
    for cls in type(model).__mro__:
        if cls in _FACTORIES:
            return _FACTORIES[cls](model, recipe, height, width)
    name = getattr(model, "name", type(model).__name__)
    raise ValueError(f"model {name} cannot code shaped noise (it has no shaped_chain method "
                     "and no registered shaped-noise adapter): use noise='isotropic' (CLI: "
                     "--noise isotropic) or a model that can, such as the tiled patch GMM "
                     "('patch-gmm')")


def first_step_kl_floor_nats(chain: ShapedChain) -> float:
    r"""A lower bound on the KL (nats) of the chain's first step whatever the image.

    Step 0 sends ``y ~ N(x, s²)`` against ``N(0, s² + v)`` per coordinate (``v`` the model's
    ``prior_var``), whose KL is at least its variance part:

    .. math:: \mathrm{KL}_0 \ge \sum_i \tfrac12\Big(\log\big(1 + \tfrac{v_i}{s_i^2}\big)
              - \frac{v_i}{s_i^2 + v_i}\Big)

    computed on the (small) broadcast shape of ``s²`` and ``v`` and scaled to the state's size
    (the levels and ``prior_var`` of a chain broadcast over its leading axes). Nothing of the
    state's size is allocated (a crafted header is checked with it before decoding).
    """
    s2 = np.asarray(chain.levels[0], dtype=np.float64)
    v = np.asarray(chain.model.prior_var, dtype=np.float64)
    s2, v = np.broadcast_arrays(s2, v)
    per = 0.5 * (np.log1p(v / s2) - v / (s2 + v))
    size = math.prod(chain.state_shape)
    return float(np.maximum(per, 0.0).sum()) * size / max(per.size, 1)


# ------------------------------------------------------------------------- the tiled GMM

_SHAPED_CACHE: dict[tuple[bytes, str], tuple[Any, np.ndarray]] = {}


def _shaped_prior(gmm: PatchGMM, basis: str) -> tuple[Any, np.ndarray]:
    """The prior in ``basis`` and its per-coefficient variances, once per prior and basis."""
    key = (hashlib.sha256(gmm.fingerprint()).digest(), basis)
    if key not in _SHAPED_CACHE:
        if len(_SHAPED_CACHE) >= 4:
            _SHAPED_CACHE.clear()
        _SHAPED_CACHE[key] = _sc.shaped_model(gmm, basis)
    return _SHAPED_CACHE[key]


def _block_dct(patch: int, channels: int) -> np.ndarray:
    """The orthonormal block DCT (d, d) of a ``patch × patch × channels`` tile."""
    from rdptheory.images.shaped import block_dct_basis

    return block_dct_basis(patch, channels)


def _water_levels(recipe: _sc.ShapingRecipe, variances: np.ndarray, n_steps: int) -> np.ndarray:
    """The water level θ = t² of each kept ladder row (:func:`~shaped_chain.ladder_snr`).

    ``ladder_snr`` drops the rows that send nothing new; for the "mse" and "perception"
    ladders these are the leading levels with θ >= max λ_i (nothing is live before the water
    level drops below the largest variance; after that every live SNR grows with 1/θ). The
    mapping is checked against the number of kept rows (``ValueError`` if it disagrees: a
    ladder whose later level sends nothing new, which this codec does not code).
    """
    t2 = _chain.noise_ladder(recipe.t_max, recipe.t_min, recipe.n_levels) ** 2
    dropped = int(np.sum(t2 >= variances.max())) if recipe.ladder != "isotropic" else 0
    if len(t2) - dropped != n_steps:
        raise ValueError(f"the {recipe.ladder} ladder ({recipe.t_max:g}..{recipe.t_min:g} in "
                         f"{recipe.n_levels} levels) repeats a level after its first live one "
                         f"({n_steps} of {len(t2)} kept, {len(t2) - dropped} expected): "
                         "choose another ladder")
    return t2[dropped:]


class PatchDCTChain:
    """The shaped chain of a patch model in the block DCT (:mod:`rdptheory.images.shaped_chain`).

    The code-space image (model space, ``(1, C, H, W)``) is padded at its bottom and right
    edges by edge replication to whole ``p × p`` tiles (the decoder crops), cut into patches
    (:func:`~rdptheory.images.shaped_chain.to_patches` order) and rotated into the block DCT
    (:func:`rdptheory.images.shaped.block_dct_basis`): the state is ``(N, d)`` (N tiles of the
    padded image, d = Cp²). Levels from :func:`~rdptheory.images.shaped_chain.ladder_snr` on
    the model's coefficient variances λ_i through
    :func:`~rdptheory.images.shaped_chain.chain_levels`; the step coder is
    :class:`~rdptheory.images.shaped_chain.SentStepCoder` (only the sent coefficients are
    RCC-coded) and the decoder :func:`~rdptheory.images.shaped_chain.decode_ode`.

    Any patch model plugs in with two objects over the padded image's state: ``chain_model``,
    the progressive codec's ``ChainModel`` (``denoise(y, t2)``, ``posterior_var``,
    ``prior_var``), and ``ode_model``, what ``decode_ode`` needs (``dim`` and
    ``posterior_scaled(w, snr) -> (mean, _)``). :meth:`for_gmm` builds the tiled GMM's (exact
    shaped posterior, :class:`~rdptheory.images.shaped_chain.ShapedChainModel`).

    Parameters
    ----------
    chain_model, ode_model : the model over the ``(N, d)`` state (above)
    variances : λ_i (d,) > 0, the model's per-coefficient variances (the ladder's spectrum)
    recipe : ShapingRecipe (basis "dct")
    height, width : the image size (pixels, >= 1)
    patch, channels : the tile (default 8×8, 3 channels)
    """

    def __init__(self, chain_model: progressive.ChainModel, ode_model: Any,
                 variances: np.ndarray, recipe: _sc.ShapingRecipe, height: int, width: int, *,
                 patch: int = 8, channels: int = 3) -> None:
        if not isinstance(recipe, _sc.ShapingRecipe):
            raise TypeError(f"recipe must be a ShapingRecipe, got {type(recipe).__name__}")
        if recipe.basis != "dct":
            raise ValueError(f"PatchDCTChain codes the block DCT, not basis {recipe.basis!r}")
        if not callable(getattr(chain_model, "denoise", None)):
            raise TypeError("chain_model must be a progressive ChainModel (denoise, "
                            f"posterior_var, prior_var), got {type(chain_model).__name__}")
        if not callable(getattr(ode_model, "posterior_scaled", None)):
            raise TypeError("ode_model must have posterior_scaled(w, snr) and dim, got "
                            f"{type(ode_model).__name__}")
        self.recipe = recipe
        self.height = check_int(height, "height", low=1)
        self.width = check_int(width, "width", low=1)
        self.patch = check_int(patch, "patch", low=1)
        self.channels = check_int(channels, "channels", low=1)
        self.basis = _block_dct(self.patch, self.channels)
        d = self.basis.shape[0]
        self.variances = np.asarray(variances, dtype=np.float64)
        if self.variances.shape != (d,) or int(ode_model.dim) != d:
            raise ValueError(f"variances and the model must have {d} coefficients, got "
                             f"{self.variances.shape} and {ode_model.dim}")
        p = self.patch
        self.padded = (-(-self.height // p) * p, -(-self.width // p) * p)
        n = (self.padded[0] // p) * (self.padded[1] // p)
        self.state_shape: tuple[int, ...] = (n, d)
        self.levels: list[Any] = _sc.chain_levels(_sc.ladder_snr(recipe, self.variances))
        self.water_levels = _water_levels(recipe, self.variances, len(self.levels))
        self.model: progressive.ChainModel = chain_model
        self.ode_model = ode_model

    @classmethod
    def for_gmm(cls, gmm: PatchGMM, recipe: _sc.ShapingRecipe, height: int,
                width: int) -> PatchDCTChain:
        """The tiled patch GMM's chain: exact shaped posterior (
        :class:`~rdptheory.images.shaped_chain.ShapedChainModel`), λ from the mixture's overall
        covariance."""
        if not isinstance(gmm, PatchGMM):
            raise TypeError(f"gmm must be a PatchGMM, got {type(gmm).__name__}")
        if not isinstance(recipe, _sc.ShapingRecipe):
            raise TypeError(f"recipe must be a ShapingRecipe, got {type(recipe).__name__}")
        prior, lam = _shaped_prior(gmm, recipe.basis)
        return cls(_sc.ShapedChainModel(prior), prior, lam, recipe, height, width,
                   patch=gmm.patch, channels=gmm.channels)

    def to_state(self, x: np.ndarray) -> np.ndarray:
        """Patches of the edge-padded image in the basis, ``(N, d)``."""
        a = np.asarray(x, dtype=np.float64)
        if a.shape != (1, self.channels, self.height, self.width):
            raise ValueError(f"x must have shape (1, {self.channels}, {self.height}, "
                             f"{self.width}), got {a.shape}")
        pad = ((0, 0), (0, self.padded[0] - self.height), (0, self.padded[1] - self.width))
        return _sc.to_patches(np.pad(a[0], pad, mode="edge"), self.patch) @ self.basis

    def from_state(self, y: np.ndarray) -> np.ndarray:
        """The padded image ``(1, C, H', W')`` of a state."""
        rows = np.asarray(y, dtype=np.float64) @ self.basis.T
        return _sc.from_patches(rows, self.channels, *self.padded, self.patch)[None]

    def step_coder(self, *, seed: int, max_chunk_bits: float, padding: int = 2,
                   algorithm: str = "pfr", backend: str = "auto",
                   accept: Callable[[int, bytes], bool] | None = None) -> _sc.SentStepCoder:
        """:class:`~rdptheory.images.shaped_chain.SentStepCoder` over this chain's levels."""
        return _sc.SentStepCoder(self.levels, self.state_shape[0], self.variances, seed=seed,
                                 max_chunk_bits=max_chunk_bits, padding=padding,
                                 algorithm=algorithm, backend=backend, accept=accept)

    def coded_dims(self) -> list[int]:
        """Sent coefficients (level below the dead level) times tiles, per step."""
        return [int((lv < 0.5 * _sc.T_DEAD2).sum()) * self.state_shape[0]
                for lv in self.levels]

    def _level(self, n_steps: int) -> np.ndarray:
        n = check_int(n_steps, "n_steps", low=1, high=len(self.levels))
        return self.levels[n - 1]

    def reconstruct(self, y: np.ndarray, n_steps: int, rho: float | np.ndarray,
                    ode_steps: int) -> np.ndarray:
        """:func:`~rdptheory.images.shaped_chain.decode_ode` at the step's levels, as an image."""
        xb = _sc.decode_ode(self.ode_model, y, self._level(n_steps), rho, steps=ode_steps)
        return self.from_state(xb)

    def per_direction_rho(self, rho: float, n_steps: int) -> np.ndarray:
        r"""ρ_i (d,) of the Gaussian codec's rule at the W₂² one ρ reaches (ρ in [1, 2]).

        On the model's coefficient variances λ_i and the step's levels t_i²: the target is
        the Gaussian-predicted W₂² of the single score scale,
        P = Σ_i λ_i (1 − c_i^{ρ−1})² (:func:`rdptheory.gaussian.score_scaled_point`), and
        ρ_i = :func:`rdptheory.gaussian.per_direction_rho` (P, λ, t²) meet it at the least
        Gaussian MSE (THEORY.md §3; ρ = 1 gives ρ_i = 1, ρ = 2 gives ρ_i = 2).
        """
        from rdptheory.gaussian import per_direction_rho, score_scaled_point

        value = float(rho)
        if not 1.0 <= value <= 2.0:
            raise ValueError(f"per-direction rho needs rho in [1, 2] (it spreads the W2² "
                             f"budget of one rho between 1 and 2), got {value:g}")
        t2 = self._level(n_steps)
        target = float(score_scaled_point(self.variances, t2, value).perception_value)
        return np.asarray(per_direction_rho(target, self.variances, t2),
                          dtype=np.float64).reshape(-1)


def _patch_gmm_chain(model: Any, recipe: _sc.ShapingRecipe, height: int,
                     width: int) -> PatchDCTChain:
    return PatchDCTChain.for_gmm(model.prior, recipe, height, width)


register_shaped(PatchGMMImageModel, _patch_gmm_chain)

