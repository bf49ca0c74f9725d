"""Entity keys and times of several tables, made comparable: the one place where mlsd.features
reads key and time columns (the as-of join and the windowed aggregations both start here).

* :func:`encode_keys` -- the key columns (one or more: integers, strings, booleans, categoricals;
  pandas or pyarrow) of every table jointly encoded as int64 codes: equal keys get equal codes in
  every table, a row with a missing key gets -1, which never matches.  Codes are >= 0 and below
  ``n_codes``; with ``dense=True`` they are exactly ``0 .. n_distinct - 1``.
* :func:`key_hash` -- a 64-bit hash of each row's key, one table at a time, by the rule of
  :func:`encode_keys`: keys that would get one code (in any tables) get one hash.  mlsd.dask
  shuffles rows by it, so that an entity's rows meet in one partition.
* :func:`encode_times` -- the time column of every table as int64 in one unit: datetimes of any
  unit are converted exactly to the finest unit among the tables (as pandas compares them);
  integers are taken as they are.  Datetimes and integers, or different time zones (naive against
  aware included), across tables are an error, never a silent conversion.  Missing times come back
  in a mask.
* :class:`TimeSpec` -- the kind, unit and zone found, and ``duration()`` that turns a ttl or a
  window ("1h", a timedelta, or an int for integer times) into an int64 count of that unit.

Every error names the public function and the argument (``by``, ``on``, ...) and the table
("spine", "features[1]", ...).
"""

from __future__ import annotations

import datetime as _dt
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

__all__ = ["TimeSpec", "arrow_to_pandas", "column", "encode_keys", "encode_times", "key_hash", "key_kinds",
           "n_rows", "is_arrow"]

_INT64_MAX = np.iinfo(np.int64).max
_UNITS = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_COMBINE_LIMIT = 2**62  # products of code ranges below this stay exact in int64


def is_arrow(table: Any) -> bool:
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a dependency of the features family
        return False
    return isinstance(table, pa.Table)


def n_rows(table: Any) -> int:
    return table.num_rows if is_arrow(table) else len(table)


def arrow_to_pandas(arr: Any) -> Any:
    """A pyarrow column as a pandas array with nullable numeric and boolean types (pyarrow's own
    conversion turns integers with nulls into floats and booleans with nulls into objects)."""
    import pyarrow as pa

    mapping = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
               pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
               pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype(), pa.float32(): pd.Float32Dtype(),
               pa.float64(): pd.Float64Dtype(), pa.bool_(): pd.BooleanDtype()}
    return arr.to_pandas(types_mapper=mapping.get).array


def column(table: Any, name: str, arg: str, where: str, func: str) -> Any:
    """The column ``name`` of ``table`` (a pandas Series or a pyarrow ChunkedArray).  Names are
    strings, except the columns a join picks from a pandas table by itself, which may be any label."""
    names = table.column_names if is_arrow(table) else list(table.columns)
    count = sum(1 for c in names if c == name) if isinstance(name, str) or not is_arrow(table) else 0
    if count == 0:
        raise ValueError(f"{func}: {arg} names column {name!r}, which {where} does not have "
                         f"(its columns: {', '.join(map(str, names[:20]))})")
    if count > 1:  # pandas and pyarrow allow it; which one is meant cannot be known
        raise ValueError(f"{func}: {where} has {count} columns named {name!r} (read for {arg}); give its columns "
                         f"distinct names")
    return table.column(name) if is_arrow(table) else table[name]


# -- keys ------------------------------------------------------------------------------------------

@dataclass
class _KeyColumn:
    kind: str  # "integer", "string", "float" or "null" (no key at all)
    values: Any  # int64/float64 ndarray (kind integer/float) or a pyarrow (large_)string array
    valid: np.ndarray | None  # bool mask of present values; None: all present
    categories: Any = None  # for a categorical: its categories as a _KeyColumn, values are then codes


def _key_kind_of_numpy(arr: np.ndarray) -> str | None:
    k = arr.dtype.kind
    return {"b": "integer", "i": "integer", "u": "integer", "f": "float"}.get(k)


