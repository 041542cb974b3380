"""``encode`` / ``decode``: reverse channel coding of a diagonal-Gaussian target (THEORY.md §5)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from rdptheory import kernels
from rdptheory._validation import as_float_array, check_choice, check_int, check_positive

from . import _format as fmt
from ._chunking import (
    MAX_CHUNK_BITS,
    ChunkLayout,
    candidate_bits,
    chunk_kl_bits,
    diagonal_gaussian_kl_nats,
    kl_nats_to_bits,
    max_singleton_ok,
    partition_chunks,
)
from ._format import check_model_params
from ._index_coding import MAX_INDEX_BITS, IndexModel
from ._select import log_weight_bound, select
from .layouts import (
    diffc_permutation,
    diffc_split,
    equal_sizes,
    equal_starts,
    stratified_layout,
    stratified_order,
    stratified_split,
)
from .message import DEFAULT_MAX_CHUNK_BITS, DEFAULT_PADDING, RCCMessage, known_layout

Algorithm = Literal["pfr", "pfr_es", "orc"]
ALGORITHMS: tuple[str, ...] = ("pfr", "pfr_es", "orc")
MAX_SEED = 2**64 - 1
MAX_STREAM = 2**31 - 1


def derive_encoder_seed(seed: int) -> int:
    """Default encoder-private seed: the SplitMix64 output of ``seed`` (Steele et al. 2014).

    >>> derive_encoder_seed(0)
    16294208416658607535
    """
    z = (check_int(seed, "seed", low=0, high=MAX_SEED) + 0x9E3779B97F4A7C15) & MAX_SEED
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MAX_SEED
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MAX_SEED
    return z ^ (z >> 31)


def _finite(x: npt.ArrayLike, name: str) -> np.ndarray:
    """``x`` as a finite float64 array (TypeError / ValueError naming ``name`` otherwise)."""
    a = as_float_array(x, name)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return a


def _flat_std(sigma: npt.ArrayLike, shape: tuple[int, ...], name: str) -> np.ndarray:
    """Positive standard deviations broadcast to ``shape`` and flattened (float64)."""
    sd = check_positive(sigma, name)
    try:
        sd = np.broadcast_to(sd, shape)
    except ValueError as exc:
        raise ValueError(f"{name} of shape {sd.shape} must broadcast to {shape}") from exc
    return np.ascontiguousarray(sd).ravel()


def check_proposal(
    mu_p: npt.ArrayLike, sigma_p: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """(mu_p flat, sigma_p flat, shape) of a valid proposal; sigma_p broadcasts to mu_p."""
    mu = _finite(mu_p, "mu_p")
    if mu.size == 0 or mu.size > fmt.MAX_DIMS:
        raise ValueError(f"mu_p must have between 1 and {fmt.MAX_DIMS} entries, got {mu.size}")
    return mu.ravel(), _flat_std(sigma_p, mu.shape, "sigma_p"), mu.shape


def _check_target(mu_q, sigma_q, shape) -> tuple[np.ndarray, np.ndarray]:
    """(mu_q flat, sigma_q flat) of a target of the proposal's ``shape``."""
    mu = _finite(mu_q, "mu_q")
    if mu.shape != shape:
        raise ValueError(f"mu_q must have mu_p's shape {shape}, got {mu.shape}")
    return mu.ravel(), _flat_std(sigma_q, shape, "sigma_q")


