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

The rate is the whole file: header, side information, candidate indices, CRC.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from rdptheory import rcc
from rdptheory._limits import DEFAULT_MAX_PIXELS, MAX_RHO
from rdptheory._validation import check_choice, check_int, check_positive, check_rho
from rdptheory.codec import progressive
from rdptheory.data import from_model_space, to_model_space
from rdptheory.diffusion import chain as _chain
from rdptheory.images import _format
from rdptheory.models import ImageModel, default_model

Algorithm = Literal["pfr", "orc"]


@dataclass(frozen=True)
class CodecConfig:
    """Encoder settings (the ladder is written into the file; the rest shapes the RCC).

    t_max, t_min : noise std of the first and the last ladder level (model-space units).
    n_levels : ladder length L (steps the encoder may send).
    max_chunk_bits, padding : RCC chunk KL budget B in (0, 24] bits and candidate padding in
        [0, 6] (THEORY.md §5); encoding costs ~ 2^(B + padding) candidate draws per coordinate
        and step.
    algorithm, backend : RCC selection algorithm ("pfr" or "orc") and kernel backend.

    The float fields are rounded to float32 on construction: the file stores them so, and the
    encoder must use exactly what the decoder will read.
    """

    t_max: float = 5.0
    t_min: float = 0.05
    n_levels: int = 32
    max_chunk_bits: float = 8.0
    padding: int = 2
    algorithm: Algorithm = "pfr"
    backend: str = "auto"

    def __post_init__(self) -> None:
        for name in ("t_max", "t_min", "max_chunk_bits"):
            object.__setattr__(self, name, float(np.float32(getattr(self, name))))
        _chain.noise_ladder(self.t_max, self.t_min, self.n_levels)  # validates the ladder
        if not 0.0 < self.max_chunk_bits <= 24.0:
            raise ValueError(f"max_chunk_bits must lie in (0, 24], got {self.max_chunk_bits}")
        check_int(self.padding, "padding", low=0, high=6)
        check_choice(self.algorithm, "algorithm", ("pfr", "orc"))


DEFAULT_CONFIG = CodecConfig()


@dataclass(frozen=True)
class CompressResult:
    """A compressed image and the encoder's accounting.

    ``bpp`` is the file size in bits per pixel, ``kl_bits`` the KL of each step in bits,
    ``noise_var`` the last level sent (t², model space), ``state`` the chain's last sample
    (shape ``(1, *code_shape)``), which the decoder reproduces bit for bit.
    """

    data: bytes
    bpp: float
    n_steps: int
    noise_var: float
    kl_bits: tuple[float, ...]
    seconds: float
    state: np.ndarray


def _ladder(t_max: float, t_min: float, n_levels: int) -> np.ndarray:
    """The ladder as both sides see it: the f32 header values, then float64 maths."""
    return _chain.noise_ladder(float(np.float32(t_max)), float(np.float32(t_min)), n_levels)


def _fingerprint(model: ImageModel) -> bytes:
    return hashlib.sha256(model.fingerprint()).digest()[: _format.FINGERPRINT_BYTES]


def _code_image(image: npt.ArrayLike, model: ImageModel) -> np.ndarray:
    u = np.asarray(image)
    if u.dtype != np.uint8 or u.ndim != 3 or u.shape[2] != 3:
        raise ValueError(f"image must be a uint8 array of shape (H, W, 3), got {u.dtype} "
                         f"{u.shape}")
    return np.asarray(model.to_code_space(to_model_space(u)[None]), dtype=np.float64)


def compress_with_report(image: npt.ArrayLike, *, model: ImageModel | None = None,
                         bpp: float | None = None, noise_var: float | None = None,
                         seed: int = 0, config: CodecConfig = CodecConfig()) -> CompressResult:
    """Compress an 8-bit RGB image; stop at ``bpp`` (bits per pixel) or at ``noise_var``.

    Parameters
    ----------
    image : uint8 array (H, W, 3).
    model : ImageModel (default: the embedded patch-GMM prior).
    bpp : target rate in bits per pixel of the image (whole file); or
    noise_var : the last noise variance t² to reach (model space); exactly one of the two.
    seed : int in [0, 2**63), the shared seed (written into the file).
    config : CodecConfig.

    Returns
    -------
    CompressResult (``data`` is the file; ``bpp = 8·len(data)/(H·W)``). Step 0 is always
    sent, so a ``bpp`` below its cost (about the 70-byte container plus a few bits) is
    exceeded.
    """
    import time

    model = default_model() if model is None else _check_model(model)
    x = _code_image(image, model)
    h, w = np.shape(image)[:2]
    budget = _budget_bits(bpp, noise_var, h * w)
    seed = check_int(seed, "seed", low=0, high=2**63 - 1)
    t = _ladder(config.t_max, config.t_min, config.n_levels)
    last = len(t) - 1 if noise_var is None else int(np.sum(t**2 >= noise_var)) - 1
    if last < 0:
        raise ValueError(f"noise_var={noise_var} is above the ladder's first level {t[0]**2:.4g}")
    start = time.perf_counter()
    header = _format.StreamHeader(_fingerprint(model), h, w, x.size, seed, config.t_max,
                                  config.t_min, config.n_levels, 0, config.max_chunk_bits)
    coder, chain = _encode_steps(x, model, t[: last + 1], header, budget, config)
    n = len(chain.symbols)
    data = _pack_payload(header, n, coder.payload)
    return CompressResult(data, 8 * len(data) / (h * w), n, float(t[n - 1] ** 2),
                          tuple(coder.kl_bits), time.perf_counter() - start, chain.states[-1])


