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
from ._samples import AXIS, NAN_POLICY, as_samples
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


def _pearson(obs: np.ndarray, exp: Any, func: str, name: str, axis: int | None = None,
             bound: float | None = None) -> Any:
    """Pearson's sum((obs - exp)**2 / exp), over all cells (a float) or along ``axis`` (an
    array): the one home of the chi-square statistic.  Counts beyond 2**300 are squared as
    ((obs - exp) / sqrt(exp))**2, so that only a statistic itself beyond float64's range (an
    error) can overflow: (obs - exp)**2 of counts near 1e300 would; other counts keep SciPy's
    bits.  ``bound``, an upper bound of every count that the caller already knows (e.g. their
    totals), spares the scan of the counts when it is at most 2**300."""
    if bound is not None and bound <= RESCALE_ABOVE:
        big = False
    else:
        big = obs.size > 0 and max(float(np.max(obs)), float(np.max(exp))) > RESCALE_ABOVE
    with np.errstate(over="ignore"):  # (a tiny exp can overflow the quotient even when not big)
        stat = _pearson_sum(obs, exp, axis, big)
    _check_statistic(stat, func, name)
    return float(stat) if axis is None else stat


def _pearson_sum(obs: np.ndarray, exp: Any, axis: int | None, rescale: bool) -> Any:
    """The sum itself, unchecked: (obs - exp)**2 / exp with one temporary, or ((obs - exp) /
    sqrt(exp))**2 when ``rescale``."""
    t = obs - exp
    if rescale:
        np.divide(t, np.sqrt(exp), out=t)
        np.square(t, out=t)
    else:
        np.square(t, out=t)
        np.divide(t, exp, out=t)
    return np.add.reduce(t, axis=axis)


def _check_statistic(stat: Any, func: str, name: str) -> None:
    """A chi-square statistic beyond float64's range (infinite) is an error, not an infinity."""
    if not np.all(np.isfinite(stat)):
        raise ValueError(f"{func}: the chi-square statistic of {name} exceeds float64's range")


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
    """A finite real number (an int or a float, as SciPy takes) or an array-like of them."""
    if isinstance(v, (bool, np.bool_, str, bytes)) or v is None:
        return False
    if isinstance(v, Integral):
        return abs(int(v)) < 2**31
    if isinstance(v, Real):
        return bool(abs(float(v)) < 2**31)  # False for NaN and inf
    try:
        arr = np.asarray(v)
    except Exception:
        return False
    return arr.dtype.kind in "iuf" and (arr.size == 0 or bool(np.all(np.abs(arr) < 2**31)))


def _dof_out(dof: np.ndarray) -> Any:
    """Degrees of freedom as SciPy's ddof gives them: ints for whole numbers, floats otherwise."""
    whole = bool(np.all(dof == np.floor(dof)))
    if np.ndim(dof) == 0:
        return int(dof) if whole else float(dof)
    return dof.astype(np.int64) if whole else dof


@validate_params(f_obs=[ArrayLike(ndim=None)], f_exp=[None, ArrayLike(ndim=None)],
                 ddof=[Check(_is_ddof, "a finite number or an array-like of finite numbers")], axis=AXIS,
                 sum_check=["boolean"], nan_policy=NAN_POLICY, keepdims=["boolean"])