def encode(
    mu_q: npt.ArrayLike,
    sigma_q: npt.ArrayLike,
    mu_p: npt.ArrayLike,
    sigma_p: npt.ArrayLike,
    *,
    seed: int,
    algorithm: Algorithm = "pfr",
    max_chunk_bits: float = DEFAULT_MAX_CHUNK_BITS,
    padding: int = DEFAULT_PADDING,
    backend: str = "auto",
    stream: int = 0,
    encoder_seed: int | None = None,
    chunk_sizes: Sequence[int] | None = None,
    layout_kl_bits: npt.ArrayLike | None = None,
    max_candidate_bits: int | None = None,
    chunk_layout: str = "auto",
) -> RCCMessage:
    """Send a sample of q = N(mu_q, diag sigma_q^2) given the shared p = N(mu_p, diag sigma_p^2).

    .. math::

        K_c = \\arg\\min_{n < N_c} \\frac{T_n}{q(Z_{c,n})/p(Z_{c,n})},\\qquad
        N_c = 2^{\\lceil \\mathrm{KL}_c \\rceil + \\mathrm{padding}}

    per chunk c of a greedy contiguous partition with KL_c <= ``max_chunk_bits`` (PFR [LEG18];
    ORC [Theis & Yosri 2022]; chunking and padding as DiffC [VL25]; THEORY.md §5). The chunk
    sizes and indices are entropy-coded (constriction range coder); the byte length is the rate.
    Truncation to N_c candidates biases "pfr"/"orc" samples (see the package docstring for the
    measured KS distances); "pfr_es" is exact.

    Parameters
    ----------
    mu_q, mu_p : float arrays of one shape (d coordinates in all, 1 <= d < 2**24)
    sigma_q, sigma_p : positive float arrays broadcasting to that shape (standard deviations)
    seed : int in [0, 2**64), the shared seed the decoder also knows
    algorithm : "pfr" (truncated PFR), "pfr_es" (exact PFR with early stopping; needs a bounded
        density ratio: sigma_q < sigma_p, or sigma_q = sigma_p with mu_q = mu_p, everywhere) or
        "orc" (ordered random coding)
    max_chunk_bits : float in (0, 24], the KL budget B of a chunk in bits
    padding : int in [0, 6], extra candidate bits per chunk
    backend : kernel backend, "auto" (triton on CUDA, else numba), "numpy", "torch", ...
    stream : int in [0, 2**31); separates the randomness of messages under one seed
    encoder_seed : int or None, the encoder's private seed (default :func:`derive_encoder_seed`)
    chunk_sizes : optional contiguous layout the *decoder already knows* (e.g.
        ``partition_chunks`` of the expected per-coordinate KL); then no layout is sent, every
        chunk must carry <= 24 bits of KL, and ``decode`` needs the same ``chunk_sizes``
    layout_kl_bits : optional decoder-known KL proxy in bits (a scalar or shaped like mu_p,
        e.g. the expected KL of each coordinate): the layout is
        :func:`~rdptheory.rcc._chunking.proxy_layout` ``(layout_kl_bits, d, B)`` and is not
        sent, unless a chunk of it would carry more than 24 bits of actual KL (then the
        encoder sends its own layout; one flag bit says which). ``decode`` needs the same proxy.
        Not together with ``chunk_sizes``.
    max_candidate_bits : optional int in [1, 30] (not with "pfr_es"), encoder-only: every chunk
        draws at most 2**max_candidate_bits candidates, and a ``layout_kl_bits`` layout is then
        always kept (no layout is sent even when a chunk's actual KL exceeds 24 bits). A chunk
        whose KL is above ``max_candidate_bits - padding`` is sampled with less padding (more
        truncation bias); in exchange one rare high-KL chunk can neither force the whole
        layout to be sent nor cost 2**(KL + padding) candidates. The decoder needs nothing.
    chunk_layout : "auto", "sent" or "diffc": the layout strategy
        (:mod:`rdptheory.rcc.layouts`) when the decoder knows none (no ``chunk_sizes``, or a
        ``layout_kl_bits`` proxy that misjudged the target). "sent": greedy contiguous sizes,
        entropy-coded; "diffc": the shared permutation of (seed, stream) split into C equal
        chunks, only C sent (C doubled until no chunk exceeds B + 8 bits of KL); "auto": the
        one of smaller :func:`estimated_bits`, which depends on the KL only (so the choice
        cannot bias the sample). The decoder reads the choice from the message (one bit).

    Returns
    -------
    RCCMessage (``.to_bytes()``, ``.num_bits``, ``.kl_bits``, ``.sample`` = the selected candidate)
    """
    mu_p_f, sigma_p_f, shape = check_proposal(mu_p, sigma_p)
    mu_q_f, sigma_q_f = _check_target(mu_q, sigma_q, shape)
    check_choice(algorithm, "algorithm", ALGORITHMS)
    model = check_model_params(max_chunk_bits, padding, algorithm == "pfr_es")
    seed, stream, enc_seed = _check_seeds(seed, stream, encoder_seed)
    kl = kl_nats_to_bits(diagonal_gaussian_kl_nats(mu_q_f, sigma_q_f, mu_p_f, sigma_p_f))
    _check_encodable(kl, algorithm, mu_q_f, sigma_q_f, mu_p_f, sigma_p_f)
    cap = _check_cap(max_candidate_bits, algorithm)
    check_choice(chunk_layout, "chunk_layout", CHUNK_LAYOUTS)
    known = known_layout(kl.size, model, chunk_sizes, layout_kl_bits)
    layout, gamma, external, perm = _layout(kl, model, known, chunk_sizes is not None,
                                            keep_proxy=cap is not None, strategy=chunk_layout,
                                            seed=seed, stream=stream)  # fmt: skip
    p = slice(None) if perm is None else perm
    ckl = chunk_kl_bits(kl[p], layout)
    bits = candidate_bits(ckl, model.padding)
    if cap is not None:
        bits = np.minimum(bits, cap)
    sel = select(mu_q_f[p], sigma_q_f[p], mu_p_f[p], sigma_p_f[p], layout.starts, bits,
                 seed=seed, encoder_seed=enc_seed, stream=stream, algorithm=algorithm,
                 backend=backend)  # fmt: skip
    sample = _sample(mu_p_f, sigma_p_f, perm, layout.starts, sel.indices, seed, stream, backend)
    return RCCMessage(
        dims=mu_p_f.size, chunk_sizes=layout.sizes, indices=tuple(int(k) for k in sel.indices),
        max_chunk_bits=model.max_chunk_bits, padding=model.padding,
        size_std_level=0 if perm is not None else fmt.best_std_level(layout.sizes, mu_p_f.size,
                                                                      gamma),
        size_granularity_log2=gamma, permuted_layout=perm is not None,
        exact_tail=model.exact_tail, external_layout=external, algorithm=algorithm,
        chunk_kl_bits=tuple(float(v) for v in ckl), candidate_bits=tuple(int(b) for b in bits),
        candidate_dims=int(np.dot(sel.scored, layout.sizes)),
        log_weights=tuple(float(v) for v in sel.log_weights), sample=sample.reshape(shape),
    )  # fmt: skip


