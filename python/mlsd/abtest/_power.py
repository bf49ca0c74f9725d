"""Power, sample size and minimum detectable effect for two-sample z and t tests."""

from __future__ import annotations

from numbers import Real

import numpy as np
from scipy import optimize, special

from .._params import ArrayLike, Interval, Options, param_error, validate_params
from .._results import Result, axes, result_type
from .._validation import InvalidParameterError
from ._tests import ALPHA, ALTERNATIVES

__all__ = ["power", "power_curve", "PowerCurve", "solve_power", "sample_size_proportions", "sample_size_means",
           "mde_proportions", "mde_means"]

FINITE = Interval(Real, -np.inf, np.inf, closed="neither")
POSITIVE = Interval(Real, 0.0, np.inf, closed="neither")
NOBS = Interval(Real, 1.0, np.inf, closed="neither")
PROBABILITY = Interval(Real, 0.0, 1.0, closed="neither")
COMMON = dict(alpha=[ALPHA], ratio=[POSITIVE], alternative=[Options(ALTERNATIVES)])
TEST = [Options(("z", "t"))]


def _power(d: float, nobs1: float, alpha: float, ratio: float, alternative: str, test: str) -> float:
    """Power of the two-sample test with standardised effect d (d > 0: first arm larger)."""
    nobs = 1.0 / (1.0 / nobs1 + 1.0 / (nobs1 * ratio))  # effective sample size n1 n2 / (n1 + n2)
    shift = d * np.sqrt(nobs)
    a = alpha / 2.0 if alternative == "two-sided" else alpha
    out = 0.0
    if test == "z":
        crit = special.ndtri(1.0 - a)
        if alternative in ("two-sided", "greater"):
            out += special.ndtr(shift - crit)
        if alternative in ("two-sided", "less"):
            out += special.ndtr(-crit - shift)
        return float(out)
    df = nobs1 + nobs1 * ratio - 2.0
    crit = special.stdtrit(df, 1.0 - a)
    # Non-central t: P(T > c) = 1 - nctdtr(df, nc, c) and P(T < -c) = nctdtr(df, nc, -c), as in
    # statsmodels.  scipy's nctdtr returns NaN deep in the tail opposite to nc (e.g. df=1900,
    # nc=6.4, x=-2.9); there the mirrored form (T(nc) < -c  <=>  T(-nc) > c) is used, accurate to
    # ~1e-16 absolute, where statsmodels returns NaN.
    if alternative in ("two-sided", "greater"):
        upper = 1.0 - special.nctdtr(df, shift, crit)
        out += upper if np.isfinite(upper) else special.nctdtr(df, -shift, -crit)
    if alternative in ("two-sided", "less"):
        lower = special.nctdtr(df, shift, -crit)
        out += lower if np.isfinite(lower) else 1.0 - special.nctdtr(df, -shift, crit)
    return float(out)


def _n_min(test: str, ratio: float) -> float:
    """The smallest first-arm size of a test (the t test needs n1 + n2 > 2)."""
    return 1.0 if test == "z" else 1.0 + 1.0 / (1.0 + ratio)


def _check_nobs1(nobs1, func: str, test: str, ratio: float):
    """nobs1 (already declared > 1) against the t test's larger minimum; one message style."""
    n_min = _n_min(test, ratio)
    if not np.all(np.asarray(nobs1) > n_min):
        raise param_error(func, "nobs1", f"a float in the range ({n_min!r}, inf) for test={test!r}", nobs1)
    return nobs1


@validate_params(effect_size=[FINITE], nobs1=[NOBS], test=TEST, **COMMON)
def power(effect_size: float, nobs1: float, *, alpha: float = 0.05, ratio: float = 1.0,
          alternative: str = "two-sided", test: str = "z") -> float:
    """Power of a two-sample z test (``test="z"``) or Student t test (``test="t"``).

    Same as statsmodels ``NormalIndPower().power`` / ``TTestIndPower().power`` (with
    ``alternative`` spelled as in SciPy: "greater" for statsmodels' "larger").

    Parameters
    ----------
    effect_size : float
        Standardised difference (mean_1 - mean_2) / sd, or Cohen's h for proportions.
    nobs1 : float
        Size of the first arm; the second has ``nobs1 * ratio``.
    alpha : float in (0, 1)
    ratio : float > 0
    alternative : {"two-sided", "greater", "less"}
    test : {"z", "t"}

    Examples
    --------
    >>> from mlsd.abtest import power
    >>> round(power(0.2, 394), 4)
    0.8016
    """
    n1 = _check_nobs1(nobs1, "power", test, ratio)
    return _power(effect_size, n1, alpha, ratio, alternative, test)


