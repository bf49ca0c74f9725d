"""Online window features equal to the offline ones: :class:`WindowState`."""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd

from .._params import ArrayLike, Check, Options, validate_params
from .._results import Result, result_type
from .._state import MergeableState, array_from_json
from .._validation import InvalidParameterError
from ._encode import TimeSpec, _KeyColumn, _read_key, encode_times, is_arrow
from ._partials import sort_order
from ._window import (AGG_LIST, AGGS, CLOSED, TABLE, WINDOWS, as_list, feature_names, prepared_windows, run_kernel, unique,
                      window_labels)

__all__ = ["WindowState", "WindowStateSummary"]

_I64_MIN, _I64_MAX = np.iinfo(np.int64).min, np.iinfo(np.int64).max


def _is_lateness(x: Any) -> bool:
    return (isinstance(x, (str, _dt.timedelta, np.timedelta64))
            or (isinstance(x, Integral) and not isinstance(x, (bool, np.bool_))))


LATENESS = Check(_is_lateness, "a duration (a string such as '5min', a timedelta, or an int for integer times)")


class _KeyArray(ArrayLike):
    """A 1-D array of keys; a list is read as objects, as a pandas column would be: NumPy makes
    ``[1, "a"]`` the strings ``"1"`` and ``"a"``, silently, where mixed keys must be refused."""

    def accept(self, v: Any) -> Any:
        if isinstance(v, (list, tuple)) and len(v):
            try:
                if np.asarray(v).dtype.kind in "US":
                    v = np.asarray(v, dtype=object)
            except Exception:  # ragged lists: ArrayLike refuses them
                pass
        return super().accept(v)


