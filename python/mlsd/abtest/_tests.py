"""Two-sample tests on Stats: t/z tests, proportions, lifts, ratio metrics (delta method), CUPED."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from numbers import Real
from typing import Any

import numpy as np
from scipy import special

from .._params import ArrayLike, Check, Interval, Options, PeerWording, validate_params
from .._results import ResultTuple
from ._samples import AXIS, NAN_POLICY, SAMPLE_ARRAY, SmallSampleWarning, as_samples, row_moments, warn_small
from ._stats import Stats, as_stats, counts_stats

__all__ = ["TestResult", "ConfidenceInterval", "SmallSampleWarning", "ZeroVarianceWarning", "ttest_ind", "proportions_ztest", "compare"]

ALTERNATIVES = ("two-sided", "greater", "less")


class ZeroVarianceWarning(RuntimeWarning):
    """The standard error of a test statistic is zero; the p-value is NaN (as in SciPy)."""


class ConfidenceInterval(tuple):
    """``(low, high)``: the interval at the level the test was run with (``1 - alpha``), which
    unpacks and indexes as a tuple and has ``.low`` and ``.high`` (SciPy's
    ``ConfidenceInterval``).  Calling it gives the interval at another level, as SciPy's
    ``res.confidence_interval(confidence_level=0.95)`` method does."""

    def __new__(cls, low, high, *, estimate=None, stderr=None, df=None, alternative="two-sided"):
        self = super().__new__(cls, (low, high))
        self.__dict__.update(_estimate=estimate, _stderr=stderr, _df=df, _alternative=alternative)
        return self

    @property
    def low(self):
        """Lower bound."""
        return self[0]

    @property
    def high(self):
        """Upper bound."""
        return self[1]

    def __repr__(self) -> str:
        return f"ConfidenceInterval(low={self[0]!r}, high={self[1]!r})"

    def __reduce__(self):
        d = self.__dict__
        return (_rebuild_ci, (self[0], self[1], d.get("_estimate"), d.get("_stderr"), d.get("_df"),
                              d.get("_alternative", "two-sided")))

    @validate_params(confidence_level=[Interval(Real, 0.0, 1.0, closed="neither"),
                                       PeerWording("SciPy", "`confidence_level` must be a number between 0 and 1.")])
    def __call__(self, confidence_level: float = 0.95) -> "ConfidenceInterval":
        """The interval at ``confidence_level`` (one-sided for one-sided alternatives, as in SciPy)."""
        d = self.__dict__
        if d.get("_stderr") is None:  # a test without an interval (rank tests): NaN at any level
            return ConfidenceInterval(self[0], self[1])
        est = np.asarray(d["_estimate"], dtype=np.float64)
        lo, hi = interval(est, np.asarray(d["_stderr"], dtype=np.float64), d["_df"], 1.0 - confidence_level,
                          d["_alternative"])
        return ConfidenceInterval(_scalar(lo), _scalar(hi), estimate=d["_estimate"], stderr=d["_stderr"],
                                  df=d["_df"], alternative=d["_alternative"])


def _rebuild_ci(low, high, estimate, stderr, df, alternative):
    return ConfidenceInterval(low, high, estimate=estimate, stderr=stderr, df=df, alternative=alternative)


class TestResult(ResultTuple):
    """Result of a two-sample test; every field is a float, or an array for batched Stats.

    Unpacks as ``(statistic, pvalue)``, like SciPy's results (``stat, p = ttest_ind(a, b)``); the
    other fields are attributes.  ``estimate`` is the treatment-minus-control difference
    (``a - b``) and ``confidence_interval`` its interval ``(low, high)`` at level ``1 - alpha``
    (one-sided for one-sided alternatives, as in SciPy), a :class:`ConfidenceInterval` that is
    also SciPy's method: ``res.confidence_interval(confidence_level=0.99)``.  ``log_pvalue`` is the natural logarithm
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
# SciPy's words in its t-tests (scipy.stats._stats_py), for code that matches them
SCIPY_TTEST_ALTERNATIVE = [*OPTIONS_ALTERNATIVE,
                           PeerWording("SciPy", "`alternative` must be 'less', 'greater', or 'two-sided'.")]
