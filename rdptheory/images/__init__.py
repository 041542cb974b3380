"""The image codec: DiffC-style progressive coding of an image model's reverse diffusion
(:mod:`rdptheory.images.codec`, file format :mod:`rdptheory.images._format`) with isotropic or
spectrum-shaped noise (``CodecConfig(noise="shaped")``; which models can code it:
:mod:`rdptheory.images.noise`; the shaped chain: :mod:`rdptheory.images.shaped_chain`; the
measurements behind it: :mod:`rdptheory.images.shaped`).

The models live in :mod:`rdptheory.models`, data loading in :mod:`rdptheory.data`, image
metrics in :mod:`rdptheory.metrics`, and evaluation, report and plots in
:mod:`rdptheory.experiments`.

>>> import numpy as np
>>> from rdptheory.images import compress, decompress, CodecConfig
>>> from rdptheory.models import load_model
>>> gmm = load_model("patch-gmm")  # the tiled patch GMM: exact, torch-free
>>> img = np.full((8, 8, 3), 128, dtype=np.uint8)
>>> data = compress(img, model=gmm, noise_var=0.5,
...                 config=CodecConfig(backend="numpy", n_levels=4))
>>> decompress(data, model=gmm, rho=1.0, backend="numpy").shape
(8, 8, 3)
>>> shaped = compress(img, model=gmm, noise_var=0.5,
...                   config=CodecConfig(backend="numpy", n_levels=4, noise="shaped"))
>>> decompress(shaped, model=gmm, rho=1.0, backend="numpy").shape
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
from rdptheory.images.noise import ShapedChain, ShapedNoiseModel, register_shaped

__all__ = [
    "DEFAULT_CONFIG",
    "CodecConfig",
    "CompressResult",
    "ShapedChain",
    "ShapedNoiseModel",
    "compress",
    "compress_with_report",
    "decompress",
    "register_shaped",
    "truncate",
]
