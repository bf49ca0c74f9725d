"""mlsd.features over Dask DataFrames: rows shuffled by entity, then the single-machine join per
partition."""

from __future__ import annotations

import functools
from numbers import Integral
from typing import Any

import numpy as np

from .. import features as FE
from ..features import _partials as FE_partials
from .._params import Check, Interval, validate_params
from ._common import in_worker, require

__all__ = ["point_in_time_join"]

_FUNC = "mlsd.dask.point_in_time_join"
_ROW = "_mlsd_row"
_PART = "_mlsd_part"


def _is_dask_frame(x: Any) -> bool:
    return isinstance(x, require("dask.dataframe").DataFrame)


def _is_frames(x: Any) -> bool:
    return _is_dask_frame(x) or (isinstance(x, (list, tuple)) and len(x) > 0 and all(_is_dask_frame(v) for v in x))


def _is_names(x: Any) -> bool:
    return isinstance(x, str) or (isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(v, str) for v in x))


def _names(x: Any) -> list[str]:
    return [x] if isinstance(x, str) else list(x)


def _with_part(df, by, where, first_row=None):
    """``df`` with the hash of each row's key (the features family's rule: keys the join treats as
    one get one hash in every table, whatever their representation) for the shuffle, and with
    the spine's row numbers from ``first_row``."""
    out = df.copy()
    out[_PART] = FE_partials.key_hash(df, by, where, _FUNC).view(np.int64)
    if first_row is not None:
        out[_ROW] = np.arange(first_row, first_row + len(df), dtype=np.int64)
    return out


def _unknown_categoricals(meta, by) -> list:
    """The key columns of ``meta`` that are categoricals of categories Dask does not know."""
    import pandas as pd

    has_known = require("dask.dataframe.utils").has_known_categories
    once = meta.columns.value_counts()
    return [c for c in dict.fromkeys(by) if once.get(c, 0) == 1 and isinstance(meta[c].dtype, pd.CategoricalDtype)
            and not has_known(meta[c])]


def key_meta(frame, by):
    """The meta of a Dask DataFrame for checks on its key columns ``by``: a categorical whose
    categories Dask does not know (its meta holds a placeholder string category) becomes an empty
    object column, whose kind is compared over the partitions instead (:func:`kinds_checked`)."""
    import pandas as pd

    meta = frame._meta
    unknown = _unknown_categoricals(meta, by)
    return meta.assign(**{c: pd.Series([], dtype=object, index=meta.index) for c in unknown}) if unknown else meta


def with_dtypes_of(out, frame, by):
    """``out``, a result meta computed from :func:`key_meta` of ``frame``, with the dtypes of the
    key columns that :func:`key_meta` changed back."""
    unknown = [c for c in _unknown_categoricals(frame._meta, by) if c in out.columns]
    return out.astype({c: frame._meta[c].dtype for c in unknown}) if unknown else out


def _kinds_row(df, by, where, func):
    """One row: ``where`` and the kind of each key column of the partition ``df``."""
    import pandas as pd

    return pd.DataFrame([[where, *FE_partials.key_kinds(df, by, where, func)]], columns=_kind_columns(by),
                        dtype=object)


def _kind_columns(by) -> list[str]:
    return ["where", *(f"kind{j}" for j in range(len(by)))]


def _same_kinds(rows, by, func):
    """TypeError, as on one machine, when partitions hold keys of different kinds in one key column
    (``rows``: the partitions' :func:`_kinds_row`)."""
    for j, name in enumerate(by):
        seen: dict[str, str] = {}
        for where, kind in zip(rows["where"].tolist(), rows[f"kind{j}"].tolist()):
            if kind != "null":
                seen.setdefault(kind, where)
        if len(seen) > 1:
            desc = ", ".join(f"{k} in {w}" for k, w in seen.items())
            raise TypeError(f"{func}: by column {name!r} holds keys of different types across the tables ({desc}); "
                            f"convert them to one type first")
    return True


def _rows(rows):
    return rows


