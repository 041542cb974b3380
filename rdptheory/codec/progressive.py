"""One progressive codec over a model protocol: a VE chain whose steps are RCC messages.

Both codecs of the package are this loop (:func:`encode_chain` / :func:`decode_chain`) run with
a model and a step coder:

- the Gaussian codec (:class:`rdptheory.codec.GaussianCodec`): :class:`GaussianChainModel`
  (the exact posterior of a ``N(0, diag λ)`` source, so the reverse step is the exact reverse
  kernel), per eigen-direction noise levels, one record per step (:class:`MessageCoder`);
- the image codec (:mod:`rdptheory.images.codec`): :class:`PlugInModel` over an image model's
  denoiser (DiffC's plug-in step [TSHM22, VL25]), one scalar level per step, one RCC step
  stream (:class:`DiffCStepCoder`).

One-shot coding is a one-step chain (a single level). Step ``k`` moves the state from level
``t²`` (the previous one; none for ``k = 0``) to ``s²`` (:mod:`rdptheory.diffusion.chain`):

.. math::

    k = 0:&\\quad q = \\mathcal N(x, s^2),\\quad p = \\mathcal N(0, s^2 + \\lambda_{\\rm prior})\\\\
    k > 0:&\\quad q = q(y_s \\mid y_t, x),\\quad
        p = \\mathcal N\\big(\\hat x_0 + r(y_t - \\hat x_0),\\ s^2(1 - r) + (1 - r)^2 v\\big),
        \\quad r = s^2 / t^2

with ``x̂₀ = model.denoise(y_t, t²)`` and ``v = model.posterior_var(y_t, t²)``
(:func:`rdptheory.diffusion.chain.reverse_step`). The decoder knows p (it depends only on what
was already decoded) and regenerates the encoder's sample from the step's symbols; a step's
stream index is ``k`` (independent shared randomness per step under one seed).

>>> import numpy as np
>>> model = GaussianChainModel([1.0, 0.5, 0.25])
>>> x = np.array([[0.3, -1.2, 0.4]])
>>> coder = DiffCStepCoder(seed=1, max_chunk_bits=8.0, backend="numpy")
>>> sent = encode_chain(x, model, [1.0, 0.1], coder)  # two steps, one RCC stream
>>> symbols = DiffCStepCoder.read(coder.payload, 2, dims=3, max_chunk_bits=8.0)
>>> y = decode_chain(symbols, model, [1.0, 0.1], coder, x.shape)
>>> bool(np.array_equal(y, sent.states[-1]))
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from rdptheory import rcc
from rdptheory._validation import check_positive
from rdptheory.diffusion import chain as _chain

__all__ = [
    "ChainModel",
    "ChainResult",
    "ChainStep",
    "DiffCStepCoder",
    "GaussianChainModel",
    "MessageCoder",
    "PlugInModel",
    "StepCoder",
    "StopChain",
    "decode_chain",
    "encode_chain",
    "step_gaussians",
]


@runtime_checkable
class ChainModel(Protocol):
    """What the progressive codec needs of a model of the source x.

    ``prior_var``: the variance of x per coordinate (scalar or broadcasting to the state) that
    the data-free first proposal ``N(0, s² + prior_var)`` assumes; ``denoise(y, t2)``: the
    estimate ``x̂₀ = E[x | y_t]`` (float64, the state's shape); ``posterior_var(y, t2)``: the
    variance ``v`` the model assigns to x around ``x̂₀`` (scalar or broadcasting; 0 for the
    plug-in step).
    """

    @property
    def prior_var(self) -> float | np.ndarray: ...

    def denoise(self, y: np.ndarray, t2: npt.ArrayLike) -> np.ndarray: ...

    def posterior_var(self, y: np.ndarray, t2: npt.ArrayLike) -> float | np.ndarray: ...


class GaussianChainModel:
    """``N(0, diag λ)``, exact: ``x̂₀ = λ y / (λ + t²)``, ``v = λ t² / (λ + t²)``.

    .. math:: E[x \\mid y_t] = \\frac{\\lambda}{\\lambda + t^2} y_t,\\qquad
              \\mathrm{Var}[x \\mid y_t] = \\frac{\\lambda t^2}{\\lambda + t^2}

    :class:`rdptheory.diffusion.GaussianModel` in its eigenbasis, with one noise level per
    direction (``t2`` broadcasts against λ, shape (d,)). With it the reverse step is the exact
    kernel :func:`rdptheory.diffusion.chain.gaussian_reverse_kernel` (equal to rounding), so the
    expected KLs of the chain telescope to I(X; Y) (THEORY.md §4).

    Parameters
    ----------
    variances : positive float array (d,), λ (the eigenvalues of Σ)
    """

    def __init__(self, variances: npt.ArrayLike) -> None:
        lam = check_positive(variances, "variances")
        if lam.ndim != 1 or lam.size == 0:
            raise ValueError(f"variances must be a non-empty 1-D array, got shape {lam.shape}")
        self.variances = lam

    @property
    def prior_var(self) -> np.ndarray:
        """λ: the source's variance per direction."""
        return self.variances

    def denoise(self, y: np.ndarray, t2: npt.ArrayLike) -> np.ndarray:
        """E[x | y_t] (shape of ``y``)."""
        return self.variances / (self.variances + np.asarray(t2, dtype=float)) * y

    def posterior_var(self, y: np.ndarray, t2: npt.ArrayLike) -> np.ndarray:
        """Var[x | y_t] per direction (shape (d,)); independent of ``y``."""
        t2 = np.asarray(t2, dtype=float)
        return self.variances * t2 / (self.variances + t2)


class PlugInModel:
    """DiffC's plug-in step over any denoiser: ``v = 0`` (p = q(· | y_t, x̂₀)).

    Parameters
    ----------
    denoiser : an object with ``denoise(y, t2)`` (an image model, a diffusion model), its
        output converted to float64 numpy
    prior_var : float > 0, the data variance of the first proposal (images in [-1, 1]:
        :data:`rdptheory.diffusion.chain.PRIOR_DATA_VAR`)
    """

    def __init__(self, denoiser: Any, prior_var: float = _chain.PRIOR_DATA_VAR) -> None:
        if not callable(getattr(denoiser, "denoise", None)):
            raise TypeError(f"denoiser must have a denoise(y, t2) method, got "
                            f"{type(denoiser).__name__}")
        self.denoiser = denoiser
        self._prior_var = float(check_positive(prior_var, "prior_var"))

    @property
    def prior_var(self) -> float:
        """The first proposal's data variance."""
        return self._prior_var

    def denoise(self, y: np.ndarray, t2: npt.ArrayLike) -> np.ndarray:
        """The denoiser's x̂₀ as float64 numpy."""
        return np.asarray(self.denoiser.denoise(y, t2), dtype=np.float64)

    def posterior_var(self, y: np.ndarray, t2: npt.ArrayLike) -> float:
        """0: the plug-in step."""
        return 0.0


class ChainStep(NamedTuple):
    """One step as a step coder sees it.

    ``k``: step index (also the RCC stream); ``s2``: the level reached; ``t2``: the previous
    level (None for the first step); ``mu_q`` (None on the decoder's side), ``sigma_q``: the
    target; ``mu_p``, ``sigma_p``: the proposal. Stds are floats for scalar levels, else
    arrays broadcast to the state's shape. ``sigma_q`` depends on the levels only, so the
    decoder has it too.
    """

    k: int
    s2: Any
    t2: Any
    mu_q: np.ndarray | None
    sigma_q: Any
    mu_p: np.ndarray
    sigma_p: Any


def step_gaussians(model: ChainModel, x: np.ndarray | None, y: np.ndarray | None, k: int,
                   s2: Any, t2: Any, shape: tuple[int, ...]) -> ChainStep:
    """Step ``k`` from state ``y`` at level ``t2`` to ``s2`` (``x`` None: the decoder's view).

    The first step (``y`` None) is :func:`~rdptheory.diffusion.chain.first_step` with the
    model's ``prior_var``; later steps pair
    :func:`~rdptheory.diffusion.chain.forward_posterior` with
    :func:`~rdptheory.diffusion.chain.reverse_step` at the model's ``x̂₀`` and ``v``.
    """
    if y is None:
        first = _chain.first_step(np.zeros(shape) if x is None else x, s2, model.prior_var)
        return ChainStep(k, s2, None, x, first.sigma_q, first.mu_p, first.sigma_p)
    mu_p, sigma_p = _chain.reverse_step(model.denoise(y, t2), y, s2, t2,
                                        model.posterior_var(y, t2))  # fmt: skip
    mu_q, sigma_q = _chain.forward_posterior(y if x is None else x, y, s2, t2)
    return ChainStep(k, s2, t2, None if x is None else mu_q, sigma_q, mu_p, sigma_p)


class StopChain(Exception):  # noqa: N818 (a control-flow signal, not an error)
    """Raised by a step coder's ``encode``: do not send this step; the chain ends before it."""


class StepCoder(Protocol):
    """Turns a step into symbols and back: ``encode(step) -> (symbol, sample)`` (may raise
    :class:`StopChain`) and ``decode(symbol, step) -> sample``; the decoder's sample must equal
    the encoder's bit for bit."""

    def encode(self, step: ChainStep) -> tuple[Any, np.ndarray]: ...

    def decode(self, symbol: Any, step: ChainStep) -> np.ndarray: ...


class ChainResult(NamedTuple):
    """The symbols of the steps sent and the encoder's state after each (float64)."""

    symbols: list[Any]
    states: list[np.ndarray]


def _check_levels(levels: Sequence[Any] | np.ndarray) -> list[Any]:
    """The levels as a non-empty list, each positive and finite, strictly decreasing."""
    out = [float(v) if np.ndim(v) == 0 else np.asarray(v, dtype=float) for v in levels]
    if not out:
        raise ValueError("levels must hold at least one noise level")
    for j, v in enumerate(out):
        check_positive(v, f"levels[{j}]")
        if j and not np.all(np.asarray(v) < np.asarray(out[j - 1])):
            raise ValueError("levels must decrease strictly (noise variances, top first)")
    return out


def encode_chain(x: npt.ArrayLike, model: ChainModel, levels: Sequence[Any] | np.ndarray,
                 coder: StepCoder) -> ChainResult:
    """Send ``x`` down the chain of noise variances ``levels`` (top first), one step each.

    Stops early where the coder raises :class:`StopChain` (a bit budget, a step too large);
    the first step must be sent (``ValueError`` otherwise).

    Parameters
    ----------
    x : finite float array, the source in the model's coordinates (the state's shape)
    model : ChainModel
    levels : noise variances t² per step, top first, strictly decreasing; each a scalar or an
        array broadcasting to ``x`` (one level per direction). One level: one-shot coding.
    coder : StepCoder

    Returns
    -------
    ChainResult: the symbols sent and the samples ``y_k`` the decoder will reproduce.
    """
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError("x must be finite")
    levels = _check_levels(levels)
    symbols: list[Any] = []
    states: list[np.ndarray] = []
    y: np.ndarray | None = None
    for k, s2 in enumerate(levels):
        step = step_gaussians(model, x, y, k, s2, None if k == 0 else levels[k - 1], x.shape)
        try:
            symbol, y = coder.encode(step)
        except StopChain:
            if k == 0:
                raise ValueError("the first step of the chain cannot be coded") from None
            break
        symbols.append(symbol)
        states.append(np.asarray(y, dtype=np.float64))
    return ChainResult(symbols, states)


def decode_chain(symbols: Sequence[Any], model: ChainModel,
                 levels: Sequence[Any] | np.ndarray, coder: StepCoder,
                 shape: tuple[int, ...]) -> np.ndarray:
    """The state after the steps of ``symbols`` (the first ``len(symbols)`` levels).

    Parameters
    ----------
    symbols : what the coder's ``encode`` returned for the first steps (at least one)
    model, levels, coder : as given to :func:`encode_chain`
    shape : the state's shape

    Returns
    -------
    float64 array of ``shape``: the encoder's ``states[len(symbols) - 1]``, bit for bit.
    """
    levels = _check_levels(levels)
    if not 1 <= len(symbols) <= len(levels):
        raise ValueError(f"need between 1 and {len(levels)} steps, got {len(symbols)}")
    y: np.ndarray | None = None
    for k, symbol in enumerate(symbols):
        step = step_gaussians(model, None, y, k, levels[k], None if k == 0 else levels[k - 1],
                              shape)
        y = np.asarray(coder.decode(symbol, step), dtype=np.float64)
    assert y is not None  # at least one step
    return y


# ------------------------------------------------------------------ step coders


class DiffCStepCoder:
    """Steps on DiffC's layout in ONE RCC stream (:meth:`rdptheory.rcc.RCCStreamWriter.add`).

    Each step is :func:`rdptheory.rcc.encode_step` (the step's KL fixes the chunk count of the
    shared permutation's equal split); its symbol is the candidate indices (one per chunk; the
    stream sends their count and them). The encoder appends the step to a copy of the
    accepted stream and asks ``accept(n_steps, payload)`` whether the longer stream may be
    kept (a bit budget; step 0 is always kept); if not, or if a chunk would carry more than
    :data:`rdptheory.rcc.MAX_CHUNK_BITS`, it raises :class:`StopChain`. :attr:`payload` is
    then the stream of the steps sent (whole 32-bit words; the decoder needs only B).

    Parameters
    ----------
    seed : the shared seed
    max_chunk_bits, padding, algorithm, backend : the RCC settings (:func:`rcc.encode_step`)
    accept : optional ``(n_steps, payload) -> bool``; default: every step is kept
    """

    def __init__(self, *, seed: int, max_chunk_bits: float, padding: int = 2,
                 algorithm: Literal["pfr", "orc"] = "pfr", backend: str = "auto",
                 accept: Callable[[int, bytes], bool] | None = None) -> None:
        self.seed, self.max_chunk_bits, self.padding = seed, max_chunk_bits, padding
        self.algorithm, self.backend, self.accept = algorithm, backend, accept
        self._writer = rcc.RCCStreamWriter(max_chunk_bits)
        self.payload = self._writer.payload()
        self.kl_bits: list[float] = []

    def encode(self, step: ChainStep, layout_proxy: np.ndarray | None = None,
               ) -> tuple[np.ndarray, np.ndarray]:
        """``(indices, sample)``; :class:`StopChain` if the step is not sent.
        ``layout_proxy``: a decoder-known per-coordinate KL proxy for the stratified layout
        (:func:`rdptheory.rcc.encode_step`); the decoder passes the same."""
        assert step.mu_q is not None  # the encoder's view
        try:
            code = rcc.encode_step(step.mu_q, step.sigma_q, step.mu_p, step.sigma_p,
                                   seed=self.seed, stream=step.k,
                                   max_chunk_bits=self.max_chunk_bits, padding=self.padding,
                                   algorithm=self.algorithm, backend=self.backend,
                                   layout_proxy=layout_proxy)
        except rcc.StepTooLarge:
            raise StopChain from None
        trial = self._writer.copy()
        trial.add(code.indices)
        payload = trial.payload()
        if step.k > 0 and self.accept is not None and not self.accept(step.k + 1, payload):
            raise StopChain
        self._writer, self.payload = trial, payload
        self.kl_bits.append(code.kl_bits)
        return code.indices, code.sample

    def decode(self, symbol: np.ndarray, step: ChainStep,
               layout_proxy: np.ndarray | None = None) -> np.ndarray:
        """The step's sample from its indices (:func:`rcc.decode_step`)."""
        return rcc.decode_step(symbol, step.mu_p, step.sigma_p, seed=self.seed, stream=step.k,
                               backend=self.backend, layout_proxy=layout_proxy)

    @staticmethod
    def read(payload: bytes, n_steps: int, dims: int, max_chunk_bits: float) -> list[np.ndarray]:
        """The symbols of the first ``n_steps`` steps of a payload (:func:`rcc.read_steps`)."""
        return rcc.read_steps(payload, n_steps, dims, max_chunk_bits)


class MessageCoder:
    """One headerless RCC message per step (a record of its own: a prefix of records decodes).

    Each step is :func:`rdptheory.rcc.encode` with a decoder-known layout when ``layout_kl``
    gives one (the ``known`` layout of an expected-KL proxy: no layout is sent); its symbol is
    the message body. The decoder needs the same settings.

    Parameters
    ----------
    seed, max_chunk_bits, padding, algorithm, backend : the RCC settings
    layout_kl : optional ``step -> per-coordinate KL proxy (bits, flat) or None``, a function
        of what the decoder knows (levels, model)
    max_candidate_bits : encoder-only candidate cap (:func:`rcc.encode`)
    """

    def __init__(self, *, seed: int, max_chunk_bits: float, padding: int,
                 algorithm: str = "pfr", backend: str = "auto",
                 layout_kl: Callable[[ChainStep], np.ndarray | None] | None = None,
                 max_candidate_bits: int | None = None) -> None:
        self.seed, self.max_chunk_bits, self.padding = seed, max_chunk_bits, padding
        self.algorithm, self.backend = algorithm, backend
        self.layout_kl = (lambda step: None) if layout_kl is None else layout_kl
        self.max_candidate_bits = max_candidate_bits

    def encode_flat(self, mu_q: np.ndarray, sigma_q: Any, mu_p: np.ndarray, sigma_p: Any,
                    stream: int, layout_kl_bits: np.ndarray | None) -> tuple[bytes, np.ndarray]:
        """(body, sample) of one message over flat arrays."""
        msg = rcc.encode(mu_q, sigma_q, mu_p, sigma_p, seed=self.seed, stream=stream,
                         max_chunk_bits=self.max_chunk_bits, padding=self.padding,
                         backend=self.backend, algorithm=self.algorithm,  # type: ignore[arg-type]
                         layout_kl_bits=layout_kl_bits,
                         max_candidate_bits=self.max_candidate_bits)
        return msg.to_bytes(header=False), np.asarray(msg.sample, dtype=np.float64)

    def decode_flat(self, body: bytes, mu_p: np.ndarray, sigma_p: Any, stream: int,
                    layout_kl_bits: np.ndarray | None) -> np.ndarray:
        """The sample of one message body over flat arrays (``ValueError`` if corrupt)."""
        return np.asarray(rcc.decode(body, mu_p, sigma_p, seed=self.seed, stream=stream,
                                     backend=self.backend, header=False,
                                     max_chunk_bits=self.max_chunk_bits, padding=self.padding,
                                     algorithm=self.algorithm,  # type: ignore[arg-type]
                                     layout_kl_bits=layout_kl_bits), dtype=np.float64)

    def encode(self, step: ChainStep) -> tuple[bytes, np.ndarray]:
        """(message body, sample)."""
        assert step.mu_q is not None  # the encoder's view
        shape = step.mu_p.shape
        body, sample = self.encode_flat(
            step.mu_q.ravel(), _flat(step.sigma_q, shape), step.mu_p.ravel(),
            _flat(step.sigma_p, shape), step.k, self.layout_kl(step))
        return body, sample.reshape(shape)

    def decode(self, symbol: bytes, step: ChainStep) -> np.ndarray:
        """The sample of one message body."""
        shape = step.mu_p.shape
        return self.decode_flat(symbol, step.mu_p.ravel(), _flat(step.sigma_p, shape), step.k,
                                self.layout_kl(step)).reshape(shape)


def _flat(sd: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A std (float or broadcast array) as a flat array of the state's size."""
    return np.ravel(np.broadcast_to(np.asarray(sd, dtype=np.float64), shape))
