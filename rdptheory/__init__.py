"""rdptheory: rate-distortion-perception theory and training-free diffusion compression.

Sub-packages (imported lazily, so ``import rdptheory`` stays light and never needs torch):

- :mod:`rdptheory.gaussian`     exact Gaussian R(D), R(D,P), D(R,P), D(P) under AWGN (§1-§3)
- :mod:`rdptheory.symbolic`     the same results derived with sympy
- :mod:`rdptheory.diffusion`    schedules, scores, the score-scaled PF-ODE decoder (§3-§4)
- :mod:`rdptheory.kernels`      counter-based shared randomness and fused RCC kernels (§5)
- :mod:`rdptheory.rcc`          reverse channel coding: PFR / ORC, chunking, index coding (§5)
- :mod:`rdptheory.codec`        Gaussian codec with real bitstreams
- :mod:`rdptheory.images`       image compression with diffusion models
- :mod:`rdptheory.proofs_check` every claim, checked (``rdptheory verify``)
- :mod:`rdptheory.figures`      one script per figure (``rdptheory figures``)
- :mod:`rdptheory.testing`      hypothesis strategies for property-testing against the theory
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = (
    "gaussian",
    "symbolic",
    "diffusion",
    "kernels",
    "rcc",
    "codec",
    "images",
    "proofs_check",
    "figures",
    "testing",
    "cli",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"rdptheory.{name}")
    raise AttributeError(f"module 'rdptheory' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
