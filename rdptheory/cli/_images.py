"""``rdptheory compress``, ``decompress`` and ``eval``: the image codec from the shell.

Heavy imports (numpy maths, torch, diffusers) happen inside the command functions.

Everything a careless or hostile invocation can get wrong is checked *before* the codec runs:
every number against its documented range (argparse types below), the input (exists, is a
file, is a readable image whose header declares at most ``--max-pixels`` pixels), and the
output (not the input through any link, not a folder or device, not an existing file unless
``--force``, in a writable folder). Outputs are written atomically (:mod:`rdptheory._io`).
"""

from __future__ import annotations

import argparse
import inspect
import math
import pathlib

from rdptheory._limits import DEFAULT_MAX_PIXELS, MAX_RHO
from rdptheory.models import DEFAULT_SPEC

_MODEL_HELP = (f"'{DEFAULT_SPEC}' (the shipped trained UNet, default; needs the images+torch "
               "extras), 'patch-gmm' (embedded exact-score patch prior, torch-free), 'gmm-shift' "
               "(the same prior averaged over 16 shifted tilings: no block grid), a .npz patch "
               "prior, or a local diffusers directory (pixel UNet2DModel pipeline, SD-style vae/ "
               "unet/ scheduler/, or SD3/Flux-style transformer/ vae/ scheduler/). A file must be "
               "decoded with the model that wrote it (its fingerprint is in the header)")

#: Largest score scale ρ the CLI accepts: the library's one documented range (see
#: :data:`rdptheory._limits.MAX_RHO`).
RHO_MAX = MAX_RHO
#: Largest RCC chunk budget (bits) the CLI accepts. Encoding costs ~2^(B + padding) candidate
#: draws per dimension and chunk; measured on a 32×32 image (one core, numba, --bpp 1):
#: B = 8: 0.8 s, 10: 0.5 s, 12: 1.3 s, 14: 6.2 s, i.e. ×4 per 2 bits at first, then ×2 per
#: bit and more, so B = 16 already takes minutes on larger images and B = 24 days.
CHUNK_BITS_MAX = 16.0
#: The codec's ladder defaults (``rdptheory.images.CodecConfig``; kept equal by a test, not
#: imported here: the parser stays light) and the file format's largest ladder. The levels
#: are the isotropic noise's (ladder preset 1, asinh-spaced); ``--levels`` left out lets the
#: codec pick per noise (shaped noise: preset 0, 37 geometric levels).
DEFAULT_LEVELS, DEFAULT_T_MAX, MAX_LEVELS = 25, 10.0, 4096
SHAPED_DEFAULT_LEVELS = 37
#: The decoder's estimators (``rdptheory.images.codec.ESTIMATORS``; kept equal by a test).
ESTIMATORS = ("ode", "posterior-mean")
#: Largest PF-ODE step count (each step is two model evaluations).
ODE_STEPS_MAX = 10_000
_SEED_MAX = 2**63 - 1
_IMAGE_SUFFIXES = (".png", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg", ".webp", ".ppm")


# ---- argparse types: one-line messages, plain numbers ------------------------------------
_RECON_HELP = ("decode with this model's score (ODE) or denoiser (posterior mean) from the "
               "chain the file's --model replays (same code space; isotropic files); e.g. "
               "--model unet --reconstruct-with unet-x4+gmm: UNet S's chain rate, the stacked "
               "denoiser's reconstruction (default: --model itself)")


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _positive(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value:g}")
    return value


def _rho(text: str) -> float:
    value = _number(text)
    if not 0.0 <= value <= RHO_MAX:
        raise argparse.ArgumentTypeError(
            f"rho must lie in [0, {RHO_MAX:g}] (1 = PF-ODE realism, 2 = MMSE), got {value:g}")
    return value


def _chunk_bits(text: str) -> float:
    value = _number(text)
    if not 0.0 < value <= CHUNK_BITS_MAX:
        raise argparse.ArgumentTypeError(
            f"must lie in (0, {CHUNK_BITS_MAX:g}] bits (encoding time grows ~2^bits: 14 bits "
            f"already takes seconds on a 32x32 image), got {value:g}")
    return value


def _nonnegative(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value:g}")
    return value


def _int_range(low: int, high: int | None = None):
    def check(text: str) -> int:
        value = _integer(text)
        if value < low or (high is not None and value > high):
            span = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise argparse.ArgumentTypeError(f"must be an integer {span}, got {value}")
        return value

    return check



# ---- shared options and checks ------------------------------------------------------------
def _check_backend(backend: str) -> None:
    """An explicit backend must exist and be usable here (``auto`` always resolves)."""
    if backend != "auto":
        from rdptheory.kernels import SELECT, resolve_backend

        resolve_backend(SELECT, backend)


def _codec_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default="auto", help="RCC kernel backend (auto, numba, numpy, "
                   "torch, triton, cupy)")
    p.add_argument("--levels", type=_int_range(2, MAX_LEVELS), default=None,
                   help=f"noise-ladder length in [2, {MAX_LEVELS}] (default {DEFAULT_LEVELS} "
                   f"asinh-spaced levels, {SHAPED_DEFAULT_LEVELS} geometric with --noise shaped;"
                   " any other length is geometric)")
    p.add_argument("--t-max", type=_positive, default=DEFAULT_T_MAX,
                   help=f"first ladder noise std (> 0, default {DEFAULT_T_MAX:g})")
    p.add_argument("--t-min", type=_positive, default=0.05,
                   help="last ladder noise std (> 0, < --t-max)")
    p.add_argument("--chunk-bits", type=_chunk_bits, default=8.0,
                   help=f"RCC KL budget per chunk in bits, in (0, {CHUNK_BITS_MAX:g}] (encode cost "
                   "~ 2^(bits+2) per dim: 14 bits takes ~6 s on a 32x32 image)")
    p.add_argument("--noise", choices=("isotropic", "shaped"), default="isotropic",
                   help="isotropic: y = x + tN (every model, default); shaped: noise diagonal in "
                   "the 8x8x3 block DCT with per-coefficient levels (issue 15; models that can: "
                   "'patch-gmm'); the recipe goes into the file")
    p.add_argument("--shaping-ladder", choices=("mse", "perception"), default=None,
                   help="--noise shaped only: 'perception' (D(R,P) forward channel, default) or "
                   "'mse' (reverse water-filling)")
    p.add_argument("--shaping-basis", choices=("dct",), default=None,
                   help="--noise shaped only: the fixed basis (default dct)")
    p.add_argument("--perception-budget", type=_nonnegative, default=None,
                   help="--noise shaped with the perception ladder only: W2^2 budget P >= 0 per "
                   "8x8 patch, model space (default 0)")


