"""Online window features equal to the offline ones: :class:`WindowState`."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd

from .._params import ArrayLike, Check, Options, validate_params
from .._results import Result, result_type
from .._state import MergeableState, array_from_json
from .._validation import InvalidParameterError
from ._encode import TimeSpec, encode_keys, encode_times
from ._window import (AGG_LIST, AGGS, CLOSED, WINDOWS, as_list, feature_names, prepared_windows, run_kernel, unique,
                      window_labels)

__all__ = ["WindowState", "WindowStateSummary"]

_I64_MIN, _I64_MAX = np.iinfo(np.int64).min, np.iinfo(np.int64).max


def _is_lateness(x: Any) -> bool:
    return (isinstance(x, (str, _dt.timedelta, np.timedelta64))
            or (isinstance(x, Integral) and not isinstance(x, (bool, np.bool_))))


LATENESS = Check(_is_lateness, "a duration (a string such as '5min', a timedelta, or an int for integer times)")
KEYS = ArrayLike(ndim=1, kinds="biuUO")
TIMES = ArrayLike(ndim=1, kinds="iuM")
AT_TIME = ArrayLike(ndim=(0, 1), kinds="iuM")
VALUES = ArrayLike(ndim=(1, 2), kinds="biuf")
NAME_LIST = Check(lambda v: isinstance(v, (list, tuple)) and len(v) > 0 and all(isinstance(s, str) for s in v)
                  and len(set(v)) == len(v), "a non-empty list of distinct value names")


@result_type
class WindowStateSummary(Result):
    """What a :class:`WindowState` holds (:meth:`WindowState.result`).

    Attributes
    ----------
    n_entities, n_events : int
        Entities and events kept (events old enough to be outside every window of any lookup the
        state can still answer are evicted).
    n_late : int
        Late events dropped (``on_late="count"``).
    max_time, watermark : int or None
        The latest event time seen and the earliest lookup time the state answers exactly
        (``max_time - allowed_lateness``), in the times' integer ticks; None before any event.
    """

    n_entities: int
    n_events: int
    n_late: int
    max_time: int | None
    watermark: int | None


class WindowState(MergeableState):
    """The windowed aggregates of :func:`~mlsd.features.window_aggregate`, kept up to date online.

    Fed events in batches (:meth:`update`), it answers :meth:`lookup` ``(entity_keys, at_time)``
    with exactly the values that ``window_aggregate(events_so_far, at=...)`` computes offline
    for those pairs (the same kernel runs on the events the state keeps), for any lookup time
    at or after the :attr:`watermark`.

    Build it with :meth:`from_arrays` (the first batch, possibly empty, fixes the kind of keys and
    times).  Memory is bounded per entity: only events that a window of a lookup at or after the
    watermark can reach (time >= watermark - longest window) are kept; older ones are evicted.

    Lateness: an event whose time is before the watermark as it stood before its batch
    (``max_time - allowed_lateness``) is late: ``on_late="raise"`` (the default) rejects the whole
    batch with a ValueError, ``"count"`` drops the late events and counts them (``result().n_late``).
    Within a batch events may come in any order.  ``allowed_lateness=None`` accepts everything
    (and evicts nothing).

    Merge semantics: ``a.merge(b)`` is the state of the union of the events the parts accepted
    (lateness was judged per part), with the later watermark; it is exact for states over disjoint
    entity sets (one per shard) or over consecutive stretches of one stream.  Among events of one
    entity at one timestamp, ``last`` takes the last in arrival order, and a merge puts the parts'
    events in the order ``self, *others``.

    Persist with :meth:`to_dict` / :meth:`from_dict` (JSON-safe, exact: NaN values are stored as
    None).  Keys are one column of integers or strings; times naive datetime64 (any unit, stored
    as ns; convert aware times to UTC first) or integers.
    """

    __slots__ = ("_names", "_windows", "_labels", "_aggs", "_closed", "_lateness", "_on_late", "_spec",
                 "_keys", "_times", "_values", "_max_time", "_n_late")

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    @validate_params(
        keys=[KEYS], times=[TIMES], values=[VALUES], windows=[WINDOWS], aggs=[AGG_LIST],
        closed=[Options(set(CLOSED))], allowed_lateness=[LATENESS, None], on_late=[Options({"raise", "count"})],
        names=[None, NAME_LIST],
    )
    def from_arrays(cls, keys, times, values, *, windows=("1h", "1d", "7d"), aggs=AGGS, closed="left",
                    allowed_lateness=0, on_late="raise", names=None) -> "WindowState":
        """The state of a first batch of events.

        Parameters
        ----------
        keys : array-like of int or str, shape (n,)
            Entity key of each event.
        times : array-like of datetime64 or int, shape (n,)
            Event times (datetime64 of any unit, stored as ns; or integers).
        values : array-like, shape (n,) or (n, k)
            The values to aggregate (NaN: missing, skipped).
        windows, aggs, closed
            As :func:`~mlsd.features.window_aggregate`.
        allowed_lateness : duration or None, default 0
            How far before the latest event time seen an event may still arrive (0: events must
            come in time order, equal times allowed); None: any.
        on_late : {"raise", "count"}, default "raise"
            What a late event does: reject its batch, or be dropped and counted.
        names : list of str, optional
            Names of the value columns in the output (default ``"value"`` for 1-D values,
            ``"value0"``, ``"value1"``, ... for 2-D).
        """
        func = "WindowState.from_arrays"
        vals = np.asarray(values, dtype=np.float64)
        k = 1 if vals.ndim == 1 else vals.shape[1]
        if k == 0:
            raise InvalidParameterError(f"{func}: values has no columns; give at least one value column")
        if names is None:
            names = ["value"] if vals.ndim == 1 else [f"value{j}" for j in range(k)]
        elif len(names) != k:
            raise InvalidParameterError(f"{func}: names has {len(names)} entries but values has {k} columns")
        spec = _spec_of(times, func)
        windows_l = unique(as_list(windows), "windows", func)
        ticks = prepared_windows(windows_l, spec, func)
        if allowed_lateness is None:
            lateness = None
        elif (isinstance(allowed_lateness, Integral) and not isinstance(allowed_lateness, np.timedelta64)
              and allowed_lateness == 0):
            lateness = 0  # for times of either kind
        else:
            lateness = spec.duration(allowed_lateness, "allowed_lateness", func)
        state = cls._make(list(names), ticks, window_labels(windows_l, func), unique(as_list(aggs), "aggs", func),
                          closed, lateness, on_late, spec, _empty_keys(keys), np.empty(0, np.int64),
                          np.empty((0, k)), None, 0)
        state._add(keys, times, vals, func)
        return state

    @classmethod
    def _make(cls, names, windows, labels, aggs, closed, lateness, on_late, spec, keys, times, values, max_time,
              n_late) -> "WindowState":
        s = object.__new__(cls)
        s._names, s._windows, s._labels, s._aggs, s._closed = names, windows, labels, aggs, closed
        s._lateness, s._on_late, s._spec = lateness, on_late, spec
        s._keys, s._times, s._values, s._max_time, s._n_late = keys, times, values, max_time, n_late
        return s

    # -- the protocol ----------------------------------------------------------------------------
    @validate_params(keys=[KEYS], times=[TIMES], values=[VALUES])
    def update(self, keys, times, values) -> "WindowState":
        """Adds a batch of events in place (see the class docstring for lateness); returns self."""
        self._add(keys, times, np.asarray(values, dtype=np.float64), "WindowState.update")
        return self

    @validate_params(others=[Check(lambda ts: all(isinstance(t, WindowState) for t in ts), "WindowState objects")])
    def merge(self, *others: "WindowState") -> "WindowState":
        """A new state for the union of the parts' accepted events (see the class docstring); the
        parts must share values, windows, aggs, closed, lateness and the kind of keys and times."""
        return super().merge(*others)

    @classmethod
    @validate_params(d=[Mapping])
    def from_dict(cls, d: Mapping) -> "WindowState":
        """The state saved by :meth:`to_dict`, exactly."""
        return super().from_dict(d)

    def _merged(self, others: list) -> "WindowState":
        for i, o in enumerate(others):
            if o._config() != self._config():
                raise InvalidParameterError(
                    f"The 'others' parameter of WindowState.merge must hold states with the same values, windows, "
                    f"aggs, closed, lateness and kind of times. Position {i} differs.")
        parts = [self, *others]
        keys = _concat_keys([p._keys for p in parts])
        maxes = [p._max_time for p in parts if p._max_time is not None]
        out = self._make(self._names, self._windows, self._labels, self._aggs, self._closed, self._lateness,
                         self._on_late, self._spec, keys, np.concatenate([p._times for p in parts]),
                         np.concatenate([p._values for p in parts]), max(maxes) if maxes else None,
                         sum(p._n_late for p in parts))
        out._evict()
        return out

    def _config(self) -> tuple:
        return (self._names, self._windows.tolist(), self._labels, self._aggs, self._closed, self._lateness,
                self._on_late, self._spec, self._keys.dtype.kind)

    def _to_dict_body(self) -> dict:
        return {
            "names": list(self._names), "windows": self._windows.tolist(), "labels": list(self._labels),
            "aggs": list(self._aggs), "closed": self._closed, "allowed_lateness": self._lateness,
            "on_late": self._on_late, "time_kind": self._spec.kind, "time_zone": self._spec.tz,
            "key_kind": "str" if self._keys.dtype.kind in "OU" else "int",
            "keys": self._keys.tolist(), "times": self._times.tolist(),
            "values": [[None if np.isnan(x) else x for x in col] for col in self._values.T.tolist()],
            "max_time": self._max_time, "n_late": self._n_late,
        }

    @classmethod
    def _from_dict_body(cls, d: Mapping) -> "WindowState":
        def strings(field):
            v = d[field]
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise TypeError(f"{field} must be a list of strings")
            return v

        def integer(field, none_ok=False):
            v = d[field]
            if v is None and none_ok:
                return None
            if isinstance(v, bool) or not isinstance(v, int) or not -2**63 <= v < 2**63:
                raise TypeError(f"{field} must be an int64 integer{' or None' if none_ok else ''}")
            return v

        def option(field, allowed):
            if d[field] not in allowed or not isinstance(d[field], (str, type(None))):
                raise ValueError(f"{field} must be one of {sorted(map(str, allowed))}")
            return d[field]

        names, labels, aggs = strings("names"), strings("labels"), strings("aggs")
        kind = option("time_kind", ("datetime", "integer"))
        tz = d["time_zone"]
        if tz is not None and (kind == "integer" or not isinstance(tz, str)):
            raise TypeError("time_zone must be None for integer times, else a time zone name or None")
        if tz is not None:
            pd.Timestamp(0, tz=tz)  # an unknown zone raises
        spec = TimeSpec(kind, "ns" if kind == "datetime" else None, tz)
        if option("key_kind", ("str", "int")) == "str":
            keys = np.array(strings("keys"), dtype=object)
        else:
            keys = array_from_json(d["keys"], np.int64)
        times = array_from_json(d["times"], np.int64)
        cols = d["values"]
        if not isinstance(cols, list) or len(cols) != len(names) or not all(
                isinstance(col, list) and all(x is None or (isinstance(x, (int, float)) and not isinstance(x, bool))
                                              for x in col) for col in cols):
            raise TypeError("values must be one list of numbers (or None) per name")
        cols = [np.array([np.nan if x is None else float(x) for x in col], dtype=np.float64) for col in cols]
        values = np.stack(cols, axis=1) if cols and cols[0].size else np.empty((0, len(names)))
        if not (len(keys) == len(times) == len(values)):
            raise ValueError("keys, times and values differ in length")
        windows = array_from_json(d["windows"], np.int64)
        if len(labels) != len(windows) or (windows <= 0).any() or not set(aggs) <= set(AGGS):
            raise ValueError("bad windows, labels or aggs")
        closed, on_late = option("closed", CLOSED), option("on_late", ("raise", "count"))
        n_late, max_time = integer("n_late"), integer("max_time", none_ok=True)
        lateness = integer("allowed_lateness", none_ok=True)
        if n_late < 0 or (lateness is not None and lateness < 0):
            raise ValueError("n_late and allowed_lateness must be >= 0")
        if len(times) and (max_time is None or max_time < times.max()):
            raise ValueError("max_time must be at least the latest time held")
        return cls._make(names, windows, labels, aggs, closed, lateness, on_late, spec, keys, times, values,
                         max_time, n_late)

    @validate_params()
    def result(self) -> WindowStateSummary:
        """How many entities and events the state holds, late events dropped, its watermark."""
        n_entities = int(pd.unique(self._keys).size)
        return WindowStateSummary(n_entities, int(self._times.size), int(self._n_late), self._max_time,
                                  self.watermark)

    # -- serving ---------------------------------------------------------------------------------
    @property
    def watermark(self) -> int | None:
        """The earliest lookup time answered exactly (``max_time - allowed_lateness``, in integer
        ticks: ns for datetimes); None before any event or without a lateness limit."""
        if self._max_time is None or self._lateness is None:
            return None
        return max(self._max_time - self._lateness, int(_I64_MIN))

    @property
    def feature_names(self) -> list[str]:
        """The columns of :meth:`lookup`, as :func:`~mlsd.features.window_aggregate` names them."""
        return feature_names(self._names, self._aggs, self._labels)

    @validate_params(entity_keys=[KEYS], at_time=[AT_TIME])
    def lookup(self, entity_keys, at_time) -> pd.DataFrame:
        """The features of each entity at ``at_time`` (a scalar for all, or one time per key).

        Returns a DataFrame with one row per key and the columns :attr:`feature_names`, equal to
        ``window_aggregate(events fed so far, at=...)``'s feature columns for those (key, time)
        pairs.  A time before the :attr:`watermark` raises ValueError (the events it needs may have
        been evicted).
        """
        func = "WindowState.lookup"
        q_keys = np.asarray(entity_keys)
        t = np.asarray(at_time)
        if t.ndim == 0:
            t = np.repeat(t.reshape(1), q_keys.size)
        if t.size != q_keys.size:
            raise InvalidParameterError(f"{func}: at_time has {t.size} elements but entity_keys has {q_keys.size}")
        q_times, valid = self._ticks(t, func, "at_time")
        if valid is not None:
            raise InvalidParameterError(f"{func}: at_time holds a missing time (NaT)")
        wm = self.watermark
        if wm is not None and q_times.size and q_times.min() < wm:
            raise ValueError(f"{func}: at_time must not be before the state's watermark {wm} (the latest event time "
                             f"minus allowed_lateness); got {int(q_times.min())}: events it needs may be evicted")
        codes = self._codes([self._keys, q_keys], func, ["the state", "entity_keys"])
        vals = [np.ascontiguousarray(self._values[:, j]) for j in range(len(self._names))]
        res = run_kernel(func, codes[0], self._times, vals, codes[1], q_times, self._windows, self._closed, self._aggs)
        cols = {}
        names = self.feature_names
        i = 0
        for vi in range(len(self._names)):
            for a in self._aggs:
                for wi in range(len(self._windows)):
                    cols[names[i]] = res[a][vi, wi]  # counts are int64 already (run_kernel)
                    i += 1
        return pd.DataFrame(cols)

    def __repr__(self) -> str:
        return (f"WindowState(values={self._names}, windows={self._labels}, n_events={self._times.size}, "
                f"watermark={self.watermark})")

    # -- internals -------------------------------------------------------------------------------
    def _ticks(self, times, func, arg):
        ref = pd.DataFrame({"t": _reference_times(self._spec)})
        got = pd.DataFrame({"t": pd.Series(np.asarray(times))})
        out, valid, _ = encode_times([ref, got], ["t", "t"], ["the state", arg], func, arg=arg)
        return out[1], valid[1]

    def _codes(self, key_arrays, func, wheres):
        tables = [pd.DataFrame({"k": pd.Series(k, dtype=object if k.dtype.kind in "OU" else None)})
                  for k in key_arrays]
        codes, _ = encode_keys(tables, [["k"]] * len(tables), wheres, func)
        return codes

    def _add(self, keys, times, values, func):
        keys = np.asarray(keys)
        t = np.asarray(times)
        if values.ndim == 1:
            values = values.reshape(-1, 1)
        if values.shape[1] != len(self._names):
            raise InvalidParameterError(f"{func}: values has {values.shape[1]} columns but the state has "
                                        f"{len(self._names)}")
        if not (keys.size == t.size == values.shape[0]):
            raise InvalidParameterError(f"{func}: keys, times and values must have the same number of rows; got "
                                        f"{keys.size}, {t.size} and {values.shape[0]} elements")
        if np.isinf(values).any():
            raise InvalidParameterError(f"{func}: values must be finite or NaN; found an infinite value")
        if keys.size and _string_keys(keys) != (self._keys.dtype == object):
            raise InvalidParameterError(f"{func}: keys must be of the kind the state holds "
                                        f"({'strings' if self._keys.dtype == object else 'integers'})")
        ticks, valid = self._ticks(t, func, "times")
        codes = self._codes([keys], func, ["keys"])[0]
        keep = codes >= 0 if valid is None else (codes >= 0) & valid  # rows without a key or a time: no entity
        wm = self.watermark
        late = keep & (ticks < wm) if wm is not None else np.zeros_like(keep)
        if late.any():
            if self._on_late == "raise":
                i = int(np.flatnonzero(late)[0])
                raise ValueError(f"{func}: times holds a late event at row {i} (time {int(ticks[i])} is before the "
                                 f"watermark {wm}, the latest time seen minus allowed_lateness); nothing was added. "
                                 f"Raise allowed_lateness, or pass on_late='count' to drop and count late events")
            self._n_late += int(late.sum())
            keep &= ~late
        if not keep.any():
            return
        new_keys = keys[keep]
        new_keys = new_keys.astype(object) if self._keys.dtype == object else new_keys.astype(np.int64)
        self._keys = _concat_keys([self._keys, new_keys])
        self._times = np.concatenate([self._times, ticks[keep]])
        self._values = np.concatenate([self._values, values[keep]])
        top = int(ticks[keep].max())
        self._max_time = top if self._max_time is None else max(self._max_time, top)
        self._evict()

    def _evict(self):
        wm = self.watermark
        if wm is None or self._times.size == 0:
            return
        horizon = wm - int(self._windows.max())
        if horizon <= _I64_MIN:
            return
        keep = self._times >= horizon
        if not keep.all():
            self._keys, self._times, self._values = self._keys[keep], self._times[keep], self._values[keep]


def _string_keys(keys: np.ndarray) -> bool:
    """Whether keys are strings (held as an object array) rather than integers (int64); integers
    in an object array are integers."""
    if keys.dtype.kind != "O":
        return keys.dtype.kind == "U"
    return pd.api.types.infer_dtype(keys, skipna=True) not in ("integer", "boolean")


def _empty_keys(keys) -> np.ndarray:
    return np.empty(0, dtype=object if _string_keys(np.asarray(keys)) else np.int64)


def _concat_keys(parts: list) -> np.ndarray:
    if parts[0].dtype == object:
        return np.concatenate([p.astype(object) for p in parts])
    return np.concatenate(parts).astype(np.int64)


def _spec_of(times, func) -> TimeSpec:
    return TimeSpec("datetime", "ns", None) if np.asarray(times).dtype.kind == "M" else TimeSpec("integer")


def _reference_times(spec: TimeSpec):
    if spec.kind == "integer":
        return pd.Series([], dtype=np.int64)
    return pd.Series([], dtype="datetime64[ns]")
