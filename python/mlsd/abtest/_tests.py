"""Two-sample tests on Stats: t/z tests, proportions, lifts, ratio metrics (delta method), CUPED."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from numbers import Real
from typing import Any

import numpy as np
from scipy import special

from .._params import ArrayLike, Check, Interval, Options, validate_params
from .._results import ResultTuple
from ._stats import Stats, as_stats, counts_stats

__all__ = ["TestResult", "ZeroVarianceWarning", "ttest_ind", "proportions_ztest", "compare"]

ALTERNATIVES = ("two-sided", "greater", "less")


class ZeroVarianceWarning(RuntimeWarning):
    """The standard error of a test statistic is zero; the p-value is NaN (as in SciPy)."""


class TestResult(ResultTuple):
    """Result of a two-sample test; every field is a float, or an array for batched Stats.

    Unpacks as ``(statistic, pvalue)``, like SciPy's results (``stat, p = ttest_ind(a, b)``); the
    other fields are attributes.  ``estimate`` is the treatment-minus-control difference
    (``a - b``) and ``confidence_interval`` its interval ``(low, high)`` at level ``1 - alpha``
    (one-sided for one-sided alternatives, as in SciPy).  ``log_pvalue`` is the natural logarithm
    of the p-value, computed in log space for z tests (finite even where the p-value underflows
    to 0, below about 1e-308).  ``extra`` holds method-specific values (CUPED's ``theta``...).
    Immutable: ``_replace(...)`` makes a changed copy.
    """

    _fields = ("statistic", "pvalue")
    _extras = ("estimate", "confidence_interval", "df", "stderr", "method", "alternative", "log_pvalue", "extra")

    __test__ = False  # not a pytest test class

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls, *args, **kwargs)
        if self.__dict__["extra"] is None:
            self.__dict__["extra"] = {}
        return self

    def _items(self):
        lo, hi = self.confidence_interval if self.confidence_interval is not None else (None, None)
        yield from (("statistic", self.statistic), ("pvalue", self.pvalue), ("estimate", self.estimate),
                    ("ci_low", lo), ("ci_high", hi), ("df", self.df), ("stderr", self.stderr),
                    ("method", self.method), ("alternative", self.alternative), ("log_pvalue", self.log_pvalue))
        for k, v in self.extra.items():
            yield k, v

    def to_frame(self):
        """One row per test (per batch element for batched Stats): statistic, pvalue, estimate,
        ci_low, ci_high, df, stderr, method, alternative, log_pvalue and the ``extra`` values."""
        import pandas as pd

        items = dict(self._items())
        arrays = [np.asarray(v) for v in items.values() if isinstance(v, np.ndarray) or np.ndim(v)]
        shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
        size = int(np.prod(shape)) if shape else 1
        data = {}
        for k, v in items.items():
            if isinstance(v, (str, type(None))):
                data[k] = [v] * size
            else:
                data[k] = np.broadcast_to(np.asarray(v, dtype=np.float64), shape).reshape(size)
        return pd.DataFrame(data)


ALPHA = Interval(Real, 0.0, 1.0, closed="neither")
BOOL = ["boolean"]
OPTIONS_ALTERNATIVE = [Options(ALTERNATIVES)]


def is_counts_tuple(x: Any) -> bool:
    return isinstance(x, tuple) and len(x) == 2 and not isinstance(x[0], Stats)


SAMPLE = [Stats, Mapping, ArrayLike(ndim=1)]  # a Stats, a mapping of role -> array, or the metric's rows
COUNTS = Check(is_counts_tuple, "a (successes, trials) tuple")


def tail_pvalue(stat: np.ndarray, df: np.ndarray, alternative: str) -> tuple[np.ndarray, np.ndarray]:
    """(p, log p) of a t (finite df) or standard normal (df = inf) statistic, from survival
    functions (never 1 - cdf).  log p is exact in log space for the normal; for the t it is
    log(p), falling back to scipy.stats.t.logsf where p underflows."""
    stat = np.asarray(stat, dtype=np.float64)
    df = np.broadcast_to(np.asarray(df, dtype=np.float64), stat.shape)
    if alternative == "two-sided":
        x, factor = -np.abs(stat), 2.0
    elif alternative == "greater":
        x, factor = -stat, 1.0
    else:
        x, factor = stat, 1.0
    normal = np.isinf(df)
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(normal, special.ndtr(x), special.stdtr(np.where(normal, 1.0, df), x))
        p = np.minimum(factor * lower, 1.0)
        logp = np.where(normal, np.log(factor) + special.log_ndtr(x), np.log(np.maximum(factor * lower, 0.0)))
        logp = np.minimum(logp, 0.0)
    under = (~normal) & (p == 0) & np.isfinite(x)
    if np.any(under):
        from scipy import stats as _st

        logp = np.where(under, np.log(factor) + _st.t.logcdf(x, np.where(normal, 1.0, df)), logp)
    return p, logp


def quantile(level: float, df: np.ndarray) -> np.ndarray:
    df = np.asarray(df, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(df), special.ndtri(level), special.stdtrit(np.where(np.isinf(df), 1.0, df), level))


def interval(est, se, df, alpha: float, alternative: str) -> tuple[np.ndarray, np.ndarray]:
    if alternative == "two-sided":
        q = quantile(1.0 - alpha / 2.0, df)
        return est - q * se, est + q * se
    q = quantile(1.0 - alpha, df)
    inf = np.full(np.shape(est), np.inf)
    if alternative == "greater":
        return est - q * se, inf
    return -inf, est + q * se


def _scalar(x):
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x


def finish(est, se, df, alpha, alternative, method, *, null_se=None, extra=None) -> TestResult:
    """Statistic, p-value and interval of an estimate with standard error se (and df).  The test
    statistic uses ``null_se`` when given (pooled proportions), the interval always ``se``."""
    est = np.asarray(est, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    tse = se if null_se is None else np.asarray(null_se, dtype=np.float64)
    zero = ~(tse > 0)
    if np.any(zero):
        warnings.warn("the standard error is zero (constant data); the statistic and p-value are NaN",
                      ZeroVarianceWarning, stacklevel=3)
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = np.where(zero, np.nan, est / np.where(zero, 1.0, tse))
    p, logp = tail_pvalue(stat, df, alternative)
    lo, hi = interval(est, se, df, alpha, alternative)
    df = np.broadcast_to(np.asarray(df, dtype=np.float64), est.shape)
    return TestResult(_scalar(stat), _scalar(p), estimate=_scalar(est), confidence_interval=(_scalar(lo), _scalar(hi)),
                      df=_scalar(df), stderr=_scalar(se), method=method, alternative=alternative,
                      log_pvalue=_scalar(logp), extra={k: _scalar(v) for k, v in (extra or {}).items()})


def require_plain(s: Stats, name: str, func: str) -> None:
    """Tests of plain means must not silently ignore a ratio metric's denominator."""
    if "denominator" in s.columns:
        raise ValueError(f"{func}: {name} is a ratio metric (it has a denominator); use compare()")


def require_two(s: Stats, name: str, func: str) -> None:
    if np.any(s.n < 2):
        raise ValueError(f"{func}: {name} needs at least two observations; got {np.min(s.n):g}")


def welch_df(va, vb, na, nb):
    with np.errstate(invalid="ignore", divide="ignore"):
        return (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))


