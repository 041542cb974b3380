"""compress() accounts the file size incrementally: the same bytes as re-coding every step.

The quadratic encoder it replaced re-coded all accepted steps plus the candidate after every
step and stopped at the first step whose file exceeded the budget. The chain does not depend
on the budget (only where it stops), so that encoder's output is the prefix of the unlimited
stream whose first step over the budget is the next one — computed here with ``truncate``,
which re-codes a prefix from scratch.
"""

import pytest

from rdptheory.data import bundled_image
from rdptheory.images.codec import CodecConfig, compress_with_report, truncate
from rdptheory.models import load_model

CONFIG = CodecConfig(backend="numpy", n_levels=10)


def _old_encoder_output(full: bytes, n_steps: int, budget_bits: float) -> bytes:
    k = 1
    while k < n_steps and 8 * len(truncate(full, k + 1)) <= budget_bits:
        k += 1
    return truncate(full, k) if k < n_steps else full


@pytest.mark.parametrize(("bpp", "seed"), [(4.0, 5), (7.0, 11)])
def test_bytes_equal_the_recode_every_step_encoder(bpp, seed):
    image = bundled_image("china").pixels[150:162, 250:264]
    full = compress_with_report(image, noise_var=0.003, seed=seed, config=CONFIG,
                                model=load_model("patch-gmm"))
    got = compress_with_report(image, bpp=bpp, seed=seed, config=CONFIG,
                               model=load_model("patch-gmm"))
    want = _old_encoder_output(full.data, full.n_steps, bpp * image.shape[0] * image.shape[1])
    assert 1 < got.n_steps < full.n_steps
    assert got.data == want