def _check_seeds(seed: object, stream: object, encoder_seed: object) -> tuple[int, int, int]:
    """(seed, stream, encoder seed) validated; the encoder seed defaults to SplitMix64(seed)."""
    seed = check_int(seed, "seed", low=0, high=MAX_SEED)
    stream = check_int(stream, "stream", low=0, high=MAX_STREAM)
    if encoder_seed is None:
        return seed, stream, derive_encoder_seed(seed)
    return seed, stream, check_int(encoder_seed, "encoder_seed", low=0, high=MAX_SEED)


def _check_cap(max_candidate_bits: object, algorithm: str) -> int | None:
    """``max_candidate_bits`` validated (None, or an int in [1, 30] with "pfr"/"orc")."""
    if max_candidate_bits is None:
        return None
    if algorithm == "pfr_es":
        raise ValueError("max_candidate_bits is for 'pfr'/'orc'; 'pfr_es' is exact")
    return check_int(max_candidate_bits, "max_candidate_bits", low=1, high=MAX_INDEX_BITS)


def _check_encodable(kl_bits, algorithm, mu_q, sigma_q, mu_p, sigma_p) -> None:
    """ValueError if a coordinate exceeds one chunk, or "pfr_es" meets an unbounded ratio."""
    max_singleton_ok(kl_bits)
    if (
        algorithm == "pfr_es"
        and not np.isfinite(log_weight_bound(mu_q, sigma_q, mu_p, sigma_p)).all()
    ):
        raise ValueError("algorithm='pfr_es' needs sigma_q < sigma_p (or sigma_q = sigma_p and "
                         "mu_q = mu_p) in every coordinate; use 'pfr' or 'orc'")  # fmt: skip


