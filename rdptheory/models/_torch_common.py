"""What the torch-backed model adapters share: fixed-thread deterministic calls, offline
weight folders, fingerprints of torch modules, padding to the network's multiple.

Imports torch only inside the functions that need it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import pathlib
from collections.abc import Iterator
from typing import Any

import numpy as np

EMPTY_PROMPT_FILE = "empty_prompt_embeds.npy"
#: torch intra-op threads of every model call (fixed so that results do not depend on the caller).
MODEL_THREADS = 1


@contextlib.contextmanager
def fixed_torch_threads(threads: int = MODEL_THREADS) -> Iterator[None]:
    """Run a block with ``threads`` torch threads, deterministic algorithms and no grad."""
    import torch

    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        with torch.no_grad():
            yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)


def local_dir(path: str | pathlib.Path) -> pathlib.Path:
    """``path`` as a local directory; ``FileNotFoundError`` says how to fetch weights offline."""
    p = pathlib.Path(path)
    if not p.is_dir():
        raise FileNotFoundError(
            f"{str(path)!r} is not a local directory. rdptheory loads diffusers weights offline "
            "only; on a machine with network run `huggingface-cli download "
            f"{path} --local-dir DIR` (or `DiffusionPipeline.from_pretrained(...)"
            ".save_pretrained(DIR)`), copy DIR here and pass its path.")
    return p


def module_fingerprint(*modules: Any, extra: bytes = b"") -> bytes:
    """SHA-256 over class names, configs and every parameter/buffer (sorted by name).

    Config keys starting with ``_`` (diffusers' ``_name_or_path``, ``_diffusers_version``, …) are
    left out: they record where and with which library version a model was loaded, so hashing
    them would make a file encoded with the model in one folder undecodable from another.
    """
    h = hashlib.sha256(extra)
    for m in modules:
        if m is None:  # an optional part a model folder may lack
            h.update(b"<none>")
            continue
        h.update(type(m).__name__.encode())
        if hasattr(m, "config"):
            config = {k: v for k, v in dict(m.config).items() if not str(k).startswith("_")}
            h.update(json.dumps(config, sort_keys=True, default=str).encode())
        for name, tensor in sorted(m.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.digest()


def pad_to_multiple(x: np.ndarray, factor: int) -> np.ndarray:
    """Reflect-pad (B, C, H, W) at the bottom/right to multiples of ``factor``."""
    ph, pw = (-x.shape[2]) % factor, (-x.shape[3]) % factor
    pad = [(0, 0), (0, 0), (0, ph), (0, pw)]
    if max(ph, pw) < min(x.shape[2:]):
        return np.pad(x, pad, mode="reflect")
    return np.pad(x, pad, mode="edge")
