"""The image codec: DiffC-style progressive coding of an image model's reverse diffusion
(:mod:`rdptheory.images.codec`, file format :mod:`rdptheory.images._format`) and the
noise-shaped variant (:mod:`rdptheory.images.shaped`).

The models live in :mod:`rdptheory.models`, data loading in :mod:`rdptheory.data`, image
metrics in :mod:`rdptheory.metrics`, and evaluation, report and plots in
:mod:`rdptheory.experiments`.

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

__all__ = [
    "DEFAULT_CONFIG",
    "CodecConfig",
    "CompressResult",
    "compress",
    "compress_with_report",
    "decompress",
    "truncate",
]
