r"""A shaped-noise DiffC chain for the tiled patch GMM: ladders, the chain model, decoders.

Issue 15 item 2. The image (model space, ``(3, H, W)``, H and W multiples of the patch) is
cut into non-overlapping ``p × p`` colour patches (the tiling of
:class:`~rdptheory.models.patch_gmm.PatchGMMImageModel`), and each patch is seen in a fixed
orthonormal basis ``B`` known to both sides (the 8×8×3 block DCT,
:func:`rdptheory.images.shaped.block_dct_basis`). The chain's state is ``y^B = x^B + n``,
``n_i ~ N(0, 1/snr_i)`` per basis coefficient, with one ladder of SNR vectors for all patches
(:func:`ladder_snr`, built from a :class:`ShapingRecipe`; one scalar, the water level θ = t²,
indexes it):

- ``"isotropic"``: ``snr_i = 1/t²`` (the codec's ladder,
  :func:`rdptheory.diffusion.chain.noise_ladder`);
- ``"mse"``: reverse water-filling on the model's per-coefficient variances λ_i,
  ``snr_i = (1/t² − 1/λ_i)₊`` (:func:`rdptheory.images.shaped.water_filling_snr`);
- ``"perception"``: the D(R, P)-optimal forward channel at the Gaussian rate of the ``"mse"``
  level and the W₂² budget P (:func:`rdptheory.images.shaped.shaped_snr`).

**The chain is the package's one progressive codec** (:mod:`rdptheory.codec.progressive`):
:class:`ShapedChainModel` is its ``ChainModel`` (state ``y^B``, shape (N, d)) and
:func:`chain_levels` turns the ladder into its per-coefficient noise variances; a coefficient
not sent yet sits at a huge finite variance (:data:`T_DEAD2`), so that every step codes every
coefficient and the unsent ones cost nothing (:class:`SentStepCoder` leaves them out of the
RCC messages, which DiffC's equal split then spends fewer bits on). Step from level a to
level b, per coefficient, in VE coordinates (:mod:`rdptheory.diffusion.chain`,
``t² = 1/snr_a``, ``s² = 1/snr_b``, ``r = s²/t²``):

.. math::

    q = \mathcal N\big(x_i + r_i (y_i - x_i),\ s_i^2 (1 - r_i)\big),\qquad
    p = \mathcal N\big(\hat x_i + r_i (y_i - \hat x_i),\
        s_i^2 (1 - r_i) + (1 - r_i)^2 v_i\big),

with ``x̂ = E[X^B | y_a]`` the exact shaped GMM posterior mean
(:meth:`~rdptheory.images.shaped.ShapedGMM.posterior_scaled`), ``v_i = 0`` on sent
coefficients (the plug-in step of DiffC, KL ``½ Σ_i (snr_b − snr_a)(x_i − x̂_i)²``) and the
posterior variance (:func:`posterior_moments`) on a coefficient's first message, where
``r ≈ 0`` and p ≈ ``N(x̂_i, s_i² + v_i)`` (moment matched; our choice). With isotropic levels
this is the image codec's chain, rotated into the basis.

**Decoder** (:func:`decode_ode`): the score-scaled probability-flow ODE along the proportional
path ``t_i²(τ) = τ t_i²`` (any monotone covariance path transports the marginals; ours), with
a per-direction score scale ρ_i. In ``s = −log τ`` and by Tweedie's formula
(``∇ log p = Σ_n⁻¹(x̂ − y)``), our rearrangement reads

.. math:: \frac{dy_i}{ds} = \tfrac12\,\rho_i\,\big(\hat x_i(y; \tau) - y_i\big),

which for a Gaussian coefficient ends at ``c_i^{ρ_i} y_i``, ``c_i² = λ_i/(λ_i + t_i²)``
(THEORY.md §3: ρ = 1 the probability flow, ρ = 2 the MMSE end), so the Gaussian codec's
per-direction rule :func:`rdptheory.gaussian.per_direction_rho` applies per coefficient.
Each coefficient's variance stops shrinking at ``floor``.

References: [TSHM22] Theis et al., DiffC, 2022; [VL25] Vonderfecht & Liu, 2025; THEORY.md §3-§5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rdptheory._validation import check_choice, check_int, check_nonnegative, check_positive
from rdptheory.diffusion import chain as _chain
from rdptheory.images.shaped import (
    ShapedGMM,
    basis_variances,
    block_dct_basis,
    gaussian_rate_nats,
    shaped_snr,
    water_filling_snr,
)
from rdptheory.models.shaped_noise import T_DEAD2

__all__ = [
    "BASES",
    "LADDERS",
    "T_DEAD2",
    "STEP_LAYOUTS",
    "SentStepCoder",
    "ShapedChainModel",
    "ShapingRecipe",
    "chain_levels",
    "decode_ode",
    "from_patches",
    "ladder_snr",
    "posterior_moments",
    "shaped_model",
    "to_patches",
]

#: Ladder kinds (:class:`ShapingRecipe`).
LADDERS: tuple[str, ...] = ("isotropic", "mse", "perception")
#: Fixed bases both sides know (the block DCT of the model's patch size).
BASES: tuple[str, ...] = ("dct",)
#: Chunk layouts of :class:`SentStepCoder` ("stratified": RDPI 6; "diffc": RDPI 5).
STEP_LAYOUTS: tuple[str, ...] = ("stratified", "diffc")


@dataclass(frozen=True)
class ShapingRecipe:
    """What the decoder needs, besides the model, to rebuild the shaped ladder.

    ladder : "isotropic", "mse" (reverse water-filling) or "perception" (D(R, P) channel).
    basis : "dct" (the block DCT of the model's patch).
    t_max, t_min, n_levels : the water levels θ_l = t_l² of
        :func:`rdptheory.diffusion.chain.noise_ladder` (for "isotropic" the noise itself).
    perception : W₂² budget P per patch (model space) of the "perception" ladder, >= 0.

    Floats are rounded to float32 (what a file stores).
    """

    ladder: str = "mse"
    basis: str = "dct"
    t_max: float = 5.0
    t_min: float = 0.05
    n_levels: int = 32
    perception: float = 0.0

    def __post_init__(self) -> None:
        check_choice(self.ladder, "ladder", LADDERS)
        check_choice(self.basis, "basis", BASES)
        for name in ("t_max", "t_min", "perception"):
            object.__setattr__(self, name, float(np.float32(getattr(self, name))))
        _chain.noise_ladder(self.t_max, self.t_min, self.n_levels)  # validates
        check_nonnegative(self.perception, "perception")


def shaped_model(gmm, basis: str = "dct") -> tuple[ShapedGMM, np.ndarray]:
    """The patch prior in ``basis`` and its per-coefficient variances λ_i = (BᵀΣB)_ii.

    ``gmm`` is a :class:`~rdptheory.models.prior.PatchGMM`; Σ its overall covariance.
    """
    check_choice(basis, "basis", BASES)
    b = block_dct_basis(gmm.patch, gmm.channels)
    return ShapedGMM.from_patch_gmm(gmm, b), basis_variances(gmm.mean_and_covariance()[1], b)


def ladder_snr(recipe: ShapingRecipe, variances: npt.ArrayLike) -> np.ndarray:
    """The ladder ``(L', d)`` of per-coefficient SNRs; row 0 is all zeros (nothing sent).

    Level l uses θ_l = t_l² (:class:`ShapingRecipe`); rows that send nothing new (no
    coefficient's SNR grows) are dropped, so every step codes at least one coefficient. The
    "perception" rows are made non-decreasing by a running maximum (they are in theory:
    the D(R, P) noise falls with R).

    >>> ladder_snr(ShapingRecipe("mse", t_max=2.0, t_min=0.5, n_levels=3), [2.0, 0.5]).tolist()
    [[0.0, 0.0], [0.5, 0.0], [3.5, 2.0]]
    """
    if not isinstance(recipe, ShapingRecipe):
        raise TypeError(f"recipe must be a ShapingRecipe, got {type(recipe)}")
    lam = check_positive(variances, "variances")
    if lam.ndim != 1:
        raise ValueError(f"variances must be 1-D, got shape {lam.shape}")
    t2 = _chain.noise_ladder(recipe.t_max, recipe.t_min, recipe.n_levels) ** 2
    if recipe.ladder == "isotropic":
        rows = np.repeat((1.0 / t2)[:, None], lam.size, axis=1)
    else:
        rows = water_filling_snr(1.0 / t2, lam)
        if recipe.ladder == "perception":
            rates = gaussian_rate_nats(lam, rows)
            rows = np.array([shaped_snr(r, lam, recipe.perception) if r > 0 else
                             np.zeros(lam.size) for r in rates])
            rows = np.maximum.accumulate(rows, axis=0)
    out = [np.zeros(lam.size)]
    for row in rows:
        if (row > out[-1]).any():
            out.append(row)
    return np.array(out)


# ------------------------------------------------------------------------- patches


def to_patches(x: npt.ArrayLike, patch: int) -> np.ndarray:
    """Rows ``(N, C·p²)`` of the non-overlapping patches of ``x`` (C, H, W), row-major tiles.

    >>> to_patches(np.arange(8.0).reshape(2, 2, 2), 1).tolist()
    [[0.0, 4.0], [1.0, 5.0], [2.0, 6.0], [3.0, 7.0]]
    """
    a = np.asarray(x, dtype=np.float64)
    check_int(patch, "patch", low=1)
    if a.ndim != 3 or a.shape[1] % patch or a.shape[2] % patch:
        raise ValueError(f"x must have shape (C, H, W) with H and W multiples of {patch}, "
                         f"got {a.shape}")
    c, h, w = a.shape
    t = a.reshape(c, h // patch, patch, w // patch, patch).transpose(1, 3, 0, 2, 4)
    return t.reshape((h // patch) * (w // patch), c * patch * patch)


def from_patches(rows: npt.ArrayLike, channels: int, height: int, width: int,
                 patch: int) -> np.ndarray:
    """The inverse of :func:`to_patches`: an array (C, H, W)."""
    r = np.asarray(rows, dtype=np.float64)
    nh, nw = height // patch, width // patch
    if r.shape != (nh * nw, channels * patch * patch) or height % patch or width % patch:
        raise ValueError(f"rows must have shape ({nh * nw}, {channels * patch * patch}) for "
                         f"a {channels}x{height}x{width} image, got {r.shape}")
    t = r.reshape(nh, nw, channels, patch, patch).transpose(2, 0, 3, 1, 4)
    return t.reshape(channels, height, width)


# ------------------------------------------------------------------------- posterior


def posterior_moments(model: ShapedGMM, w: npt.ArrayLike, snr: npt.ArrayLike,
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and per-coefficient variance of ``X^B`` given ``w = S Bᵀx + ε``.

    .. math:: \\mathrm{Var}[X_i^B \\mid w] = \\sum_k r_k\\big(C_{k,ii} + m_{k,i}^2\\big)
              - \\hat x_i^2,\\qquad C_k = \\Sigma_k^B - \\Sigma_k^B S M_k^{-1} S \\Sigma_k^B

    (law of total variance over the components; ``m_k`` the component means of
    :meth:`ShapedGMM.posterior_scaled`, ``M_k = I + SΣ_k^BS``). Returns ``(mean (N, d),
    var (N, d))``.
    """
    from scipy.linalg import cho_factor, cho_solve  # here: isotropic files never need scipy
    from scipy.special import logsumexp

    w, s = model._check(w, snr)
    sq = np.sqrt(s)
    k_count, d = model.means_b.shape
    log_joint = np.empty((w.shape[0], k_count))
    comp = np.empty((k_count, w.shape[0], d))
    cdiag = np.empty((k_count, d))
    for k in range(k_count):
        cov = model.covs_b[k]
        fac = cho_factor(np.eye(d) + sq[:, None] * cov * sq[None, :], lower=True)
        resid = w - sq * model.means_b[k]
        sol = cho_solve(fac, resid.T).T
        logdet = 2.0 * np.log(np.diag(fac[0])).sum()
        log_joint[:, k] = model.log_weights[k] - 0.5 * ((resid * sol).sum(1) + logdet)
        comp[k] = model.means_b[k] + (sol * sq) @ cov
        sc = sq[:, None] * cov  # S Σ_k
        cdiag[k] = np.diag(cov) - (sc * cho_solve(fac, sc)).sum(0)
    resp = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    mean = np.einsum("nk,knd->nd", resp, comp)
    second = resp @ cdiag + np.einsum("nk,knd->nd", resp, comp**2)
    return mean, np.maximum(second - mean**2, 0.0)


# ------------------------------------------------------------------------- the chain


def chain_levels(snr_ladder: npt.ArrayLike, t_dead2: float = T_DEAD2) -> list[np.ndarray]:
    """The ladder as the progressive codec's noise variances: one (d,) array per step.

    ``t² = 1/snr`` where a coefficient is sent; a coefficient not sent yet sits at a finite
    "dead" level in ``(t_dead2/2, t_dead2]`` (``t_dead2 · 2^{−l/L}``; its steps carry
    ~``(x − x̂)²/(2 t_dead2)`` nats, nothing in practice). Every coefficient's level then
    decreases strictly (:func:`rdptheory.codec.progressive.encode_chain` requires it): a
    level equal to the previous one is lowered by the factor ``1 − 1e-6`` (our convention).

    Parameters
    ----------
    snr_ladder : (L + 1, d) from :func:`ladder_snr` (row 0 = nothing sent).
    t_dead2 : float > 0, much larger than every variance of the model.

    Returns
    -------
    list of L float64 arrays (d,), top first.
    """
    lad = check_nonnegative(snr_ladder, "snr_ladder")
    if lad.ndim != 2 or lad.shape[0] < 2 or not np.isfinite(lad).all() or (
            np.diff(lad, axis=0) < 0).any():
        raise ValueError("snr_ladder must be finite, (L + 1 >= 2, d) and non-decreasing")
    dead = float(check_positive(t_dead2, "t_dead2"))
    n = lad.shape[0] - 1
    out: list[np.ndarray] = []
    prev = np.full(lad.shape[1], np.inf)
    for j in range(1, n + 1):
        row = lad[j]
        raw = np.where(row > 0, 1.0 / np.where(row > 0, row, 1.0), dead * 2.0 ** (-j / n))
        cur = np.minimum(raw, prev * (1.0 - 1e-6))
        out.append(cur)
        prev = cur
    return out


class ShapedChainModel:
    """The patch GMM in a fixed basis as a :class:`rdptheory.codec.progressive.ChainModel`.

    The state is ``y^B`` (N patches, d coefficients); levels are per-coefficient variances
    ``t²`` (d,) (:func:`chain_levels`). ``denoise`` is the exact shaped posterior mean;
    ``posterior_var`` is the posterior variance (:func:`posterior_moments`) on coefficients
    still at a dead level (``t² > t_dead2/2``: their next step is their first message, whose
    proposal is then moment-matched, ``N(x̂, s² + v)`` up to ``r = s²/t² ≈ 0``) and 0 on the
    others (DiffC's plug-in step, as the isotropic codec). ``prior_var`` is the raw second
    moment ``E[(x_i^B)²]`` of the mixture (the zero-mean first proposal's best variance).

    Parameters
    ----------
    model : ShapedGMM
    t_dead2 : the dead level of :func:`chain_levels`
    """

    def __init__(self, model: ShapedGMM, t_dead2: float = T_DEAD2) -> None:
        if not isinstance(model, ShapedGMM):
            raise TypeError(f"model must be a ShapedGMM, got {type(model)}")
        self.model = model
        self.t_dead2 = float(check_positive(t_dead2, "t_dead2"))
        w = np.exp(model.log_weights)
        self._second = w @ (np.einsum("kii->ki", model.covs_b) + model.means_b**2)

    @property
    def prior_var(self) -> np.ndarray:
        """E[(x_i^B)²] per coefficient (d,)."""
        return self._second

    def _levels(self, y: np.ndarray, t2: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        lv = np.broadcast_to(check_positive(t2, "t2"), (self.model.dim,))
        return y / np.sqrt(lv), 1.0 / lv

    def denoise(self, y: np.ndarray, t2: npt.ArrayLike) -> np.ndarray:
        """E[X^B | y] at per-coefficient noise variances ``t2``."""
        return self.model.posterior_scaled(*self._levels(y, t2))[0]

    def posterior_var(self, y: np.ndarray, t2: npt.ArrayLike) -> np.ndarray:
        """Var[X_i^B | y] on dead coefficients, 0 elsewhere (class docstring)."""
        dead = np.broadcast_to(np.asarray(t2, dtype=np.float64), (self.model.dim,)) > (
            0.5 * self.t_dead2)
        if not dead.any():
            return np.zeros(self.model.dim)
        return posterior_moments(self.model, *self._levels(y, t2))[1] * dead


# ------------------------------------------------------------------------- decoders


def decode_ode(model: ShapedGMM, yb: npt.ArrayLike, t2: npt.ArrayLike,
               rho: npt.ArrayLike | None, *, steps: int = 24, floor: float = 1e-4,
               ) -> np.ndarray:
    """Reconstruction ``x^B`` (N, d) from the state ``yb`` at per-coefficient levels ``t2``.

    Parameters
    ----------
    model : ShapedGMM (its basis is the chain's).
    yb : (N, d) state.
    t2 : (d,) positive finite noise variances of the state (dead coefficients included).
    rho : None (the posterior mean, the MMSE end, no ODE), a float or a (d,) array >= 0.
    steps : int >= 1, steps uniform in s = −log τ over [0, log(max t_i²/floor)].
    floor : each coefficient's path stops at this variance; the last posterior mean is
        taken there.

    The integrator is an exponential Heun rule (ours): with ``a_i = ½ρ_i`` while the
    coefficient's level is above the floor (0 after),
    ``y' = x̂ + (y − x̂) e^{−a h}`` with x̂ the mean of the denoiser at the step's two ends
    (predictor: x̂ at the start). It is exact when x̂ does not depend on y and stable for
    any step, which the long first stretch of dead coefficients needs.
    """
    y = np.asarray(yb, dtype=np.float64)
    lv0 = check_positive(t2, "t2")
    if y.ndim != 2 or y.shape[1] != model.dim or lv0.shape != (model.dim,) or not (
            np.isfinite(y).all() and np.isfinite(lv0).all()):
        raise ValueError(f"yb must be finite (N, {model.dim}) and t2 finite ({model.dim},)")

    def mean_at(state: np.ndarray, lv: np.ndarray) -> np.ndarray:
        return model.posterior_scaled(state / np.sqrt(lv), 1.0 / lv)[0]

    if rho is None:
        return mean_at(y, lv0)
    r = np.broadcast_to(check_nonnegative(rho, "rho"), (model.dim,)).astype(np.float64)
    steps = check_int(steps, "steps", low=1, high=10_000)
    floor = float(check_positive(floor, "floor"))
    s_end = float(np.log(lv0.max() / floor))
    if s_end <= 0.0:
        return mean_at(y, np.maximum(lv0, floor))

    def level(sv: float) -> np.ndarray:
        return np.maximum(lv0 * np.exp(-sv), floor)

    grid = np.linspace(0.0, s_end, steps + 1)
    for s0, s1 in zip(grid[:-1], grid[1:], strict=True):
        decay = np.exp(-0.5 * r * (level(s0) > floor) * (s1 - s0))
        m0 = mean_at(y, level(s0))
        pred = m0 + (y - m0) * decay
        m = 0.5 * (m0 + mean_at(pred, level(s1)))
        y = m + (y - m) * decay
    return mean_at(y, level(s_end))


# ------------------------------------------------------------------------- step coder


class SentStepCoder:
    """DiffC step coder that codes only the coefficients that are sent (not at a dead level).

    A step's coefficients whose new level ``s²`` is still dead (``> t_dead2/2``) carry no
    information either way, so they are not coded: their sample is drawn from the proposal
    ``N(μ_p, σ_p²)`` with randomness both sides share (``numpy`` PCG64 seeded by
    ``(seed, k)``), which keeps the state a draw at the dead level (what a ρ = 1 decode
    samples the unsent coefficients from). The rest is
    :class:`rdptheory.codec.progressive.DiffCStepCoder` (one RCC step stream, the same
    ``accept`` budget hook) over the sent coefficients of all patches. Read a payload with
    :meth:`read` and the same levels.

    **Layout** (``layout``): ``"stratified"`` (RDPI 6, the default) deals the sent
    coordinates to the step's chunks by a decoder-known KL proxy
    (:func:`rdptheory.rcc.layouts.stratified_split`, :meth:`proxy`); ``"diffc"`` is DiffC's
    random equal split (RDPI 5 files; kept to measure the difference). On shaped steps a few
    coordinates carry most of the KL (at 1 bpp on china 128², shaped net: 50 % of a step's KL
    in < 1 % of its coordinates), so a random equal split gives chunks of very unequal KL and
    often doubles the chunk count (``benchmarks/shaped_net.py`` measures the bytes).

    Parameters
    ----------
    levels : the chain's levels (:func:`chain_levels`)
    n_patches : N (the state is (N, d))
    variances : λ_i (d,) > 0, the model's coefficient variances (the stratified proxy's prior)
    t_dead2 : the dead level of :func:`chain_levels`
    layout : "stratified" or "diffc"
    **kwargs : :class:`~rdptheory.codec.progressive.DiffCStepCoder` settings
    """

    def __init__(self, levels: list[np.ndarray], n_patches: int,
                 variances: npt.ArrayLike | None = None, *, t_dead2: float = T_DEAD2,
                 layout: str = "stratified", **kwargs: object) -> None:
        from rdptheory.codec.progressive import DiffCStepCoder

        self.layout = check_choice(layout, "layout", STEP_LAYOUTS)
        self.inner = DiffCStepCoder(**kwargs)  # type: ignore[arg-type]
        self.t_dead2 = float(check_positive(t_dead2, "t_dead2"))
        self.n_patches = check_int(n_patches, "n_patches", low=1)
        self.sent = [np.asarray(lv) < 0.5 * self.t_dead2 for lv in levels]
        d = self.sent[0].size if self.sent else 0
        if self.layout == "stratified":
            if variances is None:
                raise ValueError("the stratified layout needs the model's variances")
            self.variances = check_positive(variances, "variances")
            if self.variances.shape != (d,):
                raise ValueError(f"variances must have shape ({d},), got "
                                 f"{self.variances.shape}")
        self._z: np.ndarray | None = None  # standardised innovations of the last step
        self._last = (-1, np.zeros(d))  # (its index, its SNR increments)

    @property
    def payload(self) -> bytes:
        """The step stream of the steps sent so far."""
        return self.inner.payload

    @property
    def kl_bits(self) -> list[float]:
        """KL of each step sent (bits)."""
        return self.inner.kl_bits

    @staticmethod
    def snr_increment(step) -> np.ndarray:
        """``Δsnr_i = 1/s_i² − 1/t_i²`` of a step (``1/s_i²`` for the first), shape (d,)."""
        s2 = np.asarray(step.s2, dtype=np.float64).ravel()
        return 1.0 / s2 - (0.0 if step.t2 is None else 1.0 / np.asarray(
            step.t2, dtype=np.float64).ravel())

    def proxy(self, step) -> np.ndarray:
        r"""The decoder-known KL proxy of every coordinate of ``step``, (N, d) (our own).

        A sent coefficient's step has :math:`\delta_j^2/\sigma_j^2 = \Delta\mathrm{snr}_i
        (x_j - \hat x_j)^2` (twice its KL in nats), and the previous step's standardised
        innovation :math:`z_j = (y_j - \mu_{p,j})/\sigma_{p,j}`, known to both sides, has
        :math:`E z_j^2 = 1 + \Delta\mathrm{snr}'_i (x_j - \hat x'_j)^2`. So

        .. math:: \widetilde{\mathrm{KL}}_j = \frac{\Delta\mathrm{snr}_i}
                  {\Delta\mathrm{snr}'_i}\, z_j^2

        on coefficients coded on the previous step, and the Gaussian prediction
        :math:`\Delta\mathrm{snr}_i\, \lambda_i t_i^2/(\lambda_i + t_i^2)` elsewhere (the
        first step and first messages, with the previous level t_i²; λ_i for the first step).
        """
        dsnr = self.snr_increment(step)
        lam = self.variances
        if step.t2 is None:
            v = lam
        else:
            t2 = np.asarray(step.t2, dtype=np.float64).ravel()
            v = lam * t2 / (lam + t2)
        out = np.tile(dsnr * v, (self.n_patches, 1))
        k_prev, prev = self._last
        if self._z is not None and k_prev == step.k - 1 >= 0:
            hist = self.sent[k_prev] & (prev > 0) & (dsnr > 0)
            out[:, hist] = (dsnr[hist] / prev[hist]) * self._z[:, hist] ** 2
        return out

    def _remember(self, step, sample: np.ndarray) -> None:
        """Keep the step's standardised innovations for the next step's proxy."""
        if self.layout != "stratified":
            return
        mu = np.asarray(step.mu_p, dtype=np.float64)
        sd = np.broadcast_to(np.asarray(step.sigma_p, dtype=np.float64), mu.shape)
        self._z = (sample - mu) / sd
        self._last = (step.k, self.snr_increment(step))

    def _sub(self, step, mask: np.ndarray):
        def cut(v):
            return None if v is None else (v if np.ndim(v) == 0 else np.asarray(
                np.broadcast_to(v, step.mu_p.shape))[:, mask])

        return step._replace(mu_q=cut(step.mu_q), sigma_q=cut(step.sigma_q),
                             mu_p=cut(step.mu_p), sigma_p=cut(step.sigma_p))

    def _layout_proxy(self, step, mask: np.ndarray) -> np.ndarray | None:
        return None if self.layout != "stratified" else self.proxy(step)[:, mask]

    def encode(self, step):
        """``(symbol, sample)`` of the sent coefficients; :class:`StopChain` as the inner coder."""
        mask = self.sent[step.k]
        symbol, sub = self.inner.encode(self._sub(step, mask), self._layout_proxy(step, mask))
        out = self._dead_draw(step)
        out[:, mask] = sub
        self._remember(step, out)
        return symbol, out

    def _dead_draw(self, step) -> np.ndarray:
        """A shared draw from p for every coefficient (the sent ones are overwritten)."""
        z = np.random.default_rng((self.inner.seed, step.k)).standard_normal(step.mu_p.shape)
        return np.asarray(step.mu_p, dtype=np.float64) + np.broadcast_to(
            np.asarray(step.sigma_p, dtype=np.float64), step.mu_p.shape) * z

    def decode(self, symbol, step) -> np.ndarray:
        """The step's state from its symbol (the encoder's, bit for bit)."""
        mask = self.sent[step.k]
        out = self._dead_draw(step)
        out[:, mask] = self.inner.decode(symbol, self._sub(step, mask),
                                         self._layout_proxy(step, mask))
        self._remember(step, out)
        return out

    def read(self, payload: bytes, n_steps: int) -> list[tuple[int, int, np.ndarray]]:
        """The symbols of the first ``n_steps`` steps of a payload."""
        from rdptheory import rcc

        dims = [int(m.sum()) * self.n_patches for m in self.sent[:n_steps]]
        return rcc.read_steps(payload, n_steps, dims, self.inner.max_chunk_bits)
