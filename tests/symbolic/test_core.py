"""The Derivation record, lambdify wrappers and proof helpers (rdptheory.symbolic._core)."""

import doctest

import numpy as np
import pytest
import sympy as sp

import rdptheory.symbolic as symbolic
from rdptheory.symbolic import (
    Derivation,
    DerivationError,
    Step,
    _core,
    awgn,
    perception,
    pf_ode,
    rdp,
    scheme,
)

x = sp.Symbol("x", positive=True)
z = sp.Symbol("z", real=True)


@pytest.mark.parametrize("module", [symbolic, _core, awgn, perception, pf_ode, rdp, scheme])
def test_doctests(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_derivation_validates():
    with pytest.raises(ValueError, match="name"):
        Derivation("", x, (x,))
    with pytest.raises(TypeError, match="expr"):
        Derivation("f", 1.0, (x,))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="missing"):
        Derivation("f", x * z, (x,))


def test_derivation_accessors():
    d = Derivation("f", x**2 + z, (x, z), steps=(Step("half", x / 2),), lhs="f")
    assert d.symbol_names == ("x", "z") and d.symbol("z") is z
    assert d.step("half") == x / 2
    assert d.subs(x=3, z=1) == 10
    assert d.equation == "f = x^{2} + z"
    with pytest.raises(KeyError, match="valid"):
        d.symbol("y")
    with pytest.raises(KeyError, match="half"):
        d.step("double")
    with pytest.raises(ValueError, match="modules"):
        d.lambdify("torch")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        d.name = "g"  # frozen


def test_lambdify_broadcasts_and_returns_floats():
    f = Derivation("f", x**2 + z, (x, z)).lambdify()
    assert f(2.0, 1.0) == 5.0 and isinstance(f(2.0, 1.0), float)
    out = f(np.array([1.0, 2.0]), 1.0)
    assert out.shape == (2,) and np.array_equal(out, [2.0, 5.0])
    g = Derivation("const", sp.Integer(3), (x,)).lambdify()
    assert np.array_equal(g(np.zeros(4)), np.full(4, 3.0))


def test_lambdify_validates_arguments():
    f = Derivation("f", x**2 + z, (x, z)).lambdify()
    with pytest.raises(TypeError, match=r"expected 2 arguments \('x', 'z'\)"):
        f(1.0)
    with pytest.raises(TypeError, match="z"):
        f(1.0, "a")
    with pytest.raises(ValueError, match="x must not contain NaN"):
        f(np.nan, 1.0)
    with pytest.raises(ValueError, match="broadcast"):
        f(np.ones(2), np.ones(3))


def test_lambdify_mpmath_high_precision():
    import mpmath

    f = Derivation("sqrt2", sp.sqrt(x), (x,)).lambdify("mpmath")
    with mpmath.workdps(40):
        assert abs(f(mpmath.mpf(2)) ** 2 - 2) < mpmath.mpf("1e-38")


def test_lambert_w_numerics():
    """Branch point (P = 0) gives -1; huge P (exp underflow) handled in log space."""
    assert float(_core._real_lambertw(-np.exp(-1.0), -1)) == -1.0
    assert float(_core._real_lambertw(-np.exp(-1.0), 0)) == -1.0
    q = np.array([-2.0, -800.0, -5000.0])
    v = -_core._lambertw_negexp(q, -1)
    np.testing.assert_allclose(np.log(v) - v, q, rtol=1e-14)
    w0 = _core._lambertw_negexp(q, 0)
    assert w0[0] == pytest.approx(float(sp.LambertW(-sp.exp(-2)).evalf(20)), rel=1e-15)


def test_prove_helpers():
    assert _core.prove_zero((x + 1) ** 2 - x**2 - 2 * x - 1, "square") == 0
    step = _core.prove_equal(sp.exp(sp.log(x)), x, "exp log")
    assert isinstance(step, Step) and isinstance(step.expr, sp.Eq)
    with pytest.raises(DerivationError, match="could not prove"):
        _core.prove_zero(x - 1, "false claim")


def test_every_public_derivation_is_documented():
    """Each public derivation carries a citation, assumptions and non-empty LaTeX."""
    ds = symbolic.all_derivations()
    assert len(ds) == len({d.name for d in ds}) >= 40
    for d in ds:
        assert d.citation and d.assumptions and d.latex, d.name
    assert sum(not d.derived for d in ds) == 3  # the three perception measures
    assert symbolic.rdp_w2sq_kkt() is symbolic.rdp_w2sq_kkt()  # cached


def test_markdown_catalogue():
    md = symbolic.derivations_markdown()
    for d in symbolic.all_derivations():
        assert f"### {d.name}" in md and d.latex in md
    assert md.count("$$") == 2 * len(symbolic.all_derivations())
    one = symbolic.derivations_markdown([symbolic.pf_ode_map("ve")])
    assert one.count("###") == 1 and "[SSDK21]" in one
    with pytest.raises(TypeError, match="Derivation"):
        symbolic.derivations_markdown(["not a derivation"])


def test_mathtext_renders_every_derivation():
    """LaTeX renders: matplotlib's mathtext parses the one-line form of every result."""
    from matplotlib.mathtext import MathTextParser

    parser = MathTextParser("path")  # layout without rasterising: same parser, faster
    for d in symbolic.all_derivations():
        assert d.mathtext.startswith("$") and len(d.mathtext) > 4, d.name
        width, height, *_ = parser.parse(d.mathtext)
        assert width > 0 and height > 0, d.name
    assert r"\mathrm{otherwise}" in symbolic.rdp_w2sq_scalar().mathtext


def test_lambdify_takes_the_numeric_layers_arguments():
    """Issue 13: same arguments, same meaning, explicit units in both layers."""
    from rdptheory.gaussian import drp, rdp
    from rdptheory.symbolic import drp_scalar, rdp_w2sq_scalar, score_scaled_point_scalar

    d = rdp_w2sq_scalar()
    assert d.arguments == ("D", "P", "variance") and d.unit == "nats"
    f = d.lambdify()
    # was 1.733 (the third argument read as a std) where rdp gives 1.501 bits
    assert f(0.5, 0.01, 4.0) == pytest.approx(rdp(0.5, 0.01, 4.0, unit="nats"), rel=1e-12)
    assert f(D=0.5, P=0.01, variance=4.0) == f(0.5, 0.01, 4.0)
    bits = d.lambdify(unit="bits")(0.5, 0.01, 4.0)
    assert bits == pytest.approx(rdp(0.5, 0.01, 4.0), rel=1e-12)
    g = drp_scalar("w2sq")
    assert g.arguments == ("R", "P", "variance")
    assert g.lambdify(unit="bits")(1.0, 0.1, 2.0) == pytest.approx(drp(1.0, 0.1, 2.0), rel=1e-12)
    assert score_scaled_point_scalar().mse.arguments == ("variance", "noise_var", "rho")
    with pytest.raises(TypeError, match="missing arguments"):
        f(0.5, P=0.01)
    with pytest.raises(TypeError, match="unexpected or repeated"):
        f(0.5, 0.01, s=2.0)
    with pytest.raises(ValueError, match="unit"):
        d.lambdify(unit="bit")  # type: ignore[arg-type]
