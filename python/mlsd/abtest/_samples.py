"""SciPy's sample conventions for the raw-array tests: scalars, n-D input with ``axis``,
``nan_policy`` and ``keepdims``, in one place.

Every test that takes raw samples turns them into 2-D float64 arrays of shape ``(rows, n)`` --
one independent problem per row, the tested axis last -- runs one batched computation over the
rows, and gives the results back in the batch shape (floats when there is one problem).  The
rules are SciPy's (``scipy.stats._axis_nan_policy``):

* a scalar sample is a sample of one observation; ``axis=None`` ravels each sample;
* independent samples broadcast against each other in every dimension but ``axis`` (paired
  samples in every dimension), after prepending unit dimensions to the shorter ones;
* ``nan_policy="propagate"`` gives NaN for every problem whose samples hold a NaN,
  ``"omit"`` drops the NaN (whole pairs for paired samples), ``"raise"`` raises ValueError;
* a problem with too few observations gives NaN with a :class:`SmallSampleWarning` (a subclass
  of SciPy's, so code that filters SciPy's warning also filters mlsd's).
"""

from __future__ import annotations

import warnings
from numbers import Integral
from typing import Any, Sequence

import numpy as np

from .. import _core
from .._params import Check, Options, PeerWording
from .._validation import InvalidParameterError, call_kernel

try:  # SciPy >= 1.14
    from scipy.stats._axis_nan_policy import SmallSampleWarning as _ScipySmallSampleWarning
except ImportError:  # pragma: no cover - older SciPy warns a plain RuntimeWarning
    _ScipySmallSampleWarning = RuntimeWarning

# SciPy's texts of that warning (scipy.stats._axis_nan_policy), so that code filtering SciPy's
# warning by its message filters mlsd's too: (one problem, several), without and with omitted NaN.
_TOO_SMALL = {
    (False, False): "One or more sample arguments is too small; all returned values will be NaN. "
                    "See documentation for sample size requirements.",
    (False, True): "After omitting NaNs, one or more sample arguments is too small; all returned values "
                   "will be NaN. See documentation for sample size requirements.",
    (True, False): "All axis-slices of one or more sample arguments are too small; all elements of returned "
                   "arrays will be NaN. See documentation for sample size requirements.",
    (True, True): "After omitting NaNs, one or more axis-slices of one or more sample arguments is too small; "
                  "corresponding elements of returned arrays will be NaN. See documentation for sample size "
                  "requirements.",
}

__all__ = ["SmallSampleWarning", "Samples", "as_samples", "NAN_POLICY", "AXIS", "SAMPLE_ARRAY", "row_moments",
           "row_moments_of", "warn_small"]


class AxisOutOfBoundsError(InvalidParameterError, np.exceptions.AxisError):
    """``axis`` is out of bounds for the samples: an :class:`InvalidParameterError` that is also
    NumPy's ``AxisError``, which SciPy raises there (so code catching SciPy's error catches mlsd's)."""

    def __init__(self, message: str):
        np.exceptions.AxisError.__init__(self, message)


class SmallSampleWarning(_ScipySmallSampleWarning):
    """A problem has too few observations for the test; its statistic and p-value are NaN (as in
    SciPy, whose ``SmallSampleWarning`` this subclasses)."""


# SciPy's words for a bad nan_policy or axis (scipy.stats._axis_nan_policy), the same in every
# function that takes them: code matching SciPy's message matches mlsd's (see PeerWording)
NAN_POLICY = [Options(("propagate", "omit", "raise")),
              PeerWording("SciPy", "nan_policy must be one of {'propagate', 'omit', 'raise'}.")]
AXIS = [None, Check(lambda a: isinstance(a, Integral) and not isinstance(a, (bool, np.bool_)), "an int"),
        PeerWording("SciPy", "`axis` must be an integer, a tuple of integers, or `None`.")]


