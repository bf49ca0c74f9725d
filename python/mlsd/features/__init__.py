"""Point-in-time correct training data.

* :func:`point_in_time_join` -- for each event of a spine (entity key, event time), the latest
  value of each feature table's rows for that entity at that time (an as-of join; several
  feature tables per call, each with its own ttl and prefix; bitemporal with ``created_at``).
* :func:`leakage_report` -- feature values stamped after the label time, and single features that
  predict the label suspiciously well.

Keys of one or more columns (integers, strings, categoricals), times as datetime64 of any unit
(naive or tz-aware) or integers, pandas or pyarrow tables in (and the same kind out), any row order
(the kernels sort with a parallel radix sort, and the spine's order is kept).
"""

__all__: list[str] = []
