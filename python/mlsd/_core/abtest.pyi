"""Stub of mlsd._core.abtest: the mlsd::abtest kernels (private: use mlsd.abtest)."""

from typing import Any, Iterable, Optional, Sequence

import numpy as np
import numpy.typing as npt

_F64 = npt.NDArray[np.float64]

def moments(columns: list[npt.NDArray[np.float64]], names: list[str]) -> tuple[float, _F64, _F64]: ...
def merge_moments(k: int, n_a: _F64, mean_a: _F64, comoment_a: _F64, n_b: _F64, mean_b: _F64,
                  comoment_b: _F64) -> tuple[_F64, _F64, _F64]: ...
def mann_whitney_u(x: _F64, y: _F64) -> tuple[float, float]: ...
def bootstrap_sums(y: _F64, d: Optional[_F64], n_resamples: int, seed: int, stream: int,
                   first_resample: int, first_row: int = 0,
                   keys: Optional[npt.NDArray[np.int64]] = None) -> tuple[_F64, _F64, _F64]: ...
def bootstrap_quantiles(sorted: _F64, probs: _F64, n_resamples: int, seed: int, stream: int,
                        first_resample: int, keys: Optional[npt.NDArray[np.int64]] = None) -> _F64: ...
