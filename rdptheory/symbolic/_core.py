"""The :class:`Derivation` record, the canonical symbols, and the checks every derivation uses.

A derivation function builds its result with sympy (``solve``, ``dsolve``, ``integrate``), then
*proves* each claimed identity by reducing a difference to exactly zero (:func:`prove_zero`);
a failed proof raises :class:`DerivationError` instead of returning a wrong formula.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import sympy as sp

from rdptheory._units import Unit, check_unit
from rdptheory._validation import as_float_array

Modules = Literal["numpy", "mpmath"]
MODULES: tuple[str, ...] = ("numpy", "mpmath")

# Canonical symbols (THEORY.md §0): every derivation uses these, so results compose by ``subs``.
s = sp.Symbol("s", positive=True)  # source std, variance = s**2
s_hat = sp.Symbol("shat", positive=True)  # reconstruction std
s_lo = sp.Symbol("s_lo", positive=True)  # perception floor on s_hat
c = sp.Symbol("c", real=True)  # correlation of (X, X_hat)
D = sp.Symbol("D", positive=True)  # distortion (MSE)
P = sp.Symbol("P", positive=True)  # perception budget
R = sp.Symbol("R", positive=True)  # rate, nats
mu = sp.Symbol("mu", nonnegative=True)  # multiplier of the distortion constraint
nu = sp.Symbol("nu", nonnegative=True)  # multiplier of the perception constraint
lam = sp.Symbol("lambda", positive=True)  # source variance in the AWGN / diffusion results
t = sp.Symbol("t", positive=True)  # AWGN std, noise_var = t**2
rho = sp.Symbol("rho", positive=True)  # score scale of the PF-ODE
y = sp.Symbol("y", real=True)  # received noisy observation Y = X + tN
sigma = sp.Symbol("sigma", nonnegative=True)  # VE noise level
alpha_bar = sp.Symbol("alphabar", positive=True)  # VP signal level
tau = sp.Symbol("tau", nonnegative=True)  # diffusion time

# The numeric layer's arguments (THEORY.md §0): lambdified functions take *variances*, as
# rdptheory.gaussian does, not the standard deviations s and t the derivations are written in.
variance = sp.Symbol("variance", positive=True)  # source variance s² (= lambda)
noise_var = sp.Symbol("noise_var", positive=True)  # AWGN variance t²
_NUMERIC_ARGUMENT: dict[sp.Symbol, tuple[sp.Symbol, sp.Expr]] = {
    s: (variance, sp.sqrt(variance)),
    lam: (variance, variance),
    t: (noise_var, sp.sqrt(noise_var)),
}


class DerivationError(ArithmeticError):
    """A symbolic identity that a derivation relies on did not reduce to zero."""


@dataclass(frozen=True)
class Step:
    """One intermediate result of a derivation: a label and the sympy object it names."""

    label: str
    expr: Any


@dataclass(frozen=True)
class Derivation:
    """A derived closed form with its provenance.

    Parameters
    ----------
    name : str
        Short identifier, e.g. ``"rdp_w2sq_scalar"``.
    expr : sympy.Expr
        The result (rates in nats).
    symbols : tuple of sympy.Symbol
        Argument order of :meth:`lambdify`; must contain every free symbol of ``expr``.
    assumptions : tuple of str
        Domain of validity, in words.
    citation : str
        Tag from THEORY.md (e.g. ``"[ZQCK21] Thm 2"``).
    derived : bool
        True when the result is our derivation (THEORY.md), not stated in the cited paper.
    lhs : str
        LaTeX of the left-hand side, used by :attr:`equation`.
    steps : tuple of Step
        Intermediate results (multipliers, regime boundaries, proved identities).
    unit : {"nats", ""}
        ``"nats"`` when ``expr`` is an information quantity (a rate); ``""`` otherwise. An
        argument ``R`` is always a rate in nats. :meth:`lambdify` converts both with ``unit``.

    Examples
    --------
    >>> x = sp.Symbol("x", positive=True)
    >>> d = Derivation("square", x**2, (x,), lhs="f(x)")
    >>> d.equation
    'f(x) = x^{2}'
    >>> d.lambdify()(3.0)
    9.0
    >>> d.lambdify()(x=3.0)  # arguments also by name (see :attr:`arguments`)
    9.0
    """

    name: str
    expr: sp.Expr
    symbols: tuple[sp.Symbol, ...]
    assumptions: tuple[str, ...] = ()
    citation: str = ""
    derived: bool = True
    lhs: str = ""
    steps: tuple[Step, ...] = ()
    unit: str = ""
    latex: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("name must be a non-empty str")
        if not isinstance(self.expr, sp.Basic):
            raise TypeError(f"expr must be a sympy expression, got {type(self.expr).__name__}")
        if self.unit not in ("", "nats"):
            raise ValueError(f"unit must be 'nats' (a rate) or '' (not a rate), got {self.unit!r}")
        missing = self.expr.free_symbols - set(self.symbols)
        if missing:
            raise ValueError(f"symbols must include every free symbol of expr; missing {missing}")
        object.__setattr__(self, "latex", sp.latex(self.expr))

    @property
    def equation(self) -> str:
        """LaTeX ``lhs = expr`` (just the right-hand side when ``lhs`` is empty)."""
        return f"{self.lhs} = {self.latex}" if self.lhs else self.latex

    @property
    def mathtext(self) -> str:
        """One-line ``$...$`` string that matplotlib's mathtext renders (no ``cases``).

        A Piecewise result is written as ``e1 (if c1); e2 (if c2); ...; eN (otherwise)``.
        """
        if not isinstance(self.expr, sp.Piecewise):
            return f"${_to_mathtext(self.latex)}$"
        parts = []
        for value, cond in self.expr.args:
            where = (
                r"\mathrm{otherwise}" if cond is sp.true else rf"\mathrm{{if}}\ {sp.latex(cond)}"
            )
            parts.append(rf"{sp.latex(value)}\ ({where})")
        return "$" + _to_mathtext(r";\quad ".join(parts)) + "$"

    def symbol(self, name: str) -> sp.Symbol:
        """The argument symbol called ``name`` (raises ``KeyError`` naming the valid ones)."""
        for sym in self.symbols:
            if sym.name == name:
                return sym
        raise KeyError(f"{name!r} is not a symbol of {self.name}; valid: {self.symbol_names}")

    @property
    def symbol_names(self) -> tuple[str, ...]:
        """Names of :attr:`symbols`, in argument order."""
        return tuple(sym.name for sym in self.symbols)

    def step(self, label: str) -> Any:
        """The intermediate result labelled ``label``."""
        for st in self.steps:
            if st.label == label:
                return st.expr
        raise KeyError(f"no step {label!r} in {self.name}; valid: {[x.label for x in self.steps]}")

    def subs(self, **values: Any) -> sp.Expr:
        """``expr`` with the named symbols replaced (exact sympy evaluation)."""
        return self.expr.subs({self.symbol(k): sp.sympify(v) for k, v in values.items()})

    @property
    def arguments(self) -> tuple[str, ...]:
        """Argument names of :meth:`lambdify`'s function, in order (the numeric layer's names).

        The source std ``s`` and the noise std ``t`` are taken as ``variance`` = s² and
        ``noise_var`` = t², and ``lambda`` (already a variance) is called ``variance``, as in
        :mod:`rdptheory.gaussian` (THEORY.md §0); every other symbol keeps its name.
        """
        return tuple(_NUMERIC_ARGUMENT.get(sym, (sym, sym))[0].name for sym in self.symbols)

    def lambdify(self, modules: Modules = "numpy", *, unit: Unit = "nats") -> Callable[..., Any]:
        """A numeric function of :attr:`arguments`, positional in that order or by name.

        Arguments follow :mod:`rdptheory.gaussian` (THEORY.md §0): a **variance**
        (``variance`` = s², ``noise_var`` = t²) wherever the derivation is written in a
        standard deviation, so ``rdp_w2sq_scalar().lambdify()(D, P, variance)`` takes the
        arguments of ``rdptheory.gaussian.rdp(D, P, variance)``. Rates (a result with
        :attr:`unit` ``"nats"``, an argument ``R``) are in ``unit``: **nats by default**, the
        unit the derivations are written in; ``unit="bits"`` gives the numeric layer's default.

        ``"numpy"`` broadcasts its arguments and returns a float (scalar inputs) or a float64
        array (Lambert W through ``scipy.special.lambertw``, real part, in log space for
        arguments -exp(q) that would underflow); it raises ``TypeError`` for a wrong argument
        count or non-numeric input and ``ValueError`` for NaN. The formula is evaluated as
        derived: inputs outside :attr:`assumptions` give meaningless numbers, not errors.
        ``"mpmath"`` evaluates scalars at the current ``mpmath.mp.dps`` (high precision).
        """
        if modules not in MODULES:
            raise ValueError(f"modules must be one of {MODULES}, got {modules!r}")
        expr, symbols = _numeric_form(self.expr, self.symbols, self.unit, check_unit(unit))
        return _lambdify(expr, symbols, modules)


def _numeric_form(
    expr: sp.Expr, symbols: tuple[sp.Symbol, ...], value_unit: str, unit: Unit
) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """``expr`` in the numeric layer's arguments (variances) and rate unit (see ``lambdify``).

    Substituted without re-evaluation (as :func:`rdptheory.symbolic.rdp._substitute_floor`):
    sympy would otherwise re-check kl_forward's Lambert-W regime conditions and fail.
    """
    replace = {sym: _NUMERIC_ARGUMENT[sym][1] for sym in symbols if sym in _NUMERIC_ARGUMENT}
    if unit == "bits" and R in symbols:
        replace[R] = R * sp.log(2)
    with sp.evaluate(False):
        out = expr.xreplace(replace) if replace else expr
        if unit == "bits" and value_unit == "nats":
            out = out / sp.log(2)
    return out, tuple(_NUMERIC_ARGUMENT.get(sym, (sym, sym))[0] for sym in symbols)


def _to_mathtext(latex: str) -> str:
    """Drop the LaTeX that matplotlib's mathtext lacks (``\\limits`` on integrals)."""
    return latex.replace(r"\limits", "")