@validate_params(a=SAMPLE, b=SAMPLE, equal_var=BOOL, alternative=OPTIONS_ALTERNATIVE, alpha=[ALPHA])
def ttest_ind(a: Any, b: Any, *, equal_var: bool = False, alternative: str = "two-sided",
              alpha: float = 0.05) -> TestResult:
    """Two-sample t-test of the means of ``a`` and ``b``: Welch (default) or Student.

    Same statistic, p-value and confidence interval as ``scipy.stats.ttest_ind(a, b,
    equal_var=equal_var, alternative=alternative)`` (to ~1e-12), from raw arrays or from
    :class:`Stats` (batched Stats test many metrics at once).

    Parameters
    ----------
    a, b : array-like, mapping or Stats
        The two samples (``a`` is usually the treatment): 1-D arrays of the metric, or Stats.
    equal_var : bool, default False
        False: Welch's test (unequal variances, Welch-Satterthwaite df).  True: Student's test
        with the pooled variance.
    alternative : {"two-sided", "greater", "less"}
        "greater": the mean of ``a`` is larger than that of ``b``.
    alpha : float in (0, 1), default 0.05
        1 - confidence level of ``confidence_interval``.

    Returns
    -------
    TestResult
        ``statistic``, ``pvalue``, ``estimate`` (mean(a) - mean(b)), ``confidence_interval``,
        ``df``, ``stderr``.

    Notes
    -----
    Each sample needs at least two observations (SciPy returns NaN; mlsd raises).  When both
    samples are constant the standard error is zero: the statistic and p-value are NaN and a
    :class:`ZeroVarianceWarning` is issued.

    Examples
    --------
    >>> from mlsd.abtest import ttest_ind
    >>> r = ttest_ind([5.1, 4.9, 5.6, 5.8, 6.0], [4.2, 4.8, 4.4, 5.0, 4.1])
    >>> round(r.statistic, 6), round(r.pvalue, 6)
    (3.617246, 0.007197)
    """
    func = "ttest_ind"
    sa, sb = as_stats(a, "a", func), as_stats(b, "b", func)
    require_plain(sa, "a", func)
    require_plain(sb, "b", func)
    require_two(sa, "a", func)
    require_two(sb, "b", func)
    ma, mb = sa.mean[..., 0], sb.mean[..., 0]
    if equal_var:
        df = sa.n + sb.n - 2.0
        sp = (sa.comoment[..., 0, 0] + sb.comoment[..., 0, 0]) / df
        se = np.sqrt(sp * (1.0 / sa.n + 1.0 / sb.n))
        method = "Student t-test"
    else:
        va, vb = sa.var() / sa.n, sb.var() / sb.n
        se = np.sqrt(va + vb)
        df = welch_df(va, vb, sa.n, sb.n)
        method = "Welch t-test"
    return finish(ma - mb, se, df, alpha, alternative, method)


