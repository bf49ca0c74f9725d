"""Streaming Poisson bootstrap confidence intervals (percentile, basic, BCa)."""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any, Sequence

import numpy as np
from scipy import special

from .. import _core
from .._params import ArrayLike, Interval, Options, validate_params
from .._results import Result, axes, result_type
from .._validation import InvalidParameterError, as_float_array, call_kernel
from ._counts import RESCALE_ABOVE, _total
from ._tests import ALPHA

__all__ = ["bootstrap", "BootstrapResult"]

STATISTICS = ("mean", "median", "quantile", "ratio")
RESAMPLE_BLOCK = 100  # resamples per kernel call: bounds the time until Ctrl-C is seen
METHODS = ("bca", "percentile", "basic")

# The declared parameters shared with mlsd.dask.bootstrap (through _partials).
SAMPLE = [Mapping, ArrayLike(ndim=1)]
PARAMS = dict(method=[Options(METHODS)], n_resamples=[Interval(Integral, 1, None)], alpha=[ALPHA], seed=["seed"])


@result_type
class BootstrapResult(Result):
    """Bootstrap confidence interval.

    ``estimate`` is the statistic on the data (for two samples: sample minus control),
    ``bootstrap_distribution`` the resampled statistics (resamples with zero total weight
    dropped; ``n_empty`` counts them), ``standard_error`` their standard deviation (ddof=1),
    ``alpha`` one minus the level of the two-sided ``confidence_interval``.  ``plot()`` draws the
    distribution with the interval.
    """

    estimate: float
    confidence_interval: tuple
    standard_error: float
    bootstrap_distribution: np.ndarray
    method: str
    statistic: str
    n_empty: int = 0
    alpha: float = 0.05

    def to_frame(self):
        """One row: estimate, ci_low, ci_high, standard_error, method, statistic, n_resamples
        (kept), n_empty, alpha.  The resamples themselves are in ``bootstrap_distribution``."""
        import pandas as pd

        lo, hi = self.confidence_interval
        return pd.DataFrame({"estimate": [self.estimate], "ci_low": [lo], "ci_high": [hi],
                             "standard_error": [self.standard_error], "method": [self.method],
                             "statistic": [self.statistic], "n_resamples": [len(self.bootstrap_distribution)],
                             "n_empty": [self.n_empty], "alpha": [self.alpha]})

    def _has_rows(self) -> bool:
        return False  # the HTML summary is the one-row frame's fields; no resample dump

    def plot(self, ax=None, *, bins: int = 50):
        """Histogram of the bootstrap distribution with the estimate and the confidence interval
        marked (matplotlib, imported lazily).  Returns the Axes."""
        ax = axes(ax)
        ax.hist(self.bootstrap_distribution, bins=bins, color="tab:blue", alpha=0.6)
        lo, hi = self.confidence_interval
        level = f"{100 * (1 - self.alpha):g}% {self.method} interval"
        for x in (lo, hi):
            if np.isfinite(x):
                ax.axvline(x, color="tab:red", linestyle="--", label=level if x == lo else None)
        ax.axvline(self.estimate, color="black", label="estimate")
        ax.set_xlabel(f"{self.statistic} (bootstrap, {len(self.bootstrap_distribution)} resamples)")
        ax.set_ylabel("resamples")
        ax.legend()
        return ax