def _io_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-pixels", type=_int_range(1), default=DEFAULT_MAX_PIXELS,
                   help=f"refuse images larger than this many pixels, read from the header "
                   f"before decoding (default {DEFAULT_MAX_PIXELS} = 4096x4096)")
    p.add_argument("--force", action="store_true",
                   help="overwrite an existing output (never the input itself)")


def _check_codec_args(args: argparse.Namespace) -> None:
    """The codec options' joint constraints (cheap: before the heavy imports)."""
    _check_backend(args.backend)
    if args.t_min >= args.t_max:
        raise ValueError(f"--t-min must be < --t-max, got {args.t_min:g} >= {args.t_max:g}")
    shaping = [f"--{name.replace('_', '-')}" for name in ("shaping_ladder", "shaping_basis",
                                                           "perception_budget")
               if getattr(args, name) is not None]
    if args.noise == "isotropic" and shaping:
        raise ValueError(f"{', '.join(shaping)} applies to shaped noise: add --noise shaped")
    if args.shaping_ladder == "mse" and args.perception_budget is not None:
        raise ValueError("--perception-budget applies to the perception ladder, not "
                         "--shaping-ladder mse")


def _config(args: argparse.Namespace):
    from rdptheory.images.codec import CodecConfig

    _check_codec_args(args)
    return CodecConfig(t_max=args.t_max, t_min=args.t_min, n_levels=args.levels,
                       max_chunk_bits=args.chunk_bits, backend=args.backend, noise=args.noise,
                       ladder=args.shaping_ladder, basis=args.shaping_basis,
                       perception=args.perception_budget)


