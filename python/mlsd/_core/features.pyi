"""Stub of mlsd._core.features: the mlsd::features kernels (private: use mlsd.features)."""

from typing import Any, Optional

import numpy as np
import numpy.typing as npt

_I64 = npt.NDArray[np.int64]
_F64 = npt.NDArray[np.float64]

def sort_order(codes: _I64, times: _I64, tie: Optional[_I64] = None) -> _I64: ...
def asof_match(spine_codes: _I64, spine_times: _I64, feature_codes: _I64, feature_times: _I64,
               created: Optional[_I64], allow_exact_matches: bool, ttl: Optional[int]) -> _I64: ...
def take_rows(rows: _I64, columns: list[npt.NDArray[Any]], fills: list[int]) -> list[npt.NDArray[np.uint8]]: ...
def window_aggregate(entity: _I64, time: _I64, values: list[_F64], order: _I64, query_entity: _I64,
                     query_time: _I64, query_order: _I64, windows: _I64, closed: str,
                     aggs: int) -> _F64: ...
