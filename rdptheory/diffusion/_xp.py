"""A tiny numpy/torch array namespace (STYLE.md §4): numpy in -> numpy out, torch in -> torch out.

Torch is never imported here unless a torch tensor is passed in, so ``import rdptheory.diffusion``
stays light.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def is_torch(x: object) -> bool:
    """True if ``x`` is a torch tensor (checked by module name, so torch is not imported)."""
    return type(x).__module__.startswith("torch")


def as_like(a: Any, ref: Any) -> Any:
    """``a`` (numpy or scalar) converted to the kind, dtype and device of ``ref``."""
    if is_torch(ref):
        import torch

        if is_torch(a):
            return a.to(dtype=ref.dtype, device=ref.device)
        return torch.as_tensor(np.asarray(a), dtype=ref.dtype, device=ref.device)
    ref_dtype = np.asarray(ref).dtype
    return np.asarray(a, dtype=ref_dtype if ref_dtype.kind == "f" else np.float64)


def exp(x: Any) -> Any:
    """Elementwise exp."""
    if is_torch(x):
        return x.exp()
    return np.exp(x)


def log(x: Any) -> Any:
    """Elementwise natural log."""
    if is_torch(x):
        return x.log()
    return np.log(x)


def sqrt(x: Any) -> Any:
    """Elementwise square root."""
    if is_torch(x):
        return x.sqrt()
    return np.sqrt(x)


def logsumexp(x: Any, axis: int, keepdims: bool = False) -> Any:
    """Stable log(sum(exp(x))) along ``axis``."""
    if is_torch(x):
        return x.logsumexp(dim=axis, keepdim=keepdims)
    from scipy.special import logsumexp as np_logsumexp  # on first use (~0.3 s to import)

    return np_logsumexp(x, axis=axis, keepdims=keepdims)


def einsum(eq: str, *ops: Any) -> Any:
    """Einstein summation with the namespace of the first operand."""
    if is_torch(ops[0]):
        import torch

        return torch.einsum(eq, *ops)
    return np.einsum(eq, *ops, optimize=True)


def to_numpy(x: Any) -> np.ndarray:
    """A float64 numpy copy of ``x`` (torch tensors are detached and moved to the CPU)."""
    if is_torch(x):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)
