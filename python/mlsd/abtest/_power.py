"""Power, sample size and minimum detectable effect for two-sample z and t tests."""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

from .._validation import InvalidParameterError, check_option, check_real
from ._tests import ALTERNATIVES, check_alpha

__all__ = ["power", "solve_power", "sample_size_proportions", "sample_size_means", "mde_proportions", "mde_means"]


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


def _check_common(func, alpha, ratio, alternative, test):
    alpha = check_alpha(alpha, func)
    ratio = check_real(ratio, "ratio", func, low=0.0, high=np.inf, closed="neither")
    alternative = check_option(alternative, "alternative", func, ALTERNATIVES)
    test = check_option(test, "test", func, ("z", "t"))
    return alpha, ratio, alternative, test


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
    func = "power"
    alpha, ratio, alternative, test = _check_common(func, alpha, ratio, alternative, test)
    d = check_real(effect_size, "effect_size", func, low=-np.inf, high=np.inf, closed="neither")
    n1 = check_real(nobs1, "nobs1", func, low=1.0 if test == "z" else 1.0 + 1.0 / (1.0 + ratio), high=np.inf,
                    closed="neither")
    return _power(d, n1, alpha, ratio, alternative, test)


def _root(f, lo, hi, what: str, func: str) -> float:
    flo, fhi = f(lo), f(hi)
    while fhi < 0 and hi < 1e15:
        lo, flo, hi = hi, fhi, hi * 4.0
        fhi = f(hi)
    if not (flo <= 0 <= fhi):
        raise ValueError(f"{func}: no {what} in [{lo:g}, {hi:g}] reaches the requested power")
    return float(optimize.brentq(f, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500))


def solve_power(*, effect_size: float | None = None, nobs1: float | None = None, power: float | None = None,
                alpha: float = 0.05, ratio: float = 1.0, alternative: str = "two-sided", test: str = "z") -> float:
    """Solves the power equation for the one of ``effect_size``, ``nobs1``, ``power`` left None.

    As statsmodels ``NormalIndPower().solve_power`` (= ``zt_ind_solve_power``) for ``test="z"``
    and ``TTestIndPower().solve_power`` for ``test="t"``.  ``nobs1`` is returned unrounded
    (round it up for a plan).  The effect size is solved on the side of ``alternative`` (positive
    for "two-sided" and "greater", negative for "less").

    Examples
    --------
    >>> from mlsd.abtest import solve_power
    >>> round(solve_power(effect_size=0.2, power=0.8), 3)
    392.443
    """
    func = "solve_power"
    alpha, ratio, alternative, test = _check_common(func, alpha, ratio, alternative, test)
    missing = [k for k, v in (("effect_size", effect_size), ("nobs1", nobs1), ("power", power)) if v is None]
    if len(missing) != 1:
        raise InvalidParameterError(f"{func}: exactly one of effect_size, nobs1 and power must be None; "
                                    f"got {len(missing)} None")
    n_min = 1.0 if test == "z" else 1.0 + 1.0 / (1.0 + ratio)
    if power is not None:
        # the power at effect 0 is alpha: anything below is not a power
        power = check_real(power, "power", func, low=alpha, high=1.0, closed="neither")
    if effect_size is not None:
        effect_size = check_real(effect_size, "effect_size", func, low=-np.inf, high=np.inf, closed="neither")
    if nobs1 is not None:
        nobs1 = check_real(nobs1, "nobs1", func, low=n_min, high=np.inf, closed="neither")
    if missing == ["power"]:
        return _power(effect_size, nobs1, alpha, ratio, alternative, test)
    if missing == ["nobs1"]:
        if effect_size == 0:
            raise ValueError(f"{func}: effect_size must be non-zero to solve for nobs1")
        lo = n_min * (1 + 1e-9)
        if _power(effect_size, lo, alpha, ratio, alternative, test) >= power:
            return lo
        return _root(lambda n: _power(effect_size, n, alpha, ratio, alternative, test) - power, lo, 1e3,
                     "sample size", func)
    sign = -1.0 if alternative == "less" else 1.0
    return sign * _root(lambda d: _power(sign * d, nobs1, alpha, ratio, alternative, test) - power, 0.0, 1.0,
                        "effect size", func)


def _cohen_h(p1, p0):
    return 2.0 * np.arcsin(np.sqrt(p1)) - 2.0 * np.arcsin(np.sqrt(p0))


def _check_p(p, name, func):
    return check_real(p, name, func, low=0.0, high=1.0, closed="neither")


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
    p0 = _check_p(p_control, "p_control", func)
    mde = check_real(mde, "mde", func, low=-np.inf, high=np.inf, closed="neither")
    p1 = p0 * (1.0 + mde) if relative else p0 + mde
    if not 0.0 < p1 < 1.0 or p1 == p0:
        raise ValueError(f"{func}: p_control + mde must be in (0, 1) and differ from p_control; got {p1:g}")
    return solve_power(effect_size=float(_cohen_h(p1, p0)), power=power, alpha=alpha, ratio=ratio,
                       alternative=alternative, test="z")


def sample_size_means(mde: float, std: float, *, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0,
                      alternative: str = "two-sided", test: str = "t") -> float:
    """Treatment-arm size to detect a mean difference ``mde`` with standard deviation ``std``
    (``TTestIndPower().solve_power(mde / std, ...)`` in statsmodels for ``test="t"``)."""
    func = "sample_size_means"
    std = check_real(std, "std", func, low=0.0, high=np.inf, closed="neither")
    mde = check_real(mde, "mde", func, low=-np.inf, high=np.inf, closed="neither")
    return solve_power(effect_size=mde / std, power=power, alpha=alpha, ratio=ratio, alternative=alternative,
                       test=test)


def mde_proportions(p_control: float, nobs1: float, *, alpha: float = 0.05, power: float = 0.8,
                    ratio: float = 1.0, alternative: str = "two-sided") -> float:
    """Minimum detectable absolute change of a conversion rate: p_t - p_c for the Cohen's h
    that ``nobs1`` units detect with the given power (upwards unless ``alternative="less"``)."""
    func = "mde_proportions"
    p0 = _check_p(p_control, "p_control", func)
    h = solve_power(nobs1=nobs1, power=power, alpha=alpha, ratio=ratio, alternative=alternative, test="z")
    phi = np.arcsin(np.sqrt(p0)) + h / 2.0
    if not 0.0 < phi < np.pi / 2:
        raise ValueError(f"{func}: no conversion rate in (0, 1) is detectable with nobs1={nobs1:g}")
    return float(np.sin(phi) ** 2 - p0)


def mde_means(std: float, nobs1: float, *, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0,
              alternative: str = "two-sided", test: str = "t") -> float:
    """Minimum detectable mean difference: the solved effect size times ``std``."""
    func = "mde_means"
    std = check_real(std, "std", func, low=0.0, high=np.inf, closed="neither")
    return std * solve_power(nobs1=nobs1, power=power, alpha=alpha, ratio=ratio, alternative=alternative,
                             test=test)