def _pandas_key(s: pd.Series, where: str, name: str, func: str) -> _KeyColumn:
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = _pandas_key(pd.Series(dtype.categories), where, name, func)
        return _KeyColumn(cats.kind, np.asarray(s.cat.codes, dtype=np.int64), None, categories=cats)
    if isinstance(dtype, pd.ArrowDtype):
        return _arrow_key(s.array._pa_array, where, name, func)
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        arr = s.to_numpy()
        kind = _key_kind_of_numpy(arr)
        valid = None
        if kind == "float":
            valid = ~np.isnan(arr)
            valid = None if valid.all() else valid
        return _KeyColumn(kind, _int64_or_float(arr, kind, where, name, func), valid)
    if pd.api.types.is_extension_array_dtype(dtype) and dtype.kind in "biuf":  # Int64, boolean, Float64
        mask = np.asarray(s.isna())
        kind = "float" if dtype.kind == "f" else "integer"
        fill = 0.0 if kind == "float" else 0
        arr = s.to_numpy(dtype=np.float64 if kind == "float" else np.int64, na_value=fill) \
            if dtype.kind != "u" else s.to_numpy(dtype=np.uint64, na_value=0)
        return _KeyColumn(kind, _int64_or_float(arr, kind, where, name, func), ~mask if mask.any() else None)
    if dtype == object or isinstance(dtype, pd.StringDtype):
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        if inferred == "empty":  # no key at all (every value missing, or no rows)
            return _null_key(len(s))
        if inferred == "string":
            import pyarrow as pa

            try:
                return _KeyColumn("string", pa.array(s, type=pa.large_string(), from_pandas=True), None)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
                pass
        elif inferred in ("integer", "boolean"):
            mask = np.asarray(s.isna())
            arr = np.asarray(s.where(~mask, 0).tolist() if mask.any() else s.tolist())
            if arr.dtype.kind in "biu":
                return _KeyColumn("integer", _int64_or_float(arr, "integer", where, name, func),
                                  ~mask if mask.any() else None)
        raise TypeError(f"{func}: by column {name!r} of {where} holds values of mixed or unsortable types "
                        f"({inferred}); keys must all be integers, all strings or a categorical")
    raise TypeError(f"{func}: by column {name!r} of {where} has dtype {dtype}; keys must be integers, "
                    f"booleans, strings or categoricals")


def _arrow_key(col: Any, where: str, name: str, func: str) -> _KeyColumn:
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.dictionary_decode()
        t = col.type
    if pa.types.is_null(t):  # pyarrow's type of a column without any value
        return _null_key(len(col))
    valid = None
    if col.null_count:
        valid = np.asarray(pc.is_valid(col))
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _KeyColumn("string", col.cast(pa.large_string()), valid)
    if pa.types.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_floating(t):
        kind = "float" if pa.types.is_floating(t) else "integer"
        arr = col.fill_null(0 if kind == "integer" and not pa.types.is_boolean(t) else
                            (False if pa.types.is_boolean(t) else 0.0)).to_numpy(zero_copy_only=False)
        if kind == "float":
            nan = np.isnan(arr)
            if nan.any():
                valid = ~nan if valid is None else valid & ~nan
        return _KeyColumn(kind, _int64_or_float(arr, kind, where, name, func), valid)
    raise TypeError(f"{func}: by column {name!r} of {where} has type {t}; keys must be integers, booleans, "
                    f"strings or dictionaries of those")


def _null_key(n: int) -> _KeyColumn:
    """A column without any key: fits keys of every kind, and every row is missing."""
    return _KeyColumn("null", np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool))


def _int64_or_float(arr: np.ndarray, kind: str, where: str, name: str, func: str) -> np.ndarray:
    if kind == "float":
        return np.ascontiguousarray(arr, dtype=np.float64)
    if arr.dtype.kind == "u" and arr.dtype.itemsize == 8 and arr.size and arr.max() > _INT64_MAX:
        raise ValueError(f"{func}: by column {name!r} of {where} has keys above 2**63 - 1, which are not supported")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _read_key(table: Any, name: str, where: str, func: str) -> _KeyColumn:
    col = column(table, name, "by", where, func)
    return _arrow_key(col, where, name, func) if is_arrow(table) else _pandas_key(col, where, name, func)


