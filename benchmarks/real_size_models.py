"""Real-size diffusion models with random weights: memory, seconds per call, calls per image.

    nice -n 10 .venv/bin/python benchmarks/real_size_models.py [--quick] [--threads 2]
        [--calls 3] [--models cifar-ddpm sd21-vae sd21-unet] [--out FILE.json]

Architectures (random weights, nothing downloaded):

- ``cifar-ddpm``: google/ddpm-cifar10-32's ``UNet2DModel`` (35.7 M parameters, channels
  (128, 256, 256, 256), attention at 16×16) on a 32×32 image, in
  :class:`rdptheory.models.diffusers_models.PixelDiffusionModel`'s conversion path;
- ``sd21-unet``: Stable Diffusion 2.1's ``UNet2DConditionModel`` (channels (320, 640, 1280,
  1280), head dims (5, 10, 20, 20), cross-attention 1024, linear projections, 4 latent
  channels; 866 M parameters) on the 64×64 latent of a 512×512 image, empty-prompt context of
  77 tokens;
- ``sd21-vae``: its ``AutoencoderKL`` (channels (128, 256, 512, 512)) encoding and decoding a
  512×512 image.

Each model runs in its own subprocess (so ``ru_maxrss`` is that model's peak resident memory),
with ``--threads`` torch threads, one warm-up call then ``--calls`` timed calls. Calls per
encode and decode are *counted* by running the real codec (default :class:`CodecConfig`:
32-level ladder 5 → 0.05, B = 8; decode: 24 Heun steps) with a cheap stand-in model of the same
code shape wrapped in a call counter; the codec's own time there (RCC, ODE bookkeeping) is
measured with the stand-in and added. The extrapolated seconds per image are

    encode ≈ VAE-encode + (calls_enc · s/call) + codec_enc,
    decode ≈ (calls_dec · s/call) + VAE-decode + codec_dec.

Every model call the codec makes is one batched call on the whole (1, C, H, W) state; the
encoder's calls depend on the previous RCC result and the decoder's ODE is sequential, so no
two calls can be batched together for one image (images can: ``--batch`` in a dataset run).
fp16/bf16 and ``torch.compile`` rows need a GPU; without one they are reported as skipped.

Measured 2026-12-06 on the project's shared 2-core CPU box, torch 2.13.0+cpu, diffusers
0.42.1, float32, 2 torch threads under ``nice -n 10``, while the box ran other jobs (load
average ~4-6; a first attempt at load 13-14 gave SD-UNet 308 s, VAE 113 / 67 s per call: the
wall seconds are contention-bound upper bounds). Each row ran in its own process
(``--child``; SD rows: one call without warm-up)::

    model        params   peak RSS   s/call wall (CPU-s, both threads)   calls enc / dec
    cifar-ddpm   35.7 M    657 MiB   6.30 (3.12)                         31 / 78
    sd21-unet   865.9 M   4022 MiB   38.3 (21.6)                         31 / 78
    sd21-vae     83.7 M   1860 MiB   encode 27.7 (22.6), decode 38.0 (42.5)   1 / 1

Calls: the default ladder has 32 levels; the encoder calls the model once per step after the
first (31), the decoder replays the same 31 and integrates 24 Heun steps (47 calls; the last
step is Euler). Codec-only time with the stand-in (numba RCC, first call includes JIT
compilation; load 13): 32×32 pixel code 79 s encode / 1.2 s decode; 4×64×64 latent 214 s /
4.4 s. Extrapolated seconds per image on this box (full ladder, all 32 levels; a lower bpp
sends fewer steps): CIFAR-DDPM 32×32 ≈ 275 s encode, 493 s decode; SD-2.1 512×512 ≈ 1.43e3 s
encode, 3.03e3 s decode — against DiffC's "under 10 s" on a GPU. No GPU was lent to this
session, so the fp16/bf16 and ``torch.compile`` rows are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

MODELS = ("cifar-ddpm", "sd21-vae", "sd21-unet")


def cifar_unet():  # google/ddpm-cifar10-32 unet/config.json
    from diffusers import UNet2DModel

    return UNet2DModel(
        sample_size=32, in_channels=3, out_channels=3, layers_per_block=2,
        block_out_channels=(128, 256, 256, 256),
        down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
        norm_eps=1e-6, norm_num_groups=32, downsample_padding=0, flip_sin_to_cos=False,
        freq_shift=1, act_fn="silu", time_embedding_type="positional")


def sd21_unet():  # stabilityai/stable-diffusion-2-1-base unet/config.json
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
        block_out_channels=(320, 640, 1280, 1280), attention_head_dim=(5, 10, 20, 20),
        cross_attention_dim=1024, use_linear_projection=True,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3, norm_num_groups=32)


def sd21_vae():  # stabilityai/stable-diffusion-2-1-base vae/config.json
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2,
        block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4, sample_size=512, scaling_factor=0.18215)


def _time(fn, calls: int, warmup: int = 1) -> tuple[float, float]:
    """Mean wall seconds and mean process CPU seconds (all threads) per call."""
    for _ in range(warmup):
        fn()
    ts, cpu = [], []
    for _ in range(calls):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        ts.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return float(np.mean(ts)), float(np.mean(cpu))


def measure(which: str, calls: int, warmup: int = 1) -> dict:
    """One model's parameters, peak RSS and seconds per call (run in a fresh process)."""
    import torch

    torch.manual_seed(0)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    row: dict = {"model": which, "threads": torch.get_num_threads(), "dtype": "float32",
                 "device": "cpu"}
    with torch.no_grad():
        if which == "cifar-ddpm":
            net = cifar_unet().eval()
            x, t = torch.randn(1, 3, 32, 32), torch.tensor([500.0])
            fns = {"unet": lambda: net(x, t).sample}
        elif which == "sd21-unet":
            net = sd21_unet().eval()
            z, t = torch.randn(1, 4, 64, 64), torch.tensor([500.0])
            ctx = torch.randn(1, 77, 1024)
            fns = {"unet": lambda: net(z, t, encoder_hidden_states=ctx).sample}
        elif which == "sd21-vae":
            net = sd21_vae().eval()
            img, lat = torch.randn(1, 3, 512, 512), torch.randn(1, 4, 64, 64)
            fns = {"vae_encode": lambda: net.encode(img).latent_dist.mean,
                   "vae_decode": lambda: net.decode(lat).sample}
        else:
            raise ValueError(f"unknown model {which!r}")
        row["params_M"] = sum(p.numel() for p in net.parameters()) / 1e6
        for k, fn in fns.items():
            row[f"{k}_s"], row[f"{k}_cpu_s"] = _time(fn, calls, warmup)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    row["peak_rss_MiB"] = rss / 1024
    row["model_rss_MiB"] = (rss - rss0) / 1024
    return row


