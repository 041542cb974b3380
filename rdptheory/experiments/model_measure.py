"""Held-out figures of an image model: denoising PSNR per noise level and the chain's bits/dim.

``python -m rdptheory.experiments.model_measure [--model unet] [--against gmm]`` prints, for
the held-out strips of the training photographs (:mod:`rdptheory.models.data`) and for
128×128 crops of scikit-learn's china and flower (never trained on):

- the PSNR (peak 255, after rounding to 8 bits, mean over crops) of the noisy input and of each
  model's ``E[X | y]`` at noise std ``t ∈ {0.04, 0.1, 0.2, 0.4, 0.8, 1.6}`` (one noise draw per
  level, seed 1234), the table format of ``shared/notes/image-prior-measurements.md``;
- the ideal rate of the codec's chain down to ``t_min`` in bits per dimension: the sum of the
  step KLs of :mod:`rdptheory.images` on the default ladder (``t_max = 5`` to ``t_min = 0.05``,
  32 levels), i.e. the file's index bits without RCC overhead or side information,

  .. math::

      R = \\mathrm{KL}\\big(N(x, t_0^2) \\,\\|\\, N(0, (t_0^2 + 1))\\big)
          + \\sum_{i \\ge 1} \\Big(1 - \\frac{t_i^2}{t_{i-1}^2}\\Big)
            \\frac{\\lVert x - \\hat x_0(y_{i-1}) \\rVert^2}{2 t_i^2},

  with ``y_i`` drawn from the chain's target ``q`` (seed fixed). As the ladder gets finer this
  tends to the I-MMSE integral ``∫ mse(t)/t³ dt`` of the model's denoising error (our
  derivation from the step KL). Divided by ``3·H·W·ln 2``;
- a variational bound on the code length of the 8-bit image in bits per dimension, comparable
  with the patch GMM's exact 3.47 (held-out) / 3.78 (unseen) of
  :mod:`rdptheory.models.fit_prior`: the same chain continued on a geometric ladder down to
  ``ε = 0.002`` (L = 128 levels from 5), applied to the uniformly dequantised image
  ``x = (u + v − ½)/127.5 − 1``, closed by the decoder ``p(x | y_ε) = N(y_ε, ε²)`` (the DDPM
  evidence bound with the model's posterior-mean parameterisation; our arrangement):

  .. math::

      \\mathrm{bpd} \\le \\frac{R_ε + \\tfrac d2 \\ln(2π e ε^2)}{d \\ln 2} + \\log_2 127.5.

  The discrete ladder's excess shrinks like ``1/L``; ``2 b(128) − b(64)`` (Richardson) estimates
  the continuous-time bound. Checked on the tiled patch GMM, whose exact code length is
  computable (:func:`tiled_gmm_bits_per_dim`): on the unseen crops b(64) = 5.255,
  b(128) = 4.996, extrapolated 4.737 against the exact 4.694; held-out 4.327, 4.097, 3.868
  against 3.869 (2026-12-06).
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import numpy as np

from rdptheory.models.train import VALIDATION_LEVELS, denoising_psnr

#: The codec's default ladder (``CodecConfig``): t_max, t_min, levels.
DEFAULT_LADDER = (5.0, 0.05, 32)


def unseen_crops(size: int = 128) -> np.ndarray:
    """Two ``size × size`` crops each of china and flower (centre and upper-left quarter),
    float64 ``(4, 3, size, size)`` in ``[-1, 1]``."""
    from rdptheory.data import bundled_image, to_model_space

    out = []
    for name in ("china", "flower"):
        x = to_model_space(bundled_image(name).pixels)
        h, w = x.shape[1:]
        for r, c in (((h - size) // 2, (w - size) // 2), (h // 4 - size // 2, w // 4 - size // 2)):
            out.append(x[:, r:r + size, c:c + size])
    return np.stack(out)


def heldout_crops(extra_images: str | None = None) -> np.ndarray:
    """The validation crops of the training run (two 64×64 per held-out strip), float64."""
    from rdptheory.models.data import holdout_crops, split_holdout, training_photographs

    return holdout_crops([split_holdout(im) for im in training_photographs(extra_images)]
                         ).astype(np.float64)


#: Ladder of the likelihood bound: down to ε = 0.002 (about a quarter of an 8-bit step).
BOUND_LADDER = (5.0, 0.002, 128)


def chain_bits_per_dim(model: Any, x: np.ndarray, ladder: tuple[float, float, int] =
                       DEFAULT_LADDER, seed: int = 0) -> float:
    """Ideal chain rate (module docstring) of images ``x`` (N, 3, H, W), mean bits per dim."""
    return float(_chain_kl_nats(model, x, ladder, seed).mean() / (x[0].size * math.log(2.0)))


def bits_per_dim_bound(model: Any, x: np.ndarray, ladder: tuple[float, float, int] =
                       BOUND_LADDER, seed: int = 0) -> float:
    """Variational bound on the 8-bit code length (module docstring), mean bits per dim.

    ``x`` holds 8-bit images in model space (``u/127.5 − 1``); they are dequantised here.
    """
    rng = np.random.default_rng([seed, 1])
    u = np.rint((np.asarray(x, dtype=np.float64) + 1.0) * 127.5)
    xd = (u + rng.random(u.shape) - 0.5) / 127.5 - 1.0
    eps, d = ladder[1], x[0].size
    nats = _chain_kl_nats(model, xd, ladder, seed) + 0.5 * d * math.log(2 * math.pi * math.e
                                                                         * eps**2)
    return float(nats.mean() / (d * math.log(2.0)) + math.log2(127.5))


def tiled_gmm_bits_per_dim(model: Any, x: np.ndarray, seed: int = 0) -> float:
    """Exact 8-bit code length of the tiled patch-GMM model (bits/dim, same dequantisation as
    :func:`bits_per_dim_bound`); image sides must be multiples of the patch."""
    from rdptheory.models.prior import gmm_log_density

    prior, p = model.prior, model.prior.patch
    rng = np.random.default_rng([seed, 1])
    u = np.rint((np.asarray(x, dtype=np.float64) + 1.0) * 127.5)
    xd = (u + rng.random(u.shape) - 0.5) / 127.5 - 1.0
    n, c, h, w = xd.shape
    if h % p or w % p:
        raise ValueError(f"image sides must be multiples of {p}, got {h}x{w}")
    tiles = xd.reshape(n, c, h // p, p, w // p, p).transpose(0, 2, 4, 1, 3, 5)
    ll = gmm_log_density(prior, tiles.reshape(-1, c * p * p), np.zeros(n * (h // p) * (w // p)))
    return float((-ll.sum() / xd.size + math.log(127.5)) / math.log(2.0))


def _chain_kl_nats(model: Any, x: np.ndarray, ladder: tuple[float, float, int],
                   seed: int) -> np.ndarray:
    """Per-image sum of the chain's step KLs in nats (module docstring)."""
    t_max, t_min, n = ladder
    t = t_max * (t_min / t_max) ** (np.arange(n) / (n - 1))
    rng = np.random.default_rng(seed)
    d = x[0].size
    t0 = t[0]
    v = t0**2 + 1.0
    kl = 0.5 * (d * math.log(v / t0**2) + d * t0**2 / v - d
                + (x.reshape(len(x), -1) ** 2).sum(1) / v)
    y = x + t0 * rng.standard_normal(x.shape)
    for i in range(1, n):
        s2, t2 = t[i] ** 2, t[i - 1] ** 2
        xhat = np.asarray(model.denoise(y, np.full(len(x), t2)), dtype=np.float64)
        a = 1.0 - s2 / t2
        kl = kl + a * ((x - xhat) ** 2).reshape(len(x), -1).sum(1) / (2.0 * s2)
        y = a * x + (s2 / t2) * y + math.sqrt(s2 * a) * rng.standard_normal(x.shape)
    return np.asarray(kl)


