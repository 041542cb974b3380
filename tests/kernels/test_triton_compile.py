"""The Triton kernels compile for a real GPU target (sm_90) without a GPU (slow: ~10 s CPU).

Tests run Triton's interpreter, which never sees the compiler; this compiles the kernels down to
a cubin in a subprocess (TRITON_INTERPRET unset), catching what only the compiler rejects.
"""

import os
import subprocess
import sys

import pytest

pytest.importorskip("triton")

SCRIPT = """
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource
from rdptheory.kernels import _triton_kernels as TK
target = GPUTarget("cuda", 90, 32)
sig = {"a_ptr": "*fp64", "b_ptr": "*fp64", "pstarts_ptr": "*i64", "const_ptr": "*fp64",
       "log2n_ptr": "*i64", "idx_ptr": "*i64", "lw_ptr": "*fp64", "seed": "i64",
       "encoder_seed": "i64", "chunk_offset": "i64", "stream": "i32", "ORC": "constexpr",
       "BLOCK_N": "constexpr", "BLOCK_Q": "constexpr"}
for orc in (False, True):
    k = triton.compile(ASTSource(fn=TK.rcc_select_kernel, signature=sig,
                       constexprs={"ORC": orc, "BLOCK_N": 128, "BLOCK_Q": 16}), target=target)
    assert "cubin" in k.asm
sig = {"out_ptr": "*fp32", "n_ptr": "*i64", "n_count": "i64", "n_words": "i64", "seed": "i64",
       "chunk": "i64", "stream": "i32", "BLOCK_N": "constexpr", "BLOCK_Q": "constexpr"}
k = triton.compile(ASTSource(fn=TK.normals_kernel, signature=sig,
                   constexprs={"BLOCK_N": 128, "BLOCK_Q": 16}), target=target)
assert "cubin" in k.asm
print("compiled")
"""


@pytest.mark.slow
def test_triton_kernels_compile_for_sm90(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env.update(TRITON_CACHE_DIR=str(tmp_path), TRITON_DEFAULT_FP_FUSION="1")
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True)
    if "ptxas" in out.stderr and out.returncode != 0 and "not found" in out.stderr:
        pytest.skip("no ptxas on this machine")
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("compiled")
