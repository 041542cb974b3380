"""What the torch-backed model adapters share: deterministic multi-threaded calls, offline
weight folders, fingerprints of torch modules, padding to the network's multiple.

Imports torch only inside the functions that need it.

Threads and determinism
-----------------------
The encoder and the decoder must compute bitwise-identical model outputs even when they run
in processes with different thread settings. Most CPU kernels of torch give results that do
not depend on the number of intra-op threads, but some do (measured on torch 2.13, AVX2):

- GEMM (``linear``, ``matmul``, ``bmm``, ``baddbmm``, ``einsum``, attention written with
  them): the blocking of the reduction depends on the thread count;
- 1×1 convolutions: torch routes them to oneDNN with several threads and to im2col + GEMM
  with one (two different algorithms);
- small convolutions (batch 1 and at most 20480 input values) go to im2col + GEMM;
- element-wise transcendental ops (``silu``, ``exp``, …): each thread's chunk ends with a
  scalar tail whose rounding differs from the vectorised body, and the chunk boundaries
  move with the thread count (``silu`` of a ``(1, 64, 40, 40)`` tensor differs between 1
  and 3 threads).

So every model call (:func:`fixed_torch_threads`) runs with **one** intra-op thread by
default, and only operations on an allow-list whose kernels split the work over
independent outputs (each output computed by one thread with a fixed reduction order) get
the model's thread count (:func:`model_threads`):

- ``conv2d`` of a contiguous float32 NCHW input with a kernel larger than 1×1, ``groups = 1``,
  that torch sends to oneDNN (batch > 1 or more than 20480 input values; oneDNN enabled):
  oneDNN's direct convolution partitions the output blocks over threads;
- ``group_norm`` of a contiguous input (torch parallelises over the ``N·G`` groups, each
  group reduced by one thread);
- ``interpolate`` in ``nearest`` mode (a copy);
- ``scaled_dot_product_attention`` without mask, dropout, causal or grouped-query options,
  float32 4-D inputs with unit last stride and equal batch, heads and head size (torch's
  CPU flash-attention kernel, flash enabled): it splits the work over (batch, head,
  query block), the block sizes set by the sequence lengths only, each block reduced over
  the keys by one thread (1224 shapes, batch 1-4, 1-8 heads, 16-4096 queries, head size
  8-64, self- and cross-attention: the same bits for 1-4 threads). The query, key and value
  projections around it are GEMMs and stay on one thread.

Anything else, including every op a model calls that is not listed, runs on one thread, so
the rule fails safe: an unknown op cannot make the result depend on the thread count. For
the shipped UNet S on one thread the allow-listed ops are 81 % (128²) and 84 % (256²) of
the CPU time (3×3 convolutions, then attention at 256²; measured per op), so two threads
can give most of the two-thread speed-up (``benchmarks/model_threads.py``; on a loaded
machine GNU OpenMP's spin-waiting makes any multi-threaded torch call slower, and
``OMP_WAIT_POLICY=PASSIVE`` in the environment avoids that). Bitwise equality of the model
outputs for 1, 2 and 3 threads is tested on this package's models (the shipped UNet S at odd
sizes, a random diffusers UNet with attention, latent and flow models; 4 threads measured,
and a sweep of 1040 3×3 convolution shapes); it holds on one machine and one torch build.
Across CPUs (instruction sets select other oneDNN/MKL kernels) or torch versions the float32
results may differ in the last bits: that is not promised.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import pathlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

EMPTY_PROMPT_FILE = "empty_prompt_embeds.npy"
#: torch intra-op threads of the allow-listed ops of a model call (module docstring):
#: ``None`` = the caller's ``torch.get_num_threads()`` at call time, capped at
#: :data:`MAX_MODEL_THREADS`; an int fixes the count. The environment variable
#: :data:`THREADS_ENV` overrides both. Outputs do not depend on the choice.
MODEL_THREADS: int | None = None
#: Cap of the automatic thread count (the allow-listed kernels gain little beyond it).
MAX_MODEL_THREADS = 16
#: Environment variable that sets the model's thread count (a positive integer).
THREADS_ENV = "RDPTHEORY_MODEL_THREADS"
#: Input values from which torch sends a batch-1 convolution to oneDNN (torch's
#: ``use_mkldnn`` rule; at or below it torch uses im2col + GEMM, whose result depends on the
#: thread count).
ONEDNN_MIN_NUMEL = 20480


def model_threads(threads: int | None = None) -> int:
    """The intra-op thread count of the allow-listed ops of a model call.

    ``threads`` if given, else the environment variable :data:`THREADS_ENV`, else
    :data:`MODEL_THREADS`, else ``min(torch.get_num_threads(), MAX_MODEL_THREADS)``.
    Raises ``ValueError`` for a count below 1 (or an environment value that is not one).
    """
    if threads is None:
        env = os.environ.get(THREADS_ENV, "").strip()
        if env:
            try:
                threads = int(env)
            except ValueError:
                raise ValueError(f"{THREADS_ENV} must be a positive integer, got {env!r}") \
                    from None
        elif MODEL_THREADS is not None:
            threads = MODEL_THREADS
        else:
            import torch

            return max(1, min(int(torch.get_num_threads()), MAX_MODEL_THREADS))
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    return int(threads)


def _is_plain(t: Any) -> bool:
    import torch

    return (isinstance(t, torch.Tensor) and t.dtype == torch.float32 and t.device.type == "cpu"
            and t.is_contiguous())


def _conv2d_parallel(args: tuple, kwargs: dict) -> bool:
    """A conv2d call that torch sends to oneDNN's direct convolution (module docstring)."""
    import torch

    x: Any = args[0] if args else kwargs.get("input")
    w: Any = args[1] if len(args) > 1 else kwargs.get("weight")
    groups = args[6] if len(args) > 6 else kwargs.get("groups", 1)
    if not (_is_plain(x) and _is_plain(w) and x.dim() == 4 and w.dim() == 4 and groups == 1):
        return False
    if w.shape[2] * w.shape[3] == 1:
        return False
    if not (torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled):
        return False
    return x.shape[0] > 1 or x.numel() > ONEDNN_MIN_NUMEL