#: Layout choice: estimated index overhead per chunk (bits) and the KL slack above B (as a
#: fraction of B) that a chunk forced to g > 1 dimensions may have.
CHUNK_OVERHEAD_BITS = 1.0
GRANULARITY_SLACK = 0.125


def layout_cost_bits(kl_bits: np.ndarray, layout: ChunkLayout, gamma: int, budget: float) -> float:
    """Estimated bits a sent layout costs beyond the KL: its side information plus, per chunk,
    c_0 and the Zipf code's under-fill penalty.

    .. math:: \\hat L = L_{\\mathrm{layout}} + \\sum_c \\big[c_0 + (1 - s)\\,
              (B - \\mathrm{KL}_c)_+\\big]

    The index model's bucket masses grow like 2^{(1-s) b} (s < 1, :mod:`._index_coding`), so a
    chunk whose index lands B - KL_c buckets below a full chunk's pays about (1 - s)(B - KL_c)
    bits more. Derived here, not in the papers; c_0 = CHUNK_OVERHEAD_BITS.
    """
    level = fmt.best_std_level(layout.sizes, kl_bits.size, gamma)
    side = fmt.layout_bits(kl_bits.size, fmt.Content(layout.sizes, level, (), False, gamma))
    s = IndexModel(budget, 0).exponent
    underfill = np.maximum(budget - chunk_kl_bits(kl_bits, layout), 0.0)
    return side + float(np.sum(CHUNK_OVERHEAD_BITS + max(1.0 - s, 0.0) * underfill))


def choose_layout(kl_bits: np.ndarray, budget: float) -> tuple[ChunkLayout, int]:
    """(layout, log2 g): the greedy partition at granularity g = 2**gamma, gamma = 0..5, of
    least :func:`layout_cost_bits`.

    .. math:: \\hat\\gamma = \\arg\\min_\\gamma\\; \\hat L(\\gamma)

    Coarser sizes cost fewer bits but fill chunks less (more chunks); g > 1 is allowed only if
    no chunk exceeds (1 + GRANULARITY_SLACK) B. Derived here; not in the papers.
    """
    best: tuple[float, ChunkLayout, int] | None = None
    for gamma in range(6):
        layout = partition_chunks(kl_bits, budget, 1 << gamma)
        if gamma and chunk_kl_bits(kl_bits, layout).max() > (1 + GRANULARITY_SLACK) * budget:
            break  # coarser grids only overshoot more
        cost = layout_cost_bits(kl_bits, layout, gamma, budget)
        if best is None or cost < best[0]:
            best = (cost, layout, gamma)
    assert best is not None  # gamma = 0 is always a candidate
    return best[1], best[2]


#: Layout strategies the encoder may choose itself (:mod:`rdptheory.rcc.layouts`).
CHUNK_LAYOUTS: tuple[str, ...] = ("auto", "sent", "diffc")


def estimated_bits(chunk_kl: np.ndarray, side_bits: float, model: IndexModel) -> float:
    """KL-only estimate of a layout's bits: its side information plus, per chunk, the code
    length of an index in the bucket of 2^KL_c.

    .. math:: \\hat L = L_{\\mathrm{layout}} + \\sum_c \\big[-\\log_2 P(b_c) + b_c - 1\\big],
              \\quad b_c = \\min(\\lfloor \\mathrm{KL}_c \\rfloor + 1, 30)

    (PFR's index is about 2^KL_c; E[log2 K] <= KL + 0.11 measured). Derived here; it ranks
    the ``sent`` and ``diffc`` layouts of one target and is not a code length.
    """
    b = np.minimum(np.floor(np.maximum(chunk_kl, 0.0)).astype(np.int64) + 1, MAX_INDEX_BITS)
    return side_bits + float(np.sum(-np.log2(model.bucket_probabilities()[b]) + b - 1))


