"""Paired tests: the t-test of related samples and Wilcoxon's signed-rank test, with SciPy's
conventions (``axis``, ``nan_policy``, ``keepdims``, alternatives; for Wilcoxon ``zero_method``,
``correction`` and ``method``).  Typical use: two rankers scored on the same queries."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from .. import _core
from .._params import Check, Options, PeerWording, validate_params
from .._results import ResultTuple
from .._validation import call_kernel
from ._samples import AXIS, NAN_POLICY, SAMPLE_ARRAY, as_samples, row_moments_of, warn_small
from ._tests import ALPHA, SCIPY_RANK_ALTERNATIVE, SCIPY_TTEST_ALTERNATIVE, TestResult, finish, reshape_result

__all__ = ["ttest_rel", "wilcoxon", "WilcoxonResult"]

BOOL = ["boolean"]


@validate_params(a=[SAMPLE_ARRAY], b=[SAMPLE_ARRAY], axis=AXIS, nan_policy=NAN_POLICY,
                 alternative=SCIPY_TTEST_ALTERNATIVE, keepdims=BOOL, alpha=[ALPHA])
def ttest_rel(a: Any, b: Any, axis: int | None = 0, nan_policy: str = "propagate", alternative: str = "two-sided",
              *, keepdims: bool = False, alpha: float = 0.05) -> TestResult:
    """Paired t-test: is the mean of ``a - b`` zero?  As ``scipy.stats.ttest_rel``.

    Parameters
    ----------
    a, b : array-like
        Paired samples of the same shape (they broadcast, as in SciPy); the test runs along
        ``axis`` and the other dimensions are independent problems.
    axis : int or None, default 0
        None ravels the samples.
    nan_policy : {"propagate", "omit", "raise"}, default "propagate"
        "omit" drops every pair with a NaN on either side.
    alternative : {"two-sided", "greater", "less"}
        "greater": the mean of ``a - b`` is positive.
    keepdims : bool, default False
        Keep the tested axis (length 1) in the results.
    alpha : float in (0, 1), default 0.05
        1 - level of ``confidence_interval`` (call it for another level, as SciPy's method).

    Returns
    -------
    TestResult
        ``statistic`` (t), ``pvalue``, ``df`` (n - 1), ``estimate`` (mean of a - b),
        ``confidence_interval``, ``stderr``.

    Notes
    -----
    t = mean(d) / (sd(d) / sqrt(n)) with d = a - b and n - 1 degrees of freedom.  An empty
    sample gives NaN with a :class:`SmallSampleWarning`; constant non-zero differences give
    t = +-inf and p = 0 (with a :class:`ZeroVarianceWarning`), all-zero differences NaN, as
    SciPy.  One finite 1-D problem is summarised by the C++ moments kernel of :class:`Stats`.

    Examples
    --------
    >>> from mlsd.abtest import ttest_rel
    >>> r = ttest_rel([0.61, 0.52, 0.70, 0.44, 0.58], [0.55, 0.50, 0.61, 0.45, 0.50])
    >>> round(r.statistic, 6), round(r.pvalue, 6), r.df
    (2.551171, 0.063227, 4.0)
    """
    func = "ttest_rel"
    sm = as_samples((a, b), ("a", "b"), func, axis=axis, nan_policy=nan_policy, paired=True, keepdims=keepdims)
    with np.errstate(invalid="ignore"):
        d = sm.arrays[0] - sm.arrays[1]
    n, mean, m2 = row_moments_of(d, sm.finite[0] and sm.finite[1], func)
    bad = sm.nan_rows | (n < 1)
    warn_small(~sm.nan_rows & (n < 1), func, 1, sm)
    n = np.where(bad, np.nan, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(m2 / (n - 1.0) / n)
    # SciPy warns of precision loss for constant differences unless they are all zeros
    r = finish(mean, se, n - 1.0, alpha, alternative, "paired t-test", warn_zero=mean != 0)
    return reshape_result(r, sm)


class WilcoxonResult(ResultTuple):
    """Result of :func:`wilcoxon`: unpacks as ``(statistic, pvalue)`` as SciPy's.

    ``statistic`` is SciPy's: min(r_plus, r_minus) for the two-sided test, r_plus otherwise.
    ``zstatistic`` (the normal approximation's z, continuity-corrected when asked) is set when
    ``method="asymptotic"`` was asked for, as SciPy sets it; ``r_plus`` and ``r_minus`` are the
    signed-rank sums, ``method`` the p-value's method and ``n`` the ranked differences."""

    _fields = ("statistic", "pvalue")
    _extras = ("zstatistic", "r_plus", "r_minus", "n", "method", "alternative")

    @property
    def zstatistic(self):
        """The normal approximation's z; as in SciPy, the attribute exists only when
        ``method="asymptotic"`` was asked for (``hasattr(res, "zstatistic")`` is False otherwise)."""
        z = self.__dict__["zstatistic"]
        if z is None:
            raise AttributeError("zstatistic: set only when wilcoxon ran with method='asymptotic', as in SciPy")
        return z


def _signed_rank_pmf(n: int) -> np.ndarray:
    """P(T = k), k = 0 .. n(n+1)/2, of the signed-rank sum of ranks 1..n without ties."""
    pmf = np.zeros(n * (n + 1) // 2 + 1)
    pmf[0] = 1.0
    top = 0
    for i in range(1, n + 1):
        # each rank i is in the positive set with probability 1/2
        pmf[i:top + i + 1] = 0.5 * (pmf[i:top + i + 1] + pmf[:top + 1])
        pmf[:i] *= 0.5
        top += i
    return pmf


def _exact_p(r_plus: float, n: int, alternative: str) -> float:
    """SciPy's exact p-value: the no-ties null of n ranks, a non-integral statistic (ties,
    zeros) rounded conservatively (up for the lower tail, down for the upper)."""
    pmf = _signed_rank_pmf(n)
    cdf = lambda k: float(pmf[:int(k) + 1].sum()) if k >= 0 else 0.0  # noqa: E731
    sf = lambda k: float(pmf[max(int(k), 0):].sum()) if k <= len(pmf) - 1 else 0.0  # noqa: E731
    if alternative == "less":
        return cdf(np.ceil(r_plus))
    if alternative == "greater":
        return sf(np.floor(r_plus))
    return float(min(2.0 * min(sf(np.floor(r_plus)), cdf(np.ceil(r_plus))), 1.0))


def _mid_ranks(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="stable")
    sv = v[order]
    ranks = np.empty(len(v))
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and sv[j + 1] == sv[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def _permutation_p(d: np.ndarray, zero_method: str, alternative: str) -> float:
    """The exact sign-flip permutation p-value (all 2^n flips), as SciPy's ``method="auto"``
    computes it with ties or zeros (n <= 13) and its ``PermutationMethod`` with enough resamples:
    r_plus over every flip of the non-zero differences' signs.  Doubled mid-ranks are integers, so
    the null is a distribution over integers, kept as probabilities (multiples of 2^-n: exact up to
    n = 53, where counts of 2^n flips would overflow int64 from n = 63)."""
    d = d[~np.isnan(d)]
    zero = d == 0
    if zero_method == "wilcox":
        d, zero = d[~zero], zero[~zero]
    ranks2 = np.rint(2.0 * _mid_ranks(np.abs(d))).astype(np.int64)
    nz = ranks2[~zero]
    obs = int(nz[d[~zero] > 0].sum())
    prob = np.zeros(int(nz.sum()) + 1)
    prob[0] = 1.0
    for r in nz:  # distribution of the sum of a random subset of the non-zero ranks
        prob[r:] = 0.5 * (prob[r:] + prob[:len(prob) - r])
        prob[:r] *= 0.5
    less = prob[:obs + 1].sum()
    greater = prob[obs:].sum()
    p = {"less": less, "greater": greater}.get(alternative, 2.0 * min(less, greater))
    return float(min(p, 1.0))


def _is_permutation_method(v: Any) -> bool:
    """A ``scipy.stats.PermutationMethod`` (recognised without importing scipy.stats)."""
    cls = type(v)
    return cls.__name__ == "PermutationMethod" and cls.__module__.startswith("scipy.stats")


@validate_params(x=[SAMPLE_ARRAY], y=[None, SAMPLE_ARRAY],
                 zero_method=[Options(("wilcox", "pratt", "zsplit")),
                              PeerWording("SciPy", "`zero_method` must be one of {'wilcox', 'pratt', 'zsplit'}.")],
                 correction=[*BOOL, PeerWording("SciPy", "`correction` must be one of {False, True}.")],
                 alternative=SCIPY_RANK_ALTERNATIVE,
                 method=[Options(("auto", "exact", "asymptotic", "approx")),
                         Check(_is_permutation_method, "a scipy.stats.PermutationMethod"),
                         PeerWording("SciPy", "`method` must be one of {'auto', 'asymptotic', 'exact'} or an "
                                              "instance of `stats.PermutationMethod`.")],
                 axis=AXIS, nan_policy=NAN_POLICY,
                 keepdims=BOOL, mode=[None, Options(("auto", "exact", "asymptotic", "approx"))])
def wilcoxon(x: Any, y: Any = None, zero_method: str = "wilcox", correction: bool = False,
             alternative: str = "two-sided", method: str = "auto", *, axis: int | None = 0,
             nan_policy: str = "propagate", keepdims: bool = False, mode: str | None = None) -> WilcoxonResult:
    """Wilcoxon signed-rank test of the differences ``x - y`` (or of ``x``), as
    ``scipy.stats.wilcoxon``.

    The ranking (a radix sort of |d| per problem, problems in parallel) runs in C++ with the GIL
    released; the p-values follow SciPy exactly.

    Parameters
    ----------
    x, y : array-like
        Paired samples (``y`` None: ``x`` are the differences); the test runs along ``axis``.
    zero_method : {"wilcox", "pratt", "zsplit"}, default "wilcox"
        Zero differences: dropped ("wilcox"), ranked and then dropped with Cureton's adjustment
        of the normal approximation ("pratt"), or ranked with half their rank on each side
        ("zsplit").
    correction : bool, default False
        A 0.5 continuity correction of the normal approximation.
    alternative : {"two-sided", "greater", "less"}
        "greater": the differences are shifted above zero.
    method : {"auto", "exact", "asymptotic"} or scipy.stats.PermutationMethod, default "auto"
        "exact": the exact null distribution of the signed-rank sum without ties (with ties or
        zeros a non-integral statistic is rounded conservatively, as SciPy); "asymptotic": the
        normal approximation with the tie correction.  "auto", as SciPy: asymptotic above 50
        differences; otherwise exact without ties and zeros, and with them the exact sign-flip
        permutation p-value when there are at most 13 differences (SciPy's deterministic
        permutation test), else asymptotic.  A ``PermutationMethod`` whose ``n_resamples`` covers
        all 2^n sign flips of the n differences gives that exact permutation p-value, as SciPy's
        permutation test does then (up to 1000 differences, as "exact"; ``n_resamples=np.inf``
        asks for it at any n); fewer resamples (a random sample of the flips) raise
        NotImplementedError.
    axis : int or None, default 0
    nan_policy : {"propagate", "omit", "raise"}, default "propagate"
        "omit" drops every pair with a NaN.
    keepdims : bool, default False
    mode : str, optional
        SciPy's older name of ``method`` (still accepted by SciPy, as is ``"approx"`` for
        ``"asymptotic"``); when given it takes the place of ``method`` (giving both is a TypeError,
        as in SciPy).

    Returns
    -------
    WilcoxonResult
        ``statistic`` (SciPy's), ``pvalue``; ``zstatistic`` with ``method="asymptotic"``.

    Examples
    --------
    >>> from mlsd.abtest import wilcoxon
    >>> d = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]
    >>> r = wilcoxon(d)
    >>> r.statistic, round(r.pvalue, 6)
    (24.0, 0.04126)
    """
    func = "wilcoxon"
    if mode is not None:
        if method != "auto":  # SciPy: TypeError, "multiple values for argument now known as `method`"
            raise TypeError(f"{func}: got both method={method!r} and mode={mode!r}; mode is the older name of "
                            "method, give one of them")
        method = mode
    if method == "approx":
        method = "asymptotic"
    permutation = None if isinstance(method, str) else method
    if permutation is not None:
        method = "permutation"
    if y is None:
        sm = as_samples((x,), ("x",), func, axis=axis, nan_policy=nan_policy, keepdims=keepdims)
        d = sm.arrays[0]
    else:
        sm = as_samples((x, y), ("x", "y"), func, axis=axis, nan_policy=nan_policy, paired=True, keepdims=keepdims)
        with np.errstate(invalid="ignore"):
            d = sm.arrays[0] - sm.arrays[1]
    d = np.ascontiguousarray(d)
    rows, width = d.shape
    if rows == 0 or width == 0:
        r_plus = tie = n_pos = n_neg = n_zero = np.zeros(rows)
    else:
        r_plus, tie, n_pos, n_neg, n_zero = call_kernel(func, _core.abtest.signed_ranks_rows, d.ravel(), rows)
    m = n_pos + n_neg
    nz = n_zero
    r_minus = m * (m + 1.0) / 2.0 - r_plus
    if zero_method == "wilcox":
        count = m
        mn = count * (count + 1.0) / 4.0
        var = count * (count + 1.0) * (2.0 * count + 1.0)
    else:
        count = m + nz
        r_plus = r_plus + nz * n_pos
        r_minus = r_minus + nz * n_neg
        mn = count * (count + 1.0) / 4.0
        var = count * (count + 1.0) * (2.0 * count + 1.0)
        if zero_method == "pratt":
            mn = mn - nz * (nz + 1.0) / 4.0
            var = var - nz * (nz + 1.0) * (2.0 * nz + 1.0)
        else:  # zsplit: half of the zeros' rank sum on each side, zeros tie with each other
            r_plus = r_plus + nz * (nz + 1.0) / 4.0
            r_minus = r_minus + nz * (nz + 1.0) / 4.0
            tie = tie + nz**3 - nz
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt((var - tie / 2.0) / 24.0)
        z = (r_plus - mn) / se

    observed = width - np.isnan(d).sum(axis=1) if sm.omit else np.full(rows, width)
    if sm.omit:  # SciPy decides the method slice by slice when it removed NaN
        ties_or_zeros = (tie > 0) | (n_zero > 0)
    else:  # ... and over the whole array otherwise
        ties_or_zeros = np.full(rows, bool(np.any(tie > 0) or np.any(n_zero > 0)))
    methods = np.full(rows, method, dtype=object)
    if method == "auto":
        methods[:] = "permutation"
        methods[observed > 50] = "asymptotic"
        methods[(observed <= 50) & ~ties_or_zeros] = "exact"
        methods[(observed <= 50) & (observed > 13) & ties_or_zeros] = "asymptotic"

    if permutation is not None:
        if width < 2:  # SciPy's permutation_test needs two observations to permute
            raise ValueError(f"{func}: method=PermutationMethod needs at least two differences along axis; got "
                             f"{width} (SciPy: each sample in `data` must contain two or more observations along "
                             "`axis`.)")
        n_max = int(np.max(observed[~sm.nan_rows], initial=0))
        flips = math.ldexp(1.0, n_max) if n_max < 1024 else math.inf  # 2**n, beyond float64 from 1024
        if permutation.n_resamples < flips:
            raise NotImplementedError(
                f"{func}: method=PermutationMethod(n_resamples={permutation.n_resamples}) would sample the "
                f"2**{n_max} sign flips at random: not implemented; mlsd computes the permutation p-value exactly "
                "when n_resamples >= 2**n (all flips, as SciPy does then)")
    p = np.full(rows, np.nan)
    zc = z.copy()
    asym = methods == "asymptotic"
    if np.any(asym):
        if correction:
            sign = {"greater": 1.0, "less": -1.0}.get(alternative)
            sign = np.sign(z) if sign is None else sign
            with np.errstate(invalid="ignore", divide="ignore"):
                zc = z - np.broadcast_to(sign, z.shape) * 0.5 / se
        if alternative == "less":
            pa = special.ndtr(zc)
        elif alternative == "greater":
            pa = special.ndtr(-zc)
        else:
            pa = 2.0 * special.ndtr(-np.abs(zc))
        p[asym] = pa[asym]
    for i in np.flatnonzero(~asym):
        if sm.nan_rows[i]:
            continue
        if count[i] > 1000:
            what = "method='exact'" if methods[i] == "exact" else "the permutation null (all sign flips)"
            raise ValueError(f"{func}: {what} is limited to 1000 differences (the null distribution costs n^3); "
                             f"got {int(count[i])}, use method='asymptotic'")
        if methods[i] == "exact":
            p[i] = _exact_p(float(r_plus[i]), int(count[i]), alternative)
        else:
            p[i] = _permutation_p(d[i], zero_method, alternative)
    stat = np.minimum(r_plus, r_minus) if alternative == "two-sided" else r_plus.copy()
    empty = sm.nan_rows | (observed == 0)
    warn_small(~sm.nan_rows & (observed == 0), func, 1, sm)
    for v in (stat, p, zc, r_plus, r_minus):
        v[empty] = np.nan
    zout = None
    if method == "asymptotic":
        zout = sm.out(-np.abs(zc) if alternative == "two-sided" else zc)
    single = np.unique(methods[~empty]) if np.any(~empty) else np.array([method])
    return WilcoxonResult(sm.out(stat), sm.out(p), zstatistic=zout, r_plus=sm.out(r_plus), r_minus=sm.out(r_minus),
                          n=sm.out(np.where(empty, np.nan, count)),
                          method=str(single[0]) if len(single) == 1 else "mixed", alternative=alternative)
