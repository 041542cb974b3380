"""Image figures for the main report (``rdptheory report`` calls :func:`report_section`).

1. The codec on unseen photographs (centre crops of china and flower; no model was fitted on
   them), with the codec model given to :func:`report_section` (default: the shipped UNet,
   :func:`rdptheory.models.default_model`): PSNR and patch Fréchet distance against the file
   rate. Each image is encoded once; every point decodes a prefix of that one stream at a
   decode-time ρ (through :class:`MemoModel`, so the replays reuse the encoder's model calls).
   Pillow JPEG (``optimize=True``) and WebP (method 6) code the same crops at the rate of each
   prefix in the same run and are drawn on the same axes; the captions give our BD-rate
   against them and a blockiness figure compares the block grids.
2. The reconstructions themselves: the original crop and decodes of the same bitstream at
   ρ = 1, 1.5, 2, for the whole stream and for a prefix of it; and, on two 64×64 crops, the
   tiled and the shift-averaged patch GMM (:mod:`rdptheory.models.gmm_shifted`) and the codec
   model next to JPEG and WebP at the rate of the codec model's file.
3. The decoder alone (exact score of the tiled patch GMM, Y = X + tN, no coding) over ρ on
   in-distribution held-out patches and on patches of unseen photographs:
   distortion–perception and PSNR against ρ, each against the Gaussian-theory values of the
   prior's covariance (THEORY.md §3).
Every figure's numbers are written (CSV, and JSON for the curves) before it is drawn; the
style is the report's (:mod:`rdptheory.experiments.style`).

Findings of the quick run (48×48 crops, 1000 patches per set; measured for this module, not
taken from a paper). Codec with the UNet (2026-12-06, 37-level ladder to t² = 0.01, 4 Heun
steps): at ρ = 1 the prefixes give 15.6 / 17.5 / 22.0 / 28.4 dB at 0.23 / 0.44 / 1.30 /
3.70 bpp (mean of the two crops); BD-rate at ρ = 1 −31 % against JPEG (which pays ~1.2 bpp
of headers on a 48×48 crop) and +68 % against WebP. On the 64×64 crops at ~1.1 bpp (ρ = 1):
UNet 23.7 / 21.0 dB (china / flower), shifted GMM 23.9 / 20.9, tiled GMM 22.6 / 20.4, JPEG
22.4 / 19.8, WebP 26.9 / 22.1; blockiness UNet 0.84 / 1.00, tiled GMM 1.81 / 2.41 (originals
≈ 1). Earlier runs with the tiled GMM as the codec model: ρ = 1 had the best PSNR at every
rate *and* the lowest patch Fréchet distance — the Gaussian ordering (ρ = 2 the higher PSNR)
does not carry over to unseen photographs. Decoder alone: perception worsens monotonically
from ρ = 1 to 2 on both sets, as Gaussian theory predicts; on held-out patches PSNR peaks at
ρ = 1.5–1.75 within 0.1 dB of the exact posterior mean (ρ = 1 is 0.5–1.0 dB lower); on
unseen patches it peaks at ρ = 1.25–1.5, above the exact posterior mean by 0.2–0.3 dB. The
Gaussian theory curve of the prior's covariance predicts the shape, not the level: it is
2.5–3 dB below the held-out PSNR (the mixture is a far better model than one Gaussian).
"""

from __future__ import annotations

import hashlib
import json
import pathlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rdptheory import metrics
from rdptheory.data import bundled_image, center_crop
from rdptheory.experiments import plots
from rdptheory.experiments import style as _style
from rdptheory.experiments.image_eval import (
    EvalResult,
    bd_rates,
    eval_point,
    rho_sweep,
    rho_sweep_json,
    run_baselines,
)
from rdptheory.images.codec import CodecConfig, compress_with_report, decompress, truncate
from rdptheory.models import ImageModel, PatchGMMImageModel, default_model, load_model

_PATCH = 8  # patch size of the perception and blockiness measures (any model)
_BASELINES = ("jpeg", "webp")