def _sdpa_parallel(args: tuple, kwargs: dict) -> bool:
    """A ``scaled_dot_product_attention`` call that torch runs with its CPU flash kernel."""
    import torch

    names = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale",
             "enable_gqa")
    call = dict(zip(names, args)) | kwargs
    qkv: list[Any] = [call.get(n) for n in names[:3]]
    if not all(isinstance(t, torch.Tensor) and t.dtype == torch.float32
               and t.device.type == "cpu" and t.dim() == 4 and t.stride(-1) == 1
               and t.shape[-2] > 0 for t in qkv):
        return False
    if len({t.shape[-1] for t in qkv}) != 1 or len({t.shape[0] for t in qkv}) != 1 \
            or len({t.shape[1] for t in qkv}) != 1:
        return False
    return (call.get("attn_mask") is None and not call.get("dropout_p")
            and not call.get("is_causal") and not call.get("enable_gqa")
            and torch.backends.cuda.flash_sdp_enabled())


def _group_norm_parallel(args: tuple, kwargs: dict) -> bool:
    x = args[0] if args else kwargs.get("input")
    return _is_plain(x)


def _interpolate_parallel(args: tuple, kwargs: dict) -> bool:
    mode = args[3] if len(args) > 3 else kwargs.get("mode", "nearest")
    return mode in ("nearest", "nearest-exact") and _is_plain(args[0] if args else
                                                              kwargs.get("input"))


@functools.cache
def _allow_list() -> dict[Any, Callable[[tuple, dict], bool]]:
    """Allow-listed torch functions → predicate on the call's arguments."""
    import torch
    import torch.nn.functional as F

    return {torch.conv2d: _conv2d_parallel, F.group_norm: _group_norm_parallel,
            torch.group_norm: _group_norm_parallel, F.interpolate: _interpolate_parallel,
            F.scaled_dot_product_attention: _sdpa_parallel}


def _thread_policy(threads: int) -> Any:
    """A ``TorchFunctionMode`` that runs allow-listed calls with ``threads`` threads and
    everything else with the one thread set by :func:`fixed_torch_threads`."""
    import torch
    from torch.overrides import TorchFunctionMode

    allow = _allow_list()

    class _ThreadPolicy(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: tuple = (),
                               kwargs: dict | None = None) -> Any:
            kwargs = kwargs or {}
            rule = allow.get(func)
            if rule is None or not rule(args, kwargs):
                return func(*args, **kwargs)
            torch.set_num_threads(threads)
            try:
                return func(*args, **kwargs)
            finally:
                torch.set_num_threads(1)

    return _ThreadPolicy()


@contextlib.contextmanager
def fixed_torch_threads(threads: int | None = None) -> Iterator[None]:
    """Run a model call deterministically: no grad, deterministic algorithms, one intra-op
    thread except for the allow-listed ops (module docstring), which get
    :func:`model_threads` ``(threads)``. The caller's settings are restored afterwards.
    """
    import torch

    n = model_threads(threads)
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(1)
    _set_deterministic(True, warn_only=False)
    try:
        with torch.no_grad():
            if n == 1:
                yield
            else:
                with _thread_policy(n):
                    yield
    finally:
        torch.set_num_threads(old_threads)
        _set_deterministic(old_det, warn_only=old_warn)


def concurrent_calls(fn: Callable[[Any], Any], items: Sequence[Any],
                     threads: int | None = None) -> list[Any]:
    """``[fn(item) for item in items]``, the items spread over :func:`model_threads` ``(threads)``
    worker threads, every torch op of every call on **one** intra-op thread.

    For independent model calls (the windows of :class:`rdptheory.models.tiled.TiledModel`):
    each result is the one-thread result of its call, which the thread policy of
    :func:`fixed_torch_threads` reproduces bit for bit with any thread count, so the results do
    not depend on ``threads``. The caller's thread sets one thread, deterministic algorithms
    and no grad for the whole section (:func:`fixed_torch_threads` ``(1)``) and restores them
    after the workers are done; each worker sets its own intra-op count (per thread under
    OpenMP) and grad mode (thread-local). One worker runs the calls in order in the caller's
    thread.
    """
    import torch

    with fixed_torch_threads(1):
        n = min(model_threads(threads), len(items))
        if n <= 1:
            return [fn(item) for item in items]

        def one(item: Any) -> Any:
            torch.set_num_threads(1)
            with torch.no_grad():
                return fn(item)

        with ThreadPoolExecutor(max_workers=n) as pool:
            return list(pool.map(one, items))


def _set_deterministic(mode: bool, warn_only: bool) -> None:
    """``torch.use_deterministic_algorithms(mode, warn_only=warn_only)`` without its import of
    ``torch._inductor.config`` (which imports ``torch._dynamo``: 1.9 s of CPU, measured
    2026-12-07, torch 2.13) while inductor is not loaded: nothing compiled by inductor exists
    then, and the flag it would set only concerns inductor's generated code."""
    import sys

    import torch

    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None or "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(mode, warn_only=warn_only)
    else:
        setter(mode, warn_only=warn_only)


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
