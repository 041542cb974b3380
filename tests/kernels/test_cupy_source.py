"""The CUDA RawKernel source of the cupy backend, checked without a GPU.

No CUDA device here, so the source is compiled for the host with g++ (C++20): every CUDA
thread is a std::thread, __syncthreads a std::barrier, __shared__ a static. The block scan,
the argmin reduction, Philox and the transforms then run for real and must select the
reference's indices. Skipped without g++; the cupy backend itself is skipped without CUDA.
"""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from rdptheory.kernels import _cupy, available_backends, pfr_select
from rdptheory.kernels._numba import padded_coefficients
from rdptheory.kernels._philox import seed_key
from rdptheory.kernels.select import _select_problem

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    if shutil.which("g++") is None:
        pytest.skip("g++ not available")
    tmp = tmp_path_factory.mktemp("cuda_host")
    body = _cupy.CUDA_SOURCE.replace('extern "C" ', "").replace("INFINITY", "HUGE_VAL")
    (tmp / "rcc_body.cu").write_text(body)
    exe = tmp / "harness"
    cmd = ["g++", "-std=c++20", "-O1", "-ffp-contract=off", "-pthread", f"-I{tmp}",
           "-o", str(exe), str(HERE / "cuda_host_harness.cpp")]  # fmt: skip
    if subprocess.run(cmd, capture_output=True).returncode != 0:
        pytest.skip("g++ cannot build the C++20 host harness")
    return exe


@pytest.mark.parametrize("algorithm", ["pfr", "orc"])
def test_cuda_source_selects_reference_indices(harness, algorithm):
    rng = np.random.default_rng(4)
    d = 120
    mu_p, sigma_p = rng.normal(size=d), rng.uniform(0.5, 1.5, d)
    mu_q = mu_p + 0.3 * sigma_p * rng.normal(size=d)
    sigma_q = sigma_p * rng.uniform(0.8, 1.0, d)
    starts, bits = [0, 3, 50, 64, 120], [0, 5, 10, 9]
    kw = dict(seed=2**64 - 5, encoder_seed=12345678901, stream=7, chunk_offset=2**31 + 5)
    ref = pfr_select(mu_q, sigma_q, mu_p, sigma_p, starts, bits, algorithm=algorithm,
                     backend="numpy", **kw)  # fmt: skip
    problem = _select_problem(mu_q, sigma_q, mu_p, sigma_p, starts, bits, kw["seed"],
                              kw["encoder_seed"], 7, kw["chunk_offset"], algorithm)  # fmt: skip
    a, b, pstarts = padded_coefficients(problem)
    const = problem.chunk_constants(problem.quadratic_coefficients()[2])
    scalars = (*seed_key(kw["seed"]), *seed_key(kw["encoder_seed"]), kw["chunk_offset"], 7,
               7 | 2**31, int(algorithm == "orc"))  # fmt: skip
    lines = [f"{len(bits)} {a.size}", *(" ".join(map(repr, x.tolist())) for x in (a, b)),
             " ".join(map(str, pstarts)), " ".join(map(repr, const.tolist())),
             " ".join(map(str, bits)),
             " ".join(map(str, scalars))]  # fmt: skip
    out = subprocess.run([str(harness)], input="\n".join(lines), capture_output=True, text=True,
                         check=True).stdout.split()  # fmt: skip
    np.testing.assert_array_equal(np.array(out[0::2], np.int64), ref.indices)
    np.testing.assert_allclose(np.array(out[1::2], float), ref.log_weights, rtol=1e-12, atol=1e-12)


def test_cupy_backend_registered_and_skips_cleanly_without_cuda():
    from rdptheory.kernels._api import SELECT

    assert "cupy" in SELECT.names()
    assert ("cupy" in available_backends()) == _cupy._available()
