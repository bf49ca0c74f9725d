"""Monitoring models in production: drift and performance decay.

* :class:`PCADrift` and :func:`multivariate_drift` — multivariate drift by PCA reconstruction
  error (NannyML's method): drift in how columns move together, even where each column alone
  looks unchanged.
* :func:`performance_over_time` — AUC, normalized entropy and calibration per time window once
  labels arrive, so that decay is visible.
"""

from ._multivariate import MultivariateDriftResult, PCADrift, multivariate_drift
from ._time import PerformanceOverTime, performance_over_time

__all__ = ["PCADrift", "MultivariateDriftResult", "multivariate_drift", "PerformanceOverTime",
           "performance_over_time"]

__test__ = {name: globals()[name] for name in __all__}
