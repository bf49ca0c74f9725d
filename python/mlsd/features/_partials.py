"""The internal API of :mod:`mlsd.features` for :mod:`mlsd.dask` (and any other family): kept
stable for it; anything else in ``mlsd.features._*`` may change without notice.

``encode_keys(tables, by, wheres, func, *, dense=False)``
    Joint int64 codes of the key columns of several tables (-1: a missing key, never matches).
``key_hash(table, by, where, func)``
    A uint64 hash of each row's key, equal for keys that ``encode_keys`` gives one code (in any
    table): the rule for shuffling rows by entity.
``key_kinds(table, by, where, func)``
    The kind of each key column ("integer", "float", "string"; "null": no key at all): keys of
    different kinds never match, and a table split in parts is checked part by part.
``encode_times(tables, on, wheres, func, *, arg="on")``
    The time columns of several tables as int64 in one unit, their masks and the ``TimeSpec``.
``sort_order(codes, times, tie=None)``
    The stable permutation ordering rows by (code, time[, tie]) (a parallel LSD radix sort).
"""

from __future__ import annotations

import numpy as np

from .. import _core
from ._encode import TimeSpec, encode_keys, encode_times, key_hash, key_kinds

__all__ = ["TimeSpec", "encode_keys", "encode_times", "key_hash", "key_kinds", "sort_order"]


def sort_order(codes: np.ndarray, times: np.ndarray, tie: np.ndarray | None = None) -> np.ndarray:
    """Row order by (code, time[, tie]), stable; every argument int64 of one length."""
    c = np.ascontiguousarray(codes, dtype=np.int64)
    t = np.ascontiguousarray(times, dtype=np.int64)
    x = None if tie is None else np.ascontiguousarray(tie, dtype=np.int64)
    return _core.features.sort_order(c, t, x)