def _is_numeric_array(x: Any) -> bool:
    if isinstance(x, (str, bytes, dict)) or x is None:
        return False
    arr = np.asarray(x)
    if arr.dtype.kind == "O":
        arr = arr.astype(np.float64)
    return arr.dtype.kind in "biuf"


SAMPLE_ARRAY = Check(_is_numeric_array, "an array-like of real numbers (any shape)")


class Samples:
    """Samples as 2-D ``(rows, n)`` float64 arrays (the tested axis last), with the batch shape,
    the rows that hold NaN (``nan_rows``) and, with ``omit``, NaN left in place as missing values
    for the kernels to skip (``omit``)."""

    def __init__(self, arrays: list[np.ndarray], batch: tuple[int, ...], nan_rows: np.ndarray, omit: bool,
                 axis: int | None, keepdims: bool):
        self.arrays, self.batch, self.nan_rows, self.omit = arrays, batch, nan_rows, omit
        self.axis, self.keepdims = axis, keepdims

    @property
    def rows(self) -> int:
        return int(np.prod(self.batch)) if self.batch else 1

    dtype = np.dtype(np.float64)

    def shaped(self, values: np.ndarray) -> np.ndarray:
        """Row values (length ``rows``) as a float64 array of the batch shape, with the tested
        axis kept as length 1 under ``keepdims``."""
        v = np.asarray(values, dtype=np.float64).reshape(self.batch)
        if self.keepdims:
            return v.reshape((1,) * self._ndim) if self.axis is None else np.expand_dims(v, self.axis)
        return v

    def out(self, values: np.ndarray) -> Any:
        """Row results (length ``rows``) in the batch shape; a float for one problem.  As in
        SciPy, float32 samples give float32 results (computed in float64, rounded once)."""
        v = self.shaped(values)
        if self.dtype != np.float64:
            v = v.astype(self.dtype)
        if self.keepdims:
            return v
        if v.ndim == 0:
            return float(v) if self.dtype == np.float64 else v[()]
        return v


