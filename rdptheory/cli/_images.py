"""``rdptheory compress``, ``decompress`` and ``eval``: the image codec from the shell.

Heavy imports (numpy maths, torch, diffusers) happen inside the command functions.
"""

from __future__ import annotations

import argparse
import pathlib

_MODEL_HELP = ("'patch-gmm' (embedded prior, default), a .npz patch prior, or a local diffusers "
               "directory (pixel UNet2DModel pipeline, or SD-style with vae/ unet/ scheduler/)")


def _codec_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default="auto", help="RCC kernel backend (auto, numba, numpy, "
                   "torch, triton, cupy)")
    p.add_argument("--levels", type=int, default=32, help="noise-ladder length (default 32)")
    p.add_argument("--t-max", type=float, default=5.0, help="first ladder noise std")
    p.add_argument("--t-min", type=float, default=0.05, help="last ladder noise std")
    p.add_argument("--chunk-bits", type=float, default=8.0,
                   help="RCC KL budget per chunk in bits (encode cost ~ 2^(bits+2) per dim)")


def _config(args: argparse.Namespace):
    from rdptheory.images.codec import CodecConfig

    return CodecConfig(t_max=args.t_max, t_min=args.t_min, n_levels=args.levels,
                       max_chunk_bits=args.chunk_bits, backend=args.backend)


def _cmd_compress(args: argparse.Namespace) -> int:
    from rdptheory.images.codec import compress_with_report
    from rdptheory.images.datasets import load_image
    from rdptheory.images.models import load_model

    image = load_image(args.image)
    res = compress_with_report(image.pixels, model=load_model(args.model), bpp=args.bpp,
                               noise_var=args.noise_var, seed=args.seed, config=_config(args))
    pathlib.Path(args.out).write_bytes(res.data)
    h, w = image.pixels.shape[:2]
    print(f"{args.out}: {len(res.data)} bytes, {res.bpp:.4f} bpp ({h}x{w}), {res.n_steps} steps,"
          f" last noise_var {res.noise_var:.4g}, KL {sum(res.kl_bits):.0f} bits, "
          f"{res.seconds:.2f} s")
    return 0


def _cmd_decompress(args: argparse.Namespace) -> int:
    from PIL import Image

    from rdptheory.images.codec import decompress
    from rdptheory.images.models import load_model

    data = pathlib.Path(args.input).read_bytes()
    out = decompress(data, model=load_model(args.model), rho=args.rho, max_steps=args.max_steps,
                     ode_steps=args.ode_steps, backend=args.backend)
    Image.fromarray(out).save(args.out)
    print(f"{args.out}: {out.shape[0]}x{out.shape[1]} decoded at rho={args.rho:g}")
    return 0


def _eval_images(args: argparse.Namespace):
    from rdptheory.images import datasets

    if args.cifar:
        imgs = datasets.load_cifar10(args.cifar, limit=args.limit)
    elif args.images in ("bundled", "unseen"):
        names = datasets.TRAIN_IMAGES if args.images == "bundled" else datasets.UNSEEN_IMAGES
        imgs = [datasets.bundled_image(n) for n in names]
    else:
        imgs = datasets.load_folder(args.images)
    imgs = imgs[: args.limit] if args.limit else imgs
    if args.crop:
        imgs = [datasets.NamedImage(i.name, datasets.center_crop(i.pixels, args.crop))
                for i in imgs]
    return imgs


def _cmd_eval(args: argparse.Namespace) -> int:
    from rdptheory.images.evaluate import evaluate, write_outputs
    from rdptheory.images.models import load_model

    imgs = _eval_images(args)
    result = evaluate(imgs, model=load_model(args.model), bpps=args.bpp,
                      noise_vars=args.noise_var, rhos=args.rho, seed=args.seed,
                      config=_config(args), ode_steps=args.ode_steps, show_progress=True)
    paths = write_outputs(result, args.out)
    print(f"{'target':>8} {'rho':>5} {'bpp':>7} {'PSNR':>7} {'MS-SSIM':>8} {'Frechet':>9}")
    for p in result.points:
        print(f"{p.target:8.4g} {p.rho:5.2f} {p.bpp:7.4f} {p.psnr:7.2f} {p.ms_ssim:8.4f} "
              f"{p.frechet:9.2e}")
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``compress``, ``decompress`` and ``eval``."""
    p = subparsers.add_parser("compress", help="compress an image with the diffusion codec")
    p.add_argument("image", help="PNG/JPEG input")
    p.add_argument("out", help="output bitstream file")
    p.add_argument("--model", default="patch-gmm", help=_MODEL_HELP)
    rate = p.add_mutually_exclusive_group(required=True)
    rate.add_argument("--bpp", type=float, help="target bits per pixel (whole file)")
    rate.add_argument("--noise-var", type=float, help="stop at this noise variance t²")
    p.add_argument("--seed", type=int, default=0, help="shared seed (written into the file)")
    _codec_options(p)
    p.set_defaults(func=_cmd_compress)

    p = subparsers.add_parser("decompress", help="decode a bitstream at a chosen rho")
    p.add_argument("input", help="bitstream from `rdptheory compress`")
    p.add_argument("out", help="output PNG")
    p.add_argument("--model", default="patch-gmm", help=_MODEL_HELP)
    p.add_argument("--rho", type=float, default=1.0, help="score scale: 1 = PF-ODE (realism), "
                   "2 = MMSE-end drift")
    p.add_argument("--max-steps", type=int, default=None, help="decode only a prefix of steps")
    p.add_argument("--ode-steps", type=int, default=24, help="PF-ODE steps (Heun)")
    p.add_argument("--backend", default="auto", help="RCC kernel backend")
    p.set_defaults(func=_cmd_decompress)

    p = subparsers.add_parser("eval", help="rate-distortion-perception evaluation on images")
    p.add_argument("--images", default="unseen", help="a folder of PNG/JPEG, or 'bundled' "
                   "(the prior's training photographs) or 'unseen' (sklearn's china/flower)")
    p.add_argument("--cifar", default=None, help="CIFAR-10 python batch file or folder")
    p.add_argument("--limit", type=int, default=None, help="use at most this many images")
    p.add_argument("--crop", type=int, default=None, help="centre-crop images to N x N")
    p.add_argument("--model", default="patch-gmm", help=_MODEL_HELP)
    rate = p.add_mutually_exclusive_group(required=True)
    rate.add_argument("--bpp", type=float, nargs="+", help="target rates (bits per pixel)")
    rate.add_argument("--noise-var", type=float, nargs="+", help="target noise variances")
    p.add_argument("--rho", type=float, nargs="+", default=[1.0, 1.5, 2.0])
    p.add_argument("--ode-steps", type=int, default=24)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="rdp_eval", help="output folder (results.json, plots)")
    _codec_options(p)
    p.set_defaults(func=_cmd_eval)
