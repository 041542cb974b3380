"""Image figures for the main report (``rdptheory report`` calls :func:`report_section`).

1. The codec's rate–distortion and rate–perception curves on an unseen photograph: one
   encoding, decoded at every ρ from prefixes of the stream (so each curve is one bitstream).
2. The decoder's distortion–perception trade-off over ρ with exact scores and no coding, on
   in-distribution held-out patches and on patches of unseen photographs, each against the
   Gaussian-theory curve of the prior's covariance (THEORY.md §3).
Numbers are written next to the figures (JSON).

Findings with the shipped prior (1000 patches per set, t² = 0.003 … 0.3 in model space, 16
Heun steps; measured for this module, not taken from a paper). Perception (patch Fréchet)
worsens monotonically from ρ = 1 to ρ = 2 on both sets, as Gaussian theory predicts. PSNR does
not follow the Gaussian ordering: on held-out patches of the training photographs it peaks at
ρ = 1.5–1.75, within 0.1 dB of the exact posterior mean, with ρ = 1 0.4–1.2 dB lower; on unseen
photographs it peaks at ρ = 1.25, *above* the exact posterior mean by 0.1–0.3 dB (the prior
does not match them), and ρ = 2 falls below ρ = 1 for t² ≥ 0.03. The single-Gaussian theory
curve of the prior's covariance under-predicts the held-out PSNR by about 2.5 dB.
"""

from __future__ import annotations

import json
import pathlib
from dataclasses import asdict

import numpy as np

from rdptheory.images import plots
from rdptheory.images.codec import CodecConfig, compress_with_report, decompress, truncate
from rdptheory.images.datasets import bundled_image, center_crop
from rdptheory.images.evaluate import EvalResult, eval_point, rho_sweep, rho_sweep_json
from rdptheory.images.models import default_model


def codec_prefix_curve(pixels: np.ndarray, *, noise_var: float, rhos: tuple[float, ...],
                       n_points: int, config: CodecConfig, seed: int = 0,
                       ode_steps: int = 16) -> EvalResult:
    """Encode once down to ``noise_var``; decode ``n_points`` prefixes at every ρ."""
    model = default_model()
    res = compress_with_report(pixels, model=model, noise_var=noise_var, seed=seed,
                               config=config)
    steps = np.unique(np.linspace(max(2, res.n_steps // 3), res.n_steps, n_points).astype(int))
    points = []
    for k in steps:
        data = truncate(res.data, int(k))
        bpp = 8 * len(data) / (pixels.shape[0] * pixels.shape[1])
        for rho in rhos:
            out = decompress(data, model=model, rho=rho, ode_steps=ode_steps,
                             backend=config.backend)
            points.append(eval_point(float(k), rho, [(pixels, out)], [bpp], [res.seconds],
                                 [0.0], model.prior.patch))
    return EvalResult("rdptheory-diffc", f"{model.name}; prefixes of one stream", "steps",
                      ("china-crop",), tuple(points))


def report_section(out_dir: str | pathlib.Path, *,
                   quick: bool = True) -> list[tuple[str, pathlib.Path]]:
    """Compute the image figures into ``out_dir``; return ``(title, path)`` pairs.

    ``quick=True`` keeps to about a minute on two cores (small crop, few patches); the full
    version uses a larger crop, more patches, noise levels and ρ values.
    """
    from rdptheory.images.fit_prior import patch_split

    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    size, n_patch, rhos = (24, 200, (1.0, 1.5, 2.0)) if quick else (64, 2000,
                                                                    (1.0, 1.25, 1.5, 1.75, 2.0))
    levels = (0.01, 0.1) if quick else (0.003, 0.01, 0.03, 0.1)
    config = CodecConfig(backend="auto")
    pixels = center_crop(bundled_image("china").pixels, size)
    curve = codec_prefix_curve(pixels, noise_var=0.02 if quick else 0.005, rhos=rhos,
                               n_points=3 if quick else 5, config=config,
                               ode_steps=8 if quick else 24)
    (out / "image_codec_curve.json").write_text(json.dumps([asdict(p) for p in curve.points],
                                                           indent=2))
    figs = [(f"Image codec: rate–distortion on an unseen {size}x{size} photograph crop",
             plots.rate_distortion(curve, out / "image_rate_distortion.png")),
            ("Image codec: rate–perception (patch Fréchet distance)",
             plots.rate_perception(curve, out / "image_rate_perception.png"))]
    split = patch_split(default_model().prior.patch, 10, n_patch, seed=7)
    for key, patches, label in (("heldout", split.heldout, "held-out patches of the training "
                                 "photographs"), ("unseen", split.unseen,
                                                  "patches of unseen photographs")):
        pts = rho_sweep(patches, levels, rhos, ode_steps=6 if quick else 24)
        (out / f"image_rho_{key}.json").write_text(rho_sweep_json(pts))
        figs.append((f"Decoder over ρ (exact score, no coding), {label}",
                     plots.distortion_perception(pts, out / f"image_dp_{key}.png",
                                                 title=f"D–P over ρ: {key}")))
        figs.append((f"PSNR over ρ, {label} (dashed: Gaussian theory; dotted: E[X|Y])",
                     plots.psnr_gain_over_rho(pts, out / f"image_psnr_rho_{key}.png",
                                              title=f"PSNR over ρ: {key}")))
    return figs