def _encode_steps(x: np.ndarray, model: ImageModel, t: np.ndarray,
                  header: _format.StreamHeader, budget: float, config: CodecConfig,
                  ) -> tuple[progressive.DiffCStepCoder, progressive.ChainResult]:
    """The chain down the ladder ``t`` (step 0 always), coded into one RCC step stream: the
    coder (its payload and step KLs) and the chain (the indices and the encoder's states).

    The file grows one step at a time: each step is appended to a copy of the accepted stream
    and the copy's exact packed size is checked against the budget
    (:class:`~rdptheory.codec.progressive.DiffCStepCoder`'s ``accept``), so the cost is linear
    in the number of steps; the bytes are those of coding all accepted steps at once.
    """
    def fits(n_steps: int, payload: bytes) -> bool:
        return 8 * len(_pack_payload(header, n_steps, payload)) <= budget

    coder = progressive.DiffCStepCoder(seed=header.seed, max_chunk_bits=config.max_chunk_bits,
                                       padding=config.padding, algorithm=config.algorithm,
                                       backend=config.backend, accept=fits)
    chain = progressive.encode_chain(x, progressive.PlugInModel(model), t**2, coder)
    return coder, chain


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


def _replay(stream: _format.ImageStream, model: ImageModel, n_steps: int,
            backend: str) -> np.ndarray:
    """The decoder's chain: ``y`` at ladder level ``n_steps − 1`` from the first steps
    (:func:`~rdptheory.codec.progressive.decode_chain` with the model's plug-in step)."""
    h = stream.header
    t = _ladder(h.t_max, h.t_min, h.n_levels)
    coder = progressive.DiffCStepCoder(seed=h.seed, max_chunk_bits=h.max_chunk_bits,
                                       backend=backend)
    return progressive.decode_chain(_read_symbols(stream, n_steps),
                                    progressive.PlugInModel(model), t**2, coder,
                                    _code_shape(h, model))


def _read_symbols(stream: _format.ImageStream, n_steps: int) -> list[np.ndarray]:
    """Candidate indices of the first steps; ``ValueError`` if they do not parse."""
    h = stream.header
    try:
        return rcc.read_steps(stream.payload, n_steps, h.code_dims, h.max_chunk_bits)
    except ValueError as exc:
        raise ValueError(f"corrupted image stream: {exc}") from exc


def _code_shape(h: _format.StreamHeader, model: ImageModel) -> tuple[int, ...]:
    """The model's code shape ``(1, C, H', W')`` for the file's image; it must match the file."""
    shape = (1, *model.code_shape(h.height, h.width))
    if int(np.prod(shape)) != h.code_dims:
        raise ValueError(f"corrupted image stream: {h.code_dims} code dimensions, the model "
                         f"expects {int(np.prod(shape))} for a {h.height}x{h.width} image")
    return shape


#: Largest code-space dimension per image pixel a file may declare (RGB pixel space: 3).
MAX_CODE_VALUES_PER_PIXEL = 16


def _check_sizes(stream: _format.ImageStream, max_pixels: object) -> None:
    r"""``ValueError`` unless the header's sizes are below the limits and plausible for the
    payload, checked before anything is allocated.

    The image must have at most ``max_pixels`` pixels. Step 0 sends y_0 ~ N(x, t_0²) against
    N(0, t_0² + v) (v = PRIOR_DATA_VAR), whose KL is at least its variance part whatever x is:

    .. math:: \mathrm{KL}_0 \ge \frac{d}{2}\Big(\log\big(1 + \tfrac{v}{t_0^2}\big)
              - \frac{v}{t_0^2 + v}\Big)\ \text{nats}

    so step 0 has at least ⌈(KL_0 − 1)/B⌉ chunks (capped at d), each costing at least
    ``rcc.stream.min_chunk_bits(B)`` of payload (our own bound). A crafted header declaring a
    large image over a small payload fails this before the decoder allocates the image. What is
    left: a header with an extreme ladder (t_0 ≫ 1 makes step 0 nearly free) passes, and
    then costs what an honest image of that size costs, so ``max_pixels`` caps the work.
    """
    h = stream.header
    max_pixels = check_int(max_pixels, "max_pixels", low=1)
    pixels = h.height * h.width
    if pixels > max_pixels:
        raise ValueError(f"the file declares a {h.height}x{h.width} image ({pixels} pixels), "
                         f"more than max_pixels = {max_pixels}; pass a larger max_pixels "
                         "(CLI: --max-pixels) only for a file you trust")
    if h.code_dims > MAX_CODE_VALUES_PER_PIXEL * pixels:
        raise ValueError(f"corrupted image stream: {h.code_dims} code dimensions for "
                         f"{pixels} pixels")
    t0_sq, v = float(_ladder(h.t_max, h.t_min, h.n_levels)[0]) ** 2, _chain.PRIOR_DATA_VAR
    kl0_nats = 0.5 * h.code_dims * max(np.log1p(v / t0_sq) - v / (t0_sq + v), 0.0)
    kl0_q = min(kl0_nats / np.log(2.0) * (1.0 - 1e-6) - 1.0, float(rcc.MAX_STEP_KL))
    chunks = min(max(math.ceil(kl0_q / h.max_chunk_bits), 1), h.code_dims)
    need = (chunks * rcc.stream.min_chunk_bits(h.max_chunk_bits)
            + h.n_steps * rcc.stream.MIN_STEP_BITS)
    have = rcc.stream.payload_budget_bits(len(stream.payload))
    if need > have:
        raise ValueError(f"corrupted image stream: a {h.height}x{h.width} image on this ladder "
                         f"needs at least {math.ceil(need / 8)} payload bytes, the file has "
                         f"{len(stream.payload)}")


