"""Tests on counts: chi-square goodness of fit and contingency, sample-ratio mismatch, and
multiple-testing corrections of many p-values."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from scipy import special

from .._params import ArrayLike, Check, Interval, Options, validate_params
from .._results import ResultTuple
from .._validation import InvalidParameterError, as_float_array
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


# Beyond this magnitude squares (and cubes, in the bootstrap's jackknife) of finite values overflow
# float64, so the abtest kernels rescale before squaring; below it every result keeps its usual bits.
RESCALE_ABOVE = 2.0**300


def _total(x: np.ndarray, func: str, name: str, axis: int | None = None) -> np.ndarray:
    """Sums of counts; counts whose sum exceeds float64's range are an error, not an infinity."""
    with np.errstate(over="ignore"):
        out = x.sum(axis=axis)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{func}: the sum of {name} exceeds float64's range")
    return out


def _pearson(obs: np.ndarray, exp: np.ndarray, func: str, name: str, axis: int | None = None) -> Any:
    """Pearson's sum((obs - exp)**2 / exp), over all cells (a float) or along ``axis`` (an
    array).  Counts beyond 2**300 are squared as ((obs - exp) / sqrt(exp))**2, so that only a
    statistic itself beyond float64's range (an error) can overflow: (obs - exp)**2 of counts near
    1e300 would."""
    with np.errstate(over="ignore"):
        if obs.size == 0 or max(float(np.max(obs)), float(np.max(exp))) <= RESCALE_ABOVE:
            stat = np.sum((obs - exp) ** 2 / exp, axis=axis)
        else:
            t = (obs - exp) / np.sqrt(exp)
            stat = np.sum(t * t, axis=axis)
    if not np.all(np.isfinite(stat)):
        raise ValueError(f"{func}: the chi-square statistic of {name} exceeds float64's range")
    return float(stat) if axis is None else stat


def _chi2_sf(stat: float, df: float) -> tuple[float, float]:
    """(p, log p) of a chi-square statistic from the survival function."""
    p = float(special.chdtrc(df, stat))
    if p > 0:
        return p, float(np.log(p))
    from scipy import stats as _st

    return p, float(_st.chi2.logsf(stat, df))


# SciPy's relative tolerance of chisquare's sum check: sqrt(machine epsilon) of the result dtype
_SUM_RTOL = {False: float(np.sqrt(np.finfo(np.float64).eps)), True: float(np.sqrt(np.finfo(np.float32).eps))}


def _is_ddof(v: Any) -> bool:
    if isinstance(v, (bool, np.bool_, str, bytes)) or v is None:
        return False
    if isinstance(v, Integral):
        return abs(int(v)) < 2**31
    try:
        arr = np.asarray(v)
    except Exception:
        return False
    return arr.dtype.kind in "iu" and (arr.size == 0 or bool(np.all(np.abs(arr) < 2**31)))


_AXIS = [None, Check(lambda a: isinstance(a, Integral) and not isinstance(a, (bool, np.bool_)), "an int")]


@validate_params(f_obs=[ArrayLike(ndim=None)], f_exp=[None, ArrayLike(ndim=None)],
                 ddof=[Check(_is_ddof, "an int or an array-like of ints")], axis=_AXIS, sum_check=["boolean"])