def kinds_checked(func, frames, by, wheres):
    """A Dask Scalar that raises TypeError if the key columns of the Dask DataFrames ``frames`` hold
    keys of different kinds (integers in one partition, strings in another), or None when their
    metas already tell the kinds (checked on the client).  Object columns have empty metas; without
    this check, parts of different kinds could land in partitions that never meet and match nothing
    silently, where the single-machine function raises.  Pass it to the tasks that must wait for it
    as a positional argument: it is then part of the same expression as the frames, so Dask computes
    each of their partitions once for the check and the shuffle alike (a Delayed made with
    ``to_delayed()`` is optimised apart, and its tasks read the inputs a second time)."""
    import pandas as pd

    metas = [FE_partials.key_kinds(key_meta(f, by), by, w, func) for f, w in zip(frames, wheres)]
    if all(k != "null" for kinds in metas for k in kinds):
        return None
    dd = require("dask.dataframe")
    row_meta = pd.DataFrame({c: pd.Series([], dtype=object) for c in _kind_columns(by)})
    rows = dd.concat([f.map_partitions(_kinds_row, by, w, func, meta=row_meta) for f, w in zip(frames, wheres)])
    return rows.reduction(chunk=_rows, combine=_rows, aggregate=functools.partial(_same_kinds, by=by, func=func),
                          split_every=False, meta=True)


def _join_part(spine, *tables, kwargs, prefixes):
    tables = tables[:len(prefixes)]  # then kinds_checked's result, if any: a dependency only (it raised if wrong)
    feats = [FE.FeatureTable(t.drop(columns=[_PART]), prefix=p) for t, p in zip(tables, prefixes)]
    return FE.point_in_time_join(spine.drop(columns=[_PART]), feats, **kwargs)


@validate_params(spine=[Check(_is_dask_frame, "a Dask DataFrame (use mlsd.features.point_in_time_join for "
                                              "in-memory tables)")],
                 features=[Check(_is_frames, "a Dask DataFrame or a non-empty list of Dask DataFrames")],
                 by=[Check(_is_names, "a column name (str) or a non-empty list of column names")], on=[str],
                 ttl=[None, str, Interval(Integral, 0, None), Check(lambda x: hasattr(x, "total_seconds") or
                                                                    isinstance(x, np.timedelta64), "a timedelta")],
                 created_at=[None, str], allow_exact_matches=["boolean"],
                 prefix=[None, Check(_is_names, "a str or a list of str (one per feature table)")],
                 columns=[None, Check(_is_names, "a column name or a non-empty list of column names")],
                 time_column=[None, str], npartitions=[None, Interval(Integral, 1, None)])
