"""Rate–distortion–perception evaluation of the image codec, CompressAI-style JSON and plots.

:func:`evaluate` compresses every image once per target (bpp or noise level) and decodes each
stream at every ρ. Distortion is averaged per image (PSNR, MS-SSIM, MSE); perception is one
divergence between the pooled patch distributions of all originals and all reconstructions
(Fréchet distance of Gaussian fits, sliced W₂²; :mod:`rdptheory.metrics.image`); blockiness
(:func:`rdptheory.metrics.image.blockiness`) is averaged per image. In the same run the
classical baselines (:mod:`rdptheory.experiments.baselines`: JPEG ``optimize=True``, WebP method 6,
and AVIF / JPEG 2000 where Pillow has them) code the same images at the rate of our file for
each image (the highest quality whose file is not larger), and :func:`bd_rates` gives the
Bjøntegaard delta rate of our codec at each ρ against each of them.

:func:`rho_sweep` isolates the decoder: patches observed as ``Y = X + tN`` (ideal channel
simulation, no coding) are decoded with the score-scaled PF-ODE at each ρ, and compared with
what Gaussian theory predicts for the prior's covariance (THEORY.md §3,
:func:`rdptheory.gaussian.score_scaled_point`) — a prediction that need not hold for images.
"""

from __future__ import annotations

import json
import math
import pathlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from rdptheory import metrics
from rdptheory._progress import progress
from rdptheory._validation import check_positive, check_rho
from rdptheory.data import NamedImage
from rdptheory.images.codec import (
    DEFAULT_CONFIG,
    CodecConfig,
    compress_with_report,
    decompress,
)
from rdptheory.models import ImageModel, PatchGMMImageModel, default_model, load_model


@dataclass(frozen=True)
class EvalPoint:
    """One (target, ρ) operating point, averaged over the images.

    ``mse`` is per dimension on the [0, 1] pixel scale; ``frechet`` and ``sliced_w2sq`` are
    per-dimension squared distances between patch distributions on the same scale;
    ``blockiness`` is the per-image mean of :func:`rdptheory.metrics.image.blockiness`
    (originals ≈ 1). Baseline points have ``rho = nan``; the posterior-mean decode
    (``decompress(..., estimator="posterior-mean")``) has ``rho =``
    :data:`POSTERIOR_MEAN_RHO` (``inf``: a marker that sorts after every ρ, not a score scale).
    """

    target: float
    rho: float
    bpp: float
    psnr: float
    ms_ssim: float
    mse: float
    frechet: float
    sliced_w2sq: float
    encoding_time: float
    decoding_time: float
    blockiness: float = float("nan")


#: The ``rho`` of the posterior-mean decode's points (a marker; :func:`rho_label` names it).
POSTERIOR_MEAN_RHO = math.inf


def rho_label(rho: float) -> str:
    """``"1.5"`` for an ODE decode at ρ = 1.5, ``"mean"`` for the posterior-mean decode."""
    return "mean" if rho == POSTERIOR_MEAN_RHO else f"{rho:g}"


@dataclass(frozen=True)
class BaselineCurve:
    """One classical codec on the same images at the same targets (one point per target)."""

    codec: str
    description: str
    points: tuple[EvalPoint, ...]


@dataclass(frozen=True)
class EvalResult:
    """All points of one evaluation run, the baselines of the same run, and what was skipped.

    ``original_blockiness`` is the per-image mean blockiness of the originals; ``skipped``
    maps a requested baseline that could not run to the reason.
    """

    name: str
    description: str
    target_kind: str
    images: tuple[str, ...]
    points: tuple[EvalPoint, ...]
    baselines: tuple[BaselineCurve, ...] = ()
    original_blockiness: float = float("nan")
    skipped: tuple[tuple[str, str], ...] = ()


