"""Monitoring models in production: data drift and performance decay.

Every column of a wide table tested against a reference in one multithreaded pass, from the raw
reference or from a :class:`Profile` computed once; drift in the joint distribution; drift and
performance per time window.

* :func:`drift` — per-column drift of a current table against a reference table (pandas,
  pyarrow, Polars, dicts of arrays, NumPy): a :class:`DriftReport` with one row per column
  (method, statistic, p-value or distance, threshold, drifted, and every other test), the
  dataset's share of drifted columns, ``to_frame()``, ``plot()`` and ``plot_histograms()``.
* :class:`Profile` — the reference computed once (sorted values, category and missing counts):
  ``profile.compare(current)`` gives exactly ``drift``'s report; profiles save to a checksummed
  file, load, and merge (partitions into the whole) on the mergeable-state protocol.  With
  ``sketch=k``, a KLL quantile sketch per numeric column instead of its sorted values: a few
  thousand values per column, KS and Wasserstein within a stated rank-error bound.
* Per pair of samples, drop-in for SciPy: :func:`ks_2samp`, :func:`wasserstein_distance`.
* :class:`PCADrift` and :func:`multivariate_drift` — multivariate drift by PCA reconstruction
  error (NannyML's method): drift in how columns move together, even where each column alone
  looks unchanged.
* :func:`drift_over_time` — the drift of every column per time window (a heatmap), from one
  reference profile; :func:`performance_over_time` — AUC, normalized entropy and calibration per
  time window once labels arrive, so that decay is visible.

Numeric tests: Kolmogorov-Smirnov (exact or asymptotic p-value, as SciPy), Wasserstein-1 (raw and
divided by the reference's standard deviation), PSI, Jensen-Shannon distance and Hellinger distance
on the reference's quantile bins (or fixed edges).  Categorical: chi-square with Cramér's V, PSI,
Jensen-Shannon and Hellinger over categories, new and vanished categories.  Both: the missing
share and its change.
"""

from ._drift import DriftReport, drift
from ._multivariate import MultivariateDriftResult, PCADrift, multivariate_drift
from ._pairs import KstestResult, ks_2samp, wasserstein_distance
from ._profile import Profile
from ._summary import ProfileSummary
from ._time import DriftOverTime, PerformanceOverTime, drift_over_time, performance_over_time

__all__ = ["drift", "DriftReport", "Profile", "ProfileSummary", "ks_2samp", "wasserstein_distance", "KstestResult",
           "PCADrift", "MultivariateDriftResult", "multivariate_drift", "DriftOverTime", "drift_over_time",
           "PerformanceOverTime", "performance_over_time"]