def _image_format(out: str) -> str:
    """Pillow's format name for the output's suffix; ``ValueError`` for a non-image suffix."""
    from PIL import Image

    known = Image.registered_extensions()
    suffixes = [s for s in _IMAGE_SUFFIXES if s in known]
    suffix = pathlib.Path(out).suffix.lower()
    if suffix not in suffixes:
        raise ValueError(f"output {out} needs an image suffix ({', '.join(suffixes)}), "
                         "e.g. out.png")
    return known[suffix]


# ---- commands ------------------------------------------------------------------------------
def _cmd_compress(args: argparse.Namespace) -> int:
    from rdptheory._io import atomic_write_bytes, check_input_file, check_output_path

    _check_codec_args(args)  # cheap checks before the heavy imports
    check_input_file(args.image, "input image")
    check_output_path(args.out, [args.image], force=args.force)
    from rdptheory.data import load_image
    from rdptheory.images.codec import compress_with_report
    from rdptheory.models import load_model

    config = _config(args)
    image = load_image(args.image, max_pixels=args.max_pixels)
    res = compress_with_report(image.pixels, model=load_model(args.model), bpp=args.bpp,
                               noise_var=args.noise_var, seed=args.seed, config=config)
    atomic_write_bytes(args.out, res.data)
    h, w = image.pixels.shape[:2]
    print(f"{args.out}: {len(res.data)} bytes, {res.bpp:.4f} bpp ({h}x{w}), {res.n_steps} steps,"
          f" last noise_var {res.noise_var:.4g}, KL {sum(res.kl_bits):.0f} bits, "
          f"{res.seconds:.2f} s")
    return 0


def _check_stream_size(data: bytes, max_pixels: int) -> None:
    """The header's image size against ``--max-pixels`` (before the decoder allocates)."""
    from rdptheory.images import _format

    h = _format.unpack_stream(data).header
    if h.height * h.width > max_pixels:
        raise ValueError(f"the stream declares a {h.height}x{h.width} image = "
                         f"{h.height * h.width} pixels, above the pixel limit of {max_pixels}; "
                         "pass a larger --max-pixels only if the file is trusted")


def _check_estimator_args(args: argparse.Namespace) -> None:
    """The ODE-only options are refused with ``--estimator posterior-mean`` (one line)."""
    if args.estimator != "posterior-mean":
        return
    given = [f"--{name.replace('_', '-')}" for name in ("rho", "ode_steps", "solver")
             if getattr(args, name) is not None]
    given += ["--per-direction"] if args.per_direction else []
    if given:
        raise ValueError(f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to the "
                         "ODE decoder, not --estimator posterior-mean")


def _cmd_decompress(args: argparse.Namespace) -> int:
    import numpy as np
    from PIL import Image

    from rdptheory._io import atomic_path, check_input_file, check_output_path

    _check_estimator_args(args)
    fmt = _image_format(args.out)  # cheap checks before the heavy imports
    src = check_input_file(args.input, "input bitstream")
    check_output_path(args.out, [args.input], force=args.force)
    _check_backend(args.backend)
    from rdptheory.images.codec import decompress
    from rdptheory.models import load_model

    size, limit = src.stat().st_size, 4 * args.max_pixels + 4096  # 32 bits per pixel at most
    if size > limit:
        raise ValueError(f"input bitstream {args.input} has {size} bytes, more than a stream "
                         f"of at most --max-pixels {args.max_pixels} pixels can hold ({limit})")
    data = src.read_bytes()
    _check_stream_size(data, args.max_pixels)
    kwargs: dict = {}
    if args.estimator != "ode":
        kwargs["estimator"] = args.estimator
    if "max_pixels" in inspect.signature(decompress).parameters:
        kwargs["max_pixels"] = args.max_pixels
    if args.per_direction:
        kwargs["per_direction"] = True
    if args.solver is not None:
        kwargs["solver"] = args.solver
    if args.reconstruct_with is not None:
        kwargs["reconstruction_model"] = load_model(args.reconstruct_with)
    out = decompress(data, model=load_model(args.model), rho=args.rho, max_steps=args.max_steps,
                     ode_steps=args.ode_steps, backend=args.backend, **kwargs)
    if out.dtype != np.uint8 or out.ndim != 3:  # never write what is not an 8-bit image
        raise ValueError(f"the decoder returned a {out.dtype} array of shape {out.shape}")
    with atomic_path(args.out) as tmp:
        Image.fromarray(out).save(tmp, format=fmt)
    how = " per direction" if args.per_direction else ""
    what = ("as the model's posterior mean" if args.estimator == "posterior-mean" else
            f"at rho={1.0 if args.rho is None else args.rho:g}{how}")
    by = "" if args.reconstruct_with is None else f" with {args.reconstruct_with}"
    print(f"{args.out}: {out.shape[0]}x{out.shape[1]} decoded {what}{by}")
    return 0