def eval_point(target: float, rho: float, pairs: list[tuple[np.ndarray, np.ndarray]],
               bpps: list[float], enc_s: list[float], dec_s: list[float],
               patch: int) -> EvalPoint:
    """Average distortion over ``(original, reconstruction)`` pairs; pooled-patch perception."""
    orig = [a for a, _ in pairs]
    rec = [b for _, b in pairs]
    ms = [metrics.ms_ssim(a, b) if min(a.shape[:2]) >= 11 else np.nan for a, b in pairs]
    po, pr = metrics.image_patches(orig, patch), metrics.image_patches(rec, patch)
    mse = float(np.mean([np.mean((a / 255.0 - b / 255.0) ** 2) for a, b in pairs]))
    return EvalPoint(target, rho, float(np.mean(bpps)),
                     float(np.mean([metrics.psnr(a, b) for a, b in pairs])),
                     float(np.nanmean(ms)) if not np.isnan(ms).all() else float("nan"), mse,
                     metrics.frechet_distance(po, pr), metrics.sliced_w2sq(po, pr),
                     float(np.mean(enc_s)), float(np.mean(dec_s)), _mean_blockiness(rec))


def _mean_blockiness(images: Sequence[np.ndarray]) -> float:
    vals = [metrics.blockiness(im) for im in images if max(im.shape[:2]) > 8]
    vals = [v for v in vals if np.isfinite(v)]
    return float(np.mean(vals)) if vals else float("nan")


#: The baselines :func:`evaluate` (and ``rdptheory eval``) runs by default: every codec of
#: :data:`rdptheory.experiments.baselines.CODECS`; those this Pillow lacks are listed as
#: skipped, with the reason. Cheap next to our codec (a bisection of ~10 encodes per image).
DEFAULT_BASELINES: tuple[str, ...] = ("jpeg", "webp", "avif", "jpeg2000")


def run_baselines(targets: Sequence[float], originals: Sequence[np.ndarray],
                  rates: Sequence[Sequence[float]], codecs: Sequence[str], *,
                  patch: int = 8) -> tuple[tuple[BaselineCurve, ...], tuple[tuple[str, str], ...]]:
    """Code every original with each codec at the rate of our file for it.

    ``rates[i][j]`` is our file's bpp for target ``targets[i]`` and image ``originals[j]``;
    each codec codes that image at the highest quality whose file does not exceed it
    (:func:`rdptheory.experiments.baselines.at_bpp`). Returns one :class:`BaselineCurve` per
    available codec and ``(codec, reason)`` for each one this Pillow lacks.
    """
    import time as _time

    from rdptheory.experiments import baselines as bl

    curves, skipped = [], []
    for codec in codecs:
        why = bl.unavailable(codec)
        if why is not None:
            skipped.append((codec, why))
            continue
        points = []
        for target, row in zip(targets, rates, strict=True):
            pairs, bpps, secs = [], [], []
            for im, r in zip(originals, row, strict=True):
                t0 = _time.perf_counter()
                coded = bl.at_bpp(im, codec, r)
                secs.append(_time.perf_counter() - t0)
                pairs.append((im, coded.reconstruction))
                bpps.append(coded.bpp)
            points.append(eval_point(target, float("nan"), pairs, bpps, secs, [0.0], patch))
        curves.append(BaselineCurve(codec, _BASELINE_DESC[codec], tuple(points)))
    return tuple(curves), tuple(skipped)


_BASELINE_DESC = {
    "jpeg": "Pillow JPEG, optimize=True (4:2:0), quality bisected to our file's rate",
    "webp": "Pillow WebP lossy, method=6, quality bisected to our file's rate",
    "avif": "Pillow AVIF, speed=6, quality bisected to our file's rate",
    "jpeg2000": "Pillow JPEG 2000 (9/7, one layer), ratio bisected to our file's rate"}


def bd_rates(result: EvalResult) -> dict[float, dict[str, float | None]]:
    """BD-rate (percent, PCHIP over the overlapping PSNR range) of our codec at each ρ against
    each baseline of the same run: negative = fewer bits than the baseline at equal PSNR.

    Curves are the image-averaged points (mean bpp, mean PSNR per target). Repeated points
    count once: a baseline coded at several of our rates below its smallest file (its
    headers: JPEG ~1.2 bpp, WebP ~0.5 bpp on a 48×48 crop) gives the same file for each.
    ``None`` where the two curves' PSNR ranges do not overlap or a curve has fewer than two
    distinct points.
    """
    out: dict[float, dict[str, float | None]] = {}
    for rho in sorted({p.rho for p in result.points}):
        ours = _distinct([(p.bpp, p.psnr) for p in result.points if p.rho == rho])
        out[rho] = {}
        for curve in result.baselines:
            ref = _distinct([(p.bpp, p.psnr) for p in curve.points])
            try:
                out[rho][curve.codec] = metrics.bd_rate(
                    [b for b, _ in ref], [q for _, q in ref], [b for b, _ in ours],
                    [q for _, q in ours])
            except ValueError:
                out[rho][curve.codec] = None
    return out