def _real_lambertw(x: Any, k: Any = 0) -> np.ndarray:
    """Real branch k of Lambert W; -1 at (and, after rounding, below) the branch point -1/e.

    scipy returns NaN at the float nearest -1/e, which is exactly where a P = 0 floor lands.
    """
    from scipy.special import lambertw

    x = np.asarray(x, dtype=np.float64)
    at_branch = x <= -np.exp(-1.0)
    w = np.real(lambertw(np.where(at_branch, 0.0 if int(k) == 0 else -0.1, x), int(k)))
    return np.where(at_branch, -1.0, w)


def _lambertw_negexp(q: Any, k: Any = 0) -> np.ndarray:
    """Real W_k(-exp(q)) for q <= -1, without underflow of exp(q) (q -> -inf: P large).

    Below q = -700, W_0(-e^q) = -e^q to double precision, and v = -W_{-1}(-e^q) solves
    log v - v = q; Newton from the asymptote v = -q + log(-q) converges in a few steps.
    """
    q = np.asarray(q, dtype=np.float64)
    far = q < -700.0
    w = _real_lambertw(-np.exp(np.where(far, -1.0, q)), k)
    if int(k) == 0:
        return np.where(far, -np.exp(q), w)
    qf = np.where(far, q, -800.0)
    v = -qf + np.log(-qf)
    for _ in range(6):
        v = v - (np.log(v) - v - qf) / (1.0 / v - 1.0)
    return np.where(far, -v, w)