KEYS = _KeyArray(ndim=1, kinds="biuUO")
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
    max_time, watermark : int, pandas.Timestamp or None
        The latest event time seen and the earliest lookup time the state answers exactly
        (``max_time - allowed_lateness``), as the state's times: an int for integer times, a
        ``pandas.Timestamp`` (in the times' time zone) for datetimes; None before any event.
    """

    n_entities: int
    n_events: int
    n_late: int
    max_time: int | pd.Timestamp | None
    watermark: int | pd.Timestamp | None


class WindowState(MergeableState):
    """The windowed aggregates of :func:`~mlsd.features.window_aggregate`, kept up to date online.

    Fed events in batches (:meth:`update`), it answers :meth:`lookup` ``(entity_keys, at_time)``
    with exactly the values that ``window_aggregate(events_so_far, at=...)`` computes offline
    for those pairs (the same kernel runs on the events the state keeps), for any lookup time
    at or after the :attr:`watermark`, bit for bit: every sum is its frame's exact sum rounded
    once (``math.fsum``) whichever events before the frame the state still holds, and every mean
    that sum over the count.

    Build it with :meth:`from_arrays` (the first batch, possibly empty, fixes the kind of keys and
    times).  Memory is bounded per entity: only events that a window of a lookup at or after the
    watermark can reach (time >= watermark - longest window) are kept; older ones are evicted (in
    bulk, once they are a quarter of the events held: until then no lookup, count or dict sees
    them).  An update costs about the batch's own size times the log of the events held (amortised),
    not the events held.

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

    Entity keys take the forms of ``window_aggregate``'s ``by``: one column (a 1-D array of
    integers, booleans or strings) or several (a pandas DataFrame or pyarrow Table whose columns
    are the key columns: integers, booleans, strings or categoricals), compared by the family's key
    rule (int32 and int64 alike, a categorical by its values, a boolean as 0/1; a table's columns
    are read exactly as ``window_aggregate`` reads ``by``, so a float column is accepted there
    too, NaN being a missing key).  The first batch fixes the number of key columns (and, for a
    table, their names: later tables are read by those names, extra columns ignored) and each
    column's kind; :meth:`update` and :meth:`lookup` take keys in the same form.  A row with a
    missing key belongs to no entity (it is not kept; looked up, it gets empty frames), as in
    ``window_aggregate``.

    Persist with :meth:`to_dict` / :meth:`from_dict` (JSON-safe, exact: NaN values are stored as
    None); times naive datetime64 (any unit, stored as ns; convert aware times to UTC first) or
    integers.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> ev = pd.DataFrame({"user": [1, 1, 2], "ad": ["a", "a", "b"]})
    >>> s = WindowState.from_arrays(ev, np.array([1, 2, 3]), np.array([5.0, 7.0, 1.0]), windows=[10],
    ...                             aggs=["count", "sum"])
    >>> s.lookup(pd.DataFrame({"user": [1, 2], "ad": ["a", "a"]}), 4).to_numpy().tolist()
    [[2.0, 12.0], [0.0, nan]]
    """

    __slots__ = ("_names", "_windows", "_labels", "_aggs", "_closed", "_lateness", "_on_late", "_spec",
                 "_kinds", "_key_names", "_ids", "_entity_keys", "_int_index", "_ent", "_times", "_values", "_recent",
                 "_n_held", "_marks", "_n_touched", "_max_time", "_n_late")

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    @validate_params(
        keys=[KEYS, TABLE], times=[TIMES], values=[VALUES], windows=[WINDOWS], aggs=[AGG_LIST],
        closed=[Options(set(CLOSED))], allowed_lateness=[LATENESS, None], on_late=[Options({"raise", "count"})],
        names=[None, NAME_LIST],
    )
    def from_arrays(cls, keys, times, values, *, windows=("1h", "1d", "7d"), aggs=AGGS, closed="left",
                    allowed_lateness=0, on_late="raise", names=None) -> "WindowState":
        """The state of a first batch of events.

        Parameters
        ----------
        keys : array-like of shape (n,), pandas DataFrame or pyarrow Table
            Entity key of each event: one key column (integers, booleans, strings), or a table
            whose columns are the key columns (one or more: integers, booleans, strings or
            categoricals), as ``window_aggregate``'s ``by`` columns.  Keys are compared by the
            family's rule (int32 and int64 alike, a categorical by its values); a row with a
            missing key belongs to no entity and is not kept.
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
        cols, key_names = _key_columns(keys, func, "keys", None)
        state = cls._make(list(names), ticks, window_labels(windows_l, func), unique(as_list(aggs), "aggs", func),
                          closed, lateness, on_late, spec, [None] * len(cols), None, np.empty(0, np.int64),
                          np.empty((0, k)), None, 0, key_names=key_names)
        state._add(cols, times, vals, func)
        return state

    @classmethod
    def _make(cls, names, windows, labels, aggs, closed, lateness, on_late, spec, kinds, entity_keys, times, values,
              max_time, n_late, key_names=()) -> "WindowState":
        """A state holding the events of ``entity_keys`` (one tuple of key values per event; None: no
        events) in any order; they are sorted here, stably (ties keep their order)."""
        s = object.__new__(cls)
        s._names, s._windows, s._labels, s._aggs, s._closed = names, windows, labels, aggs, closed
        s._lateness, s._on_late, s._spec, s._kinds = lateness, on_late, spec, list(kinds)
        s._key_names = list(key_names)
        s._max_time, s._n_late = max_time, n_late
        s._ids, s._entity_keys, s._int_index = {}, [], None
        ent = np.fromiter((s._id_of(key) for key in (entity_keys or ())), dtype=np.int64, count=len(times))
        order = sort_order(ent, times) if ent.size else np.empty(0, np.int64)
        s._ent, s._times, s._values = ent[order], np.asarray(times, np.int64)[order], values[order]
        s._recent, s._n_held, s._marks, s._n_touched = [], int(ent.size), [_Marks(s._times)], 0
        return s

    def _id_of(self, key: tuple) -> int:
        i = self._ids.get(key)
        if i is None:
            i = self._ids[key] = len(self._entity_keys)
            self._entity_keys.append(key)
            self._int_index = None
        return i

    def _integer_ids(self, vals: np.ndarray, create: bool) -> np.ndarray:
        """The ids of one integer key column's values (``_entity_ids`` for the common case, without
        a dictionary lookup per key): the held keys sorted with their ids (built once, extended by
        each batch's new keys) and searched.  New keys get ids in order of first appearance, as
        the dictionary path gives them; ``_ids`` and ``_entity_keys`` stay the one record."""
        codes, uniques = pd.factorize(vals, use_na_sentinel=False)  # uniques in order of first appearance
        uniques = np.asarray(uniques, dtype=np.int64)
        if self._int_index is None:
            held = np.fromiter((k[0] for k in self._entity_keys), dtype=np.int64, count=len(self._entity_keys))
            self._int_index = _IntegerIndex(held, np.arange(held.size, dtype=np.int64))
        local = self._int_index.find(uniques)
        new = local < 0
        if create and new.any():
            new_ids = np.arange(len(self._entity_keys), len(self._entity_keys) + int(new.sum()), dtype=np.int64)
            new_keys = [(k,) for k in uniques[new].tolist()]
            self._entity_keys.extend(new_keys)
            self._ids.update(zip(new_keys, new_ids.tolist()))
            self._int_index.add(uniques[new], new_ids)
            local[new] = new_ids
        return local[codes]

    # -- the protocol ----------------------------------------------------------------------------
    @validate_params(keys=[KEYS, TABLE], times=[TIMES], values=[VALUES])
    def update(self, keys, times, values) -> "WindowState":
        """Adds a batch of events in place (see the class docstring for lateness); returns self."""
        func = "WindowState.update"
        self._add(_key_columns(keys, func, "keys", self._key_names)[0], times, np.asarray(values, dtype=np.float64), func)
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
        kinds = list(self._kinds)
        for i, o in enumerate(others):
            fits = len(o._kinds) == len(kinds) and all(a is None or b is None or a == b for a, b in zip(kinds, o._kinds))
            if o._config() != self._config() or not fits:
                raise InvalidParameterError(
                    f"The 'others' parameter of WindowState.merge must hold states with the same values, windows, "
                    f"aggs, closed, lateness, key columns and kind of keys and times. Position {i} differs.")
            kinds = [a if a is not None else b for a, b in zip(kinds, o._kinds)]
        parts = [self, *others]
        maxes = [p._max_time for p in parts if p._max_time is not None]
        held = [p._held() for p in parts]
        keys = [p._entity_keys[i] for p, (ent, _, _) in zip(parts, held) for i in ent.tolist()]
        out = self._make(self._names, self._windows, self._labels, self._aggs, self._closed, self._lateness,
                         self._on_late, self._spec, kinds, keys, np.concatenate([h[1] for h in held]),
                         np.concatenate([h[2] for h in held]), max(maxes) if maxes else None,
                         sum(p._n_late for p in parts), key_names=self._key_names)
        out._compact()
        return out

    def _config(self) -> tuple:
        return (self._names, self._windows.tolist(), self._labels, self._aggs, self._closed, self._lateness,
                self._on_late, self._spec, self._key_names)

    def _to_dict_body(self) -> dict:
        # Entities in the order of their keys (not of their ids, which depend on the history), each
        # entity's events in the held (time, arrival) order: equal states write equal dicts.
        ent, times, values = self._held()
        held = np.unique(ent)
        held = held[sorted(range(held.size), key=lambda i: self._entity_keys[held[i]])]
        rows = _ranges(np.searchsorted(ent, held, side="left"), np.searchsorted(ent, held, side="right"))
        keys = [self._entity_keys[i] for i in ent[rows].tolist()]
        return {
            "names": list(self._names), "windows": self._windows.tolist(), "labels": list(self._labels),
            "aggs": list(self._aggs), "closed": self._closed, "allowed_lateness": self._lateness,
            "on_late": self._on_late, "time_kind": self._spec.kind, "time_zone": self._spec.tz,
            "key_names": list(self._key_names), "key_kinds": list(self._kinds),
            "keys": [[_key_to_json(key[j]) for key in keys] for j in range(len(self._kinds))], "times": times[rows].tolist(),
            "values": [[None if np.isnan(x) else x for x in col] for col in values[rows].T.tolist()],
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
        kinds, key_cols = d["key_kinds"], d["keys"]
        if (not isinstance(kinds, list) or not kinds or not all(k in (None, *_KINDS) for k in kinds)
                or not isinstance(key_cols, list) or len(key_cols) != len(kinds)):
            raise TypeError(f"key_kinds must be a non-empty list of {', '.join(_KINDS)} or None, with one list of "
                            f"keys per entry")
        key_cols = [_keys_from_json(col, k) for col, k in zip(key_cols, kinds)]
        key_names = d["key_names"]
        if not isinstance(key_names, list) or not all(isinstance(x, str) for x in key_names) or (
                key_names and (len(key_names) != len(kinds) or len(set(key_names)) != len(key_names))):
            raise TypeError("key_names must be [] (keys by position) or one distinct string per key column")
        times = _int64s_from_json(d["times"], "times")
        cols = d["values"]
        if not isinstance(cols, list) or len(cols) != len(names) or not all(
                isinstance(col, list) and all(x is None or (isinstance(x, (int, float)) and not isinstance(x, bool))
                                              for x in col) for col in cols):
            raise TypeError("values must be one list of numbers (or None) per name")
        cols = [np.array([np.nan if x is None else float(x) for x in col], dtype=np.float64) for col in cols]
        values = np.stack(cols, axis=1) if cols and cols[0].size else np.empty((0, len(names)))
        if not all(len(c) == len(times) for c in key_cols) or len(times) != len(values):
            raise ValueError("keys, times and values differ in length")
        if len(times) and None in kinds:
            raise ValueError("key_kinds holds None (no key seen) but the state holds events")
        windows = _int64s_from_json(d["windows"], "windows")
        if len(labels) != len(windows) or (windows <= 0).any() or not set(aggs) <= set(AGGS):
            raise ValueError("bad windows, labels or aggs")
        closed, on_late = option("closed", CLOSED), option("on_late", ("raise", "count"))
        n_late, max_time = integer("n_late"), integer("max_time", none_ok=True)
        lateness = integer("allowed_lateness", none_ok=True)
        if n_late < 0 or (lateness is not None and lateness < 0):
            raise ValueError("n_late and allowed_lateness must be >= 0")
        if len(times) and (max_time is None or max_time < times.max()):
            raise ValueError("max_time must be at least the latest time held")
        return cls._make(names, windows, labels, aggs, closed, lateness, on_late, spec, kinds,
                         list(zip(*key_cols)), times, values, max_time, n_late, key_names=key_names)

    @validate_params()
    def result(self) -> WindowStateSummary:
        """How many entities and events the state holds, late events dropped, its watermark."""
        n_events, seen = 0, np.zeros(len(self._entity_keys), dtype=bool)
        for ent, _, _ in self._alive():
            n_events += ent.size
            seen[ent] = True
        return WindowStateSummary(int(np.count_nonzero(seen)), n_events, int(self._n_late),
                                  self._as_time(self._max_time), self.watermark)

    # -- serving ---------------------------------------------------------------------------------
    @property
    def watermark(self) -> int | pd.Timestamp | None:
        """The earliest lookup time answered exactly (``max_time - allowed_lateness``), as the
        state's times: an int for integer times, a ``pandas.Timestamp`` (in the times' time zone)
        for datetimes; None before any event or without a lateness limit."""
        return self._as_time(self._watermark_ticks())

    def _watermark_ticks(self) -> int | None:
        """:attr:`watermark` in the times' integer ticks (the unit of the state's times)."""
        if self._max_time is None or self._lateness is None:
            return None
        return max(self._max_time - self._lateness, int(_I64_MIN))

    def _as_time(self, ticks: int | None) -> int | pd.Timestamp | None:
        """Integer ticks as the state's times show them (what users pass and read): an int for
        integer times, a Timestamp in the times' unit and time zone for datetimes (the smallest
        int64, which is NaT there, as the earliest Timestamp of that unit)."""
        if ticks is None or self._spec.kind != "datetime":
            return ticks
        ts = pd.Timestamp(np.datetime64(max(ticks, int(_I64_MIN) + 1), self._spec.unit))
        return ts.tz_localize("UTC").tz_convert(self._spec.tz) if self._spec.tz is not None else ts

    @property
    def feature_names(self) -> list[str]:
        """The columns of :meth:`lookup`, as :func:`~mlsd.features.window_aggregate` names them."""
        return feature_names(self._names, self._aggs, self._labels)

    @validate_params(entity_keys=[KEYS, TABLE], at_time=[AT_TIME])
    def lookup(self, entity_keys, at_time) -> pd.DataFrame:
        """The features of each entity at ``at_time`` (a scalar for all, or one time per key).

        ``entity_keys`` takes the form of the state's keys (a 1-D array for one key column, a
        table with the state's key columns for several; see the class docstring); an entity the
        state never saw gets empty frames.

        Returns a DataFrame with one row per key and the columns :attr:`feature_names`, equal to
        ``window_aggregate(events fed so far, at=...)``'s feature columns for those (key, time)
        pairs.  A time before the :attr:`watermark` raises ValueError (the events it needs may have
        been evicted).  The work is proportional to the keys looked up and their events: the held
        events are a few runs each sorted by entity, so a lookup reads only the looked-up
        entities' events (a binary search per run) and sorts only them (one radix sort when they
        come from several runs) and its queries.
        """
        func = "WindowState.lookup"
        cols = _key_columns(entity_keys, func, "entity_keys", self._key_names)[0]
        n = len(cols[0].values)
        t = np.asarray(at_time)
        if t.ndim == 0:
            t = np.repeat(t.reshape(1), n)
        if t.size != n:
            raise InvalidParameterError(f"{func}: at_time has {t.size} elements but entity_keys has {n}")
        q_times, valid = self._ticks(t, func, "at_time")
        if valid is not None:
            raise InvalidParameterError(f"{func}: at_time holds a missing time (NaT)")
        wm = self._watermark_ticks()
        if wm is not None and q_times.size and q_times.min() < wm:
            raise ValueError(f"{func}: at_time must not be before the state's watermark {self._as_time(wm)} (the latest "
                             f"event time minus allowed_lateness); got {self._as_time(int(q_times.min()))}: events it "
                             f"needs may be evicted")
        q_ent = self._entity_ids(cols, func, "entity_keys", create=False)
        ent, times, sub = self._events_of(np.unique(q_ent[q_ent >= 0]))
        vals = [np.ascontiguousarray(sub[:, j]) for j in range(len(self._names))]
        res = run_kernel(func, ent, times, vals, q_ent, q_times, self._windows, self._closed,
                         self._aggs, order=np.arange(ent.size, dtype=np.int64))
        out = {}
        names = self.feature_names
        i = 0
        for vi in range(len(self._names)):
            for a in self._aggs:
                for wi in range(len(self._windows)):
                    out[names[i]] = res[a][vi, wi]  # counts are int64 already (run_kernel)
                    i += 1
        return pd.DataFrame(out)

    def __repr__(self) -> str:
        return (f"WindowState(values={self._names}, windows={self._labels}, n_events={self.result().n_events}, "
                f"watermark={self.watermark!s})")

    # -- internals -------------------------------------------------------------------------------
    def _ticks(self, times, func, arg):
        times = np.asarray(times)
        if self._spec.kind == "integer" and times.dtype.kind == "i":  # encode_times' answer, without its tables
            return np.ascontiguousarray(times, dtype=np.int64), None
        ref = pd.DataFrame({"t": _reference_times(self._spec)})
        got = pd.DataFrame({"t": pd.Series(times)})
        out, valid, _ = encode_times([ref, got], ["t", "t"], ["the state", arg], func, arg=arg)
        return out[1], valid[1]

    def _entity_ids(self, cols: list, func: str, arg: str, create: bool) -> np.ndarray:
        """The entity id of each row of the key columns ``cols`` (-1: a missing key, or with
        ``create=False`` an entity the state has never seen); new entities get new ids (create)."""
        if len(cols) != len(self._kinds):
            raise InvalidParameterError(f"{func}: {arg} has {len(cols)} key column(s) but the state has "
                                        f"{len(self._kinds)}")
        canon = [_canonical(c) for c in cols]
        for j, ((kind, _, _), held) in enumerate(zip(canon, self._kinds)):
            if kind != "null" and held is not None and kind != held:
                label = self._key_names[j] if self._key_names else j
                where = f" (key column {label!r})" if len(cols) > 1 or self._key_names else ""
                raise InvalidParameterError(f"{func}: {arg}{where} must be of the kind the state holds "
                                            f"({_KIND_TEXT[held]}); got {_KIND_TEXT[kind]}")
        n = len(cols[0].values)
        present = np.ones(n, dtype=bool)
        for _, _, ok in canon:
            present &= ok
        rows = np.flatnonzero(present)
        ids = np.full(n, -1, dtype=np.int64)
        if rows.size == 0:
            return ids
        if create:
            self._kinds = [held if held is not None else kind for (kind, _, _), held in zip(canon, self._kinds)]
        if len(canon) == 1 and canon[0][0] == "integer":
            ids[rows] = self._integer_ids(np.asarray(canon[0][1], dtype=np.int64)[rows], create)
            return ids
        codes, uniques = [], []
        for _, vals, _ in canon:
            c, u = pd.factorize(vals[rows], use_na_sentinel=False)
            codes.append(c.astype(np.int64, copy=False))
            uniques.append(np.asarray(u, dtype=object))
        if len(codes) == 1:
            inv, combos = codes[0], np.arange(len(uniques[0]))[:, None]
        else:  # distinct combinations numbered in order of first appearance (ids follow arrival)
            combos, first, inv = np.unique(np.stack(codes, axis=1), axis=0, return_index=True, return_inverse=True)
            by_first = np.argsort(first, kind="stable")
            rank = np.empty_like(by_first)
            rank[by_first] = np.arange(by_first.size)
            combos, inv = combos[by_first], rank[inv.reshape(-1)]
        keys = zip(*[u[combos[:, j]].tolist() for j, u in enumerate(uniques)])
        if create:
            local = np.fromiter((self._id_of(k) for k in keys), dtype=np.int64, count=len(combos))
        else:
            local = np.fromiter((self._ids.get(k, -1) for k in keys), dtype=np.int64, count=len(combos))
        ids[rows] = local[inv]
        return ids

    def _add(self, cols, times, values, func):
        t = np.asarray(times)
        if values.ndim == 1:
            values = values.reshape(-1, 1)
        if values.shape[1] != len(self._names):
            raise InvalidParameterError(f"{func}: values has {values.shape[1]} columns but the state has "
                                        f"{len(self._names)}")
        n = len(cols[0].values)
        if not (n == t.size == values.shape[0]):
            raise InvalidParameterError(f"{func}: keys, times and values must have the same number of rows; got "
                                        f"{n}, {t.size} and {values.shape[0]} elements")
        if np.isinf(values).any():
            raise InvalidParameterError(f"{func}: values must be finite or NaN; found an infinite value")
        ticks, valid = self._ticks(t, func, "times")
        kinds = list(self._kinds)
        n_ids = len(self._entity_keys)
        ent = self._entity_ids(cols, func, "keys", create=True)
        keep = ent >= 0 if valid is None else (ent >= 0) & valid  # rows without a key or a time: no entity
        wm = self._watermark_ticks()
        late = keep & (ticks < wm) if wm is not None else np.zeros_like(keep)
        if late.any() and self._on_late == "raise":
            self._forget(kinds, n_ids)  # nothing was added
            i = int(np.flatnonzero(late)[0])
            raise ValueError(f"{func}: times holds a late event at row {i} (time {self._as_time(int(ticks[i]))} is "
                             f"before the watermark {self._as_time(wm)}, the latest time seen minus allowed_lateness); "
                             f"nothing was added. "
                             f"Raise allowed_lateness, or pass on_late='count' to drop and count late events")
        self._n_late += int(late.sum())
        keep &= ~late
        if not keep.any():
            return
        top = int(ticks[keep].max())
        self._max_time = top if self._max_time is None else max(self._max_time, top)
        self._insert(ent[keep], ticks[keep], values[keep])
        self._evict()

    def _forget(self, kinds: list, n_ids: int) -> None:
        """Undoes the entities a rejected batch introduced."""
        self._kinds = kinds
        if self._int_index is not None and len(self._entity_keys) > n_ids:  # dropped, not rebuilt
            self._int_index.drop_from(n_ids)
        for key in self._entity_keys[n_ids:]:
            del self._ids[key]
        del self._entity_keys[n_ids:]

    # -- the held events --------------------------------------------------------------------------
    # The held events are runs, each sorted by (entity, time, arrival): the base (_ent, _times,
    # _values) and the newer runs of _recent, oldest first; every event of a run arrived after every
    # event of the runs before it, so putting runs together with a stable sort by (entity, time)
    # keeps ties in arrival order.  A batch becomes a run of its own, and the newest two runs are
    # merged while the older one is at most twice the newer (a binary counter): an event is merged
    # O(log(held / batch)) times, and a batch never copies the larger runs it does not join (a
    # batch slotted into one sorted array copied all held events).  A lookup reads its entities'
    # events from each run by binary search.
    #
    # Eviction is lazy.  The horizon is watermark - longest window.  Lookups are at t >= watermark,
    # and a window w <= longest frames [t - w, t) ("left"), [t - w, t] ("both"), (t - w, t]
    # ("right") or (t - w, t) ("neither"): the lowest time any frame can take is t - w >= horizon
    # (closed ends) or above it (open ends), so no frame of any `closed` option holds an event
    # below the horizon (a window reaching below int64's range keeps every earlier event: then
    # nothing is evicted).  The watermark never moves back, so an event once below the horizon
    # stays there.  Such events are dropped when their run is merged, and by a pass over all runs
    # once they make up a quarter of the held events (amortised O(1) per event).  Events expire
    # when the watermark moves, which a few events far ahead can do to all of them, so they are
    # counted after every batch, from each run's earliest time and, once the horizon passes it, a
    # few order statistics of its times (_Marks, to within 1/64 of the run): after every update
    # the expired events are under 17/64 of those held, i.e. the held ones under 1.37 times the
    # live ones (plus one per run).  Until then nothing sees them: lookups, result(), to_dict()
    # and merge() read only the events at or after the horizon -- exactly the events an eager
    # eviction keeps, in the same order, so the kernel's running sums start from the same events
    # and give the same bits.
    # _n_touched counts the rows this upkeep reads or writes: the tests' measure of the work per
    # batch, which must not grow with the events held.
    def _horizon(self) -> int | None:
        """Events before this time are in no frame of any lookup the state answers; None: all
        events may be (no lateness limit, or a window reaching below int64's range)."""
        wm = self._watermark_ticks()
        if wm is None:
            return None
        horizon = wm - int(self._windows.max())
        return None if horizon <= _I64_MIN else horizon

    def _runs(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return [(self._ent, self._times, self._values), *self._recent]

    def _set_runs(self, runs: list, marks: list) -> None:
        """Holds ``runs`` (oldest first) with their :class:`_Marks`."""
        empty = (np.empty(0, np.int64), np.empty(0, np.int64), self._values[:0])
        kept = [i for i, r in enumerate(runs) if r[0].size]
        runs, self._marks = [runs[i] for i in kept] or [empty], [marks[i] for i in kept] or [_Marks(empty[1])]
        (self._ent, self._times, self._values), self._recent = runs[0], runs[1:]
        self._n_held = sum(r[0].size for r in runs)

    def _alive(self, runs: list | None = None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The non-empty runs (default: all) without their events below the horizon (copied only
        where there are some)."""
        horizon, out = self._horizon(), []
        for ent, times, values in self._runs() if runs is None else runs:
            if horizon is not None:
                keep = times >= horizon
                if not keep.all():
                    ent, times, values = ent[keep], times[keep], values[keep]
            if ent.size:
                out.append((ent, times, values))
        return out

    def _held(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The events at or after the horizon, sorted by (entity, time, arrival), in one run."""
        return _joined(self._alive(), self._values[:0])

    def _events_of(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`_held` restricted to the entity ids ``wanted`` (sorted, distinct), reading only
        their events: a binary search per run for each entity's range."""
        horizon, parts = self._horizon(), []
        for ent, times, values in self._runs():
            rows = _ranges(np.searchsorted(ent, wanted, side="left"), np.searchsorted(ent, wanted, side="right"))
            if horizon is not None:
                rows = rows[times[rows] >= horizon]
            if rows.size:
                parts.append((ent[rows], times[rows], values[rows]))
        return _joined(parts, self._values[:0])

    def _insert(self, ent, ticks, values):
        """Adds accepted events as a run, then merges runs as described above."""
        order = sort_order(ent, ticks)
        batch = (ent[order], ticks[order], values[order])
        runs, marks = [*self._runs(), batch], [*self._marks, None]
        while len(runs) > 1 and runs[-2][0].size <= 2 * runs[-1][0].size:
            newer = runs.pop()
            marks.pop()
            runs[-1], marks[-1] = self._merge_runs(runs[-1], newer), None
        if marks[-1] is None:  # the batch's own run: its order statistics now (one pass over the batch)
            marks[-1] = _Marks(runs[-1][1], now=runs[-1] is batch)
            self._n_touched += runs[-1][1].size
        self._set_runs(runs, marks)

    def _merge_runs(self, older: tuple, newer: tuple) -> tuple:
        """One run of two (``newer``'s events after ``older``'s equal (entity, time) ones), without
        the events below the horizon.  The runs merged are of comparable sizes (the older at most
        twice the newer), where one stable radix sort of both beats slotting one into the other."""
        if older[0].size == 0:
            return newer
        run = _joined(self._alive([older, newer]), older[2][:0])
        self._n_touched += run[0].size
        return run

    def _evict(self):
        """Drops the events below the horizon once they are a quarter of the held ones (to within
        1/64 of each run), and the entities without events once there are twice as many entities
        as events (the keys of dropped late events); checked after every batch, in O(runs)."""
        horizon = self._horizon()
        if horizon is None:
            return
        expired = 0
        for m in self._marks:
            below, read = m.below_at_least(horizon)
            expired, self._n_touched = expired + below, self._n_touched + read
        if (expired and expired * 4 >= self._n_held) or len(self._entity_keys) > max(64, 2 * self._n_held):
            self._compact()

    def _compact(self):
        """Drops the events below the horizon from every run, and forgets the entities left without
        events once they are most of the dictionary (ids are renumbered in order, so the runs stay
        sorted)."""
        runs = self._alive()
        self._n_touched += sum(r[0].size for r in runs)
        seen = np.zeros(len(self._entity_keys), dtype=bool)
        for ent, _, _ in runs:
            seen[ent] = True
        held = np.flatnonzero(seen)
        if len(self._entity_keys) > 64 and len(self._entity_keys) > 2 * held.size:
            remap = np.full(len(self._entity_keys), -1, dtype=np.int64)
            remap[held] = np.arange(held.size)
            self._entity_keys = [self._entity_keys[i] for i in held.tolist()]
            self._ids = {k: i for i, k in enumerate(self._entity_keys)}
            if self._int_index is not None:
                self._int_index.renumber(remap)
            runs = [(remap[ent], times, values) for ent, times, values in runs]
        self._n_touched += sum(r[0].size for r in runs)
        self._set_runs(runs, [_Marks(r[1], now=True) for r in runs])


def _joined(runs: list, no_values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs (each sorted by (entity, time), in arrival order) as one sorted run; ``no_values``:
    the empty values array when there are none."""
    if len(runs) == 1:
        return runs[0]
    if not runs:
        return np.empty(0, np.int64), np.empty(0, np.int64), no_values
    ent, times = np.concatenate([r[0] for r in runs]), np.concatenate([r[1] for r in runs])
    order = sort_order(ent, times)  # stable: equal (entity, time) keep the runs' arrival order
    return ent[order], times[order], np.concatenate([r[2] for r in runs])[order]


class _Marks:
    """A few order statistics of a run's times, to bound how many of its events are below a
    time to within 1/64 of the run without reading it: the times of ranks 0, r/64, 2r/64, ...
    (all of them, sorted, for a run of at most 64).  Unless asked for ``now`` (a batch's own
    run, or the runs a compaction leaves: read then anyway), only the run's earliest time is
    taken up front, the order statistics once a time above it is asked about (a run merged away
    before the horizon reaches it never needs them: eager ones cost merges a fifth more)."""

    __slots__ = ("run", "low", "times", "ranks")
    N = 64

    def __init__(self, times: np.ndarray, now: bool = False):
        self.run, self.low, self.times, self.ranks = times, (int(times.min()) if times.size else None), None, None
        if now and times.size:
            self._order_statistics()

    def _order_statistics(self) -> int:
        """Takes the order statistics from the run; returns the rows read."""
        times, r = self.run, self.run.size
        if r <= self.N:
            self.times, self.ranks = np.sort(times), np.arange(r, dtype=np.int64)
        else:
            self.ranks = np.arange(self.N, dtype=np.int64) * r // self.N  # distinct, increasing
            self.times = np.partition(times, self.ranks)[self.ranks]
        self.run = None
        return r

    def below_at_least(self, t: int) -> tuple[int, int]:
        """(a lower bound, at most r/64 short, of the number of the run's times below ``t``; the
        rows read to answer)."""
        if self.low is None or t <= self.low:
            return 0, 0
        read = self._order_statistics() if self.times is None else 0
        i = int(np.searchsorted(self.times, t, side="left"))  # marks below t; rank ranks[i-1] is one
        return (0 if i == 0 else int(self.ranks[i - 1]) + 1), read


class _IntegerIndex:
    """Integer keys and their ids, sorted by key for searchsorted: a large part, and a small one
    that new keys are slotted into and that joins the large one once it holds a sixteenth of it,
    so that a batch of a few new keys does not copy an index of millions (amortised O(1) copies
    per new key)."""

    __slots__ = ("keys", "ids", "new_keys", "new_ids")

    def __init__(self, keys: np.ndarray, ids: np.ndarray):
        order = np.argsort(keys, kind="stable")
        self.keys, self.ids = keys[order], ids[order]
        self.new_keys, self.new_ids = np.empty(0, np.int64), np.empty(0, np.int64)

    @staticmethod
    def _search(keys: np.ndarray, ids: np.ndarray, q: np.ndarray) -> np.ndarray:
        if keys.size == 0:
            return np.full(q.size, -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(keys, q), keys.size - 1)
        return np.where(keys[at] == q, ids[at], -1)

    def find(self, q: np.ndarray) -> np.ndarray:
        """The id of each key of ``q`` (-1: not held)."""
        out = self._search(self.keys, self.ids, q)
        if self.new_keys.size:
            miss = out < 0
            out[miss] = self._search(self.new_keys, self.new_ids, q[miss])
        return out

    # Forgetting entities drops their entries; the others keep their order, so nothing is sorted again.
    def drop_from(self, first_id: int) -> None:
        """Drops the keys whose id is ``first_id`` or more (the new entities of a rejected batch)."""
        self.keys, self.ids = self._kept(self.keys, self.ids, self.ids < first_id)
        self.new_keys, self.new_ids = self._kept(self.new_keys, self.new_ids, self.new_ids < first_id)

    def renumber(self, remap: np.ndarray) -> None:
        """Gives each key the id ``remap[id]``, dropping those mapped to -1 (forgotten entities)."""
        ids, new_ids = remap[self.ids], remap[self.new_ids]
        self.keys, self.ids = self._kept(self.keys, ids, ids >= 0)
        self.new_keys, self.new_ids = self._kept(self.new_keys, new_ids, new_ids >= 0)

    @staticmethod
    def _kept(keys: np.ndarray, ids: np.ndarray, kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (keys, ids) if kept.all() else (keys[kept], ids[kept])

    def add(self, keys: np.ndarray, ids: np.ndarray) -> None:
        """Adds keys not held yet."""
        by_key = np.argsort(keys, kind="stable")
        at = np.searchsorted(self.new_keys, keys[by_key])
        self.new_keys = np.insert(self.new_keys, at, keys[by_key])
        self.new_ids = np.insert(self.new_ids, at, ids[by_key])
        if self.new_keys.size > max(1024, self.keys.size // 16):
            at = np.searchsorted(self.keys, self.new_keys)
            self.keys, self.ids = np.insert(self.keys, at, self.new_keys), np.insert(self.ids, at, self.new_ids)
            self.new_keys, self.new_ids = np.empty(0, np.int64), np.empty(0, np.int64)


_KINDS = ("integer", "float", "string")
_KIND_TEXT = {"integer": "integers", "float": "floats", "string": "strings", None: "no keys yet"}


def _key_columns(keys, func: str, arg: str, names: list | None) -> tuple[list, list]:
    """The key columns of ``keys`` read by the features family's key rule (:mod:`._encode`) and
    their names ([] for a 1-D array).  A table's columns are the key columns; ``names`` (the
    state's, when it has some): the columns to read, by name, in that order."""
    if isinstance(keys, pd.DataFrame) or is_arrow(keys):
        have = list(keys.column_names if is_arrow(keys) else keys.columns)
        if names:
            missing = [c for c in names if c not in have]
            if missing:
                raise InvalidParameterError(f"{func}: {arg} lacks the key column {missing[0]!r}; the state's key "
                                            f"columns are {names}")
            use = list(names)
        else:
            use = have
            if not use:
                raise InvalidParameterError(f"{func}: {arg} has no columns; give one column per key")
            bad = [c for c in use if not isinstance(c, str)]
            if bad:
                raise InvalidParameterError(f"{func}: {arg} has the column label {bad[0]!r}; key columns need "
                                            f"string names")
        return [_read_key(keys, c, arg, func) for c in use], use
    arr = np.asarray(keys)
    if arr.dtype.kind == "i":  # what _read_key gives such keys, without a pandas table per call
        return [_KeyColumn("integer", np.ascontiguousarray(arr, dtype=np.int64), None)], []
    table = pd.DataFrame({arg: pd.Series(arr, dtype=object if arr.dtype.kind in "OU" else None)})
    return [_read_key(table, arg, arg, func)], []


def _canonical(col) -> tuple[str, np.ndarray, np.ndarray]:
    """(kind, values, present) of one key column, values as the family compares them: int64 for
    integers and booleans, float64 with -0.0 as 0.0, str for strings, a categorical's categories."""
    n = len(col.values)
    if col.kind == "null":
        return "null", np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    if col.categories is not None:
        kind, cats, cats_ok = _canonical(col.categories)
        codes = np.asarray(col.values, dtype=np.int64)
        ok = codes >= 0
        if not len(cats):
            return kind, np.zeros(n, dtype=cats.dtype), np.zeros(n, dtype=bool)
        at = np.where(ok, codes, 0)
        return kind, cats[at], ok & cats_ok[at]
    if col.kind == "string":
        import pyarrow as pa

        arr = col.values.combine_chunks() if isinstance(col.values, pa.ChunkedArray) else col.values
        ok = ~np.asarray(arr.is_null(), dtype=bool)
        if col.valid is not None:
            ok &= col.valid
        return "string", np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object), ok
    ok = np.ones(n, dtype=bool) if col.valid is None else np.asarray(col.valid, dtype=bool)
    return col.kind, (col.values + 0.0 if col.kind == "float" else col.values), ok


def _int64s_from_json(v, field: str) -> np.ndarray:
    """A list of int64 integers, as to_dict wrote it; np.array would also take 1.5 (as 1), "1" or
    True, so a corrupted dict would load as another state."""
    if not isinstance(v, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        raise TypeError(f"{field} must be a list of integers")
    return array_from_json(v, np.int64)  # OverflowError beyond int64


def _key_to_json(key):
    """A key as strict JSON holds it: an infinite float key (window_aggregate takes it) as the
    string "inf" or "-inf", which :func:`_keys_from_json` reads back (JSON has no infinity)."""
    if isinstance(key, float) and math.isinf(key):
        return "inf" if key > 0 else "-inf"
    return key


def _keys_from_json(col, kind) -> list:
    if not isinstance(col, list):
        raise TypeError("keys must hold one list per key column")
    if kind == "string":
        if not all(isinstance(x, str) for x in col):
            raise TypeError("keys of a string column must be strings")
        return col
    if kind == "integer":
        return _int64s_from_json(col, "keys of an integer column").tolist()
    if kind == "float":
        if not all(x in ("inf", "-inf") if isinstance(x, str) else isinstance(x, (int, float)) and not isinstance(x, bool)
                   for x in col):
            raise TypeError('keys of a float column must be numbers, "inf" or "-inf"')
        arr = array_from_json(col, np.float64)
        if np.isnan(arr).any():
            raise ValueError("float keys must not be NaN")
        return (arr + 0.0).tolist()
    if col:
        raise ValueError("a key column of no kind holds keys")
    return col


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The row numbers lo[0]..hi[0]-1, lo[1]..hi[1]-1, ... in one array."""
    lens = hi - lo
    total = int(lens.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    starts = np.cumsum(lens) - lens
    return np.repeat(lo - starts, lens) + np.arange(total, dtype=np.int64)


def _spec_of(times, func) -> TimeSpec:
    return TimeSpec("datetime", "ns", None) if np.asarray(times).dtype.kind == "M" else TimeSpec("integer")


def _reference_times(spec: TimeSpec):
    if spec.kind == "integer":
        return pd.Series([], dtype=np.int64)
    return pd.Series([], dtype="datetime64[ns]")
