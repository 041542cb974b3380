"""Resource limits shared by every decoder and the CLI (hostile-input policy).

A decoder checks a file's declared sizes against these limits *before* allocating anything, so a
crafted header cannot make it allocate gigabytes or run for minutes.
"""

from __future__ import annotations

#: Largest image (pixels, height × width) the CLI and the image decoder accept by default:
#: 16 Mpx = 4096 × 4096. A 16-Mpx RGB image in float64 is 0.4 GB, which this 2-core, 24-GiB
#: machine handles; override with ``--max-pixels`` / ``max_pixels=``.
DEFAULT_MAX_PIXELS: int = 4096 * 4096

#: Largest number of scalar values (vectors × dimension) a Gaussian-codec file may declare.
DEFAULT_MAX_VALUES: int = 1 << 26

#: Largest score scale rho a decoder (library and CLI alike) accepts: rho in [0, MAX_RHO].
#: rho = 1 is the probability-flow ODE, 2 the MMSE-end drift (THEORY.md §3); beyond 2 the drift
#: overshoots the MMSE point, so quality only degrades, and at rho ~ 1e308 the PF-ODE overflows
#: to NaN. [0, 4] leaves room past both ends.
MAX_RHO: float = 4.0