class PerturbedModel:
    """``model`` with ``delta`` added to every denoiser output (same fingerprint): a stand-in
    for a decoder whose float32 kernels round differently from the encoder's."""

    def __init__(self, model: Any, delta: float) -> None:
        self.model, self.delta, self.name = model, float(delta), model.name

    def denoise(self, y: Any, noise_var: Any) -> Any:
        """The wrapped estimate plus ``delta``."""
        return np.asarray(self.model.denoise(y, noise_var), dtype=np.float64) + self.delta

    def score(self, y: Any, noise_var: Any) -> Any:
        """``(denoise − y)/t²`` with the perturbed estimate."""
        t2 = np.broadcast_to(np.asarray(noise_var, dtype=np.float64).reshape(-1),
                             (np.shape(y)[0],))[:, None, None, None]
        return (self.denoise(y, noise_var) - np.asarray(y, dtype=np.float64)) / t2

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)


def replay_drift(model: Any, image: np.ndarray, deltas: tuple[float, ...] = (1e-7, 1e-5),
                 bpp: float = 0.5, seed: int = 0, rho: float = 1.0) -> list[dict[str, Any]]:
    """Decode one file with ``model`` and with :class:`PerturbedModel` copies of it.

    Returns, per ``delta``, the number of 8-bit values that differ from the unperturbed decode
    and the largest difference (8-bit levels).
    """
    from rdptheory.images import compress_with_report, decompress

    r = compress_with_report(image, model=model, bpp=bpp, seed=seed)
    ref = decompress(r.data, model=model, rho=rho).astype(np.int64)
    out = []
    for delta in deltas:
        got = decompress(r.data, model=PerturbedModel(model, delta), rho=rho).astype(np.int64)
        diff = np.abs(got - ref)
        out.append({"delta": delta, "bpp": r.bpp, "n_steps": r.n_steps,
                    "values_differing": int((diff > 0).sum()), "values": int(diff.size),
                    "max_levels": int(diff.max())})
    return out