def own_layout(kl_bits: np.ndarray, model: IndexModel, strategy: str, seed: int,
               stream: int) -> tuple[ChunkLayout, int, bool, np.ndarray | None]:
    """The encoder's layout (``strategy`` "sent", "diffc" or "auto": the smaller
    :func:`estimated_bits`); a ``diffc`` layout whose chunk would exceed MAX_CHUNK_BITS is
    not taken by "auto" (ValueError for "diffc")."""
    budget, d = model.max_chunk_bits, kl_bits.size
    sent, gamma = choose_layout(kl_bits, budget) if strategy != "diffc" else (None, 0)
    if strategy == "sent":
        return sent, gamma, False, None  # type: ignore[return-value]
    lay = diffc_split(kl_bits, int(np.ceil(float(kl_bits.sum()) - 1e-9)), budget, seed, stream)
    diffc = ChunkLayout(equal_sizes(d, lay.n_chunks))
    if lay.chunk_kl.max() > MAX_CHUNK_BITS:
        if strategy == "diffc":
            raise ValueError(f"a chunk of the diffc layout carries {lay.chunk_kl.max():.3g} "
                             f"bits of KL, more than {MAX_CHUNK_BITS:g}")
        return sent, gamma, False, None  # type: ignore[return-value]
    if sent is not None:
        side_sent = fmt.layout_bits(d, fmt.Content(sent.sizes, fmt.best_std_level(
            sent.sizes, d, gamma), (), False, gamma))
        side_diffc = fmt.layout_bits(d, fmt.Content(diffc.sizes, 0, (), False, 0, True))
        heavy = fmt.index_model_for(model, True)
        if (estimated_bits(chunk_kl_bits(kl_bits, sent), side_sent, model)
                <= estimated_bits(lay.chunk_kl, side_diffc, heavy)):
            return sent, gamma, False, None
    return diffc, 0, False, lay.perm


def _sample(mu_p, sigma_p, perm, starts, indices, seed, stream, backend) -> np.ndarray:
    """The candidates of a layout (permuted by ``perm`` if not None), in coordinate order."""
    if perm is None:
        return kernels.candidate_samples(mu_p, sigma_p, starts, indices, seed=seed,
                                         stream=stream, backend=backend)  # fmt: skip
    return _permuted_sample(mu_p, sigma_p, perm, starts, indices, seed, stream, backend)


def _layout(
    kl_bits: np.ndarray, model: IndexModel, known: tuple[int, ...] | None, strict: bool,
    keep_proxy: bool = False, strategy: str = "auto", seed: int = 0, stream: int = 0,
) -> tuple[ChunkLayout, int, bool, np.ndarray | None]:
    """(layout, log2 granularity, external, permutation or None): the decoder's layout
    ``known`` if it fits, else the encoder's own (:func:`own_layout`). A ``strict`` known
    layout (the caller's ``chunk_sizes``) must fit: every chunk <= MAX_CHUNK_BITS of KL; a
    proxy layout may not (and is kept anyway with ``keep_proxy``: the caller caps the
    candidates).
    """
    if known is None:
        return own_layout(kl_bits, model, strategy, seed, stream)
    layout = ChunkLayout(known)
    ckl = chunk_kl_bits(kl_bits, layout)
    if ckl.max() <= MAX_CHUNK_BITS or (keep_proxy and not strict):
        return layout, 0, True, None
    if not strict:  # the proxy misjudged this target: send a layout instead
        return own_layout(kl_bits, model, strategy, seed, stream)
    c = int(np.argmax(ckl))
    raise ValueError(f"chunk {c} of chunk_sizes carries {ckl[c]:.3g} bits of KL, more than "
                     f"{MAX_CHUNK_BITS:g}; use smaller chunks")  # fmt: skip