def _eval_images(args: argparse.Namespace):
    from rdptheory import data as datasets

    if args.cifar:
        imgs = datasets.load_cifar10(args.cifar, limit=args.limit)
    elif args.images in ("bundled", "unseen"):
        names = datasets.TRAIN_IMAGES if args.images == "bundled" else datasets.UNSEEN_IMAGES
        imgs = [datasets.bundled_image(n) for n in names]
    else:
        path = pathlib.Path(args.images)
        imgs = (datasets.load_folder(path, max_pixels=args.max_pixels) if path.is_dir() else
                [datasets.load_image(path, max_pixels=args.max_pixels)])
    imgs = imgs[: args.limit] if args.limit else imgs
    if args.crop:
        imgs = [datasets.NamedImage(i.name, datasets.center_crop(i.pixels, args.crop))
                for i in imgs]
    return imgs


#: The files ``eval`` writes into ``--out``.
EVAL_OUTPUTS = ("results.json", "rate_distortion.png", "rate_perception.png", "bd_rate.csv",
                "blockiness.png")


def _check_eval_images(imgs, patch: int = 8) -> None:
    """The perception metrics pool 8x8 patches over all images and need at least two."""
    n = sum(-(-i.pixels.shape[0] // patch) * -(-i.pixels.shape[1] // patch) for i in imgs)
    if n < 2:
        raise ValueError(f"the perception metrics need at least 2 patches of {patch}x{patch} "
                         f"pixels over all images, these give {n}; use more images (--limit) "
                         f"or a larger --crop")


def _cmd_eval(args: argparse.Namespace) -> int:
    from rdptheory._io import check_output_dir

    _check_codec_args(args)  # cheap checks before the heavy imports
    check_output_dir(args.out, EVAL_OUTPUTS, force=args.force)
    from rdptheory.experiments.image_eval import evaluate, write_outputs
    from rdptheory.models import load_model

    config = _config(args)
    imgs = _eval_images(args)
    _check_eval_images(imgs)
    recon = None if args.reconstruct_with is None else load_model(args.reconstruct_with)
    result = evaluate(imgs, model=load_model(args.model), bpps=args.bpp,
                      noise_vars=args.noise_var, rhos=args.rho, seed=args.seed,
                      config=config, ode_steps=args.ode_steps, show_progress=True,
                      posterior_mean=args.posterior_mean, reconstruction_model=recon)
    paths = write_outputs(result, args.out)
    print(f"{'target':>8} {'rho':>5} {'bpp':>7} {'PSNR':>7} {'MS-SSIM':>8} {'Frechet':>9}")
    for p in result.points:
        rho = "mean" if p.rho == float("inf") else f"{p.rho:5.2f}"
        print(f"{p.target:8.4g} {rho:>5} {p.bpp:7.4f} {p.psnr:7.2f} {p.ms_ssim:8.4f} "
              f"{p.frechet:9.2e}")
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``compress``, ``decompress`` and ``eval``."""
    p = subparsers.add_parser("compress", help="compress an image with the diffusion codec")
    p.add_argument("image", help="PNG/JPEG input")
    p.add_argument("out", help="output bitstream file")
    p.add_argument("--model", default=DEFAULT_SPEC, help=_MODEL_HELP)
    rate = p.add_mutually_exclusive_group(required=True)
    rate.add_argument("--bpp", type=_positive, help="target bits per pixel (whole file, > 0)")
    rate.add_argument("--noise-var", type=_positive, help="stop at this noise variance t² (> 0)")
    p.add_argument("--seed", type=_int_range(0, _SEED_MAX), default=0,
                   help="shared seed in [0, 2^63) (written into the file)")
    _codec_options(p)
    _io_options(p)
    p.set_defaults(func=_cmd_compress)

    p = subparsers.add_parser("decompress", help="decode a bitstream at a chosen rho")
    p.add_argument("input", help="bitstream from `rdptheory compress`")
    p.add_argument("out", help="output image (.png, .bmp, .tif, .jpg, ...)")
    p.add_argument("--model", default=DEFAULT_SPEC, help=_MODEL_HELP)
    p.add_argument("--rho", type=_rho, default=None,
                   help=f"score scale in [0, {RHO_MAX:g}] of the ODE decoder: 1 = PF-ODE (realism, "
                   "default), 2 = MMSE-end drift")
    p.add_argument("--estimator", choices=ESTIMATORS, default="ode",
                   help="ode: the score-scaled PF-ODE at --rho (default); posterior-mean: the "
                   "model's posterior mean E[X|Y] at the file's last level (one model call after "
                   "the replay; --rho, --ode-steps, --solver, --per-direction do not apply)")
    p.add_argument("--max-steps", type=_int_range(1), default=None,
                   help="decode only a prefix of steps (>= 1)")
    p.add_argument("--ode-steps", type=_int_range(1, ODE_STEPS_MAX), default=None,
                   help="PF-ODE steps (default: 4 for isotropic files, 24 for shaped ones)")
    p.add_argument("--solver", choices=("heun", "euler", "exp1", "exp2"), default=None,
                   help="isotropic files: PF-ODE integrator (default exp2: one model call per "
                   "step, 4 calls in all, PSNR within 0.1 dB of heun 8 and patch Frechet "
                   "1.25-1.4x heun 8's; heun: 2 calls per step, `--solver heun --ode-steps 8` "
                   "is the previous default); shaped files use their own exponential Heun rule "
                   "(heun only)")
    p.add_argument("--reconstruct-with", default=None, metavar="SPEC", help=_RECON_HELP)
    p.add_argument("--backend", default="auto", help="RCC kernel backend")
    p.add_argument("--per-direction", action="store_true",
                   help="shaped-noise files only: per-direction rho_i reaching the W2^2 of "
                   "--rho (in [1, 2]) at the least Gaussian MSE, instead of one rho (the noise "
                   "recipe is read from the file)")
    _io_options(p)
    p.set_defaults(func=_cmd_decompress)

    p = subparsers.add_parser("eval", help="rate-distortion-perception evaluation on images")
    p.add_argument("--images", default="unseen", help="a folder of PNG/JPEG (or one image), or "
                   "'bundled' (the prior's training photographs) or 'unseen' (sklearn's "
                   "china/flower)")
    p.add_argument("--cifar", default=None, help="CIFAR-10 python batch file or folder")
    p.add_argument("--limit", type=_int_range(1), default=None,
                   help="use at most this many images (>= 1)")
    p.add_argument("--crop", type=_int_range(1), default=None,
                   help="centre-crop images to N x N (N >= 1)")
    p.add_argument("--model", default=DEFAULT_SPEC, help=_MODEL_HELP)
    rate = p.add_mutually_exclusive_group(required=True)
    rate.add_argument("--bpp", type=_positive, nargs="+", help="target rates (bits per pixel)")
    rate.add_argument("--noise-var", type=_positive, nargs="+", help="target noise variances")
    p.add_argument("--rho", type=_rho, nargs="+", default=[1.0, 1.5, 2.0],
                   help=f"score scales in [0, {RHO_MAX:g}]")
    p.add_argument("--ode-steps", type=_int_range(1, ODE_STEPS_MAX), default=None,
                   help="PF-ODE steps (default: the decoder's, 4 isotropic (exp2) / 24 shaped)")
    p.add_argument("--posterior-mean", action="store_true",
                   help="also decode each file with the model's posterior mean E[X|Y] at its "
                   "last level (decompress --estimator posterior-mean): rows 'mean' next to the "
                   "rho rows")
    p.add_argument("--reconstruct-with", default=None, metavar="SPEC", help=_RECON_HELP)
    p.add_argument("--seed", type=_int_range(0, _SEED_MAX), default=0)
    p.add_argument("--out", default="rdp_eval", help="output folder (results.json, plots)")
    _codec_options(p)
    _io_options(p)
    p.set_defaults(func=_cmd_eval)