def chisquare(f_obs: Any, f_exp: Any = None, ddof: Any = 0, axis: int | None = 0, *,
              sum_check: bool = True) -> ChisquareResult:
    """Chi-square goodness-of-fit test: ``(statistic, pvalue)`` as ``scipy.stats.chisquare``
    (a :class:`ChisquareResult`), vectorised over the other axes of n-D counts.

    Parameters
    ----------
    f_obs : array-like
        Observed counts (>= 0); the categories run along ``axis``.
    f_exp : array-like, optional
        Expected counts (> 0), broadcast against ``f_obs``; each slice along ``axis`` has the same
        total as ``f_obs``'s (relative tolerance sqrt(machine epsilon), as in SciPy) unless
        ``sum_check`` is False.  Default: all categories equally likely.
    ddof : int or array-like of ints, default 0
        The p-value has ``k - 1 - ddof`` degrees of freedom (k categories); an array broadcasts
        against the statistics, as in SciPy.  Degrees of freedom < 1 give a NaN p-value.
    axis : int or None, default 0
        The axis of the categories (None: all entries are one set of categories).
    sum_check : bool, default True
        As SciPy: False skips the check that ``f_obs`` and ``f_exp`` have the same totals.

    Returns
    -------
    ChisquareResult
        ``statistic`` and ``pvalue`` (floats for one test, arrays of the other axes' shape
        otherwise; float32 counts give float32 results, as SciPy), ``dof``.

    Notes
    -----
    mlsd checks the counts where SciPy returns NaN: negative or non-finite counts, expected counts
    <= 0 and a non-empty slice of zero observations raise ValueError.  An empty slice has
    statistic 0 (SciPy's value).

    Examples
    --------
    >>> from mlsd.abtest import chisquare
    >>> stat, p = chisquare([16, 18, 16, 14, 12, 12])
    >>> round(stat, 6), round(p, 6)
    (2.0, 0.849145)
    >>> chisquare([[16, 12], [18, 20], [16, 12]], axis=0).statistic.round(6).tolist()
    [0.16, 2.909091]
    """
    func = "chisquare"
    raw_obs = np.asarray(f_obs)
    obs = _counts(raw_obs, "f_obs", func, raw_obs.ndim)
    raw_exp = None if f_exp is None else np.asarray(f_exp)
    exp = None if f_exp is None else _counts(raw_exp, "f_exp", func, raw_exp.ndim)
    # SciPy's result dtype: f_obs, f_exp and ddof promoted together (a Python int ddof is weak)
    promoted = np.result_type(raw_obs, *([] if f_exp is None else [raw_exp]),
                              ddof if type(ddof) is int else np.asarray(ddof))
    small = promoted.kind == "f" and promoted.itemsize <= 4
    # the common one-test call (1-D counts, f_exp of the same shape) skips the n-D plumbing: its
    # broadcasts and axis moves are no-ops there, costing more than the test itself
    if exp is not None and exp.shape != obs.shape:
        try:
            shape = np.broadcast_shapes(obs.shape, exp.shape)
        except ValueError:
            raise ValueError(f"{func}: f_exp of shape {exp.shape} does not broadcast against f_obs of shape "
                             f"{obs.shape}") from None
        obs, exp = np.broadcast_to(obs, shape), np.broadcast_to(exp, shape)
    if axis is None:
        obs = obs.reshape(-1)
        exp = None if exp is None else exp.reshape(-1)
        ax = 0
    else:
        if obs.ndim == 0 or not -obs.ndim <= axis < obs.ndim:
            raise InvalidParameterError(f"{func}: axis {axis} is out of bounds for f_obs of {obs.ndim} dimensions")
        ax = axis
    last = ax in (-1, obs.ndim - 1)
    if not last:
        obs = np.moveaxis(obs, ax, -1)
    k = obs.shape[-1]
    totals = _total(obs, func, "f_obs", axis=-1)
    if k and np.any(totals <= 0):
        raise ValueError(f"{func}: f_obs sums to zero along axis (a slice of categories has no observations)")
    if exp is None:
        exp = (totals / k)[..., None] if k else None  # broadcast along the categories; unused if k == 0
    else:
        if not last:
            exp = np.moveaxis(exp, ax, -1)
        if np.any(exp <= 0):
            raise ValueError(f"{func}: f_exp must be > 0")
        if sum_check and k:
            exp_totals = _total(exp, func, "f_exp", axis=-1)
            rtol = _SUM_RTOL[small]
            rel = np.abs(totals - exp_totals) / np.minimum(totals, exp_totals)
            if np.any(rel > rtol):
                # SciPy's words are quoted, for code matching its message
                raise ValueError(f"{func}: f_obs and f_exp must have the same total in every slice along axis "
                                 f"(SciPy: 'For each axis slice, the sum of the observed frequencies must agree with "
                                 f"the sum of the expected frequencies'), to a relative tolerance of {rtol:.3g}; "
                                 f"the relative differences are {rel}")
    stat = _pearson(obs, exp, func, "f_obs", axis=-1) if k else np.zeros(obs.shape[:-1])
    if obs.ndim == 1 and np.ndim(ddof) == 0 and not small:  # one test: scalars, no array plumbing
        dof1 = k - 1 - int(ddof)
        p1 = float(special.chdtrc(dof1, stat)) if dof1 >= 1 else float("nan")
        return ChisquareResult(float(stat), p1, dof=dof1)
    dof = k - 1 - np.asarray(ddof, dtype=np.float64)
    try:
        stat_b, dof_b = np.broadcast_arrays(stat, dof)
    except ValueError:
        raise ValueError(f"{func}: ddof of shape {dof.shape} does not broadcast against the statistics of shape "
                         f"{np.shape(stat)}") from None
    with np.errstate(invalid="ignore"):
        p = np.where(dof_b >= 1, special.chdtrc(np.maximum(dof_b, 1.0), stat_b), np.nan)
    out_type = np.float32 if small else np.float64

    def out(v):
        v = np.asarray(v, dtype=out_type)
        return (float(v) if out_type is np.float64 else v[()]) if v.ndim == 0 else v

    dof_out = int(dof) if np.ndim(dof) == 0 else dof.astype(np.int64)
    return ChisquareResult(out(stat), out(p), dof=dof_out)


