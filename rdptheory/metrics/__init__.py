"""Distances between distributions: every W₂ / Fréchet estimator of the project, once.

Theory-free numerics over numpy (no torch, no model or codec code): the codecs, the
verification harness and (after issue 10's phase 2) the image metrics import from here.

>>> from rdptheory.metrics import bures_w2sq
>>> bures_w2sq(1.0, 4.0, 0.0, 1.0)  # (1 − 0)² + (2 − 1)²
2.0
"""

from rdptheory.metrics.w2 import bures_w2sq, gaussian_fit_w2sq, psd_sqrt

__all__ = ["bures_w2sq", "gaussian_fit_w2sq", "psd_sqrt"]
