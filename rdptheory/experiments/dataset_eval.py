"""Dataset evaluation as a resumable, shardable map over work items (image × target × ρ).

Every work item compresses one image at one target (bpp or noise level) and decodes it at one
ρ. Its result is written atomically as ``items/<key>.json`` (and the reconstruction as
``items/<key>.npy``, written first), ``<key>`` a hash of the item and of the run's settings; an
item whose JSON exists is skipped. So a killed or pre-empted run restarted with the same
command computes only what is missing — nothing lost, nothing counted twice — and the merge
reads exactly one file per item. The compressed stream of an (image, target) pair is cached
(``streams/<key>.bin``) so the ρ items of one pair compress once per shard.

Sharding: the items are sorted by key and rank ``r`` of ``W`` takes ``items[r::W]``. The rank
comes from ``torchrun`` (``RANK``/``WORLD_SIZE``; torch.distributed with the gloo backend is
initialised when ``MASTER_ADDR`` is set, for the final barrier) or Slurm
(``SLURM_PROCID``/``SLURM_NTASKS``, no barrier: run ``--merge`` after the job). Without a
launcher the same call runs the items on a local process pool (``workers``, default the
core count). Rank 0 merges after the barrier (or the caller runs :func:`merge`).

Merged outputs: ``results.json`` (CompressAI style, :func:`rdptheory.experiments.image_eval.
to_compressai_json`), ``rate_distortion.png``, ``rate_perception.png``
(:func:`rdptheory.experiments.image_eval.write_outputs`), ``bd_rate.csv`` (BD-rate of every ρ
against the smallest ρ, PSNR), and ``perceptual.json`` (LPIPS/DISTS per point averaged over
images, FID/KID between the pooled originals and reconstructions, and the metrics skipped with
the reason).
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rdptheory._io import atomic_path, atomic_write_bytes, atomic_write_text
from rdptheory.data import NamedImage, load_cifar10, load_folder
from rdptheory.images.codec import DEFAULT_CONFIG, CodecConfig

#: Environment hook for the resume test: raise after this many items computed by one process.
FAIL_AFTER_ENV = "RDPTHEORY_EVAL_FAIL_AFTER"
_TIME_FIELDS = ("encoding_time", "decoding_time")


@dataclass(frozen=True)
class WorkItem:
    """One unit of work: ``image`` (name) at ``target`` (bpp or noise variance), decoded at
    ``rho``; ``key`` identifies it with the run's settings (file names under ``items/``)."""

    image: str
    target: float
    rho: float
    key: str
    stream_key: str


@dataclass(frozen=True)
class EvalSettings:
    """What defines a run (hashed into every item key): the model spec, the targets, the ρ
    values, the seed, the image codec's configuration and the decoder's ODE steps."""

    model: str | None
    target_kind: str  # "bpp" or "noise_var"
    targets: tuple[float, ...]
    rhos: tuple[float, ...]
    seed: int = 0
    codec: CodecConfig = DEFAULT_CONFIG
    ode_steps: int = 24

    def __post_init__(self) -> None:
        if self.target_kind not in ("bpp", "noise_var"):
            raise ValueError(f"target_kind must be 'bpp' or 'noise_var', got {self.target_kind!r}")
        if not self.targets or any(not np.isfinite(t) or t <= 0 for t in self.targets):
            raise ValueError(f"targets must be positive numbers, got {self.targets}")
        if not self.rhos or any(not np.isfinite(r) or r < 0 for r in self.rhos):
            raise ValueError(f"rhos must be numbers >= 0, got {self.rhos}")
        if int(self.ode_steps) < 1:
            raise ValueError(f"ode_steps must be >= 1, got {self.ode_steps}")
        if not isinstance(self.codec, CodecConfig):
            raise TypeError(f"codec must be a CodecConfig, got {type(self.codec).__name__}")


def load_dataset(source: str | pathlib.Path, *, limit: int | None = None) -> list[NamedImage]:
    """A folder of images (Kodak/DIV2K/CLIC layout) or CIFAR-10 python batches (a
    ``*_batch*`` file or a folder holding them), sorted by name, at most ``limit`` images."""
    p = pathlib.Path(source)
    if limit is not None and int(limit) < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    cifar = p.is_file() or (p.is_dir() and any(p.glob("*_batch*")))
    images = load_cifar10(p, limit=limit) if cifar else load_folder(p)
    names = [im.name for im in images]
    if len(set(names)) != len(names):
        raise ValueError(f"image names in {p} are not unique")
    return images[:limit] if limit is not None else images


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:24]


