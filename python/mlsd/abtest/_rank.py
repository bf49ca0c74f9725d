"""Mann-Whitney U test: ranks in C++ (one parallel radix sort), p-values here."""

from __future__ import annotations

from math import comb
from typing import Any

import numpy as np
from scipy import special

from .. import _core
from .._params import ArrayLike, Options, validate_params
from .._validation import as_float_array, call_kernel
from ._tests import ALTERNATIVES, TestResult

__all__ = ["mannwhitneyu"]


def _exact_sf(u: int, m: int, n: int) -> float:
    """P(U >= u) under H0 without ties, exactly: the counts of U are the coefficients of the
    Gaussian binomial [m + n choose m]_q, built with integer arithmetic (no cancellation)."""
    if m > n:
        m, n = n, m
    counts = np.zeros(m * n + n + m + 2, dtype=object)
    counts[0] = 1
    deg = 0
    for i in range(1, m + 1):
        # multiply by (1 - q^(n+i)), then divide exactly by (1 - q^i): prefix sums with stride i
        step = n + i
        counts[step:step + deg + 1] -= counts[0:deg + 1].copy()
        deg += step
        for r in range(i):
            counts[r:deg + 1:i] = np.cumsum(counts[r:deg + 1:i])
        deg -= i
    total = comb(m + n, m)
    # symmetric about mn/2: P(U >= u) = P(U <= mn - u)
    hi = m * n - u
    if hi < 0:
        return 0.0
    if hi >= m * n:
        return 1.0
    return int(np.sum(counts[:hi + 1])) / total


@validate_params(x=[ArrayLike(ndim=1)], y=[ArrayLike(ndim=1)], use_continuity=["boolean"],
                 alternative=[Options(ALTERNATIVES)], method=[Options(("auto", "asymptotic", "exact"))])
def mannwhitneyu(x: Any, y: Any, *, use_continuity: bool = True, alternative: str = "two-sided",
                 method: str = "auto") -> TestResult:
    """Mann-Whitney U rank test of ``x`` against ``y``, as ``scipy.stats.mannwhitneyu``.

    ``statistic`` is U of ``x`` (SciPy's U1).  The asymptotic p-value uses the normal
    approximation with the tie correction of the variance and, when ``use_continuity``, a 0.5
    continuity correction; the exact p-value uses the exact null distribution of U (valid without
    ties).  ``method="auto"`` chooses "exact" when one sample has at most 8 observations and there
    are no ties, as SciPy does.  The ranking (a parallel radix sort of the pooled sample) runs in
    C++ with the GIL released.

    ``estimate`` is the common-language effect size U / (n_x n_y) = P(X > Y) + P(X = Y) / 2;
    no confidence interval is computed (NaN).

    Examples
    --------
    >>> from mlsd.abtest import mannwhitneyu
    >>> r = mannwhitneyu([19, 22, 16, 29, 24], [20, 11, 17, 12])
    >>> r.statistic, round(r.pvalue, 6)
    (17.0, 0.111111)
    """
    func = "mannwhitneyu"
    xa, ya = as_float_array(x, "x", func), as_float_array(y, "y", func)
    u1, tie_term = call_kernel(func, _core.abtest.mann_whitney_u, xa, ya)
    n1, n2 = float(xa.shape[0]), float(ya.shape[0])
    u2 = n1 * n2 - u1
    u, f = {"greater": (u1, 1.0), "less": (u2, 1.0), "two-sided": (max(u1, u2), 2.0)}[alternative]
    ties = tie_term > 0
    if method == "auto":
        method = "exact" if (min(n1, n2) <= 8 and not ties) else "asymptotic"
    if method == "exact":
        if ties:
            raise ValueError(f"{func}: method='exact' assumes no ties, but the samples have tied values; "
                             "use method='asymptotic'")
        p = min(f * _exact_sf(int(round(u)), int(n1), int(n2)), 1.0)
        logp = float(np.log(p)) if p > 0 else -np.inf
        stat_name = "exact"
    else:
        n = n1 + n2
        s = np.sqrt(n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0))))
        num = u - n1 * n2 / 2.0 - (0.5 if use_continuity else 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = num / s
        p = float(min(f * special.ndtr(-z), 1.0))
        logp = float(min(np.log(f) + special.log_ndtr(-z), 0.0))
        stat_name = "asymptotic"
    return TestResult(float(u1), p, estimate=float(u1 / (n1 * n2)), confidence_interval=(np.nan, np.nan), df=np.nan,
                      stderr=np.nan, method=f"Mann-Whitney U ({stat_name})", alternative=alternative, log_pvalue=logp)