def _as_binary_stats(x: Any, name: str, func: str) -> Stats:
    if isinstance(x, tuple) and len(x) == 2:
        return counts_stats(x, name, func)
    s = as_stats(x, name, func)
    require_plain(s, name, func)
    if isinstance(x, (Stats, Mapping)):
        # a 0/1 metric has comoment = n p (1 - p); anything else is not a proportion
        p = s.mean[..., 0]
        if not np.allclose(s.comoment[..., 0, 0], s.n * p * (1 - p), rtol=1e-9, atol=1e-9 * np.max(s.n)):
            raise ValueError(f"{func}: {name} does not summarise a 0/1 metric (its variance is not p (1 - p))")
    else:
        arr = np.asarray(x, dtype=np.float64)
        bad = np.flatnonzero((arr != 0) & (arr != 1))
        if bad.size:
            raise ValueError(f"{func}: {name} must contain only 0 and 1; found {arr[bad[0]]:g} at index {bad[0]}")
    return s


@validate_params(a=[COUNTS, *SAMPLE], b=[COUNTS, *SAMPLE], pooled=BOOL, relative=BOOL,
                 alternative=OPTIONS_ALTERNATIVE, alpha=[ALPHA])
def proportions_ztest(a: Any, b: Any, *, pooled: bool = True, relative: bool = False,
                      alternative: str = "two-sided", alpha: float = 0.05) -> TestResult:
    """Two-proportion z-test, pooled or unpooled (vectorised over arrays of counts).

    Parameters
    ----------
    a, b : (successes, trials) tuple, 0/1 array or Stats
        The two arms.  The tuple's entries may be arrays, testing many metrics at once.
    pooled : bool, default True
        True: the standard error under the null uses the pooled proportion, as
        ``statsmodels.stats.proportion.proportions_ztest([s_a, s_b], [n_a, n_b])``.  False: the
        unpooled (Wald) standard error, as statsmodels ``test_proportions_2indep(...,
        method="wald")``.
    alternative : {"two-sided", "greater", "less"}
    alpha : float in (0, 1), default 0.05

    Returns
    -------
    TestResult
        ``estimate`` is p_a - p_b; its ``confidence_interval`` is the Wald interval (unpooled
        standard error) in both cases.

    Examples
    --------
    >>> from mlsd.abtest import proportions_ztest
    >>> r = proportions_ztest((120, 1000), (100, 1000))
    >>> round(r.statistic, 6), round(r.pvalue, 6)
    (1.429301, 0.152918)
    """
    func = "proportions_ztest"
    sa, sb = _as_binary_stats(a, "a", func), _as_binary_stats(b, "b", func)
    for s, name in ((sa, "a"), (sb, "b")):
        if np.any(s.n < 1):
            raise ValueError(f"{func}: {name} has no trials")
    pa, pb = sa.mean[..., 0], sb.mean[..., 0]
    va, vb = sa.comoment[..., 0, 0] / sa.n**2, sb.comoment[..., 0, 0] / sb.n**2  # p (1 - p) / n
    se = np.sqrt(va + vb)
    null_se = None
    if pooled:
        p = (sa.sum() + sb.sum()) / (sa.n + sb.n)
        null_se = np.sqrt(p * (1.0 - p) * (1.0 / sa.n + 1.0 / sb.n))
    method = "two-proportion z-test (" + ("pooled" if pooled else "unpooled") + ")"
    diff = finish(pa - pb, se, np.inf, alpha, alternative, method, null_se=null_se)
    return to_relative(diff, pa, pb, va, vb, alpha, func) if relative else diff


