"""The internal API of :mod:`mlsd.features` for :mod:`mlsd.dask` (and any other family): kept
stable for it; anything else in ``mlsd.features._*`` may change without notice.

``encode_keys(tables, by, wheres, func, *, dense=False)``
    Joint int64 codes of the key columns of several tables (-1: a missing key, never matches).
``encode_times(tables, on, wheres, func, *, arg="on")``
    The time columns of several tables as int64 in one unit, their masks and the ``TimeSpec``.
``sort_order(codes, times, tie=None)``
    The stable permutation ordering rows by (code, time[, tie]) (a parallel LSD radix sort).
"""

from __future__ import annotations

import numpy as np

from .. import _core
from ._encode import TimeSpec, encode_keys, encode_times

__all__ = ["TimeSpec", "encode_keys", "encode_times", "sort_order"]


def sort_order(codes: np.ndarray, times: np.ndarray, tie: np.ndarray | None = None) -> np.ndarray:
    """Row order by (code, time[, tie]), stable; every argument int64 of one length."""
    c = np.ascontiguousarray(codes, dtype=np.int64)
    t = np.ascontiguousarray(times, dtype=np.int64)
    x = None if tie is None else np.ascontiguousarray(tie, dtype=np.int64)
    return _core.features.sort_order(c, t, x)
