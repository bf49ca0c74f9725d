"""Windowed aggregations per entity: :func:`window_aggregate` (offline) and the shared preparation
that :class:`~mlsd.features.WindowState` (online) uses, so both compute through one kernel."""

from __future__ import annotations

import datetime as _dt
from numbers import Integral
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import _core
from .._params import Check, Options, validate_params
from .._validation import call_kernel
from ._encode import TimeSpec, column, encode_keys, encode_times, is_arrow, n_rows
from ._partials import sort_order

__all__ = ["window_aggregate", "AGGS", "CLOSED"]

AGGS = ("count", "sum", "mean", "min", "max", "last")
CLOSED = ("left", "right", "both", "neither")
_FLAGS = {a: 1 << i for i, a in enumerate(AGGS)}  # mlsd::features::Agg


# -- argument shapes (declared constraints) -------------------------------------------------------

def _is_table(x: Any) -> bool:
    return isinstance(x, pd.DataFrame) or is_arrow(x)


def _is_names(x: Any) -> bool:
    if isinstance(x, str):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(v, str) for v in x)


def _is_window(x: Any) -> bool:
    return (isinstance(x, (str, _dt.timedelta, np.timedelta64))
            or (isinstance(x, Integral) and not isinstance(x, (bool, np.bool_))))


def _is_windows(x: Any) -> bool:
    if _is_window(x):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(_is_window(v) for v in x)


def _is_aggs(x: Any) -> bool:
    if isinstance(x, str):
        return x in AGGS
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(v, str) and v in AGGS for v in x)


TABLE = Check(_is_table, "a pandas DataFrame or a pyarrow Table")
NAMES = Check(_is_names, "a column name or a non-empty list of column names")
WINDOWS = Check(_is_windows, "a window (a string such as '1h', a timedelta, or an int for integer times) "
                             "or a non-empty list of windows")
AGG_LIST = Check(_is_aggs, f"an aggregate or a non-empty list of aggregates among {', '.join(map(repr, AGGS))}")


def as_list(x: Any) -> list:
    return [x] if isinstance(x, (str, _dt.timedelta, np.timedelta64, Integral)) else list(x)


def unique(items: list, arg: str, func: str) -> list:
    seen = set()
    for v in items:
        key = str(v)
        if key in seen:
            raise ValueError(f"{func}: {arg} lists {v!r} twice")
        seen.add(key)
    return items


