"""point_in_time_join: the as-of join of a spine of events against feature tables."""

from __future__ import annotations

import datetime as _dt
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import _core
from .._params import Check, validate_params
from .._validation import call_kernel
from ._encode import TimeSpec, arrow_to_pandas, column, encode_keys, encode_times, is_arrow, n_rows

__all__ = ["FeatureTable", "point_in_time_join"]

_FUNC = "point_in_time_join"


def _is_table(x: Any) -> bool:
    return isinstance(x, pd.DataFrame) or is_arrow(x)


def _is_names(x: Any) -> bool:
    return isinstance(x, str) or (isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(v, str) for v in x))


def _is_duration(x: Any) -> bool:
    if isinstance(x, (bool, np.bool_)):
        return False
    if isinstance(x, (int, np.integer)):
        return x >= 0
    return isinstance(x, (str, _dt.timedelta, np.timedelta64, pd.Timedelta))


_TABLE = [Check(_is_table, "a pandas DataFrame or a pyarrow Table")]
_NAMES = [Check(_is_names, "a column name (str) or a non-empty list of column names")]
_OPT_NAMES = [None, *_NAMES]
_TABLE_BY = [None, *_NAMES, Check(lambda x: isinstance(x, dict) and len(x) > 0 and all(
    isinstance(k, str) and isinstance(v, str) for k, v in x.items()), "a dict {spine column: feature column}")]
_TTL = [None, Check(_is_duration, "a duration (a string such as '1h', a timedelta or np.timedelta64) "
                                  "or, for integer times, an int >= 0")]
_OPT_STR = [None, str]


class FeatureTable:
    """One feature table of a :func:`point_in_time_join`, with its own settings.

    Parameters
    ----------
    data : pandas.DataFrame or pyarrow.Table
        The feature rows: entity key columns, a time column, optionally a creation-time column,
        and the feature values.
    by : str, list of str or dict, optional
        This table's key columns: as many as the spine's ``by`` (matched in order), or some of the
        spine's columns by name (a table keyed by user joined to a spine keyed by user and site),
        or a dict ``{spine column: feature column}``.  None: the spine's ``by``.
    on, ttl, created_at : optional
        This table's time column, ttl and creation-time column; None takes the join's own argument.
    prefix : str, optional
        Put in front of every output column of this table (None: the join's ``prefix``).
    columns : list of str, optional
        The feature columns to bring (default: every column but the keys and times).
    time_column : str, optional
        Also output the matched row's time under this name (after the prefix), e.g. for
        :func:`leakage_report`; None: the join's ``time_column``.
    """

    @validate_params(data=_TABLE, by=_TABLE_BY, on=_OPT_STR, ttl=_TTL, created_at=_OPT_STR, prefix=_OPT_STR,
                     columns=_OPT_NAMES, time_column=_OPT_STR)
    def __init__(self, data, *, by=None, on=None, ttl=None, created_at=None, prefix=None, columns=None,
                 time_column=None):
        self.data = data
        self.by = by
        self.on = on
        self.ttl = ttl
        self.created_at = created_at
        self.prefix = prefix
        self.columns = columns
        self.time_column = time_column

    def __repr__(self) -> str:
        kind = "pyarrow.Table" if is_arrow(self.data) else "DataFrame"
        return f"FeatureTable({kind} of {n_rows(self.data)} rows, by={self.by!r}, on={self.on!r}, ttl={self.ttl!r})"


def _is_features(x: Any) -> bool:
    if _is_table(x) or isinstance(x, FeatureTable):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(_is_table(v) or isinstance(v, FeatureTable) for v in x)


def _as_list(names: Any) -> list[str]:
    return [names] if isinstance(names, str) else list(names)


def _columns_of(table: Any) -> list[str]:
    return list(table.column_names) if is_arrow(table) else [c for c in table.columns]


# -- gathering the matched values --------------------------------------------------------------------

