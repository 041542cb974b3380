"""Hostile and careless inputs to every public function of rdptheory.gaussian (issue 9).

Each call with extreme floats (subnormals, 1e308, inf, NaN, negative zero, negative numbers)
or wrong types must either return values without NaN (inf only where a record documents it)
or raise ``ValueError``/``TypeError`` with a one-line message -- never another exception and
never a warning (warnings are turned into errors here).  ``kl_forward`` is left to the
solver's own tests (its value comes from a numerical solve, issue 13 item 2).
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rdptheory.gaussian as g

EXTREMES = (
    0.0, -0.0, 5e-324, 2.2250738585072014e-308, 1e-300, 1e-100, 1e-50, 1e-12, 0.5, 1.0, 2.0,
    1e12, 1e50, 1e100, 1e300,
    1e308, 1.7976931348623157e308, math.inf, -math.inf, math.nan, -1.0, -5e-324,
)  # fmt: skip

extreme = st.one_of(st.sampled_from(EXTREMES), st.floats(allow_nan=True, allow_infinity=True))
wrong_type = st.sampled_from(["0.5", True, np.bool_(False), 1 + 0j, None, b"1", [1.0, "a"]])
value = st.one_of(extreme, extreme.map(np.float64), st.lists(extreme, min_size=1, max_size=3))
spectrum = st.lists(extreme, min_size=1, max_size=4)
matrix = st.lists(extreme, min_size=4, max_size=4).map(lambda v: np.reshape(v, (2, 2)))

#: How each parameter of a public function is drawn (by name).
PARAMETERS: dict[str, st.SearchStrategy[Any]] = {
    "variances": spectrum,
    "cov": matrix,
    "perception": st.sampled_from(["w2sq", "kl_reverse"]),
    "unit": st.sampled_from(["bits", "nats"]),
}

#: Fields that a record documents as possibly NaN (see its docstring).
DOCUMENTED_NAN = {"ShapedNoisePoint": {"rho"}}

FUNCTIONS = sorted(
    name for name in g.__all__ if inspect.isfunction(getattr(g, name))
)  # fmt: skip


def _arguments(func: Callable[..., Any]) -> st.SearchStrategy[dict[str, Any]]:
    params = {}
    for name, par in inspect.signature(func).parameters.items():
        if par.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        if name in PARAMETERS:
            params[name] = PARAMETERS[name]
        elif par.default is inspect.Parameter.empty:
            params[name] = st.one_of(value, wrong_type)
    return st.fixed_dictionaries(params)


def _check_output(out: Any, where: str) -> None:
    fields = out._asdict() if hasattr(out, "_asdict") else {"value": out}
    allowed_nan = DOCUMENTED_NAN.get(type(out).__name__, set())
    for field, v in fields.items():
        if isinstance(v, str) or field in allowed_nan:
            continue
        a = np.asarray(v)
        if a.dtype.kind in "fc":
            assert not np.isnan(a).any(), f"{where}: NaN in {field}"
        if field.startswith("rate") and a.dtype.kind == "f":
            assert np.isfinite(a).all(), f"{where}: non-finite {field} = {a}"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_extreme_inputs_give_values_or_clean_errors(name: str) -> None:
    func = getattr(g, name)

    @settings(
        max_examples=100, deadline=None, derandomize=True, database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )  # fmt: skip
    @given(_arguments(func))
    def run(kwargs: dict[str, Any]) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                out = func(**kwargs)
            except (ValueError, TypeError) as exc:
                message = str(exc)
                assert message and "\n" not in message, f"{name}: bad message {message!r}"
                assert "np.float64(" not in message and "array(" not in message, message
                return
        _check_output(out, f"{name}({kwargs})")

    run()


@pytest.mark.parametrize(
    "call",
    [
        lambda: g.rdp("0.5", 0.1, 1.0),
        lambda: g.rdp(True, 0.1, 1.0),
        lambda: g.rdp(0.5, np.array([True, False]), 1.0),
        lambda: g.rdp(0.5, 0.1, 1 + 0j),
        lambda: g.rdp(0.5, None, 1.0),
        lambda: g.rdp_vector(0.5, 0.1, np.array([1.0, "2"], dtype=object)),
        lambda: g.dp_awgn(0.1, [1.0], "1"),
    ],
)
def test_strict_types(call: Callable[[], Any]) -> None:
    with pytest.raises(TypeError, match="must be a real number"):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: g.drp_vector(1e308, 0.1, [1.0, 0.5]),
        lambda: g.drp_vector(1e4, 0.1, [1.0, 0.5]),  # > 100 nats per component
        lambda: g.rdp_vector(5e-324, 0.1, [1.0]),
        lambda: g.shaped_noise_point(5e-324, 0.1, [1.0]),
        lambda: g.per_direction_rho(0.1, [1.0, 2.0], 5e-324),
        lambda: g.score_scaled_point([1.0], 1e308, 1.5),
    ],
)
def test_issue_9_rows_raise_value_error(call: Callable[[], Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="outside the supported range|per component"):
            call()


def test_scalar_extremes_give_the_finite_limit() -> None:
    # ½ log(s²/D) with s²/D beyond float64: 726.818... nats, not inf
    expected = 0.5 * (np.log(1e308) - np.log(5e-324))
    assert g.rdp(5e-324, 0.1, 1e308, unit="nats") == pytest.approx(expected, rel=1e-15)
    assert g.rate_distortion(5e-324, 1e308, unit="nats") == pytest.approx(expected, rel=1e-15)
    # P = 0, D/s² underflows to 0: R(D, 0) = -½ log(d(1 - d/4)) = -½ log d to float64
    assert g.rdp(5e-324, 0.0, 1.0, unit="nats") == pytest.approx(-0.5 * np.log(5e-324), rel=1e-15)
    assert g.drp(1e308, 0.1, 1.0) == 0.0  # R -> inf: D -> 0