class MemoModel:
    """An image model whose ``denoise`` and ``score`` outputs are remembered by input bytes.

    The report decodes one stream at several prefixes and several ρ: every decode replays the
    chain (one model call per step) on states that are bit for bit the encoder's (the codec's
    premise, tested in ``tests/images/test_codec.py``), so those calls repeat exactly. A pure
    function of its inputs, memoised, returns the same bytes: the decodes are unchanged, only
    the repeated calls are skipped. Everything else (``fingerprint``, ``name``, the code-space
    maps) is the wrapped model's. At most ``max_bytes`` of outputs are kept (least recently
    used dropped first); inputs that are not numpy arrays are passed through uncached.
    """

    def __init__(self, model: ImageModel, max_bytes: int = 256 * 2**20) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.wrapped = model
        self.max_bytes = int(max_bytes)
        self.calls = 0  # calls that reached the wrapped model
        self.hits = 0
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._bytes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)

    @staticmethod
    def _key(method: str, y: Any, noise_var: Any) -> tuple | None:
        if not isinstance(y, np.ndarray):
            return None
        t2 = np.asarray(noise_var)
        digest = hashlib.blake2b(np.ascontiguousarray(y).tobytes(), digest_size=16)
        digest.update(np.ascontiguousarray(t2).tobytes())
        return (method, y.shape, y.dtype.str, t2.shape, t2.dtype.str, digest.digest())

    def _call(self, method: str, fn: Callable[[Any, Any], Any], y: Any, noise_var: Any) -> Any:
        key = self._key(method, y, noise_var)
        if key is not None and key in self._cache:
            self.hits += 1
            self._cache.move_to_end(key)
            return self._cache[key].copy()
        self.calls += 1
        out = fn(y, noise_var)
        if key is not None and isinstance(out, np.ndarray) and out.nbytes <= self.max_bytes:
            self._cache[key] = out.copy()
            self._bytes += out.nbytes
            while self._bytes > self.max_bytes:
                self._bytes -= self._cache.popitem(last=False)[1].nbytes
        return out

    def denoise(self, y: Any, noise_var: Any) -> Any:
        """The wrapped model's ``denoise`` (remembered)."""
        return self._call("denoise", self.wrapped.denoise, y, noise_var)

    def score(self, y: Any, noise_var: Any) -> Any:
        """The wrapped model's ``score`` (remembered separately from ``denoise``)."""
        return self._call("score", self.wrapped.score, y, noise_var)


def _memo(model: ImageModel) -> ImageModel:
    return model if isinstance(model, MemoModel) else MemoModel(model)  # type: ignore[return-value]


def _unwrap(model: ImageModel) -> ImageModel:
    return model.wrapped if isinstance(model, MemoModel) else model


@dataclass(frozen=True)
class PrefixDecodes:
    """Every image encoded once; each stream prefix (``steps``) decoded at every ρ.

    ``curve`` holds the averaged points; ``decodes[i][(k, rho)]`` is image ``i``'s
    reconstruction (uint8) from the first ``k`` steps at ``rho``; ``bpp[i][k]`` its file rate;
    ``one_step_bpp[i]`` the rate of a one-step file (mostly the fixed header).
    """

    curve: EvalResult
    steps: tuple[int, ...]
    decodes: tuple[dict, ...]
    bpp: tuple[dict, ...]
    one_step_bpp: tuple[float, ...]