_NAT_BITS = 1 << 63  # NaT: int64's minimum, as the unsigned word take_rows fills with


def _native(a: np.ndarray) -> np.ndarray:
    """``a`` in the machine's byte order: pandas' nullable arrays and pyarrow accept no other
    (big-endian columns come from files written elsewhere)."""
    return a if a.dtype.isnative else a.astype(a.dtype.newbyteorder("="))


def _is_plain(dtype: Any) -> bool:
    """NumPy booleans, numbers and datetimes/timedeltas: fixed-width values that take_rows copies
    (up to 8 bytes: np.longdouble has no nullable pandas type and goes the general way)."""
    return isinstance(dtype, np.dtype) and dtype.kind in "biufmM" and dtype.itemsize <= 8


def _take_plain(cols: list[pd.Series], match: np.ndarray, missing: np.ndarray) -> list[Any]:
    """The values at match (-1: missing) of plain columns (see _is_plain), gathered in one parallel
    C++ pass, as pandas arrays whose missing entries (no match, or a float NaN) are nulls (NaT for
    datetimes)."""
    arrays = [_native(c.to_numpy()) for c in cols]
    fills = [_NAT_BITS if a.dtype.kind in "mM" else 0 for a in arrays]
    taken = call_kernel(_FUNC, _core.features.take_rows, match, arrays, fills)
    out: list[Any] = []
    for a, raw in zip(arrays, taken):
        values = raw.view(a.dtype)
        kind = a.dtype.kind
        if kind in "mM":
            out.append(values)
        elif kind == "b":
            out.append(pd.arrays.BooleanArray(values, missing.copy()))
        elif kind == "f":  # pandas has no nullable float16: float32 holds it exactly
            # NaN is a NumPy column's missing value: NA here (as astype("Float64") and the
            # pyarrow output make it), not a NaN that isna() would no longer see
            out.append(pd.arrays.FloatingArray(values.astype(np.float32) if a.dtype.itemsize == 2 else values,
                                               missing | np.isnan(values)))
        else:
            out.append(pd.arrays.IntegerArray(values, missing.copy()))
    return out


def _take_pandas(col: pd.Series, idx: np.ndarray, missing: np.ndarray, any_missing: bool) -> Any:
    """The values at idx (-1: missing) of a column that is not plain (objects, extension types) as a
    pandas array whose missing entries are nulls."""
    if col.dtype == object:
        values = col.to_numpy()
        taken = values.take(np.where(missing, 0, idx)) if len(values) else np.full(len(idx), None, dtype=object)
        if any_missing:
            taken[missing] = None
        return taken
    return col.array.take(idx, allow_fill=True)


def _fixed_width(t: Any) -> bool:
    import pyarrow as pa

    return (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_timestamp(t) or pa.types.is_duration(t)
            or pa.types.is_date(t) or pa.types.is_time(t)) and t.bit_width in (8, 16, 32, 64)


def _take_arrow(col: Any, idx: np.ndarray, missing: np.ndarray, any_missing: bool) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(col) == 0:  # every index is null: nulls of the column's type
        return pa.nulls(len(idx), type=col.type)
    if _fixed_width(col.type):  # the values' bytes (and validity) gathered by take_rows
        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        data = np.frombuffer(arr.buffers()[1], dtype=f"u{col.type.bit_width // 8}")[arr.offset:arr.offset + len(arr)]
        columns = [data] + ([np.asarray(arr.is_valid()).view(np.uint8)] if arr.null_count else [])
        taken = call_kernel(_FUNC, _core.features.take_rows, idx, columns, [0] * len(columns))
        valid = taken[1].view(np.bool_) if arr.null_count else ~missing  # a missing row's validity is filled 0
        n_null = len(idx) - int(np.count_nonzero(valid))
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if n_null else None
        return pa.Array.from_buffers(col.type, len(idx), [bitmap, pa.py_buffer(taken[0])], null_count=n_null)
    indices = pa.array(idx, mask=missing) if any_missing else pa.array(idx)
    return pc.take(col, indices)


