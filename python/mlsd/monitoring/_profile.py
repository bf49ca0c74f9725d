"""Reference profiles: what every drift test needs from the reference, computed once, saved, loaded
and merged (the mergeable-state protocol of :mod:`mlsd._state`)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import _core
from numbers import Integral

from .._params import Check, Interval, validate_params
from .._state import MergeableState, array_from_json, json_array
from .._validation import InvalidParameterError
from ._drift import (OPTIONS, DriftReport, _is_names, _progress, build_report, check_same_kinds, edges_for,
                     named_error, numeric_summaries)
from ._input import CATEGORICAL, NUMERIC, TABLE_DESCRIPTION, category_counts, category_key, is_table, read_table
from . import _sketch

_MAGIC = b"MLSDPROF"
_VERSION = 1          # exact profiles (sorted values)
_SKETCH_VERSION = 2   # profiles with quantile sketches
_HEADER = struct.Struct("<8sIQ32s")  # magic, format version, payload length, SHA-256 of the payload


def _is_count(v: Any, low: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


def _json_scalar(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


class Profile(MergeableState):
    """The reference side of :func:`drift`, computed once: per numeric column its sorted
    non-missing values and missing count (from which the exact moments, the quantile bin edges and
    counts, and the KS and Wasserstein statistics follow exactly), per categorical column its
    category counts and missing count.

    ``profile.compare(current)`` returns exactly the report of ``drift(reference, current)``
    (same numbers, bit for bit): the sorted values are the reference's order statistics, and
    every test is a function of them.  Profiles of partitions merge exactly into the profile of
    the whole (sorted values merge; counts add), so a profile can be built chunk by chunk
    (``update``), in parallel, or on Dask.  The cost of exactness is memory: 8 bytes per
    non-missing numeric value, as much as the numeric reference itself (a categorical column
    costs one count per category).

    Build with :meth:`from_data`; save with :meth:`save` (a checksummed binary file) and read
    with :meth:`load`; ``to_dict``/``from_dict`` give the JSON-safe form of the protocol.

    **Memory against accuracy: quantile sketches.**  ``Profile.from_data(reference, sketch=k)``
    keeps, per numeric column, a KLL quantile sketch of parameter ``k`` (Apache DataSketches)
    instead of the sorted values, plus the exact count, mean and variance (merged with Chan's
    formula) and the exact minimum and maximum.  A sketch holds about ``3 k`` values whatever the
    number of rows (k=200: ~5 KB a column, k=4000: ~100 KB, against 8 MB for a million sorted
    values) and its weighted ranks are within the normalized rank error ``eps`` of the true ones
    (:attr:`rank_error`; DataSketches' 99%-confidence bound: 1.7% at k=200, 0.36% at k=1000, 0.1% at
    k=4000, 0.026% at k=16000).  ``compare`` then gives, against the same current data,

    * the KS statistic within ``eps`` of ``drift``'s (its p-value is that of the sketched
      statistic);
    * the Wasserstein-1 distance within ``eps * (max - min)`` of the reference column (and
      ``wasserstein_norm`` within that over the exact standard deviation);
    * PSI, Jensen-Shannon and Hellinger on bins whose edges are the sketch's quantiles and whose
      reference shares come from the sketch (each cumulative share within ``eps``): close to
      ``drift``'s but not equal, since the edges differ; with fixed ``bins=`` only the reference
      shares are approximate;
    * categorical columns, missing counts and the moments exactly.

    A sketch that still holds every value (fewer than about ``k`` rows) is exact: ``rank_error`` is
    0 and the numbers equal ``drift``'s.  Sketched profiles merge (partitions into the whole, within
    the same bound; an exact profile and a sketched one do not merge), save, load and round-trip
    through ``to_dict``.  DataSketches draws its compaction coin flips from a random seed, so two
    sketches of the same data may differ within the bound.  Exact profiles are the default.
    """

    __slots__ = ("_columns", "_kinds", "_sorted", "_cats", "_missing", "_sketch_k", "_sketches", "_moments")

    def __init__(self, columns: list, kinds: dict, sorted_values: dict, categories: dict, missing: dict,
                 sketch_k: int | None = None, sketches: dict | None = None, moments: dict | None = None):
        self._columns = list(columns)
        self._kinds = dict(kinds)
        self._sorted = dict(sorted_values)   # name -> float64 ascending, NaN-free (exact profiles)
        self._cats = dict(categories)        # name -> {category: count}
        self._missing = dict(missing)        # name -> int
        self._sketch_k = sketch_k            # None: exact; else the KLL parameter of new sketches
        self._sketches = dict(sketches or {})  # name -> kll_doubles_sketch (sketched profiles)
        self._moments = dict(moments or {})  # name -> _sketch.moments_of's (n, mean, scaled m2, e)

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    @validate_params(reference=[Check(is_table, TABLE_DESCRIPTION)],
                     columns=[None, Check(_is_names, "a list of column names")],
                     categorical=[None, Check(_is_names, "a list of column names")],
                     sketch=[None, Interval(Integral, _sketch.K_MIN, _sketch.K_MAX)])
    def from_data(cls, reference: Any, columns: list | None = None, *, categorical: list | None = None,
                  sketch: int | None = None) -> "Profile":
        """The profile of a reference table (the inputs :func:`drift` takes; ``columns`` selects
        and orders, ``categorical`` names numeric columns to treat as categories).  ``sketch=k``
        keeps a KLL quantile sketch of parameter k (8 to 65535) per numeric column instead of its
        sorted values (see the class docstring for memory and error bounds); None (the default)
        keeps the sorted values, exactly."""
        return cls._build(reference, columns, categorical, "Profile.from_data", sketch)

    @classmethod
    @validate_params(reference=[Check(is_table, TABLE_DESCRIPTION)],
                     columns=[None, Check(_is_names, "a list of column names")],
                     categorical=[None, Check(_is_names, "a list of column names")],
                     sketch=[None, Interval(Integral, _sketch.K_MIN, _sketch.K_MAX)])
    def from_arrays(cls, reference: Any, columns: list | None = None, *,
                    categorical: list | None = None, sketch: int | None = None) -> "Profile":
        """The protocol's constructor: the same as :meth:`from_data`."""
        return cls._build(reference, columns, categorical, "Profile.from_arrays", sketch)

    @classmethod
    def _build(cls, reference, columns, categorical, func, sketch=None) -> "Profile":
        table = read_table(reference, func, "reference", columns, tuple(categorical or ()))
        kinds = {n: k for n, (k, _) in table.items()}
        num = [n for n in table if kinds[n] == NUMERIC]
        sorted_values, missing, sketches, moments = {}, {}, {}, {}
        # a sketched profile sorts a few columns at a time, so that the build's memory stays small too
        step = len(num) if sketch is None else max(1, 2 * _core.get_num_threads())
        for s in range(0, len(num), max(step, 1)):
            part = num[s:s + step]
            try:
                values, miss = _core.monitoring.sort_columns([table[n][1] for n in part])
            except ValueError as err:
                raise named_error(func, part, err) from None
            for n, v, k in zip(part, values, miss):
                missing[n] = int(k)
                if sketch is None:
                    sorted_values[n] = v
                else:
                    sketches[n] = _sketch.new_sketch(sketch)
                    if len(v):
                        sketches[n].update(v)
                    moments[n] = _sketch.moments_of(v)
        cats = {}
        for n in table:
            if kinds[n] == CATEGORICAL:
                c, counts, k = category_counts(table[n][1], func, n)
                cats[n] = {_json_scalar(a): int(b) for a, b in zip(c, counts)}
                missing[n] = k
        return cls(list(table), kinds, sorted_values, cats, missing, sketch, sketches, moments)

    @validate_params(reference=[Check(is_table, TABLE_DESCRIPTION)])
    def update(self, reference: Any) -> "Profile":
        """Adds a batch of reference rows (the same columns) in place; returns self."""
        other = self._build(reference, self._columns, [n for n in self._columns if self._kinds[n] == CATEGORICAL],
                            "Profile.update", self._sketch_k)
        self._check_schema(other, "Profile.update", "reference")
        merged = self._merged([other])
        self._kinds, self._sorted = merged._kinds, merged._sorted
        self._cats, self._missing = merged._cats, merged._missing
        self._sketches, self._moments = merged._sketches, merged._moments
        return self

    @validate_params(others=[Check(lambda ps: all(isinstance(p, Profile) for p in ps), "Profile objects")])
    def merge(self, *others: "Profile") -> "Profile":
        """The profile of the union of the samples (a new profile; none of the inputs changes).
        Exact: the sorted values merge and the counts add, so any partition merged in any order
        gives the profile of the whole.  The profiles must have the same columns and kinds."""
        return super().merge(*others)

    @classmethod
    @validate_params(d=[Mapping])
    def from_dict(cls, d: Mapping) -> "Profile":
        """The profile saved by :meth:`to_dict` (exactly)."""
        return super().from_dict(d)

    def _n_values(self, n) -> int:
        """Non-missing values of column n."""
        if self._kinds[n] == NUMERIC:
            return self._moments[n][0] if self._sketch_k is not None else len(self._sorted[n])
        return sum(self._cats[n].values())

    def _has_values(self, n) -> bool:
        return self._n_values(n) > 0

    def _check_schema(self, other: "Profile", func: str, name: str) -> None:
        # a column without any value in one of them (all None in a partition) has no kind of its own
        if other._columns != self._columns or any(
                other._kinds[n] != self._kinds[n] and self._has_values(n) and other._has_values(n)
                for n in self._columns):
            raise InvalidParameterError(
                f"The '{name}' parameter of {func} must have the profile's columns and kinds "
                f"{[(c, self._kinds[c]) for c in self._columns]}. Got {[(c, other._kinds[c]) for c in other._columns]} "
                f"instead.")

    def _merged(self, others: list) -> "Profile":
        for o in others:
            self._check_schema(o, "Profile.merge", "others")
            if (o._sketch_k is None) != (self._sketch_k is None):
                raise InvalidParameterError(
                    "The 'others' parameter of Profile.merge must hold profiles of the same form as this one "
                    f"({'exact' if self._sketch_k is None else 'with quantile sketches'}). Got an "
                    f"{'exact' if o._sketch_k is None else 'sketched'} profile instead.")
        parts = [self, *others]
        sorted_values, cats, missing, kinds, sketches, moments = {}, {}, {}, {}, {}, {}
        for n in self._columns:
            missing[n] = sum(p._missing[n] for p in parts)
            kinds[n] = next((p._kinds[n] for p in parts if p._has_values(n)), self._kinds[n])
            parts_n = [p for p in parts if p._kinds[n] == kinds[n]]  # the others hold no value of n
            if kinds[n] == NUMERIC and self._sketch_k is not None:
                sketches[n] = _sketch.new_sketch(self._sketch_k)
                for p in parts_n:
                    if n in p._sketches and not p._sketches[n].is_empty():
                        sketches[n].merge(p._sketches[n])
                moments[n] = _sketch.merge_moments([p._moments[n] for p in parts_n if n in p._moments])
            elif kinds[n] == NUMERIC:
                allv = np.concatenate([p._sorted[n] for p in parts_n])
                allv.sort(kind="stable")
                sorted_values[n] = allv
            else:
                acc: dict = {}
                for p in parts_n:
                    for c, k in p._cats[n].items():
                        acc[c] = acc.get(c, 0) + k
                cats[n] = dict(sorted(acc.items(), key=lambda kv: category_key(kv[0])))
        return Profile(self._columns, kinds, sorted_values, cats, missing, self._sketch_k, sketches, moments)

    # -- what it holds --------------------------------------------------------------------------
    @property
    def columns(self) -> list:
        """The profiled columns, in order."""
        return list(self._columns)

    @property
    def kinds(self) -> dict:
        """Column name -> "numeric" or "categorical"."""
        return dict(self._kinds)

    @property
    def sketch(self) -> int | None:
        """The KLL parameter k of the numeric columns' quantile sketches, or None for an exact
        profile (sorted values)."""
        return self._sketch_k

    @property
    def rank_error(self) -> float:
        """The largest normalized rank error of the numeric columns' sketches (DataSketches'
        99%-confidence bound on |F_sketch - F_reference|; 0.0 for an exact profile and for sketches
        that still hold every value): ``compare``'s KS statistic is within it of ``drift``'s, its
        Wasserstein-1 distance within it times the column's range."""
        return max((_sketch.rank_error(sk) for sk in self._sketches.values()), default=0.0)

    @validate_params(column=[Check(lambda c: isinstance(c, (str, int)), "a column name (str or int)")])
    def sorted_values(self, column: Any) -> np.ndarray:
        """The sorted non-missing values of a numeric column (a read-only view); exact profiles
        only."""
        self._column(column, "sorted_values", NUMERIC)
        if self._sketch_k is not None:
            raise InvalidParameterError("Profile.sorted_values needs an exact profile; this one keeps quantile "
                                        "sketches (Profile.from_data(..., sketch=None) keeps the sorted values).")
        v = self._sorted[column].view()
        v.flags.writeable = False
        return v

    @validate_params(column=[Check(lambda c: isinstance(c, (str, int)), "a column name (str or int)")])
    def category_counts(self, column: Any) -> dict:
        """Category -> count of a categorical column."""
        self._column(column, "category_counts", CATEGORICAL)
        return dict(self._cats[column])

    @validate_params(column=[Check(lambda c: isinstance(c, (str, int)), "a column name (str or int)")])
    def missing(self, column: Any) -> int:
        """The number of missing values of a column."""
        self._column(column, "missing", None)
        return self._missing[column]

    def _column(self, column, method: str, kind) -> None:
        if column not in self._kinds or (kind is not None and self._kinds[column] != kind):
            what = "a column" if kind is None else f"a {kind} column"
            raise InvalidParameterError(f"The 'column' parameter of Profile.{method} must be {what} of the profile. "
                                        f"Got {column!r} instead.")

    @property
    def n_rows(self) -> int:
        """The number of reference rows profiled."""
        n = self._columns[0]
        return self._missing[n] + self._n_values(n)

    def __repr__(self) -> str:
        n_num = sum(k == NUMERIC for k in self._kinds.values())
        sk = "" if self._sketch_k is None else f", sketch={self._sketch_k}"
        return (f"Profile(n_rows={self.n_rows}, columns={len(self._columns)}, numeric={n_num}, "
                f"categorical={len(self._columns) - n_num}{sk})")

    @validate_params()
    def result(self):
        """A per-column summary table (a :class:`ProfileSummary`): rows, missing share, and the
        exact moments and range (numeric) or the number of categories (categorical)."""
        from ._summary import profile_summary

        return profile_summary(self)

    # -- comparing ------------------------------------------------------------------------------
    @validate_params(current=[Check(is_table, TABLE_DESCRIPTION)], **OPTIONS)
    def compare(self, current: Any, *, method: Any = "auto", threshold: Any = None, n_bins: int = 10,
                bins: Any = None, psi_eps: float = 1e-4, ks_method: str = "auto", alternative: str = "two-sided",
                drift_share: float = 0.5, progress: bool = False) -> DriftReport:
        """The drift of ``current`` against the profiled reference: the same report, number for
        number, as ``drift(reference, current, ...)`` with the same options (see :func:`drift`);
        with quantile sketches, within the bounds stated in the class docstring.
        ``current`` must have the profile's columns, of the same kinds."""
        func = "Profile.compare"
        cat = tuple(n for n in self._columns if self._kinds[n] == CATEGORICAL)
        cur = read_table(current, func, "current", self._columns, cat)
        # a profiled column without any value takes current's kind, as drift's reference column does
        kinds = {n: cur[n][0] if not self._has_values(n) else k for n, k in self._kinds.items()}
        check_same_kinds(kinds, cur, func, "profile")
        if self.n_rows == 0:
            raise InvalidParameterError(f"{func}: the profile holds no reference rows.")
        num = [n for n in self._columns if kinds[n] == NUMERIC]
        if self._sketch_k is None:
            numeric = numeric_summaries(num, [self._sorted.get(n, np.empty(0)) for n in num],
                                        [cur[n][1] for n in num], reference_sorted=True,
                                        edges=edges_for(bins, num, func), n_bins=n_bins, func=func, progress=progress)
        else:
            numeric = self._sketch_summaries(num, [cur[n][1] for n in num], edges_for(bins, num, func), n_bins, func,
                                             progress)
        if num:
            numeric["missing_ref"] = np.array([self._missing[n] for n in num], dtype=np.int64)
        categorical = {}
        for n in self._columns:
            if kinds[n] == CATEGORICAL:
                rc = self._cats.get(n, {})
                categorical[n] = (list(rc), np.array(list(rc.values()), dtype=np.int64), self._missing[n],
                                  *category_counts(cur[n][1], func, n))
        return build_report(self._columns, kinds, numeric, categorical, func=func, method=method,
                            threshold=threshold, psi_eps=psi_eps, ks_method=ks_method, alternative=alternative,
                            drift_share=drift_share)

    def _sketch_summaries(self, names: list, cur_cols: list, edges: list, n_bins: int, func: str,
                          progress: bool) -> dict:
        """drift's per-column numeric statistics from the sketches and the current columns (sorted
        a few at a time, in parallel)."""
        if not names:
            return {}
        step = max(1, 2 * _core.get_num_threads())
        cols = []
        starts = list(range(0, len(names), step))
        for s in _progress(starts, len(starts), progress, func):
            part = names[s:s + step]
            try:
                values, miss = _core.monitoring.sort_columns(cur_cols[s:s + step])
            except ValueError as err:
                raise named_error(func, part, err) from None
            for j, (n, v, k) in enumerate(zip(part, values, miss)):
                col = _sketch.column_summary(self._sketches.get(n) or _sketch.new_sketch(self._sketch_k),
                                             self._moments.get(n, (0, 0.0, 0.0, 0)), v,
                                             edges[s + j] if edges else None, n_bins,
                                             _core.monitoring.wasserstein_distance)
                col["missing_cur"] = int(k)
                cols.append(col)
        out = {f: np.array([c[f] for c in cols]) for f in ("n_ref", "n_cur", "missing_cur", "ks_greater", "ks_less",
                                                            "wasserstein", "ref_std")}
        out.update({f: [c[f] for c in cols] for f in ("edges", "ref_counts", "cur_counts")})
        return out

    # -- the protocol's JSON form ---------------------------------------------------------------
    def _to_dict_body(self) -> dict:
        cols = []
        for n in self._columns:
            c = {"name": n, "kind": self._kinds[n], "missing": self._missing[n]}
            if self._kinds[n] == NUMERIC and self._sketch_k is not None:
                c["sketch"] = base64.b64encode(self._sketches[n].serialize()).decode("ascii")
                c["moments"] = _sketch.stored_moments(self._moments[n])
            elif self._kinds[n] == NUMERIC:
                c["sorted"] = json_array(self._sorted[n])
            else:
                c["categories"] = [[k, v] for k, v in self._cats[n].items()]
            cols.append(c)
        return {"columns": cols} if self._sketch_k is None else {"columns": cols, "sketch": self._sketch_k}

    @classmethod
    def _from_dict_body(cls, d) -> "Profile":
        names, kinds, sorted_values, cats, missing, sketches, moments = [], {}, {}, {}, {}, {}, {}
        sketch_k = d.get("sketch")
        if sketch_k is not None and not (_is_count(sketch_k, _sketch.K_MIN) and sketch_k <= _sketch.K_MAX):
            raise ValueError(f"a bad sketch parameter {sketch_k!r}")
        if set(d) - {"columns", "sketch"}:
            raise ValueError(f"unknown fields {sorted(map(str, set(d) - {'columns', 'sketch'}))}")
        for c in d["columns"]:
            n = c["name"]
            if not isinstance(n, (str, int)) or n in kinds:
                raise ValueError(f"bad or repeated column name {n!r}")
            names.append(n)
            kinds[n] = c["kind"]
            missing[n] = c["missing"]
            if not _is_count(missing[n], 0):
                raise ValueError(f"a bad missing count {missing[n]!r} in column {n!r}")
            if kinds[n] == NUMERIC and sketch_k is not None:
                raw = c["sketch"]
                if not isinstance(raw, (str, bytes)):
                    raise TypeError(f"the sketch of column {n!r} is not a base64 string")
                sketches[n] = _sketch.deserialize(base64.b64decode(raw, validate=True))
                try:
                    moments[n] = _sketch.checked_moments(c["moments"], sketches[n])
                except ValueError as e:
                    raise ValueError(f"{e} of column {n!r}") from None
            elif kinds[n] == NUMERIC:
                v = c["sorted"]  # a view of the file's bytes (load), or the JSON list (from_dict)
                v = v if isinstance(v, np.ndarray) else array_from_json(v, np.float64)
                if not (np.all(np.isfinite(v)) and np.all(v[1:] >= v[:-1])):
                    raise ValueError(f"the values of column {n!r} are not finite and sorted")
                sorted_values[n] = v
            elif kinds[n] == CATEGORICAL:
                counts = {}
                for k, v in c["categories"]:
                    # a profile counts only categories it saw, once each: 0, a repeat or a bool is corruption
                    if not _is_count(v, 1) or k in counts:
                        raise ValueError(f"a bad or repeated count of category {k!r} in column {n!r}")
                    counts[k] = v
                cats[n] = counts
            else:
                raise ValueError(f"unknown column kind {kinds[n]!r}")
        if not names:
            raise ValueError("no columns")
        return cls(names, kinds, sorted_values, cats, missing, sketch_k, sketches, moments)

    # -- files ----------------------------------------------------------------------------------
    @validate_params(path=[Check(lambda p: isinstance(p, (str, Path)), "a path (str or pathlib.Path)")])
    def save(self, path: str | Path) -> None:
        """Writes the profile to ``path``: a header (magic, format version, payload length,
        SHA-256 of the payload), then the payload: the column metadata as JSON and each numeric
        column's sorted values as raw little-endian float64 (no pickle).  A profile with quantile
        sketches is format version 2: its sketches are in the JSON, in base64."""
        meta = {"columns": []}
        arrays = []
        version = _VERSION if self._sketch_k is None else _SKETCH_VERSION
        if self._sketch_k is not None:
            meta = self._to_dict_body()
        for n in self._columns if self._sketch_k is None else ():
            c = {"name": n, "kind": self._kinds[n], "missing": self._missing[n]}
            if self._kinds[n] == NUMERIC:
                arrays.append(np.ascontiguousarray(self._sorted[n], dtype="<f8"))
                c["sorted"] = len(arrays[-1])
            else:
                c["categories"] = [[k, v] for k, v in self._cats[n].items()]
            meta["columns"].append(c)
        head = json.dumps(meta).encode()
        # JSON ends in spaces so that the float64 arrays start 8-byte aligned in the file (the views
        # load makes of them reach C++ as double*, where an unaligned pointer is undefined behaviour)
        head += b" " * (-(_HEADER.size + 8 + len(head)) % 8)
        length = 8 + len(head) + sum(a.nbytes for a in arrays)
        digest = hashlib.sha256()
        # streamed: the header's checksum is written last, so no copy of the values is made
        with open(path, "wb") as f:
            f.write(_HEADER.pack(_MAGIC, version, length, bytes(32)))
            for chunk in (struct.pack("<Q", len(head)), head, *(memoryview(a).cast("B") for a in arrays)):
                digest.update(chunk)
                f.write(chunk)
            f.seek(0)
            f.write(_HEADER.pack(_MAGIC, version, length, digest.digest()))

    @classmethod
    @validate_params(path=[Check(lambda p: isinstance(p, (str, Path)), "a path (str or pathlib.Path)")])
    def load(cls, path: str | Path) -> "Profile":
        """Reads a profile written by :meth:`save`.  A file that is not one (wrong magic), of
        another format version, truncated, or whose checksum does not match raises
        InvalidParameterError (a ValueError)."""
        func = "Profile.load"

        def bad(why):
            return InvalidParameterError(f"The 'path' parameter of {func} must be a profile file written by "
                                         f"Profile.save. {path!s} is not: {why}.")

        with open(path, "rb") as f:
            data = f.read()  # bytes: the columns below are read-only views of it, not copies
        if len(data) < _HEADER.size:
            raise bad("it is shorter than the header")
        magic, version, length, digest = _HEADER.unpack_from(data)
        if magic != _MAGIC:
            raise bad("wrong magic number")
        if version not in (_VERSION, _SKETCH_VERSION):
            raise bad(f"format version {version}, this mlsd reads versions {_VERSION} and {_SKETCH_VERSION}")
        payload = memoryview(data)[_HEADER.size:]
        if len(payload) != length:
            raise bad(f"the payload has {len(payload)} bytes, the header says {length} (truncated?)")
        if hashlib.sha256(payload).digest() != digest:
            raise bad("checksum mismatch (the file is corrupted)")
        try:
            (n_head,) = struct.unpack_from("<Q", payload)
            meta = json.loads(bytes(payload[8:8 + n_head]).decode())
            if not isinstance(meta, dict) or ("sketch" in meta) != (version == _SKETCH_VERSION):
                raise ValueError(f"format version {version} with{'out' if version == _SKETCH_VERSION else ''} "
                                 f"quantile sketches")
            offset = 8 + n_head
            for c in meta["columns"] if version == _VERSION else ():
                if c.get("kind") == NUMERIC:
                    n = int(c["sorted"])
                    end = offset + 8 * n
                    if n < 0 or end > len(payload):
                        raise ValueError("the values run past the end of the payload")
                    v = np.frombuffer(data, "<f8", n, _HEADER.size + offset)
                    c["sorted"] = v if v.flags.aligned else v.copy()  # files of other writers
                    offset = end
            if offset != len(payload):
                raise ValueError("bytes left over after the last column")
            return cls._from_dict_body(meta)
        except (KeyError, TypeError, ValueError, UnicodeDecodeError, struct.error, binascii.Error) as e:
            raise bad(f"{type(e).__name__}: {e}") from None
