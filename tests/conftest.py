"""Test-wide settings. Environment first: Triton reads TRITON_INTERPRET at first import
(diffusers imports triton), and threaded BLAS/torch on a busy 2-core box is ~50x slower."""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "default",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

try:  # keep torch single-threaded when it is installed
    import torch

    torch.set_num_threads(1)
except ImportError:  # the core suite runs without torch
    pass


def pytest_collection_modifyitems(config, items):
    """Skip ``slow`` tests unless ``-m slow`` (or RDPTHEORY_SLOW=1) asks for them."""
    if "slow" in (config.getoption("-m") or "") or os.environ.get("RDPTHEORY_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def _random_gmm(patch=2, channels=3, k=3, seed=0):
    """A small random full-covariance patch mixture (a PatchGMM), from ``seed``."""
    from rdptheory.models.prior import PatchGMM
    from rdptheory.testing import random_mixture

    w, mu, covs = random_mixture(channels * patch * patch, k, seed)
    return PatchGMM.from_covariances(w, 0.3 * mu, covs, patch=patch, channels=channels)


@pytest.fixture(scope="session")
def random_gmm():
    """Factory ``random_gmm(patch=2, channels=3, k=3, seed=0) -> PatchGMM`` (image/model tests)."""
    return _random_gmm


@pytest.fixture(scope="session")
def check_score_numpy_torch():
    """``check(model, y, noise_var, tol)``: ``model.score`` is ``(denoise − y)/t²`` on numpy
    (to 1e-12), and a float32 torch call returns a float32 tensor matching it to ``tol``."""
    import numpy as np

    def check(model, y, noise_var, tol):
        import torch

        s = model.score(y, noise_var)
        np.testing.assert_allclose(s, (model.denoise(y, noise_var) - y) / noise_var, rtol=1e-12)
        st = model.score(torch.from_numpy(y).float(), torch.tensor(noise_var))
        assert isinstance(st, torch.Tensor) and st.dtype == torch.float32
        np.testing.assert_allclose(st.numpy(), s, rtol=tol, atol=tol)

    return check