class CountingModel:
    """A cheap stand-in of a given code shape (Gaussian N(0, I) posterior mean), counting calls.

    Its denoiser is exact for N(0, I) data, so the codec runs as with a (poor) real model; only
    the *number* of model calls and the codec's own time are read from it.
    """

    def __init__(self, shape: tuple[int, int, int], factor: int) -> None:
        self.shape, self.factor, self.calls, self.name = shape, factor, 0, "counting"

    def denoise(self, y, noise_var):
        from rdptheory.models.protocol import as_numpy, batch_noise_var

        self.calls += 1
        arr, back = as_numpy(y)
        t2 = batch_noise_var(noise_var, arr.shape[0])[:, None, None, None]
        return back(arr / (1.0 + t2))

    def score(self, y, noise_var):
        from rdptheory.models.protocol import as_numpy, batch_noise_var

        arr, back = as_numpy(y)
        t2 = batch_noise_var(noise_var, arr.shape[0])[:, None, None, None]
        d, _ = as_numpy(self.denoise(arr, noise_var))
        return back((d - arr) / t2)

    def to_code_space(self, x):
        b = np.asarray(x).shape[0]
        return np.zeros((b, *self.shape))  # the VAE's place (timed separately)

    def from_code_space(self, z):
        z = np.asarray(z)
        return np.zeros((z.shape[0], 3, z.shape[2] * self.factor, z.shape[3] * self.factor))

    def code_shape(self, height, width):
        return self.shape

    def fingerprint(self):
        return b"counting-model" + repr(self.shape).encode()