def _codes_of_values(parts: list[_KeyColumn], dense: bool) -> tuple[list[np.ndarray], int]:
    """Joint codes (with -1 for missing) of plain (non-categorical) key columns of one kind."""
    kind = parts[0].kind
    if kind == "integer" and not dense:
        present = [p.values if p.valid is None else p.values[p.valid] for p in parts]
        present = [v for v in present if v.size]
        if present:
            lo = min(int(v.min()) for v in present)
            hi = max(int(v.max()) for v in present)
            if hi - lo < _COMBINE_LIMIT:
                out = []
                for p in parts:
                    if lo != 0:
                        c = p.values - np.int64(lo)
                    elif p.valid is not None:
                        c = p.values.astype(np.int64, copy=True)
                    else:  # the keys are the codes already: no copy (the caller never writes to them)
                        c = p.values
                    if p.valid is not None:
                        c[~p.valid] = -1
                    out.append(c)
                return out, hi - lo + 1
        else:
            return [np.full(len(p.values), -1, dtype=np.int64) for p in parts], 0
    if kind == "string":
        import pyarrow as pa

        # one array, then split: a chunked array may drop empty chunks, which would shift the tables
        whole = pa.concat_arrays([p.values.combine_chunks() if isinstance(p.values, pa.ChunkedArray) else p.values
                                  for p in parts]) if parts else pa.array([], pa.large_string())
        enc = whole.dictionary_encode()
        codes = np.asarray(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        sizes = np.cumsum([0] + [len(p.values) for p in parts])
        return [codes[sizes[i]:sizes[i + 1]] for i in range(len(parts))], len(enc.dictionary)
    # floats (NaN missing), or integers whose range is too wide for offsets / dense codes requested
    values = np.concatenate([p.values for p in parts]) if parts else np.empty(0)
    codes, uniques = pd.factorize(values, sort=False, use_na_sentinel=True)
    codes = codes.astype(np.int64, copy=False)
    out, start = [], 0
    for p in parts:
        c = codes[start:start + len(p.values)]
        start += len(p.values)
        if p.valid is not None:
            c = c.copy()
            c[~p.valid] = -1
        out.append(c)
    return out, len(uniques)


def _joint_column_codes(cols: list[_KeyColumn], name: str, wheres: list[str], func: str,
                        dense: bool) -> tuple[list[np.ndarray], int]:
    null = [c.kind == "null" for c in cols]
    if any(null):  # columns without any key take no part in the coding: all -1
        keep = [i for i, nl in enumerate(null) if not nl]
        codes, n_codes = _joint_column_codes([cols[i] for i in keep], name, [wheres[i] for i in keep], func,
                                             dense) if keep else ([], 0)
        out = [np.full(len(c.values), -1, dtype=np.int64) for c in cols]
        for i, c in zip(keep, codes):
            out[i] = c
        return out, n_codes
    kinds = {c.kind for c in cols}
    if len(kinds) > 1:
        desc = ", ".join(f"{c.kind} in {w}" for c, w in zip(cols, wheres))
        raise TypeError(f"{func}: by column {name!r} holds keys of different types across the tables ({desc}); "
                        f"convert them to one type first")
    if not any(c.categories is not None for c in cols):
        return _codes_of_values(cols, dense)
    # Categoricals: encode the categories jointly (with the plain columns), then map each code.
    plain = [c.categories if c.categories is not None else c for c in cols]
    codes, n_codes = _codes_of_values(plain, dense=True)
    out = []
    for c, cc in zip(cols, codes):
        if c.categories is None:
            out.append(cc)
        else:
            lookup = np.append(cc, -1)  # category code -1 (missing) -> -1
            out.append(lookup[c.values])
    if any(c.categories is not None and len(c.categories.values) > len(np.unique(cc[cc >= 0]))
           for c, cc in zip(cols, codes)):
        pass  # duplicate categories cannot occur in pandas; nothing to do
    return out, n_codes


def encode_keys(tables: Sequence[Any], by: Sequence[Sequence[str]], wheres: Sequence[str], func: str, *,
                dense: bool = False) -> tuple[list[np.ndarray], int]:
    """Joint int64 codes of the key columns ``by[i]`` of each ``tables[i]`` (the i-th table's
    columns, in order, correspond across tables); -1 where any key column is missing.  Returns
    the codes per table and ``n_codes`` (every code is < n_codes)."""
    widths = {len(b) for b in by}
    if len(widths) != 1 or 0 in widths:
        raise ValueError(f"{func}: by must name the same number (at least one) of key columns in every table; "
                         f"got {[list(b) for b in by]}")
    n_cols = widths.pop()
    combined: list[np.ndarray] | None = None
    n_total = 1
    for j in range(n_cols):
        cols = [_read_key(t, b[j], w, func) for t, b, w in zip(tables, by, wheres)]
        codes, n_codes = _joint_column_codes(cols, by[0][j], list(wheres), func, dense)
        if combined is None:
            combined, n_total = codes, n_codes
            continue
        if n_total * max(n_codes, 1) < _COMBINE_LIMIT:
            combined = [np.where((a < 0) | (c < 0), -1, a * max(n_codes, 1) + c) for a, c in zip(combined, codes)]
            n_total = n_total * max(n_codes, 1)
        else:  # too many combinations for one int64: number the pairs that occur
            pairs = np.concatenate([np.stack([a, c], axis=1) for a, c in zip(combined, codes)])
            missing = (pairs < 0).any(axis=1)
            _, inv = np.unique(pairs, axis=0, return_inverse=True)
            inv = np.where(missing, -1, inv.reshape(-1).astype(np.int64))
            sizes = np.cumsum([0] + [len(a) for a in combined])
            combined = [inv[sizes[i]:sizes[i + 1]] for i in range(len(combined))]
            n_total = int(inv.max()) + 1 if inv.size else 0
    assert combined is not None
    if dense and n_cols > 1:
        flat = np.concatenate(combined) if combined else np.empty(0, np.int64)
        codes, uniques = pd.factorize(np.where(flat < 0, -1, flat), sort=False, use_na_sentinel=False)
        codes = codes.astype(np.int64)
        # -1 (missing) got a code of its own: put it back
        codes = np.where(flat < 0, -1, codes)
        present = np.unique(codes[codes >= 0])
        remap = np.full(len(uniques) + 1, -1, dtype=np.int64)
        remap[present] = np.arange(present.size)
        codes = np.where(codes < 0, -1, remap[np.maximum(codes, 0)])
        sizes = np.cumsum([0] + [len(a) for a in combined])
        combined = [codes[sizes[i]:sizes[i + 1]] for i in range(len(combined))]
        n_total = int(present.size)
    return [np.ascontiguousarray(c, dtype=np.int64) for c in combined], int(n_total)


_MISSING_HASH = np.uint64(0)  # rows with a missing key match nothing: any partition will do
_HASH_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplying by it loses no bits


def _column_hash(col: _KeyColumn) -> np.ndarray:
    """uint64 hash of each value of one key column, from the values as :func:`encode_keys` compares
    them: integers (any width, booleans, unsigned) as int64, floats as float64 with -0.0 made 0.0,
    strings by their text, a categorical through its categories."""
    n = len(col.values)
    if col.kind == "null":
        return np.full(n, _MISSING_HASH, dtype=np.uint64)
    if col.categories is not None:
        of_code = np.append(_column_hash(col.categories), _MISSING_HASH)  # category code -1: missing
        return of_code[col.values]
    if col.kind == "string":
        import pyarrow as pa

        arr = col.values.combine_chunks() if isinstance(col.values, pa.ChunkedArray) else col.values
        enc = arr.dictionary_encode()  # hash each distinct text once
        words = np.asarray(enc.dictionary.to_numpy(zero_copy_only=False), dtype=object)
        of_word = np.append(pd.util.hash_array(words, categorize=False), _MISSING_HASH)
        h = of_word[np.asarray(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)]
    else:  # int64, or float64 (+ 0.0 turns -0.0 into 0.0; NaN is missing)
        h = pd.util.hash_array(col.values + 0.0 if col.kind == "float" else col.values)
    return h if col.valid is None else np.where(col.valid, h, _MISSING_HASH)


def key_kinds(table: Any, by: Sequence[str], where: str, func: str) -> list[str]:
    """The kind of each key column as :func:`encode_keys` reads it: "integer", "float", "string",
    or "null" for a column without any key (no rows, or every value missing), which fits any kind.
    Keys of different kinds never match, so :func:`encode_keys` refuses tables whose kinds differ;
    a caller that sees the tables only in parts (mlsd.dask) compares the parts' kinds."""
    out = []
    for name in by:
        col = _read_key(table, name, where, func)
        present = col.values >= 0 if col.categories is not None else col.valid  # categorical code -1: missing
        out.append(col.kind if len(col.values) and (present is None or present.any()) else "null")
    return out


def key_hash(table: Any, by: Sequence[str], where: str, func: str) -> np.ndarray:
    """A uint64 hash of each row's key (the columns ``by`` of ``table``): two rows, of this table or
    of any other, whose keys :func:`encode_keys` would give one code get one hash -- int32 and
    int64, booleans and their categoricals, -0.0 and 0.0, str and pyarrow strings alike.  A
    missing value hashes as 0 (its row matches nothing, so where it goes does not matter).  The
    hash is the same in every process (no per-process seed)."""
    h = np.full(n_rows(table), _MISSING_HASH, dtype=np.uint64)
    for name in by:
        h = h * _HASH_MIX ^ _column_hash(_read_key(table, name, where, func))  # uint64: wraps around
    return h


# -- times -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TimeSpec:
    """What the time columns of a call hold: ``kind`` "datetime" (with ``unit`` s/ms/us/ns and
    ``tz``, None for naive) or "integer" (unitless)."""

    kind: str
    unit: str | None = None
    tz: str | None = None

    def duration(self, value: Any, name: str, func: str, *, positive: bool = False) -> int:
        """``value`` (a ttl or a window) as an int64 number of this spec's units, exactly."""
        lower = "> 0" if positive else ">= 0"
        # np.timedelta64 subclasses np.signedinteger: a duration, never a bare count
        number = isinstance(value, (int, np.integer, float)) and not isinstance(value, (bool, np.bool_, np.timedelta64))
        if self.kind == "integer":
            if not number or isinstance(value, float):
                raise TypeError(f"{func}: {name} must be an int {lower} when the times are integers; got {value!r}")
            v = int(value)
        else:
            if number or isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{func}: {name} must be a duration (a string such as '1h', a timedelta or "
                                f"np.timedelta64) when the times are datetimes; got {value!r}")
            try:
                with warnings.catch_warnings():  # pandas 3 deprecates "d" for days; "1d", "7d" stay accepted here
                    warnings.simplefilter("ignore")
                    td = pd.Timedelta(value)
            except (ValueError, TypeError):
                raise ValueError(f"{func}: {name} must be a duration such as '1h' or '7d'; "
                                 f"could not parse {value!r}") from None
            if td is pd.NaT:
                raise ValueError(f"{func}: {name} must be a duration; got {value!r}")
            ns = td.value
            per = 1_000_000_000 // _UNITS[self.unit]
            if ns % per:
                raise ValueError(f"{func}: {name} = {value!r} is not a whole number of {self.unit}, the unit of the times")
            v = ns // per
        if v < 0 or (positive and v == 0):
            raise ValueError(f"{func}: {name} must be {lower}; got {value!r}")
        if v > _INT64_MAX:
            raise ValueError(f"{func}: {name} must fit in int64 ticks of the times; got {value!r}")
        return v

    def to_numpy(self, values: np.ndarray) -> np.ndarray:
        """int64 times back as the column's NumPy type (datetime64[unit] or int64)."""
        return values.view(f"datetime64[{self.unit}]") if self.kind == "datetime" else values


def _read_time(table: Any, name: str, where: str, func: str,
               arg: str = "on") -> tuple[str, str | None, str | None, np.ndarray, np.ndarray | None]:
    """(kind, unit, tz, int64 values, valid mask or None); ``arg`` names the argument in errors."""
    col = column(table, name, arg, where, func)
    if is_arrow(table):
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        t = arr.type
        valid = np.asarray(pc.is_valid(arr)) if arr.null_count else None
        if pa.types.is_timestamp(t):
            ints = arr.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
            return "datetime", t.unit, t.tz, np.ascontiguousarray(ints, dtype=np.int64), valid
        if pa.types.is_integer(t):
            ints = arr.fill_null(0).to_numpy(zero_copy_only=False)
            return "integer", None, None, _checked_int64(ints, where, name, func, arg), valid
        raise TypeError(f"{func}: {arg} column {name!r} of {where} has type {t}; times must be timestamps or integers")
    dtype = col.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M"):
        arr = col.array
        unit = dtype.unit if isinstance(dtype, pd.DatetimeTZDtype) else np.datetime_data(dtype)[0]
        if unit not in _UNITS:
            raise ValueError(f"{func}: {arg} column {name!r} of {where} has unit {unit!r}; use s, ms, us or ns")
        ints = np.asarray(col.to_numpy(dtype=f"datetime64[{unit}]") if isinstance(dtype, pd.DatetimeTZDtype)
                          else col.to_numpy()).view(np.int64)
        nat = np.isnat(ints.view(f"datetime64[{unit}]"))
        tz = str(dtype.tz) if isinstance(dtype, pd.DatetimeTZDtype) else None
        del arr
        return "datetime", unit, tz, np.ascontiguousarray(ints), (~nat if nat.any() else None)
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        return _read_time(pa.table({name: col.array._pa_array}), name, where, func, arg)
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return "integer", None, None, _checked_int64(col.to_numpy(), where, name, func, arg), None
    if pd.api.types.is_extension_array_dtype(dtype) and dtype.kind in "iu":
        mask = np.asarray(col.isna())
        ints = col.to_numpy(dtype=np.float64 if False else "int64", na_value=0) if dtype.kind == "i" else \
            col.to_numpy(dtype="uint64", na_value=0)
        return "integer", None, None, _checked_int64(ints, where, name, func, arg), (~mask if mask.any() else None)
    raise TypeError(f"{func}: {arg} column {name!r} of {where} has dtype {dtype}; times must be datetime64 "
                    f"(any unit, naive or tz-aware) or integers")


def _checked_int64(arr: np.ndarray, where: str, name: str, func: str, arg: str) -> np.ndarray:
    if arr.dtype.kind == "u" and arr.dtype.itemsize == 8 and arr.size and arr.max() > _INT64_MAX:
        raise ValueError(f"{func}: {arg} column {name!r} of {where} has times above 2**63 - 1")
    return np.ascontiguousarray(arr, dtype=np.int64)


def encode_times(tables: Sequence[Any], on: Sequence[str], wheres: Sequence[str], func: str, *,
                 arg: str = "on", args: Sequence[str] | None = None
                 ) -> tuple[list[np.ndarray], list[np.ndarray | None], TimeSpec]:
    """The time column ``on[i]`` of each ``tables[i]`` as int64 in one unit, the masks of present
    values (None: all present) and the :class:`TimeSpec`.  ``arg`` names the argument in errors;
    ``args``, one per table, when the columns come from several arguments (``on`` and
    ``created_at``): then errors across columns name each column and its argument."""
    args = [arg] * len(tables) if args is None else list(args)
    read = []
    for t, name, where, a in zip(tables, on, wheres, args):
        read.append(_read_time(t, name, where, func, a))
    head = " and ".join(dict.fromkeys(args))  # "on", or "on and created_at"
    several = len(set(args)) > 1

    def desc(texts):
        return ", ".join(f"{x} in {w} ({a} {n!r})" if several else f"{x} in {w}"
                         for x, w, a, n in zip(texts, wheres, args, on))

    kinds = {r[0] for r in read}
    if len(kinds) > 1:
        raise TypeError(f"{func}: {head} columns hold datetimes in some tables and integers in others "
                        f"({desc([r[0] for r in read])}); use one kind of time in every table")
    kind = kinds.pop()
    if kind == "integer":
        return [r[3] for r in read], [r[4] for r in read], TimeSpec("integer")
    zones = {r[2] for r in read}
    if len(zones) > 1:
        raise ValueError(f"{func}: {head} columns have different time zones ({desc([r[2] or 'naive' for r in read])}); "
                         f"convert them to one zone first (tz_convert), or all to naive times")
    unit = max((r[1] for r in read), key=lambda u: _UNITS[u])
    out = []
    for (k, u, tz, ints, valid), where, name, a in zip(read, wheres, on, args):
        factor = _UNITS[unit] // _UNITS[u]
        if factor != 1:
            limit = _INT64_MAX // factor
            v = ints if valid is None else ints[valid]
            if v.size and (v.max() > limit or v.min() < -limit):
                raise ValueError(f"{func}: {a} column {name!r} of {where} cannot be converted from {u} to {unit} "
                                 f"(the finest unit among the tables) without overflow")
            ints = ints * np.int64(factor)
        out.append(ints)
    return out, [r[4] for r in read], TimeSpec("datetime", unit, zones.pop())
