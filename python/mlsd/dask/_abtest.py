"""A/B tests over Dask collections: :class:`mlsd.abtest.Stats` per partition, tree-reduced, for
every test in :mod:`mlsd.abtest`; and the Poisson bootstrap with weights keyed by row, whose
interval equals :func:`mlsd.abtest.bootstrap` on the concatenated rows.

Dask is imported when a function is called, never when this module is imported.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Mapping
from numbers import Integral
from typing import Any, Sequence

import numpy as np

from .._params import Check, Interval, Options
from ..abtest import BootstrapResult, Stats
from ..abtest._partials import (
    SAMPLE_PARAMS,
    InvalidParameterError,
    arm_columns,
    as_float_array,
    as_keys,
    bootstrap_sums,
    centred_moments,
    finish,
    merge_moments,
    ratio_loo_deviation,
    statistic_from_sums,
)
from ._common import aligned_partitions, compute, in_worker, is_dask_collection, require, tree_reduce
from ._common import declared as _declared

__all__ = ["stats", "stats_by", "bootstrap"]

_COLUMN_ROLES = ("denominator", "covariate", "covariate_denominator")

# Dask collections are checked by type (np.asarray would compute them).
COLUMN = Check(is_dask_collection, "a Dask array or Dask Series")
SPLIT_EVERY = [Interval(Integral, 2, None)]
CLIENT = [None, Check(lambda c: callable(getattr(c, "compute", None)), "a distributed.Client")]


def _is_frame(x: Any) -> bool:
    return is_dask_collection(x) and isinstance(x, require("dask.dataframe").DataFrame)


def _names(x: Any) -> bool:
    return not isinstance(x, (str, bytes, Mapping)) and all(isinstance(v, str) for v in x)


NAMES = [str, Check(_names, "a sequence of column names")]


# ---- Stats ---------------------------------------------------------------------------------------

@_declared("mlsd.dask.stats", y=[COLUMN], denominator=[None, COLUMN], covariate=[None, COLUMN],
                 covariate_denominator=[None, COLUMN], split_every=SPLIT_EVERY, client=CLIENT)
def stats(y: Any, *, denominator: Any = None, covariate: Any = None, covariate_denominator: Any = None,
          split_every: int = 8, client: Any = None) -> Stats:
    """:meth:`mlsd.abtest.Stats.from_arrays` over 1-D Dask arrays or Dask Series (columns of one
    DataFrame), equal to it on the concatenated rows up to rounding.

    Each worker summarises its partitions with the C++ kernel; the per-partition Stats are merged
    by Chan's formula in a tree of fan-in ``split_every``.  Feed the result (one per arm) to any
    test of :mod:`mlsd.abtest` (``ttest_ind``, ``compare`` with CUPED or ratio metrics,
    ``analyze``...); :func:`stats_by` does all arms in one pass.

    Network: one Stats per partition and per merge, ``1 + k + k^2`` doubles for ``k`` columns
    (at most 21), never rows.  Dask arrays with chunks different from ``y``'s are rechunked to
    ``y``'s chunks first, which does move rows.

    Parameters
    ----------
    y, denominator, covariate, covariate_denominator : Dask array or Dask Series, 1-D
        The columns of :meth:`~mlsd.abtest.Stats.from_arrays`, with the same partitions.
    split_every : int >= 2, default 8
        Fan-in of the merge tree.
    client : distributed.Client, optional
        Default: Dask's current scheduler (the default client, when one exists).

    Returns
    -------
    mlsd.abtest.Stats
    """
    func = "mlsd.dask.stats"
    if covariate_denominator is not None and covariate is None:
        raise ValueError(f"{func}: covariate_denominator needs a covariate")
    parts = aligned_partitions(func, y=y, denominator=denominator, covariate=covariate,
                               covariate_denominator=covariate_denominator)
    task = require("dask").delayed(in_worker(_partition_stats), pure=True)
    states = [task(*columns, func=func) for columns in parts]
    return compute(tree_reduce(states, _sum_states, split_every, name="mlsd-stats"), client)


@_declared("mlsd.dask.stats_by", df=[Check(_is_frame, "a Dask DataFrame")], by=[Check(lambda c: hash(c) is not None, "a column name")],
                 y=NAMES, denominator=[None, *NAMES], covariate=[None, *NAMES], covariate_denominator=[None, *NAMES],
                 split_every=SPLIT_EVERY, client=CLIENT)
def stats_by(df: Any, by: str, y: str | Sequence[str], *, denominator: Any = None, covariate: Any = None,
             covariate_denominator: Any = None, split_every: int = 8, client: Any = None) -> dict:
    """The :class:`~mlsd.abtest.Stats` of every arm of an experiment in one pass over a Dask
    DataFrame: ``{arm: Stats}``, ready for ``mlsd.abtest.analyze(result, control=...)``.

    Each partition is grouped by ``by`` on its worker and summarised per arm; the per-partition
    dicts are merged (Stats added per arm) in a tree of fan-in ``split_every``.  Equal, up to
    rounding, to ``Stats.from_arrays`` on each arm's rows of the concatenated frame.

    Network: per partition and per merge, one Stats per arm present, i.e. ``n_arms x n_metrics x
    (1 + k + k^2)`` doubles; never rows.

    Parameters
    ----------
    df : Dask DataFrame
    by : str
        The column naming each row's arm (variant).  It must have no missing values.
    y : str or sequence of str
        The metric column(s).  With a sequence, each arm's Stats is batched over the metrics
        (shape ``(len(y),)``, in this order), as ``analyze(..., metrics=y)`` expects.
    denominator, covariate, covariate_denominator : str or sequence of str or None, optional
        Column(s) playing that role for each metric (a sequence has one entry per metric; a
        single name applies to every metric).  Batched metrics must have the same roles.
    split_every : int >= 2, default 8
    client : distributed.Client, optional

    Returns
    -------
    dict of arm -> mlsd.abtest.Stats
        Arms in sorted order (first-seen order when they do not sort).
    """
    func = "mlsd.dask.stats_by"
    metrics = [y] if isinstance(y, str) else list(y)
    if not metrics or not all(isinstance(m, str) for m in metrics):
        raise InvalidParameterError(f"{func}: y must be a column name or a non-empty sequence of column names; "
                                    f"got {y!r}")
    roles = {"y": metrics}
    for role, value in zip(_COLUMN_ROLES, (denominator, covariate, covariate_denominator)):
        if value is None:
            continue
        names = [value] * len(metrics) if isinstance(value, str) else list(value)
        if len(names) != len(metrics) or not all(isinstance(v, str) for v in names):
            raise InvalidParameterError(f"{func}: {role} must be a column name or one column name per metric "
                                        f"({len(metrics)}); got {value!r}")
        roles[role] = names
    if "covariate_denominator" in roles and "covariate" not in roles:
        raise ValueError(f"{func}: covariate_denominator needs a covariate")
    for role, names in [("by", [by]), *roles.items()]:
        missing = [c for c in names if c not in df.columns]
        if missing:
            raise KeyError(f"{func}: {role}: no column {missing[0]!r} in df (columns: {list(df.columns)})")
    used = list(dict.fromkeys([by, *(c for names in roles.values() for c in names)]))
    task = require("dask").delayed(in_worker(_partition_stats_by), pure=True)
    states = [task(part, by, roles, not isinstance(y, str), func) for part in df[used].to_delayed()]
    merged = compute(tree_reduce(states, _merge_arm_dicts, split_every, name="mlsd-stats-by"), client)
    try:
        return dict(sorted(merged.items()))
    except TypeError:
        return merged


def _partition_stats(y, denominator, covariate, covariate_denominator, *, func: str) -> Stats:
    try:
        return Stats.from_arrays(y, denominator=denominator, covariate=covariate,
                                 covariate_denominator=covariate_denominator)
    except ValueError as e:
        raise ValueError(f"{func}: {str(e).removeprefix('Stats.from_arrays: ')}") from None


def _partition_stats_by(pdf, by: str, roles: dict, batched: bool, func: str) -> dict:
    if pdf[by].isna().any():
        raise ValueError(f"{func}: by: column {by!r} has missing values; drop or fill them first")
    out = {}
    for arm, rows in pdf.groupby(by, sort=False, observed=True).indices.items():
        per_metric = [_partition_stats(*(None if r not in roles else pdf[roles[r][j]].to_numpy()[rows]
                                         for r in ("y", *_COLUMN_ROLES)), func=func)
                      for j in range(len(roles["y"]))]
        out[arm.item() if isinstance(arm, np.generic) else arm] = Stats.stack(per_metric) if batched else per_metric[0]
    return out


def _sum_states(states: list):
    return functools.reduce(operator.add, states)


def _merge_arm_dicts(dicts: list[dict]) -> dict:
    out: dict = {}
    for d in dicts:
        for arm, s in d.items():
            out[arm] = out[arm] + s if arm in out else s
    return out


# ---- bootstrap -----------------------------------------------------------------------------------

_SAMPLE = [COLUMN, Mapping]


@_declared("mlsd.dask.bootstrap", data=_SAMPLE, control=[None, *_SAMPLE], statistic=[Options(("mean", "ratio", "median", "quantile"))],
                 split_every=SPLIT_EVERY, client=CLIENT, **SAMPLE_PARAMS)
def bootstrap(data: Any, control: Any = None, *, statistic: str = "mean", method: str = "bca",
              n_resamples: int = 2000, alpha: float = 0.05, seed: int = 0, split_every: int = 8,
              client: Any = None) -> BootstrapResult:
    """:func:`mlsd.abtest.bootstrap` over Dask arrays or Dask Series: the same streaming Poisson
    bootstrap, with the same interval as on the concatenated rows whatever the partitioning and
    the number of workers.

    Resample b gives a row the Poisson(1) weight of a counter-based generator keyed by (seed,
    sample, b, row key).  The row key is the row's global position in its sample (0, 1, ...,
    as on one machine), or the sample's "key" column (e.g. a unit id) when given.  So every row
    gets the weights it gets on one machine, and the per-resample sums, added over partitions,
    equal the single-machine sums up to rounding (weight totals exactly).

    What runs where, and what moves over the network:

    * Global row positions need each partition's length: known up front for Dask arrays with
      known chunks; otherwise a first pass counts the rows of every partition (one integer each).
      A "key" column needs no such pass.
    * Per partition, on its worker: ``2 x n_resamples`` doubles (``3 x`` for ratios) of resample
      sums, plus a few moments; merged by addition in a tree of fan-in ``split_every``.  For 2,000
      resamples that is 32 or 48 kB per partition and per merge, whatever the partition size.
    * ``statistic="ratio"`` with ``method="bca"`` reads the data once more: the jackknife
      acceleration needs the global ratio first (per partition: four moments of the
      leave-one-out ratios).  ``persist()`` the data if it is expensive to produce.

    Parameters
    ----------
    data : Dask array or Dask Series (1-D), or mapping of role -> one of those
        The sample (the treatment when ``control`` is given).  A mapping holds "y", a
        "denominator" for (and only for) ``statistic="ratio"``, and optionally "key": integer
        row keys, partitioned like "y" (rows sharing a key share their weights).
    control : same type as ``data``, optional
        If given, the statistic is ``statistic(data) - statistic(control)``.
    statistic : {"mean", "ratio"}
        "median" and "quantile" raise NotImplementedError: their resamples need the whole sample
        sorted (see below).
    method, n_resamples, alpha, seed
        As in :func:`mlsd.abtest.bootstrap`.
    split_every : int >= 2, default 8
    client : distributed.Client, optional

    Returns
    -------
    mlsd.abtest.BootstrapResult
    """
    func = "mlsd.dask.bootstrap"
    if statistic in ("median", "quantile"):
        raise NotImplementedError(
            f"{func}: statistic={statistic!r} is not available on Dask: a weighted quantile of each "
            f"resample needs the whole sample in sorted order, which a per-partition sum cannot "
            f"give.  Bootstrap the mean or a ratio here, or compute the column (it is one array per "
            f"arm) and call mlsd.abtest.bootstrap(x.compute(), statistic={statistic!r}) on one machine "
            f"(with the same 'key' column, for the same resamples).")
    samples = [("data", data)] + ([("control", control)] if control is not None else [])
    arms = [_DaskArm(name, arm_columns(x, name, statistic, func), func) for name, x in samples]
    _set_first_rows(arms, client)
    dask = require("dask")
    task = dask.delayed(in_worker(_partition_sums), pure=True)
    reduced = compute(tuple(
        tree_reduce([task(*cols, first_row, i, n_resamples, seed, stream, arm.name, func)
                     for i, (cols, first_row) in enumerate(zip(arm.parts, arm.first_rows))],
                    _merge_sums_states, split_every, name="mlsd-bootstrap")
        for stream, arm in enumerate(arms)), client)
    for arm, state in zip(arms, reduced):
        arm.summarise(state, statistic)
    if method == "bca" and statistic == "ratio":
        loo = dask.delayed(in_worker(_partition_loo_moments), pure=True)
        moments = compute(tuple(
            tree_reduce([loo(cols[0], cols[1], arm.estimate, arm.d_total, arm.name, func) for cols in arm.parts],
                        _merge_moments_states, split_every, name="mlsd-bootstrap-jackknife")
            for arm in arms), client)
        for arm, m in zip(arms, moments):
            # U_i = (n - 1)(mean(t) - t_i) for t_i = theta_(i) - ratio
            arm.jackknife = ((arm.n - 1) ** 2 * m[2], -(arm.n - 1) ** 3 * m[3])
    return finish(arms, statistic=statistic, method=method, alpha=alpha, func=func)


class _DaskArm:
    """One sample on Dask: its aligned partitions, then (after the reduction) what
    :func:`mlsd.abtest._partials.finish` needs: n, estimate, resampled, jackknife_sums()."""

    def __init__(self, name: str, columns: Mapping[str, Any], func: str):
        self.name = name
        self.keyed = columns.get("key") is not None
        self.y = columns["y"]
        self.parts = aligned_partitions(f"{func}: {name}", y=columns["y"], denominator=columns.get("denominator"),
                                        key=columns.get("key"))
        self.first_rows: list[int] = [0] * len(self.parts)
        self.jackknife: tuple[float, float] | None = None

    def known_lengths(self) -> list[int] | None:
        chunks = getattr(self.y, "chunks", None)
        if chunks is not None and not any(math.isnan(c) for c in chunks[0]):
            return [int(c) for c in chunks[0]]
        return None

    def summarise(self, state: dict, statistic: str) -> None:
        n, mean = state["moments"][0], state["moments"][1]
        if n < 2:
            raise ValueError(f"mlsd.dask.bootstrap: {self.name} needs at least two observations; got {int(n)}")
        sums = state["sums"]
        self.n = int(n)
        self.moments = state["moments"]
        if statistic == "ratio":
            self.d_total = float(state["d_total"])
            if self.d_total == 0:
                raise ValueError(f"mlsd.dask.bootstrap: {self.name}: the denominator sums to zero")
            self.estimate = float(state["y_total"] / self.d_total)
            self.resampled = statistic_from_sums(sums[0], sums[1], sums[2])
        else:
            self.estimate = float(mean)
            self.resampled = statistic_from_sums(sums[0], sums[1], None)

    def jackknife_sums(self) -> tuple[float, float]:
        if self.jackknife is not None:
            return self.jackknife
        return float(self.moments[2]), float(self.moments[3])  # the mean's U_i = y_i - mean


def _set_first_rows(arms: list[_DaskArm], client: Any) -> None:
    """Global row positions: each partition's first row, from the partition lengths (one cheap pass
    over the partitions whose lengths Dask does not know)."""
    unknown = [a for a in arms if not a.keyed and a.known_lengths() is None]
    counted = []
    if unknown:
        count = require("dask").delayed(in_worker(len), pure=True)
        counted = list(compute(tuple(count(cols[0]) for a in unknown for cols in a.parts), client))
    for a in arms:
        if a.keyed:
            continue
        if a in unknown:
            lengths, counted = counted[:len(a.parts)], counted[len(a.parts):]
        else:
            lengths = a.known_lengths()
        a.first_rows = [int(s) for s in np.cumsum([0, *lengths[:-1]])]


def _partition_sums(y, d, key, first_row: int, index: int, n_resamples: int, seed: int, stream: int,
                    name: str, func: str) -> dict:
    y = _finite(y, "y", name, index, func)
    d = None if d is None else _finite(d, "denominator", name, index, func)
    keys = None if key is None else as_keys(key, name, func)
    if keys is not None and keys.shape != y.shape:
        raise ValueError(f"{func}: {name}: key has {keys.shape[0]} rows but y has {y.shape[0]} in partition {index}")
    sums = bootstrap_sums(y, d, keys, n_resamples=n_resamples, seed=seed, stream=stream, first_row=first_row,
                          func=func)
    return {"sums": sums, "moments": centred_moments(y), "y_total": float(np.sum(y)),
            "d_total": 0.0 if d is None else float(np.sum(d))}


def _partition_loo_moments(y, d, ratio: float, d_total: float, name: str, func: str) -> np.ndarray:
    y = as_float_array(y, "y", func)
    d = as_float_array(d, "denominator", func)
    try:
        return centred_moments(ratio_loo_deviation(y, d, ratio, d_total))
    except ValueError as e:
        raise ValueError(f"{func}: {name}: {str(e).removeprefix('bootstrap: ')}") from None


def _finite(x, role: str, name: str, index: int, func: str) -> np.ndarray:
    arr = as_float_array(x, role, func)
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{func}: {name}: {role} must be finite; found {arr[bad]} at row {bad} of partition {index}")
    return arr


def _merge_sums_states(states: list[dict]) -> dict:
    return {"sums": functools.reduce(operator.add, [s["sums"] for s in states]),
            "moments": _merge_moments_states([s["moments"] for s in states]),
            "y_total": sum(s["y_total"] for s in states), "d_total": sum(s["d_total"] for s in states)}


def _merge_moments_states(states: list[np.ndarray]) -> np.ndarray:
    return functools.reduce(merge_moments, states)
