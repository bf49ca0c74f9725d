"""The per-column summary of a :class:`Profile` (its ``result()``)."""

from __future__ import annotations

import numpy as np

from .._results import Result, result_type
from . import _sketch
from ._input import NUMERIC


@result_type
class ProfileSummary(Result):
    """One row per profiled column: ``column``, ``type``, ``n`` (non-missing values), ``missing``
    (share), ``mean``, ``std`` (ddof 0), ``min``, ``max`` (numeric; NaN otherwise) and
    ``n_categories`` (categorical; 0 otherwise)."""

    column: np.ndarray
    type: np.ndarray
    n: np.ndarray
    missing: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    min: np.ndarray
    max: np.ndarray
    n_categories: np.ndarray


def profile_summary(profile) -> ProfileSummary:
    cols = profile.columns
    m = len(cols)
    out = dict(column=np.array(cols, dtype=object), type=np.array([profile.kinds[c] for c in cols], dtype=object),
               n=np.zeros(m, np.int64), missing=np.full(m, np.nan), mean=np.full(m, np.nan), std=np.full(m, np.nan),
               min=np.full(m, np.nan), max=np.full(m, np.nan), n_categories=np.zeros(m, np.int64))
    for i, c in enumerate(cols):
        miss = profile.missing(c)
        if profile.kinds[c] == NUMERIC and profile.sketch is not None:
            m = profile._moments[c]
            n = out["n"][i] = m[0]
            if n:
                sk = profile._sketches[c]
                out["mean"][i], out["std"][i] = m[1], _sketch.moments_std(m)
                out["min"][i], out["max"][i] = sk.get_min_value(), sk.get_max_value()
        elif profile.kinds[c] == NUMERIC:
            v = profile.sorted_values(c)
            out["n"][i] = len(v)
            if len(v):  # (the sketched profiles' moments, the kernel's: drift's bits, finite up to DBL_MAX)
                m = _sketch.moments_of(v)
                out["mean"][i], out["std"][i] = m[1], _sketch.moments_std(m)
                out["min"][i], out["max"][i] = v[0], v[-1]
        else:
            counts = profile.category_counts(c)
            out["n"][i] = sum(counts.values())
            out["n_categories"][i] = len(counts)
        total = out["n"][i] + miss
        out["missing"][i] = miss / total if total else np.nan
    return ProfileSummary(**out)
