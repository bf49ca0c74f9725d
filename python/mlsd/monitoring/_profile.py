"""Reference profiles: what every drift test needs from the reference, computed once, saved, loaded
and merged (the mergeable-state protocol of :mod:`mlsd._state`)."""

from __future__ import annotations

import hashlib
import io
import json
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import _core
from .._params import Check, validate_params
from .._state import MergeableState, array_from_json, json_array
from .._validation import InvalidParameterError
from ._drift import (OPTIONS, DriftReport, _is_names, build_report, check_same_kinds, edges_for, named_error,
                     numeric_summaries)
from ._input import CATEGORICAL, NUMERIC, TABLE_DESCRIPTION, category_counts, category_key, is_table, read_table

_MAGIC = b"MLSDPROF"
_VERSION = 1
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
    """

    __slots__ = ("_columns", "_kinds", "_sorted", "_cats", "_missing")

    def __init__(self, columns: list, kinds: dict, sorted_values: dict, categories: dict, missing: dict):
        self._columns = list(columns)
        self._kinds = dict(kinds)
        self._sorted = dict(sorted_values)   # name -> float64 ascending, NaN-free
        self._cats = dict(categories)        # name -> {category: count}
        self._missing = dict(missing)        # name -> int

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    @validate_params(reference=[Check(is_table, TABLE_DESCRIPTION)],
                     columns=[None, Check(_is_names, "a list of column names")],
                     categorical=[None, Check(_is_names, "a list of column names")])
    def from_data(cls, reference: Any, columns: list | None = None, *, categorical: list | None = None) -> "Profile":
        """The profile of a reference table (the inputs :func:`drift` takes; ``columns`` selects
        and orders, ``categorical`` names numeric columns to treat as categories)."""
        return cls._build(reference, columns, categorical, "Profile.from_data")

    @classmethod
    @validate_params(reference=[Check(is_table, TABLE_DESCRIPTION)],
                     columns=[None, Check(_is_names, "a list of column names")],
                     categorical=[None, Check(_is_names, "a list of column names")])
    def from_arrays(cls, reference: Any, columns: list | None = None, *,
                    categorical: list | None = None) -> "Profile":
        """The protocol's constructor: the same as :meth:`from_data`."""
        return cls._build(reference, columns, categorical, "Profile.from_arrays")

    @classmethod
    def _build(cls, reference, columns, categorical, func) -> "Profile":
        table = read_table(reference, func, "reference", columns, tuple(categorical or ()))
        kinds = {n: k for n, (k, _) in table.items()}
        num = [n for n in table if kinds[n] == NUMERIC]
        sorted_values, missing = {}, {}
        if num:
            try:
                values, miss = _core.monitoring.sort_columns([table[n][1] for n in num])
            except ValueError as err:
                raise named_error(func, num, err) from None
            for n, v, k in zip(num, values, miss):
                sorted_values[n], missing[n] = v, int(k)
        cats = {}
        for n in table:
            if kinds[n] == CATEGORICAL:
                c, counts, k = category_counts(table[n][1], func, n)
                cats[n] = {_json_scalar(a): int(b) for a, b in zip(c, counts)}
                missing[n] = k
        return cls(list(table), kinds, sorted_values, cats, missing)

    @validate_params(reference=[Check(is_table, TABLE_DESCRIPTION)])
    def update(self, reference: Any) -> "Profile":
        """Adds a batch of reference rows (the same columns) in place; returns self."""
        other = self._build(reference, self._columns, [n for n in self._columns if self._kinds[n] == CATEGORICAL],
                            "Profile.update")
        self._check_schema(other, "Profile.update", "reference")
        merged = self._merged([other])
        self._kinds, self._sorted = merged._kinds, merged._sorted
        self._cats, self._missing = merged._cats, merged._missing
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

    def _has_values(self, n) -> bool:
        return len(self._sorted[n]) > 0 if self._kinds[n] == NUMERIC else bool(self._cats[n])

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
        parts = [self, *others]
        sorted_values, cats, missing, kinds = {}, {}, {}, {}
        for n in self._columns:
            missing[n] = sum(p._missing[n] for p in parts)
            kinds[n] = next((p._kinds[n] for p in parts if p._has_values(n)), self._kinds[n])
            parts_n = [p for p in parts if p._kinds[n] == kinds[n]]  # the others hold no value of n
            if kinds[n] == NUMERIC:
                allv = np.concatenate([p._sorted[n] for p in parts_n])
                allv.sort(kind="stable")
                sorted_values[n] = allv
            else:
                acc: dict = {}
                for p in parts_n:
                    for c, k in p._cats[n].items():
                        acc[c] = acc.get(c, 0) + k
                cats[n] = dict(sorted(acc.items(), key=lambda kv: category_key(kv[0])))
        return Profile(self._columns, kinds, sorted_values, cats, missing)

    # -- what it holds --------------------------------------------------------------------------
    @property
    def columns(self) -> list:
        """The profiled columns, in order."""
        return list(self._columns)

    @property
    def kinds(self) -> dict:
        """Column name -> "numeric" or "categorical"."""
        return dict(self._kinds)

    @validate_params(column=[Check(lambda c: isinstance(c, (str, int)), "a column name (str or int)")])
    def sorted_values(self, column: Any) -> np.ndarray:
        """The sorted non-missing values of a numeric column (a read-only view)."""
        v = self._column(column, "sorted_values", NUMERIC)
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
        return self._missing[n] + (len(self._sorted[n]) if self._kinds[n] == NUMERIC else sum(self._cats[n].values()))

    def __repr__(self) -> str:
        n_num = sum(k == NUMERIC for k in self._kinds.values())
        return (f"Profile(n_rows={self.n_rows}, columns={len(self._columns)}, numeric={n_num}, "
                f"categorical={len(self._columns) - n_num})")

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
        number, as ``drift(reference, current, ...)`` with the same options (see :func:`drift`).
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
        numeric = numeric_summaries(num, [self._sorted.get(n, np.empty(0)) for n in num], [cur[n][1] for n in num],
                                    reference_sorted=True, edges=edges_for(bins, num, func), n_bins=n_bins, func=func,
                                    progress=progress)
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

    # -- the protocol's JSON form ---------------------------------------------------------------
    def _to_dict_body(self) -> dict:
        cols = []
        for n in self._columns:
            c = {"name": n, "kind": self._kinds[n], "missing": self._missing[n]}
            if self._kinds[n] == NUMERIC:
                c["sorted"] = json_array(self._sorted[n])
            else:
                c["categories"] = [[k, v] for k, v in self._cats[n].items()]
            cols.append(c)
        return {"columns": cols}

    @classmethod
    def _from_dict_body(cls, d) -> "Profile":
        names, kinds, sorted_values, cats, missing = [], {}, {}, {}, {}
        for c in d["columns"]:
            n = c["name"]
            if not isinstance(n, (str, int)) or n in kinds:
                raise ValueError(f"bad or repeated column name {n!r}")
            names.append(n)
            kinds[n] = c["kind"]
            missing[n] = c["missing"]
            if not _is_count(missing[n], 0):
                raise ValueError(f"a bad missing count {missing[n]!r} in column {n!r}")
            if kinds[n] == NUMERIC:
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
        return cls(names, kinds, sorted_values, cats, missing)

    # -- files ----------------------------------------------------------------------------------
    @validate_params(path=[Check(lambda p: isinstance(p, (str, Path)), "a path (str or pathlib.Path)")])
    def save(self, path: str | Path) -> None:
        """Writes the profile to ``path``: a header (magic, format version, payload length,
        SHA-256 of the payload), then the payload: the column metadata as JSON and each numeric
        column's sorted values as raw little-endian float64 (no pickle)."""
        meta = {"columns": []}
        arrays = []
        for n in self._columns:
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
            f.write(_HEADER.pack(_MAGIC, _VERSION, length, bytes(32)))
            for chunk in (struct.pack("<Q", len(head)), head, *(memoryview(a).cast("B") for a in arrays)):
                digest.update(chunk)
                f.write(chunk)
            f.seek(0)
            f.write(_HEADER.pack(_MAGIC, _VERSION, length, digest.digest()))

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
        if version != _VERSION:
            raise bad(f"format version {version}, this mlsd reads version {_VERSION}")
        payload = memoryview(data)[_HEADER.size:]
        if len(payload) != length:
            raise bad(f"the payload has {len(payload)} bytes, the header says {length} (truncated?)")
        if hashlib.sha256(payload).digest() != digest:
            raise bad("checksum mismatch (the file is corrupted)")
        try:
            (n_head,) = struct.unpack_from("<Q", payload)
            meta = json.loads(bytes(payload[8:8 + n_head]).decode())
            offset = 8 + n_head
            for c in meta["columns"]:
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
        except (KeyError, TypeError, ValueError, UnicodeDecodeError, struct.error) as e:
            raise bad(f"{type(e).__name__}: {e}") from None