class _Arm:
    """One sample prepared for a statistic: its estimate, resampled statistics and jackknife."""

    def __init__(self, data: Any, name: str, statistic: str, q: float, func: str):
        self.name, self.statistic, self.q = name, statistic, q
        columns = arm_columns(data, name, statistic, func)
        self.y = as_float_array(columns["y"], name if not isinstance(data, Mapping) else "y", func)
        d = columns.get("denominator")
        self.d = None if d is None else as_float_array(d, "denominator", func)
        if self.d is not None and self.y.shape != self.d.shape:
            raise ValueError(f"{func}: {name}: denominator has {self.d.shape[0]} elements but y has {self.y.shape[0]}")
        self.key = None if columns.get("key") is None else as_keys(columns["key"], name, func)
        if self.key is not None and self.key.shape != self.y.shape:
            raise ValueError(f"{func}: {name}: key has {self.key.shape[0]} elements but y has {self.y.shape[0]}")
        if self.y.shape[0] < 2:
            raise ValueError(f"{func}: {name} needs at least two observations; got {self.y.shape[0]}")
        if not np.all(np.isfinite(self.y)):
            bad = int(np.flatnonzero(~np.isfinite(self.y))[0])
            raise ValueError(f"{func}: {name} must be finite; found {self.y[bad]} at index {bad}")
        _total(np.abs(self.y), func, name)  # the mean, sums and resampled sums must not overflow
        if self.d is not None:
            if not np.all(np.isfinite(self.d)):
                raise ValueError(f"{func}: {name}: denominator must be finite")
            _total(np.abs(self.d), func, f"{name}'s denominator")
            if self.d.sum() == 0:
                raise ValueError(f"{func}: {name}: the denominator sums to zero")
        self.n = self.y.shape[0]
        if statistic in ("median", "quantile"):
            order = np.argsort(self.y, kind="stable")
            self.sorted = self.y[order]
            # Without keys a sorted value is keyed by its sorted position; with keys, by its unit's key.
            self.sorted_key = None if self.key is None else np.ascontiguousarray(self.key[order])
            self.estimate = float(np.quantile(self.sorted, q, method="inverted_cdf"))
        elif statistic == "ratio":
            self.estimate = float(self.y.sum() / self.d.sum())
        else:
            self.estimate = float(self.y.mean())

    def resample(self, n_resamples: int, seed: int, stream: int, func: str) -> np.ndarray:
        """Resampled statistics, computed in blocks of resamples so that Ctrl-C is honoured between
        blocks; resample b's weights depend only on (seed, stream, b), so blocks change nothing."""
        out = np.empty(n_resamples)
        for first in range(0, n_resamples, RESAMPLE_BLOCK):
            m = min(RESAMPLE_BLOCK, n_resamples - first)
            out[first:first + m] = self._resample_block(m, seed, stream, first, func)
        self.resampled = out
        return out

    def _resample_block(self, m: int, seed: int, stream: int, first: int, func: str) -> np.ndarray:
        if self.statistic in ("median", "quantile"):
            return call_kernel(func, _core.abtest.bootstrap_quantiles, self.sorted, np.array([self.q]),
                               m, seed, stream, first, self.sorted_key)
        w, sy, sd = call_kernel(func, _core.abtest.bootstrap_sums, self.y, self.d, m, seed, stream, first, 0, self.key)
        return statistic_from_sums(w, sy, sd if self.d is not None else None)

    def jackknife_u(self) -> np.ndarray:
        """U_i = (n - 1) (mean of leave-one-out statistics - leave-one-out statistic i), in closed
        form from the data (Efron and Tibshirani 1993, eq. 14.15)."""
        n = self.n
        if self.statistic == "mean":
            return self.y - self.y.mean()  # (n-1)(ybar - (S - y_i)/(n-1)) = y_i - ybar
        if self.statistic == "ratio":
            t = ratio_loo_deviation(self.y, self.d, self.estimate, self.d.sum())
            return (n - 1) * (t.mean() - t)
        # inverted-CDF quantile of the n - 1 remaining values: index k of the reduced sorted array;
        # removing a value at sorted position <= k shifts the answer to sorted[k + 1].
        k = max(int(np.ceil((n - 1) * self.q)) - 1, 0)
        theta = np.where(np.arange(n) <= k, self.sorted[k + 1], self.sorted[k])
        return (n - 1) * (theta.mean() - theta)

    def jackknife_sums(self) -> tuple[float, float, float]:
        """(sum (U/c)^2, sum (U/c)^3, c), c a power of two (1.0 but for values near 1e300, whose
        cubes overflow; the acceleration is a ratio of the two sums, so c cancels)."""
        u = self.jackknife_u()
        c = power_of_two_scale(u)
        u = u / c
        return float(np.sum(u**2)), float(np.sum(u**3)), c


# ---- shared with mlsd.dask.bootstrap: what a partition computes, and the finishing step ----------

def arm_columns(data: Any, name: str, statistic: str, func: str) -> dict:
    """The roles of one sample: an array is {"y": data}; a mapping may hold "y", "denominator"
    (required for, and only for, statistic="ratio") and "key"."""
    if not isinstance(data, Mapping):
        if statistic == "ratio":
            raise InvalidParameterError(f"{func}: statistic='ratio' needs {name} as a mapping with keys "
                                        f"'y' and 'denominator' (and optionally 'key')")
        return {"y": data}
    unknown = set(data) - {"y", "denominator", "key"}
    if unknown or "y" not in data:
        raise InvalidParameterError(f"{func}: {name} must be a mapping with keys 'y', 'denominator' (for "
                                    f"statistic='ratio') and optionally 'key'; got keys {sorted(map(str, data))}")
    if (data.get("denominator") is not None) != (statistic == "ratio"):
        raise InvalidParameterError(f"{func}: {name}: a 'denominator' is needed for statistic='ratio' and only for it "
                                    f"(statistic={statistic!r})")
    return dict(data)


