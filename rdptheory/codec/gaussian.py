"""GaussianCodec: real bitstreams for a Gaussian source, decodable at any rho.

One encode, a whole distortion-perception curve at decode time: the encoder sends
Y = X + tN by reverse channel coding (THEORY.md §5), the decoder picks rho (or the D(P)-optimal
estimator) when it decodes the same bytes (THEORY.md §3, [WBZ26]).

- ``mode="one-shot"``: one RCC message for the batch, q(y|x) = N(x, t^2 I) against
  p(y) = N(0, Sigma + t^2 I) in the eigenbasis of Sigma, chunked by rdptheory.rcc.
- ``mode="progressive"``: a DiffC-style reverse chain [TSHM22] (VP chain in AWGN-equivalent
  coordinates, geometric noise grid) with exact Gaussian kernels; one record per step, so any
  prefix ending at a step boundary decodes to a coarser (higher noise) reconstruction.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from rdptheory._limits import DEFAULT_MAX_VALUES, MAX_RHO
from rdptheory._units import Unit, check_unit, nats_to, to_nats
from rdptheory._validation import as_float_array, check_choice, check_int, check_positive
from rdptheory.codec import _container
from rdptheory.codec.progressive import (
    ChainStep,
    GaussianChainModel,
    MessageCoder,
    decode_chain,
    encode_chain,
)
from rdptheory.diffusion import chain as _chain

Mode = Literal["one-shot", "progressive"]
#: The codec's channel-simulation algorithms and their code in the noise fingerprint.
_ALGORITHM_CODES = {"pfr": 0, "orc": 1, "ldq": 2, "hybrid": 3}


class CompressResult(NamedTuple):
    """A compressed batch and the encoder's own state (:meth:`GaussianCodec.compress_with_state`).

    ``data``: the file; ``states[j]``: the sample the encoder sent up to record j (eigenbasis,
    (n, d)), which the decoder of the first j + 1 records reproduces bit for bit.
    """

    data: bytes
    states: tuple[np.ndarray, ...]


def _eigen(variances: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray | None]:
    """(eigenvalues, eigenvectors or None) of a variance vector or a covariance matrix."""
    from rdptheory._validation import check_covariance, check_variances

    a = as_float_array(variances, "variances")
    if a.ndim == 2:
        lam, U = np.linalg.eigh(check_covariance(a, "variances"))
        return lam, U
    if a.ndim == 0:
        a = a.reshape(1)
    return check_variances(a, "variances"), None


def _check_noise(noise_var: npt.ArrayLike, d: int) -> np.ndarray:
    """t^2 per eigen-direction, shape (d,): a positive scalar, or (d,) with inf allowed."""
    t2 = check_positive(noise_var, "noise_var", allow_inf=True)
    if t2.ndim == 0:
        if not np.isfinite(t2):
            raise ValueError("noise_var must be finite when it is a scalar")
        return np.full(d, float(t2))
    if t2.shape != (d,) or not np.isfinite(t2).any():
        raise ValueError(f"noise_var must be a scalar or shape ({d},) with a finite entry")
    return t2


class GaussianCodec:
    """Compress (n, d) draws of N(0, Sigma) to bytes; decode the bytes at any rho.

    Parameters
    ----------
    variances : array_like, shape (d,) (diagonal Sigma) or (d, d) (full covariance, used
        through its eigenbasis; shaped noise and per-direction rho then follow the
        ascending eigenvalue order of :attr:`eigenvalues`).
    noise_var : float > 0 (isotropic t^2, the scheme of [WBZ26]) or shape (d,) per
        eigen-direction (shaped noise; ``inf`` switches a direction off).
    mode : "one-shot" or "progressive".
    seed : int in [0, 2^64), the shared seed (stored in the file).
    steps : progressive chain length (ignored for one-shot).
    max_chunk_bits, padding : RCC chunk KL budget B (bits) and candidate padding: each chunk
        draws 2^(ceil(KL) + padding) candidates (THEORY.md §5). Defaults (13, 4), measured by
        benchmarks/codec_overhead.py (white d = 256, n = 48, PFR, seed 0; real bits over
        R(D, P) at 1 bit/dim, MSE excess of Y over t^2 with s.e. 0.013, warm encode time on
        the loaded 2-core box; with the default headroom 6): (11, 4) +26.1%, 0.011, 11 s;
        (12, 4) +23.0%, 0.041, 22 s; (13, 4) +20.1%, 0.049, 35 s (0.5 bit/dim: +19.4%,
        0.039). The old default (10, 4), uncapped: +29.0%, 0.014. Each extra bit of B saves
        ~3 points of rate, about doubles the encoder's work and, at fixed padding, adds
        truncation bias (larger chunks scatter more in KL); DiffC's (14, 2) biases Y more
        (~12% excess). The overhead per chunk (~2.5 bits: the spread of the PFR index itself,
        see the benchmark) is why the rate gap falls only like 1/B.
    layout : "proxy" (default): both sides derive the chunk layout from the *expected* KL of
        each coordinate (I(X_i; Y_i), or its per-step share in progressive mode), so no layout
        is sent; "sent": the encoder's own KL-greedy layout is transmitted (side information).
    backend : RCC kernel backend ("auto", "numpy", "numba", ...).
    algorithm : RCC selection rule, "pfr" (truncated PFR [LEG18]) or "orc" (ordered random
        coding [Theis & Yosri 2022]); or "ldq", layered dithered quantisation
        (:mod:`rdptheory.rcc.dithered`: exact, no candidates, O(d) encode, but ~0.5 bit per
        coordinate above I(X; Y); ``max_chunk_bits``, ``padding``, ``layout`` and
        ``candidate_headroom`` do not apply); or "hybrid": ldq on the directions whose
        expected KL per coordinate is >= 2.6 bits (where ldq's ~0.52-bit leak is below PFR's
        ~0.2 bit per bit of KL), PFR on the others (:mod:`rdptheory.codec._hybrid`). The
        decoder must use the encoder's. Measured side by side:
        benchmarks/channel_simulation.py.
    candidate_headroom : int in [0, 12] or None (encoder-only): a chunk draws at most
        2^(ceil(B) + padding + headroom) candidates (``rcc.encode``'s ``max_candidate_bits``),
        so the rare chunk whose actual KL lands far above B (the per-sample KL of a chunk
        scatters by ~2.5 bits around B) neither dominates the encode time nor, above 24 bits,
        forces the whole chunk layout to be sent (measured: +23 points of rate on 1 of 4
        seeds at 0.5 bit/dim, d = 256, n = 48, B = 11) and cuts the encode time 5-7x (54 s to
        8 s at B = 11) for < 0.5 points of rate. None: no cap (the old behaviour).
    """

    def __init__(
        self, variances: npt.ArrayLike, noise_var: npt.ArrayLike, *, mode: Mode = "one-shot",
        seed: int = 0, steps: int = 8, max_chunk_bits: float = 13.0, padding: int = 4,
        layout: Literal["proxy", "sent"] = "proxy", backend: str = "auto",
        algorithm: Literal["pfr", "orc", "ldq", "hybrid"] = "pfr",
        candidate_headroom: int | None = 6,
    ) -> None:
        self.eigenvalues, self.eigenvectors = _eigen(variances)
        self.noise_var = _check_noise(noise_var, self.eigenvalues.size)
        self.mode: Mode = check_choice(mode, "mode", _container.MODES)  # type: ignore[assignment]
        self.seed = check_int(seed, "seed", low=0, high=2**64 - 1)
        self.steps = check_int(steps, "steps", low=1, high=4096) if mode == "progressive" else 1
        self.max_chunk_bits = float(check_positive(max_chunk_bits, "max_chunk_bits"))
        self.padding = check_int(padding, "padding", low=0, high=6)
        self.layout = check_choice(layout, "layout", ("proxy", "sent"))
        self.backend = backend
        self.algorithm: Literal["pfr", "orc", "ldq", "hybrid"] = check_choice(  # type: ignore[assignment]
            algorithm, "algorithm", tuple(_ALGORITHM_CODES))
        self._test_gain: np.ndarray | None = None  # set by `shaped` only
        self.candidate_headroom = (None if candidate_headroom is None else
                                   check_int(candidate_headroom, "candidate_headroom", low=0,
                                             high=12))
        self._live = np.isfinite(self.noise_var)
        self._grid = (_chain.geometric_grid(self.noise_var[self._live],
                                            self.eigenvalues[self._live], self.steps)
                      if mode == "progressive" else None)

    # ----------------------------------------------------------------- constructors
    @classmethod
    def for_rate(
        cls, variances: npt.ArrayLike, rate: float, *, unit: Unit = "bits", **kwargs: object
    ) -> GaussianCodec:
        """Isotropic codec whose ideal rate I(X; Y) is ``rate`` per sample (solve for t^2).

        .. math:: \\sum_i \\tfrac12\\log(1 + \\lambda_i / t^2) = R
        """
        lam, _ = _eigen(variances)
        r = float(to_nats(check_positive(rate, "rate"), check_unit(unit)))
        return cls(variances, _chain.noise_var_for_rate(lam, r), **kwargs)  # type: ignore[arg-type]

    @classmethod
    def shaped(
        cls, variances: npt.ArrayLike, D: float, P: float, **kwargs: object
    ) -> GaussianCodec:
        """Codec with the noise of the optimal forward test channel of R(D, P) (``w2sq``).

        Per eigen-direction t_i^2 from :func:`rdptheory.gaussian.rdp_vector_solution`
        (THEORY.md §2); decode with ``rho=codec.test_channel_rho`` to land on R(D, P).
        """
        from rdptheory.gaussian import rdp_vector_solution

        lam, _ = _eigen(variances)
        sol = rdp_vector_solution(D, P, lam)
        codec = cls(variances, np.asarray(sol.noise_var, dtype=float), **kwargs)  # type: ignore[arg-type]
        codec._test_gain = np.asarray(sol.gain, dtype=float)
        return codec

    # ----------------------------------------------------------------- properties
    @property
    def dim(self) -> int:
        """Dimension d of one sample."""
        return int(self.eigenvalues.size)

    def info_bits(self, unit: Unit = "bits") -> float:
        """I(X; Y) per sample: the ideal channel-simulation rate."""
        return float(nats_to(_chain.mutual_information_nats(self.eigenvalues, self.noise_var),
                             unit))

    @property
    def test_channel_rho(self) -> np.ndarray:
        """Per-direction rho_i with (lambda_i/(lambda_i + t_i^2))^(rho_i/2) = test-channel gain.

        Only for codecs built with :meth:`shaped`; switched-off directions get rho = 2.
        """
        gain = self._test_gain
        if gain is None:
            raise ValueError("test_channel_rho needs a codec built with GaussianCodec.shaped")
        log_c2 = -np.log1p(self.noise_var / self.eigenvalues)  # log(lambda/(lambda+t^2))
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.where(gain > 0, 2.0 * np.log(gain) / log_c2, 2.0)
        return np.where(np.isfinite(rho), rho, 2.0)

    def _fingerprints(self) -> tuple[int, int]:
        vecs = () if self.eigenvectors is None else (self.eigenvectors,)
        params = np.array([self.steps, self.max_chunk_bits, self.padding,
                           self.layout == "proxy", _ALGORITHM_CODES[self.algorithm]],
                          dtype=float)
        return (_container.fingerprint(self.eigenvalues, *vecs),
                _container.fingerprint(self.noise_var, params))

    # ----------------------------------------------------------------- coordinates
    def _to_eigen(self, x: np.ndarray) -> np.ndarray:
        return x if self.eigenvectors is None else x @ self.eigenvectors

    def _from_eigen(self, u: np.ndarray) -> np.ndarray:
        return u if self.eigenvectors is None else u @ self.eigenvectors.T

    def _check_x(self, x: npt.ArrayLike) -> np.ndarray:
        a = as_float_array(x, "x")
        if a.ndim == 1 and self.dim == 1:
            a = a[:, None]
        if a.ndim != 2 or a.shape[1] != self.dim or a.shape[0] == 0:
            raise ValueError(f"x must have shape (n, {self.dim}) with n >= 1, got {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError("x must be finite")
        if a.shape[0] >= 2**32:
            raise ValueError("x must have fewer than 2**32 rows")
        return a

    # ----------------------------------------------------------------- encode
    def compress(self, x: npt.ArrayLike) -> bytes:
        """Encode the rows of ``x`` (shape (n, d)) into bytes (header + records + CRC32s).

        The rate of the file is ``len(bytes) * 8 / n`` bits per sample, all side information
        included.
        """
        return self.compress_with_state(x).data

    def compress_with_state(self, x: npt.ArrayLike) -> CompressResult:
        """:meth:`compress`, and the encoder's own samples after each record.

        ``states[j]`` is what a decoder of the first ``j + 1`` records must reproduce bit for
        bit (:meth:`decode_observation`): shape (n, d) in the eigenbasis, 0 where t^2 = inf.
        The records are the steps of :func:`rdptheory.codec.progressive.encode_chain` with
        :class:`~rdptheory.codec.progressive.GaussianChainModel` (one-shot: a one-step chain).
        """
        u = self._to_eigen(self._check_x(x))[:, self._live]
        chain = encode_chain(u, self._model(), self._levels(), _RecordCoder(self, u.shape[0]))
        s_crc, n_crc = self._fingerprints()
        header = _container.Header(self.mode, u.shape[0], self.dim, self.seed, s_crc, n_crc,
                                   len(chain.symbols))
        states = []
        for y_live in chain.states:
            y_full = np.zeros((u.shape[0], self.dim))
            y_full[:, self._live] = y_live
            states.append(y_full)
        return CompressResult(_container.pack(header, chain.symbols), tuple(states))

    def _model(self) -> GaussianChainModel:
        """The source N(0, diag lambda) on the live directions."""
        return GaussianChainModel(self.eigenvalues[self._live])

    def _levels(self) -> list[np.ndarray]:
        """Noise variances per step (live directions), top first: one for one-shot."""
        if self._grid is None:
            return [self.noise_var[self._live]]
        return [self._grid[k] for k in range(self.steps, -1, -1)]

    def _candidate_cap(self) -> int | None:
        """ceil(B) + padding + headroom, capped at 30 (the index coder's largest bucket)."""
        if self.candidate_headroom is None:
            return None
        return min(math.ceil(self.max_chunk_bits) + self.padding + self.candidate_headroom, 30)

    def _layout_proxy(self, a: np.ndarray, b: np.ndarray | None, n: int) -> np.ndarray | None:
        r"""Expected KL (bits) per coordinate of a message, known to both sides.

        .. math:: E\,\mathrm{KL} = I(X; Y_a) - I(X; Y_b)
                  = \tfrac12\log_2\frac{1 + \lambda/a}{1 + \lambda/b}

        (b = inf for the first message): the chain rule on X - Y_a - Y_b (THEORY.md §4).
        """
        if self.layout == "sent":
            return None
        lam = self.eigenvalues[self._live]
        info = 0.5 * np.log2(1.0 + lam / a)
        if b is not None:
            info = info - 0.5 * np.log2(1.0 + lam / b)
        return np.tile(info, n)

    # ----------------------------------------------------------------- decode
    def decode_observation(
        self, data: bytes, *, steps: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(y in the eigenbasis, shape (n, d); its noise level t^2 per direction, shape (d,)).

        ``steps`` limits a progressive file to its first ``steps`` records (top level first);
        so does a ``data`` prefix that ends at a record boundary. Switched-off directions
        (t^2 = inf) decode to y = 0.
        """
        header, records = self._read(data)
        if steps is not None:
            records = records[: check_int(steps, "steps", low=1, high=header.n_records)]
        self._check_plausible(header.n, records)
        levels = self._levels()
        y_live = decode_chain(records, self._model(), levels, _RecordCoder(self, header.n),
                              (header.n, int(self._live.sum())))
        level = levels[len(records) - 1]
        y = np.zeros((header.n, self.dim))
        y[:, self._live] = y_live
        t2 = np.full(self.dim, np.inf)
        t2[self._live] = level
        return y, t2

    def _check_plausible(self, n: int, records: list[bytes]) -> None:
        r"""``ValueError`` unless ``n`` vectors fit the records given, checked before decoding.

        The records up to level a carry the expected KL n I(X; Y_a) (the chain rule), and a
        range-coded body spends at least ~1 bit per bit of KL. Refused (our own margin, 4x,
        plus 64 bits per record and 1024 bits):

        .. math:: n \sum_i \tfrac12\log_2(1 + \lambda_i / a_i)
                  > 4\,(8 \cdot \mathrm{bytes} + 64 \cdot \mathrm{records}) + 1024
        """
        lam = self.eigenvalues[self._live]
        level = self._levels()[len(records) - 1]
        info_bits = n * float(np.sum(0.5 * np.log2(1.0 + lam / level)))
        have = 8 * sum(len(r) for r in records) + 64 * len(records)
        if info_bits > 4 * have + 1024:
            raise ValueError(f"corrupted {_container.WHAT}: {n} vectors carry ~{info_bits:.3g} "
                             f"bits, more than {sum(len(r) for r in records)} record bytes "
                             "can hold")

    def _read(self, data: bytes) -> tuple[_container.Header, list[bytes]]:
        header, pos = _container.unpack_header(data)
        s_crc, n_crc = self._fingerprints()
        if header.d != self.dim or header.source_crc != s_crc or header.mode != self.mode:
            raise ValueError("data was written by a codec with another source, dimension or mode")
        if header.noise_crc != n_crc or header.seed != self.seed:
            raise ValueError("data was written by a codec with other noise levels or seed")
        if header.n < 1 or header.n * self.dim > DEFAULT_MAX_VALUES:
            raise ValueError(f"corrupted {_container.WHAT}: it declares {header.n} vectors of "
                             f"dimension {self.dim}; at most {DEFAULT_MAX_VALUES} values "
                             "(n x d) are decoded")
        if header.n_records != (1 if self.mode == "one-shot" else self.steps + 1):
            raise ValueError(f"corrupted {_container.WHAT}: {header.n_records} records for "
                             f"a {self.mode} codec of {self.steps} steps")
        records = _container.unpack_records(bytes(data), pos, header.n_records)
        if not records or (self.mode == "one-shot" and len(records) != header.n_records):
            raise ValueError("data is truncated: no complete record")
        return header, records

    def decompress(
        self, data: bytes, *, rho: npt.ArrayLike = 1.0, steps: int | None = None,
        ode_steps: int | None = None,
    ) -> np.ndarray:
        """Decode ``data`` with the score-scaled PF-ODE at ``rho``; shape (n, d).

        .. math:: \\hat X_i = \\Big(\\frac{\\lambda_i}{\\lambda_i + t_i^2}\\Big)^{\\rho_i/2} Y_i

        the exact Gaussian map (THEORY.md §3, derived), via
        :meth:`rdptheory.diffusion.GaussianModel.exact_decode` for isotropic noise. With
        ``ode_steps`` (isotropic noise only) the PF-ODE is integrated numerically instead,
        :func:`rdptheory.diffusion.decode` (VP schedule, Heun, analytic score) -- the same
        decoder a diffusion model would use. ``rho``: in [0, :data:`rdptheory._limits.MAX_RHO`]
        (= 10), a scalar or one rho_i per eigen-direction (shape (d,)); ``steps``: decode only
        the first records (progressive); ``ode_steps`` in [1, 10000].

        Raises ``ValueError`` for damaged or crafted data (wrong codec, more than
        :data:`rdptheory._limits.DEFAULT_MAX_VALUES` values, more vectors than the records can
        carry, undecodable records) before anything of the declared size is allocated.
        """
        rho_a = np.asarray(as_float_array(rho, "rho"))
        if rho_a.ndim > 1 or (rho_a.ndim == 1 and rho_a.shape != (self.dim,)):
            raise ValueError(f"rho must be a scalar or shape ({self.dim},), got {rho_a.shape}")
        if not (np.isfinite(rho_a).all() and (rho_a >= 0).all() and (rho_a <= MAX_RHO).all()):
            raise ValueError(f"rho must lie in [0, {MAX_RHO:g}] (finite)")
        if ode_steps is not None:
            ode_steps = check_int(ode_steps, "ode_steps", low=1, high=10_000)
        try:
            y, t2 = self.decode_observation(data, steps=steps)
        except MemoryError as exc:
            raise ValueError("not enough memory to decode this file's vectors") from exc
        if ode_steps is None:
            return self._from_eigen(self._score_scaled(y, t2, rho_a))
        return self._from_eigen(self._ode(y, t2, rho_a, ode_steps))

    def _ode(self, y: np.ndarray, t2: np.ndarray, rho: np.ndarray, steps: int) -> np.ndarray:
        from rdptheory.diffusion import GaussianModel, decode

        if not (np.all(t2 == t2[0]) and np.isfinite(t2[0])):
            raise ValueError("ode_steps needs isotropic noise (the PF-ODE has one noise level)")
        model = GaussianModel(np.zeros(self.dim), self.eigenvalues)
        return np.asarray(decode(model, y, float(t2[0]), rho, solver="heun", steps=steps))

    def _score_scaled(self, y: np.ndarray, t2: np.ndarray, rho: np.ndarray) -> np.ndarray:
        if np.all(t2 == t2[0]) and np.isfinite(t2[0]):
            from rdptheory.diffusion import GaussianModel

            model = GaussianModel(np.zeros(self.dim), self.eigenvalues)
            return np.asarray(model.exact_decode(y, float(t2[0]), rho))
        log_c2 = -np.log1p(t2 / self.eigenvalues)  # -inf where switched off: gain 0
        return np.exp(0.5 * rho * log_c2) * y

    def decompress_dp_optimal(
        self, data: bytes, perception: float, *, steps: int | None = None
    ) -> np.ndarray:
        """The D(P)-optimal estimate with W2^2(p_X, p_X_hat) <= ``perception`` [FMM21].

        .. math:: \\hat X = ((1 - \\alpha) I + \\alpha T) E[X|Y],\\quad
                  \\alpha = (1 - \\sqrt{P}/W_2(p_X, p_{X^*}))_+

        Gains from :func:`rdptheory.gaussian.dp_awgn` (one alpha for every direction).
        """
        from rdptheory.gaussian import dp_awgn

        y, t2 = self.decode_observation(data, steps=steps)
        live = np.isfinite(t2)
        gains = np.zeros(self.dim)
        gains[live] = dp_awgn(perception, self.eigenvalues[live], t2[live]).gain
        return self._from_eigen(gains * y)


class _RecordCoder:
    """The Gaussian codec's step coder: one record per step (a prefix of records decodes).

    "pfr"/"orc": an RCC message on the decoder-known expected-KL layout
    (:class:`~rdptheory.codec.progressive.MessageCoder`, ``layout="proxy"``); "ldq": layered
    dithered quantisation; "hybrid": ldq on the high-rate directions, PFR on the others.
    """

    def __init__(self, codec: GaussianCodec, n: int) -> None:
        self.codec, self.n = codec, n
        pfr = "pfr" if codec.algorithm in ("ldq", "hybrid") else codec.algorithm
        self.pfr = MessageCoder(seed=codec.seed, max_chunk_bits=codec.max_chunk_bits,
                                padding=codec.padding, algorithm=pfr, backend=codec.backend,
                                layout_kl=lambda st: codec._layout_proxy(st.s2, st.t2, n),
                                max_candidate_bits=codec._candidate_cap())

    def encode(self, step: ChainStep) -> tuple[bytes, np.ndarray]:
        """(record body, sample)."""
        if self.codec.algorithm == "ldq":
            from rdptheory.rcc.dithered import encode_ldq

            assert step.mu_q is not None  # the encoder's view
            msg = encode_ldq(step.mu_q, step.sigma_q, step.mu_p, step.sigma_p,
                             seed=self.codec.seed, stream=step.k)
            return msg.body(), np.asarray(msg.sample).reshape(step.mu_p.shape)
        if self.codec.algorithm == "hybrid":
            return self._hybrid(step, None)  # type: ignore[return-value]
        return self.pfr.encode(step)

    def decode(self, body: bytes, step: ChainStep) -> np.ndarray:
        """The sample of one record body (``ValueError`` if corrupt)."""
        if self.codec.algorithm == "ldq":
            from rdptheory.rcc.dithered import decode_ldq

            sd_q = np.broadcast_to(step.sigma_q, step.mu_p.shape)
            return decode_ldq(body, step.mu_p, step.sigma_p, sd_q, seed=self.codec.seed,
                              stream=step.k)
        if self.codec.algorithm == "hybrid":
            return self._hybrid(step, body)  # type: ignore[return-value]
        return self.pfr.decode(body, step)

    def _hybrid(self, step: ChainStep, body: bytes | None):  # type: ignore[no-untyped-def]
        """Encode (``body`` None: (record, sample)) or decode (the sample) a "hybrid" record:
        ldq on directions of >= 2.6 expected bits, PFR on the others."""
        from rdptheory.codec import _hybrid

        codec = self.codec
        info = _hybrid.expected_bits(codec.eigenvalues[codec._live], step.s2, step.t2)
        hi = _hybrid.ldq_directions(info)
        layout = None if codec.layout == "sent" else np.tile(info[~hi], self.n)
        if body is None:
            assert step.mu_q is not None  # the encoder's view
            pfr = lambda mq, sq, mp, sp, lay: self.pfr.encode_flat(mq, sq, mp, sp, step.k, lay)  # noqa: E731
            return _hybrid.encode_split(step.mu_q, step.sigma_q, step.mu_p, step.sigma_p, hi,
                                        seed=codec.seed, stream=step.k, pfr=pfr,
                                        pfr_layout=layout)
        dec = lambda rec, mp, sp, lay: self.pfr.decode_flat(rec, mp, sp, step.k, lay)  # noqa: E731
        return _hybrid.decode_split(body, step.mu_p, step.sigma_p, step.sigma_q, hi,
                                    seed=codec.seed, stream=step.k, pfr=dec, pfr_layout=layout)
