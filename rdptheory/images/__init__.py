"""Image compression with diffusion models (issue 6): an embedded exact-score patch prior,
diffusers adapters, the DiffC-style progressive codec, evaluation and report figures.

>>> import numpy as np
>>> from rdptheory.images import compress, decompress, CodecConfig
>>> img = np.full((8, 8, 3), 128, dtype=np.uint8)
>>> data = compress(img, noise_var=0.5, config=CodecConfig(backend="numpy", n_levels=4))
>>> decompress(data, rho=1.0, backend="numpy").shape
(8, 8, 3)
"""

from rdptheory.images.codec import (
    DEFAULT_CONFIG,
    CodecConfig,
    CompressResult,
    compress,
    compress_with_report,
    decompress,
    truncate,
)
from rdptheory.images.datasets import (
    TRAIN_IMAGES,
    UNSEEN_IMAGES,
    NamedImage,
    bundled_image,
    center_crop,
    from_model_space,
    load_cifar10,
    load_folder,
    load_image,
    to_model_space,
)
from rdptheory.images.evaluate import (
    EvalPoint,
    EvalResult,
    RhoPoint,
    evaluate,
    rho_sweep,
    to_compressai_json,
    write_outputs,
)
from rdptheory.images.metrics import exact_w2sq, frechet_distance, ms_ssim, psnr, sliced_w2sq
from rdptheory.images.models import (
    ImageModel,
    PatchGMMImageModel,
    default_model,
    load_model,
)
from rdptheory.images.prior import (
    PatchGMM,
    gmm_log_density,
    gmm_posterior_mean,
    load_prior,
    save_prior,
)
from rdptheory.images.report import report_section

__all__ = [
    "DEFAULT_CONFIG",
    "TRAIN_IMAGES",
    "UNSEEN_IMAGES",
    "CodecConfig",
    "CompressResult",
    "EvalPoint",
    "EvalResult",
    "ImageModel",
    "NamedImage",
    "PatchGMM",
    "PatchGMMImageModel",
    "RhoPoint",
    "bundled_image",
    "center_crop",
    "compress",
    "compress_with_report",
    "decompress",
    "default_model",
    "evaluate",
    "exact_w2sq",
    "frechet_distance",
    "from_model_space",
    "gmm_log_density",
    "gmm_posterior_mean",
    "load_cifar10",
    "load_folder",
    "load_image",
    "load_model",
    "load_prior",
    "ms_ssim",
    "psnr",
    "report_section",
    "rho_sweep",
    "save_prior",
    "sliced_w2sq",
    "to_compressai_json",
    "to_model_space",
    "truncate",
    "write_outputs",
]
