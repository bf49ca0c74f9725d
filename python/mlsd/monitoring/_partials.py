"""The internal API of :mod:`mlsd.monitoring` for :mod:`mlsd.dask`: the pieces of the
single-machine monitoring code that a distributed computation needs, and nothing else.

``mlsd.dask`` reaches mlsd.monitoring only through its public names (``Profile``, ``drift``,
``DriftReport``...) and this module.  A refactor of the monitoring package keeps these signatures
and meanings, or changes ``mlsd.dask`` in the same commit.

Contract
--------
``profile_table(profile)`` -> dict of 1-D arrays: a table that holds exactly the values a
    :class:`~mlsd.monitoring.Profile` profiled (numeric columns sorted, then NaN for each missing
    value; categorical columns each category repeated by its count, then None for each missing
    value).  Every per-column drift test is a function of the multiset of a column's values, so
    ``reference_profile.compare(profile_table(current_profile))`` is ``drift(reference, current)``.

``DRIFT_OPTIONS``: the declarations (for ``@validate_params``) of :func:`~mlsd.monitoring.drift`'s
    options ``method``, ``threshold``, ``n_bins``, ``bins``, ``psi_eps``, ``ks_method``,
    ``alternative``, ``drift_share``, ``progress``, so that a Dask twin declares them exactly as
    the single-machine function does.
"""

from __future__ import annotations

import numpy as np

from ._drift import OPTIONS as DRIFT_OPTIONS
from ._input import NUMERIC
from ._profile import Profile

__all__ = ["profile_table", "DRIFT_OPTIONS"]


def profile_table(profile: Profile) -> dict:
    out = {}
    for c in profile.columns:
        k = profile.missing(c)
        if profile.kinds[c] == NUMERIC:
            out[c] = np.concatenate([profile.sorted_values(c), np.full(k, np.nan)])
        else:
            counts = profile.category_counts(c)
            values = np.empty(sum(counts.values()) + k, dtype=object)
            values[:] = None
            at = 0
            for cat, n in counts.items():
                values[at:at + n] = cat
                at += n
            out[c] = values
    return out
