"""Mann-Whitney U test: ranks in C++ (one parallel radix sort), p-values here."""

from __future__ import annotations

from math import comb
from typing import Any

import numpy as np
from scipy import special

from .. import _core
from .._params import Options, PeerWording, validate_params
from .._validation import call_kernel
from ._samples import AXIS, NAN_POLICY, SAMPLE_ARRAY, as_samples, warn_small
from ._tests import SCIPY_RANK_ALTERNATIVE, ConfidenceInterval, TestResult

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


@validate_params(x=[SAMPLE_ARRAY], y=[SAMPLE_ARRAY],
                 use_continuity=["boolean", PeerWording("SciPy", "`use_continuity` must be one of {False, True}.")],
                 alternative=SCIPY_RANK_ALTERNATIVE, axis=AXIS,
                 method=[Options(("auto", "asymptotic", "exact")),
                         PeerWording("SciPy", "`method` must be one of {'asymptotic', 'exact', 'auto'}.")],
                 nan_policy=NAN_POLICY,
                 keepdims=["boolean"])
def mannwhitneyu(x: Any, y: Any, use_continuity: bool = True, alternative: str = "two-sided",
                 axis: int | None = 0, method: str = "auto", *, nan_policy: str = "propagate",
                 keepdims: bool = False) -> TestResult:
    """Mann-Whitney U rank test of ``x`` against ``y``, as ``scipy.stats.mannwhitneyu``.

    ``statistic`` is U of ``x`` (SciPy's U1).  The asymptotic p-value uses the normal
    approximation with the tie correction of the variance and, when ``use_continuity``, a 0.5
    continuity correction; the exact p-value uses the exact null distribution of U without ties
    (with ties, as SciPy, the mid-rank U is truncated to an integer and the no-ties null is used:
    an approximation).  ``method="auto"`` chooses "exact" when one sample has at most 8
    observations and there are no ties, as SciPy does.  ±inf are ranked as the largest and
    smallest values.  n-D samples are tested along ``axis`` (the other dimensions broadcast),
    ``nan_policy`` and ``keepdims`` are SciPy's.  The ranking (a parallel radix sort of each
    sample, problems in parallel) runs in C++ with the GIL released.

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
    sm = as_samples((x, y), ("x", "y"), func, axis=axis, nan_policy=nan_policy, keepdims=keepdims)
    xa, ya = sm.arrays
    rows = sm.rows
    if rows == 0 or xa.shape[1] == 0 or ya.shape[1] == 0:
        u1 = tie = np.zeros(rows)
        n1, n2 = np.full(rows, float(xa.shape[1])), np.full(rows, float(ya.shape[1]))
    else:
        u1, tie, n1, n2 = call_kernel(func, _core.abtest.mann_whitney_u_rows, xa.ravel(), ya.ravel(), rows)
    u2 = n1 * n2 - u1
    u, f = {"greater": (u1, 1.0), "less": (u2, 1.0), "two-sided": (np.maximum(u1, u2), 2.0)}[alternative]
    if method != "auto":
        exact = np.full(rows, method == "exact")
    elif sm.omit:  # SciPy decides slice by slice when it removed NaN ...
        exact = ((n1 <= 8) | (n2 <= 8)) & ~(tie > 0)
    else:  # ... and once for the whole call otherwise
        small = xa.shape[1] <= 8 or ya.shape[1] <= 8
        exact = np.full(rows, small and not np.any(tie[~sm.nan_rows] > 0))
    n = n1 + n2
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sqrt(n1 * n2 / 12.0 * ((n + 1.0) - tie / (n * (n - 1.0))))
        z = (u - n1 * n2 / 2.0 - (0.5 if use_continuity else 0.0)) / s
    p = np.minimum(f * special.ndtr(-z), 1.0)
    logp = np.minimum(np.log(f) + special.log_ndtr(-z), 0.0)
    for i in np.flatnonzero(exact & (n1 > 0) & (n2 > 0)):
        p[i] = min(f * _exact_sf(int(u[i]), int(n1[i]), int(n2[i])), 1.0)
        with np.errstate(divide="ignore"):
            logp[i] = np.log(p[i])
    method = "exact" if exact.all() else "asymptotic" if not exact.any() else "exact and asymptotic"
    empty = sm.nan_rows | (n1 == 0) | (n2 == 0)
    warn_small(~sm.nan_rows & ((n1 == 0) | (n2 == 0)), func, 1, sm)
    u1 = np.where(empty, np.nan, u1)
    p, logp = np.where(empty, np.nan, p), np.where(empty, np.nan, logp)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = u1 / (n1 * n2)
    nan = sm.out(np.full(rows, np.nan))
    return TestResult(sm.out(u1), sm.out(p), estimate=sm.out(est), confidence_interval=ConfidenceInterval(nan, nan),
                      df=nan, stderr=nan, method=f"Mann-Whitney U ({method})", alternative=alternative,
                      log_pvalue=sm.out(logp))