# -- the join ------------------------------------------------------------------------------------------

def _specs(features: Any, spine_columns: list, by, on, ttl, created_at, prefix, columns, time_column) -> list[dict]:
    items = features if isinstance(features, (list, tuple)) else [features]
    out = []
    for i, item in enumerate(items):
        where = "features" if not isinstance(features, (list, tuple)) else f"features[{i}]"
        ft = item if isinstance(item, FeatureTable) else None
        data = ft.data if ft else item

        def pick(attr, default, ft=ft):
            v = getattr(ft, attr) if ft is not None else None
            return default if v is None else v

        fby = pick("by", by)
        if isinstance(fby, dict):
            sby, fby = list(fby.keys()), list(fby.values())
        else:
            fby = _as_list(fby)
            if len(fby) == len(by):
                sby = list(by)
            elif all(c in spine_columns for c in fby):
                sby = list(fby)
            else:
                raise ValueError(f"{_FUNC}: by of {where} names {len(fby)} key columns, the spine's by {len(by)}; "
                                 f"name as many, or spine columns, or pass a dict {{spine column: feature column}}")
        out.append(dict(data=data, where=where, spine_by=sby, by=fby, on=pick("on", on),
                        ttl=pick("ttl", ttl), created_at=pick("created_at", created_at),
                        prefix=pick("prefix", prefix) or "", columns=pick("columns", columns),
                        time_column=pick("time_column", time_column)))
    return out


@validate_params(spine=_TABLE, features=[Check(_is_features, "a pandas DataFrame, a pyarrow Table, a FeatureTable "
                                                            "or a non-empty list of those")],
                 by=_NAMES, on=[str], ttl=_TTL, created_at=_OPT_STR, allow_exact_matches=["boolean"],
                 prefix=_OPT_STR, columns=_OPT_NAMES, time_column=_OPT_STR)