def _as_real(x: Any, name: str, func: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind == "O":
        arr = arr.astype(np.float64)
    if arr.dtype.kind not in "biuf":
        raise InvalidParameterError(f"{func}: {name} must be an array of real numbers; got dtype {arr.dtype}")
    return np.atleast_1d(arr.astype(np.float64, copy=False))


def as_samples(values: Sequence[Any], names: Sequence[str], func: str, *, axis: int | None = 0,
               nan_policy: str = "propagate", paired: bool = False, keepdims: bool = False) -> Samples:
    """The samples as a :class:`Samples` (see the module docstring)."""
    arrs = [_as_real(x, n, func) for x, n in zip(values, names)]
    # SciPy's result dtype: float32 when every sample is float32 (or smaller), else float64
    in_kinds = [np.asarray(x).dtype for x in values]
    all_small = all(d.kind == "f" and d.itemsize <= 4 for d in in_kinds)
    if axis is None:
        ndim = max(a.ndim for a in arrs)  # keepdims keeps every dimension, with length 1
        arrs = [a.ravel() for a in arrs]
        ax = -1
    else:
        ndim = max(a.ndim for a in arrs)
        arrs = [a.reshape((1,) * (ndim - a.ndim) + a.shape) for a in arrs]
        if not -ndim <= axis < ndim:
            # SciPy's text: NumPy's moveaxis for one sample or paired samples, its own for independent ones
            scipy = (f"source: axis {axis} is out of bounds for array of dimension {ndim}"
                     if paired or len(arrs) == 1 else f"`axis` is out of bounds for array of dimension {ndim}")
            raise AxisOutOfBoundsError(f"{func}: axis {axis} is out of bounds for samples of {ndim} dimensions "
                                       f"(SciPy: {scipy})")
        ax = axis
    arrs = [np.moveaxis(a, ax, -1) for a in arrs]
    try:
        if paired:
            shape = np.broadcast_shapes(*(a.shape for a in arrs))
            arrs = [np.broadcast_to(a, shape) for a in arrs]
        else:
            batch = np.broadcast_shapes(*(a.shape[:-1] for a in arrs))
            arrs = [np.broadcast_to(a, batch + a.shape[-1:]) for a in arrs]
    except ValueError:
        shapes = " and ".join(str(np.shape(v)) for v in values)
        what = "in every dimension" if paired else "outside axis"
        raise ValueError(f"{func}: {' and '.join(names)} must have compatible shapes {what}; got {shapes} "
                         "(SciPy: Array shapes are incompatible for broadcasting.)") from None
    batch = arrs[0].shape[:-1]
    rows = int(np.prod(batch)) if batch else 1
    arrs = [np.ascontiguousarray(a.reshape(rows, a.shape[-1])) for a in arrs]
    # one fast pass (a sum) proves most rows free of NaN and inf; only the others are searched
    nan_rows = np.zeros(rows, dtype=bool)
    finite = []
    for a in arrs:
        with np.errstate(invalid="ignore", over="ignore"):
            suspect = ~np.isfinite(a.sum(axis=1))
        finite.append(not suspect.any())
        if suspect.any():
            nan_rows[suspect] |= np.isnan(a[suspect]).any(axis=1)
    if nan_policy == "raise" and nan_rows.any():
        bad = next(n for n, a in zip(names, arrs) if np.isnan(a).any())
        raise ValueError(f"{func}: {bad} contains NaN (nan_policy='raise'; SciPy: The input contains nan values)")
    omit = nan_policy == "omit" and bool(nan_rows.any())
    if omit and paired:  # a pair with a NaN on either side is dropped whole
        gone = np.zeros(arrs[0].shape, dtype=bool)
        for a in arrs:
            gone |= np.isnan(a)
        arrs = [np.where(gone, np.nan, a) for a in arrs]
    s = Samples(arrs, batch, nan_rows & (nan_policy == "propagate"), omit, axis, keepdims)
    s._ndim = ndim
    s.finite = finite
    if all_small:
        s.dtype = np.dtype(np.float32)
    return s


def counts(a: np.ndarray) -> np.ndarray:
    """Non-NaN observations per row."""
    return a.shape[1] - np.isnan(a).sum(axis=1)


def warn_small(too_small: np.ndarray, func: str, need: int, sm: Samples | None = None) -> None:
    """Warn (SciPy's text, after the function's name) when some problem has fewer than ``need``
    observations after NaN were handled."""
    if np.any(too_small):
        several = sm is not None and (sm._ndim > 1 and sm.axis is not None)
        omit = sm is not None and sm.omit
        # SciPy's text first: warning filters match a message from its start
        warnings.warn(f"{_TOO_SMALL[several, omit]} ({func}: fewer than {need} observations)", SmallSampleWarning,
                      stacklevel=3)


def row_moments(s: Samples, i: int, func: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`row_moments_of` sample i."""
    return row_moments_of(s.arrays[i], s.finite[i], func)


def row_moments_of(a: np.ndarray, finite: bool, func: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, mean and centred sum of squares of each row, NaN skipped.  One finite row (the
    common case) goes through the C++ moments kernel of :class:`Stats`, as before; batches and
    rows with NaN or inf through NumPy's two passes, as SciPy."""
    if finite and a.shape[0] == 1 and a.shape[1] > 0:
        n, mean, com = call_kernel(func, _core.abtest.moments, [a[0]], ["sample"])
        return np.array([n]), mean[:1].copy(), com[0, :1].copy()
    if not np.isnan(a).any():
        n = np.full(a.shape[0], float(a.shape[1]))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = a.mean(axis=1) if a.shape[1] else np.full(a.shape[0], np.nan)
            m2 = ((a - mean[:, None]) ** 2).sum(axis=1)
        return n, mean, m2
    n = counts(a).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(a, axis=1) / n
        m2 = np.nansum((a - mean[:, None]) ** 2, axis=1)
    return n, mean, m2
