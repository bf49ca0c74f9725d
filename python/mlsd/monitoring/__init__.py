"""Data drift in production: every column of a wide table tested against a reference in one
multithreaded pass, from the raw reference or from a :class:`Profile` computed once.

* :func:`drift` — per-column drift of a current table against a reference table (pandas,
  pyarrow, Polars, dicts of arrays, NumPy): a :class:`DriftReport` with one row per column
  (method, statistic, p-value or distance, threshold, drifted, and every other test), the
  dataset's share of drifted columns, ``to_frame()``, ``plot()`` and ``plot_histograms()``.
* :class:`Profile` — the reference computed once (sorted values, category and missing counts):
  ``profile.compare(current)`` gives exactly ``drift``'s report; profiles save to a checksummed
  file, load, and merge (partitions into the whole) on the mergeable-state protocol.
* Per pair of samples, drop-in for SciPy: :func:`ks_2samp`, :func:`wasserstein_distance`.

Numeric tests: Kolmogorov-Smirnov (exact or asymptotic p-value, as SciPy), Wasserstein-1 (raw and
divided by the reference's standard deviation), PSI, Jensen-Shannon distance and Hellinger distance
on the reference's quantile bins (or fixed edges).  Categorical: chi-square with Cramér's V, PSI,
Jensen-Shannon and Hellinger over categories, new and vanished categories.  Both: the missing
share and its change.
"""

from ._drift import DriftReport, drift
from ._pairs import KstestResult, ks_2samp, wasserstein_distance
from ._profile import Profile
from ._summary import ProfileSummary

__all__ = ["drift", "DriftReport", "Profile", "ProfileSummary", "ks_2samp", "wasserstein_distance", "KstestResult"]