def decode(
    message: RCCMessage | bytes,
    mu_p: npt.ArrayLike,
    sigma_p: npt.ArrayLike,
    *,
    seed: int,
    backend: str = "auto",
    stream: int = 0,
    header: bool = True,
    max_chunk_bits: float = DEFAULT_MAX_CHUNK_BITS,
    padding: int = DEFAULT_PADDING,
    algorithm: Algorithm = "pfr",
    chunk_sizes: Sequence[int] | None = None,
    layout_kl_bits: npt.ArrayLike | None = None,
) -> np.ndarray:
    """The candidate the encoder selected, regenerated from (seed, stream, chunk, K_c) alone.

    .. math:: \\hat z_j = \\mu_{pj} + \\sigma_{pj}\\,\\varepsilon(\\mathrm{seed}, \\mathrm{stream},
              c, K_c, j - s_c),\\quad s_c \\le j < s_{c+1}

    THEORY.md §5 (counter-based shared randomness; layout in :mod:`rdptheory.kernels`).

    Parameters
    ----------
    message : RCCMessage, or bytes from ``RCCMessage.to_bytes()`` (``header=False``: the bare
        body, parsed with ``max_chunk_bits``, ``padding`` and ``algorithm``, which must match
        the encoder's)
    mu_p, sigma_p : the proposal, as given to :func:`encode`
    seed, stream : as given to :func:`encode`
    chunk_sizes, layout_kl_bits : the external layout or KL proxy given to :func:`encode`
    backend : kernel backend; any backend decodes any other's message

    Returns
    -------
    float64 array shaped like mu_p
    """
    mu_p_f, sigma_p_f, shape = check_proposal(mu_p, sigma_p)
    seed = check_int(seed, "seed", low=0, high=MAX_SEED)
    stream = check_int(stream, "stream", low=0, high=MAX_STREAM)
    proxy = None if layout_kl_bits is None else np.ravel(layout_kl_bits)
    if not isinstance(message, RCCMessage):
        message = RCCMessage.from_bytes(message, dims=mu_p_f.size, header=header,
                                        max_chunk_bits=max_chunk_bits,
                                        padding=padding, algorithm=algorithm,
                                        chunk_sizes=chunk_sizes, layout_kl_bits=proxy)  # fmt: skip
    if message.dims != mu_p_f.size:
        raise ValueError(f"message has {message.dims} dims but mu_p has {mu_p_f.size}")
    _check_message_layout(message, chunk_sizes, proxy)
    perm = diffc_permutation(seed, stream, message.dims) if message.permuted_layout else None
    z = _sample(mu_p_f, sigma_p_f, perm, message.chunk_starts,
                np.asarray(message.indices, np.int64), seed, stream, backend)
    return z.reshape(shape)


def _check_message_layout(message: RCCMessage, chunk_sizes, proxy) -> None:
    """ValueError if the decoder's own layout disagrees with the message's."""
    known = known_layout(message.dims, message.model, chunk_sizes, proxy)
    if known is None or (proxy is not None and not message.external_layout):
        return  # nothing to compare (a proxy message may carry its own layout)
    if message.chunk_sizes != known:
        what = "chunk_sizes" if proxy is None else "the layout of layout_kl_bits"
        raise ValueError(f"{what} differ from the message's layout")


# ------------------------------------------------------------------ DiffC steps


class StepTooLarge(ValueError):
    """A chunk of this step would need more than 2**MAX_CHUNK_BITS candidates."""


#: Largest quantised KL (bits) of one step.
MAX_STEP_KL = 2**24 - 1


