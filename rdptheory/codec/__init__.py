"""rdptheory.codec: Gaussian codec with real bitstreams, decodable at any rho.

>>> import numpy as np
>>> from rdptheory.codec import GaussianCodec
>>> codec = GaussianCodec([1.0, 0.5], 0.25, seed=1)
>>> x = np.random.default_rng(0).standard_normal((3, 2))
>>> data = codec.compress(x)
>>> codec.decompress(data, rho=2.0).shape
(3, 2)
"""

from rdptheory.codec._container import record_boundaries
from rdptheory.codec.gaussian import GaussianCodec
from rdptheory.codec.operating_point import (
    OperatingPoint,
    bures_w2sq,
    measure_operating_point,
    score_scaled_gains,
    theory_point,
)

__all__ = [
    "GaussianCodec",
    "OperatingPoint",
    "bures_w2sq",
    "measure_operating_point",
    "record_boundaries",
    "score_scaled_gains",
    "theory_point",
]
