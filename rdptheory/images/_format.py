"""The image bitstream: a versioned container around one range-coded stream of steps.

Layout (:mod:`rdptheory._container`, sealed payload; version 6)::

    magic "RDPI" | version u8 | varint header length
    | header: model fingerprint 4 B | layout u8 | varint H | varint W
              | [layout bit 7: varint code-space dimension] | varint seed
              | [ladder preset 127: ladder t_max f32, t_min f32 | varint levels
                 | chunk KL budget B f32] | varint steps
              | noise ladder id u8 (0 isotropic, 1 mse, 2 perception)
              | [ladder != 0: basis id u8 (1 dct)] | [ladder = 2: perception budget P f32]
    | header CRC32 u32
    | payload: one RCC stream (:meth:`rdptheory.rcc.RCCStreamWriter.add`) holding, per step,
      its chunk count and the candidate index of every chunk, whole 32-bit words
    | payload CRC32 u32

The layout byte: bits 0-6 are the ladder preset, 0 or 1 = :data:`LADDER_PRESETS` [0] or [1]
(the encoder's defaults, :class:`rdptheory.images.codec.CodecConfig` reads them from there;
preset 1 is the only non-geometric ladder, :func:`ladder_stds`) and 127 = the four ladder
fields of a geometric ladder follow explicitly (2-126 are unknown and refused); bit 7 set
means the code-space dimension follows explicitly, clear means it is ``3·H·W`` (pixel-space
models). The packer writes the short form whenever it holds (a default 128x128 file's header
is 12 bytes, 28 with every field explicit); the reader also accepts the explicit forms of the
same values. A preset is part of the format: new defaults get a new preset id, preset 0 never
changes.
The fingerprint is the first 4 bytes of the model's SHA-256: it only tells models apart (two
models share it with probability 2^-32); the CRCs guard the bytes. The code shape follows
from the model and the image size (its size is stored to check it and to re-pack a prefix
without the model); each step's chunk layout follows from its chunk count and the seed.
Every byte of the file counts in the rate.
The shaping recipe (:class:`rdptheory.images.shaped_chain.ShapingRecipe`: ladder, basis, P,
with the ladder's t_max, t_min and levels above) is all the decoder needs besides the model to
rebuild a shaped chain; an isotropic file spends one byte on it (ladder id 0), a shaped one 2
("mse") or 6 ("perception"). For a shaped file the code-space dimension is the chain state's
size (the tiled GMM: tiles × 3p², the image padded to whole tiles).
Version 6: the steps of a shaped-noise file use the stratified chunk layout (a
decoder-known KL proxy deals the coordinates to the chunks,
:class:`rdptheory.images.shaped_chain.SentStepCoder`); the fields and isotropic payloads are
those of version 5. Version 5: the noise recipe. Version 4: each step sends its chunk count
and its indices under the RCC Zipf law (version 3 sent the step's quantised KL and coded the
index buckets with a fitted Gaussian law: 60 bytes more on each of the report's 48x48
crops). Versions 1 (fixed-width fields, one CRC), 2 (interleaved 16-bit pieces), 3, 4 and 5
are not read.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from rdptheory import _container
from rdptheory._bytes import ByteReader, put_varint

MAGIC = b"RDPI"
#: 6: shaped files' steps on the stratified chunk layout (same fields);
#: 5: a 4-byte model fingerprint, the layout byte (ladder preset, implied code dimension),
#: the noise recipe (ladder id, basis id, P) last; 4: per step the chunk
#: count and the indices under the RCC Zipf law (3: quantised KL and a fitted Gaussian law on
#: the index buckets).
VERSION = 6
FINGERPRINT_BYTES = 4
WHAT = "rdptheory image stream"
#: Largest ladder a file may declare (levels); the encoder's default is 37.
MAX_LEVELS = 4096
_F32 = struct.Struct("<f")
#: Noise ladder ids (index = the id byte): 0 is the isotropic chain of every image model.
LADDERS: tuple[str, ...] = ("isotropic", "mse", "perception")
#: Basis ids of shaped files (index = the id byte); 0 ("none") is the isotropic files' basis.
BASES: tuple[str, ...] = ("none", "dct")


@dataclass(frozen=True)
class LadderPreset:
    """A ladder and chunk budget a file names by one id instead of 13 bytes of fields.

    ``knee`` (c >= 0) is the ladder's shape (:func:`ladder_stds`): 0 is geometric, the only
    shape the explicit header fields can describe; c > 0 is coarser above t ~ c and only
    exists as a preset.
    """

    t_max: float
    t_min: float
    n_levels: int
    max_chunk_bits: float
    knee: float = 0.0

    def stored(self) -> LadderPreset:
        """The preset as a file holds it: its floats rounded to float32."""
        return LadderPreset(_f32(self.t_max), _f32(self.t_min), self.n_levels,
                            _f32(self.max_chunk_bits), _f32(self.knee))


def _f32(value: float) -> float:
    return float(_F32.unpack(_F32.pack(value))[0])


def ladder_stds(t_max: float, t_min: float, n_levels: int, knee: float = 0.0) -> np.ndarray:
    r"""The noise ladder (stds, top first) of a file: geometric, or asinh-spaced with a knee.

    .. math:: t_i = \frac{c}{\sinh\big(a + (b - a)\,\tfrac{i}{L-1}\big)},\quad
              a = \operatorname{asinh}(c/t_{\max}),\ b = \operatorname{asinh}(c/t_{\min})

    for a knee c > 0; c = 0 means "no knee": the geometric ladder
    :func:`rdptheory.diffusion.chain.noise_ladder` (the same floats; it is also the limit
    c → ∞). Below the knee (t ≪ c) the ladder is geometric, above it (t ≫ c) evenly spaced
    in 1/t: coarser where the steps carry little information. Our own derivation: the
    plug-in step from t to s costs ½(1/s² − 1/t²)·mse(t) nats per coordinate in
    expectation, so a ladder's excess over the continuous chain (½∫ mse dλ, λ = 1/t²) is
    ~¼ (Δ ln λ)² per step and per *active* direction (variance above t², about λ·mse(λ)
    of them); with the active fraction of one variance c², c²/(c² + t²), the step density
    in ln t that minimises the excess for a given number of steps is ∝ c/√(c² + t²), whose
    integral is asinh(c/t).

    Parameters
    ----------
    t_max, t_min : float, ``t_max > t_min > 0``.
    n_levels : int, ``L >= 2``.
    knee : float >= 0 (0: geometric).

    Returns
    -------
    float64 array (L,), strictly decreasing from ``t_max`` to ``t_min``.
    """
    from rdptheory.diffusion import chain as _chain

    geometric = _chain.noise_ladder(t_max, t_min, n_levels)  # validates t_max, t_min, L
    if not (isinstance(knee, (int, float)) and math.isfinite(knee) and knee >= 0):
        raise ValueError(f"knee must be a finite float >= 0, got {knee!r}")
    if knee == 0:
        return geometric
    a, b = math.asinh(knee / t_max), math.asinh(knee / t_min)
    t = knee / np.sinh(a + (b - a) * (np.arange(n_levels) / (n_levels - 1)))
    t[0], t[-1] = t_max, t_min
    return t


#: Ladder presets (index = the id in the layout byte's bits 0-6). Files depend on these
#: values: append new presets, never edit one.
#:
#: - 0: geometric, t_max 10 to t_min 0.05 in 37 levels, chunk budget B = 8 bits
#:   (2026-12-06); the default of shaped noise (:class:`rdptheory.images.codec.CodecConfig`).
#: - 1: asinh-spaced with knee c = 2 (:func:`ladder_stds`), 10 to 0.05 in 25 levels, B = 8
#:   (2026-12-07); the default of isotropic noise. It reaches t ≈ 0.59 (the UNet's
#:   ~0.5 bpp) in 11 steps instead of 20: levels 10, 5.24, 3.48, 2.54, 1.96, ... (preset 0:
#:   10, 8.63, 7.45, ...). Measured on the UNet, 128² china+flower at 0.25/0.5/1 bpp, real
#:   file bytes (``benchmarks/results/image_codec_ladder_128.json``): BD-rate vs preset 0 with
#:   the same decoder +3.0 % (Heun 8; china -2.3 %, flower +8.4 %) / +2.9 % (exp2 4); with
#:   the new default decoder (exp2 4) vs the old default (preset 0, Heun 8) +1.6 %; encode
#:   CPU 40-45 % lower. Expected KL from the model's denoising MSE per level (our estimate,
#:   E KL = ½(1/s² − 1/t²)·E|x − x̂_t|² per step): +1.5-2.8 % for the UNet, +3-5 % for
#:   gmm-shift at t = 0.15-0.9.
LADDER_PRESETS: tuple[LadderPreset, ...] = (LadderPreset(10.0, 0.05, 37, 8.0),
                                             LadderPreset(10.0, 0.05, 25, 8.0, 2.0))
#: The layout byte's ladder preset meaning "t_max, t_min, levels and B follow explicitly".
EXPLICIT_LADDER = 0x7F
#: The layout byte's bit meaning "the code-space dimension follows" (clear: 3·H·W).
EXPLICIT_DIMS = 0x80


@dataclass(frozen=True)
class StreamHeader:
    """Everything the decoder needs besides the model and the range-coded payload."""

    fingerprint: bytes
    height: int
    width: int
    code_dims: int
    seed: int
    t_max: float
    t_min: float
    n_levels: int
    n_steps: int
    max_chunk_bits: float
    ladder: str = "isotropic"
    basis: str = "none"
    perception: float = 0.0
    knee: float = 0.0

    @property
    def shaped(self) -> bool:
        """Whether the file codes shaped noise (any ladder but "isotropic")."""
        return self.ladder != "isotropic"


@dataclass(frozen=True)
class ImageStream:
    """A parsed file: its header and the range-coded payload (side information, indices)."""

    header: StreamHeader
    payload: bytes


def _recipe_bytes(h: StreamHeader) -> bytes:
    """The recipe fields: ladder id, then basis id and P where the ladder needs them."""
    if h.ladder not in LADDERS or h.basis not in BASES:
        raise ValueError(f"unknown noise recipe (ladder {h.ladder!r}, basis {h.basis!r}): "
                         f"ladders {LADDERS}, bases {BASES}")
    if not h.shaped:
        if h.basis != "none" or h.perception != 0.0:
            raise ValueError("an isotropic stream has basis 'none' and perception 0")
        return bytes([0])
    if h.basis == "none":
        raise ValueError(f"a shaped stream needs a basis, one of {BASES[1:]}")
    out = bytes([LADDERS.index(h.ladder), BASES.index(h.basis)])
    if h.ladder == "perception":
        if not (math.isfinite(h.perception) and h.perception >= 0.0):
            raise ValueError(f"perception budget must be finite and >= 0, got {h.perception}")
        return out + _F32.pack(h.perception)
    if h.perception != 0.0:
        raise ValueError(f"the {h.ladder} ladder has no perception budget (got {h.perception})")
    return out


def _header_bytes(h: StreamHeader) -> bytes:
    """The header fields (module layout), each optional field in its short form if it has one."""
    if h.shaped and h.knee != 0.0:
        raise ValueError(f"a shaped-noise stream has a geometric ladder (knee 0), got knee "
                         f"{h.knee:g}")
    ladder = LadderPreset(h.t_max, h.t_min, h.n_levels, h.max_chunk_bits, h.knee).stored()
    stored = [p.stored() for p in LADDER_PRESETS]
    preset = stored.index(ladder) if ladder in stored else EXPLICIT_LADDER
    if preset == EXPLICIT_LADDER and h.knee != 0.0:
        raise ValueError(f"a ladder with knee {h.knee:g} is not a preset: only geometric "
                         "ladders (knee 0) can be written as explicit fields")
    implied = h.code_dims == 3 * h.height * h.width
    explicit = b"" if preset != EXPLICIT_LADDER else b"".join(
        [_F32.pack(h.t_max), _F32.pack(h.t_min), put_varint(h.n_levels),
         _F32.pack(h.max_chunk_bits)])
    return b"".join([h.fingerprint, bytes([preset | (0 if implied else EXPLICIT_DIMS)]),
                     put_varint(h.height), put_varint(h.width),
                     b"" if implied else put_varint(h.code_dims), put_varint(h.seed), explicit,
                     put_varint(h.n_steps), _recipe_bytes(h)])  # fmt: skip


def pack_stream(stream: ImageStream) -> bytes:
    """Serialise an :class:`ImageStream` (module layout)."""
    if len(stream.header.fingerprint) != FINGERPRINT_BYTES or len(stream.payload) % 4:
        raise ValueError(f"an image stream needs a {FINGERPRINT_BYTES}-byte fingerprint and "
                         "whole-word payload")
    return _container.seal(MAGIC, VERSION, _header_bytes(stream.header), stream.payload)


def _read_header(head: bytes) -> StreamHeader:
    r = ByteReader(head, WHAT)
    fp = r.take(FINGERPRINT_BYTES, "the model fingerprint")
    layout = r.u8("the layout byte")
    preset = layout & ~EXPLICIT_DIMS
    if preset != EXPLICIT_LADDER and preset >= len(LADDER_PRESETS):
        raise ValueError(f"corrupted {WHAT}: unknown ladder preset {preset} (known: 0..."
                         f"{len(LADDER_PRESETS) - 1}, {EXPLICIT_LADDER} = explicit fields)")
    h, w = r.varint("height", high=2**31 - 1), r.varint("width", high=2**31 - 1)
    dims = (r.varint("code dimension", high=2**62) if layout & EXPLICIT_DIMS else 3 * h * w)
    seed = r.varint("seed", high=2**63 - 1)
    knee = 0.0
    if preset == EXPLICIT_LADDER:
        (t_max,), (t_min,) = r.unpack("<f", "t_max"), r.unpack("<f", "t_min")
        levels = r.varint("levels", high=MAX_LEVELS)
        (bits,) = r.unpack("<f", "the chunk KL budget")
    else:
        known = LADDER_PRESETS[preset].stored()
        t_max, t_min, levels, bits = known.t_max, known.t_min, known.n_levels, known.max_chunk_bits
        knee = known.knee
    steps = r.varint("steps", high=MAX_LEVELS)
    ladder, basis, perception = _read_recipe(r)
    r.done()
    header = StreamHeader(fp, h, w, dims, seed, t_max, t_min, levels, steps, bits, ladder,
                          basis, perception, knee)
    if header.shaped and knee != 0.0:
        raise ValueError(f"corrupted {WHAT}: ladder preset {preset} (knee {knee:g}) on a shaped-"
                         "noise file (shaped ladders are geometric)")
    if not (1 <= steps <= levels and h >= 1 and w >= 1 and dims >= 1
            and math.isfinite(t_max) and 0 < t_min < t_max and 0 < bits <= 24):
        raise ValueError(f"corrupted {WHAT}: inconsistent header (size {h}x{w}, code "
                         f"dimension {dims}, ladder {t_max:.4g}..{t_min:.4g} in {levels} "
                         f"levels, {steps} steps, B = {bits:.4g})")  # fmt: skip
    return header


def _read_recipe(r: ByteReader) -> tuple[str, str, float]:
    """(ladder, basis, P) of the header's recipe; ``ValueError`` for unknown ids or a bad P."""
    (lid,) = r.take(1, "the noise ladder id")
    if lid >= len(LADDERS):
        raise ValueError(f"corrupted {WHAT}: unknown noise ladder id {lid} (known: 0..."
                         f"{len(LADDERS) - 1} = {', '.join(LADDERS)})")
    if lid == 0:
        return LADDERS[0], BASES[0], 0.0
    (bid,) = r.take(1, "the noise basis id")
    if not 1 <= bid < len(BASES):
        raise ValueError(f"corrupted {WHAT}: unknown basis id {bid} for shaped noise (known: "
                         f"1...{len(BASES) - 1} = {', '.join(BASES[1:])})")
    p = 0.0
    if LADDERS[lid] == "perception":
        (p,) = r.unpack("<f", "the perception budget")
        if not (math.isfinite(p) and p >= 0.0):
            raise ValueError(f"corrupted {WHAT}: perception budget {p} is not finite and >= 0")
    return LADDERS[lid], BASES[bid], float(p)


def unpack_stream(data: object) -> ImageStream:
    """Parse and verify a file; ``ValueError`` naming the problem for anything malformed."""
    _, head, payload = _container.unseal(data, MAGIC, (VERSION,), WHAT)
    header = _read_header(head)
    if len(payload) % 4:
        raise ValueError(f"corrupted {WHAT}: payload of {len(payload)} bytes is not whole "
                         "32-bit words")
    return ImageStream(header, payload)