class StepCode(NamedTuple):
    """One coded DiffC step: what is sent (``indices``, one per chunk of the shared
    permutation's equal split), the shared ``sample``, and the encoder's accounting (the KL in
    bits, its quantised value ``kl_q`` and the split exponent that fixed the chunk count)."""

    indices: np.ndarray
    sample: np.ndarray
    kl_bits: float
    kl_q: int
    split: int

    @property
    def n_chunks(self) -> int:
        """Chunk count C (what the stream sends besides the indices)."""
        return int(self.indices.size)


def _step_std(sigma: npt.ArrayLike, shape: tuple[int, ...], name: str) -> np.ndarray:
    """A step's standard deviations: a positive scalar or array broadcast to ``shape``, flat.

    A scalar gives exactly ``np.full(size, sigma)`` (the isotropic VE kernels' bytes).
    """
    sd = np.asarray(sigma, dtype=np.float64)
    try:
        sd = np.broadcast_to(sd, shape)
    except ValueError as exc:
        raise ValueError(f"{name} of shape {sd.shape} must broadcast to {shape}") from exc
    if not (np.isfinite(sd).all() and (sd > 0).all()):
        raise ValueError(f"{name} must be positive and finite")
    return np.ascontiguousarray(sd).ravel()


def encode_step(mu_q: np.ndarray, sigma_q: npt.ArrayLike, mu_p: np.ndarray,
                sigma_p: npt.ArrayLike, *, seed: int, stream: int, max_chunk_bits: float,
                padding: int, algorithm: Literal["pfr", "orc"], backend: str,
                layout_proxy: npt.ArrayLike | None = None) -> StepCode:
    """One step of a diffusion chain on the ``diffc`` layout whose size is the step's KL.

    .. math:: \\mathrm{KL}_q = \\lceil \\mathrm{KL}(q\\|p) \\rceil,\\quad
              C = \\mathrm{clip}(\\lceil \\mathrm{KL}_q / B \\rceil 2^e, 1, d)

    The layout is :func:`~rdptheory.rcc.layouts.diffc_split` (the split e is the first whose
    chunks carry <= B + 8 bits), and the stream sends only C and the indices
    (:meth:`~rdptheory.rcc.stream.RCCStreamWriter.add`); one shared candidate per chunk
    (``N_c = 2^(⌈KL_c⌉ + padding)``, encoder-side only). ``sigma_q`` / ``sigma_p``: positive
    scalars (the VE chain's isotropic kernels) or per-coordinate arrays broadcasting to
    ``mu_p``'s shape (shaped noise, a Gaussian model's eigen-directions); a scalar and the
    same value broadcast by hand give identical bytes. ``mu_q``/``mu_p`` are trusted (the
    codec validates them); a sigma that does not broadcast raises ``ValueError``.
    Raises :class:`StepTooLarge` if a chunk would carry more than :data:`MAX_CHUNK_BITS`.

    ``layout_proxy`` (optional, one finite value per coordinate, known to the decoder): use
    the stratified layout of :func:`~rdptheory.rcc.layouts.stratified_split` instead (the
    stream still carries only C); :func:`decode_step` needs the same proxy.
    """
    shape = np.shape(mu_p)
    mq, mp = np.ravel(mu_q), np.ravel(mu_p)
    if mq.size != mp.size:
        raise ValueError(f"mu_q has {mq.size} entries but mu_p has {mp.size}")
    sq, sp = _step_std(sigma_q, shape, "sigma_q"), _step_std(sigma_p, shape, "sigma_p")
    kl = kl_nats_to_bits(diagonal_gaussian_kl_nats(mq, sq, mp, sp))
    kl_q = int(min(np.ceil(float(kl.sum()) - 1e-9), MAX_STEP_KL))
    if layout_proxy is None:
        lay = diffc_split(kl, kl_q, max_chunk_bits, seed, stream)
    else:
        lay = stratified_split(kl, _step_proxy(layout_proxy, mp.size), kl_q, max_chunk_bits,
                               seed, stream, _step_bucket_bits(max_chunk_bits))
    if lay.chunk_kl.max() > MAX_CHUNK_BITS:
        raise StepTooLarge(f"a chunk carries {lay.chunk_kl.max():.1f} bits of KL")
    bits = candidate_bits(lay.chunk_kl, padding)
    p = lay.perm
    sel = kernels.pfr_select(mq[p], sq[p], mp[p], sp[p], lay.starts, bits, seed=seed,
                             encoder_seed=derive_encoder_seed(seed), stream=stream,
                             algorithm=algorithm, backend=backend)  # fmt: skip
    idx = np.asarray(sel.indices, dtype=np.int64)
    sample = _permuted_sample(mp, sp, p, lay.starts, idx, seed, stream, backend)
    return StepCode(idx, sample.reshape(shape), float(kl.sum()), kl_q, lay.split)