@result_type
class PowerCurve(Result):
    """Power against the first arm's sample size (:func:`power_curve`); ``plot()`` draws it."""

    nobs1: np.ndarray
    power: np.ndarray
    effect_size: float
    alpha: float
    ratio: float
    alternative: str
    test: str

    def plot(self, ax=None):
        """Power against ``nobs1``, with the conventional 80% marked.  Returns the Axes."""
        ax = axes(ax)
        ax.plot(self.nobs1, self.power, marker="o" if len(self.nobs1) <= 30 else None,
                label=f"effect size {self.effect_size:g} ({self.test} test)")
        ax.axhline(0.8, color="gray", linestyle=":", linewidth=0.8)
        ax.set_ylim(0.0, 1.0)
        ax.set_xlabel("nobs1 (first arm)")
        ax.set_ylabel("power")
        ax.legend()
        return ax


_NOBS_ARRAY = ArrayLike(ndim=1, allow_empty=False)


@validate_params(effect_size=[FINITE], nobs1=[_NOBS_ARRAY], test=TEST, **COMMON)
def power_curve(effect_size: float, nobs1, *, alpha: float = 0.05, ratio: float = 1.0,
                alternative: str = "two-sided", test: str = "z") -> PowerCurve:
    """:func:`power` at each first-arm size of ``nobs1`` (a 1-D array), as a :class:`PowerCurve`
    whose ``plot()`` shows power against sample size.

    Examples
    --------
    >>> from mlsd.abtest import power_curve
    >>> c = power_curve(0.2, [100, 200, 394])
    >>> c.power.round(4).tolist()
    [0.293, 0.516, 0.8016]
    """
    n = np.asarray(nobs1, dtype=np.float64)
    if not np.all(np.isfinite(n)) or not np.all(n > _n_min(test, ratio)):
        raise param_error("power_curve", "nobs1", f"an array of finite sizes > {_n_min(test, ratio)!r} "
                          f"for test={test!r}", nobs1)
    values = np.array([_power(effect_size, float(x), alpha, ratio, alternative, test) for x in n])
    return PowerCurve(n, values, effect_size, alpha, ratio, alternative, test)


def _root(f, lo, hi, what: str, func: str) -> float:
    flo, fhi = f(lo), f(hi)
    while fhi < 0 and hi < 1e15:
        lo, flo, hi = hi, fhi, hi * 4.0
        fhi = f(hi)
    if not (flo <= 0 <= fhi):
        raise ValueError(f"{func}: no {what} in [{lo:g}, {hi:g}] reaches the requested power")
    return float(optimize.brentq(f, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500))


@validate_params(effect_size=[None, FINITE], nobs1=[None, NOBS], power=[None, PROBABILITY], test=TEST,
                 **{**COMMON, "alpha": [None, ALPHA], "ratio": [None, POSITIVE]})
