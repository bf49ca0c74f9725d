"""Stub of mlsd._core.monitoring: the mlsd::monitoring kernels (private: use mlsd.monitoring)."""

from typing import Any, Optional

import numpy as np
import numpy.typing as npt

_F64 = npt.NDArray[np.float64]
_I64 = npt.NDArray[np.int64]

def sort_columns(columns: list[_F64]) -> tuple[list[_F64], _I64]: ...
def drift_columns(reference: list[_F64], current: list[_F64], reference_sorted: bool, edges: list[_F64],
                  n_bins: int) -> dict[str, Any]: ...
def ks_exact_sf(n1: _I64, n2: _I64, h: _I64, two_sided: bool) -> _F64: ...
def smirnov_sf(n: _I64, x: _F64) -> _F64: ...
def wasserstein_distance(u: _F64, v: _F64, u_weights: Optional[_F64] = None,
                         v_weights: Optional[_F64] = None) -> float: ...