def chisquare(f_obs: Any, f_exp: Any = None, ddof: Any = 0, axis: int | None = 0, *, sum_check: bool = True,
              nan_policy: str = "propagate", keepdims: bool = False) -> ChisquareResult:
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
    ddof : float or array-like of floats, default 0
        The p-value has ``k - 1 - ddof`` degrees of freedom (k categories); an array broadcasts
        against the statistics, as in SciPy (with ``keepdims``, against the reduced statistics, the
        reduced axes then put back into the p-values, as SciPy does).  As SciPy: negative degrees of freedom give a NaN
        p-value, and 0 gives p = 0 for a positive statistic (NaN for 0).
    axis : int or None, default 0
        The axis of the categories (None: all entries are one set of categories).
    sum_check : bool, default True
        As SciPy: False skips the check that ``f_obs`` and ``f_exp`` have the same totals.
    nan_policy : {"propagate", "omit", "raise"}, default "propagate"
        As SciPy: a slice with a NaN count (observed or expected) gets a NaN statistic and p-value;
        "omit" leaves out the categories whose observed or expected count is NaN (so k counts the
        others); "raise" raises ValueError.
    keepdims : bool, default False
        As SciPy: the results keep the categories' axis, with length 1.

    Returns
    -------
    ChisquareResult
        ``statistic`` and ``pvalue`` (floats for one test, arrays of the other axes' shape
        otherwise; float32 counts give float32 results, as SciPy), ``dof`` (ints, or floats for
        a fractional ``ddof``).

    Notes
    -----
    mlsd checks the counts where SciPy returns NaN or a number without meaning: negative or
    infinite counts, expected counts <= 0 and a non-empty slice of zero observations raise
    ValueError.  An empty slice has statistic 0 (SciPy's value).

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
    # SciPy's result dtype: f_obs, f_exp and ddof promoted together (a Python number ddof is weak)
    promoted = np.result_type(f_obs, *([] if f_exp is None else [f_exp]),
                              ddof if type(ddof) in (int, float) else np.asarray(ddof))
    small = promoted.kind == "f" and promoted.itemsize <= 4
    # the common one-test call (1-D counts) skips the n-D plumbing and the checks' array passes,
    # which cost more than the test itself; its numbers are the batched path's bit for bit
    stat = None
    if f_obs.ndim == 1 and axis in (0, -1, None) and not keepdims and (f_exp is None or f_exp.shape == f_obs.shape):
        stat = _pearson_1d(np.ascontiguousarray(f_obs, dtype=np.float64),
                           None if f_exp is None else np.ascontiguousarray(f_exp, dtype=np.float64), sum_check, small)
    if stat is not None:
        k = f_obs.shape[0]
        if np.ndim(ddof) == 0 and not small:  # one test: scalars, no array plumbing
            # in float64, as the batched path and SciPy (a NumPy float32 ddof would compute it in float32)
            dof1 = k - 1 - float(ddof)
            return ChisquareResult(stat, float(special.chdtrc(dof1, stat)),
                                   dof=int(dof1) if dof1 == int(dof1) else float(dof1))
        stat, k_b = np.asarray(stat), np.asarray(float(k))
    else:
        # (the counts are checked row by row in _chisquare_rows, from the sums as_samples takes)
        obs = as_float_array(f_obs, "f_obs", func, ndim=f_obs.ndim)
        exp = None if f_exp is None else as_float_array(f_exp, "f_exp", func, ndim=f_exp.ndim)
        # paired samples broadcast against each other along an axis; with axis=None SciPy ravels each
        # first (as_samples does), so a (2, 3) table and an f_exp of 3 do not pair, one of 6 does
        if exp is not None and exp.shape != obs.shape and axis is not None:
            try:
                shape = np.broadcast_shapes(obs.shape, exp.shape)
            except ValueError:
                raise ValueError(f"{func}: f_exp of shape {exp.shape} does not broadcast against f_obs of shape "
                                 f"{obs.shape} (SciPy: Array shapes are incompatible for broadcasting.)") from None
            obs, exp = np.broadcast_to(obs, shape), np.broadcast_to(exp, shape)
        sm = as_samples([obs] if exp is None else [obs, exp], ["f_obs", "f_exp"], func, axis=axis,
                        nan_policy=nan_policy, paired=True, keepdims=keepdims)
        stat_rows, k_rows = _chisquare_rows(sm, sum_check, small, func)
        stat, k_b = sm.shaped(stat_rows), sm.shaped(k_rows)
    if np.size(stat) == 0:
        # no slice to test: SciPy's decorator returns empty results of the counts' dtype without
        # calling the test, so ddof (its shape and its dtype) plays no part
        counts = np.result_type(f_obs, *([] if f_exp is None else [f_exp]))
        empty = np.empty(np.shape(stat), np.float32 if counts.kind == "f" and counts.itemsize <= 4 else np.float64)
        return ChisquareResult(empty, empty.copy(), dof=np.empty(empty.shape, np.int64))
    # SciPy pairs an array ddof with the statistics before keepdims puts the reduced axes back, then
    # puts them back into the p-values and dof too: np.expand_dims at `axis` as given (axis=None:
    # every axis of the statistics, in front -- as many as the sample of the most dimensions, f_obs
    # or f_exp, and at least one)
    put_back = keepdims and np.ndim(ddof) > 0
    stat_r, k_r = stat, k_b
    if put_back:
        reduced = tuple(range(np.ndim(stat))) if axis is None else axis
        stat_r, k_r = np.squeeze(stat, axis=reduced), np.squeeze(k_b, axis=reduced)
    try:
        # (k - 1) - ddof, written so that NumPy names ddof's shape first on failure, as in SciPy's message
        dof = -np.asarray(ddof, dtype=np.float64) + (k_r - 1)
    except ValueError as e:
        raise ValueError(f"{func}: ddof of shape {np.shape(ddof)} does not broadcast against the statistics of "
                         f"shape {np.shape(stat_r)} (SciPy: {e})") from None
    stat_b, dof_b = np.broadcast_arrays(stat_r, dof)  # (k_r has the statistics' shape)
    p = special.chdtrc(dof_b, stat_b)
    if put_back:
        p, dof = np.expand_dims(p, reduced), np.expand_dims(dof, reduced)
    out_type = np.float32 if small else np.float64

    def out(v):
        v = np.asarray(v, dtype=out_type)
        return (float(v) if out_type is np.float64 else v[()]) if v.ndim == 0 else v

    return ChisquareResult(out(stat), out(p), dof=_dof_out(dof))


def _pearson_1d(obs: np.ndarray, exp: np.ndarray | None, sum_check: bool, small: bool) -> float | None:
    """Pearson's statistic of one 1-D test whose counts pass every check of :func:`chisquare`
    (finite, >= 0, a positive total, f_exp > 0 and of the same total) and need no rescaling nor
    overflow check; None for any other, which the general path checks (and words the error of)."""
    k = obs.shape[0]
    if k == 0:
        return 0.0
    total = float(np.add.reduce(obs))  # NaN or inf in obs, or an overflow, make it non-finite
    if not (0 < total <= RESCALE_ABOVE) or obs.min() < 0:
        return None
    if exp is None:
        e = total / k
    else:
        exp_total = float(np.add.reduce(exp))
        # (NaN compares False; f_exp below 2**-400 could overflow the quotient: the general path)
        if not exp_total <= RESCALE_ABOVE or not exp.min() >= 2.0**-400:
            return None
        if sum_check and abs(total - exp_total) / min(total, exp_total) > _SUM_RTOL[small]:
            return None
        e = exp
    # |obs - e| <= 2**301 and e >= 2**-400 (or e = total / k): the statistic is below 2**1003
    return float(_pearson_sum(obs, e, None, rescale=False))


def _checked_expected(obs: np.ndarray, exp: np.ndarray, missing: np.ndarray | None, sum_check: bool, small: bool,
                      func: str) -> np.ndarray:
    """``exp`` after chisquare's checks: > 0, and (``sum_check``) the same total as ``obs`` along
    the last axis, counts marked ``missing`` left out."""
    bad = exp <= 0 if missing is None else (exp <= 0) & ~missing
    if np.any(bad):
        raise ValueError(f"{func}: f_exp must be > 0")
    if sum_check and obs.shape[-1]:
        if missing is not None:
            obs, exp0 = np.where(missing, 0.0, obs), np.where(missing, 0.0, exp)
        else:
            exp0 = exp
        totals, exp_totals = _total(obs, func, "f_obs", axis=-1), _total(exp0, func, "f_exp", axis=-1)
        rtol = _SUM_RTOL[small]
        with np.errstate(invalid="ignore"):  # 0 / 0 of a slice with every count left out: no check
            rel = np.abs(totals - exp_totals) / np.minimum(totals, exp_totals)
        if np.any(rel > rtol):
            # SciPy's words are quoted, for code matching its message
            raise ValueError(f"{func}: f_obs and f_exp must have the same total in every slice along axis "
                             f"(SciPy: 'For each axis slice, the sum of the observed frequencies must agree with "
                             f"the sum of the expected frequencies'), to a relative tolerance of {rtol:.3g}; "
                             f"the relative differences are {rel}")
    return exp


def _chisquare_rows(sm, sum_check: bool, small: bool, func: str) -> tuple[np.ndarray, np.ndarray]:
    """Pearson's statistic and the number of categories of each row of :func:`chisquare`'s
    samples (``as_samples``: one test per row, categories last), after the counts' checks: NaN
    counts are left out under "omit", and make their row's statistic NaN under "propagate"."""
    names = ("f_obs", "f_exp")
    for i, a in enumerate(sm.arrays):  # as_samples found every row sum finite: no NaN, no inf, no overflow
        if not sm.finite[i] and np.any(np.isinf(a)):
            raise ValueError(f"{func}: {names[i]} must be finite (NaN follows nan_policy)")
    o = sm.arrays[0]
    e = sm.arrays[1] if len(sm.arrays) > 1 else None
    if o.size and (o.min() < 0 if sm.finite[0] else np.any(o < 0)):
        raise ValueError(f"{func}: f_obs must be >= 0 (counts); found {o[o < 0][0]:g}")
    rows, k = o.shape
    live = ~sm.nan_rows
    missing = None
    if sm.omit:
        missing = np.isnan(o) if e is None else np.isnan(o) | np.isnan(e)
        k_rows = k - missing.sum(axis=1)
    else:
        k_rows = np.full(rows, float(k))
        if not live.all():  # propagate: a row with a NaN is left out whole, its statistic NaN
            missing = np.broadcast_to(~live[:, None], o.shape)
    if missing is not None:
        o = np.where(missing, 0.0, o)
    if missing is None and all(sm.finite):
        totals = np.add.reduce(o, axis=1)  # finite: as_samples summed the same rows
    else:
        totals = _total(o, func, "f_obs", axis=1)
    present = k if missing is None else k - missing.sum(axis=1)
    if np.any((present > 0) & (totals <= 0)):
        raise ValueError(f"{func}: f_obs sums to zero along axis (a slice of categories has no observations)")
    if e is None:
        with np.errstate(invalid="ignore", divide="ignore"):
            e = (totals / np.maximum(present, 1))[:, None]
    else:
        e = _checked_expected(o, e, missing, sum_check, small, func)
    if missing is not None:  # a left-out count adds (1 - 1)**2 / 1 = 0
        o, e = np.where(missing, 1.0, o), np.where(missing, 1.0, e)
    if not k:
        stat = np.zeros(rows)
    else:  # (after the NaN are replaced: a NaN in e would hide its largest count from the bound)
        stat = _pearson(o, e, func, "f_obs", axis=-1, bound=max(np.max(totals, initial=0.0), np.max(e, initial=0.0)))
    return np.where(live, stat, np.nan), k_rows


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