def solve_power(*, effect_size: float | None = None, nobs1: float | None = None, power: float | None = None,
                alpha: float | None = 0.05, ratio: float | None = 1.0, alternative: str = "two-sided",
                test: str = "z") -> float:
    """Solves the power equation for the one of ``effect_size``, ``nobs1``, ``power``, ``alpha``
    and ``ratio`` given as None (``alpha`` defaults to 0.05 and ``ratio`` to 1, so pass
    ``alpha=None`` or ``ratio=None`` to solve for them).

    As statsmodels ``NormalIndPower().solve_power`` (= ``zt_ind_solve_power``) for ``test="z"``
    and ``TTestIndPower().solve_power`` for ``test="t"``.  ``nobs1`` is returned unrounded
    (round it up for a plan).  The effect size is solved on the side of ``alternative`` (positive
    for "two-sided" and "greater", negative for "less"); for a one-sided test a power below
    ``alpha`` is reached by an effect on the other side, as in statsmodels.  A one-sided test
    whose effect is on the other side never reaches a power above ``alpha``: solving for
    ``nobs1`` then raises ValueError ("No solution exists").

    Examples
    --------
    >>> from mlsd.abtest import solve_power
    >>> round(solve_power(effect_size=0.2, power=0.8), 3)
    392.443
    >>> round(solve_power(effect_size=0.2, nobs1=392.443, power=0.8, alpha=None), 6)
    0.05
    """
    func = "solve_power"
    missing = [k for k, v in (("effect_size", effect_size), ("nobs1", nobs1), ("power", power), ("alpha", alpha),
                              ("ratio", ratio)) if v is None]
    if len(missing) != 1:
        raise InvalidParameterError(f"{func}: exactly one of effect_size, nobs1, power, alpha and ratio must be None; "
                                    f"got {len(missing)} None")
    if missing == ["ratio"]:
        return _solve_ratio(effect_size, nobs1, power, alpha, alternative, test, func)
    n_min = _n_min(test, ratio)
    if power is not None and alpha is not None and not power > alpha and alternative == "two-sided":
        # the two-sided power is smallest, alpha, at effect 0: anything below is not a power
        raise param_error(func, "power", f"a float in the range ({alpha!r}, 1.0)", power)
    if nobs1 is not None:
        nobs1 = _check_nobs1(nobs1, func, test, ratio)
    if missing == ["power"]:
        return _power(effect_size, nobs1, alpha, ratio, alternative, test)
    if missing == ["alpha"]:
        # power rises with alpha, from 0 (alpha -> 0) to 1 (alpha -> 1)
        f = lambda a: _power(effect_size, nobs1, a, ratio, alternative, test) - power  # noqa: E731
        lo, hi = 1e-300, 1.0 - 1e-15
        if f(lo) >= 0 or f(hi) <= 0:
            raise ValueError(f"{func}: no alpha in (0, 1) gives power {power!r} at effect_size {effect_size!r} "
                             f"and nobs1 {nobs1!r}")
        return float(optimize.brentq(f, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500))
    if missing == ["nobs1"]:
        if effect_size == 0:
            raise ValueError(f"{func}: effect_size must be non-zero to solve for nobs1")
        wrong_side = alternative != "two-sided" and (effect_size > 0) != (alternative == "greater")
        lo = n_min * (1 + 1e-9)
        if wrong_side:  # the power falls from about alpha towards 0 as the sample grows
            if power >= alpha:
                raise ValueError(f"{func}: No solution exists: with alternative={alternative!r} the effect size "
                                 f"{effect_size!r} lies on the other side, so the power stays below alpha for every "
                                 "sample size")
            if _power(effect_size, lo, alpha, ratio, alternative, test) <= power:
                return lo
            return _root(lambda n: power - _power(effect_size, n, alpha, ratio, alternative, test), lo, 1e3,
                         "sample size", func)
        if power <= alpha:
            raise param_error(func, "power", f"a float in the range ({alpha!r}, 1.0) to solve for nobs1", power)
        if _power(effect_size, lo, alpha, ratio, alternative, test) >= power:
            return lo
        return _root(lambda n: _power(effect_size, n, alpha, ratio, alternative, test) - power, lo, 1e3,
                     "sample size", func)
    sign = -1.0 if alternative == "less" else 1.0
    if power < alpha:  # one-sided only: an effect on the other side of the alternative
        return -sign * _root(lambda d: power - _power(-sign * d, nobs1, alpha, ratio, alternative, test), 0.0, 1.0,
                             "effect size", func)
    return sign * _root(lambda d: _power(sign * d, nobs1, alpha, ratio, alternative, test) - power, 0.0, 1.0,
                        "effect size", func)