def count_calls(shape: tuple[int, int, int], factor: int, size: int, backend: str) -> dict:
    """Model calls and codec-only seconds of one full-ladder encode and decode (default config)."""
    from rdptheory.images.codec import CodecConfig, compress_with_report, decompress

    cfg = CodecConfig(backend=backend)
    m = CountingModel(shape, factor)
    img = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    t0 = time.perf_counter()
    res = compress_with_report(img, model=m, noise_var=cfg.t_min**2, config=cfg)
    enc_s, enc_calls = time.perf_counter() - t0, m.calls
    m.calls = 0
    t0 = time.perf_counter()
    decompress(res.data, model=m, rho=1.0, backend=backend)
    return {"code_shape": list(shape), "n_steps": res.n_steps, "bpp": res.bpp,
            "calls_encode": enc_calls, "calls_decode": m.calls, "codec_encode_s": enc_s,
            "codec_decode_s": time.perf_counter() - t0, "rcc_backend": backend}


def _child(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    if args.child.startswith("count:"):
        _, c, h, f, size = args.child.split(":")
        row = count_calls((int(c), int(h), int(h)), int(f), int(size), args.backend)
    else:
        row = measure(args.child, args.calls, args.warmup)
    print("ROW " + json.dumps(row), flush=True)


def _run_child(spec: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--child", spec, "--threads", str(args.threads),
           "--calls", str(args.calls), "--backend", args.backend, "--warmup",
           str(args.warmup)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    rows = [ln[4:] for ln in out.stdout.splitlines() if ln.startswith("ROW ")]
    if out.returncode or not rows:
        return {"model": spec, "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(rows[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--calls", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one timed call per model")
    ap.add_argument("--warmup", type=int, default=1, help="untimed calls before timing")
    ap.add_argument("--backend", default="numba", help="RCC backend of the call count")
    ap.add_argument("--out", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.calls = 1
    if args.child:
        _child(args)
        return
    import torch

    rows = []
    for m in args.models:  # each row as soon as it exists (the SD-size rows take long)
        rows.append(_run_child(m, args))
        print("row", json.dumps(rows[-1]), flush=True)
    counts = {}
    for key, spec in (("pixel32", "count:3:32:1:32"), ("latent64", "count:4:64:8:512")):
        counts[key] = _run_child(spec, args)
        print("count", json.dumps(counts[key]), flush=True)
    gpu = torch.cuda.is_available()
    skipped = [] if gpu else [
        "fp16/bf16 and torch.compile rows: no GPU in this session (torch "
        f"{torch.__version__}, cuda available: False); CPU half precision is not a target"]
    by = {r["model"]: r for r in rows}
    estimates = {}
    ok = all("calls_encode" in c for c in counts.values())
    if ok and "cifar-ddpm" in by and "unet_s" in by["cifar-ddpm"]:
        c, s = counts["pixel32"], by["cifar-ddpm"]["unet_s"]
        estimates["cifar-ddpm 32x32"] = {
            "encode_s": c["calls_encode"] * s + c["codec_encode_s"],
            "decode_s": c["calls_decode"] * s + c["codec_decode_s"]}
    if ok and {"sd21-unet", "sd21-vae"} <= by.keys() and "unet_s" in by["sd21-unet"] \
            and "vae_encode_s" in by["sd21-vae"]:
        c, s, v = counts["latent64"], by["sd21-unet"]["unet_s"], by["sd21-vae"]
        estimates["sd21 512x512"] = {
            "encode_s": v["vae_encode_s"] + c["calls_encode"] * s + c["codec_encode_s"],
            "decode_s": c["calls_decode"] * s + v["vae_decode_s"] + c["codec_decode_s"]}
    result = {"rows": rows, "call_counts": counts, "estimates": estimates,
              "skipped": skipped, "torch": torch.__version__}
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        from rdptheory._io import atomic_write_text

        atomic_write_text(args.out, text)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    main()
