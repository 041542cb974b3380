"""The image codec: DiffC-style progressive RCC of a diffusion chain, decoded at any ρ.

Encoder [TSHM22, VL25]: map the image to the model's code space, then walk the noise ladder:
the progressive codec (:func:`rdptheory.codec.progressive.encode_chain`) run with the image
model's plug-in step (:class:`~rdptheory.codec.progressive.PlugInModel`). Step 0 sends
``y_0 ~ N(x, t_0²)`` against ``N(0, t_0² + 1)``, step ``i`` sends ``y_i ~ q(y_i | y_{i-1}, x)``
against the model's ``p(y_i | y_{i-1})``, each one RCC step on DiffC's layout in one RCC
stream (one Philox stream per step under one seed; the stream carries each step's chunk count
and indices: :class:`~rdptheory.codec.progressive.DiffCStepCoder`). It stops when the next
step would exceed the bit budget (``bpp``), when the ladder reaches ``noise_var``, or when one
chunk of the next step would carry more KL than one RCC chunk may hold
(:data:`rdptheory.rcc.MAX_CHUNK_BITS`; only a model far from the image reaches this).

Decoder: replay the chain from the indices and the seed (the proposals depend only on what was
already decoded), then integrate the score-scaled PF-ODE from the last level to 0 with the ρ
chosen *at decode time* [WBZ26] (:func:`rdptheory.diffusion.decode`). Any prefix of the steps
is a valid lower-rate stream (``max_steps``, :func:`truncate`).

Noise (:class:`CodecConfig` ``noise``): ``"isotropic"`` is the chain above, for every image
model; ``"shaped"`` (issue 15) sends noise whose covariance is diagonal in a fixed basis with
per-coefficient levels from a :class:`~rdptheory.images.shaped_chain.ShapingRecipe` (the
recipe is in the file header), for the models that can
(:func:`rdptheory.images.noise.shaped_chain_for`: today the tiled patch GMM). Both run
through the same progressive codec, step stream and container: the isotropic chain is a
:class:`_IsotropicChain`, the shaped one the model's
:class:`~rdptheory.images.noise.ShapedChain`. A shaped file decodes with one ρ or, as an
option, the per-direction ρ_i of the Gaussian codec's rule at the same predicted W₂²
(``per_direction``).

The rate is the whole file: header, side information, candidate indices, CRC.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from rdptheory import rcc
from rdptheory._limits import DEFAULT_MAX_PIXELS, MAX_RHO
from rdptheory._validation import (
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
    check_rho,
)
from rdptheory.codec import progressive
from rdptheory.data import from_model_space, to_model_space
from rdptheory.diffusion import chain as _chain
from rdptheory.images import _format
from rdptheory.images import noise as _noise
from rdptheory.images.shaped_chain import BASES, ShapingRecipe
from rdptheory.models import ImageModel, default_model

Algorithm = Literal["pfr", "orc"]
#: The ladder preset (:data:`rdptheory.images._format.LADDER_PRESETS`) of the isotropic
#: noise's defaults; shaped noise keeps preset 0 (its ladders are geometric).
ISOTROPIC_PRESET = 1
#: RCC candidate padding of the encoder (not in the file).
DEFAULT_PADDING = 2


@dataclass(frozen=True)
class CodecConfig:
    """Encoder settings (the ladder is written into the file; the rest shapes the RCC).

    t_max, t_min : noise std of the first and the last ladder level (model-space units).
    n_levels : ladder length L (steps the encoder may send), at most
        :data:`rdptheory.images._format.MAX_LEVELS`.

    Defaults (measured 2026-12-06, shipped UNet, china/flower 128², same last level
    t = 0.625): t_max = 10 in 37 levels (the per-level std ratio of the former 5 → 0.05 in 32)
    costs 5.6 % / 5.7 % fewer file bits than t_max = 5: step 0 codes y_0 ~ N(x, t_0²) against
    an i.i.d. proposal at ~|x|²/(2t_0²) bits (485-632 bits at t_0 = 5, 108-143 at 10), while the
    model's steps from 10 to 5 carry the same information for ~200 bits; 5 more model calls per
    encode and decode replay.
    max_chunk_bits, padding : RCC chunk KL budget B in (0, 24] bits and candidate padding in
        [0, 6] (THEORY.md §5); encoding costs ~ 2^(B + padding) candidate draws per coordinate
        and step.
    algorithm, backend : RCC selection algorithm ("pfr" or "orc") and kernel backend.
    noise : "isotropic" (``y = x + tN``, every image model) or "shaped" (issue 15: noise
        diagonal in ``basis`` with per-coefficient levels from ``ladder``; only models that can,
        :func:`rdptheory.images.noise.shaped_chain_for`). The shaped ladder's water levels
        θ = t² are the ladder ``t_max``, ``t_min``, ``n_levels`` above.
    ladder : shaped noise only (default "perception"): "mse" (reverse water-filling on the
        model's coefficient variances) or "perception" (the D(R, P)-optimal forward channel,
        :func:`rdptheory.images.shaped_chain.ladder_snr`).
    basis : shaped noise only (default "dct", the 8×8×3 block DCT).
    perception : shaped "perception" ladder only, the W₂² budget P >= 0 per patch (default 0).

    The defaults (fields left None) are the file format's ladder preset 1 for isotropic noise
    (25 asinh-spaced levels with knee 2, :func:`rdptheory.images._format.ladder_stds`;
    2026-12-07: 11 instead of 20 steps to the UNet's ~0.5 bpp level, +1.6 % BD-rate with the
    new default decoder, see :data:`rdptheory.images._format.LADDER_PRESETS`) and preset 0
    for shaped noise (37 geometric levels): a file on them names the preset in one byte
    instead of 13 bytes of ladder fields. ``t_max=10, t_min=0.05, n_levels=37`` is the former
    default (preset 0). knee : the ladder's shape (None: the preset's knee when t_max, t_min,
    n_levels and max_chunk_bits are those of a preset with a knee, else 0 = geometric; a
    knee above 0 only exists as a preset, and only for isotropic noise).
    padding : :data:`DEFAULT_PADDING` = 2. Padding 1 halves the RCC search but costs +9 %
    BD-rate on the UNet (china 128²: -0.2 to -0.45 dB at equal steps and bytes; the chain's
    samples drift from the target; ``benchmarks/results/image_codec_ladder_128.json``).

    The shaped-noise fields must be left at None for isotropic noise. The float fields are
    rounded to float32 on construction: the file stores them so, and the encoder must use
    exactly what the decoder will read.
    """

    t_max: float = None  # type: ignore[assignment]  # None: the noise's default preset
    t_min: float = None  # type: ignore[assignment]
    n_levels: int = None  # type: ignore[assignment]
    max_chunk_bits: float = None  # type: ignore[assignment]
    padding: int = DEFAULT_PADDING
    algorithm: Algorithm = "pfr"
    backend: str = "auto"
    noise: str = "isotropic"
    ladder: str | None = None
    basis: str | None = None
    perception: float | None = None
    knee: float | None = None

    def __post_init__(self) -> None:
        base = _format.LADDER_PRESETS[ISOTROPIC_PRESET if self.noise == "isotropic" else 0]
        for name in ("t_max", "t_min", "n_levels", "max_chunk_bits"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, getattr(base, name))
        for name in ("t_max", "t_min", "max_chunk_bits"):
            object.__setattr__(self, name, float(np.float32(getattr(self, name))))
        check_int(self.n_levels, "n_levels", low=2, high=_format.MAX_LEVELS)
        fields = _format.LadderPreset(self.t_max, self.t_min, self.n_levels, self.max_chunk_bits,
                                      0.0).stored()
        if self.knee is None:  # a preset's shape on that preset's fields, else geometric
            knee = next((p.knee for p in map(_format.LadderPreset.stored, _format.LADDER_PRESETS)
                         if (p.t_max, p.t_min, p.n_levels, p.max_chunk_bits) == (
                             fields.t_max, fields.t_min, fields.n_levels, fields.max_chunk_bits)),
                        0.0) if self.noise == "isotropic" else 0.0
        else:
            knee = float(np.float32(check_nonnegative(self.knee, "knee")))
            presets = [p.stored() for p in _format.LADDER_PRESETS if p.knee]
            if knee and (self.noise != "isotropic" or _format.LadderPreset(
                    fields.t_max, fields.t_min, fields.n_levels, fields.max_chunk_bits,
                    knee).stored() not in presets):
                raise ValueError(f"knee={knee:g} is a ladder preset's shape: only the isotropic "
                                 "noise on a preset's t_max, t_min, n_levels and max_chunk_bits "
                                 "may have one (other ladders are geometric, knee 0)")
        object.__setattr__(self, "knee", knee)
        _format.ladder_stds(self.t_max, self.t_min, self.n_levels, knee)  # validates the ladder
        if not 0.0 < self.max_chunk_bits <= 24.0:
            raise ValueError(f"max_chunk_bits must lie in (0, 24], got {self.max_chunk_bits}")
        check_int(self.padding, "padding", low=0, high=6)
        check_choice(self.algorithm, "algorithm", ("pfr", "orc"))
        check_choice(self.noise, "noise", _noise.NOISES)
        if self.noise == "isotropic":
            for name in ("ladder", "basis", "perception"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name} is a shaped-noise setting: with noise='isotropic' "
                                     f"leave it None (got {getattr(self, name)!r})")
            return
        ladder = "perception" if self.ladder is None else self.ladder
        check_choice(ladder, "ladder", SHAPED_LADDERS)
        basis = "dct" if self.basis is None else self.basis
        check_choice(basis, "basis", BASES)
        if ladder == "mse" and self.perception not in (None, 0.0):
            raise ValueError(f"the mse ladder has no perception budget, got perception="
                             f"{self.perception!r} (use ladder='perception')")
        recipe = ShapingRecipe(ladder, basis, self.t_max, self.t_min, self.n_levels,
                               0.0 if self.perception is None else self.perception)
        object.__setattr__(self, "ladder", ladder)
        object.__setattr__(self, "basis", basis)
        object.__setattr__(self, "perception", recipe.perception)

    @property
    def recipe(self) -> ShapingRecipe | None:
        """The shaping recipe (shaped noise) or None (isotropic noise)."""
        if self.noise == "isotropic":
            return None
        assert self.ladder is not None and self.basis is not None
        return ShapingRecipe(self.ladder, self.basis, self.t_max, self.t_min, self.n_levels,
                             float(self.perception or 0.0))


#: Ladders of shaped noise (the "isotropic" ladder is ``noise="isotropic"``).
SHAPED_LADDERS: tuple[str, ...] = ("mse", "perception")


DEFAULT_CONFIG = CodecConfig()


@dataclass(frozen=True)
class CompressResult:
    """A compressed image and the encoder's accounting.

    ``bpp`` is the file size in bits per pixel, ``kl_bits`` the KL of each step in bits,
    ``noise_var`` the last level sent (t², model space; for shaped noise the recipe's water
    level θ), ``state`` the chain's last sample (shape ``(1, *code_shape)``, for shaped noise
    the chain's state shape), which the decoder reproduces bit for bit.
    """

    data: bytes
    bpp: float
    n_steps: int
    noise_var: float
    kl_bits: tuple[float, ...]
    seconds: float
    state: np.ndarray


def _ladder(t_max: float, t_min: float, n_levels: int, knee: float = 0.0) -> np.ndarray:
    """The ladder as both sides see it: the f32 header values, then float64 maths
    (:func:`rdptheory.images._format.ladder_stds`)."""
    return _format.ladder_stds(float(np.float32(t_max)), float(np.float32(t_min)), n_levels,
                               float(np.float32(knee)))


def _fingerprint(model: ImageModel) -> bytes:
    return hashlib.sha256(model.fingerprint()).digest()[: _format.FINGERPRINT_BYTES]


def _shipped_model_hint(file_fingerprint: bytes) -> str:
    """``"; it was made with the shipped model 'SPEC' (...)"`` when a shipped model (that
    loads here) has the file's fingerprint, else ``""``. Only on the error path: it loads
    the shipped models (:data:`rdptheory.models.SHIPPED_SPECS`)."""
    from rdptheory.models import SHIPPED_SPECS, load_model

    for spec in SHIPPED_SPECS:
        try:
            if _fingerprint(load_model(spec)) == file_fingerprint:
                return (f"; it was made with the shipped model {spec!r} "
                        f"(load_model({spec!r}), CLI --model {spec})")
        except (ImportError, FileNotFoundError):  # that model's extras or weights are missing
            continue
    return ""


def _code_image(image: npt.ArrayLike, model: ImageModel) -> np.ndarray:
    u = np.asarray(image)
    if u.dtype != np.uint8 or u.ndim != 3 or u.shape[2] != 3:
        raise ValueError(f"image must be a uint8 array of shape (H, W, 3), got {u.dtype} "
                         f"{u.shape}")
    return np.asarray(model.to_code_space(to_model_space(u)[None]), dtype=np.float64)


class _IsotropicChain:
    """The isotropic chain ``y = x + tN`` of any image model, as a
    :class:`~rdptheory.images.noise.ShapedChain` (one scalar level per step): state = the
    code-space image, DiffC's plug-in step (:class:`~rdptheory.codec.progressive.PlugInModel`),
    :class:`~rdptheory.codec.progressive.DiffCStepCoder`, the score-scaled PF-ODE
    (:func:`rdptheory.diffusion.decode`, VP schedule) for the reconstruction."""

    def __init__(self, model: ImageModel, t_max: float, t_min: float, n_levels: int,
                 height: int, width: int, solver: str = "heun", knee: float = 0.0) -> None:
        self.image_model = model
        self.state_shape: tuple[int, ...] = (1, *model.code_shape(height, width))
        t = _ladder(t_max, t_min, n_levels, knee)
        self.water_levels = t**2
        self.levels: list[Any] = [float(v) for v in t**2]
        self.model: progressive.ChainModel = progressive.PlugInModel(model)
        self.solver = solver

    def to_state(self, x: np.ndarray) -> np.ndarray:
        return x

    def from_state(self, y: np.ndarray) -> np.ndarray:
        return y

    def step_coder(self, *, seed: int, max_chunk_bits: float, padding: int = 2,
                   algorithm: str = "pfr", backend: str = "auto",
                   accept: Callable[[int, bytes], bool] | None = None,
                   ) -> progressive.DiffCStepCoder:
        return progressive.DiffCStepCoder(seed=seed, max_chunk_bits=max_chunk_bits,
                                          padding=padding, algorithm=algorithm,
                                          backend=backend, accept=accept)

    def coded_dims(self) -> list[int]:
        return [math.prod(self.state_shape)] * len(self.levels)

    def reconstruct(self, y: np.ndarray, n_steps: int, rho: float | np.ndarray,
                    ode_steps: int) -> np.ndarray:
        from rdptheory.diffusion import decode

        return np.asarray(decode(self.image_model, y, self.levels[n_steps - 1], rho,
                                 schedule="vp", solver=self.solver,  # type: ignore[arg-type]
                                 steps=ode_steps), dtype=np.float64)

    def per_direction_rho(self, rho: float, n_steps: int) -> np.ndarray:
        raise ValueError("per-direction rho applies to shaped-noise files; this file codes "
                         "isotropic noise (one level for every coordinate)")


def _chain_of(model: ImageModel, h: _format.StreamHeader, solver: str = "heun",
              ) -> _IsotropicChain | _noise.ShapedChain:
    """The chain a header describes, as both sides build it (no image-sized allocation)."""
    if not h.shaped:
        return _IsotropicChain(model, h.t_max, h.t_min, h.n_levels, h.height, h.width, solver,
                               h.knee)
    recipe = ShapingRecipe(h.ladder, h.basis, h.t_max, h.t_min, h.n_levels, h.perception)
    return _noise.shaped_chain_for(model, recipe, h.height, h.width)


def compress_with_report(image: npt.ArrayLike, *, model: ImageModel | None = None,
                         bpp: float | None = None, noise_var: float | None = None,
                         seed: int = 0, config: CodecConfig = CodecConfig()) -> CompressResult:
    """Compress an 8-bit RGB image; stop at ``bpp`` (bits per pixel) or at ``noise_var``.

    Parameters
    ----------
    image : uint8 array (H, W, 3).
    model : ImageModel (default: :func:`rdptheory.models.default_model`).
    bpp : target rate in bits per pixel of the image (whole file); or
    noise_var : the last noise variance t² to reach (model space; for shaped noise the
        recipe's water level θ); exactly one of the two.
    seed : int in [0, 2**63), the shared seed (written into the file).
    config : CodecConfig (``noise="shaped"`` needs a model that can code shaped noise,
        :func:`rdptheory.images.noise.shaped_chain_for`; ``ValueError`` otherwise).

    Returns
    -------
    CompressResult (``data`` is the file; ``bpp = 8·len(data)/(H·W)``). Step 0 is always
    sent, so a ``bpp`` below its cost (the ~26-byte container and header of a default file plus
    step 0) is exceeded.
    """
    import time

    model = default_model() if model is None else _check_model(model)
    if not isinstance(config, CodecConfig):
        raise TypeError(f"config must be a CodecConfig, got {type(config).__name__}")
    x = _code_image(image, model)
    h, w = np.shape(image)[:2]
    budget = _budget_bits(bpp, noise_var, h * w)
    seed = check_int(seed, "seed", low=0, high=2**63 - 1)
    recipe = config.recipe
    header = _format.StreamHeader(
        _fingerprint(model), h, w, 0, seed, config.t_max, config.t_min, config.n_levels, 0,
        config.max_chunk_bits, "isotropic" if recipe is None else recipe.ladder,
        "none" if recipe is None else recipe.basis, 0.0 if recipe is None else recipe.perception,
        float(config.knee or 0.0))
    chain = _chain_of(model, header)
    header = _format.StreamHeader(**{**header.__dict__,
                                     "code_dims": math.prod(chain.state_shape)})
    last = (len(chain.levels) - 1 if noise_var is None
            else int(np.sum(chain.water_levels >= noise_var)) - 1)
    if last < 0:
        raise ValueError(f"noise_var={noise_var} is above the ladder's first level "
                         f"{chain.water_levels[0]:.4g}")
    start = time.perf_counter()
    coder, sent = _encode_steps(chain.to_state(x), chain, last + 1, header, budget, config)
    n = len(sent.symbols)
    data = _pack_payload(header, n, coder.payload)
    return CompressResult(data, 8 * len(data) / (h * w), n, float(chain.water_levels[n - 1]),
                          tuple(coder.kl_bits), time.perf_counter() - start, sent.states[-1])


def _encode_steps(x: np.ndarray, chain: _IsotropicChain | _noise.ShapedChain, n_levels: int,
                  header: _format.StreamHeader, budget: float, config: CodecConfig,
                  ) -> tuple[Any, progressive.ChainResult]:
    """The chain down its first ``n_levels`` levels (step 0 always), coded into one RCC step
    stream: the coder (its payload and step KLs) and the chain (the indices and the encoder's
    states).

    The file grows one step at a time: each step is appended to a copy of the accepted stream
    and the copy's exact packed size is checked against the budget
    (:class:`~rdptheory.codec.progressive.DiffCStepCoder`'s ``accept``), so the cost is linear
    in the number of steps; the bytes are those of coding all accepted steps at once.
    """
    def fits(n_steps: int, payload: bytes) -> bool:
        return 8 * len(_pack_payload(header, n_steps, payload)) <= budget

    coder = chain.step_coder(seed=header.seed, max_chunk_bits=config.max_chunk_bits,
                             padding=config.padding, algorithm=config.algorithm,
                             backend=config.backend, accept=fits)
    sender: Any = coder
    if isinstance(chain, _IsotropicChain) and math.isfinite(budget):
        sender = _SkipHopelessSteps(coder, lambda k: 8 * len(_pack_payload(
            header, k, coder.payload)), budget)
    sent = progressive.encode_chain(x, chain.model, chain.levels[:n_levels], sender)
    return coder, sent


#: A step is not coded when a lower bound of its index bits, the larger of
#: ``HOPELESS_KL_SHARE·KL`` and ``KL − HOPELESS_SPREAD·√KL``, less ``HOPELESS_SLACK_BITS``,
#: already exceeds what is left of the bit budget (:func:`_is_hopeless`).
HOPELESS_KL_SHARE, HOPELESS_SPREAD, HOPELESS_SLACK_BITS = 0.8, 8.0, 64.0


def _is_hopeless(kl_bits: float, left_bits: float) -> bool:
    """Whether a step of KL ``kl_bits`` cannot fit in the ``left_bits`` left of the budget.

    .. math::

        \\max\\big(s\\,\\mathrm{KL},\\ \\mathrm{KL} - c\\sqrt{\\mathrm{KL}}\\big) - b
        > \\text{left}, \\qquad s = 0.8,\\ c = 8,\\ b = 64.

    A step's index bits are its KL plus a positive overhead on average, with a spread of ~1-2
    bits per chunk (so ~0.7·√KL bits at ~8 bits per chunk); the √KL term is ~11 of those
    spreads, and the share rule covers small steps. Measured 2026-12-07 over 336 steps of the
    UNet and gmm-shift (china, flower, astronaut, coffee at 64² and 128²): step bits − KL
    ≥ −25 bits (≥ −7 for KL ≥ 1000 bits, mean +277), ≥ −3.1·√KL, and ≥ 0.8·KL − 12. Our
    heuristic, not part of the format.
    """
    spread = HOPELESS_SPREAD * math.sqrt(max(kl_bits, 0.0))
    lower = max(HOPELESS_KL_SHARE * kl_bits, kl_bits - spread)
    return lower - HOPELESS_SLACK_BITS > left_bits


class _SkipHopelessSteps:
    """A step coder that stops the chain *before* the RCC search of a step that cannot fit.

    The budget check of :class:`~rdptheory.codec.progressive.DiffCStepCoder` runs after the
    step is coded (the exact bytes); the step that ends the chain is searched for nothing
    (one RCC step of the encode, ~1/11 of it at 256² and 0.5 bpp). Its index bits are about
    its KL (Σ over chunks of the index code lengths, each ≈ the chunk's KL plus a little,
    spread ~1-2 bits per chunk), so a step whose lower bound of :func:`_is_hopeless` exceeds
    the budget left is stopped without searching (its indices would need to be many standard
    deviations below their KL). The encoder's stop rule is not part of the format: the
    decoder reads whatever steps the file holds.
    """

    def __init__(self, coder: Any, file_bits: Callable[[int], int], budget: float) -> None:
        self.coder, self.file_bits, self.budget = coder, file_bits, budget

    def encode(self, step: progressive.ChainStep) -> tuple[Any, np.ndarray]:
        if step.k > 0:
            assert step.mu_q is not None
            sq = np.asarray(step.sigma_q, dtype=np.float64)
            sp = np.asarray(step.sigma_p, dtype=np.float64)
            kl_nats = np.sum(np.log(sp / sq) + (sq**2 + (step.mu_q - step.mu_p) ** 2)
                             / (2 * sp**2) - 0.5)
            left = self.budget - self.file_bits(step.k)
            if _is_hopeless(float(kl_nats) / math.log(2), left):
                raise progressive.StopChain
        return self.coder.encode(step)

    def decode(self, symbol: Any, step: progressive.ChainStep) -> np.ndarray:
        return self.coder.decode(symbol, step)


def _budget_bits(bpp: float | None, noise_var: float | None, pixels: int) -> float:
    if (bpp is None) == (noise_var is None):
        raise ValueError("give exactly one of bpp (target rate) and noise_var (target level)")
    if bpp is not None:
        return float(check_positive(bpp, "bpp")) * pixels
    check_positive(noise_var, "noise_var")
    return float("inf")


def _pack_payload(header: _format.StreamHeader, n_steps: int, payload: bytes) -> bytes:
    """The file holding ``n_steps`` coded steps (``payload``) under ``header``."""
    h = _format.StreamHeader(**{**header.__dict__, "n_steps": n_steps})
    return _format.pack_stream(_format.ImageStream(h, payload))


def compress(image: npt.ArrayLike, *, model: ImageModel | None = None,
             bpp: float | None = None, noise_var: float | None = None, seed: int = 0,
             config: CodecConfig = CodecConfig()) -> bytes:
    """Compress an 8-bit RGB image to bytes (see :func:`compress_with_report`)."""
    return compress_with_report(image, model=model, bpp=bpp, noise_var=noise_var, seed=seed,
                                config=config).data


def _check_model(model: Any) -> ImageModel:
    if not isinstance(model, ImageModel):
        raise TypeError("model must be an ImageModel (denoise, score, to_code_space, "
                        f"from_code_space, code_shape, fingerprint, name), got {type(model)}")
    return model


def _replay(stream: _format.ImageStream, model: ImageModel, n_steps: int, backend: str,
            chain: _IsotropicChain | _noise.ShapedChain | None = None) -> np.ndarray:
    """The decoder's chain: the state at step ``n_steps − 1`` from the first steps
    (:func:`~rdptheory.codec.progressive.decode_chain` with the file's chain)."""
    h = stream.header
    chain = _chain_of(model, h) if chain is None else chain
    _check_state(h, chain)
    coder = chain.step_coder(seed=h.seed, max_chunk_bits=h.max_chunk_bits, backend=backend)
    return progressive.decode_chain(_read_symbols(stream, n_steps, chain.coded_dims()),
                                    chain.model, chain.levels, coder, chain.state_shape)


def _read_symbols(stream: _format.ImageStream, n_steps: int,
                  dims: int | list[int] | None = None) -> list[np.ndarray]:
    """Candidate indices of the first steps; ``ValueError`` if they do not parse.

    ``dims``: the coded coordinates per step (default the header's code dimension, an
    upper bound for every chain: enough to re-pack a prefix without the model)."""
    h = stream.header
    try:
        return rcc.read_steps(stream.payload, n_steps, h.code_dims if dims is None else dims,
                              h.max_chunk_bits)
    except ValueError as exc:
        raise ValueError(f"corrupted image stream: {exc}") from exc


def _check_state(h: _format.StreamHeader, chain: _IsotropicChain | _noise.ShapedChain) -> None:
    """The chain's state size (from the model and the image size) must match the file's."""
    size = math.prod(chain.state_shape)
    if size != h.code_dims:
        raise ValueError(f"corrupted image stream: {h.code_dims} code dimensions, the model "
                         f"expects {size} for a {h.height}x{h.width} image")
    if len(chain.levels) < h.n_steps:
        raise ValueError(f"corrupted image stream: {h.n_steps} steps, the chain of this "
                         f"recipe has {len(chain.levels)} levels")


#: Largest code-space dimension per image pixel a file may declare (RGB pixel space: 3).
MAX_CODE_VALUES_PER_PIXEL = 16
#: Padding (pixels) a shaped file's state may add to each image side (whole tiles).
MAX_TILE_PAD = 16


def _check_sizes(stream: _format.ImageStream, max_pixels: object,
                 chain: _IsotropicChain | _noise.ShapedChain | None = None) -> None:
    r"""``ValueError`` unless the header's sizes are below the limits and plausible for the
    payload, checked before anything is allocated.

    The image must have at most ``max_pixels`` pixels. Step 0 sends y_0 ~ N(x, s²) against
    N(0, s² + v) per coordinate (isotropic: s² = t_0², v = PRIOR_DATA_VAR), whose KL is at
    least its variance part whatever x is:

    .. math:: \mathrm{KL}_0 \ge \sum_i \frac12\Big(\log\big(1 + \tfrac{v_i}{s_i^2}\big)
              - \frac{v_i}{s_i^2 + v_i}\Big)\ \text{nats}

    so step 0 has at least ⌈(KL_0 − 1)/B⌉ chunks (capped at its coded dimension), each
    costing at least ``rcc.stream.min_chunk_bits(B)`` of payload (our own bound). A crafted
    header declaring a large image over a small payload fails this before the decoder
    allocates the image. An isotropic file is checked from its header alone; a shaped one
    needs its ``chain`` (the model's per-coefficient levels and variances,
    :func:`rdptheory.images.noise.first_step_kl_floor_nats`), without which only the limits
    and the per-step minimum are checked (enough to re-pack a prefix: the stream reader
    bounds its work by the payload's size). What is left: a header with a high first level
    passes (the bound falls like d (v/t_0²)²/4: at the default t_0 = 10 a 2000×2000 claim over a
    40-byte payload passes, at t_0 = 5 it is refused) and then costs what an honest image of
    that size costs, so ``max_pixels`` caps the work; a shaped file's first live level is
    below the largest coefficient variance, which keeps its bound strong.
    """
    h = stream.header
    max_pixels = check_int(max_pixels, "max_pixels", low=1)
    pixels = h.height * h.width
    if pixels > max_pixels:
        raise ValueError(f"the file declares a {h.height}x{h.width} image ({pixels} pixels), "
                         f"more than max_pixels = {max_pixels}; pass a larger max_pixels "
                         "(CLI: --max-pixels) only for a file you trust")
    padded = (h.height + MAX_TILE_PAD) * (h.width + MAX_TILE_PAD) if h.shaped else pixels
    if h.code_dims > MAX_CODE_VALUES_PER_PIXEL * padded:
        raise ValueError(f"corrupted image stream: {h.code_dims} code dimensions for "
                         f"{pixels} pixels")
    chunks = 1
    if not h.shaped:  # from the header alone: s² = t_0², v = PRIOR_DATA_VAR everywhere
        t0_sq = float(_ladder(h.t_max, h.t_min, h.n_levels, h.knee)[0]) ** 2
        v = _chain.PRIOR_DATA_VAR
        kl0_nats = 0.5 * h.code_dims * max(np.log1p(v / t0_sq) - v / (t0_sq + v), 0.0)
        chunks = _min_chunks(kl0_nats, h.max_chunk_bits, h.code_dims)
    elif chain is not None:
        _check_state(h, chain)
        chunks = _min_chunks(_noise.first_step_kl_floor_nats(chain), h.max_chunk_bits,
                             chain.coded_dims()[0])
    need = (chunks * rcc.stream.min_chunk_bits(h.max_chunk_bits)
            + h.n_steps * rcc.stream.MIN_STEP_BITS)
    have = rcc.stream.payload_budget_bits(len(stream.payload))
    if need > have:
        raise ValueError(f"corrupted image stream: a {h.height}x{h.width} image on this ladder "
                         f"needs at least {math.ceil(need / 8)} payload bytes, the file has "
                         f"{len(stream.payload)}")


def _min_chunks(kl0_nats: float, max_chunk_bits: float, dims: int) -> int:
    """The fewest chunks a first step of at least ``kl0_nats`` can have (1 bit of slack)."""
    kl0_q = min(kl0_nats / np.log(2.0) * (1.0 - 1e-6) - 1.0, float(rcc.MAX_STEP_KL))
    return min(max(math.ceil(kl0_q / max_chunk_bits), 1), dims)


#: Decode-time estimators: the score-scaled PF-ODE at a chosen ρ, or the model's posterior
#: mean at the file's last level.
ESTIMATORS: tuple[str, ...] = ("ode", "posterior-mean")


def decompress(data: bytes, *, model: ImageModel | None = None, rho: float | None = None,
               max_steps: int | None = None, ode_steps: int | None = None,
               solver: str | None = None,
               per_direction: bool = False, backend: str = "auto",
               max_pixels: int = DEFAULT_MAX_PIXELS, estimator: str = "ode",
               reconstruction_model: ImageModel | None = None) -> np.ndarray:
    """Decode a file to an 8-bit RGB image, with the score scale ρ chosen now [WBZ26].

    .. math:: dX = [f - \\tfrac12 ρ g^2 ∇\\log p_t(X)]\\,dt \\quad\\text{from } t_n^2
              \\text{ to } 0

    or, with ``estimator="posterior-mean"``, the model's estimate of the posterior mean of the
    image given the chain's last state (one model call after the replay):

    .. math:: \\hat x = E[X \\mid Y_{t_n} = y_n]

    For a Gaussian source the ρ = 2 ODE reaches this same point (THEORY.md §3); for any other
    model it does not (the ODE transports the state along the ρ-scaled flow, the posterior
    mean averages over it), so the two are separate decodes. The estimate is the chain model's
    ``denoise`` at the last level (:class:`~rdptheory.codec.progressive.ChainModel`): for an
    isotropic file the image model's denoiser ``E[X | X + t_n N]`` (exact for the tiled patch
    GMM, a trained approximation for a network); for a shaped file the shaped chain's own
    posterior mean at its per-coefficient levels (exact for the tiled patch GMM). For a latent
    model it is the latent posterior mean, decoded.

    The chain's state ``y_n ~ q(y_n | x)`` is fixed by the file and its model (the replay);
    the reconstruction from it is the decoder's choice, like ρ. With ``reconstruction_model``
    the chain is replayed with the file's ``model`` and the ODE (or the posterior mean) runs
    with the other model's score (or denoiser): any model of the same code space estimates
    ``x`` from ``y_n``, since ``q(y_n | x) = N(x, t_n² I)`` does not depend on the model. A
    model with a lower chain rate can so be paired with a stronger (slower) denoiser
    (``benchmarks/image_vs_classical.py --reconstruct-with``).

    Parameters
    ----------
    data : bytes from :func:`compress`.
    model : the ImageModel the file was made with (checked by fingerprint).
    reconstruction_model : ImageModel or None (default: ``model``): the model whose score
        (ODE) or denoiser (posterior mean) reconstructs the image from the replayed state.
        Isotropic files only; it must share ``model``'s code space (the same code shape for
        the file's image size and the same ``to_code_space`` of a fixed probe image);
        ``ValueError`` otherwise. The decoded bytes with None are unchanged.
    rho : float in [0, :data:`rdptheory._limits.MAX_RHO`] (= 10); 1 = probability-flow ODE,
        2 = the MMSE-end drift (THEORY.md §3). Default 1 for the ODE; must be left None with
        ``estimator="posterior-mean"``.
    estimator : "ode" (default: the score-scaled PF-ODE at ``rho``) or "posterior-mean" (the
        model's posterior mean at the last level; ``rho``, ``ode_steps`` and ``per_direction``
        do not apply and must be left at their defaults).
    max_steps : decode only the first ``max_steps`` steps (a lower-rate prefix); default all.
    ode_steps, solver : the PF-ODE grid (1..10000 steps) and integrator: for isotropic files
        the VP-schedule grid and any :func:`rdptheory.diffusion.decode` solver ("heun",
        "euler", "exp1", "exp2", ...; default None = :data:`ISOTROPIC_ODE_STEPS` steps of
        :data:`ISOTROPIC_SOLVER`); shaped
        files integrate along their own noise path with the exponential Heun rule of
        :func:`rdptheory.images.shaped_chain.decode_ode` (``solver`` must be "heun"; default
        :data:`SHAPED_ODE_STEPS` steps).
    per_direction : shaped files only: decode with per-direction ρ_i (the Gaussian codec's
        rule at the W₂² that ``rho`` reaches, ``rho`` in [1, 2];
        :meth:`rdptheory.images.noise.PatchDCTChain.per_direction_rho`) instead of one ρ.
    backend : RCC kernel backend (any backend decodes any other's stream).
    max_pixels : largest image (H·W) to decode (default
        :data:`rdptheory._limits.DEFAULT_MAX_PIXELS`, 16 Mpx).

    Returns
    -------
    uint8 array (H, W, 3).

    Raises
    ------
    ValueError for anything wrong with ``data`` (damaged, crafted, too large for
    ``max_pixels``, implausible sizes for its payload) before anything large is allocated,
    for a shaped file and a model that cannot code shaped noise, and if the reconstruction is
    not finite; TypeError if ``data`` is not bytes.
    """
    model = default_model() if model is None else _check_model(model)
    estimator = _check_estimator(estimator, rho, ode_steps, per_direction, solver)
    rho = _check_decode_rho(1.0 if rho is None else rho)
    if ode_steps is not None:
        ode_steps = check_int(ode_steps, "ode_steps", low=1, high=MAX_ODE_STEPS)
    if not isinstance(per_direction, bool):
        raise TypeError(f"per_direction must be a bool, got {type(per_direction).__name__}")
    if solver is not None and not isinstance(solver, str):
        raise TypeError(f"solver must be a string or None, got {type(solver).__name__}")
    stream = _format.unpack_stream(data)
    h = stream.header
    if h.fingerprint != _fingerprint(model):
        raise ValueError(f"this file was made with another model (fingerprint "
                         f"{h.fingerprint.hex()}, model {model.name} has "
                         f"{_fingerprint(model).hex()}){_shipped_model_hint(h.fingerprint)}")
    if h.shaped and solver not in (None, "heun"):
        raise ValueError(f"solver={solver!r} applies to isotropic files; shaped files decode "
                         "with their exponential Heun rule (solver='heun')")
    _check_sizes(stream, max_pixels)
    if solver is None:
        solver = "heun" if h.shaped else ISOTROPIC_SOLVER
    if ode_steps is None:
        ode_steps = SHAPED_ODE_STEPS if h.shaped else ISOTROPIC_ODE_STEPS
    chain = _chain_of(model, h, solver)
    _check_sizes(stream, max_pixels, chain)
    _check_state(h, chain)
    out_model, out_chain = model, chain
    if reconstruction_model is not None:
        out_model = _check_reconstruction_model(reconstruction_model, model, h)
        out_chain = _chain_of(out_model, h, solver)
    n = h.n_steps if max_steps is None else check_int(max_steps, "max_steps", low=1,
                                                      high=h.n_steps)
    scale: float | np.ndarray = chain.per_direction_rho(rho, n) if per_direction else rho
    try:
        y = _replay(stream, model, n, backend, chain)
        if estimator == "posterior-mean":
            x_hat = posterior_mean(out_chain, y, n)
        else:
            x_hat = out_chain.reconstruct(y, n, scale, ode_steps)
        image = np.asarray(out_model.from_code_space(x_hat), dtype=np.float64)[0]
    except MemoryError as exc:
        raise ValueError(f"not enough memory to decode a {h.height}x{h.width} image: lower "
                         "max_pixels (CLI: --max-pixels) to refuse such files up front") from exc
    if not np.isfinite(image).all():
        if estimator == "posterior-mean":
            raise ValueError("the decoded image (the model's posterior mean) is not finite")
        raise ValueError(f"the decoded image is not finite (rho = {rho:g}, {ode_steps} ODE "
                         "steps): use a smaller rho or more ode_steps")
    return from_model_space(image[:, : h.height, : h.width])  # padded states decode padded


#: Largest PF-ODE grid the decoder accepts.
MAX_ODE_STEPS = 10_000
#: Default PF-ODE solver and steps of isotropic files: the exponential 2nd-order rule, 4 steps
#: on the VP grid (4 model calls, 2026-12-07). Before: Heun 8 (15 calls; the measurement
#: of 2026-12-06, ``benchmarks/image_codec.py --solver-study``, china/flower 128², ρ = 1,
#: within 0.06 dB of Heun 24 at the same patch Fréchet distance). Exp2 4 against Heun 8 on the
#: same files (china+flower mean): PSNR UNet -0.02/+0.07 dB at 0.25/0.5 bpp, gmm-shift
#: +0.28/+0.24 dB; but the pooled patch Fréchet distance (8×8, ρ = 1) is 1.29/1.25× Heun 8's
#: for the UNet (0.0063/0.0035 vs 0.0049/0.0028) and 1.41/1.26× for gmm-shift
#: (``benchmarks/results/image_decoder_solvers.json``): it trades some realism at ρ = 1 for
#: 11 fewer model calls per decode (the issue's 10 s decode at 256² needs it).
#: ``solver="heun", ode_steps=8`` restores the old decode of any file.
ISOTROPIC_SOLVER = "exp2"
ISOTROPIC_ODE_STEPS = 4
#: Default steps of the shaped decoder (:func:`rdptheory.images.shaped_chain.decode_ode`'s own
#: default; ``benchmarks/shaped_codec.py`` measures with it).
SHAPED_ODE_STEPS = 24


#: The probe image (model space, (1, 3, 16, 16)) whose code two models must agree on for one
#: to reconstruct the other's chain: a fixed smooth pattern in (-1, 1).
_CODE_PROBE = 0.9 * np.sin(0.37 * np.arange(3 * 16 * 16, dtype=np.float64)).reshape(1, 3, 16, 16)


def _check_reconstruction_model(recon: object, model: ImageModel,
                                h: _format.StreamHeader) -> ImageModel:
    """``recon`` as an ImageModel that can reconstruct ``model``'s chain of the file ``h``
    (:func:`decompress`'s ``reconstruction_model``): an isotropic file, the same code shape
    for the file's image size and the same code (to 1e-6) of :data:`_CODE_PROBE`."""
    recon = _check_model(recon)
    if h.shaped:
        raise ValueError("reconstruction_model applies to isotropic files: a shaped file's "
                         "per-coefficient levels depend on the file's model (decode it with "
                         "reconstruction_model=None)")
    ours = tuple(model.code_shape(h.height, h.width))
    theirs = tuple(recon.code_shape(h.height, h.width))
    if ours != theirs:
        raise ValueError(f"reconstruction_model {recon.name} has code shape {theirs} for a "
                         f"{h.height}x{h.width} image, the file's model {model.name} {ours}: "
                         "it must share the file model's code space")
    a = np.asarray(model.to_code_space(_CODE_PROBE), dtype=np.float64)
    b = np.asarray(recon.to_code_space(_CODE_PROBE), dtype=np.float64)
    if a.shape != b.shape or not np.allclose(a, b, rtol=0.0, atol=1e-6):
        raise ValueError(f"reconstruction_model {recon.name} maps images to another code space "
                         f"than the file's model {model.name} (a probe image's codes differ): "
                         "it must share the file model's code space")
    return recon


def posterior_mean(chain: _IsotropicChain | _noise.ShapedChain, y: np.ndarray,
                   n_steps: int) -> np.ndarray:
    """The chain model's posterior mean ``E[X | Y = y]`` at the level of step ``n_steps``, as a
    code-space image (``(1, C, H', W')``): one ``denoise`` call on the state, then
    ``from_state``."""
    level = chain.levels[check_int(n_steps, "n_steps", low=1, high=len(chain.levels)) - 1]
    mean = np.asarray(chain.model.denoise(np.asarray(y), level), dtype=np.float64)
    if mean.shape != tuple(chain.state_shape):
        raise ValueError(f"the model's denoiser returned shape {mean.shape}, the chain's state "
                         f"is {tuple(chain.state_shape)}")
    return np.asarray(chain.from_state(mean), dtype=np.float64)


def _check_estimator(estimator: object, rho: object, ode_steps: object, per_direction: object,
                     solver: object) -> str:
    """``estimator`` as one of :data:`ESTIMATORS`; the ODE-only options refused with the
    posterior mean (it has no ρ, grid or integrator)."""
    if not isinstance(estimator, str):
        raise TypeError(f"estimator must be a string, got {type(estimator).__name__}")
    check_choice(estimator, "estimator", ESTIMATORS)
    if estimator == "posterior-mean":
        given = [name for name, value, default in (("rho", rho, None),
                                                    ("ode_steps", ode_steps, None),
                                                    ("per_direction", per_direction, False),
                                                    ("solver", solver, None))
                 if value is not default and value != default]
        if given:
            raise ValueError(f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to "
                             "the ODE decoder, not estimator='posterior-mean' (leave "
                             f"{'it' if len(given) == 1 else 'them'} at the default)")
    return estimator


def _check_decode_rho(rho: object) -> float:
    """ρ as a float in [0, MAX_RHO] (ValueError/TypeError otherwise)."""
    value = float(check_rho(rho))
    if value > MAX_RHO:
        raise ValueError(f"rho must lie in [0, {MAX_RHO:g}], got {value:g}")
    return value


def truncate(data: bytes, n_steps: int, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> bytes:
    """A valid file holding only the first ``n_steps`` steps of ``data`` (a lower rate).

    ``ValueError`` for a damaged or implausible file, or one whose image exceeds
    ``max_pixels`` (as :func:`decompress`); no model is needed, for either noise (the step
    stream is re-packed; each step's chunk count is bounded by the header's code dimension).
    """
    stream = _format.unpack_stream(data)
    _check_sizes(stream, max_pixels)
    n = check_int(n_steps, "n_steps", low=1, high=stream.header.n_steps)
    h = _format.StreamHeader(**{**stream.header.__dict__, "n_steps": n})
    payload = rcc.write_steps(_read_symbols(stream, n), h.max_chunk_bits)
    return _format.pack_stream(_format.ImageStream(h, payload))
