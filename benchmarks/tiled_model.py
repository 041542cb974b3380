"""The shipped UNet on the whole image against the same network on windows of its training crop.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/tiled_model.py \
        [--levels 0.1 0.2 0.4 0.8 1.6] [--out benchmarks/results/tiled_model.json]

Denoising PSNR (after rounding to 8 bits, one noise draw per level, seed 1234:
:func:`rdptheory.models.train.denoising_psnr`) and CPU seconds (one torch thread) of:

- ``whole``: the network on the whole image (``load_model("unet-whole")``);
- ``wW sS``: :class:`rdptheory.models.tiled.TiledModel` with window W and stride S (``w64 s48``
  is the default model; ``w64 s64`` has no overlap: each pixel is one window's estimate);
- ``window-norm``: a control. The whole-image network with every group norm computing its
  statistics over the aligned 64² block (at each level's scale) that holds the pixel, the
  convolutions still seeing across blocks. It separates the two things a window changes: the
  normalisation statistics and the border.

Sets: four unseen 128² crops (:func:`rdptheory.experiments.model_measure.unseen_crops`), the
256² centre crops of china and flower (unseen), and 8 held-out 64² crops of the training
photographs (one window: every tiled row equals ``whole`` there).

Measured 2026-12-07 (``benchmarks/results/tiled_model.json``, code with 8 windows per call;
2-core machine with a test run beside it, CPU seconds of the whole set, all levels, one torch
thread)::

    set            model        t=0.1   0.2    0.4    0.8    1.6    CPU s
    unseen 4x128   whole        31.88  27.34  22.97  20.04  18.55    4.0
    unseen 4x128   w64 s64      32.36  28.15  23.89  20.76  18.82    3.3
    unseen 4x128   w64 s48      32.53  28.33  24.07  20.91  19.06    7.7   (the default)
    unseen 4x128   w96 s48      32.18  27.82  23.49  20.55  18.84    8.5
    unseen 4x128   window-norm  31.75  26.65  21.49  18.02  16.44    4.8
    unseen 2x256   whole        31.35  27.22  22.93  19.70  17.71   11.7
    unseen 2x256   w64 s64      31.71  27.70  23.69  20.50  18.45    6.7
    unseen 2x256   w64 s48      31.83  27.84  23.86  20.72  18.65   10.8   (the default)
    unseen 2x256   w64 s32      31.85  27.88  23.92  20.78  18.71   20.8
    unseen 2x256   w96 s48      31.75  27.77  23.76  20.66  18.66   25.0
    unseen 2x256   w128 s64     31.64  27.61  23.50  20.42  18.45   19.4
    unseen 2x256   window-norm  31.46  27.11  22.33  18.57  16.93   13.0

On the 8 held-out 64² crops every row is 35.44 / 31.88 / 28.57 / 26.19 / 24.60 (one window).
The training-size window wins at every level, larger windows lose part of the gain, and
normalising per window without the window's border is worse than the whole image: the network
relies on its 64² frame. Windows must overlap: without (``w64 s64``) their 64-px seams raise
the blockiness of the denoised 128² crops (8-px grid measure, originals 0.85-0.98) to
1.10-1.21 at t = 0.4 and 1.37-2.14 at t = 1.6, where the whole image and ``w64 s48`` give
0.86-1.01 and 0.89-1.11. On one thread, at 128² (w64 s48 = s32: 3 windows per side) the
default costs 1.9× the whole image, at 256² 0.92× (25 windows of 64², 1.56× the pixels, but
attention over 256 tokens per window instead of 4096); on two threads ~1.1-1.2× at 256², where
the whole image's attention runs in parallel (``benchmarks/image_codec.py --speed``).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import time
from typing import Any

import numpy as np


def centre_crops(size: int) -> np.ndarray:
    """The ``size²`` centre crops of china and flower, float64 ``(2, 3, size, size)``."""
    from rdptheory.data import bundled_image, to_model_space

    out = []
    for name in ("china", "flower"):
        x = to_model_space(bundled_image(name).pixels)
        h, w = x.shape[1:]
        r, c = (h - size) // 2, (w - size) // 2
        out.append(x[:, r:r + size, c:c + size])
    return np.stack(out)


def window_norm_network(block: int = 64) -> Any:
    """A fresh whole-image copy of the shipped network whose group norms use the statistics of
    the aligned ``block``² window (scaled to each level) holding each pixel (the control)."""
    import torch
    from torch import nn

    from rdptheory.models import default_model_path
    from rdptheory.models.diffusers_models import PixelDiffusionModel

    net = PixelDiffusionModel(default_model_path(), implementation="torch")
    size: dict[str, int] = {}

    class BlockNorm(nn.Module):
        def __init__(self, norm: nn.GroupNorm) -> None:
            super().__init__()
            self.norm = norm

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.dim() != 4:  # the attention's norm over (B, C, tokens): left global
                return self.norm(x)
            k = block * x.shape[-1] // size["w"]
            b, c, h, w = x.shape
            if h <= k and w <= k:
                return self.norm(x)
            t = x.view(b, c, h // k, k, w // k, k).permute(0, 2, 4, 1, 3, 5).reshape(-1, c, k, k)
            out = self.norm(t).view(b, h // k, w // k, c, k, k)
            return out.permute(0, 3, 1, 4, 2, 5).reshape(b, c, h, w)

    for module in list(net.unet.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.GroupNorm):
                setattr(module, name, BlockNorm(child))
    net.unet.register_forward_pre_hook(lambda _m, args: size.__setitem__("w", args[0].shape[-1]))
    return net


def blockiness_rows(models: dict[str, Any], crops: np.ndarray,
                    levels: tuple[float, ...] = (0.4, 0.8, 1.6)) -> dict[str, Any]:
    """:func:`rdptheory.metrics.image.blockiness` of each model's denoised crops (8-bit), per
    level (one noise draw, seed 0), and of the originals."""
    from rdptheory import metrics

    def u8(x: np.ndarray) -> np.ndarray:
        return np.clip(np.round((x + 1.0) * 127.5), 0, 255).astype(np.uint8).transpose(1, 2, 0)

    rng = np.random.default_rng(0)
    out: dict[str, Any] = {"original": [metrics.blockiness(u8(x)) for x in crops]}
    for t in levels:
        y = crops + t * rng.standard_normal(crops.shape)
        for name, model in models.items():
            out.setdefault(name, {})[str(t)] = [metrics.blockiness(u8(x))
                                               for x in model.denoise(y, t * t)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--levels", type=float, nargs="+", default=[0.1, 0.2, 0.4, 0.8, 1.6])
    ap.add_argument("--out", type=pathlib.Path, default=None)
    a = ap.parse_args()
    import torch

    from rdptheory.experiments.model_measure import heldout_crops, unseen_crops
    from rdptheory.models import load_model
    from rdptheory.models.tiled import TiledModel
    from rdptheory.models.train import denoising_psnr

    torch.set_num_threads(1)
    whole = load_model("unet-whole")
    models: dict[str, Any] = {"whole": whole}
    for w, s in ((64, 64), (64, 48), (64, 32), (96, 48), (128, 64)):
        models[f"w{w} s{s}"] = TiledModel(whole, w, s)
    models["window-norm"] = window_norm_network()
    sets = {"unseen 4x128": unseen_crops(128), "unseen 2x256": centre_crops(256),
            "held-out 8x64": heldout_crops()[:8].astype(np.float64)}
    levels = tuple(a.levels)
    res: dict[str, Any] = {"t": list(levels), "machine": f"{platform.machine()}, "
                           f"{__import__('os').cpu_count()} CPUs, 1 torch thread", "sets": {}}
    for set_name, crops in sets.items():
        rec: dict[str, Any] = {}
        for name, model in models.items():
            t0 = time.process_time()
            r = denoising_psnr(lambda y, t, m=model: m.denoise(y, np.full(len(y), t * t)),
                               crops, levels)
            rec.setdefault("noisy", r["noisy"])
            rec[name] = {"psnr": r["model"], "cpu_s": time.process_time() - t0}
            print(f"{set_name:14s} {name:12s} " + " ".join(f"{v:6.2f}" for v in r["model"])
                  + f"   cpu {rec[name]['cpu_s']:.1f} s", flush=True)
        res["sets"][set_name] = rec
    res["blockiness_unseen_4x128"] = blockiness_rows(
        {k: models[k] for k in ("whole", "w64 s64", "w64 s48")}, sets["unseen 4x128"])
    print(json.dumps(res["blockiness_unseen_4x128"]))
    if a.out:
        a.out.write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
