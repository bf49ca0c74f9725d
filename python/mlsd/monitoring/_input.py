"""Tables in, columns out: pandas and Polars DataFrames, pyarrow Tables, dicts of 1-D arrays and
2-D NumPy arrays become an ordered ``{name: ndarray}`` with each column's kind decided once.

A column is **numeric** when its dtype is integer or float (NaN and pandas' NA are missing), and
**categorical** when it holds strings, booleans or a pandas Categorical (None, NaN and NA are
missing), or when it is named in ``categorical=``.  A column mixing kinds (strings and numbers, say)
is an error that names it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import InvalidParameterError

NUMERIC, CATEGORICAL = "numeric", "categorical"


def is_table(x: Any) -> bool:
    """Whether x is a table drift accepts (the cheap check the declarations run)."""
    if isinstance(x, dict):
        return all(isinstance(k, (str, int)) for k in x)
    if isinstance(x, np.ndarray):
        return x.ndim == 2
    mod = type(x).__module__.split(".")[0]
    return mod in ("pandas", "pyarrow", "polars") and hasattr(x, "columns") and hasattr(x, "shape")


TABLE_DESCRIPTION = "a table: a pandas DataFrame, a pyarrow Table, a dict of 1-D arrays or a 2-D NumPy array"


def _column_values(x: Any) -> dict:
    mod = type(x).__module__.split(".")[0]
    if isinstance(x, np.ndarray):
        return {j: x[:, j] for j in range(x.shape[1])}
    if isinstance(x, dict):
        return dict(x)
    if mod == "pyarrow":
        return {name: x.column(name).to_numpy(zero_copy_only=False) for name in x.column_names}
    if mod == "polars":
        return {name: x.get_column(name).to_numpy() for name in x.columns}
    out = {}
    for name in x.columns:
        s = x[name]
        dtype = s.dtype
        if getattr(dtype, "kind", None) in "iuf" and not hasattr(dtype, "na_value"):
            out[name] = s.to_numpy()
        elif str(dtype) in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
                            "Float32", "Float64", "int64[pyarrow]", "double[pyarrow]"):
            out[name] = s.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            out[name] = s.to_numpy(dtype=object) if str(dtype) not in ("bool",) else s.to_numpy()
    return out


def _categorical_dtype_columns(x: Any) -> tuple:
    """The columns of a pandas DataFrame whose dtype is Categorical: categorical whatever their
    categories (a Categorical of numbers would otherwise read as numeric)."""
    if type(x).__module__.split(".")[0] != "pandas":
        return ()
    return tuple(name for name in x.columns if str(x[name].dtype) == "category")


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or type(v).__name__ in ("NAType", "NaTType")


def _object_kind(a: np.ndarray, func: str, side: str, name: Any) -> tuple[str, np.ndarray]:
    """An object column is categorical (str or bool values) or numeric (int/float values)."""
    kinds = set()
    for v in a:
        if _is_missing(v):
            continue
        if isinstance(v, (str, np.str_)):
            kinds.add("str")
        elif isinstance(v, (bool, np.bool_)):
            kinds.add("bool")
        elif isinstance(v, (int, float, np.integer, np.floating)):
            kinds.add("num")
        else:
            kinds.add(type(v).__name__)
        if len(kinds) > 1:
            break
    if len(kinds) > 1 or (kinds and kinds.pop() not in ("str", "bool", "num")):
        raise InvalidParameterError(
            f"The '{side}' parameter of {func} must hold one kind of value per column. Column {name!r} mixes "
            f"value types; convert it to strings (categorical) or numbers first.")
    return CATEGORICAL, a


def read_table(x: Any, func: str, side: str, columns=None, categorical=()) -> dict[Any, tuple[str, np.ndarray]]:
    """``{name: (kind, values)}`` for the selected columns, in their table order (or ``columns``')."""
    values = _column_values(x)
    if columns is not None:
        if len(columns) == 0:
            raise InvalidParameterError(f"The 'columns' parameter of {func} must name at least one column. Got [].")
        missing = [c for c in columns if c not in values]
        if missing:
            if side == "reference":  # the columns asked for are not there
                raise InvalidParameterError(f"The 'columns' parameter of {func} names column(s) {missing!r} that "
                                            f"the reference does not have.")
            raise InvalidParameterError(f"The '{side}' parameter of {func} has no column(s) {missing!r}.")
        values = {c: values[c] for c in columns}
    if not values:
        raise InvalidParameterError(f"The '{side}' parameter of {func} must hold at least one column.")
    unknown = [c for c in categorical if c not in values]
    if unknown:
        raise InvalidParameterError(f"The 'categorical' parameter of {func} names column(s) {unknown!r} that are "
                                    f"not among the columns tested.")
    categorical = tuple(categorical) + tuple(c for c in _categorical_dtype_columns(x) if c in values)
    out = {}
    n = None
    for name, v in values.items():
        a = np.asarray(v)
        if a.ndim != 1:
            raise InvalidParameterError(f"The '{side}' parameter of {func} must hold 1-D columns; column {name!r} "
                                        f"has shape {a.shape}.")
        if n is not None and a.shape[0] != n:
            raise InvalidParameterError(f"The '{side}' parameter of {func} must hold columns of one length; column "
                                        f"{name!r} has {a.shape[0]} rows, the first column {n}.")
        n = a.shape[0]
        if name in categorical:
            kind = CATEGORICAL
            a = a.astype(object) if a.dtype.kind == "f" else a  # NaN stays missing
        elif a.dtype.kind in "iuf":
            kind = NUMERIC
            a = np.ascontiguousarray(a, dtype=np.float64)
        elif a.dtype.kind in "bUS":
            kind = CATEGORICAL
        elif a.dtype.kind == "O":
            kind, a = _object_kind(a, func, side, name)
            if kind == CATEGORICAL and len(a) and all(
                    isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
                    or _is_missing(v) for v in a):
                kind, a = NUMERIC, np.array([np.nan if _is_missing(v) else v for v in a], dtype=np.float64)
        else:
            raise InvalidParameterError(f"The '{side}' parameter of {func} has column {name!r} of dtype {a.dtype}, "
                                        f"which is neither numeric nor categorical.")
        out[name] = (kind, a)
    return out


def category_counts(a: np.ndarray, func: str, name: Any) -> tuple[list, np.ndarray, int]:
    """(categories sorted, their counts, number missing) of a categorical column."""
    if a.dtype.kind == "O":
        mask = np.fromiter((not _is_missing(v) for v in a), dtype=bool, count=a.shape[0])
        kept = a[mask]
        kept = np.array([v.item() if isinstance(v, np.generic) else v for v in kept], dtype=object)
    else:
        mask = np.ones(a.shape[0], dtype=bool)
        kept = a
    try:
        cats, counts = np.unique(kept, return_counts=True)
    except TypeError:
        raise InvalidParameterError(f"{func}: column {name!r} mixes value types that cannot be ordered; "
                                    f"convert it to strings first.") from None
    cats = [c.item() if isinstance(c, np.generic) else c for c in cats]
    # one value, one category: a code column is float in a batch with NaN and int in one without
    cats = [int(c) if isinstance(c, float) and c.is_integer() else c for c in cats]
    return cats, counts.astype(np.int64), int(a.shape[0] - mask.sum())


def category_key(v: Any) -> tuple:
    """The order of categories: numbers by value (ints and floats together), then by type."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (0, "", v)
    return (1, type(v).__name__, v)
