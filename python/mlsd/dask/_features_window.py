"""mlsd.features.window_aggregate over Dask DataFrames: shuffle by entity, then the single-machine
kernel per partition."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .. import features as F
from ..features import _partials as F_partials
from .._params import Check, Options, validate_params
from ._common import in_worker, require
from ._features import key_meta, kinds_checked, with_dtypes_of

__all__ = ["window_aggregate"]

_POS = "__mlsd_row__"
_KEY = "__mlsd_key__"
_POSITION_BITS = 40  # row position within a partition; the partition number goes above it


def _is_dask_frame(x: Any) -> bool:
    try:
        return isinstance(x, require("dask.dataframe").DataFrame)
    except ImportError:  # pragma: no cover
        return False


def _with_position(df, by, where, partition_info=None):
    """``df`` with each row's position (partition, row) and the hash of its key: the features
    family's rule, so keys that the single-machine function treats as one (int32 and int64, a
    categorical and its values, -0.0 and 0.0, ...) reach one partition from events and at alike."""
    number = 0 if partition_info is None else partition_info["number"]
    return df.assign(**{_POS: (np.int64(number) << _POSITION_BITS) + np.arange(len(df), dtype=np.int64),
                        _KEY: F_partials.key_hash(df, by, where, "mlsd.dask.window_aggregate").view(np.int64)})


def _part(events, *rest, by, on, values, windows, aggs, closed, with_at):
    # rest: at (with_at), then kinds_checked's result, if any: a dependency only (it raised if wrong)
    at = rest[0] if with_at else None
    events = events.sort_values(_POS, kind="stable").drop(columns=[_POS, _KEY])  # row order: ties in time keep it
    if at is not None:
        at = at.drop(columns=[_POS, _KEY])
    return F.window_aggregate(events, by=by, on=on, values=values, windows=windows, aggs=aggs, at=at, closed=closed)


FRAME = Check(_is_dask_frame, "a Dask DataFrame (use mlsd.features.window_aggregate for in-memory tables)")


@validate_params(
    events=[FRAME], by=[Check(lambda x: isinstance(x, str) or (isinstance(x, (list, tuple)) and len(x) > 0),
                              "a column name or a non-empty list of column names")],
    on=[str], values=[Check(lambda x: isinstance(x, str) or (isinstance(x, (list, tuple)) and len(x) > 0),
                            "a column name or a non-empty list of column names")],
    windows=[Check(lambda x: x is not None, "a window or a list of windows")],
    aggs=[Check(lambda x: isinstance(x, (str, list, tuple)), "an aggregate or a list of aggregates")],
    at=[None, FRAME], closed=[Options({"left", "right", "both", "neither"})],
)
def window_aggregate(events, *, by, on, values, windows=("1h", "1d", "7d"),
                     aggs=("count", "sum", "mean", "min", "max", "last"), at=None, closed="left"):
    """:func:`mlsd.features.window_aggregate` over Dask DataFrames: a lazy Dask DataFrame.

    The rows of ``events`` (and of ``at``) are shuffled by the key columns ``by`` (Dask's
    shuffle: each row crosses the network once), so that each entity's events and spine rows share
    a partition; each partition then runs the single-machine function.  The result holds the rows
    of ``at`` (or ``events``) with their index and the feature columns, each value equal to the
    single-machine result, but in the shuffled row order: sort by the index (``.compute()
    .sort_index()`` on a unique index) or join on it to line rows up.  Among events at one
    timestamp the original row order (partition, then row) is kept, so ``last`` agrees too.

    The shuffle hashes each key as the single-machine function compares it, so the key columns of
    ``events`` and ``at`` may hold one key in different representations (int32 and int64, a
    categorical and its values, str and pyarrow strings, -0.0 and 0.0).  The arguments are checked
    on the frames' (empty) meta before anything runs, with the single-machine messages.
    """
    dd = require("dask.dataframe")
    by_l = [by] if isinstance(by, str) else list(by)
    # the plan, checked on the meta: unknown columns, bad windows, clashing names fail here
    try:
        meta = F.window_aggregate(key_meta(events, by_l), by=by, on=on, values=values, windows=windows, aggs=aggs,
                                  at=None if at is None else key_meta(at, by_l), closed=closed)
    except (TypeError, ValueError) as e:
        raise type(e)(str(e).replace("window_aggregate:", "mlsd.dask.window_aggregate:", 1)) from None
    meta = with_dtypes_of(meta, events if at is None else at, by_l)
    for name, frame in (("events", events), ("at", at)):
        taken = [] if frame is None else [c for c in (_POS, _KEY) if c in frame.columns]
        if taken:
            raise ValueError(f"mlsd.dask.window_aggregate: {name} has a column named {taken[0]!r}, which mlsd.dask "
                             f"uses itself")
    n = max(events.npartitions, 1 if at is None else at.npartitions)
    tagged = [events.map_partitions(_with_position, by_l, "events", meta=_with_position(events._meta, by_l, "events"))]
    if at is not None:
        tagged.append(at.map_partitions(_with_position, by_l, "at", meta=_with_position(at._meta, by_l, "at")))
    # every task waits for the check of the key kinds over all partitions (of object columns)
    checked = kinds_checked("mlsd.dask.window_aggregate", tagged, by_l, ["events", "at"][:len(tagged)])
    task = functools.partial(in_worker(_part), by=by, on=on, values=values, windows=windows, aggs=aggs, closed=closed,
                             with_at=at is not None)
    shuffled = [t.shuffle(on=_KEY, npartitions=n) for t in tagged]
    extra = [] if checked is None else [checked]
    if at is None:
        return shuffled[0].map_partitions(task, *extra, meta=meta)
    return dd.map_partitions(task, *shuffled, *extra, meta=meta, align_dataframes=False)