# ... and in its rank tests (mannwhitneyu, wilcoxon)
SCIPY_RANK_ALTERNATIVE = [*OPTIONS_ALTERNATIVE,
                          PeerWording("SciPy", "`alternative` must be one of {'two-sided', 'less', 'greater'}.")]
# statsmodels' spellings (its proportions_ztest takes "larger"/"smaller"; "2-sided", "2s", "l" and
# "s" are aliases it still accepts with a FutureWarning, as mlsd's proportions_ztest does)
_SM_ALTERNATIVES = {"larger": "greater", "smaller": "less"}
_SM_DEPRECATED = {"2-sided": "two-sided", "2s": "two-sided", "l": "larger", "s": "smaller"}


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
    # the open side is unbounded, unless the problem itself is undefined (NaN propagated): NaN, as SciPy
    inf = np.where(np.isnan(est) | np.isnan(se), np.nan, np.inf)
    if alternative == "greater":
        return est - q * se, inf
    return -inf, est + q * se


def _scalar(x):
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x


def finish(est, se, df, alpha, alternative, method, *, null_se=None, extra=None, warn_zero=None) -> TestResult:
    """Statistic, p-value and interval of an estimate with standard error se (and df).  The test
    statistic uses ``null_se`` when given (pooled proportions), the interval always ``se``.  A zero
    standard error warns where ``warn_zero`` (default: everywhere) is True."""
    est = np.asarray(est, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    tse = se if null_se is None else np.asarray(null_se, dtype=np.float64)
    zero = tse == 0
    if warn_zero is not None:
        zero = zero & warn_zero
    if np.any(zero):
        # SciPy warns "Precision loss occurred in moment calculation ..." here; its words are quoted
        # so that code filtering SciPy's warning by its message filters mlsd's too
        warnings.warn("Precision loss occurred in moment calculation (SciPy's warning here): the data are "
                      "constant, so the standard error is zero and the statistic is +-inf (p = 0), as in SciPy",
                      ZeroVarianceWarning, stacklevel=3)
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = est / tse  # zero standard error: +-inf, or NaN for 0 / 0 (SciPy's values)
    p, logp = tail_pvalue(stat, df, alternative)
    df = np.broadcast_to(np.asarray(df, dtype=np.float64), est.shape)
    return TestResult(_scalar(stat), _scalar(p), estimate=_scalar(est),
                      confidence_interval=make_interval(est, se, df, alpha, alternative),
                      df=_scalar(df), stderr=_scalar(se), method=method, alternative=alternative,
                      log_pvalue=_scalar(logp), extra={k: _scalar(v) for k, v in (extra or {}).items()})


def make_interval(est, se, df, alpha: float, alternative: str) -> ConfidenceInterval:
    """The interval at level 1 - alpha, callable for any other level."""
    with np.errstate(invalid="ignore"):
        lo, hi = interval(est, se, df, alpha, alternative)
    return ConfidenceInterval(_scalar(lo), _scalar(hi), estimate=_scalar(est), stderr=_scalar(se),
                              df=_scalar(np.asarray(df, dtype=np.float64)), alternative=alternative)


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


def _is_raw(x: Any) -> bool:
    return not isinstance(x, (Stats, Mapping))


RAW_SAMPLE = [Stats, Mapping, SAMPLE_ARRAY]  # a Stats, a mapping of role -> array, or raw samples (any shape)


def _ttest_moments(na, ma, m2a, nb, mb, m2b, equal_var: bool, alpha: float, alternative: str,
                   warn_zero=None) -> TestResult:
    """The t-test from counts, means and centred sums of squares (any batch shape)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if equal_var:
            df = na + nb - 2.0
            sp = (m2a + m2b) / df
            se = np.sqrt(sp * (1.0 / na + 1.0 / nb))
            method = "Student t-test"
        else:
            va, vb = m2a / (na - 1.0) / na, m2b / (nb - 1.0) / nb
            se = np.sqrt(va + vb)
            # zero variances leave df undefined; any df gives the same +-inf or NaN statistic (SciPy: 1)
            # (only there: a problem with NaN, propagated, keeps df NaN as in SciPy)
            wdf = welch_df(va, vb, na, nb)
            df = np.where(np.isnan(wdf) & (va + vb == 0), 1.0, wdf)
            method = "Welch t-test"
    return finish(ma - mb, se, df, alpha, alternative, method, warn_zero=warn_zero)


def _trimmed_moments(a: np.ndarray, trim: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Yuen's (h, trimmed mean, (h - 1) x winsorized variance) of each row, as SciPy's
    ``ttest_ind(trim=...)``: g = floor(n trim) values cut (trimmed mean) or replaced by their
    neighbour (winsorized variance, ddof 2g + 1) on each side; h = n - 2g.  NaN (left by
    ``nan_policy="omit"``) are skipped row by row."""
    rows = a.shape[0]
    h, mean, m2 = np.full(rows, np.nan), np.full(rows, np.nan), np.full(rows, np.nan)
    nan = np.isnan(a).any(axis=1)
    groups = [(np.flatnonzero(~nan), np.sort(a[~nan], axis=1))] if np.any(~nan) else []
    groups += [(np.array([i]), np.sort(a[i][~np.isnan(a[i])])[None, :]) for i in np.flatnonzero(nan)]
    for idx, x in groups:
        n = x.shape[1]
        if n == 0:
            continue
        g = int(n * trim)
        win = x.copy()
        if g:
            win[:, :g] = x[:, [g]]
            win[:, n - g:] = x[:, [n - g - 1]]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean[idx] = x[:, g:n - g].mean(axis=1) if n - 2 * g > 0 else np.nan
            # the winsorized sum of squares: divided by h - 1 below, SciPy's ddof = 2g + 1
            m2[idx] = ((win - win.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
        h[idx] = n - 2 * g
    return h, mean, m2


@validate_params(a=RAW_SAMPLE, b=RAW_SAMPLE, axis=AXIS, equal_var=BOOL, nan_policy=NAN_POLICY,
                 alternative=SCIPY_TTEST_ALTERNATIVE,
                 trim=[Interval(Real, 0.0, 0.5, closed="left"),
                       PeerWording("SciPy", "Trimming percentage should be 0 <= `trim` < .5.")], keepdims=BOOL,
                 alpha=[ALPHA])
def ttest_ind(a: Any, b: Any, *, axis: int | None = 0, equal_var: bool = True, nan_policy: str = "propagate",
              alternative: str = "two-sided", trim: float = 0, keepdims: bool = False,
              alpha: float = 0.05) -> TestResult:
    """Two-sample t-test of the means of ``a`` and ``b``: Student (default, as SciPy) or Welch.

    Same statistic, p-value, df and confidence interval as ``scipy.stats.ttest_ind(a, b,
    axis=axis, equal_var=equal_var, nan_policy=nan_policy, alternative=alternative)`` (to
    ~1e-12), from raw samples (any shape, tested along ``axis``) or from :class:`Stats` (batched
    Stats test many metrics at once).

    Parameters
    ----------
    a, b : array-like, mapping or Stats
        The two samples (``a`` is usually the treatment): arrays of the metric (scalars and n-D
        arrays as in SciPy: the test runs along ``axis``, the other dimensions broadcast), or Stats.
    axis : int or None, default 0
        The axis of raw samples along which to test (None: ravel them).
    equal_var : bool, default True
        True: Student's test with the pooled variance.  False: Welch's test (unequal variances,
        Welch-Satterthwaite df).
    nan_policy : {"propagate", "omit", "raise"}, default "propagate"
        NaN in raw samples: NaN results, dropped, or ValueError (as SciPy).
    alternative : {"two-sided", "greater", "less"}
        "greater": the mean of ``a`` is larger than that of ``b``.
    trim : float in [0, 0.5), default 0
        As SciPy: Yuen's trimmed t-test, cutting ``floor(n * trim)`` observations from each end
        of each raw sample (trimmed means, winsorized variances, ``h = n - 2g`` degrees); 0 is
        the ordinary t-test.  Raw samples only.
    keepdims : bool, default False
        Keep the tested axis (length 1) in the results of raw samples.
    alpha : float in (0, 1), default 0.05
        1 - confidence level of ``confidence_interval`` (call it for another level:
        ``res.confidence_interval(confidence_level=0.99)``, as in SciPy).

    Returns
    -------
    TestResult
        ``statistic``, ``pvalue``, ``estimate`` (mean(a) - mean(b)), ``confidence_interval``,
        ``df``, ``stderr``.

    Notes
    -----
    Raw samples follow SciPy: a sample with fewer than two observations (after NaN were
    handled) gives NaN with a :class:`SmallSampleWarning`; when both samples are constant the
    standard error is zero and the statistic is -inf or inf (p = 0) if the means differ, NaN if
    they are equal, with a :class:`ZeroVarianceWarning` (a RuntimeWarning, as SciPy's).  A
    :class:`Stats` with fewer than two observations raises ValueError.

    Examples
    --------
    >>> from mlsd.abtest import ttest_ind
    >>> r = ttest_ind([5.1, 4.9, 5.6, 5.8, 6.0], [4.2, 4.8, 4.4, 5.0, 4.1], equal_var=False)
    >>> round(r.statistic, 6), round(r.pvalue, 6)
    (3.617246, 0.007197)
    >>> ci = r.confidence_interval(confidence_level=0.99)
    >>> round(ci.low, 4), round(ci.high, 4)
    (0.0621, 1.8979)
    """
    func = "ttest_ind"
    if _is_raw(a) and _is_raw(b):
        sm = as_samples((a, b), ("a", "b"), func, axis=axis, nan_policy=nan_policy, keepdims=keepdims)
        if trim:
            (na, ma, m2a), (nb, mb, m2b) = _trimmed_moments(sm.arrays[0], trim), _trimmed_moments(sm.arrays[1], trim)
        else:
            (na, ma, m2a), (nb, mb, m2b) = row_moments(sm, 0, func), row_moments(sm, 1, func)
        bad = sm.nan_rows | (na < 1) | (nb < 1)
        warn_small(~sm.nan_rows & ((na < 1) | (nb < 1)), func, 1, sm)
        na, nb = np.where(bad, np.nan, na), np.where(bad, np.nan, nb)
        # SciPy warns of precision loss for constant samples unless they are all zeros
        r = _ttest_moments(na, ma, m2a, nb, mb, m2b, equal_var, alpha, alternative,
                           warn_zero=(ma != 0) | (mb != 0))
        return reshape_result(r, sm)
    if trim:
        raise ValueError(f"{func}: trim needs raw samples (a trimmed mean is not a function of Stats)")
    sa, sb = as_stats(a, "a", func), as_stats(b, "b", func)
    require_plain(sa, "a", func)
    require_plain(sb, "b", func)
    require_two(sa, "a", func)
    require_two(sb, "b", func)
    return _ttest_moments(sa.n, sa.mean[..., 0], sa.comoment[..., 0, 0], sb.n, sb.mean[..., 0],
                          sb.comoment[..., 0, 0], equal_var, alpha, alternative)


def reshape_result(r: TestResult, sm) -> TestResult:
    """A row-batched result in the samples' batch shape (floats for one problem)."""
    ci = r.confidence_interval
    d = ci.__dict__
    out = {k: sm.out(getattr(r, k)) for k in ("statistic", "pvalue", "estimate", "df", "stderr", "log_pvalue")}
    interval_ = ConfidenceInterval(sm.out(ci[0]), sm.out(ci[1]), estimate=out["estimate"], stderr=out["stderr"],
                                   df=sm.out(np.broadcast_to(d["_df"], np.shape(r.estimate))),
                                   alternative=d["_alternative"])
    return r._replace(**out, confidence_interval=interval_)


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


_COUNT = Interval(Real, 0.0, np.inf, closed="left")  # statsmodels' one-sample form: count, nobs


@validate_params(a=[COUNTS, *SAMPLE, _COUNT], b=[COUNTS, *SAMPLE, _COUNT], value=[None, Interval(Real, -1.0, 1.0)],
                 pooled=BOOL, relative=BOOL,
                 alternative=[Options(ALTERNATIVES + tuple(_SM_ALTERNATIVES) + tuple(_SM_DEPRECATED)),
                              PeerWording("statsmodels", "alternative must be one of: 'two-sided', 'larger', "
                                                         "'smaller', '2-sided', '2s', 'l', 's'")],
                 alpha=[ALPHA],
                 prop_var=[Check(lambda v: v is False, "False"), Interval(Real, 0.0, 1.0, closed="neither")])
def proportions_ztest(a: Any, b: Any, value: float | None = None, *, pooled: bool = True, relative: bool = False,
                      alternative: str = "two-sided", alpha: float = 0.05, prop_var: float | bool = False
                      ) -> TestResult:
    """Two-proportion z-test, pooled or unpooled (vectorised over arrays of counts); or, in
    statsmodels' one-sample form ``proportions_ztest(count, nobs, value)``, the z-test of one
    proportion against ``value``.

    Parameters
    ----------
    a, b : (successes, trials) tuple, 0/1 array or Stats; or two numbers (count, nobs)
        The two arms.  The tuple's entries may be arrays, testing many metrics at once.  Two
        numbers are statsmodels' one-sample form: ``a`` successes out of ``b`` trials.
    value : float, optional
        The null proportion of the one-sample form (required there, as in statsmodels); for two
        arms only None or 0 (the null difference).
    pooled : bool, default True
        True: the standard error under the null uses the pooled proportion, as
        ``statsmodels.stats.proportion.proportions_ztest([s_a, s_b], [n_a, n_b])``.  False: the
        unpooled (Wald) standard error, as statsmodels ``test_proportions_2indep(...,
        method="wald")``.
    alternative : {"two-sided", "greater", "less"}
        statsmodels' names are accepted too: "larger" is "greater", "smaller" is "less"; its
        older aliases "2-sided", "2s", "l" and "s" with statsmodels' FutureWarning.
    alpha : float in (0, 1), default 0.05
    prop_var : False or float in (0, 1), default False
        As statsmodels: the proportion of the null variance p (1 - p) (False: the sample's
        proportion in the one-sample form, the pooled one for two arms).

    Returns
    -------
    TestResult
        ``estimate`` is p_a - p_b (one sample: p - value); its ``confidence_interval`` is the Wald
        interval (unpooled standard error) in all cases.  Unpacks and indexes as
        ``(statistic, pvalue)``, statsmodels' tuple.

    Examples
    --------
    >>> from mlsd.abtest import proportions_ztest
    >>> r = proportions_ztest((120, 1000), (100, 1000))
    >>> round(r.statistic, 6), round(r.pvalue, 6)
    (1.429301, 0.152918)
    >>> stat, p = proportions_ztest(45, 100, value=0.5)
    >>> round(stat, 6), round(p, 6)
    (-1.005038, 0.314879)
    """
    func = "proportions_ztest"
    if alternative not in ALTERNATIVES:
        alternative = _statsmodels_alternative(alternative)
    one_sample = _is_number(a) and _is_number(b)
    if one_sample or _is_number(a) or _is_number(b):
        if not one_sample:
            raise ValueError(f"{func}: a and b must both be numbers (statsmodels' one-sample form count, nobs) "
                             f"or both arms; got {type(a).__name__} and {type(b).__name__}")
        if relative:
            raise ValueError(f"{func}: relative applies to two arms, not to the one-sample form")
        return _one_proportion(float(a), float(b), value, prop_var, alternative, alpha, func)
    if value not in (None, 0):
        raise ValueError(f"{func}: value (the null proportion) applies to the one-sample form "
                         f"proportions_ztest(count, nobs, value); two arms test a zero difference; got {value!r}")
    sa, sb = _as_binary_stats(a, "a", func), _as_binary_stats(b, "b", func)
    for s, name in ((sa, "a"), (sb, "b")):
        if np.any(s.n < 1):
            raise ValueError(f"{func}: {name} has no trials")
    pa, pb = sa.mean[..., 0], sb.mean[..., 0]
    va, vb = sa.comoment[..., 0, 0] / sa.n**2, sb.comoment[..., 0, 0] / sb.n**2  # p (1 - p) / n
    se = np.sqrt(va + vb)
    null_se = None
    if pooled:
        p = (sa.sum() + sb.sum()) / (sa.n + sb.n) if prop_var is False else prop_var
        null_se = np.sqrt(p * (1.0 - p) * (1.0 / sa.n + 1.0 / sb.n))
    method = "two-proportion z-test (" + ("pooled" if pooled else "unpooled") + ")"
    diff = finish(pa - pb, se, np.inf, alpha, alternative, method, null_se=null_se)
    return to_relative(diff, pa, pb, va, vb, alpha, func) if relative else diff


def _statsmodels_alternative(alternative: str) -> str:
    """SciPy's name of a statsmodels spelling of ``alternative`` (warning as statsmodels 0.15
    does for its deprecated aliases)."""
    if alternative in _SM_DEPRECATED:
        new = _SM_DEPRECATED[alternative]
        warnings.warn(f"alternative={alternative!r} is a deprecated alias for alternative={new!r} (statsmodels' "
                      "alias, which statsmodels removes after its 0.16)", FutureWarning, stacklevel=4)
        alternative = new
    return _SM_ALTERNATIVES.get(alternative, alternative)


def _is_number(x: Any) -> bool:
    return isinstance(x, Real) and not isinstance(x, (bool, np.bool_))


def _one_proportion(count: float, nobs: float, value, prop_var, alternative: str, alpha: float,
                    func: str) -> TestResult:
    """statsmodels' one-sample z-test of count / nobs against value; the null variance uses
    prop_var, or the sample's proportion as statsmodels does by default."""
    if value is None:
        raise ValueError(f"{func}: value (the null proportion) is required for the one-sample form "
                         "proportions_ztest(count, nobs, value), as in statsmodels")
    if nobs <= 0:
        raise ValueError(f"{func}: b (nobs) must be > 0; got {nobs:g}")
    if count > nobs:
        raise ValueError(f"{func}: a (count) must be <= b (nobs); got {count:g} > {nobs:g}")
    prop = count / nobs
    p_null = prop if prop_var is False else prop_var
    se = np.sqrt(prop * (1.0 - prop) / nobs)
    null_se = np.sqrt(p_null * (1.0 - p_null) / nobs)
    return finish(prop - value, se, np.inf, alpha, alternative, "one-proportion z-test", null_se=null_se)


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
    return diff._replace(estimate=_scalar(rel), stderr=_scalar(se_rel),
                         confidence_interval=make_interval(rel, se_rel, np.inf, alpha, diff.alternative),
                         method=diff.method + ", relative lift (delta method)")
