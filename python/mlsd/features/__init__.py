"""Point-in-time correct training data.

* :func:`point_in_time_join` -- for each event of a spine (entity key, event time), the latest
  value of each feature table's rows for that entity at that time (an as-of join; several
  feature tables per call, each with its own ttl and prefix through :class:`FeatureTable`;
  bitemporal with ``created_at``).
* :func:`leakage_report` -- feature values stamped after the label time, and single features that
  predict the label suspiciously well.
* :func:`window_aggregate` -- count, sum, mean, min, max and last of each entity's events over
  sliding time windows, for every row of a spine (or the events themselves), exactly.
* :class:`WindowState` -- the same aggregates kept online: fed events in batches, it answers
  lookups with the values ``window_aggregate`` computes offline (a mergeable state).

Keys of one or more columns (integers, strings, categoricals), times as datetime64 of any unit
(naive or tz-aware) or integers, pandas or pyarrow tables in (and the same kind out), any row order
(the kernels group the rows by entity with a counting scatter, or sort them with a parallel radix
sort, and the spine's order is kept).
"""

from ._join import FeatureTable, point_in_time_join
from ._leakage import LeakageReport, leakage_report
from ._state import WindowState, WindowStateSummary
from ._window import window_aggregate

__all__ = ["FeatureTable", "LeakageReport", "WindowState", "WindowStateSummary", "leakage_report",
           "point_in_time_join", "window_aggregate"]
