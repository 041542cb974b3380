"""Shared fixtures for the image tests: small random patch mixtures."""

import numpy as np
import pytest

from rdptheory.images.prior import PatchGMM


def _random_gmm(patch=2, channels=3, k=3, seed=0) -> PatchGMM:
    rng = np.random.default_rng(seed)
    d = channels * patch * patch
    a = rng.normal(size=(k, d, d)) / np.sqrt(d)
    covs = a @ a.transpose(0, 2, 1) + 0.05 * np.eye(d)
    w = rng.random(k) + 0.2
    return PatchGMM.from_covariances(w / w.sum(), 0.3 * rng.normal(size=(k, d)), covs,
                                     patch=patch, channels=channels)


@pytest.fixture(scope="session")
def random_gmm():
    """Factory ``random_gmm(patch=2, channels=3, k=3, seed=0) -> PatchGMM``."""
    return _random_gmm