def _solve_ratio(effect_size, nobs1, power, alpha, alternative, test, func) -> float:
    """The ratio n2 / n1 at which the power reaches ``power`` (the power rises with the second arm)."""
    if effect_size == 0:
        raise ValueError(f"{func}: No solution exists: at effect size 0 the power does not depend on ratio")
    # on the other side of a one-sided alternative the power falls (towards 0) as the second arm grows
    falls = alternative != "two-sided" and (effect_size > 0) != (alternative == "greater")
    if falls and power >= alpha:
        raise ValueError(f"{func}: No solution exists: with alternative={alternative!r} the effect size "
                         f"{effect_size!r} lies on the other side, so the power stays below alpha for every ratio")
    sign = -1.0 if falls else 1.0
    lo = 1e-9 if test == "z" else max(1e-9, (2.0 / nobs1 - 1.0) * (1 + 1e-9) + 1e-9)
    return _root(lambda r: sign * (_power(effect_size, nobs1, alpha, r, alternative, test) - power), lo, 1.0,
                 "ratio", func)


def _cohen_h(p1, p0):
    return 2.0 * np.arcsin(np.sqrt(p1)) - 2.0 * np.arcsin(np.sqrt(p0))


@validate_params(p_control=[PROBABILITY], mde=[FINITE], relative=["boolean"], power=[PROBABILITY], **COMMON)
def sample_size_proportions(p_control: float, mde: float, *, relative: bool = False, alpha: float = 0.05,
                            power: float = 0.8, ratio: float = 1.0, alternative: str = "two-sided") -> float:
    """Treatment-arm size to detect a conversion-rate change of ``mde`` from ``p_control``.

    The effect size is Cohen's h = 2 asin sqrt(p_t) - 2 asin sqrt(p_c) with p_t = p_c + mde (or
    p_c (1 + mde) when ``relative``), solved with the normal power equation, as
    ``NormalIndPower().solve_power(proportion_effectsize(p_t, p_c), ...)`` in statsmodels.  The
    control arm has ``ratio`` times as many units.

    Examples
    --------
    >>> from mlsd.abtest import sample_size_proportions
    >>> round(sample_size_proportions(0.10, 0.01))
    14744
    """
    func = "sample_size_proportions"
    p0 = p_control
    p1 = p0 * (1.0 + mde) if relative else p0 + mde
    if not 0.0 < p1 < 1.0 or p1 == p0:
        raise ValueError(f"{func}: p_control + mde must be in (0, 1) and differ from p_control; got {p1:g}")
    return solve_power(effect_size=float(_cohen_h(p1, p0)), power=power, alpha=alpha, ratio=ratio,
                       alternative=alternative, test="z")


@validate_params(mde=[FINITE], std=[POSITIVE], power=[PROBABILITY], test=TEST, **COMMON)
def sample_size_means(mde: float, std: float, *, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0,
                      alternative: str = "two-sided", test: str = "t") -> float:
    """Treatment-arm size to detect a mean difference ``mde`` with standard deviation ``std``
    (``TTestIndPower().solve_power(mde / std, ...)`` in statsmodels for ``test="t"``)."""
    return solve_power(effect_size=mde / std, power=power, alpha=alpha, ratio=ratio, alternative=alternative,
                       test=test)


@validate_params(p_control=[PROBABILITY], nobs1=[NOBS], power=[PROBABILITY], **COMMON)
def mde_proportions(p_control: float, nobs1: float, *, alpha: float = 0.05, power: float = 0.8,
                    ratio: float = 1.0, alternative: str = "two-sided") -> float:
    """Minimum detectable absolute change of a conversion rate: p_t - p_c for the Cohen's h
    that ``nobs1`` units detect with the given power (upwards unless ``alternative="less"``)."""
    func = "mde_proportions"
    p0 = p_control
    h = solve_power(nobs1=nobs1, power=power, alpha=alpha, ratio=ratio, alternative=alternative, test="z")
    phi = np.arcsin(np.sqrt(p0)) + h / 2.0
    if not 0.0 < phi < np.pi / 2:
        raise ValueError(f"{func}: no conversion rate in (0, 1) is detectable with nobs1={nobs1:g}")
    return float(np.sin(phi) ** 2 - p0)


@validate_params(std=[POSITIVE], nobs1=[NOBS], power=[PROBABILITY], test=TEST, **COMMON)
def mde_means(std: float, nobs1: float, *, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0,
              alternative: str = "two-sided", test: str = "t") -> float:
    """Minimum detectable mean difference: the solved effect size times ``std``."""
    return std * solve_power(nobs1=nobs1, power=power, alpha=alpha, ratio=ratio, alternative=alternative,
                             test=test)