def _denoiser(model: Any) -> Any:
    return lambda y, t: np.asarray(model.denoise(y, np.full(len(y), t * t)), dtype=np.float64)


def measure(models: dict[str, Any], sets: dict[str, np.ndarray],
            levels: tuple[float, ...] = VALIDATION_LEVELS, *, bound: bool = True
            ) -> dict[str, Any]:
    """PSNR tables and bits/dim of every model on every crop set (see the module docstring).

    ``bound=False`` skips the variational bound (its 192 model calls per set are most of the
    cost), leaving the PSNR table and the codec's chain rate.
    """
    if not models or not sets:
        raise ValueError("give at least one model and one crop set")
    out: dict[str, Any] = {}
    for set_name, crops in sets.items():
        rec: dict[str, Any] = {"t": list(levels), "psnr": {}, "bits_per_dim": {},
                               "bpd_bound": {}}
        for name, model in models.items():
            r = denoising_psnr(_denoiser(model), crops, levels)
            rec["psnr"]["noisy"] = r["noisy"]
            rec["psnr"][name] = r["model"]
            rec["bits_per_dim"][name] = chain_bits_per_dim(model, crops)
            if not bound:
                continue
            b128 = bits_per_dim_bound(model, crops)
            b64 = bits_per_dim_bound(model, crops, (5.0, 0.002, 64))
            rec["bpd_bound"][name] = b128
            rec.setdefault("bpd_extrapolated", {})[name] = 2 * b128 - b64
            if hasattr(model, "prior"):
                rec.setdefault("bpd_exact", {})[name] = tiled_gmm_bits_per_dim(model, crops)
        out[set_name] = rec
    return out


def markdown(result: dict[str, Any]) -> str:
    """The tables of :func:`measure` as Markdown."""
    lines = []
    for set_name, rec in result.items():
        cols = list(rec["psnr"])
        lines += [f"**{set_name}** (PSNR dB)", "", "| t | " + " | ".join(cols) + " |",
                  "|---" * (len(cols) + 1) + "|"]
        for i, t in enumerate(rec["t"]):
            lines.append(f"| {t} | " + " | ".join(f"{rec['psnr'][c][i]:.2f}" for c in cols)
                         + " |")
        lines += ["", "bits/dim (chain to t_min): " + ", ".join(
            f"{k} {v:.3f}" for k, v in rec["bits_per_dim"].items()),
                  "", "bits/dim bound of the 8-bit image (ε = 0.002, L = 128): " + ", ".join(
                      f"{k} {v:.3f}" for k, v in rec["bpd_bound"].items()),
                  "", "bits/dim bound extrapolated to L → ∞: " + ", ".join(
                      f"{k} {v:.3f}" for k, v in rec.get("bpd_extrapolated", {}).items()),
                  "", "bits/dim exact (tiled patch GMM): " + ", ".join(
                      f"{k} {v:.3f}" for k, v in rec.get("bpd_exact", {}).items()), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m rdptheory.experiments.model_measure --help``."""
    ap = argparse.ArgumentParser(prog="python -m rdptheory.experiments.model_measure",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="unet", help="image model spec (load_model)")
    ap.add_argument("--against", default="gmm", help="baseline model spec ('' for none)")
    ap.add_argument("--extra-images", default=None)
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--no-bound", action="store_true",
                    help="skip the bits/dim bound (PSNR table and chain rate only)")
    a = ap.parse_args(argv)
    from rdptheory.models import load_model

    models = {a.model: load_model(a.model)}
    if a.against:
        models = {a.against: load_model(a.against), **models}
    res = measure(models, {"held-out strips (18×64²)": heldout_crops(a.extra_images),
                           "unseen china/flower (4×128²)": unseen_crops()},
                  bound=not a.no_bound)
    print(markdown(res))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(res, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