@validate_params(observed=[ArrayLike(ndim=None)], correction=["boolean"])
def chi2_contingency(observed: Any, correction: bool = True) -> Chi2ContingencyResult:
    """Chi-square test of independence: ``(statistic, pvalue, dof, expected_freq)`` as
    ``scipy.stats.chi2_contingency`` (a :class:`Chi2ContingencyResult`; Pearson's statistic,
    Yates' correction when ``correction`` and dof == 1).  A table of any number of factors
    (dimensions) is tested for their mutual independence, as in SciPy: the expected counts are
    the product of the margins over total**(d - 1) and dof = size - sum(shape) + d - 1.  A 1-D
    table is its own expected table (no second factor), so as in SciPy the result is
    ``(0.0, 1.0, 0, observed)``.

    Examples
    --------
    >>> from mlsd.abtest import chi2_contingency
    >>> stat, p, dof, _ = chi2_contingency([[120, 880], [100, 900]])
    >>> round(stat, 6), round(p, 6), dof
    (1.843718, 0.174516, 1)
    """
    func = "chi2_contingency"
    if np.ndim(observed) == 0:
        raise ValueError(f"{func}: observed must be a table (at least 1-D); got a scalar")
    obs = _counts(observed, "observed", func, np.ndim(observed))
    if obs.size == 0:
        raise ValueError(f"{func}: observed is empty")
    if obs.ndim == 1:
        if np.any(obs == 0):
            raise ValueError(f"{func}: observed has a zero count; the expected counts would be zero")
        return Chi2ContingencyResult(0.0, 1.0, 0, obs.copy())
    d = obs.ndim
    total = _total(obs, func, "observed")
    # the product of margins near 1e300 overflows; their shares of the total cannot
    huge = total > RESCALE_ABOVE
    expected = np.full_like(obs, total) if huge else np.ones_like(obs)
    for k in range(d):  # each factor's margin, broadcast along the others
        margin = _total(obs, func, "observed", axis=tuple(j for j in range(d) if j != k))
        margin = np.expand_dims(margin, tuple(j for j in range(d) if j != k))
        if np.any(margin == 0):
            raise ValueError(f"{func}: observed has a zero margin (a slice of zeros along axis {k}); the expected "
                             "counts would be zero")
        expected = expected * (margin / total if huge else margin)
    if not huge:
        expected = expected / total ** (d - 1)
    dof = int(obs.size - sum(obs.shape) + d - 1)
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


_METHODS = ("bonferroni", "sidak", "holm", "holm-sidak", "simes-hochberg", "hommel", "fdr_bh", "fdr_by")
# statsmodels' other spellings of the methods mlsd implements (its two-stage, adaptive and local FDR
# methods are not implemented and are rejected).
_METHOD_ALIASES = {"b": "bonferroni", "bonf": "bonferroni", "s": "sidak", "h": "holm", "hs": "holm-sidak",
                   "sh": "simes-hochberg", "ho": "hommel",
                   "fdr_i": "fdr_bh", "fdr_p": "fdr_bh", "fdri": "fdr_bh", "fdrp": "fdr_bh",
                   "fdr_n": "fdr_by", "fdr_c": "fdr_by", "fdrn": "fdr_by", "fdrcorr": "fdr_by"}


def _sorted_correction(ps: np.ndarray, method: str) -> np.ndarray:
    """Corrected p-values of ascending p-values ``ps`` (not yet clipped at 1)."""
    m = ps.size
    down = np.arange(m, 0, -1)  # m, m - 1, ..., 1: the hypotheses left at each step
    if method == "holm":
        return np.maximum.accumulate(ps * down)
    if method == "holm-sidak":  # step-down with Sidak's level for the hypotheses left
        return np.maximum.accumulate(-np.expm1(down * np.log1p(-ps)))
    if method == "simes-hochberg":  # step-up
        return np.minimum.accumulate((ps * down)[::-1])[::-1]
    if method == "hommel":
        # Hommel (1988), as R's p.adjust: for each size k of the tail, the Simes level of the
        # k largest p-values caps the adjusted values from below
        adj = ps.copy()
        for k in range(m, 1, -1):
            simes = np.min(k * ps[m - k:] / np.arange(1, k + 1.0))
            adj[m - k:] = np.maximum(adj[m - k:], simes)
            adj[:m - k] = np.maximum(adj[:m - k], np.minimum(k * ps[:m - k], simes))
        return adj
    factor = np.arange(1, m + 1) / m  # fdr_bh, fdr_by: step-up
    if method == "fdr_by":
        factor = factor / np.sum(1.0 / np.arange(1, m + 1))
    return np.minimum.accumulate((ps / factor)[::-1])[::-1]