# ---- general comparison: means, ratios (delta method), CUPED ------------------------------------

def metric_gradient(s: Stats, num: str, den: str) -> tuple[np.ndarray, np.ndarray]:
    """Estimate (mean of num, or mean num / mean den) and its gradient in the column means."""
    g = np.zeros(s.mean.shape)
    i = s.column(num)
    if den in s.columns:
        j = s.column(den)
        md = s.mean[..., j]
        if np.any(md == 0):
            raise ValueError(f"compare: the mean of {den} is zero; the ratio metric is undefined")
        est = s.mean[..., i] / md
        g[..., i] = 1.0 / md
        g[..., j] = -est / md
    else:
        est = s.mean[..., i]
        g[..., i] = 1.0
    return est, g


def cov_form(s: Stats, g: np.ndarray, h: np.ndarray) -> np.ndarray:
    """g' Cov h with the sample covariance (ddof = 1) of the columns."""
    return np.einsum("...i,...ij,...j->...", g, s.comoment, h) / (s.n - 1.0)


@validate_params(treatment=SAMPLE, control=SAMPLE, cuped=[None, "boolean"], relative=BOOL,
                 test=[Options(("t", "z"))], alternative=OPTIONS_ALTERNATIVE, alpha=[ALPHA])
def compare(treatment: Any, control: Any, *, cuped: bool | None = None, relative: bool = False,
            test: str = "t", alternative: str = "two-sided", alpha: float = 0.05) -> TestResult:
    """Lift of ``treatment`` over ``control`` with its confidence interval and p-value.

    Handles plain means, ratio metrics (a ``denominator`` column: sum y / sum denominator, delta
    method with the covariance term) and CUPED variance reduction (a ``covariate`` column, itself
    a ratio when ``covariate_denominator`` is given), absolute or relative.

    Parameters
    ----------
    treatment, control : Stats, mapping of role -> array, or 1-D array
        Roles are "y", "denominator", "covariate", "covariate_denominator" (see :class:`Stats`).
    cuped : bool or None, default None
        Adjust with the covariate (None: when a covariate is present).
    relative : bool, default False
        False: estimate = treatment - control.  True: estimate = treatment / control - 1, with a
        delta-method interval (normal quantile); the p-value is that of the absolute difference
        (the two nulls are the same hypothesis).
    test : {"t", "z"}, default "t"
        "t": Welch-Satterthwaite degrees of freedom (a plain mean without CUPED gives exactly
        ``scipy.stats.ttest_ind(equal_var=False)``); "z": standard normal.
    alternative : {"two-sided", "greater", "less"}
    alpha : float in (0, 1), default 0.05

    Returns
    -------
    TestResult
        ``extra`` holds ``treatment_estimate`` and ``control_estimate`` (CUPED-adjusted when
        used) and, with CUPED, ``theta`` and ``variance_reduction`` (1 - variance of the adjusted
        difference / variance of the unadjusted one).

    Notes
    -----
    A metric M (a mean, or the ratio of two means) of an arm with n units has the delta-method
    variance ``g' S g / n``, g the gradient of M in the column means and S their sample
    covariance (ddof = 1).  For a ratio R = mean(y) / mean(d): ``Var(R) = (S_yy - 2 R S_yd + R^2
    S_dd) / (n mean(d)^2)`` (Deng et al., "Applying the delta method in metric analytics", 2018).

    CUPED (Deng, Xu, Kohavi and Walker, WSDM 2013) replaces M by ``M - theta (X - X_pooled)``
    with X the covariate metric and ``theta = Cov(M, X) / Var(X)`` estimated on both arms pooled
    (their merged Stats), so the same theta adjusts both arms; for ratio metrics the covariances
    are those of the delta-method linearisations.  Theta's own estimation error is ignored, as is
    usual.

    Examples
    --------
    >>> import numpy as np
    >>> from mlsd.abtest import compare
    >>> rng = np.random.default_rng(0)
    >>> x_t, x_c = rng.normal(10, 2, 5000), rng.normal(10, 2, 5000)
    >>> t = {"y": x_t + rng.normal(0.3, 1, 5000), "covariate": x_t}
    >>> c = {"y": x_c + rng.normal(0.0, 1, 5000), "covariate": x_c}
    >>> r = compare(t, c)
    >>> bool(r.pvalue < 1e-40), bool(r.extra["variance_reduction"] > 0.7)
    (True, True)
    """
    func = "compare"
    st, sc = as_stats(treatment, "treatment", func), as_stats(control, "control", func)
    if st.columns != sc.columns:
        raise ValueError(f"{func}: treatment has columns {st.columns} but control has {sc.columns}")
    require_two(st, "treatment", func)
    require_two(sc, "control", func)
    if cuped is None:
        cuped = "covariate" in st.columns
    if cuped and "covariate" not in st.columns:
        raise ValueError(f"{func}: cuped=True needs a 'covariate' column")

    est_t, g_t = metric_gradient(st, "y", "denominator")
    est_c, g_c = metric_gradient(sc, "y", "denominator")
    extra = {}
    var_raw = cov_form(st, g_t, g_t) / st.n + cov_form(sc, g_c, g_c) / sc.n
    if cuped:
        pooled = st + sc
        _, g_p = metric_gradient(pooled, "y", "denominator")
        x_p, h_p = metric_gradient(pooled, "covariate", "covariate_denominator")
        hh = cov_form(pooled, h_p, h_p)
        if np.any(hh <= 0):
            raise ValueError(f"{func}: the covariate is constant; CUPED needs a covariate with variance")
        theta = cov_form(pooled, g_p, h_p) / hh
        x_t, h_t = metric_gradient(st, "covariate", "covariate_denominator")
        x_c, h_c = metric_gradient(sc, "covariate", "covariate_denominator")
        est_t = est_t - theta * (x_t - x_p)
        est_c = est_c - theta * (x_c - x_p)
        g_t = g_t - theta[..., None] * h_t
        g_c = g_c - theta[..., None] * h_c
        extra["theta"] = theta
    v_t = cov_form(st, g_t, g_t) / st.n
    v_c = cov_form(sc, g_c, g_c) / sc.n
    if cuped:
        with np.errstate(invalid="ignore", divide="ignore"):
            extra["variance_reduction"] = 1.0 - (v_t + v_c) / var_raw
    extra["treatment_estimate"], extra["control_estimate"] = est_t, est_c
    df = welch_df(v_t, v_c, st.n, sc.n) if test == "t" else np.inf
    kind = "ratio (delta method)" if "denominator" in st.columns else "mean"
    method = f"{'Welch t' if test == 't' else 'z'}-test of {kind}{', CUPED' if cuped else ''}"
    diff = finish(est_t - est_c, np.sqrt(v_t + v_c), df, alpha, alternative, method, extra=extra)
    return to_relative(diff, est_t, est_c, v_t, v_c, alpha, func) if relative else diff


def to_relative(diff: TestResult, est_t, est_c, v_t, v_c, alpha: float, func: str) -> TestResult:
    """Turns an absolute-difference result into the relative lift est_t / est_c - 1 with a
    delta-method standard error and normal interval; the p-value (same null) is kept."""
    if np.any(est_c == 0):
        raise ValueError(f"{func}: the control estimate is zero; the relative lift is undefined")
    rel = est_t / est_c - 1.0
    se_rel = np.sqrt(v_t / est_c**2 + est_t**2 * v_c / est_c**4)
    lo, hi = interval(rel, se_rel, np.inf, alpha, diff.alternative)
    return diff._replace(estimate=_scalar(rel), stderr=_scalar(se_rel), confidence_interval=(_scalar(lo), _scalar(hi)),
                         method=diff.method + ", relative lift (delta method)")
