"""rdptheory.codec: Gaussian codec with real bitstreams, decodable at any rho.

>>> import numpy as np
>>> from rdptheory.codec import GaussianCodec
>>> codec = GaussianCodec([1.0, 0.5], 0.25, seed=1)
>>> x = np.random.default_rng(0).standard_normal((3, 2))
>>> data = codec.compress(x)
>>> codec.decompress(data, rho=2.0).shape
(3, 2)
"""

from rdptheory.codec._container import record_boundaries
from rdptheory.codec.gaussian import GaussianCodec
from rdptheory.diffusion.chain import noise_var_for_rate as _noise_var_for_rate_nats


def noise_var_for_rate(variances, rate: float, *, unit: str = "bits") -> float:
    """The isotropic t^2 whose ideal rate I(X; Y) = sum 1/2 log(1 + lambda_i/t^2) is ``rate``.

    Parameters
    ----------
    variances : array_like, shape (d,), > 0 -- eigenvalues lambda_i.
    rate : float > 0 -- per sample, in ``unit``.

    >>> round(noise_var_for_rate([1.0], 1.0), 12)
    0.333333333333
    """
    from rdptheory._units import check_unit, to_nats
    from rdptheory._validation import check_positive, check_variances

    lam = check_variances(variances)
    r = float(to_nats(check_positive(rate, "rate"), check_unit(unit)))
    return _noise_var_for_rate_nats(lam, r)


__all__ = [
    "noise_var_for_rate",
    "GaussianCodec",
    "record_boundaries",
]