def work_items(images: Sequence[NamedImage], settings: EvalSettings) -> list[WorkItem]:
    """Every (image, target, ρ) item, sorted by key (the order every rank agrees on)."""
    base = asdict(settings)
    items = []
    for im in images:
        content = hashlib.sha256(np.ascontiguousarray(im.pixels).tobytes()).hexdigest()
        for target in settings.targets:
            sk = _digest({**base, "rhos": None, "image": im.name, "pixels": content,
                          "target": target})
            for rho in settings.rhos:
                items.append(WorkItem(im.name, float(target), float(rho),
                                      _digest({"stream": sk, "rho": rho}), sk))
    return sorted(items, key=lambda it: it.key)


def rank_and_world() -> tuple[int, int]:
    """``(rank, world_size)`` from torchrun's or Slurm's environment; ``(0, 1)`` without."""
    for r, w in (("RANK", "WORLD_SIZE"), ("SLURM_PROCID", "SLURM_NTASKS")):
        if r in os.environ and w in os.environ:
            rank, world = int(os.environ[r]), int(os.environ[w])
            if world < 1 or not 0 <= rank < world:
                raise ValueError(f"bad launcher environment: {r}={rank}, {w}={world}")
            return rank, world
    return 0, 1


def shard(items: Sequence[WorkItem], rank: int, world: int) -> list[WorkItem]:
    """Rank ``rank``'s items: every ``world``-th of the key-sorted list."""
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"need 0 <= rank < world, got rank={rank}, world={world}")
    return list(items[rank::world])


def _done(out: pathlib.Path, item: WorkItem) -> bool:
    return (out / "items" / f"{item.key}.json").is_file()


# ---- one item ------------------------------------------------------------------------------
_MODEL_CACHE: dict[str | None, Any] = {}


def _model(spec: str | None) -> Any:
    if spec not in _MODEL_CACHE:
        from rdptheory.models import load_model

        _MODEL_CACHE[spec] = load_model(spec)
    return _MODEL_CACHE[spec]


def run_item(item: WorkItem, image: NamedImage, settings: EvalSettings,
             out: pathlib.Path) -> dict[str, Any]:
    """Compress (or reuse the cached stream), decode at ρ, write the item's files; its record."""
    from rdptheory import metrics
    from rdptheory.images.codec import compress_with_report, decompress

    model = _model(settings.model)
    stream = out / "streams" / f"{item.stream_key}.bin"
    meta = out / "streams" / f"{item.stream_key}.json"
    if stream.is_file() and meta.is_file():
        data, info = stream.read_bytes(), json.loads(meta.read_text())
    else:
        kw = {settings.target_kind: item.target}
        res = compress_with_report(image.pixels, model=model, seed=settings.seed,
                                   config=settings.codec, **kw)
        data = res.data
        info = {"n_steps": res.n_steps, "encoding_time": res.seconds}
        atomic_write_bytes(stream, data)
        atomic_write_text(meta, json.dumps(info))
    t0 = time.perf_counter()
    rec = decompress(data, model=model, rho=item.rho, ode_steps=settings.ode_steps,
                     backend=settings.codec.backend)
    dec_s = time.perf_counter() - t0
    a = image.pixels
    record = {"key": item.key, "image": item.image, "target": item.target, "rho": item.rho,
              "bpp": 8 * len(data) / (a.shape[0] * a.shape[1]), "n_steps": info["n_steps"],
              "psnr": metrics.psnr(a, rec),
              "ms_ssim": metrics.ms_ssim(a, rec) if min(a.shape[:2]) >= 11 else None,
              "mse": float(np.mean((a / 255.0 - rec / 255.0) ** 2)),
              "encoding_time": info["encoding_time"], "decoding_time": dec_s}
    with atomic_path(out / "items" / f"{item.key}.npy") as tmp, open(tmp, "wb") as fh:
        np.save(fh, rec)
    atomic_write_text(out / "items" / f"{item.key}.json", json.dumps(record))  # last: done
    return record


def _worker(args: tuple[WorkItem, NamedImage, EvalSettings, str]) -> dict[str, Any]:
    item, image, settings, out = args
    return run_item(item, image, settings, pathlib.Path(out))


def _summary(rank: int, k: int, n: int, rec: dict[str, Any], start: float) -> str:
    el = time.perf_counter() - start
    eta = el / k * (n - k)
    return (f"[rank {rank}] {k}/{n} {rec['image']} target={rec['target']:g} "
            f"rho={rec['rho']:g}: {rec['bpp']:.3f} bpp, PSNR {rec['psnr']:.2f} dB "
            f"(elapsed {el:.1f} s, ETA {eta:.1f} s)")


@dataclass(frozen=True)
class RunStats:
    """What one call did: items in this shard, computed now, skipped as already done."""

    rank: int
    world: int
    shard_items: int
    computed: int
    skipped: int


