"""Tests on counts: chi-square goodness of fit and contingency, sample-ratio mismatch, and
multiple-testing corrections of many p-values."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from scipy import special

from .._params import ArrayLike, Check, Interval, Options, validate_params
from .._results import ResultTuple
from .._validation import as_float_array
from ._stats import Stats

__all__ = ["chisquare", "chi2_contingency", "srm_test", "multipletests", "ChisquareResult", "Chi2ContingencyResult",
           "SRMResult", "MultipleTestsResult"]


class ChisquareResult(ResultTuple):
    """Result of :func:`chisquare`: unpacks as ``(statistic, pvalue)`` (SciPy's
    ``Power_divergenceResult``); ``dof`` is the degrees of freedom of the p-value."""

    _fields = ("statistic", "pvalue")
    _extras = ("dof",)


class Chi2ContingencyResult(ResultTuple):
    """Result of :func:`chi2_contingency`: unpacks as ``(statistic, pvalue, dof, expected_freq)``
    (SciPy's ``Chi2ContingencyResult``)."""

    _fields = ("statistic", "pvalue", "dof", "expected_freq")

    def to_frame(self):
        """One row: statistic, pvalue, dof (the expected table is in ``expected_freq``)."""
        import pandas as pd

        return pd.DataFrame({"statistic": [self.statistic], "pvalue": [self.pvalue], "dof": [self.dof]})


class SRMResult(ResultTuple):
    """Sample-ratio-mismatch check: unpacks as ``(statistic, pvalue)`` (the chi-square test);
    ``observed`` and ``expected`` counts, ``mismatch`` = p-value < threshold, and ``log_pvalue``
    are attributes."""

    _fields = ("statistic", "pvalue")
    _extras = ("observed", "expected", "mismatch", "log_pvalue")

    def to_frame(self):
        """One row per variant: variant (position), observed, expected, and the test's
        statistic, pvalue and mismatch repeated."""
        import pandas as pd

        n = len(self.observed)
        return pd.DataFrame({"variant": np.arange(n), "observed": self.observed, "expected": self.expected,
                             "statistic": np.full(n, self.statistic), "pvalue": np.full(n, self.pvalue),
                             "mismatch": np.full(n, self.mismatch)})


class MultipleTestsResult(ResultTuple):
    """Result of :func:`multipletests`: unpacks as statsmodels' 4-tuple ``(reject,
    pvals_corrected, alphacSidak, alphacBonf)`` (the last two: the Šidák and Bonferroni
    per-test levels ``1 - (1 - alpha)**(1/m)`` and ``alpha / m``, NaN for no p-values);
    ``method`` and ``alpha`` are attributes."""

    _fields = ("reject", "pvals_corrected", "alphacSidak", "alphacBonf")
    _extras = ("method", "alpha")

    def to_frame(self):
        """One row per p-value (flattened in C order): reject, pvals_corrected."""
        import pandas as pd

        return pd.DataFrame({"reject": np.ravel(self.reject), "pvals_corrected": np.ravel(self.pvals_corrected)})


_COUNTS_1D = [ArrayLike(ndim=1)]


def _counts(x: Any, name: str, func: str, ndim: int) -> np.ndarray:
    arr = as_float_array(x, name, func, ndim=ndim)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{func}: {name} must be finite")
    if np.any(arr < 0):
        raise ValueError(f"{func}: {name} must be >= 0 (counts); found {arr[arr < 0].ravel()[0]:g}")
    return arr


def _total(x: np.ndarray, func: str, name: str, axis: int | None = None) -> np.ndarray:
    """Sums of counts; counts whose sum exceeds float64's range are an error, not an infinity."""
    with np.errstate(over="ignore"):
        out = x.sum(axis=axis)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{func}: the sum of {name} exceeds float64's range")
    return out


def _pearson(obs: np.ndarray, exp: np.ndarray, func: str, name: str) -> float:
    """Pearson's sum((obs - exp)**2 / exp).  Counts beyond 2**300 are squared as
    ((obs - exp) / sqrt(exp))**2, so that only a statistic itself beyond float64's range (an
    error) can overflow: (obs - exp)**2 of counts near 1e300 would."""
    with np.errstate(over="ignore"):
        if max(float(np.max(obs)), float(np.max(exp))) <= 2.0**300:
            stat = float(np.sum((obs - exp) ** 2 / exp))
        else:
            t = (obs - exp) / np.sqrt(exp)
            stat = float(np.sum(t * t))
    if not np.isfinite(stat):
        raise ValueError(f"{func}: the chi-square statistic of {name} exceeds float64's range")
    return stat


def _chi2_sf(stat: float, df: float) -> tuple[float, float]:
    """(p, log p) of a chi-square statistic from the survival function."""
    p = float(special.chdtrc(df, stat))
    if p > 0:
        return p, float(np.log(p))
    from scipy import stats as _st

    return p, float(_st.chi2.logsf(stat, df))


@validate_params(f_obs=_COUNTS_1D, f_exp=[None, ArrayLike(ndim=1)], ddof=[Interval(Integral, 0, None)],
                 sum_check=["boolean"])
def chisquare(f_obs: Any, f_exp: Any = None, ddof: int = 0, *, sum_check: bool = True) -> ChisquareResult:
    """Chi-square goodness-of-fit test: ``(statistic, pvalue)`` as ``scipy.stats.chisquare``
    (a :class:`ChisquareResult`).

    Parameters
    ----------
    f_obs : array-like of shape (k,)
        Observed counts (>= 0).
    f_exp : array-like of shape (k,), optional
        Expected counts, > 0, with the same total as ``f_obs`` (relative tolerance 1e-8, as in
        SciPy) unless ``sum_check`` is False.  Default: all categories equally likely.
    ddof : int >= 0
        The p-value has ``k - 1 - ddof`` degrees of freedom.
    sum_check : bool, default True
        As SciPy: False skips the check that ``f_obs`` and ``f_exp`` have the same total.

    Examples
    --------
    >>> from mlsd.abtest import chisquare
    >>> stat, p = chisquare([16, 18, 16, 14, 12, 12])
    >>> round(stat, 6), round(p, 6)
    (2.0, 0.849145)
    """
    func = "chisquare"
    obs = _counts(f_obs, "f_obs", func, 1)
    k = obs.shape[0]
    if k - 1 - ddof < 1:
        raise ValueError(f"{func}: f_obs needs more than 1 + ddof = {1 + ddof} categories; got {k}")
    if f_exp is None:
        exp = np.full(k, _total(obs, func, "f_obs") / k)
    else:
        exp = _counts(f_exp, "f_exp", func, 1)
        if exp.shape != obs.shape:
            raise ValueError(f"{func}: f_exp has {exp.shape[0]} elements but f_obs has {k}")
        if np.any(exp <= 0):
            raise ValueError(f"{func}: f_exp must be > 0")
        total_obs, total_exp = _total(obs, func, "f_obs"), _total(exp, func, "f_exp")
        if sum_check and abs(total_obs - total_exp) > 1e-8 * max(total_obs, total_exp):
            raise ValueError(f"{func}: f_obs and f_exp must have the same total; got {total_obs:g} and {total_exp:g}")
    if obs.sum() <= 0:
        raise ValueError(f"{func}: f_obs sums to zero")
    stat = _pearson(obs, exp, func, "f_obs")
    return ChisquareResult(stat, _chi2_sf(stat, k - 1 - ddof)[0], dof=k - 1 - ddof)


@validate_params(observed=[ArrayLike(ndim=(1, 2))], correction=["boolean"])
def chi2_contingency(observed: Any, *, correction: bool = True) -> Chi2ContingencyResult:
    """Chi-square test of independence: ``(statistic, pvalue, dof, expected_freq)`` as
    ``scipy.stats.chi2_contingency`` (a :class:`Chi2ContingencyResult`; Pearson's statistic,
    Yates' correction when ``correction`` and dof == 1).  A 1-D table is its own expected table
    (no second factor), so as in SciPy the result is ``(0.0, 1.0, 0, observed)``.

    Examples
    --------
    >>> from mlsd.abtest import chi2_contingency
    >>> stat, p, dof, _ = chi2_contingency([[120, 880], [100, 900]])
    >>> round(stat, 6), round(p, 6), dof
    (1.843718, 0.174516, 1)
    """
    func = "chi2_contingency"
    obs = _counts(observed, "observed", func, (1, 2))
    if obs.size == 0:
        raise ValueError(f"{func}: observed is empty")
    if obs.ndim == 1:
        if np.any(obs == 0):
            raise ValueError(f"{func}: observed has a zero count; the expected counts would be zero")
        return Chi2ContingencyResult(0.0, 1.0, 0, obs.copy())
    rows, cols = _total(obs, func, "observed", axis=1), _total(obs, func, "observed", axis=0)
    if np.any(rows == 0) or np.any(cols == 0):
        raise ValueError(f"{func}: observed has a row or column of zeros; the expected counts would be zero")
    total = _total(rows, func, "observed")
    if total <= 2.0**300:
        expected = np.outer(rows, cols) / total
    else:  # the product of two margins near 1e300 overflows; their share of the total cannot
        expected = np.outer(rows, cols / total)
    dof = int((obs.shape[0] - 1) * (obs.shape[1] - 1))
    if dof == 0:
        return Chi2ContingencyResult(0.0, 1.0, 0, expected)
    if dof == 1 and correction:
        diff = expected - obs
        obs = obs + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    stat = _pearson(obs, expected, func, "observed")
    return Chi2ContingencyResult(stat, _chi2_sf(stat, dof)[0], dof, expected)


def _is_stats_list(x: Any) -> bool:
    return isinstance(x, (list, tuple)) and bool(x) and all(isinstance(c, Stats) for c in x)


@validate_params(counts=[Check(_is_stats_list, "a sequence of Stats"), ArrayLike(ndim=1)],
                 weights=[None, ArrayLike(ndim=1)], threshold=[Interval(Real, 0.0, 1.0, closed="neither")])
def srm_test(counts: Any, weights: Any = None, *, threshold: float = 0.001) -> SRMResult:
    """Sample-ratio-mismatch check for any number of variants.

    A chi-square goodness-of-fit test of the units assigned to each variant against the planned
    split.  A small p-value means the assignment is broken (the test results are not to be
    trusted), so the conventional threshold is strict.

    Parameters
    ----------
    counts : array-like of shape (k,) or sequence of Stats
        Units per variant (for Stats, their ``n``).
    weights : array-like of shape (k,), optional
        Planned traffic split (any positive scale); default equal.
    threshold : float in (0, 1), default 0.001

    Examples
    --------
    >>> from mlsd.abtest import srm_test
    >>> r = srm_test([50_000, 51_000, 49_000], weights=[1, 1, 1])
    >>> float(r.statistic), r.mismatch
    (40.0, True)
    """
    func = "srm_test"
    if _is_stats_list(counts):
        counts = [float(c.n) for c in counts]
    obs = _counts(counts, "counts", func, 1)
    if obs.shape[0] < 2:
        raise ValueError(f"{func}: counts needs at least two variants; got {obs.shape[0]}")
    if weights is None:
        w = np.ones_like(obs)
    else:
        w = as_float_array(weights, "weights", func)
        if w.shape != obs.shape:
            raise ValueError(f"{func}: weights has {w.shape[0]} elements but counts has {obs.shape[0]}")
        if not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError(f"{func}: weights must be finite and > 0")
    total = _total(obs, func, "counts")
    if total <= 0:
        raise ValueError(f"{func}: counts sums to zero")
    w = w / w.max()  # weights of any positive scale, even near float64's largest
    expected = total * w / w.sum()
    stat = _pearson(obs, expected, func, "counts")
    p, logp = _chi2_sf(stat, obs.shape[0] - 1)
    return SRMResult(stat, p, observed=obs, expected=expected, mismatch=bool(p < threshold), log_pvalue=logp)


_METHODS = ("bonferroni", "holm", "fdr_bh", "fdr_by")
# statsmodels' other spellings of the methods mlsd implements (its Šidák, Holm-Šidák,
# Simes-Hochberg, Hommel, two-stage and local FDR methods are not implemented and are rejected).
_METHOD_ALIASES = {"b": "bonferroni", "bonf": "bonferroni", "h": "holm",
                   "fdr_i": "fdr_bh", "fdr_p": "fdr_bh", "fdri": "fdr_bh", "fdrp": "fdr_bh",
                   "fdr_n": "fdr_by", "fdr_c": "fdr_by", "fdrn": "fdr_by", "fdrcorr": "fdr_by"}


@validate_params(pvals=[ArrayLike(ndim=(0, 1, 2, 3), allow_empty=True)],
                 alpha=[Interval(Real, 0.0, 1.0, closed="neither")],
                 method=[Options(_METHODS + tuple(_METHOD_ALIASES))], is_sorted=["boolean"])
def multipletests(pvals: Any, alpha: float = 0.05, method: str = "holm", is_sorted: bool = False
                  ) -> MultipleTestsResult:
    """Multiple-testing correction: ``(reject, pvals_corrected, alphacSidak, alphacBonf)`` (a
    :class:`MultipleTestsResult`) as statsmodels ``multipletests`` for Bonferroni ("bonferroni",
    "b", "bonf"), Holm ("holm", "h"), Benjamini-Hochberg ("fdr_bh", "fdr_i", "fdr_p", ...) and
    Benjamini-Yekutieli ("fdr_by", "fdr_n", "fdr_c", ...).

    ``reject`` is ``pvals_corrected <= alpha``.  Any shape is accepted; the correction runs over
    all entries (the family is the whole array).  With ``is_sorted=True`` the p-values are taken
    in the given order as already sorted ascending, as statsmodels does (no sort).  No p-values
    give empty arrays (and NaN alphas), as statsmodels.  NaN p-values are an error.  The
    default method stays "holm" (statsmodels' default, Holm-Šidák, is not implemented).

    Examples
    --------
    >>> from mlsd.abtest import multipletests
    >>> reject, corrected, _, _ = multipletests([0.01, 0.02, 0.03, 0.5], method="fdr_bh")
    >>> corrected.tolist()
    [0.04, 0.04, 0.04, 0.5]
    """
    func = "multipletests"
    method = _METHOD_ALIASES.get(method, method)
    p = as_float_array(pvals, "pvals", func, ndim=(0, 1, 2, 3))
    if not np.all((p >= 0) & (p <= 1)):  # also rejects NaN
        raise ValueError(f"{func}: pvals must be within [0, 1]; found {p[~((p >= 0) & (p <= 1))].ravel()[0]}")
    flat = p.ravel()
    m = flat.size
    if m == 0:
        return MultipleTestsResult(np.zeros(p.shape, dtype=bool), p.copy(), np.nan, np.nan, method=method,
                                   alpha=alpha)
    if method == "bonferroni":
        corrected = np.minimum(flat * m, 1.0)
    else:
        order = np.arange(m) if is_sorted else np.argsort(flat, kind="stable")
        ps = flat[order]
        if method == "holm":
            adj = np.maximum.accumulate(ps * np.arange(m, 0, -1))
        else:
            factor = np.arange(1, m + 1) / m
            if method == "fdr_by":
                factor = factor / np.sum(1.0 / np.arange(1, m + 1))
            adj = np.minimum.accumulate((ps / factor)[::-1])[::-1]
        corrected = np.empty(m)
        corrected[order] = np.minimum(adj, 1.0)
    corrected = corrected.reshape(p.shape)
    return MultipleTestsResult(corrected <= alpha, corrected, float(1.0 - np.power(1.0 - alpha, 1.0 / m)), alpha / m,
                               method=method, alpha=alpha)