def decompress(data: bytes, *, model: ImageModel | None = None, rho: float = 1.0,
               max_steps: int | None = None, ode_steps: int = 24,
               solver: Literal["euler", "heun"] = "heun", backend: str = "auto",
               max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode a file to an 8-bit RGB image, with the score scale ρ chosen now [WBZ26].

    .. math:: dX = [f - \\tfrac12 ρ g^2 ∇\\log p_t(X)]\\,dt \\quad\\text{from } t_n^2
              \\text{ to } 0

    Parameters
    ----------
    data : bytes from :func:`compress`.
    model : the ImageModel the file was made with (checked by fingerprint).
    rho : float in [0, :data:`rdptheory._limits.MAX_RHO`] (= 10); 1 = probability-flow ODE,
        2 = the MMSE-end drift (THEORY.md §3).
    max_steps : decode only the first ``max_steps`` steps (a lower-rate prefix); default all.
    ode_steps, solver : the PF-ODE grid (VP schedule, 1..10000 steps) and integrator.
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
    and if the reconstruction is not finite; TypeError if ``data`` is not bytes.
    """
    from rdptheory.diffusion import decode

    model = default_model() if model is None else _check_model(model)
    rho = _check_decode_rho(rho)
    ode_steps = check_int(ode_steps, "ode_steps", low=1, high=MAX_ODE_STEPS)
    stream = _format.unpack_stream(data)
    h = stream.header
    if h.fingerprint != _fingerprint(model):
        raise ValueError(f"this file was made with another model (fingerprint "
                         f"{h.fingerprint.hex()}, model {model.name} has "
                         f"{_fingerprint(model).hex()})")
    _check_sizes(stream, max_pixels)
    _code_shape(h, model)
    n = h.n_steps if max_steps is None else check_int(max_steps, "max_steps", low=1,
                                                      high=h.n_steps)
    try:
        y = _replay(stream, model, n, backend)
        t_n = _ladder(h.t_max, h.t_min, h.n_levels)[n - 1]
        x_hat = decode(model, y, float(t_n**2), rho, schedule="vp", solver=solver,
                       steps=ode_steps)
        image = np.asarray(model.from_code_space(x_hat), dtype=np.float64)[0]
    except MemoryError as exc:
        raise ValueError(f"not enough memory to decode a {h.height}x{h.width} image: lower "
                         "max_pixels (CLI: --max-pixels) to refuse such files up front") from exc
    if not np.isfinite(image).all():
        raise ValueError(f"the decoded image is not finite (rho = {rho:g}, {ode_steps} ODE "
                         "steps): use a smaller rho or more ode_steps")
    return from_model_space(image[:, : h.height, : h.width])  # latent models decode padded


#: Largest PF-ODE grid the decoder accepts.
MAX_ODE_STEPS = 10_000


def _check_decode_rho(rho: object) -> float:
    """ρ as a float in [0, MAX_RHO] (ValueError/TypeError otherwise)."""
    value = float(check_rho(rho))
    if value > MAX_RHO:
        raise ValueError(f"rho must lie in [0, {MAX_RHO:g}], got {value:g}")
    return value


def truncate(data: bytes, n_steps: int, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> bytes:
    """A valid file holding only the first ``n_steps`` steps of ``data`` (a lower rate).

    ``ValueError`` for a damaged or implausible file, or one whose image exceeds
    ``max_pixels`` (as :func:`decompress`); no model is needed.
    """
    stream = _format.unpack_stream(data)
    _check_sizes(stream, max_pixels)
    n = check_int(n_steps, "n_steps", low=1, high=stream.header.n_steps)
    h = _format.StreamHeader(**{**stream.header.__dict__, "n_steps": n})
    payload = rcc.write_steps(_read_symbols(stream, n), h.max_chunk_bits)
    return _format.pack_stream(_format.ImageStream(h, payload))
