"""Data drift over Dask DataFrames: a :class:`mlsd.monitoring.Profile` per partition, merged in a
tree, then the single-machine comparison.  Equal to :func:`mlsd.monitoring.drift` and
:meth:`mlsd.monitoring.Profile.from_data` on the concatenated rows (profiles merge exactly).

Dask is imported when a function is called, never when this module is imported.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any


from .._params import Check, Interval
from ..monitoring import DriftReport, Profile
from ..monitoring._partials import DRIFT_OPTIONS, profile_table
from ._common import compute, declared as _declared, in_worker, is_dask_collection, require, tree_reduce

__all__ = ["profile", "drift"]


def _is_frame(x: Any) -> bool:
    return is_dask_collection(x) and isinstance(x, require("dask.dataframe").DataFrame)


def _is_names(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and all(isinstance(c, (str, int)) for c in v)


FRAME = Check(_is_frame, "a Dask DataFrame")
NAMES = [None, Check(_is_names, "a list of column names")]
SPLIT_EVERY = [Interval(Integral, 2, None)]
CLIENT = [None, Check(lambda c: callable(getattr(c, "compute", None)), "a distributed.Client")]


def _kinds_from_meta(df: Any, columns: list | None, categorical: list | None, func: str, name: str) -> tuple[list, list]:
    """(columns, categorical): the columns to profile and those to read as categories, decided
    once from the frame's dtypes, so that every partition's profile has the same schema (a
    partition whose string column is all missing must still profile it as categorical)."""
    names = list(df.columns) if columns is None else list(columns)
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise ValueError(f"{func}: {name} has no column(s) {missing!r}")
    if not names:
        raise ValueError(f"{func}: {name} has no column to profile")
    dtypes = df._meta.dtypes if hasattr(df, "_meta") else df.dtypes
    cats = set(categorical or ())
    for c in names:
        if getattr(dtypes[c], "kind", "O") not in "iuf":
            cats.add(c)
    return names, [c for c in names if c in cats]


def _partition_profile(pdf, columns: list, categorical: list, func: str):
    if len(pdf) == 0:
        return None  # an empty partition adds nothing (and has no values to decide kinds from)
    try:
        return Profile.from_data(pdf, columns, categorical=categorical)
    except ValueError as e:
        raise type(e)(f"{func}: {str(e).replace('Profile.from_data', func)}") from None


def _merge_profiles(profiles: list):
    kept = [p for p in profiles if p is not None]
    if not kept:
        return None
    return kept[0].merge(*kept[1:]) if len(kept) > 1 else kept[0]


def _profile_delayed(df: Any, columns: list | None, categorical: list | None, split_every: int, func: str, name: str):
    names, cats = _kinds_from_meta(df, columns, categorical, func, name)
    task = require("dask").delayed(in_worker(_partition_profile), pure=True)
    parts = [task(part, names, cats, func) for part in df[names].to_delayed()]
    return tree_reduce(parts, _merge_profiles, split_every, name="mlsd-profile")


@_declared("mlsd.dask.profile", df=[FRAME], columns=NAMES, categorical=NAMES, split_every=SPLIT_EVERY, client=CLIENT)
def profile(df: Any, columns: list | None = None, *, categorical: list | None = None, split_every: int = 8,
            client: Any = None) -> Profile:
    """:meth:`mlsd.monitoring.Profile.from_data` of a Dask DataFrame: each partition profiled on
    its worker, the profiles merged in a tree of fan-in ``split_every``.  The same profile, value
    for value, as ``Profile.from_data`` of the concatenated rows (profiles merge exactly).

    Column kinds are decided once from the frame's dtypes (integer and float columns numeric,
    every other column categorical, plus those named in ``categorical``), so that all partitions
    agree.  Empty partitions are skipped.

    Network: each partition's profile (8 bytes per non-missing numeric value, one count per
    category) travels to its merge; the merged profile is as large as the numeric data.

    Parameters
    ----------
    df : Dask DataFrame
    columns : list, optional
        Columns to profile (default: all).
    categorical : list, optional
        Numeric columns to treat as categories.
    split_every : int >= 2, default 8
    client : distributed.Client, optional
        Default: Dask's current scheduler.

    Returns
    -------
    mlsd.monitoring.Profile
    """
    func = "mlsd.dask.profile"
    merged = compute(_profile_delayed(df, columns, categorical, split_every, func, "df"), client)
    if merged is None:
        raise ValueError(f"{func}: df has no rows")
    return merged


@_declared("mlsd.dask.drift", reference=[FRAME, Profile], current=[FRAME], columns=NAMES, categorical=NAMES,
           split_every=SPLIT_EVERY, client=CLIENT, **DRIFT_OPTIONS)
def drift(reference: Any, current: Any, columns: list | None = None, *, categorical: list | None = None,
          method: Any = "auto", threshold: Any = None, n_bins: int = 10, bins: Any = None, psi_eps: float = 1e-4,
          ks_method: str = "auto", alternative: str = "two-sided", drift_share: float = 0.5, progress: bool = False,
          split_every: int = 8, client: Any = None) -> DriftReport:
    """:func:`mlsd.monitoring.drift` of two Dask DataFrames (or a saved reference
    :class:`~mlsd.monitoring.Profile` and a Dask DataFrame), by merged per-partition profiles:
    the same report, number for number, as ``drift`` on the concatenated rows.

    Both sides are profiled in one Dask computation (partition profiles merged in trees of fan-in
    ``split_every``); the client then compares the reference profile with the current values,
    which the current profile holds exactly.  ``method``, ``threshold``, ``n_bins``, ``bins``,
    ``psi_eps``, ``ks_method``, ``alternative``, ``drift_share`` and ``progress`` are
    :func:`~mlsd.monitoring.drift`'s, declared as there.

    Network: the profiles, as large as the numeric columns of both sides (see :func:`profile`).

    Returns
    -------
    mlsd.monitoring.DriftReport
    """
    func = "mlsd.dask.drift"
    if isinstance(reference, Profile):
        if columns is not None or categorical is not None:
            raise ValueError(f"{func}: columns and categorical apply to a reference DataFrame, not to a Profile")
        ref_profile = reference
        cur_task = _profile_delayed(current, reference.columns,
                                    [c for c in reference.columns if reference.kinds[c] == "categorical"],
                                    split_every, func, "current")
        cur_profile = compute(cur_task, client)
    else:
        names, cats = _kinds_from_meta(reference, columns, categorical, func, "reference")
        ref_task = _profile_delayed(reference, names, cats, split_every, func, "reference")
        cur_task = _profile_delayed(current, names, cats, split_every, func, "current")
        ref_profile, cur_profile = compute([ref_task, cur_task], client)
        if ref_profile is None:
            raise ValueError(f"{func}: reference has no rows")
    if cur_profile is None:
        raise ValueError(f"{func}: current has no rows")
    options = dict(method=method, threshold=threshold, n_bins=n_bins, bins=bins, psi_eps=psi_eps, ks_method=ks_method,
                   alternative=alternative, drift_share=drift_share, progress=progress)
    try:
        return ref_profile.compare(profile_table(cur_profile), **options)
    except (ValueError, TypeError) as e:
        raise type(e)(str(e).replace("Profile.compare", func)) from None