def run_shard(images: Sequence[NamedImage], settings: EvalSettings,
              out: str | pathlib.Path, *, rank: int = 0, world: int = 1,
              workers: int | None = None, verbose: bool = True) -> RunStats:
    """Compute the missing items of shard ``rank``/``world`` (a process pool of ``workers``
    when > 1; default the core count when ``world == 1``, else 1)."""
    out = pathlib.Path(out)
    for sub in ("items", "streams"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    by_name = {im.name: im for im in images}
    mine = shard(work_items(images, settings), rank, world)
    todo = [it for it in mine if not _done(out, it)]
    if workers is None:
        workers = (os.cpu_count() or 1) if world == 1 else 1
    workers = max(1, min(int(workers), len(todo) or 1))
    fail_after = int(os.environ.get(FAIL_AFTER_ENV, "0") or 0)
    start = time.perf_counter()
    bar = _bar(len(todo), rank, verbose)
    jobs = [(it, by_name[it.image], settings, str(out)) for it in todo]
    if workers == 1:
        results = (_worker(j) for j in jobs)
        pool = None
    else:
        import concurrent.futures as cf
        import multiprocessing as mp

        pool = cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"))
        results = (f.result() for f in cf.as_completed([pool.submit(_worker, j) for j in jobs]))
    k = 0
    try:
        for rec in results:
            k += 1
            bar.update(1)
            if verbose:
                bar.write(_summary(rank, k, len(todo), rec, start), file=sys.stderr)
            if fail_after and k >= fail_after:
                raise RuntimeError(f"{FAIL_AFTER_ENV}={fail_after}: stopping after {k} items")
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return RunStats(rank, world, len(mine), k, len(mine) - len(todo))


def _bar(total: int, rank: int, verbose: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=f"rank {rank}", position=rank, disable=not verbose,
                leave=False, file=sys.stderr)


# ---- merge ---------------------------------------------------------------------------------
def read_items(images: Sequence[NamedImage], settings: EvalSettings,
               out: str | pathlib.Path) -> list[tuple[WorkItem, dict[str, Any]]]:
    """Every item's record; ``ValueError`` naming the first missing one."""
    out = pathlib.Path(out)
    recs = []
    missing = [it for it in work_items(images, settings) if not _done(out, it)]
    if missing:
        raise ValueError(f"{len(missing)} work items are not done yet (first: "
                         f"{missing[0].image} target={missing[0].target:g} "
                         f"rho={missing[0].rho:g}); rerun the same command to finish them")
    for it in work_items(images, settings):
        recs.append((it, json.loads((out / "items" / f"{it.key}.json").read_text())))
    return recs


def merge(images: Sequence[NamedImage], settings: EvalSettings, out: str | pathlib.Path, *,
          perceptual: dict[str, Any] | None = None, name: str = "rdptheory-diffc",
          patch: int = 8) -> list[pathlib.Path]:
    """Aggregate every item into the outputs listed in the module docstring.

    ``perceptual`` maps ``"lpips"``, ``"lpips-vgg"``, ``"dists"``, ``"inception"`` to a loaded
    network (:mod:`rdptheory.metrics.perceptual`) or to the reason it is skipped (a string).
    """
    from rdptheory import metrics
    from rdptheory.experiments.image_eval import EvalPoint, EvalResult, write_outputs

    out = pathlib.Path(out)
    recs = read_items(images, settings, out)
    originals = {im.name: im.pixels for im in images}
    points, extra = [], []
    for target in settings.targets:
        for rho in settings.rhos:
            group = sorted((r for it, r in recs if r["target"] == target and r["rho"] == rho),
                           key=lambda r: r["image"])
            pairs = [(originals[r["image"]],
                      np.load(out / "items" / f"{r['key']}.npy")) for r in group]
            po = metrics.image_patches([a for a, _ in pairs], patch)
            pr = metrics.image_patches([b for _, b in pairs], patch)
            ms = [r["ms_ssim"] for r in group if r["ms_ssim"] is not None]
            points.append(EvalPoint(
                target, rho, float(np.mean([r["bpp"] for r in group])),
                float(np.mean([r["psnr"] for r in group])),
                float(np.mean(ms)) if ms else float("nan"),
                float(np.mean([r["mse"] for r in group])), metrics.frechet_distance(po, pr),
                metrics.sliced_w2sq(po, pr),
                float(np.mean([r["encoding_time"] for r in group])),
                float(np.mean([r["decoding_time"] for r in group]))))
            extra.append({"target": target, "rho": rho,
                          **_perceptual_point(pairs, perceptual or {})})
    result = EvalResult(name, f"{len(images)} images, {len(recs)} work items",
                        settings.target_kind, tuple(sorted(originals)), tuple(points))
    files = write_outputs(result, out)
    atomic_write_text(out / "bd_rate.csv", _bd_table(points, settings))
    skipped = {k: v for k, v in (perceptual or {}).items() if isinstance(v, str)}
    atomic_write_text(out / "perceptual.json", json.dumps(
        {"points": extra, "skipped_metrics": skipped}, indent=2))
    return [*files, out / "bd_rate.csv", out / "perceptual.json"]


def _perceptual_point(pairs: list[tuple[np.ndarray, np.ndarray]],
                      nets: dict[str, Any]) -> dict[str, float | None]:
    from rdptheory.metrics import perceptual as P

    row: dict[str, float | None] = {}
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    for key, fn in (("lpips", P.lpips), ("lpips-vgg", P.lpips), ("dists", P.dists)):
        if key in nets and not isinstance(nets[key], str):
            row[key] = float(np.mean(np.concatenate([fn(nets[key], x, y) for x, y in pairs])))
    inc = nets.get("inception")
    if inc is not None and not isinstance(inc, str):
        fa = np.concatenate([P.inception_features(inc, x) for x in a])
        fb = np.concatenate([P.inception_features(inc, y) for y in b])
        ok = len(fa) >= 2
        row["fid"] = P.fid_from_features(fa, fb) if ok else None
        row["kid"] = P.kid_from_features(fa, fb) if ok else None
    return row


def _bd_table(points: Sequence[Any], settings: EvalSettings) -> str:
    """CSV: BD-rate (percent, PSNR) of each ρ against the smallest ρ; empty where undefined."""
    from rdptheory.metrics import bd_rate

    ref_rho = min(settings.rhos)
    ref = [p for p in points if p.rho == ref_rho]
    lines = [f"rho,bd_rate_vs_rho={ref_rho:g}_percent"]
    for rho in sorted(set(settings.rhos)):
        cur = [p for p in points if p.rho == rho]
        try:
            v = bd_rate([p.bpp for p in ref], [p.psnr for p in ref],
                        [p.bpp for p in cur], [p.psnr for p in cur])
            lines.append(f"{rho:g},{v:.3f}")
        except ValueError:
            lines.append(f"{rho:g},")
    return "\n".join(lines) + "\n"


def load_perceptual(lpips_weights: str | None = None, dists_weights: str | None = None,
                    inception_weights: str | None = None) -> dict[str, Any]:
    """The perceptual networks that have weights (arguments or environment variables), and for
    each one without, the reason it is skipped."""
    from rdptheory.metrics import perceptual as P

    nets: dict[str, Any] = {}
    lp = P.weight_path(lpips_weights, P.ENV_LPIPS)
    if lp is None:
        nets["lpips"] = nets["lpips-vgg"] = (f"no LPIPS weights (--lpips-weights or "
                                             f"${P.ENV_LPIPS})")
    else:
        nets["lpips"], nets["lpips-vgg"] = P.load_lpips(lp, net="alex"), P.load_lpips(
            lp, net="vgg")
    dp = P.weight_path(dists_weights, P.ENV_DISTS)
    nets["dists"] = P.load_dists(dp) if dp is not None else (
        f"no DISTS weights (--dists-weights or ${P.ENV_DISTS})")
    ip = P.weight_path(inception_weights, P.ENV_INCEPTION)
    nets["inception"] = P.load_inception(ip) if ip is not None else (
        f"no Inception weights for FID/KID (--inception-weights or ${P.ENV_INCEPTION})")
    return nets


def strip_times(results_json: str) -> dict[str, Any]:
    """``results.json`` without the timing lists (the only fields that differ between runs)."""
    d = json.loads(results_json)
    for k in _TIME_FIELDS:
        d["results"].pop(k, None)
    return d


def run(source: str | pathlib.Path, settings: EvalSettings, out: str | pathlib.Path, *,
        limit: int | None = None, workers: int | None = None, merge_only: bool = False,
        perceptual: dict[str, Any] | None = None, verbose: bool = True) -> RunStats | None:
    """The whole command: shard by the launcher's environment, compute, barrier, merge on
    rank 0 (``merge_only``: just merge). Returns this process's :class:`RunStats`."""
    images = load_dataset(source, limit=limit)
    out = pathlib.Path(out)
    if merge_only:
        merge(images, settings, out, perceptual=perceptual)
        return None
    rank, world = rank_and_world()
    dist = world > 1 and "MASTER_ADDR" in os.environ
    if dist:
        import torch.distributed as td

        if not td.is_initialized():
            td.init_process_group("gloo", rank=rank, world_size=world)
    try:
        stats = run_shard(images, settings, out, rank=rank, world=world, workers=workers,
                          verbose=verbose)
        if dist:
            td.barrier()
        if rank == 0 and (world == 1 or dist):
            merge(images, settings, out, perceptual=perceptual)
    finally:
        if dist and td.is_initialized():
            td.destroy_process_group()
    return stats