def as_keys(key: Any, name: str, func: str) -> np.ndarray:
    """Row keys as int64 (uint64 ids are reinterpreted bit for bit, so distinct ids stay distinct)."""
    arr = np.asarray(key)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{func}: {name}: key must hold integers (unit ids); got dtype {arr.dtype} "
                        f"(hash string ids to integers first)")
    if arr.ndim != 1:
        raise ValueError(f"{func}: {name}: key must be 1-D; got an array of shape {arr.shape}")
    if arr.dtype == np.uint64:
        return np.ascontiguousarray(arr).view(np.int64)
    return np.ascontiguousarray(arr, dtype=np.int64)


def power_of_two_scale(x: np.ndarray) -> float:
    """1.0, or for values beyond 2**300 (whose cubes overflow float64) a power of two c with
    max |x / c| in [0.5, 1): dividing by it is exact, and nothing changes for other values."""
    top = float(np.max(np.abs(x))) if x.size else 0.0
    return float(2.0 ** np.frexp(top)[1]) if RESCALE_ABOVE < top < np.inf else 1.0


def statistic_from_sums(w: np.ndarray, sy: np.ndarray, sd: np.ndarray | None) -> np.ndarray:
    """Resampled mean (sum w y / sum w) or ratio (sum w y / sum w d); NaN for an empty resample."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = sy / (sd if sd is not None else w)
    out[w == 0] = np.nan
    return out


def ratio_loo_deviation(y: np.ndarray, d: np.ndarray, ratio: float, d_total: float) -> np.ndarray:
    """theta_(i) - ratio, theta_(i) the ratio without row i: (ratio d_i - y_i) / (D - d_i), which
    stays accurate where the difference of two nearly equal ratios would cancel."""
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (ratio * d - y) / (d_total - d)
    if not np.all(np.isfinite(t)):
        raise ValueError("bootstrap: a leave-one-out denominator sums to zero; BCa is undefined "
                         "(use method='percentile')")
    return t


def finish(arms: Sequence, *, statistic: str, method: str, alpha: float, func: str) -> BootstrapResult:
    """The interval from one or two resampled arms (the sample, then the control).  Each arm has
    ``n``, ``estimate``, ``resampled`` (the statistic per resample, NaN when empty) and
    ``jackknife_sums()`` -> (sum U_i^2, sum U_i^3) or, scaled by a power of two c,
    (sum (U_i/c)^2, sum (U_i/c)^3, c); called only for BCa."""
    signs = (1.0, -1.0)
    estimate = sum(s * a.estimate for s, a in zip(signs, arms))
    theta_b = sum(s * a.resampled for s, a in zip(signs, arms))
    empty = ~np.isfinite(theta_b)
    n_empty = int(empty.sum())
    theta_b = theta_b[~empty]
    if theta_b.size == 0:
        raise ValueError(f"{func}: every resample was empty; the samples are too small")
    if method in ("percentile", "basic"):
        levels = np.array([alpha / 2, 1 - alpha / 2])
    else:
        frac = (np.count_nonzero(theta_b < estimate) + np.count_nonzero(theta_b <= estimate)) / (2 * theta_b.size)
        z0 = special.ndtri(frac)
        # jackknife_sums() gives (sum U^2, sum U^3), or the sums of (U / c)^k and c: the terms are
        # brought to the arms' largest c (acceleration = nums / dens^1.5 does not depend on it).
        sums = [(tuple(a.jackknife_sums()) + (1.0,))[:3] for a in arms]
        top = max(c for _, _, c in sums)
        nums = dens = 0.0
        for s, a, (s2, s3, c) in zip(signs, arms, sums):
            r = c / top
            nums += s * s3 * r**3 / a.n**3
            dens += s2 * r**2 / a.n**2
        accel = nums / (6.0 * dens**1.5) if dens > 0 else 0.0
        z = special.ndtri(np.array([alpha / 2, 1 - alpha / 2]))
        with np.errstate(invalid="ignore", divide="ignore"):
            levels = special.ndtr(z0 + (z0 + z) / (1 - accel * (z0 + z)))
        if not np.all(np.isfinite(levels)):  # all resamples on one side of the estimate
            levels = np.array([np.nan, np.nan])
    if np.all(np.isfinite(levels)):
        lo, hi = np.percentile(theta_b, 100 * levels)
    else:
        lo = hi = np.nan
    if method == "basic":
        lo, hi = 2 * estimate - hi, 2 * estimate - lo
    c = power_of_two_scale(theta_b)  # squares of resampled statistics near 1e300 would overflow
    se = float(np.std(theta_b / c, ddof=1)) * c if theta_b.size > 1 else np.nan
    return BootstrapResult(float(estimate), (float(lo), float(hi)), se, theta_b, method, statistic, n_empty, alpha)


@validate_params(data=SAMPLE, control=[None, *SAMPLE], statistic=[Options(STATISTICS)],
                 q=[Interval(Real, 0.0, 1.0)], **PARAMS)
def bootstrap(data: Any, control: Any = None, *, statistic: str = "mean", q: float = 0.5, method: str = "bca",
              n_resamples: int = 2000, alpha: float = 0.05, seed: int = 0) -> BootstrapResult:
    """Bootstrap confidence interval of a statistic, or of a difference between two samples.

    Resampling is the streaming Poisson bootstrap in C++: resample b gives row i an independent
    Poisson(1) weight drawn from a counter-based generator keyed by (seed, sample, b, key of row
    i), so no n x resamples matrix is ever built (memory is O(n + resamples)), the work is spread
    over threads by blocks of rows, and the result is identical for any thread count.  The key of
    a row is its position in the sample (0, 1, ...) unless a "key" column is given: then rows
    with the same key (a unit id) get the same weights, wherever they are, and
    :func:`mlsd.dask.bootstrap` over any partitioning of the same rows gives this same interval.

    Parameters
    ----------
    data : array-like of shape (n,), or mapping of role -> array-like of shape (n,)
        The sample (the treatment when ``control`` is given).  A mapping holds "y", a
        "denominator" for (and only for) ``statistic="ratio"``, and optionally "key": integer
        row keys (e.g. unit ids).  Rows sharing a key are resampled together (their weights are
        equal: a cluster bootstrap by unit), while BCa's acceleration still comes from the
        leave-one-row-out jackknife.  For "median"/"quantile" without keys, a value's key is its
        position in the sorted sample.
    control : same type as ``data``, optional
        If given, the statistic is ``statistic(data) - statistic(control)``; the two samples are
        resampled independently.
    statistic : {"mean", "median", "quantile", "ratio"}
        "median" and "quantile" (at ``q``) use the inverted-CDF definition (NumPy's
        ``method="inverted_cdf"``: the smallest value whose empirical CDF reaches q) both for the
        estimate and for each weighted resample.  "ratio" is sum(y) / sum(denominator).
    q : float in [0, 1], default 0.5
        Quantile level for ``statistic="quantile"``.
    method : {"bca", "percentile", "basic"}
        BCa (bias-corrected and accelerated; acceleration from the jackknife, in closed form), the
        percentile interval, or the basic (reverse percentile) interval, with SciPy's formulas.
    n_resamples : int >= 1, default 2000
    alpha : float in (0, 1), default 0.05
        Two-sided interval at level 1 - alpha.
    seed : int in [0, 2**32 - 1], default 0
        The one seed type of mlsd (earlier versions took bootstrap seeds up to 2**64 - 1).

    Notes
    -----
    The Poisson bootstrap (Hanley and MacGibbon 2006; Chamandy et al. 2012, used at Google for
    streaming data) resamples a random number of rows (mean n).  For the sample sizes of online
    experiments it is equivalent to the classic multinomial bootstrap; for tiny samples it is
    slightly wider, and resamples that happen to be empty (probability exp(-n)) are dropped.
    Percentiles of the bootstrap distribution use linear interpolation, and the BCa bias
    correction counts ties half, as ``scipy.stats.bootstrap`` does.

    Examples
    --------
    >>> import numpy as np
    >>> from mlsd.abtest import bootstrap
    >>> rng = np.random.default_rng(0)
    >>> t, c = rng.exponential(1.1, 20_000), rng.exponential(1.0, 20_000)
    >>> r = bootstrap(t, c, statistic="mean", n_resamples=500, seed=1)
    >>> lo, hi = r.confidence_interval
    >>> bool(lo < r.estimate < hi), bool(0.0 < lo)
    (True, True)
    """
    func = "bootstrap"
    if statistic == "median":
        q = 0.5
    arms = [_Arm(data, "data", statistic, q, func)]
    if control is not None:
        arms.append(_Arm(control, "control", statistic, q, func))
    for stream, arm in enumerate(arms):
        arm.resample(n_resamples, seed, stream, func)
    return finish(arms, statistic=statistic, method=method, alpha=alpha, func=func)
