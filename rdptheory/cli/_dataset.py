"""``rdptheory eval-dataset``: a resumable, shardable dataset evaluation (torchrun / Slurm /
a local process pool); see :mod:`rdptheory.experiments.dataset_eval`.

Launch the same command under ``torchrun --nproc-per-node N`` or ``srun`` to shard the work
items across ranks; rerun it after a kill to finish what is missing; ``--merge`` aggregates
the finished items again (e.g. after a Slurm array). Everything is checked before work starts.
"""

from __future__ import annotations

import argparse
import pathlib

from rdptheory.cli._images import (
    DEFAULT_LEVELS,
    DEFAULT_T_MAX,
    RHO_MAX,
    _int_range,
    _positive,
    _rho,
)
from rdptheory.models import DEFAULT_SPEC

_MODEL_HELP = (f"'{DEFAULT_SPEC}' (the shipped trained UNet, default; needs torch), 'patch-gmm' "
               "or 'gmm-shift' (the torch-free patch prior, tiled or shift-averaged), a .npz "
               "patch prior, or a local diffusers folder (UNet pipeline, SD-style "
               "vae/unet/scheduler, or SD3/Flux-style transformer/)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eval-dataset``."""
    p = subparsers.add_parser("eval-dataset", help="distributed, resumable evaluation over a "
                              "folder of images or CIFAR-10 batches")
    p.add_argument("source", help="a folder of PNG/JPEG (Kodak, DIV2K, CLIC) or CIFAR-10 python "
                   "batch file/folder")
    p.add_argument("out", help="output folder (items/ and the merged results; reused on resume)")
    p.add_argument("--model", default=DEFAULT_SPEC, help=_MODEL_HELP)
    rate = p.add_mutually_exclusive_group(required=True)
    rate.add_argument("--bpp", type=_positive, nargs="+", help="target rates (bits per pixel)")
    rate.add_argument("--noise-var", type=_positive, nargs="+", help="target noise variances")
    p.add_argument("--rho", type=_rho, nargs="+", default=[1.0],
                   help=f"decode score scales in [0, {RHO_MAX:g}]")
    p.add_argument("--limit", type=_int_range(1), default=None, help="at most N images")
    p.add_argument("--seed", type=_int_range(0, 2**63 - 1), default=0)
    p.add_argument("--levels", type=_int_range(2, 4096), default=DEFAULT_LEVELS,
                   help="ladder length")
    p.add_argument("--t-max", type=_positive, default=DEFAULT_T_MAX)
    p.add_argument("--t-min", type=_positive, default=0.05)
    p.add_argument("--chunk-bits", type=_positive, default=8.0)
    p.add_argument("--ode-steps", type=_int_range(1, 10_000), default=24)
    p.add_argument("--backend", default="auto", help="RCC kernel backend")
    p.add_argument("--workers", type=_int_range(1, 1024), default=None,
                   help="local process pool size without a launcher (default: the core count)")
    p.add_argument("--merge", action="store_true", help="only aggregate the finished items")
    p.add_argument("--lpips-weights", default=None, help="folder: LPIPS alex.pth/vgg.pth and "
                   "torchvision alexnet/vgg16 backbones (or $RDPTHEORY_LPIPS_WEIGHTS)")
    p.add_argument("--dists-weights", default=None, help="folder: DISTS weights.pt and vgg16 "
                   "backbone (or $RDPTHEORY_DISTS_WEIGHTS)")
    p.add_argument("--inception-weights", default=None, help="pytorch-fid "
                   "pt_inception-2015-12-05-*.pth (or $RDPTHEORY_INCEPTION_WEIGHTS)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or item lines")
    p.set_defaults(func=_cmd_eval_dataset)


def _cmd_eval_dataset(args: argparse.Namespace) -> int:
    import sys

    from rdptheory.experiments import dataset_eval as de

    src, out = pathlib.Path(args.source), pathlib.Path(args.out)
    if not src.exists():
        raise FileNotFoundError(f"no dataset at {src}")
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"output folder {out} exists and is not a folder")
    if args.t_min >= args.t_max:
        raise ValueError(f"--t-min ({args.t_min:g}) must be below --t-max ({args.t_max:g})")
    kind, targets = ("bpp", args.bpp) if args.bpp else ("noise_var", args.noise_var)
    from rdptheory.images.codec import CodecConfig

    codec = CodecConfig(t_max=args.t_max, t_min=args.t_min, n_levels=args.levels,
                        max_chunk_bits=args.chunk_bits, backend=args.backend)  # validates
    settings = de.EvalSettings(args.model, kind, tuple(targets), tuple(args.rho),
                               seed=args.seed, codec=codec, ode_steps=args.ode_steps)
    nets = de.load_perceptual(args.lpips_weights, args.dists_weights, args.inception_weights)
    for k, v in nets.items():
        if isinstance(v, str):
            print(f"rdptheory eval-dataset: skipping {k}: {v}", file=sys.stderr)
    stats = de.run(src, settings, out, limit=args.limit, workers=args.workers,
                   merge_only=args.merge, perceptual=nets, verbose=not args.quiet)
    if stats is not None:
        print(f"rank {stats.rank}/{stats.world}: {stats.shard_items} items, {stats.computed} "
              f"computed, {stats.skipped} already done", file=sys.stderr)
    return 0