_NEGEXP = sp.Function("lambertw_negexp")


def _stable_lambertw(expr: sp.Expr) -> sp.Expr:
    """LambertW(-exp(q), k) -> lambertw_negexp(q, k), evaluated in log space numerically."""

    def negexp(w: sp.LambertW) -> sp.Expr:
        arg = w.args[0]
        if arg.could_extract_minus_sign() and isinstance(-arg, sp.exp):
            return _NEGEXP((-arg).args[0], *(w.args[1:] or (0,)))
        return w

    return expr.replace(lambda e: isinstance(e, sp.LambertW), negexp)


@functools.cache
def _lambdify(expr: sp.Expr, symbols: tuple[sp.Symbol, ...], modules: str) -> Callable[..., Any]:
    if modules == "mpmath":
        return sp.lambdify(symbols, expr, "mpmath")
    numeric = {"LambertW": _real_lambertw, "lambertw_negexp": _lambertw_negexp}
    with sp.evaluate(False):  # keep kl_forward's regime conditions (see rdp._substitute_floor)
        stable = _stable_lambertw(expr)
    raw = sp.lambdify(symbols, stable, [numeric, "numpy"])

    names = tuple(sym.name for sym in symbols)

    def evaluate(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            args = _by_name(names, args, kwargs)
        if len(args) != len(names):
            raise TypeError(f"expected {len(names)} arguments {names}, got {len(args)}")
        try:
            arrays = np.broadcast_arrays(*(as_float_array(a, n) for a, n in zip(args, names)))
        except ValueError as exc:
            if "broadcast" not in str(exc):
                raise
            raise ValueError(f"arguments {names} must broadcast together: {exc}") from exc
        with np.errstate(all="ignore"):  # Piecewise evaluates every branch, then selects
            out = np.asarray(raw(*arrays), dtype=np.float64)
        out = np.broadcast_to(out, arrays[0].shape) if arrays else out
        return float(out) if out.ndim == 0 else np.array(out)

    return evaluate


def _by_name(names: tuple[str, ...], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple:
    """Positional + keyword arguments in the order of ``names``; ``TypeError`` naming them."""
    unknown = set(kwargs) - set(names[len(args):])
    if unknown:
        raise TypeError(f"unexpected or repeated arguments {sorted(unknown)}; arguments: {names}")
    missing = [n for n in names[len(args):] if n not in kwargs]
    if missing:
        raise TypeError(f"missing arguments {missing}; arguments: {names}")
    return (*args, *(kwargs[n] for n in names[len(args):]))


def _deprecated(record: object, old: str, new: str) -> Any:
    """``getattr(record, new)`` with a ``DeprecationWarning`` naming ``old`` (CHANGELOG.md)."""
    import warnings

    warnings.warn(
        f"{type(record).__name__}.{old} is deprecated; use .{new} (see CHANGELOG.md)",
        DeprecationWarning,
        stacklevel=3,
    )
    return getattr(record, new)


def prove_zero(expr: sp.Expr, what: str) -> sp.Expr:
    """Reduce ``expr`` to exactly 0 (cancel, then simplify) or raise :class:`DerivationError`.

    Returns the reduced expression (``0``) so callers can record it as a :class:`Step`.
    """
    reduced = sp.cancel(sp.together(expr))
    if reduced != 0:
        reduced = sp.simplify(reduced)
    if reduced != 0:
        raise DerivationError(f"could not prove {what}: residual {reduced}")
    return sp.Integer(0)


def prove_equal(lhs: sp.Expr, rhs: sp.Expr, what: str) -> Step:
    """Prove ``lhs == rhs`` symbolically; return the proof as a :class:`Step` ``Eq(lhs, rhs)``."""
    prove_zero(lhs - rhs, what)
    return Step(what, sp.Eq(lhs, rhs, evaluate=False))