def point_in_time_join(spine, features, *, by, on, ttl=None, created_at=None, allow_exact_matches=True,
                       prefix=None, columns=None, time_column=None):
    """Point-in-time correct (as-of) join: each event of ``spine`` gets, from each feature table,
    the values of the latest row of the same entity that existed at the event's time.

    For each spine row (entity key, event time ``t``) and each feature table, the row chosen is the
    latest one of the same entity whose time is ``<= t`` (``< t`` with
    ``allow_exact_matches=False``), no older than ``ttl`` (``t - time <= ttl``) and, with
    ``created_at``, that was also created (written) by ``t`` (``created <= t``, or ``< t``), so a
    late-arriving or backfilled value never leaks into an earlier event.  With no such row the
    event gets nulls.

    Parameters
    ----------
    spine : pandas.DataFrame or pyarrow.Table
        The events (training rows), in any order; their order (and a DataFrame's index) is kept.
    features : DataFrame, pyarrow.Table, FeatureTable, or a list of those
        The feature tables, any row order.  A :class:`FeatureTable` carries its own ``by``,
        ``on``, ``ttl``, ``created_at``, ``prefix``, ``columns`` and ``time_column``; a bare table
        takes the join's arguments.
    by : str or list of str
        The entity key columns of the spine (and of the feature tables unless a FeatureTable names
        its own, in the same order): integers, booleans, strings or categoricals, of one kind per
        column across tables.  A row with a missing key matches nothing.
    on : str
        The time column of the spine (and of the feature tables, unless a FeatureTable says
        otherwise): datetime64 of any unit, naive or of one time zone across every table, or
        integers.  Datetimes of different units are compared exactly (in the finest unit).  A spine
        row with a missing time gets nulls; a feature row with a missing time is never chosen.
    ttl : None, str, timedelta or int, optional
        The oldest a feature row may be: ``"1h"``, ``"7d"``, a timedelta, or an int for integer
        times (pandas.merge_asof's ``tolerance``).  None: any age.
    created_at : str, optional
        The feature tables' creation-time column (bitemporal join).
    allow_exact_matches : bool, default=True
        Whether a feature row stamped exactly at the event time is visible (with ``created_at``,
        this applies to both times).
    prefix : str, optional
        Put in front of the output columns of every table (FeatureTable's own prefix wins).
    columns : str or list of str, optional
        The feature columns to bring (default: all but the key, time and creation-time columns).
    time_column : str, optional
        Also output each table's matched row time under this name (after its prefix).

    Returns
    -------
    pandas.DataFrame or pyarrow.Table
        The spine (same kind as ``spine``, same rows in the same order) with the feature columns
        appended, table after table.  Missing matches are nulls in nullable types: pandas integer,
        float and boolean columns come back as ``Int64``/``Float64``/``boolean`` (never a filled
        0 or a float NaN standing for "missing"), datetimes as NaT, other columns keep their
        extension type with NA; pyarrow columns keep their type with nulls.  A NaN of a NumPy
        float column (pandas' missing value) is NA in the output too.

    Notes
    -----
    Among several feature rows of one entity at the same time, the one with the latest creation
    time wins (with ``created_at``), then the last one in the table's row order -- the rule of
    ``pandas.merge_asof(..., by=..., direction="backward")``.  (DuckDB's ``ASOF JOIN`` picks one
    of the tied rows without a stated rule; the tests compare the matched times with it.)

    The kernel codes the keys of the spine and of each table jointly.  It groups the feature rows by
    entity with a two-level counting scatter (codes too sparse to index by, such as ``id * 10**12``,
    snowflake or hashed ids, are first numbered densely, the spine's by the feature table's
    numbering), orders each entity's rows by time in cache, and looks each event up in its entity's
    rows; when an entity has more than 65,536 feature rows it orders both sides by (entity, time)
    with a parallel LSD radix sort and merges them instead.  The matched values of every
    NumPy column are then gathered in one pass.  Everything runs in parallel (oneTBB,
    ``mlsd.set_num_threads``); the result does not depend on the thread count.

    Raises ``ValueError``/``TypeError`` naming the argument for a missing column, keys of
    different or mixed types, times of different kinds or time zones, a ttl of the wrong kind or
    negative, and output column names that collide (use ``prefix``).

    Examples
    --------
    >>> import pandas as pd
    >>> from mlsd.features import point_in_time_join, FeatureTable
    >>> spine = pd.DataFrame({"user": [1, 1, 2], "t": pd.to_datetime(["2024-01-02", "2024-01-05", "2024-01-03"]),
    ...                       "label": [0, 1, 0]})
    >>> clicks = pd.DataFrame({"user": [1, 1, 2], "t": pd.to_datetime(["2024-01-01", "2024-01-04", "2024-01-04"]),
    ...                        "n_clicks": [3, 7, 1]})
    >>> point_in_time_join(spine, clicks, by="user", on="t")
       user          t  label  n_clicks
    0     1 2024-01-02      0         3
    1     1 2024-01-05      1         7
    2     2 2024-01-03      0      <NA>
    """
    by = _as_list(by)
    specs = _specs(features, _columns_of(spine), by, on, ttl, created_at, prefix, columns, time_column)
    arrow_out = is_arrow(spine)
    n = n_rows(spine)
    out_names = list(_columns_of(spine))
    seen = set(out_names)
    new_columns: list[tuple[str, Any]] = []
    for spec in specs:
        data, where = spec["data"], spec["where"]
        fby, fon, fcreated = spec["by"], spec["on"], spec["created_at"]
        wheres = ["spine", where]
        codes, _ = encode_keys([spine, data], [spec["spine_by"], fby], wheres, _FUNC)
        tables, ons, names = [spine, data], [on, fon], ["spine", where]
        if fcreated is not None:
            tables.append(data)
            ons.append(fcreated)
            names.append(where)
        times, valid, tspec = encode_times(tables, ons, names, _FUNC, args=["on", "on", "created_at"][:len(tables)])
        scodes, fcodes = codes
        for k, (c, v) in enumerate(zip([scodes, fcodes] + ([fcodes] if fcreated else []), valid)):
            if v is not None:
                if k == 0:
                    scodes = np.where(v, scodes, -1)
                else:
                    fcodes = np.where(v, fcodes, -1)
        ttl_units = None if spec["ttl"] is None else tspec.duration(spec["ttl"], "ttl", _FUNC)
        created = times[2] if fcreated is not None else None
        match = call_kernel(_FUNC, _core.features.asof_match, scodes, times[0], fcodes, times[1], created,
                            bool(allow_exact_matches), ttl_units)
        missing = match < 0
        any_missing = bool(missing.any())

        skip = set(fby) | {fon} | ({fcreated} if fcreated else set())
        cols = _columns_of(data)
        wanted = [c for c in cols if c not in skip] if spec["columns"] is None else _as_list(spec["columns"])
        for c in wanted:
            column(data, c, "columns", where, _FUNC)  # raises for a missing column
        pairs = [(spec["prefix"] + str(c), c) for c in wanted]
        if spec["time_column"] is not None:
            pairs.append((spec["prefix"] + spec["time_column"], None))
        for name, _ in pairs:
            if name in seen:
                raise ValueError(f"{_FUNC}: output column {name!r} (from {where}) already exists; "
                                 f"give the table a prefix (prefix= or FeatureTable(prefix=...))")
            seen.add(name)
        plain = {} if arrow_out or is_arrow(data) else {
            src: data[src] for _, src in pairs if src is not None and _is_plain(data[src].dtype)}
        gathered = dict(zip(plain, _take_plain(list(plain.values()), match, missing))) if plain else {}
        for name, src in pairs:
            if src is None:  # the matched row's time
                t = call_kernel(_FUNC, _core.features.take_rows, match, [times[1]], [0])[0].view(np.int64)
                values = _time_values(t, missing, tspec, arrow_out, n)
            elif src in gathered:
                values = gathered[src]
            elif arrow_out:
                col = data.column(src) if is_arrow(data) else _pandas_to_arrow(data[src])
                values = _take_arrow(col, match, missing, any_missing)
            elif is_arrow(data):
                values = arrow_to_pandas(_take_arrow(data.column(src), match, missing, any_missing))
            else:
                values = _take_pandas(data[src], match, missing, any_missing)
            new_columns.append((name, values))
    if arrow_out:
        out = spine
        for name, values in new_columns:
            out = out.append_column(name, values)
        return out
    # the columns are new arrays, owned by nobody else: no copy, no consolidation
    extra = pd.DataFrame(dict(new_columns), index=spine.index, copy=False) if new_columns else None
    if extra is None:
        return spine.copy()
    return pd.concat([spine, extra], axis=1) if len(spine.columns) else extra


def _pandas_to_arrow(s: pd.Series) -> Any:
    import pyarrow as pa

    if isinstance(s.dtype, np.dtype) and not s.dtype.isnative:
        return pa.array(_native(s.to_numpy()), from_pandas=True)
    return pa.array(s, from_pandas=True)


def _time_values(t: np.ndarray, missing: np.ndarray, tspec: TimeSpec, arrow_out: bool, n: int) -> Any:
    if tspec.kind == "datetime":
        if arrow_out:
            import pyarrow as pa

            return pa.array(t, type=pa.timestamp(tspec.unit, tspec.tz), mask=missing)
        values = t.astype(np.int64).view(f"datetime64[{tspec.unit}]").copy()
        values[missing] = np.datetime64("NaT")
        out = pd.array(values)
        return out.tz_localize("UTC").tz_convert(tspec.tz) if tspec.tz else out
    if arrow_out:
        import pyarrow as pa

        return pa.array(t.astype(np.int64), mask=missing)
    return pd.arrays.IntegerArray(t.astype(np.int64), missing)
