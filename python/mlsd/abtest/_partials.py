"""The internal API of :mod:`mlsd.abtest` for :mod:`mlsd.dask` (and any other family that runs the
A/B tests over partitions).  ``mlsd.dask`` uses ``mlsd.abtest`` only through its public names and
this module; everything here is kept stable for it, and anything else in ``mlsd.abtest._*`` may
change without notice.

Contract
--------
Declared parameters (for ``@validate_params`` of the distributed twins, so that both check alike):

``SAMPLE_PARAMS``
    ``method``, ``n_resamples``, ``alpha`` and ``seed`` of :func:`mlsd.abtest.bootstrap`.

Checks and conversions, with the single-machine messages ("<func>: <argument> ..."):

``as_float_array(x, name, func)``
    A 1-D float64 C-contiguous array (no copy when it already is one).
``InvalidParameterError``
    The ValueError-and-TypeError raised for a bad parameter.
``arm_columns(data, name, statistic, func)``
    The roles ("y", "denominator", "key") of one bootstrap sample, checked.
``as_keys(key, name, func)``
    Integer row keys as int64 (uint64 reinterpreted bit for bit).

The bootstrap, split into what a partition computes and the finishing step:

``bootstrap_sums(y, d, keys, *, n_resamples, seed, stream, first_row, func)``
    Per resample: ``(sum w, sum w y[, sum w d])`` of one partition's rows (a
    ``(2 or 3, n_resamples)`` array; zeros for an empty partition).  Row ``i`` has key
    ``first_row + i`` unless ``keys`` is given; the weights are those of
    :func:`mlsd.abtest.bootstrap` for the same keys, so per-partition sums add up to the
    single-machine sums.
``statistic_from_sums(w, sy, sd)``
    The resampled mean or ratio from the summed sums (NaN for empty resamples).
``ratio_loo_deviation(y, d, ratio, d_total)``
    Leave-one-out ratio deviations of rows (BCa's jackknife for ratios).
``centred_moments(x)`` / ``merge_moments(a, b)``
    ``[n, mean, M2, M3]`` of values and their exact merge (Chan's update of n, mean and M2 is the
    C++ one every Stats merge uses; Pebay's third-moment term is added here).
``finish(arms, *, statistic, method, alpha, func)``
    The :class:`~mlsd.abtest.BootstrapResult` from resampled arms: each arm has ``n``,
    ``estimate``, ``resampled`` and ``jackknife_sums()`` -> ``(sum U^2, sum U^3)`` (or
    ``(sum (U/c)^2, sum (U/c)^3, c)`` for a power of two c, where U^3 would overflow).
"""

from __future__ import annotations

import numpy as np

from .. import _core
from .._validation import InvalidParameterError, as_float_array, call_kernel
from ._bootstrap import PARAMS as SAMPLE_PARAMS
from ._bootstrap import arm_columns, as_keys, finish, ratio_loo_deviation, statistic_from_sums

__all__ = ["SAMPLE_PARAMS", "InvalidParameterError", "as_float_array", "arm_columns", "as_keys", "bootstrap_sums",
           "statistic_from_sums", "ratio_loo_deviation", "centred_moments", "merge_moments", "finish"]


def bootstrap_sums(y: np.ndarray, d: np.ndarray | None, keys: np.ndarray | None, *, n_resamples: int, seed: int,
                   stream: int, first_row: int, func: str) -> np.ndarray:
    """Per-resample weighted sums of one partition (see the module docstring)."""
    width = 2 if d is None else 3
    if y.size == 0:
        return np.zeros((width, n_resamples))
    return np.stack(call_kernel(func, _core.abtest.bootstrap_sums, y, d, n_resamples, seed, stream, 0,
                                0 if keys is not None else first_row, keys)[:width])


def centred_moments(x: np.ndarray) -> np.ndarray:
    """[n, mean, M2, M3] with M_k = sum (x - mean)^k (two passes, so no cancellation)."""
    if x.size == 0:
        return np.zeros(4)
    mean = x.mean()
    c = x - mean
    c2 = c * c
    return np.array([x.size, mean, c2.sum(), (c2 * c).sum()])


def merge_moments(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Moments of the union of two sets of values: n, mean and M2 by the one Chan merge (C++), M3
    by Pebay (2008, eq. 2.3)."""
    na, ma, m2a, m3a = a
    nb, mb, m2b, m3b = b
    if na == 0 or nb == 0:
        return np.array(b if na == 0 else a, dtype=np.float64)
    one = np.ones(1)
    n, mean, m2 = _core.abtest.merge_moments(1, na * one, ma * one, m2a * one, nb * one, mb * one, m2b * one)
    n = n[0]
    delta = mb - ma
    m3 = m3a + m3b + delta**3 * na * nb * (na - nb) / (n * n) + 3.0 * delta * (na * m2b - nb * m2a) / n
    return np.array([n, mean[0], m2[0], m3])