def window_label(w: Any) -> str:
    """The text of a window in output column names: a string as given ("1h"), an int as its
    digits, a timedelta as the largest whole unit ("90min", "2d")."""
    if isinstance(w, str):
        return w
    if isinstance(w, Integral) and not isinstance(w, np.timedelta64):  # (a NumPy integer subclass)
        return str(int(w))
    ns = pd.Timedelta(w).value
    for unit, size in (("d", 86_400_000_000_000), ("h", 3_600_000_000_000), ("min", 60_000_000_000),
                       ("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)):
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def window_labels(windows: list, func: str) -> list[str]:
    """The labels of ``windows``, distinct: two windows with one label ("1h" and a one-hour
    timedelta) would name two output columns alike, and one of them would be lost."""
    labels = [window_label(w) for w in windows]
    first: dict[str, int] = {}
    for i, label in enumerate(labels):
        j = first.setdefault(label, i)
        if j != i:
            raise ValueError(f"{func}: windows[{j}] and windows[{i}] both give the column name suffix {label!r} "
                             f"({windows[j]!r} and {windows[i]!r}); list each window once")
    return labels


def feature_names(values: Sequence[str], aggs: Sequence[str], labels: Sequence[str]) -> list[str]:
    """``f"{value}_{agg}_{window}"``, values outermost, windows innermost."""
    return [f"{v}_{a}_{w}" for v in values for a in aggs for w in labels]


def value_column(table: Any, name: str, where: str, func: str) -> np.ndarray:
    """A numeric column as float64 with NaN for missing values (nulls, pd.NA)."""
    col = column(table, name, "values", where, func)
    if is_arrow(table):
        import pyarrow as pa

        arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        if not (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or pa.types.is_boolean(arr.type)):
            raise TypeError(f"{func}: values column {name!r} of {where} has type {arr.type}; values must be numeric")
        out = arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
    else:
        dtype = col.dtype
        if dtype.kind not in "biuf":
            raise TypeError(f"{func}: values column {name!r} of {where} has dtype {dtype}; values must be numeric")
        out = col.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.ascontiguousarray(out, dtype=np.float64)


def prepared_windows(windows: list, spec: TimeSpec, func: str) -> np.ndarray:
    ticks = [spec.duration(w, f"windows[{i}]" if len(windows) > 1 else "windows", func, positive=True)
             for i, w in enumerate(windows)]
    return np.array(ticks, dtype=np.int64)


def run_kernel(func: str, codes: np.ndarray, times: np.ndarray, values: list[np.ndarray], q_codes: np.ndarray,
               q_times: np.ndarray, windows: np.ndarray, closed: str, aggs: list[str],
               same: bool = False, order: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The kernel on encoded tables; ``{agg: array of shape (n_values, n_windows, n_queries)}`` (views
    of the kernel's table, one contiguous column per feature; counts as int64).  ``same``: the queries are the
    events.  ``order``: the events' (entity, time) order when the caller keeps it (not sorted again); without
    ``order`` the kernel groups (or sorts) both tables itself (empty orders)."""
    if order is None:
        order = q_order = np.empty(0, dtype=np.int64)
    else:
        q_order = order if same else sort_order(q_codes, q_times)
    flags = 0
    for a in aggs:
        flags |= _FLAGS[a]
    table = call_kernel(func, _core.features.window_aggregate, codes, times, values, order, q_codes, q_times, q_order,
                        windows, closed, flags)
    present = [a for a in AGGS if a in aggs]  # the kernel's column order: (value, agg in AGGS order, window)
    blocks = table.reshape(len(values), len(present), len(windows), len(q_codes))
    out = {a: blocks[:, i] for i, a in enumerate(present)}
    if "count" in out:  # whole numbers below 2**53 stored as doubles: int64 in place (no new arrays)
        counts = out["count"].view(np.int64)
        # One contiguous column at a time: NumPy copies a source that overlaps its destination through
        # a temporary of the whole source when either has more than one dimension.
        for vi in range(counts.shape[0]):
            for wi in range(counts.shape[1]):
                np.copyto(counts[vi, wi], out["count"][vi, wi], casting="unsafe")
        out["count"] = counts
    return out


def missing_to_code(codes: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """Rows with a missing time get the missing-key code -1: in no frame, and an empty frame."""
    return codes if valid is None else np.where(valid, codes, np.int64(-1))


def assemble(base: Any, names: list[str], result: dict[str, np.ndarray], values: list[str], aggs: list[str],
             n_windows: int, func: str, arg: str) -> Any:
    """``base`` (the spine or the events) with the feature columns appended, as the same kind of table."""
    cols = {}
    for vi in range(len(values)):
        for a in aggs:
            for wi in range(n_windows):
                cols[len(cols)] = result[a][vi, wi]
    existing = set(base.column_names if is_arrow(base) else map(str, base.columns))
    clash = [n for n in names if n in existing]
    if clash:
        raise ValueError(f"{func}: the output column {clash[0]!r} is already a column of {arg}; rename it or "
                         f"choose other values/aggs/windows")
    arrays = [cols[i] for i in range(len(names))]
    if is_arrow(base):
        import pyarrow as pa

        out = base
        for n, a in zip(names, arrays):
            out = out.append_column(n, pa.array(a, from_pandas=True))
        return out
    feats = pd.DataFrame(dict(zip(names, arrays)), index=base.index, copy=False)
    return pd.concat([base, feats], axis=1)


FUNC = "window_aggregate"


@validate_params(
    events=[TABLE],
    by=[NAMES],
    on=[str],
    values=[NAMES],
    windows=[WINDOWS],
    aggs=[AGG_LIST],
    at=[None, TABLE],
    closed=[Options(set(CLOSED))],
)
def window_aggregate(events, *, by, on, values, windows=("1h", "1d", "7d"),
                     aggs=("count", "sum", "mean", "min", "max", "last"), at=None, closed="left"):
    """Aggregates of each entity's events over sliding time windows, exactly, for every row of a spine.

    For each row of ``at`` (entity key, time ``t``) -- or of ``events`` itself when ``at`` is
    None -- and each window ``w``, the aggregates of the same entity's events whose time lies in
    the frame given by ``closed``: ``"left"`` (the default) ``[t - w, t)``, ``"right"``
    ``(t - w, t]``, ``"both"`` ``[t - w, t]``, ``"neither"`` ``(t - w, t)`` (pandas' names).  With
    the default an event never sees itself nor anything at its own timestamp, so a label stored on
    the event cannot leak into its features.

    Parameters
    ----------
    events : pandas.DataFrame or pyarrow.Table
        The events, in any row order.
    by : str or list of str
        The entity key column(s): integers, strings, booleans or categoricals; the same names in
        ``at``.  Rows with a missing key belong to no entity (and a spine row with one gets empty
        frames).
    on : str
        The time column (datetime64 of any unit, naive or tz-aware, or integers); the same name in
        ``at``, of the same kind and zone.  Events with a missing time are left out; spine rows
        with one get empty frames.
    values : str or list of str
        Numeric columns of ``events`` to aggregate.  NaN (and null / pd.NA) values are skipped, as
        pandas' rolling skips them; infinite values are rejected.
    windows : window or list of windows, default ("1h", "1d", "7d")
        Durations: strings that ``pandas.Timedelta`` parses, timedeltas, or ints when the times
        are integers; each > 0 and a whole number of the times' unit.
    aggs : str or list of str, default all of "count", "sum", "mean", "min", "max", "last"
        ``count`` counts the non-missing values (an int64 column); ``last`` is the value of the
        latest event in the frame with a value (among events at one time, the last in row order).
        ``sum``, ``mean``, ``min``, ``max`` and ``last`` are NaN (null in pyarrow) for a frame
        without values -- as ``rolling(..., min_periods=1)`` and SQL give.
    at : pandas.DataFrame or pyarrow.Table, optional
        The spine: the rows to compute features for (keys ``by``, time ``on``); its row order and
        index are kept.
    closed : {"left", "right", "both", "neither"}, default "left"
        Which ends of the frame are included (see above).

    Returns
    -------
    pandas.DataFrame or pyarrow.Table
        ``at`` (or ``events``), the same kind of table with the same rows, index and columns, plus
        one column per (value, aggregate, window) named ``f"{value}_{agg}_{window}"`` (e.g.
        ``"amount_sum_1h"``), ordered by value, then aggregate, then window.  A string window
        keeps its text, an int its digits, a timedelta becomes its largest whole unit ("90min");
        two windows with one text (``"1h"`` and a one-hour timedelta) are an error.

    Notes
    -----
    Frames are sets of events by time value: every event at one timestamp is in or out together,
    as in SQL's ``RANGE BETWEEN`` frames (DuckDB: ``RANGE BETWEEN INTERVAL w PRECEDING AND
    INTERVAL 1 ... PRECEDING``).  pandas' time-based ``rolling`` instead ends each frame at the
    current row, so with several events at one timestamp and ``closed="right"`` or ``"both"`` it
    counts only those up to the current row; both agree when timestamps are distinct per entity.

    The tables are not sorted: the events are grouped by entity with a counting scatter (integer
    ids too sparse to index by, such as ``id * 10**12``, snowflake or hashed ids, are numbered
    densely first) and each entity's events ordered by time in cache; a spine is grouped by the same
    entities and each entity's spine rows are merged against its events.  An entity with at most
    32 events is then aggregated directly from its frame's events for each row, in the row order of
    ``at`` (or ``events``), so the feature columns are written sequentially, its sums the exact
    sums rounded once (as ``math.fsum``); a larger one is walked once per value with monotone
    pointers (one per window), compensated running sums (summed again exactly where they cannot
    show that rounding) and monotonic deques for min and max.  Exact (every sum is ``math.fsum``
    of its frame; +-inf beyond the doubles), O(n log n) at most overall, entities in parallel,
    the same numbers for any thread count.  An entity of more than 65,536 events makes
    the kernel sort both tables by (entity, time) with a parallel radix sort and walk every entity
    instead, with the same numbers.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"user": [1, 1, 1, 2], "t": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:30",
    ...                    "2024-01-01 12:00", "2024-01-01 10:00"]), "amount": [5.0, 7.0, 1.0, 3.0]})
    >>> out = window_aggregate(ev, by="user", on="t", values="amount", windows="1h", aggs=["count", "sum"])
    >>> out[["amount_count_1h", "amount_sum_1h"]].to_numpy().tolist()
    [[0.0, nan], [1.0, 5.0], [0.0, nan], [0.0, nan]]
    """
    by_l, values_l = unique(as_list(by), "by", FUNC), unique(as_list(values), "values", FUNC)
    windows_l, aggs_l = unique(as_list(windows), "windows", FUNC), unique(as_list(aggs), "aggs", FUNC)
    same = at is None
    tables = [events] if same else [events, at]
    wheres = ["events"] if same else ["events", "at"]
    if not same and is_arrow(at) != is_arrow(events):
        raise TypeError(f"{FUNC}: at must be the same kind of table as events (both pandas or both pyarrow); "
                        f"got {type(events).__name__} and {type(at).__name__}")
    codes, _ = encode_keys(tables, [by_l] * len(tables), wheres, FUNC)
    times, valid, spec = encode_times(tables, [on] * len(tables), wheres, FUNC)
    w = prepared_windows(windows_l, spec, FUNC)
    names = feature_names(values_l, aggs_l, window_labels(windows_l, FUNC))
    vals = [value_column(events, v, "events", FUNC) for v in values_l]
    ev_codes = missing_to_code(codes[0], valid[0])
    q_codes, q_times = (ev_codes, times[0]) if same else (missing_to_code(codes[1], valid[1]), times[1])
    result = run_kernel(FUNC, ev_codes, times[0], vals, q_codes, q_times, w, closed, aggs_l, same=same)
    return assemble(events if same else at, names, result, values_l, aggs_l, len(windows_l), FUNC,
                    "events" if same else "at")