def codec_prefix_decodes(images: Sequence[np.ndarray], names: Sequence[str], *,
                         noise_var: float, rhos: tuple[float, ...], n_points: int,
                         config: CodecConfig, seed: int = 0, ode_steps: int = 16,
                         baselines: Sequence[str] = (), model: ImageModel | None = None,
                         solver: str = "heun") -> PrefixDecodes:
    """Encode each image once down to ``noise_var``; decode ``n_points`` common prefixes of
    each stream at every ρ (so every curve is one bitstream per image). ``baselines`` (Pillow
    codec names) code each image at the rate of each prefix; the curve carries them.
    ``model``: the codec's image model (``None``: :func:`rdptheory.models.default_model`, the
    shipped UNet); ``ode_steps`` and ``solver``: the decoder's PF-ODE
    (:func:`rdptheory.images.decompress`). The decodes replay the chain through a
    :class:`MemoModel` (the same bytes, without repeating the encoder's calls)."""
    model = _memo(default_model() if model is None else model)
    res = [compress_with_report(px, model=model, noise_var=noise_var, seed=seed, config=config)
           for px in images]
    n = min(r.n_steps for r in res)
    steps = tuple(int(k) for k in np.unique(np.linspace(max(2, n // 3), n, n_points).astype(int)))
    decodes: list[dict] = [{} for _ in images]
    bpp: list[dict] = [{} for _ in images]
    points = []
    for k in steps:
        for i, (px, r) in enumerate(zip(images, res, strict=True)):
            data = truncate(r.data, k)
            bpp[i][k] = 8 * len(data) / (px.shape[0] * px.shape[1])
            for rho in rhos:
                decodes[i][(k, rho)] = decompress(data, model=model, rho=rho,
                                                  ode_steps=ode_steps, solver=solver,
                                                  backend=config.backend)
        for rho in rhos:
            points.append(eval_point(float(k), rho, [(px, d[(k, rho)]) for px, d in
                                                     zip(images, decodes, strict=True)],
                                     [b[k] for b in bpp], [r.seconds for r in res], [0.0],
                                     _PATCH))
    curves, skipped = run_baselines([float(k) for k in steps], images,
                                    [[b[k] for b in bpp] for k in steps], baselines, patch=_PATCH)
    curve = EvalResult("rdptheory-diffc", f"{model.name}; prefixes of one stream per image",
                       "steps", tuple(names), tuple(points), curves,
                       float(np.mean([metrics.blockiness(px) for px in images])), skipped)
    one = tuple(8 * len(truncate(r.data, 1)) / (px.shape[0] * px.shape[1])
                for px, r in zip(images, res, strict=True))
    return PrefixDecodes(curve, steps, tuple(decodes), tuple(bpp), one)


def codec_prefix_curve(pixels: np.ndarray, *, noise_var: float, rhos: tuple[float, ...],
                       n_points: int, config: CodecConfig, seed: int = 0,
                       ode_steps: int = 16, model: ImageModel | None = None) -> EvalResult:
    """Encode one image once down to ``noise_var``; decode ``n_points`` prefixes at every ρ."""
    return codec_prefix_decodes([pixels], ["crop"], noise_var=noise_var, rhos=rhos,
                                n_points=n_points, config=config, seed=seed,
                                ode_steps=ode_steps, model=model).curve


@dataclass(frozen=True)
class _Settings:
    size: int
    n_patch: int
    rhos: tuple[float, ...]
    sweep_rhos: tuple[float, ...]
    levels: tuple[float, ...]
    codec_noise_var: float
    n_points: int
    ode_steps: int
    sweep_steps: int
    compare_size: int = 64
    compare_bpp: float = 1.2
    solver: str = "heun"  # the codec decodes' PF-ODE integrator (decompress's solver)


# Quick: 4 Heun steps (7 model calls per decode; was 12 steps, 23 calls). Measured with the
# UNet on 128x128 china/flower crops (the solver study, 2026-12-06,
# benchmarks/results/image_decoder_solvers.json): PSNR at rho = 1 0.15-0.23 dB below 24 Heun
# steps, patch Frechet distance within 3%. With MemoModel the report's UNet codec figures make
# 214 network calls (1012 at 12 steps without it).
_QUICK = _Settings(48, 1000, (1.0, 1.5, 2.0), (1.0, 1.25, 1.5, 1.75, 2.0), (0.01, 0.1), 0.01,
                   4, 4, 8)
# Full: 8 Heun steps (15 calls; the recommended decode default: within 0.06 dB of 24 steps at
# the same patch Frechet distance, benchmarks/results/image_decoder_solvers.json).
_FULL = _Settings(128, 2000, (1.0, 1.5, 2.0), (1.0, 1.25, 1.5, 1.75, 2.0),
                  (0.003, 0.01, 0.03, 0.1), 0.005, 6, 8, 24, 128, 0.6)
_CODEC_IMAGES = ("china", "flower")  # the unseen photographs (not used to fit the prior)


def _write_codec_numbers(out: pathlib.Path, pd: PrefixDecodes, rows: list, ks: tuple) -> None:
    fields = ("rho", "bpp", "psnr", "ms_ssim", "mse", "frechet", "sliced_w2sq", "blockiness")
    _style.write_csv(out / "image_rate_distortion.csv", ("codec", "steps") + fields,
                     [["ours", int(p.target)] + [getattr(p, f) for f in fields]
                      for p in pd.curve.points]
                     + [[c.codec, int(p.target)] + [getattr(p, f) for f in fields]
                        for c in pd.curve.baselines for p in c.points])
    bd = bd_rates(pd.curve)
    codecs = [c.codec for c in pd.curve.baselines]
    _style.write_csv(out / "image_bd_rate.csv", ("rho",) + tuple(f"vs_{c}_percent"
                                                                 for c in codecs),
                     [[rho] + [row[c] for c in codecs] for rho, row in bd.items()])
    (out / "image_codec_curve.json").write_text(json.dumps([asdict(p) for p in
                                                            pd.curve.points], indent=2))
    _style.write_csv(out / "image_reconstructions.csv", ("image", "steps", "rho", "bpp", "psnr"),
                     [[_CODEC_IMAGES[0], k, r, b, db] for k, row in zip(ks, rows, strict=True)
                      for r, _, b, db in row])


def _ode_words(s: _Settings) -> str:
    """The decoder's PF-ODE in words, for captions."""
    if s.solver == "heun":
        return f"{s.ode_steps} Heun steps, {2 * s.ode_steps - 1} model calls"
    return f"{s.ode_steps} steps of the one-call {s.solver} integrator"


def _tiled_gmm() -> PatchGMMImageModel:
    """The tiled exact-score patch GMM (the decoder-alone figures and the mosaic comparison)."""
    model = load_model("patch-gmm")
    assert isinstance(model, PatchGMMImageModel)
    return model


def _mosaic_note(model: ImageModel) -> str:
    """A caption clause on where the model's blockiness comes from."""
    if isinstance(_unwrap(model), PatchGMMImageModel):
        return "each 8×8 tile is decoded on its own, so low rates are a mosaic"
    return "a fully convolutional network: no block grid of its own"


def _codec_figures(out: pathlib.Path, s: _Settings, config: CodecConfig,
                   model: ImageModel) -> list[tuple[str, pathlib.Path]]:
    images = [center_crop(bundled_image(n).pixels, s.size) for n in _CODEC_IMAGES]
    pd = codec_prefix_decodes(images, _CODEC_IMAGES, noise_var=s.codec_noise_var, rhos=s.rhos,
                              n_points=s.n_points, config=config, ode_steps=s.ode_steps,
                              baselines=_BASELINES, model=model, solver=s.solver)
    ks = (pd.steps[-1], pd.steps[-2])  # the whole stream and a lower-rate prefix of it
    rows = [[(rho, pd.decodes[0][(k, rho)], pd.bpp[0][k],
              metrics.psnr(images[0], pd.decodes[0][(k, rho)])) for rho in s.rhos] for k in ks]
    _write_codec_numbers(out, pd, rows, ks)
    crops = f"{s.size}×{s.size} centre crops of {' and '.join(_CODEC_IMAGES)}"
    rd = (f"Image codec with the {model.name} model on {len(images)} unseen photographs "
          f"({crops}; the model was fitted on other images): (a) PSNR and (b) Fréchet "
          f"distance of pooled 8×8 patches "
          f"against the rate of the whole file (a one-step file, mostly header, is already "
          f"{min(pd.one_step_bpp):.2f} bpp at this size). Each image is encoded once down to "
          f"t² = {s.codec_noise_var:g} (model space); every point decodes a prefix of that one "
          f"stream, at the ρ chosen at decode time ({_ode_words(s)}). Grey: Pillow "
          f"JPEG (optimize=True) and WebP "
          f"(method 6) on the same crops at the rate of each prefix. {_bd_sentence(pd.curve)}")
    blk = (f"Blockiness (edge energy across the 8-pixel grid over edge energy inside the "
           f"blocks; originals {pd.curve.original_blockiness:.2f}, shaded ±10 %) of the same "
           f"decodes as the rate–distortion figure ({model.name}: {_mosaic_note(model)}) and of "
           f"JPEG and WebP at the same rates.")
    rec = (f"One encode, any ρ at decode time: the {s.size}×{s.size} {_CODEC_IMAGES[0]} crop "
           f"and decodes of the same bitstream at ρ = {', '.join(f'{r:g}' for r in s.rhos)} "
           f"(top: the whole stream, {ks[0]} steps; bottom: its first {ks[1]} steps). Panel "
           f"titles: file rate and PSNR.")
    labels = (f"whole stream ({ks[0]} steps)", f"prefix ({ks[1]} steps)")
    return [(rd, plots.rate_distortion_perception(pd.curve, out / "image_rate_distortion.png")),
            (blk, plots.blockiness(pd.curve, out / "image_blockiness.png")),
            (rec, plots.reconstructions(images[0], rows, out / "image_reconstructions.png",
                                        row_labels=labels))]


def model_name(model: ImageModel | None = None) -> str:
    """The report's codec model (``None``: the default, the shipped UNet), as named in
    captions."""
    return (default_model() if model is None else model).name


def _bd_sentence(curve: EvalResult) -> str:
    parts = []
    for rho, row in bd_rates(curve).items():
        vals = ", ".join(f"{c} {'n/a' if v is None else f'{v:+.0f} %'}" for c, v in row.items())
        parts.append(f"ρ = {rho:g}: {vals}")
    return ("BD-rate of ours (PCHIP, overlapping PSNR range; negative = fewer bits) against "
            "them: " + "; ".join(parts) + ".") if parts else ""


def classical_comparison(images: Sequence[np.ndarray], *, bpp: float, config: CodecConfig,
                         ode_steps: int, rho: float = 1.0, seed: int = 0,
                         model: ImageModel | None = None,
                         solver: str = "heun") -> list[list[tuple]]:
    """Per image: the tiled and the shift-averaged patch GMM and the codec's ``model``
    (``None``: the default, the shipped UNet) at ``bpp`` (decoded at ``rho``), and JPEG and
    WebP at the rate of ``model``'s file (highest quality not above it).

    Returns rows of ``(label, image uint8, bpp, psnr_db, blockiness)``.
    """
    from rdptheory.experiments import baselines
    from rdptheory.models.gmm_shifted import shifted_model

    model = default_model() if model is None else model
    models = tuple((label, _memo(m)) for label, m in (
        ("tiled GMM", _tiled_gmm()), ("shifted GMM", shifted_model()), (model.name, model)))
    rows = []
    for px in images:
        row = []
        for label, m in models:
            res = compress_with_report(px, model=m, bpp=bpp, seed=seed, config=config)
            rec = decompress(res.data, model=m, rho=rho, ode_steps=ode_steps, solver=solver,
                             backend=config.backend)
            row.append((f"{label}, ρ = {rho:g}", rec, res.bpp))
        for codec, label in (("jpeg", "JPEG"), ("webp", "WebP")):
            c = baselines.at_bpp(px, codec, row[-1][2])
            row.append((label, c.reconstruction, c.bpp))
        rows.append([(lab, im, b, metrics.psnr(px, im), metrics.blockiness(im))
                     for lab, im, b in row])
    return rows


def _classical_figure(out: pathlib.Path, s: _Settings, config: CodecConfig,
                      model: ImageModel) -> list[tuple[str, pathlib.Path]]:
    images = [center_crop(bundled_image(n).pixels, s.compare_size) for n in _CODEC_IMAGES]
    rows = classical_comparison(images, bpp=s.compare_bpp, config=config,
                                ode_steps=s.ode_steps, model=model, solver=s.solver)
    _style.write_csv(out / "image_vs_classical.csv",
                     ("image", "codec", "bpp", "psnr", "blockiness"),
                     [[n, lab, b, db, bk] for n, row in zip(_CODEC_IMAGES, rows, strict=True)
                      for lab, _, b, db, bk in row])
    cap = (f"Ours next to classical codecs at equal rate: {s.compare_size}×{s.compare_size} "
           f"centre crops of {' and '.join(_CODEC_IMAGES)} (unseen), our files at "
           f"{s.compare_bpp:g} bpp with the tiled patch GMM (the exact-score model: an 8×8 "
           f"mosaic), the shift-averaged one (posterior means of 16 shifted tilings "
           f"averaged: no block grid) and the report's codec model ({model.name}), decoded at "
           f"ρ = 1; JPEG (optimize=True) and WebP (method 6) at the highest quality whose file "
           f"is not larger than the {model.name} file. Panel titles: bpp of the whole file, "
           f"PSNR, blockiness (originals ≈ 1).")
    return [(cap, plots.side_by_side(images, rows, out / "image_vs_classical.png"))]


def _sweep_sets(s: _Settings) -> list[plots.SweepSet]:
    from rdptheory.models.fit_prior import patch_split

    gmm = _tiled_gmm()  # the exact score: this figure is about the decoder, not the model
    split = patch_split(gmm.prior.patch, 10, s.n_patch, seed=7)
    sets = []
    for label, x in (("held-out patches, training photographs", split.heldout),
                     ("patches of unseen photographs", split.unseen)):
        pts = rho_sweep(x, s.levels, s.sweep_rhos, model=gmm, ode_steps=s.sweep_steps)
        sets.append(plots.SweepSet(label, pts))
    return sets


def _sweep_figures(out: pathlib.Path, s: _Settings) -> list[tuple[str, pathlib.Path]]:
    sets = _sweep_sets(s)
    names = ("heldout", "unseen")
    for key, st in zip(names, sets, strict=True):
        (out / f"image_rho_{key}.json").write_text(rho_sweep_json(st.points))
    cols = ("noise_var", "rho", "mse", "frechet", "mmse", "theory_mse", "theory_w2sq",
            "rate_bits_per_dim")
    _style.write_csv(out / "image_rho_sweep.csv", ("set",) + cols,
                     [[k] + [getattr(p, c) for c in cols]
                      for k, st in zip(names, sets, strict=True) for p in st.points])
    what = (f"the decoder alone (exact patch-prior score, Y = X + tN with t² in model space, "
            f"no coding; {s.n_patch} patches of 8×8×3 per set, {s.sweep_steps} Heun steps): "
            f"(a) held-out patches of the training photographs, (b) patches of unseen "
            f"photographs")
    theory = ("Dashed: Gaussian theory (THEORY.md §3) for a Gaussian source with the prior's "
              "covariance — it predicts the shape of the trade-off for that Gaussian, not the "
              "level for image patches")
    return [
        (f"Distortion–perception over ρ for {what}. Markers run from ρ = 1 (left) to ρ = 2. "
         f"{theory}. Both axes per dimension on the [0, 1] pixel scale.",
         plots.distortion_perception(sets, out / "image_dp_rho.png")),
        (f"PSNR against ρ for {what}. {theory}; dotted: the exact posterior mean E[X|Y].",
         plots.psnr_over_rho(sets, out / "image_psnr_rho.png"))]


def _one_blas_thread():
    """``threadpoolctl`` (a scikit-learn dependency) limit to one BLAS thread, if installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn always brings it
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(limits=1)


def report_section(out_dir: str | pathlib.Path, *, quick: bool = True,
                   model: ImageModel | None = None) -> list[tuple[str, pathlib.Path]]:
    """Compute the image figures into ``out_dir``; return ``(caption, png path)`` pairs.

    ``model``: the codec figures' image model (``None``: the default, the shipped UNet; it
    needs torch and diffusers). The decoder-alone figures always use the tiled exact-score
    patch GMM, and the classical comparison shows both patch GMMs next to ``model``.

    Numbers are written (CSV, JSON) before each plot; every PNG has a PDF beside it.
    ``quick=True`` keeps to about a minute on two loaded cores (48×48 crops of two unseen
    photographs, 1000 patches per set); the full version uses 128×128 crops, 2000 patches,
    four noise levels and more ODE steps.
    """
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    s = _QUICK if quick else _FULL
    model = default_model() if model is None else model
    with _one_blas_thread():  # small BLAS calls: extra threads only contend
        config = CodecConfig(backend="auto")
        return (_codec_figures(out, s, config, model) + _classical_figure(out, s, config, model)
                + _sweep_figures(out, s))
