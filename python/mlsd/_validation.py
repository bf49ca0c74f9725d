"""Shared array conversion for the public API (parameter constraints are declared with
:func:`mlsd._params.validate_params`; this module turns array arguments into what the kernels take).

Each helper converts at most once (``np.ascontiguousarray`` with the dtype the kernel takes, which
does not copy an array that is already right) and raises with a message that names the function,
the argument and what was expected.  Checks that need a pass over the data (finiteness, label
values, non-negative weights) run in C++, in parallel, inside the kernel.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _core

__all__ = [
    "InvalidParameterError",
    "as_binary_labels",
    "as_float32",
    "as_float_array",
    "as_sample_weight",
    "check_fits",
    "check_same_length",
    "call_kernel",
]


class InvalidParameterError(ValueError, TypeError):
    """A parameter has the wrong type or value.

    Subclasses both ValueError and TypeError, like scikit-learn's, so callers may catch either.
    """


def _as_array(x: Any, name: str, func: str) -> np.ndarray:
    if x is None:
        raise TypeError(f"{func}: {name} is required, got None")
    arr = np.asarray(x)
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{func}: {name} must be numeric; got an object array that is not") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{func}: {name} must be a numeric array; got dtype {arr.dtype}")
    return arr


def as_float_array(x: Any, name: str, func: str, *, ndim: int | tuple[int, ...] = 1) -> np.ndarray:
    """float64, C-contiguous; no copy when x already is.  Finiteness is checked by the kernel."""
    arr = _as_array(x, name, func)
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{func}: {name} must be {want}; got an array of shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float64)


_LABEL_DTYPES = (np.int8, np.int32, np.int64, np.float32, np.float64)


def as_binary_labels(y: Any, name: str, func: str) -> np.ndarray:
    """uint8 labels in {0, 1}.  bool and uint8 arrays are viewed, not copied; other numeric dtypes
    are converted in one parallel pass that rejects any value other than 0 and 1."""
    arr = _as_array(y, name, func)
    if arr.ndim != 1:
        raise ValueError(f"{func}: {name} must be 1-D; got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{func}: {name} is empty; at least one sample is required")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if arr.dtype.kind == "u" and arr.dtype.itemsize >= 8:  # would wrap around as int64
        bad = np.flatnonzero(arr > 1)
        if bad.size:
            raise ValueError(f"{func}: y_true must contain only 0 and 1; found {arr[bad[0]]} at index {bad[0]}")
    if arr.dtype == np.bool_:
        return np.ascontiguousarray(arr).view(np.uint8)
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)  # values are checked by the kernel
    if arr.dtype.type not in _LABEL_DTYPES:
        arr = arr.astype(np.float64 if arr.dtype.kind == "f" else np.int64)
    return call_kernel(func, _core.metrics.to_binary_labels, np.ascontiguousarray(arr))


def as_sample_weight(w: Any, n: int, func: str, name: str = "sample_weight") -> np.ndarray | None:
    if w is None:
        return None
    arr = as_float_array(w, name, func)
    if arr.shape[0] != n:
        raise ValueError(f"{func}: {name} has {arr.shape[0]} elements but y_true has {n}")
    return arr


def check_fits(values: np.ndarray, dtype: Any, what: str, func: str) -> None:
    """Raises ValueError when a value of ``values`` cannot be held by ``dtype``: for an integer
    dtype, a value outside its range (NaN and inf included); for a float dtype narrower than the
    values', a finite value that the cast would turn into inf (with NumPy's "overflow encountered
    in cast" warning), not one that merely rounds to the largest finite value.  Values are not rounded here: a fraction is the caller's rule.
    ``what`` names the argument in the message."""
    dtype = np.dtype(dtype)
    values = np.asarray(values)
    if values.size == 0 or values.dtype.kind not in "biufc":
        return
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if values.dtype.kind in "iu" and np.can_cast(values.dtype, dtype):
            return
        if values.dtype.kind == "u" and dtype.kind == "i":
            ok = values.max() <= info.max  # compared exactly (no float64 rounding of 2**63)
        else:
            with np.errstate(invalid="ignore"):
                lo, hi = values.min(), values.max()
            ok = bool(np.isfinite(lo) and np.isfinite(hi) and lo >= info.min and hi < info.max + 1)  # 2**63 itself
        if not ok:
            raise ValueError(f"{func}: {what} has values outside the range of {dtype} "
                             f"([{info.min}, {info.max}])")
    elif dtype.kind in "fc" and values.dtype.kind in "fc" and values.dtype.itemsize > dtype.itemsize:
        # The cast rounds to nearest, so a value up to half a unit in the last place above the
        # largest finite one still becomes that largest value (float32's prints as 3.4028235e+38,
        # which as a float64 lies above it); from max + half an ulp on (a tie rounds to even, away
        # from max's odd last bit) it becomes inf.  The bound is exact in float64.
        info = np.finfo(dtype)
        overflows_at = float(info.max) + 2.0 ** (info.maxexp - info.nmant - 2)
        mag = np.abs(values)
        if (mag[np.isfinite(mag)] >= overflows_at).any():
            raise ValueError(f"{func}: {what} has finite values beyond the range of {dtype} "
                             f"(largest magnitude {float(info.max):.8g})")


def as_float32(x: np.ndarray, name: str, func: str) -> np.ndarray:
    """float32, C-contiguous; no copy when x already is.  A finite value too large for float32
    raises ValueError (NaN and inf pass on, for the kernel's finiteness check)."""
    if x.dtype != np.float32:
        check_fits(x, np.float32, name, func)
    return np.ascontiguousarray(x, dtype=np.float32)


def check_same_length(func: str, **arrays: np.ndarray) -> None:
    names = list(arrays)
    first = names[0]
    n = arrays[first].shape[0]
    for other in names[1:]:
        m = arrays[other].shape[0]
        if m != n:
            raise ValueError(f"{func}: {other} has {m} elements but {first} has {n}")


def call_kernel(func: str, kernel, *args):
    """Calls a compiled kernel; its ValueError (whose message names the argument, never a C++
    function) is raised again with the public function's name in front."""
    try:
        return kernel(*args)
    except ValueError as e:
        raise ValueError(f"{func}: {e}") from None
