"""Image codec speed and rate: encode/decode seconds and bpp per model and RCC backend.

The issue-11 speed rows (256² china at 0.5 bpp, the default UNet and gmm-shift, the codec's
defaults and those of 2026-12-06, on 2 threads; one command)::

    .venv/bin/python benchmarks/image_codec.py --speed --threads 2 \
        --out benchmarks/results/image_codec_speed_256.json

Other modes::

    .venv/bin/python benchmarks/image_codec.py [--size 256] [--bpp 0.25 0.5 1.0]
        [--backends numba numpy torch] [--models gmm gmm-shift unet] [--rhos 1 2]
        [--out benchmarks/results/image_codec.json]
    .venv/bin/python benchmarks/image_codec.py --ladder-study [CONFIG ...] --models unet
        --size 128 [--images china flower]   # real bytes / PSNR per ladder and padding

A ``size × size`` centre crop of scikit-learn's china.jpg (unseen by every model) is compressed
with each model (``--models``: specs of :func:`rdptheory.models.load_model`; default
the tiled patch GMM ``gmm``, the shift-averaged one ``gmm-shift`` and the shipped trained
UNet ``unet``) at each target rate and decoded at each ρ. A model that cannot be loaded here
(the UNet needs torch and diffusers and its weights) gets a row saying it was skipped and why.
Encoding is dominated by the RCC candidate search, ~2^(max_chunk_bits + padding) candidate
draws per coordinate and step; decoding regenerates one candidate per chunk and integrates the
PF-ODE. The first call of a JIT backend (numba) includes compilation; it is timed separately.

Measured 2026-11-25 on the project's shared 2-core CPU box (load ~8 from other jobs, so read
the seconds as upper bounds; defaults: ladder 5 → 0.05 in 32 levels, B = 8, padding 2, 24
Heun steps). Every backend produces the same file and the same reconstruction::

    size  backend  bpp     steps  encode s  decode s  PSNR ρ=1  PSNR ρ=2
    256   numba    0.2218  11     33.0      7.9       17.75     17.45
    256   numba    0.4513  15     44.9      7.6       20.12     19.33
    256   numba    0.8956  19     53.5      6.7       22.82     22.15
     64   numba    0.2441   7      0.93     0.46     15.21     15.28
     64   numba    0.4395  12      1.87     0.52     17.83     17.32
     64   numba    0.8770  17      2.92     0.63     21.23     20.56
     64   numpy    0.2441   7      8.7      0.31     15.21     15.28
     64   numpy    0.4395  12     16.9      0.39     17.83     17.32
     64   numpy    0.8770  17     25.4      0.49     21.23     20.56
     64   torch    0.2441   7    130.2      0.89     15.21     15.28
     64   torch    0.4395  12    300.0      0.52     17.83     17.32
     64   torch    0.8770  17    204.3      0.50     21.23     20.56

(torch on CPU is the slow path of the kernels; its timings are the noisiest, the box's load
changed during the run.)

256×256 at ~0.5 bpp, ``--codec-rows`` (2026-12-06, shared 2-core box at load 4-20, so the
seconds below are CPU seconds of the benchmark process, 1 torch thread; wall seconds were
2-20x larger and are in the JSON; ``benchmarks/results/image_codec_256.json``). Default ladder
(t_max 10 -> 0.05 in 37 levels); decoders: heun 24 (the old default, baseline), heun 8 (the
new default), exp2 4 (the one-call solver); decode = replay (steps − 1 calls) + ODE::

    model      bpp     steps  enc CPU s  (model)  dec CPU s h24/h8/e4  calls     PSNR h24/h8/e4
    unet       0.4762  20     62.5       (22.7)   78.2/41.6/27.6       66/34/23  20.06/20.05/19.96
    gmm-shift  0.4601  21     57.3       (13.8)   38.6/21.1/15.3       67/35/24  21.45/21.39/21.60
    gmm        0.4474  20     44.9        (3.3)   10.5/ 5.5/ 3.8       66/34/23  20.22/20.18/20.28

One UNet call is ~1.15 CPU-s at 256² (20 calls: 22.7 s); the rest of the encode is RCC. Equal
final noise t = 0.6248 with fewer levels (K levels from 10; exp2 4 decode)::

    model      K  bpp     enc CPU s (model)  dec CPU s (calls)  PSNR ρ=1
    unet       8  0.5133  26.4 (8.0)         12.4 (11)          19.89
    unet       6  0.9684  16.9 (5.6)          9.4 (9)           19.89
    gmm-shift  8  0.4176  20.7 (3.8)          6.8 (11)          20.95
    gmm-shift  6  0.4474  17.6 (3.2)          4.9 (9)           20.92

The issue's targets (UNet encode ≤ 15 s, decode ≤ 10 s) are not met with the default ladder:
the decode is 19 replay calls + the ODE, the encode 20 calls + ~40 s of RCC. An 8-level ladder
to t = 0.62 with exp2 4 reaches 26 / 12 CPU-s for +8 % bits; 6 levels reach 17 / 9 s but
nearly double the UNet's file. Previous session (wall, load 6-8, 32-level ladder, heun 24):
GMM 73 / 17 s, UNet 89 / 119 s.

``--speed --threads 2`` (2026-12-07 02:29-02:35 UTC, ``OMP_WAIT_POLICY=PASSIVE``, this
2-core box at load ~2 from other jobs: wall seconds, CPU seconds of the process in brackets;
256² china, 0.5 bpp, ρ = 1; ``benchmarks/results/image_codec_speed_256.json``)::

    model      setting  bpp     steps  enc s (CPU)    calls  dec s (CPU)    calls  PSNR
    unet       default  0.4094     10   20.7 ( 36.7)     10   11.2 ( 17.9)     13  19.27
    unet       before   0.4739     20   41.7 ( 72.8)     20   35.4 ( 53.9)     34  20.05
    gmm-shift  default  0.4124     11   29.6 ( 43.8)     11   17.1 ( 17.0)     14  21.22
    gmm-shift  before   0.4441     21   73.4 ( 77.7)     21   42.1 ( 41.7)     35  21.44

UNet encode 2.0× and decode 3.2× faster than the 2026-12-06 defaults; gmm-shift 2.5× / 2.5×
(its calls run on one thread: decode CPU = wall). The bytes and the image do not depend on the
thread count (the 1-thread run below gives the same 3354 bytes and PSNR). The issue's targets
(encode ≤ 15 s, decode ≤ 10 s) are not met under this load: decode 11.2 s, encode 20.7 s.

The same command on an idle machine (2026-12-07 02:36-02:41 UTC, load 1.2-1.8, code e34fe68,
``OMP_WAIT_POLICY`` unset; the JSON holds this run)::

    model      setting  bpp     steps  enc s (CPU)    calls  dec s (CPU)    calls  PSNR
    unet       default  0.4094     10   23.6 ( 43.5)     10   11.1 ( 20.6)     13  19.27
    unet       before   0.4739     20   40.7 ( 75.5)     20   32.7 ( 60.4)     34  20.05
    gmm-shift  default  0.4124     11   34.1 ( 49.0)     11   19.9 ( 19.8)     14  21.22
    gmm-shift  before   0.4441     21   57.9 ( 80.9)     21   44.9 ( 45.0)     35  21.44

Re-measured idle (2026-12-07, load 0.8-1.7, two changes since the table above: the numba
candidate search 1.7x faster with identical bytes, ``benchmarks/rcc_kernel.py``; and the
encoder's stop rule, ``codec._is_hopeless``, which no longer searches the last step that cannot
fit; the JSON holds the second run)::

    model      setting  bpp     steps  enc s (CPU)    calls  dec s (CPU)    calls  PSNR
    unet       default  0.4094     10   15.8 ( 29.7)     10   10.3 ( 18.9)     13  19.27  kernel
    unet       default  0.4094     10   14.2 ( 26.6)     10   11.0 ( 20.5)     13  19.27  +stop
    unet       before   0.4739     20   27.4 ( 51.0)     20   25.0 ( 46.4)     34  20.05
    gmm-shift  default  0.4124     11   18.8 ( 25.8)     11   13.4 ( 13.5)     14  21.22
    gmm-shift  before   0.4441     21   34.3 ( 45.5)     21   38.1 ( 38.3)     35  21.44

The same bytes as before in every row. A third UNet run gave 14.0 s / 9.5 s: the decode (whose
code did not change) varies by ~1.5 s between idle runs, around the 10 s target. Of a decode,
13 model calls take ~10 s (profile: conv2d 4.7 s, the mid-block attention 3.1 s, silu on one
thread 0.85 s); nothing outside the model is left to cut without changing its outputs.

The default model became the shipped network on 64² windows (2026-12-07, code c883d50,
:mod:`rdptheory.models.tiled`); idle box, load 0.3-1.4, both evaluations in one run (``--models
unet unet-whole gmm-shift --settings default``; the JSON holds this run)::

    model      setting  bpp     steps  enc s (CPU)    calls  dec s (CPU)    calls  PSNR
    unet       default  0.4075     11   16.6 ( 31.9)     11   11.8 ( 22.8)     14  21.11
    unet-whole default  0.4094     10   13.5 ( 25.0)     10    9.4 ( 17.5)     13  19.27
    gmm-shift  default  0.4124     11   19.1 ( 26.3)     11   14.7 ( 14.8)     14  21.22

At the same rate the windows give +1.84 dB, and the better prior fits an 11th step in the
budget. A call costs ~1.1-1.2× the whole image's (25 windows of 64², 1.56× the pixels, with
attention over 256 tokens per window instead of 4096): the default missed the targets by
1.6 s (encode) and 1.8 s (decode).

Then the windows went through the network in calls of 4, spread over the two threads with one
intra-op thread each (``PixelDiffusionModel.denoise_batches``, code 893b03b; a 256² denoise
0.88 -> 0.60 s, the same bits for any thread count). Idle box, two runs (load 0.7-1.3, then
1.2-1.7; the JSON holds both)::

    model      setting  bpp     steps  enc s (CPU)    calls  dec s (CPU)    calls  PSNR
    unet       default  0.4075     11   14.6 ( 27.2)     11    9.3 ( 17.5)     14  21.11
    unet-whole default  0.4094     10   13.3 ( 24.9)     10    9.2 ( 17.1)     13  19.27
    gmm-shift  default  0.4124     11   18.6 ( 25.5)     11   13.6 ( 13.7)     14  21.22
    unet       default  0.4075     11   14.1 ( 26.4)     11    8.3 ( 15.7)     14  21.11
    unet-whole default  0.4094     10   12.8 ( 24.1)     10    8.2 ( 15.4)     13  19.27

The default model meets the issue's targets (encode ≤ 15 s, decode ≤ 10 s) with 0.4-0.9 s and
0.7-1.7 s to spare, 1.84 dB above the whole-image network at the same rate.

These are the seconds inside ``compress``/``decompress``. The CLI adds the start-up: importing
torch (3.2 s) and diffusers (4.2 s, most of it torch._dynamo and diffusers' transformer
modules), loading the UNet (1.9 s) and the first call's warm-up (~2 s): ``rdptheory compress``
took 36 s and ``rdptheory decompress`` 24 s of wall time for the same file.

``--speed`` (2026-12-07; this box at load ~12, so ``--threads 1`` and CPU seconds of
the process; wall seconds were 3-5× larger and are in
``benchmarks/results/image_codec_speed_256.json``): 256² china at 0.5 bpp, decode ρ = 1; the
defaults (ladder preset 1, exp2 4) against those of 2026-12-06 (preset 0, Heun 8)::

    model      setting  bpp     steps  enc CPU s (model)  calls  dec CPU s (model)  calls  PSNR
    unet       default  0.4094     10  39.5 (13.5)           10  15.5 (15.0)           13  19.27
    unet       (0.55)   0.5300     11  44.0 (16.6)           11  20.8 (20.0)           14  20.23
    unet       before   0.4739     20  67.8 (26.6)           20  46.9 (45.7)           34  20.05
    gmm-shift  default  0.4124     11  43.3 (14.2)           11  15.7 (15.2)           14  21.22
    gmm-shift  before   0.4441     21  73.0 (28.7)           21  46.4 (45.1)           35  21.44

Encode -42 % / -41 % CPU, decode -67 % / -66 %. The default's 11th step (t 0.70 -> 0.59,
~6200 bits of KL expected) does not fit the 0.5 bpp budget, so the UNet file stops at 0.41
bpp: near 0.5 bpp one step of the coarser ladder is ~0.09 bpp (the old one's ~0.03), so a
bpp target is undershot by half a step on average (the RD curve is not: BD above); the
"(0.55)" row (``--bpp 0.55``) is the 11-step file. At equal rate (log-rate interpolation of
the two default rows at 0.474 bpp: 19.82 dB) the new defaults are 0.23 dB below the old on
this one 256² crop (one chain realisation, ±0.2 dB; the 128² study's mean is +1.6 %). The
decode is 9 replay calls + 4 (exp2 4), nearly all model time; the encode ~26 CPU-s of RCC
for 11 searches (the rejected 11th step's included; 1 thread; numba's ``prange`` over
chunks uses both cores in the CLI, where ``NUMBA_NUM_THREADS`` is unset) + 10 model calls.
Expected on an idle 2-core machine with 2 threads (0.7 s per UNet call): encode ≈ 7 + 13
≈ 20 s, decode ≈ 9.5 s: the decode meets the issue's 10 s, the encode does not meet 15 s.

``--ladder-study`` (2026-12-07, UNet, 128² china and flower at 0.25/0.5/1 bpp, load 11-17,
``benchmarks/results/image_codec_ladder_128.json``): real file bytes and PSNR (ρ = 1) of
ladder preset 0 (geometric, 37 levels), preset 1 (asinh, knee 2, 25 levels) and preset 1 with
RCC padding 1; encode CPU s (1 thread) and steps at 0.5 bpp (china / flower); BD-rate
against preset 0 + Heun 8 (PCHIP; china, flower, mean)::

    config        steps  enc CPU s   BD Heun 8 (china, flower, mean)  BD exp2 4
    preset0_pad2  20/21  17.0/16.9    0 / 0 / 0                       +0.5 / -2.7 / -1.1
    preset1_pad2  11/11  10.4/ 9.6   -2.3 / +8.4 / +3.0               -3.1 / +6.4 / +1.6
    preset1_pad1  11/11   6.9/ 6.6   +9.7 / +8.4 / +9.1               +9.4 / +6.7 / +8.1

Preset 1 is the new isotropic default (with exp2 4 as the default decoder: +1.6 % against the
old defaults); padding 1 was rejected (its chain samples drift: china -0.2 to -0.45 dB at the
same steps and bytes). A chunk budget B = 7 on the preset-1 ladder (half the RCC search, as
padding 1) was tried and dropped: 0.25 bpp, china 8 steps in 0.2197 bpp / 18.11 dB against
B = 8's 0.2139 / 18.25 (+2.7 % bytes at the same steps; encode CPU 3.7 s instead of 7.4).
One chain realisation per point: per-image BD-rates carry ±5 % of sampling noise (china and
flower move in opposite directions), the mean less.

``--report-time`` times the report's image section (quick settings, as ``make report``) with
each ``--models`` entry as its codec model, in one run (``benchmarks/results/
image_report_time.json``; 2026-12-06, commit 1091392, the UNet the default, 4 Heun steps and
the report's MemoModel; load 14-19 on the shared 2-core box): codec figures 174 s with the
UNet, 130 s with the tiled GMM; the 64×64 classical comparison (both GMMs and the codec
model) 241 s / 244 s; the decoder-alone figures (tiled GMM, model-independent) 374 s; section
790 s / 749 s. Before (12 Heun steps, no MemoModel, 32-level ladder, load ~6): codec figures
79 s UNet / 22 s GMM (the UNet's: 1012 network calls of 48×48; now 214).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TRITON_INTERPRET", "1")

import numpy as np  # noqa: E402

from rdptheory.data import bundled_image, center_crop, from_model_space  # noqa: E402
from rdptheory.images import CodecConfig, compress_with_report, decompress  # noqa: E402
from rdptheory.metrics import (
    blockiness,  # noqa: E402
    psnr,  # noqa: E402
)
from rdptheory.models import load_model  # noqa: E402


def run(size: int, bpps: list[float], backends: list[str], ode_steps: int,
        models: list[str] = ("gmm",), rhos: list[float] = (1.0, 2.0)) -> list[dict]:
    pixels = center_crop(bundled_image("china").pixels, size)
    rows: list[dict] = []
    for spec in models:
        try:
            model = load_model(spec)
        except (ImportError, FileNotFoundError, ValueError) as exc:
            rows.append({"model": spec, "skipped": f"{type(exc).__name__}: {exc}"})
            print(f"model={spec} SKIPPED ({rows[-1]['skipped']})", flush=True)
            continue
        for backend in backends:
            rows += _run_model(spec, model, pixels, size, bpps, backend, ode_steps, rhos)
    return rows


def _run_model(spec, model, pixels, size, bpps, backend, ode_steps, rhos) -> list[dict]:
    config = CodecConfig(backend=backend)
    t0 = time.perf_counter()  # warm-up: JIT compilation, model load and caches
    compress_with_report(pixels[:16, :16], model=model, noise_var=1.0, config=config)
    warm = time.perf_counter() - t0
    rows = []
    for bpp in bpps:
        res = compress_with_report(pixels, model=model, bpp=bpp, config=config)
        row = {"model": spec, "backend": backend, "size": size, "target_bpp": bpp,
               "bpp": res.bpp, "steps": res.n_steps, "kl_bits": float(sum(res.kl_bits)),
               "encode_s": res.seconds, "warmup_s": warm}
        for rho in rhos:
            t0 = time.perf_counter()
            out = decompress(res.data, model=model, rho=rho, ode_steps=ode_steps,
                             backend=backend)
            row[f"decode_s_rho{rho:g}"] = time.perf_counter() - t0
            row[f"psnr_rho{rho:g}"] = psnr(pixels, out)
            row[f"blockiness_rho{rho:g}"] = blockiness(out)
        rows.append(row)
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in row.items()), flush=True)
    return rows


#: Decoder settings of the solver study: (solver, schedule, ODE steps); the first is the reference.
SOLVER_CONFIGS: tuple[tuple[str, str, int], ...] = (
    ("heun", "vp", 24), ("heun", "vp", 4), ("heun", "vp", 8), ("exp1", "vp", 4),
    ("exp1", "vp", 8), ("exp2", "vp", 2), ("exp2", "vp", 3), ("exp2", "vp", 4),
    ("exp2", "vp", 6), ("exp2", "vp", 8), ("exp2", "ve", 3), ("exp2", "ve", 4),
    ("exp2", "ve", 6))


class _CallCounter:
    """An image model whose ``denoise`` calls are counted and CPU-timed (this thread's CPU
    seconds, robust to other jobs' load); every other attribute is the model's."""

    def __init__(self, model) -> None:
        self.model, self.call_cpu = model, []

    @property
    def calls(self) -> int:
        return len(self.call_cpu)

    @property
    def cpu_s(self) -> float:
        return float(sum(self.call_cpu))

    def __getattr__(self, name):
        return getattr(self.model, name)

    def reset(self) -> None:
        self.call_cpu = []

    def denoise(self, y, noise_var):
        t0 = time.thread_time()
        out = self.model.denoise(y, noise_var)
        self.call_cpu.append(time.thread_time() - t0)
        return out

    def score(self, y, noise_var):
        from rdptheory.models.protocol import denoiser_score

        return denoiser_score(self, y, noise_var)


def _timed(f):
    """``(f(), wall seconds, CPU seconds of this process)``."""
    w, c = time.perf_counter(), time.process_time()
    out = f()
    return out, time.perf_counter() - w, time.process_time() - c


#: The decoder before this benchmark's changes (baseline) and the candidates; the first of a
#: list is timed through the whole ``decompress`` (replay + ODE), the others as ODE only.
OLD_DECODER = ("heun", 24)
DECODERS = (("heun", 8), ("exp2", 4), OLD_DECODER)
LEVEL_DECODERS = (("exp2", 4),)


def codec_rows(spec: str, size: int, bpp: float | None, levels: list[int], t_final: float,
               decoders=DECODERS, level_decoders=LEVEL_DECODERS,
               rho: float = 1.0, backend: str = "numba") -> list[dict]:
    """Encode china (size²) with ``spec`` at ``bpp`` on the default ladder (``CodecConfig()``;
    skipped when ``bpp`` is None), and at equal final noise ``t_final`` on ladders as dense as
    ``levels``-level default ones: K levels from the default t_max to t_final,
    K = round((L − 1)·ln(t_max/t_final)/ln(t_max/t_min)) + 1.

    The first decoder decodes the file (``decompress``: replay + ODE; its model calls are
    CPU-timed one by one, so the replay's share is known); every other decoder integrates the
    ODE from the encoder's final state (the replay reproduces it bit for bit, checked on the
    first) and is credited the same replay. CPU seconds are this process's (1 thread), robust
    to other jobs' load; wall seconds are not."""
    model = _CallCounter(load_model(spec))
    pixels = center_crop(bundled_image("china").pixels, size)
    compress_with_report(pixels[:16, :16], model=model, noise_var=1.0,
                         config=CodecConfig(backend=backend))  # warm-up (JIT, caches)
    default = CodecConfig(backend=backend)
    jobs: list = [] if bpp is None else [("bpp", default.n_levels, default, {"bpp": bpp}, decoders)]
    for n in levels:
        k = round((n - 1) * np.log(default.t_max / t_final)
                  / np.log(default.t_max / default.t_min)) + 1
        jobs.append((f"levels{n}", n, CodecConfig(t_min=t_final, n_levels=k, backend=backend),
                     {"noise_var": float(np.float32(t_final)) ** 2}, level_decoders))
    rows = []
    for label, n_lev, config, target, decs in jobs:
        model.reset()
        res, enc_w, enc_c = _timed(lambda c=config, t=target: compress_with_report(
            pixels, model=model, config=c, **t))
        row = {"model": spec, "name": model.name, "size": size, "job": label,
               "t_max": config.t_max, "n_levels": config.n_levels, "t_min": config.t_min,
               "ladder_density": n_lev,
               "bpp": res.bpp, "steps": res.n_steps, "final_t": float(np.sqrt(res.noise_var)),
               "kl_bits": float(sum(res.kl_bits)), "encode_s": enc_w, "encode_cpu_s": enc_c,
               "encode_model_calls": model.calls, "encode_model_cpu_s": model.cpu_s,
               "load_1min": os.getloadavg()[0], "decoders": {}}
        replay_c = 0.0
        for i, (solver, steps) in enumerate(decs):
            model.reset()
            if i == 0:
                out, dec_w, dec_c = _timed(lambda s=solver, n=steps, r=res: decompress(
                    r.data, model=model, rho=rho, ode_steps=n, solver=s, backend=backend))
                n_replay, n_calls = res.n_steps - 1, model.calls
                replay_c = dec_c - sum(model.call_cpu[n_replay:])
                entry = {"decode_s": dec_w, "decode_cpu_s": dec_c, "decode_calls": n_calls,
                         "ode_calls": n_calls - n_replay, "ode_cpu_s": dec_c - replay_c,
                         "replay_cpu_s": replay_c}
                assert np.array_equal(out, _ode_image(model, res, size, rho, solver, steps)), \
                    "replay must reproduce the encoder's state"
            else:
                out, ode_w, ode_c = _timed(lambda s=solver, n=steps, r=res: _ode_image(
                    model, r, size, rho, s, n))
                entry = {"ode_calls": model.calls, "ode_cpu_s": ode_c,
                         "decode_cpu_s": replay_c + ode_c,
                         "decode_calls": res.n_steps - 1 + model.calls}
            entry.update(psnr=psnr(pixels, out), blockiness=blockiness(out))
            row["decoders"][f"{solver}{steps}"] = entry
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def _ode_image(model, res, size: int, rho: float, solver: str, steps: int) -> np.ndarray:
    """The decoder's ODE from the encoder's last state, as an 8-bit image."""
    from rdptheory.diffusion import decode

    x = decode(model, res.state, res.noise_var, rho, schedule="vp", solver=solver, steps=steps)
    img = np.asarray(model.from_code_space(x), dtype=np.float64)[0]
    return from_model_space(img[:, :size, :size])


def solver_study(models: list[str], images: list[str], size: int, bpps: list[float],
                 rhos: list[float], configs=SOLVER_CONFIGS) -> list[dict]:
    """Reconstruction quality against model calls for each decoder setting: each image is
    encoded once per (model, rate); the chain's last state is decoded with every setting
    (the decoder's replay reproduces that state bit for bit, so this is the codec's decode).
    PSNR per image; patch Fréchet distance (8×8 patches) of the images pooled."""
    from rdptheory.diffusion import decode
    from rdptheory.metrics import frechet_distance, image_patches

    rows: list[dict] = []
    for spec in models:
        model = load_model(spec)
        for bpp in bpps:
            states = []
            for name in images:
                px = center_crop(bundled_image(name).pixels, size)
                res = compress_with_report(px, model=model, bpp=bpp,
                                           config=CodecConfig(backend="numba"))
                states.append((name, px, res))
            for rho in rhos:
                for solver, schedule, steps in configs:
                    counter, recs, t0 = _CallCounter(model), [], time.perf_counter()
                    for _, _px, res in states:
                        x = decode(counter, res.state, res.noise_var, rho, schedule=schedule,
                                   solver=solver, steps=steps)
                        img = np.asarray(model.from_code_space(x), dtype=np.float64)[0]
                        recs.append(from_model_space(img[:, :size, :size]))
                    row = {"model": spec, "target_bpp": bpp, "rho": rho, "solver": solver,
                           "schedule": schedule, "steps": steps,
                           "calls": counter.calls // len(states),
                           "decode_s": (time.perf_counter() - t0) / len(states),
                           "bpp": [r.bpp for _, _, r in states],
                           "psnr": [psnr(px, rec) for (_, px, _), rec in zip(states, recs)],
                           "patch_fd": frechet_distance(image_patches([p for _, p, _ in states]),
                                                        image_patches(recs)),
                           "load_1min": os.getloadavg()[0]}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    return rows


#: Settings of the speed rows: label -> (CodecConfig keywords, decompress keywords); "default"
#: is the codec's defaults, "before" the defaults of 2026-12-06 (ladder preset 0, padding 2,
#: Heun 8).
SPEED_SETTINGS: dict[str, tuple[dict, dict]] = {
    "default": ({}, {}),
    "before": (dict(t_max=10.0, t_min=0.05, n_levels=37, max_chunk_bits=8.0, padding=2),
               dict(solver="heun", ode_steps=8)),
}


def speed_rows(spec: str, size: int, bpp: float, settings: list[str], rho: float = 1.0,
               image: str = "china") -> list[dict]:
    """Encode the ``size``² centre crop of ``image`` at ``bpp`` and decode it at ``rho``, once
    per setting (:data:`SPEED_SETTINGS`), through the public ``compress_with_report`` /
    ``decompress`` (what the CLI runs, without the PNG and file I/O): wall and CPU seconds of
    this process (all its threads), model calls and their CPU seconds, bpp, PSNR. A warm-up
    encode of a 16×16 crop first (numba JIT, model load, caches)."""
    model = _CallCounter(load_model(spec))
    px = center_crop(bundled_image(image).pixels, size)
    compress_with_report(px[:16, :16], model=model, noise_var=1.0)
    rows = []
    for label in settings:
        enc_kw, dec_kw = SPEED_SETTINGS[label]
        config = CodecConfig(**enc_kw)
        model.reset()
        res, enc_w, enc_c = _timed(lambda c=config: compress_with_report(
            px, model=model, bpp=bpp, config=c))
        enc_calls, enc_model_c = model.calls, model.cpu_s
        model.reset()
        out, dec_w, dec_c = _timed(lambda r=res, kw=dec_kw: decompress(
            r.data, model=model, rho=rho, **kw))
        row = {"model": spec, "name": model.name, "setting": label, "image": image,
               "size": size, "target_bpp": bpp, "bpp": res.bpp, "bytes": len(res.data),
               "steps": res.n_steps, "final_t": float(np.sqrt(res.noise_var)),
               "n_levels": config.n_levels, "knee": config.knee, "padding": config.padding,
               "decoder": dec_kw or "default",
               "encode_s": enc_w, "encode_cpu_s": enc_c, "encode_calls": enc_calls,
               "encode_model_cpu_s": enc_model_c, "decode_s": dec_w, "decode_cpu_s": dec_c,
               "decode_calls": model.calls, "decode_model_cpu_s": model.cpu_s,
               "psnr": psnr(px, out), "blockiness": blockiness(out),
               "load_1min": os.getloadavg()[0]}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def _thread_counts() -> dict:
    """The thread counts the run used (numba's, torch's and the model calls' setting)."""
    out: dict = {"RDPTHEORY_MODEL_THREADS": os.environ.get("RDPTHEORY_MODEL_THREADS")}
    try:
        import numba

        out["numba"] = numba.get_num_threads()
    except ImportError:
        out["numba"] = None
    try:
        import torch

        out["torch"] = torch.get_num_threads()
    except ImportError:
        out["torch"] = None
    return out


def _speed_table(rows: list[dict]) -> str:
    """The docstring table of :func:`speed_rows`."""
    lines = ["model      setting  bpp     steps  enc s (CPU)    calls  dec s (CPU)    calls  "
             "PSNR"]
    for r in rows:
        lines.append(f"{r['model']:10s} {r['setting']:8s} {r['bpp']:.4f}  {r['steps']:5d}  "
                     f"{r['encode_s']:5.1f} ({r['encode_cpu_s']:5.1f})  {r['encode_calls']:5d}  "
                     f"{r['decode_s']:5.1f} ({r['decode_cpu_s']:5.1f})  {r['decode_calls']:5d}  "
                     f"{r['psnr']:.2f}")
    return "\n".join(lines)


#: Encoder settings of the ladder study: label -> CodecConfig keywords ("preset0": the former
#: default, geometric 10 -> 0.05 in 37 levels; "preset1": the asinh ladder, 25 levels, knee 2).
LADDER_CONFIGS: dict[str, dict] = {
    "preset0_pad2": dict(t_max=10.0, t_min=0.05, n_levels=37, max_chunk_bits=8.0, padding=2),
    "preset1_pad2": dict(padding=2),
    "preset1_pad1": dict(padding=1),
}
#: Decoders of the ladder study (solver, steps); the first decodes the file.
LADDER_DECODERS = (("heun", 8), ("exp2", 4))


def ladder_study(spec: str, images: list[str], size: int, bpps: list[float],
                 configs: list[str], rho: float = 1.0) -> list[dict]:
    """Real file bytes, PSNR and CPU seconds per encoder setting (:data:`LADDER_CONFIGS`) and
    decoder (:data:`LADDER_DECODERS`) at each target rate; BD-rates come from these points
    (:func:`ladder_bd`)."""
    model = _CallCounter(load_model(spec))
    rows: list[dict] = []
    compress_with_report(center_crop(bundled_image(images[0]).pixels, 16), model=model,
                         noise_var=1.0)  # warm-up (JIT)
    for label in configs:
        config = CodecConfig(backend="numba", **LADDER_CONFIGS[label])
        for name in images:
            px = center_crop(bundled_image(name).pixels, size)
            for bpp in bpps:
                model.reset()
                res, enc_w, enc_c = _timed(lambda c=config, b=bpp, p=px: compress_with_report(
                    p, model=model, bpp=b, config=c))
                row = {"model": spec, "config": label, "image": name, "size": size,
                       "target_bpp": bpp, "bpp": res.bpp, "bytes": len(res.data),
                       "steps": res.n_steps, "final_t": float(np.sqrt(res.noise_var)),
                       "encode_cpu_s": enc_c, "encode_calls": model.calls,
                       "encode_model_cpu_s": model.cpu_s, "decoders": {}}
                for i, (solver, steps) in enumerate(LADDER_DECODERS):
                    model.reset()
                    if i == 0:
                        out, _, dec_c = _timed(lambda s=solver, n=steps, r=res: decompress(
                            r.data, model=model, rho=rho, ode_steps=n, solver=s,
                            backend="numba"))
                    else:
                        out, _, dec_c = _timed(lambda s=solver, n=steps, r=res: _ode_image(
                            model, r, size, rho, s, n))
                    row["decoders"][f"{solver}{steps}"] = {
                        "cpu_s": dec_c, "calls": model.calls, "psnr": psnr(px, out)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def ladder_bd(rows: list[dict], ref: str = "preset0_pad2", ref_decoder: str = "heun8") -> dict:
    """BD-rate (%, PCHIP, :func:`benchmarks.shaped_codec.bd_pct`) of every (config, decoder)
    against ``ref`` with ``ref_decoder``, per image and their mean."""
    from shaped_codec import bd_pct

    out: dict = {}
    images = sorted({r["image"] for r in rows})
    for label in sorted({r["config"] for r in rows}):
        for dec in rows[0]["decoders"]:
            per = {}
            for name in images:
                def pts(lab, d, name=name):
                    return sorted((r["bpp"], r["decoders"][d]["psnr"]) for r in rows
                                  if r["config"] == lab and r["image"] == name)
                per[name] = bd_pct(pts(ref, ref_decoder), pts(label, dec))
            vals = [v for v in per.values() if isinstance(v, float)]
            out[f"{label}/{dec}"] = {**per, "mean": float(np.mean(vals)) if vals else None}
    return out


def report_times(models: list[str]) -> dict:
    """Seconds of the report's image section (quick settings, as ``make report``) with each of
    ``models`` as its codec model, in one run: the codec figures and the classical comparison
    (the parts that use the codec model) per model, the decoder-alone figures (tiled GMM,
    model-independent) once; ``section_s`` per model is their sum."""
    import tempfile

    import rdptheory.experiments.image_report as ir

    out: dict = {"models": {}}
    config = CodecConfig(backend="auto")
    with tempfile.TemporaryDirectory() as d, ir._one_blas_thread():
        for sub in ("sweep", *models):
            (pathlib.Path(d) / sub).mkdir()
        t0 = time.perf_counter()
        ir._sweep_figures(pathlib.Path(d) / "sweep", ir._QUICK)
        sweep = time.perf_counter() - t0
        out["decoder_alone_figures_s"] = sweep
        for spec in models:
            model = load_model(spec)
            row: dict = {"name": model.name}
            t0 = time.perf_counter()
            ir._codec_figures(pathlib.Path(d) / spec, ir._QUICK, config, model)
            row["codec_figures_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            ir._classical_figure(pathlib.Path(d) / spec, ir._QUICK, config, model)
            row["classical_figure_s"] = time.perf_counter() - t0
            row["section_s"] = row["codec_figures_s"] + row["classical_figure_s"] + sweep
            out["models"][spec] = row
            print(spec, row, flush=True)
    out["load_1min"] = os.getloadavg()[0]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--bpp", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    ap.add_argument("--backends", nargs="+", default=["numba"])
    ap.add_argument("--models", nargs="+", default=["gmm", "gmm-shift", "unet"])
    ap.add_argument("--rhos", type=float, nargs="+", default=[1.0, 2.0])
    ap.add_argument("--ode-steps", type=int, default=24)
    ap.add_argument("--out", type=pathlib.Path, default=None)
    ap.add_argument("--report-time", action="store_true",
                    help="time the report's image section instead (codec figures per model)")
    ap.add_argument("--codec-rows", action="store_true",
                    help="encode/decode CPU and wall seconds, calls, bpp, PSNR per model: "
                         "default ladder at --bpp, and --levels ladders at equal final noise")
    ap.add_argument("--levels", type=int, nargs="*", default=[24, 16, 12])
    ap.add_argument("--decoders", nargs="+", default=[f"{s}:{n}" for s, n in DECODERS],
                    help="solver:steps for the --bpp row (the first decodes the file)")
    ap.add_argument("--level-decoders", nargs="+",
                    default=[f"{s}:{n}" for s, n in LEVEL_DECODERS])
    ap.add_argument("--no-bpp-row", action="store_true")
    ap.add_argument("--t-final", type=float, default=0.6248)
    ap.add_argument("--solver-study", action="store_true",
                    help="decoder quality vs model calls per solver/steps (china, flower)")
    ap.add_argument("--ladder-study", nargs="*", default=None, metavar="CONFIG",
                    help=f"real bytes / PSNR / CPU s per encoder setting "
                         f"({', '.join(LADDER_CONFIGS)}; default all) on 128² china and "
                         "flower at --bpp, first --models entry; BD-rate vs preset0_pad2")
    ap.add_argument("--images", nargs="+", default=["china", "flower"])
    ap.add_argument("--speed", action="store_true",
                    help="the issue-11 speed rows: --models (default unet gmm-shift) at 256² "
                         "china, 0.5 bpp, the codec's defaults and the 2026-12-06 ones")
    ap.add_argument("--settings", nargs="+", default=list(SPEED_SETTINGS))
    ap.add_argument("--threads", type=int, default=None,
                    help="threads of the RCC kernels (numba) and the model calls (set before "
                         "either is loaded; default: the environment's)")
    args = ap.parse_args()
    if args.threads is not None:
        if "numba" in sys.modules or "torch" in sys.modules:
            raise SystemExit("--threads must be applied before numba and torch load")
        for var in ("NUMBA_NUM_THREADS", "RDPTHEORY_MODEL_THREADS", "OMP_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    if args.speed:
        models = args.models if "--models" in sys.argv else ["unet", "gmm-shift"]
        bpps = args.bpp if "--bpp" in sys.argv else [0.5]
        rows = [r for spec in models for bpp in bpps
                for r in speed_rows(spec, args.size, bpp, args.settings)]
        res = {"command": " ".join(sys.argv), "threads": _thread_counts(),
               "cpu_count": os.cpu_count(), "machine": platform.processor()
               or platform.machine(), "rows": rows}
        print(_speed_table(rows))
        print(json.dumps(res["threads"]))
        if args.out:
            args.out.write_text(json.dumps(res, indent=1))
        return
    if args.ladder_study is not None:
        rows = ladder_study(args.models[0], args.images, args.size, args.bpp,
                            args.ladder_study or list(LADDER_CONFIGS))
        res = {"cpu_count": os.cpu_count(), "rows": rows, "bd_vs_preset0_heun8": ladder_bd(rows)}
        print(json.dumps(res["bd_vs_preset0_heun8"], indent=1))
        if args.out:
            args.out.write_text(json.dumps(res, indent=1))
        return
    if args.codec_rows:
        def parse(items):
            return tuple((i.split(":")[0], int(i.split(":")[1])) for i in items)

        rows = [r for spec in args.models for r in codec_rows(
            spec, args.size, None if args.no_bpp_row else args.bpp[0],
            args.levels if spec != "gmm" else [], args.t_final, parse(args.decoders),
            parse(args.level_decoders))]
        if args.out:
            args.out.write_text(json.dumps({"machine": platform.processor()
                                            or platform.machine(),
                                            "cpu_count": os.cpu_count(), "rows": rows},
                                           indent=1))
        return
    if args.solver_study:
        rows = solver_study(args.models, ["china", "flower"], args.size, args.bpp, args.rhos)
        if args.out:
            args.out.write_text(json.dumps({"cpu_count": os.cpu_count(), "rows": rows},
                                           indent=1))
        return
    if args.report_time:
        res = report_times(args.models)
        print(json.dumps(res, indent=1))
        if args.out:
            args.out.write_text(json.dumps(res, indent=2))
        return
    rows = run(args.size, args.bpp, args.backends, args.ode_steps, args.models, args.rhos)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"machine": platform.processor() or platform.machine(),
                                        "cpu_count": os.cpu_count(), "rows": rows}, indent=2))
    r0 = args.rhos[0]
    print(f"{'model':>10} {'backend':>8} {'bpp':>7} {'steps':>5} {'enc s':>8} "
          f"{'dec s ρ=' + format(r0, 'g'):>9} " + " ".join(f"{'PSNR ρ=' + format(r, 'g'):>9}"
                                                          for r in args.rhos))
    for r in rows:
        if "skipped" in r:
            print(f"{r['model']:>10} skipped: {r['skipped']}")
            continue
        print(f"{r['model']:>10} {r['backend']:>8} {r['bpp']:7.4f} {r['steps']:5d} "
              f"{r['encode_s']:8.2f} {r[f'decode_s_rho{r0:g}']:9.2f} "
              + " ".join(f"{r[f'psnr_rho{q:g}']:9.2f}" for q in args.rhos))


if __name__ == "__main__":
    main()
