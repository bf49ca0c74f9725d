"""Two-sample drift statistics of one pair of samples, drop-in for SciPy's (the kernels that
:func:`drift` runs over every column)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from .._params import ArrayLike, Options, validate_params
from .._results import ResultTuple
from .._validation import InvalidParameterError, as_float_array, call_kernel
from . import _stats


class KstestResult(ResultTuple):
    """Result of :func:`ks_2samp`: unpacks as ``(statistic, pvalue)`` as SciPy's."""

    _fields = ("statistic", "pvalue")


def _sample(x: Any, name: str, func: str) -> np.ndarray:
    a = as_float_array(x, name, func)
    if a.size == 0:
        raise InvalidParameterError(f"The '{name}' parameter of {func} must not be empty.")
    if not np.isfinite(a).all():
        raise InvalidParameterError(f"The '{name}' parameter of {func} must hold finite values. Got NaN or "
                                    f"infinite values instead.")
    return a


@validate_params(data1=[ArrayLike(ndim=1)], data2=[ArrayLike(ndim=1)],
                 alternative=[Options({"two-sided", "less", "greater"})],
                 method=[Options({"auto", "exact", "asymp"})])
def ks_2samp(data1: Any, data2: Any, alternative: str = "two-sided", method: str = "auto") -> KstestResult:
    """Two-sample Kolmogorov-Smirnov test, equal to ``scipy.stats.ks_2samp`` (statistic and
    p-value, ties included).

    Parameters
    ----------
    data1, data2 : array-like, 1-D
        The samples (finite values; NaN is rejected).
    alternative : {"two-sided", "less", "greater"}
        "greater": the CDF of data1 lies above that of data2 somewhere (statistic
        max(F1 - F2)); "less" the reverse.
    method : {"auto", "exact", "asymp"}
        "exact" computes the null tail by a pass over the n1 x n2 lattice of orderings (a sum of
        positive terms: accurate for tiny p-values, and it never has to fall back to "asymp" as
        SciPy does when its path counts overflow); "asymp" uses Smirnov's law (two-sided:
        ``scipy.stats.kstwo``; one-sided: Hodges' approximation); "auto" is exact up to 10,000
        values per sample.

    Returns
    -------
    KstestResult
        ``(statistic, pvalue)``.  As in SciPy, the exact method reports the statistic rounded
        to the lattice of 1 / lcm(n1, n2).

    Examples
    --------
    >>> from mlsd.monitoring import ks_2samp
    >>> stat, p = ks_2samp([1.0, 2, 3, 4, 5], [3.5, 4.5, 5.5, 6.5, 7.5])
    >>> round(stat, 6), round(p, 6)
    (0.6, 0.357143)
    """
    func = "ks_2samp"
    a, b = _sample(data1, "data1", func), _sample(data2, "data2", func)
    r = call_kernel(func, _core.monitoring.drift_columns, [a], [b], False, [], 1)
    d, p = _stats.ks_pvalues(r["ks_greater"], r["ks_less"], r["n_ref"], r["n_cur"], alternative, method)
    return KstestResult(float(d[0]), float(p[0]))


@validate_params(u_values=[ArrayLike(ndim=1)], v_values=[ArrayLike(ndim=1)], u_weights=[None, ArrayLike(ndim=1)],
                 v_weights=[None, ArrayLike(ndim=1)])
def wasserstein_distance(u_values: Any, v_values: Any, u_weights: Any = None, v_weights: Any = None) -> float:
    """Wasserstein-1 (earth mover's) distance between two weighted samples, equal to
    ``scipy.stats.wasserstein_distance``: the integral of |U(x) - V(x)| over x, with U and V the
    weighted empirical CDFs.

    Parameters
    ----------
    u_values, v_values : array-like, 1-D
        The samples (finite).
    u_weights, v_weights : array-like, 1-D, optional
        Non-negative weights of the values (default: all 1), not all zero.

    Examples
    --------
    >>> from mlsd.monitoring import wasserstein_distance
    >>> wasserstein_distance([0, 1, 3], [5, 6, 8])
    5.0
    """
    func = "wasserstein_distance"
    u, v = _sample(u_values, "u_values", func), _sample(v_values, "v_values", func)
    uw, vw = (None if w is None else as_float_array(w, name, func)
              for w, name in ((u_weights, "u_weights"), (v_weights, "v_weights")))
    for w, x, name, of in ((uw, u, "u_weights", "u_values"), (vw, v, "v_weights", "v_values")):
        if w is not None and w.shape != x.shape:
            raise InvalidParameterError(f"The '{name}' parameter of {func} must have one weight per value of "
                                        f"{of} ({x.shape[0]}). Got {w.shape[0]} elements instead.")
    return float(call_kernel(func, _core.monitoring.wasserstein_distance, u, v, uw, vw))