def point_in_time_join(spine, features, *, by, on, ttl=None, created_at=None, allow_exact_matches=True,
                       prefix=None, columns=None, time_column=None, npartitions=None):
    """:func:`mlsd.features.point_in_time_join` over Dask DataFrames.

    The spine and each feature table are shuffled by entity (a hash of the key values, the same in
    every table), so that each entity's events and feature rows share a partition number; then each
    partition is joined by the single-machine kernel on the worker that holds it, and the rows are
    put back in the spine's order (a distributed sort on the spine's row number).  The result
    equals the single-machine join of the concatenated frames, row for row, with the spine's row
    number (0, 1, ... in partition order) as its index.

    Parameters are those of :func:`mlsd.features.point_in_time_join` (keys and times checked on
    the frames' meta before anything runs), except: ``features`` is a Dask DataFrame or a list of
    them sharing the join's arguments; ``prefix`` may be a list with one prefix per table;
    ``npartitions`` is the number of entity partitions (default: the most partitions among the
    inputs).  Counting the spine's rows per partition (for the row numbers) computes the spine's
    partition lengths once.
    """
    dd = require("dask.dataframe")
    delayed = require("dask").delayed
    dask = require("dask")
    tables = list(features) if isinstance(features, (list, tuple)) else [features]
    if isinstance(prefix, (list, tuple)):
        if len(prefix) != len(tables):
            raise ValueError(f"{_FUNC}: prefix has {len(prefix)} entries for {len(tables)} feature tables")
        prefixes = list(prefix)
    else:
        prefixes = [prefix] * len(tables)
    by = _names(by)
    kwargs = dict(by=by, on=on, ttl=ttl, created_at=created_at, allow_exact_matches=allow_exact_matches,
                  columns=columns, time_column=time_column)
    # The single-machine join on the (empty) metas: checks columns, key and time types, ttl and
    # output names on the client, with its own messages, and gives the result's meta.
    for name in (_ROW, _PART):
        if name in spine.columns:
            raise ValueError(f"{_FUNC}: spine has a column named {name!r}, which mlsd.dask uses itself")
    metas = [FE.FeatureTable(key_meta(t, by), prefix=p) for t, p in zip(tables, prefixes)]
    metas = metas if isinstance(features, (list, tuple)) else metas[0]  # tables named as on one machine
    spine_meta = key_meta(spine, by)
    try:
        FE.point_in_time_join(spine_meta, metas, **kwargs)  # the checks, on the spine's own columns
        meta = FE.point_in_time_join(spine_meta.assign(**{_ROW: np.zeros(0, np.int64)}), metas, **kwargs)
    except (TypeError, ValueError) as e:
        raise type(e)(str(e).replace("point_in_time_join:", f"{_FUNC}:", 1)) from None
    meta = with_dtypes_of(meta, spine, by)
    n_parts = int(npartitions or max(spine.npartitions, *(t.npartitions for t in tables)))

    lengths = dask.compute(*[delayed(len)(p) for p in spine.to_delayed()])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    spine_meta = _with_part(spine._meta, by, "spine", first_row=0)
    numbered = dd.from_delayed([delayed(_with_part, pure=True)(p, by, "spine", int(o))
                                for p, o in zip(spine.to_delayed(), offsets)], meta=spine_meta, verify_meta=False)
    # Dask's shuffle sends a row to partition hash(_PART) % n_parts: equal keys, equal partitions
    spine_s = numbered.shuffle(on=_PART, npartitions=n_parts, shuffle_method="tasks")
    wheres = [f"features[{i}]" for i in range(len(tables))] if isinstance(features, (list, tuple)) else ["features"]
    tagged = [t.map_partitions(_with_part, by, w, meta=_with_part(t._meta, by, w)) for t, w in zip(tables, wheres)]
    tables_s = [t.shuffle(on=_PART, npartitions=n_parts, shuffle_method="tasks") for t in tagged]
    # every join task waits for the check of the key kinds over all partitions (of object columns)
    checked = kinds_checked(_FUNC, [numbered, *tagged], by, ["spine", *wheres])
    joined = dd.map_partitions(in_worker(_join_part), spine_s, *tables_s, *([] if checked is None else [checked]),
                               kwargs=kwargs, prefixes=prefixes, meta=meta, align_dataframes=False, enforce_metadata=False)
    # The divisions of the sort are given, not computed: the row numbers are 0..n-1, known here.
    # Left to set_index, they are computed (a quantile graph sent to the scheduler) while Dask's
    # optimizer holds functools.cached_property's lock on Expr.divisions; under Python < 3.12 that
    # lock is one per class, and a LocalCluster's scheduler, materialising the graph on a thread of
    # this process, waits for the same lock: a deadlock (the stall on distributed clusters).
    n_rows = int(np.sum(lengths))
    out = joined.set_index(_ROW, sorted=False, divisions=_row_divisions(n_rows, n_parts), shuffle_method="tasks")
    return out.rename_axis(None)


def _row_divisions(n_rows: int, n_parts: int) -> tuple[int, ...]:
    """Divisions splitting the row numbers 0..n_rows-1 into at most n_parts nearly equal ranges
    (at least one partition, also for no rows)."""
    if n_rows <= 1:
        return (0, 0)
    cuts = np.unique(np.linspace(0, n_rows - 1, min(n_parts, n_rows - 1) + 1).round().astype(np.int64))
    return tuple(int(c) for c in cuts)
