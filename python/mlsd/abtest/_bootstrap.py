"""Streaming Poisson bootstrap confidence intervals (percentile, basic, BCa)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from scipy import special

from .. import _core
from .._validation import InvalidParameterError, as_float_array, call_kernel, check_int, check_option, check_real
from ._tests import check_alpha

__all__ = ["bootstrap", "BootstrapResult"]

STATISTICS = ("mean", "median", "quantile", "ratio")
RESAMPLE_BLOCK = 100  # resamples per kernel call: bounds the time until Ctrl-C is seen
METHODS = ("bca", "percentile", "basic")


@dataclass
class BootstrapResult:
    """Bootstrap confidence interval.

    ``estimate`` is the statistic on the data (for two samples: sample minus control),
    ``bootstrap_distribution`` the resampled statistics (resamples with zero total weight
    dropped; ``n_empty`` counts them), ``standard_error`` their standard deviation (ddof=1).
    """

    estimate: float
    confidence_interval: tuple
    standard_error: float
    bootstrap_distribution: np.ndarray
    method: str
    statistic: str
    n_empty: int = 0


class _Arm:
    """One sample prepared for a statistic: its estimate, resampled statistics and jackknife."""

    def __init__(self, data: Any, name: str, statistic: str, q: float, func: str):
        self.name, self.statistic, self.q = name, statistic, q
        if statistic == "ratio":
            if not isinstance(data, Mapping) or set(data) != {"y", "denominator"}:
                raise InvalidParameterError(f"{func}: statistic='ratio' needs {name} as a mapping with keys "
                                            f"'y' and 'denominator'")
            self.y = as_float_array(data["y"], "y", func)
            self.d = as_float_array(data["denominator"], "denominator", func)
            if self.y.shape != self.d.shape:
                raise ValueError(f"{func}: {name}: denominator has {self.d.shape[0]} elements but y has {self.y.shape[0]}")
        else:
            self.y = as_float_array(data, name, func)
            self.d = None
        if self.y.shape[0] < 2:
            raise ValueError(f"{func}: {name} needs at least two observations; got {self.y.shape[0]}")
        if not np.all(np.isfinite(self.y)):
            bad = int(np.flatnonzero(~np.isfinite(self.y))[0])
            raise ValueError(f"{func}: {name} must be finite; found {self.y[bad]} at index {bad}")
        if self.d is not None:
            if not np.all(np.isfinite(self.d)):
                raise ValueError(f"{func}: {name}: denominator must be finite")
            if self.d.sum() == 0:
                raise ValueError(f"{func}: {name}: the denominator sums to zero")
        self.n = self.y.shape[0]
        if statistic in ("median", "quantile"):
            self.sorted = np.sort(self.y)
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
        return out

    def _resample_block(self, m: int, seed: int, stream: int, first: int, func: str) -> np.ndarray:
        if self.statistic in ("median", "quantile"):
            return call_kernel(func, _core.abtest.bootstrap_quantiles, self.sorted, np.array([self.q]),
                               m, seed, stream, first)
        w, sy, sd = call_kernel(func, _core.abtest.bootstrap_sums, self.y, self.d, m, seed, stream, first)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = sy / (sd if self.d is not None else w)
        out[w == 0] = np.nan
        return out

    def jackknife_u(self) -> np.ndarray:
        """U_i = (n - 1) (mean of leave-one-out statistics - leave-one-out statistic i), in closed
        form from the data (Efron and Tibshirani 1993, eq. 14.15)."""
        n = self.n
        if self.statistic == "mean":
            return self.y - self.y.mean()  # (n-1)(ybar - (S - y_i)/(n-1)) = y_i - ybar
        if self.statistic == "ratio":
            sy, sd = self.y.sum(), self.d.sum()
            with np.errstate(invalid="ignore", divide="ignore"):
                theta = (sy - self.y) / (sd - self.d)
            if not np.all(np.isfinite(theta)):
                raise ValueError("bootstrap: a leave-one-out denominator sums to zero; BCa is undefined "
                                 "(use method='percentile')")
            return (n - 1) * (theta.mean() - theta)
        # inverted-CDF quantile of the n - 1 remaining values: index k of the reduced sorted array;
        # removing a value at sorted position <= k shifts the answer to sorted[k + 1].
        k = max(int(np.ceil((n - 1) * self.q)) - 1, 0)
        theta = np.where(np.arange(n) <= k, self.sorted[k + 1], self.sorted[k])
        return (n - 1) * (theta.mean() - theta)


def bootstrap(data: Any, control: Any = None, *, statistic: str = "mean", q: float = 0.5, method: str = "bca",
              n_resamples: int = 2000, alpha: float = 0.05, seed: int = 0) -> BootstrapResult:
    """Bootstrap confidence interval of a statistic, or of a difference between two samples.

    Resampling is the streaming Poisson bootstrap in C++: resample b gives row i an independent
    Poisson(1) weight drawn from a counter-based generator keyed by (seed, sample, b, i), so no
    n x resamples matrix is ever built (memory is O(n + resamples)), the work is spread over
    threads by blocks of rows, and the result is identical for any thread count.

    Parameters
    ----------
    data : array-like of shape (n,), or mapping {"y", "denominator"} for ``statistic="ratio"``
        The sample (the treatment when ``control`` is given).
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
    seed : int >= 0

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
    statistic = check_option(statistic, "statistic", func, STATISTICS)
    method = check_option(method, "method", func, METHODS)
    n_resamples = check_int(n_resamples, "n_resamples", func, min_value=1)
    alpha = check_alpha(alpha, func)
    seed = check_int(seed, "seed", func, min_value=0, max_value=2**64 - 1)
    if statistic == "median":
        q = 0.5
    q = check_real(q, "q", func, low=0.0, high=1.0)
    arms = [_Arm(data, "data", statistic, q, func)]
    if control is not None:
        arms.append(_Arm(control, "control", statistic, q, func))
    signs = (1.0, -1.0)
    estimate = sum(s * a.estimate for s, a in zip(signs, arms))
    theta_b = sum(s * a.resample(n_resamples, seed, stream, func) for stream, (s, a) in enumerate(zip(signs, arms)))
    empty = ~np.isfinite(theta_b)
    n_empty = int(empty.sum())
    theta_b = theta_b[~empty]
    if theta_b.size == 0:
        raise ValueError(f"{func}: every resample was empty; the samples are too small")
    if method == "percentile":
        levels = np.array([alpha / 2, 1 - alpha / 2])
    elif method == "basic":
        levels = np.array([alpha / 2, 1 - alpha / 2])
    else:
        frac = (np.count_nonzero(theta_b < estimate) + np.count_nonzero(theta_b <= estimate)) / (2 * theta_b.size)
        z0 = special.ndtri(frac)
        nums = dens = 0.0
        for s, a in zip(signs, arms):
            u = s * a.jackknife_u()
            nums += np.sum(u**3) / a.n**3
            dens += np.sum(u**2) / a.n**2
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
    se = float(np.std(theta_b, ddof=1)) if theta_b.size > 1 else np.nan
    return BootstrapResult(float(estimate), (float(lo), float(hi)), se, theta_b, method, statistic, n_empty)