def _distinct(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """``points`` without exact repeats, in first-seen order."""
    return list(dict.fromkeys((float(b), float(q)) for b, q in points))


def evaluate(images: Sequence[NamedImage], *, model: ImageModel | None = None,
             bpps: Sequence[float] | None = None, noise_vars: Sequence[float] | None = None,
             rhos: Sequence[float] = (1.0, 1.5, 2.0), seed: int = 0,
             config: CodecConfig = DEFAULT_CONFIG, ode_steps: int = 24, patch: int = 8,
             name: str = "rdptheory-diffc", show_progress: bool | None = None,
             baselines: Sequence[str] = DEFAULT_BASELINES,
             posterior_mean: bool = False,
             reconstruction_model: ImageModel | None = None) -> EvalResult:
    """Compress each image at each target (``bpps`` or ``noise_vars``) and decode at each ρ.

    ``posterior_mean``: also decode each file with the model's posterior mean at its last level
    (:func:`rdptheory.images.decompress` ``estimator="posterior-mean"``), as points with
    ``rho =`` :data:`POSTERIOR_MEAN_RHO`; ``rhos`` may then be empty.

    ``reconstruction_model``: decode every file with this model's score / denoiser from the
    chain ``model`` replays (:func:`rdptheory.images.decompress`'s ``reconstruction_model``;
    default None: ``model`` itself).

    ``baselines`` (names of :data:`rdptheory.experiments.baselines.CODECS`; ``()`` for none) code
    the same images at our files' rates in the same run (:func:`run_baselines`); a codec this
    Pillow lacks is listed in ``skipped`` with the reason.

    Returns an :class:`EvalResult` with one point per (target, ρ); timings are seconds per
    image (encoding once per target, decoding once per ρ).
    """
    from rdptheory.experiments.baselines import CODECS

    for codec in baselines:
        if codec not in CODECS:
            raise ValueError(f"baselines must be names in {CODECS}, got {codec!r}")
    if not images:
        raise ValueError("images must be a non-empty sequence of NamedImage")
    if (bpps is None) == (noise_vars is None):
        raise ValueError("give exactly one of bpps and noise_vars")
    if not isinstance(posterior_mean, bool):
        raise TypeError(f"posterior_mean must be a bool, got {type(posterior_mean).__name__}")
    if reconstruction_model is not None and not isinstance(reconstruction_model, ImageModel):
        raise TypeError("reconstruction_model must be an ImageModel or None, got "
                        f"{type(reconstruction_model).__name__}")
    rhos = [float(check_rho(r)) for r in rhos]
    if not rhos and not posterior_mean:
        raise ValueError("give at least one rho or posterior_mean=True")
    decodes = [*rhos, *([POSTERIOR_MEAN_RHO] if posterior_mean else [])]
    model = default_model() if model is None else model
    kind, targets = ("bpp", list(bpps)) if bpps is not None else ("noise_var", list(noise_vars))
    jobs = [(t, im) for t in targets for im in images]
    recs: dict[tuple[float, float], list] = {(t, r): [] for t in targets for r in decodes}
    rates: dict[float, list[float]] = {t: [] for t in targets}
    for target, im in progress(jobs, desc="eval", enabled=show_progress):
        kw = {"bpp": target} if kind == "bpp" else {"noise_var": target}
        res = compress_with_report(im.pixels, model=model, seed=seed, config=config, **kw)
        rates[target].append(res.bpp)
        for rho in decodes:
            t0 = time.perf_counter()
            if rho == POSTERIOR_MEAN_RHO:
                out = decompress(res.data, model=model, backend=config.backend,
                                 estimator="posterior-mean",
                                 reconstruction_model=reconstruction_model)
            else:
                out = decompress(res.data, model=model, rho=rho, ode_steps=ode_steps,
                                 backend=config.backend,
                                 reconstruction_model=reconstruction_model)
            recs[(target, rho)].append((im.pixels, out, res.bpp, res.seconds,
                                        time.perf_counter() - t0))
    points = tuple(eval_point(t, r, [(a, b) for a, b, *_ in v], [e[2] for e in v],
                          [e[3] for e in v], [e[4] for e in v], patch)
                   for (t, r), v in recs.items())
    by = "" if reconstruction_model is None else \
        f", reconstructed with {reconstruction_model.name}"
    desc = (f"{model.name}{by}; DiffC-style RCC chain, score-scaled PF-ODE decoding at rho "
            f"{rhos}{' and the posterior mean (rho=inf)' if posterior_mean else ''}; ladder t "
            f"{config.t_max}->{config.t_min} in {config.n_levels} levels")
    originals = [im.pixels for im in images]
    curves, skipped = run_baselines(targets, originals, [rates[t] for t in targets],
                                    baselines, patch=patch)
    return EvalResult(name, desc, kind, tuple(im.name for im in images), points, curves,
                      _mean_blockiness(originals), skipped)


def _results(points: Sequence[EvalPoint], drop: tuple[str, ...] = ()) -> dict[str, list]:
    """CompressAI ``results``: parallel lists, one per field (``psnr-rgb``, ``ms-ssim-rgb``)."""
    fields = [k for k in EvalPoint.__dataclass_fields__ if k not in drop]
    res = {k.replace("_", "-") if k not in ("encoding_time", "decoding_time") else k:
           [_finite(getattr(p, k)) for p in points] for k in fields}
    res["psnr-rgb"] = res.pop("psnr")
    res["ms-ssim-rgb"] = res.pop("ms-ssim")
    return res


def to_compressai_json(result: EvalResult) -> str:
    """CompressAI-style JSON: name, description, results as parallel lists (one per field).

    Beside ``results`` (ours, one entry per (target, ρ)): ``baselines``, one CompressAI-style
    record per classical codec of the same run (same images, one entry per target);
    ``bd_rate_percent``, our BD-rate at each ρ (key ``"rho=1"``; ``"mean"`` for the
    posterior-mean decode, whose ``results`` entries have ``rho`` null and ``decode``
    ``"mean"``) against each baseline
    (:func:`bd_rates`); ``original_blockiness``; ``skipped_baselines`` with reasons.
    """
    return json.dumps({
        "name": result.name, "description": result.description,
        "target_kind": result.target_kind, "images": list(result.images),
        "results": {**_results(result.points),
                    "decode": [_bd_key(p.rho) for p in result.points]},
        "original_blockiness": _finite(result.original_blockiness),
        "baselines": {c.codec: {"name": c.codec, "description": c.description,
                                "results": _results(c.points, drop=("rho",))}
                      for c in result.baselines},
        "bd_rate_percent": {_bd_key(rho): {k: (None if v is None else _finite(v))
                                             for k, v in row.items()}
                            for rho, row in bd_rates(result).items()},
        "skipped_baselines": dict(result.skipped)}, indent=2)


def _bd_key(rho: float) -> str:
    """``"rho=1.5"`` for an ODE decode, ``"mean"`` for the posterior-mean decode."""
    return "mean" if rho == POSTERIOR_MEAN_RHO else f"rho={rho:g}"


def _finite(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


@dataclass(frozen=True)
class RhoPoint:
    """Decoder-only measurement at one (noise level, ρ): per-dimension MSE and Fréchet
    on the [0, 1] scale, the exact posterior mean's MSE (``mmse``; for a mixture the ρ = 2 ODE
    end is not E[X|Y], THEORY.md §3) and the Gaussian-theory values for the prior's
    covariance."""

    noise_var: float
    rho: float
    mse: float
    frechet: float
    mmse: float
    theory_mse: float
    theory_w2sq: float
    rate_bits_per_dim: float


def rho_sweep(patches: np.ndarray, noise_vars: Sequence[float], rhos: Sequence[float], *,
              model: PatchGMMImageModel | None = None, seed: int = 0,
              ode_steps: int = 32) -> tuple[RhoPoint, ...]:
    """Decode ``Y = X + tN`` patch by patch at each ρ (exact score; no coding).

    ``model``: a patch-GMM image model (its exact score and covariance are what this measures);
    ``None`` is the tiled exact-score prior ``load_model("patch-gmm")``, not the default UNet.

    .. math:: \\hat X = \\mathrm{ODE}_ρ(X + tN), \\qquad
              D = \\tfrac1d E\\|X-\\hat X\\|^2, \\qquad P = \\tfrac1d W_2^2(\\mathcal N(μ_X,Σ_X),
              \\mathcal N(μ_{\\hat X}, Σ_{\\hat X}))

    against :func:`rdptheory.gaussian.score_scaled_point` for ``λ = eig(Σ_prior)``.
    Parameters: ``patches`` (N, 3·p²) in model space ``[-1, 1]`` (p = the prior's patch);
    ``noise_vars`` t² (model space). Returns one :class:`RhoPoint` per (t², ρ); values in
    [0, 1]-scale units per dimension (model-space values / 4), rate in bits per dimension.
    """
    from rdptheory.diffusion import decode
    from rdptheory.gaussian import score_scaled_point

    chosen = load_model("patch-gmm") if model is None else model
    if not isinstance(chosen, PatchGMMImageModel):
        raise TypeError(f"rho_sweep needs a patch-GMM image model (exact score), got "
                        f"{type(chosen).__name__}")
    model = chosen
    p = model.prior.patch
    x = np.asarray(patches, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != model.prior.dim or len(x) < 2:
        raise ValueError(f"patches must have shape (N >= 2, {model.prior.dim}), got {x.shape}")
    x = x.reshape(-1, model.prior.channels, p, p)
    noise_vars = [float(v) for v in check_positive(noise_vars, "noise_vars").ravel()]
    rhos = [float(r) for r in check_rho(rhos).ravel()]
    lam = np.linalg.eigvalsh(model.prior.mean_and_covariance()[1])
    lam = np.maximum(lam, 1e-12)  # clamp round-off of the PSD covariance
    rng = np.random.default_rng(seed)
    out = []
    for t2 in noise_vars:
        y = x + np.sqrt(t2) * rng.normal(size=x.shape)
        mmse = float(np.mean((x - model.denoise(y, float(t2))) ** 2)) / 4
        for rho in rhos:
            x_hat = decode(model, y, float(t2), float(rho), schedule="vp", steps=ode_steps)
            th = score_scaled_point(lam, float(t2), float(rho))
            d = x[0].size
            out.append(RhoPoint(float(t2), float(rho), float(np.mean((x - x_hat) ** 2)) / 4,
                                metrics.frechet_distance(x.reshape(len(x), -1),
                                                         x_hat.reshape(len(x), -1)) / 4,
                                mmse, float(th.mse) / d / 4, float(th.perception_value) / d / 4,
                                float(th.rate_bits) / d))
    return tuple(out)


def rho_sweep_json(points: Sequence[RhoPoint]) -> str:
    """The :func:`rho_sweep` points as JSON (a list of records)."""
    return json.dumps([asdict(p) for p in points], indent=2)


def write_outputs(result: EvalResult, out_dir: str | pathlib.Path) -> list[pathlib.Path]:
    """Write ``results.json`` and the rate–distortion / rate–perception plots."""
    from rdptheory._io import staged_files
    from rdptheory.experiments import plots

    out = pathlib.Path(out_dir)
    names = ["results.json", "rate_distortion.png", "rate_perception.png"]
    with staged_files(out) as stage:  # every file appears whole or not at all (rdptheory._io)
        (stage / "results.json").write_text(to_compressai_json(result))
        plots.rate_distortion(result, stage / "rate_distortion.png")
        plots.rate_perception(result, stage / "rate_perception.png")
        if result.baselines:
            (stage / "bd_rate.csv").write_text(bd_rate_table(result))
            plots.blockiness(result, stage / "blockiness.png")
            names += ["bd_rate.csv", "blockiness.png"]
    return [out / n for n in names]


def bd_rate_table(result: EvalResult) -> str:
    """CSV: one row per ρ, one column per baseline, our BD-rate in percent (empty: none)."""
    table = bd_rates(result)
    codecs = [c.codec for c in result.baselines]
    lines = ["rho," + ",".join(f"bd_rate_vs_{c}_percent" for c in codecs)]
    for rho, row in table.items():
        lines.append(f"{rho_label(rho)}," + ",".join("" if row[c] is None else f"{row[c]:.2f}"
                                            for c in codecs))
    return "\n".join(lines) + "\n"
