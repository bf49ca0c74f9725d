"""Stub of mlsd._core.monitoring: the mlsd::monitoring kernels (private: use mlsd.monitoring)."""

import numpy as np
import numpy.typing as npt

_F64 = npt.NDArray[np.float64]

def pca_fit(x: _F64, n_features: int, name: str) -> tuple[_F64, _F64, _F64, _F64]: ...
def reconstruction_errors(x: _F64, n_features: int, mean: _F64, scale: _F64, components: _F64, name: str) -> _F64: ...