def _sorted_reject(ps: np.ndarray, adj: np.ndarray, method: str, alpha: float) -> np.ndarray:
    """statsmodels' rejections of ascending p-values ``ps``: each p-value is compared with its
    step's level (not ``adj <= alpha``, which rounding can flip at a p-value equal to its level),
    step-down methods stop at the first non-rejection, step-up ones reject up to the last."""
    m = ps.size
    down = np.arange(m, 0, -1)
    if method == "hommel":
        return adj <= alpha
    if method in ("holm", "holm-sidak"):
        level = alpha / down if method == "holm" else 1.0 - np.power(1.0 - alpha, 1.0 / down)
        keep = np.flatnonzero(ps > level)
        return np.arange(m) < (keep[0] if keep.size else m)
    if method == "simes-hochberg":
        level = alpha / down
    else:  # fdr_bh, fdr_by
        level = np.arange(1, m + 1) / m
        if method == "fdr_by":
            level = level / np.sum(1.0 / np.arange(1, m + 1))
        level = level * alpha
    hit = np.flatnonzero(ps <= level)
    return np.arange(m) <= (hit[-1] if hit.size else -1)


@validate_params(pvals=[ArrayLike(ndim=(0, 1, 2, 3), allow_empty=True)],
                 alpha=[Interval(Real, 0.0, 1.0, closed="neither")],
                 method=[Options(_METHODS + tuple(_METHOD_ALIASES))], is_sorted=["boolean"])
def multipletests(pvals: Any, alpha: float = 0.05, method: str = "hs", is_sorted: bool = False
                  ) -> MultipleTestsResult:
    """Multiple-testing correction: ``(reject, pvals_corrected, alphacSidak, alphacBonf)`` (a
    :class:`MultipleTestsResult`) as statsmodels ``multipletests`` for Bonferroni ("bonferroni",
    "b", "bonf"), Šidák ("sidak", "s"), Holm ("holm", "h"), Holm-Šidák ("holm-sidak", "hs", the
    default, as in statsmodels), Simes-Hochberg ("simes-hochberg", "sh"), Hommel ("hommel",
    "ho"), Benjamini-Hochberg ("fdr_bh", "fdr_i", "fdr_p", ...) and Benjamini-Yekutieli
    ("fdr_by", "fdr_n", "fdr_c", ...).

    ``reject`` follows statsmodels: each sorted p-value is compared with its step's level
    (``alpha / m`` for Bonferroni, ...), which agrees with ``pvals_corrected <= alpha`` except that
    a p-value equal to its level is rejected even where rounding puts its corrected value a hair
    above ``alpha`` (Hommel: ``pvals_corrected <= alpha``, as statsmodels).  Any shape is accepted; the correction runs over
    all entries (the family is the whole array).  With ``is_sorted=True`` the p-values are taken
    in the given order as already sorted ascending, as statsmodels does (no sort).  No p-values
    give empty arrays (and NaN alphas), as statsmodels.  NaN p-values are an error.
    statsmodels' two-stage and adaptive FDR methods ("fdr_tsbh", "fdr_tsbky", "fdr_gbs") and
    local FDR are not implemented.  Hommel's method costs O(m^2) for m p-values.

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
    alpha_sidak, alpha_bonf = float(1.0 - np.power(1.0 - alpha, 1.0 / m)), alpha / m
    if method == "bonferroni":
        corrected, reject = np.minimum(flat * m, 1.0), flat <= alpha_bonf
    elif method == "sidak":
        corrected, reject = np.minimum(-np.expm1(m * np.log1p(-flat)), 1.0), flat <= alpha_sidak
    else:
        order = np.arange(m) if is_sorted else np.argsort(flat, kind="stable")
        ps = flat[order]
        adj = _sorted_correction(ps, method)
        corrected, reject = np.empty(m), np.empty(m, dtype=bool)
        corrected[order] = np.minimum(adj, 1.0)
        reject[order] = _sorted_reject(ps, adj, method, alpha)
    return MultipleTestsResult(reject.reshape(p.shape), corrected.reshape(p.shape), alpha_sidak, alpha_bonf,
                               method=method, alpha=alpha)