def decode_step(indices: npt.ArrayLike, mu_p: np.ndarray, sigma_p: npt.ArrayLike, *,
                seed: int, stream: int, backend: str,
                layout_proxy: npt.ArrayLike | None = None) -> np.ndarray:
    """The decoder's sample of one :func:`encode_step` step from its candidate ``indices``.

    .. math:: \\hat z_{\\pi(j)} = \\mu_{p\\pi(j)} + \\sigma_{p\\pi(j)}\\,
              \\varepsilon(\\mathrm{seed}, \\mathrm{stream}, c, K_c, j - s_c)

    with π the shared permutation of (seed, stream) and s_c the boundaries of C = len(indices)
    equal chunks. ``sigma_p``: a positive scalar or a per-coordinate array broadcasting to
    ``mu_p``, as given to :func:`encode_step`; ``layout_proxy``: the encoder's (the
    stratified layout of :func:`~rdptheory.rcc.layouts.stratified_layout` with C chunks).
    """
    mp = np.ravel(mu_p)
    sp = _step_std(sigma_p, np.shape(mu_p), "sigma_p")
    idx = np.asarray(indices, dtype=np.int64).ravel()
    if not 1 <= idx.size <= mp.size:
        raise ValueError(f"corrupted RCC step: {idx.size} chunks for {mp.size} coordinates")
    if layout_proxy is None:
        perm, starts = diffc_permutation(seed, stream, mp.size), equal_starts(mp.size, idx.size)
    else:
        order = stratified_order(_step_proxy(layout_proxy, mp.size), seed, stream)
        perm, starts = stratified_layout(order, idx.size)
    return _permuted_sample(mp, sp, perm, starts, idx, seed, stream,
                            backend).reshape(np.shape(mu_p))  # fmt: skip


def _step_bucket_bits(max_chunk_bits: float) -> np.ndarray:
    """Code length (bits) of an index in each bucket under the steps' index model:
    ``-log2 P(b) + max(b - 1, 0)``, b = 0..MAX_INDEX_BITS."""
    model = fmt.step_index_model(check_model_params(max_chunk_bits, 2))
    b = np.arange(MAX_INDEX_BITS + 1)
    return -np.log2(model.bucket_probabilities()) + np.maximum(b - 1, 0)


def _step_proxy(proxy: npt.ArrayLike, dims: int) -> np.ndarray:
    """A step's layout proxy, flat float64 with one finite entry per coordinate."""
    w = np.ravel(np.asarray(proxy, dtype=np.float64))
    if w.size != dims or not np.isfinite(w).all():
        raise ValueError(f"layout_proxy must be finite with one entry per coordinate ({dims}),"
                         f" got {w.size} entries")
    return w


def _permuted_sample(mu_p, sigma_p, perm, starts, indices, seed, stream, backend) -> np.ndarray:
    """Candidates of a permuted layout, put back in coordinate order."""
    z = kernels.candidate_samples(mu_p[perm], sigma_p[perm], starts, indices, seed=seed,
                                  stream=stream, backend=backend)  # fmt: skip
    out = np.empty_like(z)
    out[perm] = z
    return out
