"""The common bad-input test of the one contract: EVERY public function and method of every family
(metrics, hashing, retrieval, abtest, dask) declares its parameters (``@validate_params``), and
for each parameter a table of bad values by kind -- None, str, empty, 0-d, 3-D, NaN, inf, object
and complex dtypes, mismatched lengths, ints out of range, huge ints for floats, unknown options --
raises ValueError or TypeError (or a subclass) whose message names the function and the argument:
never another exception type, never a crash.  States' ``from_dict``/``merge`` are fed wrong types
and wrong field values, and every numeric array argument values its kernel's dtype cannot hold
(narrowing: beyond float32, a uint64 above int64): refused by name, or taken without a warning.

Each entry of ``CASES`` is one public callable with a valid call; the test swaps one argument at a
time for each bad value of its kind.  ``accepts`` lists, per argument, the bad-value kinds that the
function accepts on purpose (with the reason next to it): those values must then NOT raise.
"""

from __future__ import annotations

import inspect
import math
import warnings
from numbers import Integral, Real

import numpy as np
import pytest

import mlsd
import mlsd.abtest as A
import mlsd.features as FE
import mlsd.hashing as H
import mlsd.metrics as M
import mlsd.monitoring as MON
import mlsd.retrieval as R
from mlsd._params import ArrayLike, Check, Interval, Options

Y = np.array([0, 1, 0, 1, 1, 0, 1, 0])
S = np.array([0.1, 0.8, 0.3, 0.6, 0.9, 0.2, 0.7, 0.4])
G = np.array([0, 0, 0, 0, 1, 1, 1, 1])
REL = np.array([[3.0, 2, 0, 1], [0, 1, 2, 0]])
SC = np.array([[0.9, 0.1, 0.8, 0.3], [0.5, 0.4, 0.3, 0.2]])
RNG = np.random.default_rng(0)
XA = RNG.exponential(size=40)
XB = RNG.exponential(size=40) + 0.2
EMB = RNG.standard_normal((30, 4)).astype(np.float32)
Q = RNG.standard_normal((3, 4)).astype(np.float32)
TABLE = np.random.default_rng(16).standard_normal((40, 3))
TIMES = (np.datetime64("2024-01-01", "ns") + np.arange(8) * np.timedelta64(6, "h")).astype(np.int64)  # ns


def _pca_drift():
    return MON.PCADrift(TABLE)


def _table():
    return M.ScoreTable.from_arrays(Y, S)


def _sums():
    return M.LogLossSums.from_arrays(Y, S)


def _stats():
    return A.Stats.from_arrays(XA)


def _index():
    ix = R.Index(4, "l2")
    ix.add(EMB)
    return ix


def _sharded():
    ix = R.ShardedIndex(4, "l2", n_shards=2)
    ix.add(EMB)
    return ix


def _knn_ids():
    return R.knn(Q, EMB, 5, "l2")[1]


def _fitted_hasher(**params):
    """A scikit-learn estimator stores its parameters in __init__ (so that set_params and clone
    work) and checks them in fit/transform against the declaration kept on __init__."""
    return H.FeatureHasher(**params).fit()


_fitted_hasher.__mlsd_params__ = H.FeatureHasher.__init__.__mlsd_params__
_fitted_hasher.__signature__ = inspect.signature(H.FeatureHasher)


def _da(x, chunks=3):
    import dask.array as da

    return da.from_array(np.asarray(x), chunks=chunks)


def _dask_frame():
    import dask.dataframe as dd
    import pandas as pd

    pdf = pd.DataFrame({"variant": np.repeat(["A", "B"], 20), "y": np.r_[XA[:20], XB[:20]]})
    return dd.from_pandas(pdf, npartitions=3)


def _dist_index(client):
    import mlsd.dask as md

    return md.DistributedIndex(4, "l2", n_shards=2, client=client).add(_da(EMB, 7))  # add takes a Dask array


MREF = {"x": XA, "c": np.array(["a", "b"] * 20)}
MCUR = {"x": XB, "c": np.array(["a", "a", "b", "b"] * 10)}


def _profile():
    return MON.Profile.from_data(MREF)


def _live():
    """MCUR with a time column over two days."""
    return {**MCUR, "t": np.datetime64("2024-01-01", "ns") + np.arange(40) * np.timedelta64(75, "m")}


def _report():
    return MON.drift(MREF, MCUR)


def _plotted_report():
    """A report whose plots may open figures: the figures of earlier calls are closed first."""
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    return _report()


def _profile_path():
    import tempfile

    path = tempfile.mkdtemp(prefix="mlsd-bad-input-") + "/p.mlsdprof"
    _profile().save(path)
    return path


def _md():
    pytest.importorskip("dask")
    import mlsd.dask as md

    return md


def _events():
    import pandas as pd

    return pd.DataFrame({"k": [1, 2, 1], "t": [3, 4, 5], "label": [0, 1, 1]})


def _feature_rows():
    import pandas as pd

    return pd.DataFrame({"k": [1, 1, 2], "t": [1, 4, 2], "x": [0.5, 1.5, 2.5]})


def _window_events():
    import pandas as pd

    return pd.DataFrame({"k": [1, 1, 2, 2], "t": [1, 2, 3, 5], "v": [1.0, 2.0, 3.0, np.nan]})


def _window_state():
    return FE.WindowState.from_arrays(np.array([1, 1, 2]), np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0]),
                                     windows=[2, 5])


def _dask_events():
    import dask.dataframe as dd

    return dd.from_pandas(_window_events(), npartitions=2)


def _dask_join_tables():
    import dask.dataframe as dd

    return dict(spine=dd.from_pandas(_events(), npartitions=2), features=dd.from_pandas(_feature_rows(), npartitions=2))


CLIENT = object()  # stands for the session's dask_client fixture in a valid call


# (public name, factory of the callable, valid arguments, accepted bad kinds per argument)
CASES = [
    # -- metrics ---------------------------------------------------------------------------------
    ("roc_auc_score", lambda: M.roc_auc_score, dict(y_true=Y, y_score=S),
     {"labels": {"NaN", "inf"}}),  # labels is for multiclass targets: ignored for binary ones, as in scikit-learn
    ("roc_curve", lambda: M.roc_curve, dict(y_true=Y, y_score=S), {}),
    ("precision_recall_curve", lambda: M.precision_recall_curve, dict(y_true=Y, y_score=S), {}),
    ("average_precision_score", lambda: M.average_precision_score, dict(y_true=Y, y_score=S), {}),
    ("log_loss", lambda: M.log_loss, dict(y_true=Y, y_proba=S), {}),
    ("brier_score_loss", lambda: M.brier_score_loss, dict(y_true=Y, y_proba=S),
     # labels serves a two-column y_proba only (ignored beside a 1-D one, as in scikit-learn)
     {"labels": {"NaN", "inf"}}),
    ("normalized_entropy", lambda: M.normalized_entropy, dict(y_true=Y, y_prob=S), {}),
    ("calibration_curve", lambda: M.calibration_curve, dict(y_true=Y, y_prob=S), {}),
    ("expected_calibration_error", lambda: M.expected_calibration_error, dict(y_true=Y, y_prob=S), {}),
    ("binned_roc_auc_score", lambda: M.binned_roc_auc_score, dict(y_true=Y, y_score=S), {}),
    ("group_auc", lambda: M.group_auc, dict(y_true=Y, y_score=S, groups=G),
     {"groups": {"inf", "complex", "object"}}),  # groups are labels: any hashable value but NaN
    *[(name, (lambda f=getattr(M, name): f), dict(y_true=REL, y_score=SC), {})
      for name in ("dcg_at_k", "ndcg_at_k", "map_at_k", "mrr", "precision_at_k", "recall_at_k", "hit_rate_at_k",
                   "dcg_score", "ndcg_score")],
    # (an empty argument beside a full one is a length mismatch; both empty give the empty state)
    ("ScoreTable.from_arrays", lambda: M.ScoreTable.from_arrays, dict(y_true=Y, y_score=S),
     {}),
    ("ScoreTable.update", lambda: _table().update, dict(y_true=Y, y_score=S),
     {}),
    ("ScoreTable.roc_auc_score", lambda: _table().roc_auc_score, dict(), {}),
    ("ScoreTable", lambda: M.ScoreTable, dict(score=[0.9, 0.5], positive=[1.0, 0.0], negative=[0.0, 2.0]), {}),
    ("ScoreTable.merge", lambda: _table().merge, dict(), {}),
    ("ScoreTable.roc_curve", lambda: _table().roc_curve, dict(), {}),
    ("ScoreTable.precision_recall_curve", lambda: _table().precision_recall_curve, dict(), {}),
    ("ScoreTable.average_precision_score", lambda: _table().average_precision_score, dict(), {}),
    ("ScoreTable.result", lambda: _table().result, dict(), {}),
    ("ScoreTable.from_dict", lambda: M.ScoreTable.from_dict, dict(d=_table().to_dict()), {}),
    ("LogLossSums", lambda: M.LogLossSums, dict(loss=1.0, weight=2.0, positive=1.0), {}),
    ("LogLossSums.merge", lambda: _sums().merge, dict(), {}),
    ("LogLossSums.log_loss", lambda: _sums().log_loss, dict(), {}),
    ("LogLossSums.normalized_entropy", lambda: _sums().normalized_entropy, dict(), {}),
    ("LogLossSums.result", lambda: _sums().result, dict(), {}),
    ("LogLossSums.from_dict", lambda: M.LogLossSums.from_dict, dict(d=_sums().to_dict()), {}),
    ("LogLossSums.from_arrays", lambda: M.LogLossSums.from_arrays, dict(y_true=Y, y_prob=S),
     {}),
    ("LogLossSums.update", lambda: _sums().update, dict(y_true=Y, y_prob=S),
     {}),
    # -- hashing ---------------------------------------------------------------------------------
    ("murmurhash3_32", lambda: H.murmurhash3_32, dict(key="abc"),
     {"key": {"str", "3-D", "0-d", "empty", "short"}}),  # str keys and int arrays of any shape, as scikit-learn
    ("FeatureHasher", lambda: _fitted_hasher, dict(n_features=16), {}),
    ("FeatureHasher.fit", lambda: H.FeatureHasher(16).fit, dict(), {}),
    ("FeatureHasher.fit_transform", lambda: H.FeatureHasher(16).fit_transform, dict(X=[{"a": 1.0}]), {}),
    ("FeatureHasher.transform", lambda: H.FeatureHasher(16).transform, dict(raw_X=[{"a": 1.0}]), {}),
    ("hash_columns", lambda: H.hash_columns, dict(data={"a": np.array([1, 2, 3])}), {}),
    ("collision_report", lambda: H.collision_report, dict(data={"a": np.array([1, 2, 3])}), {}),
    # -- retrieval -------------------------------------------------------------------------------
    ("Index", lambda: R.Index, dict(dim=4, metric="l2"), {}),
    ("Index.add", lambda: R.Index(4, "l2").add, dict(vectors=EMB), {"vectors": {"empty"}}),  # adding nothing
    ("Index.search", lambda: _index().search, dict(queries=Q, k=3), {"queries": {"empty"}}),  # no queries, no rows
    ("Index.remove", lambda: _index().remove, dict(ids=np.array([1, 2])), {"ids": {"empty"}}),  # removing nothing
    ("ShardedIndex", lambda: R.ShardedIndex, dict(dim=4, metric="l2", n_shards=2), {}),
    ("ShardedIndex.add", lambda: R.ShardedIndex(4, "l2", n_shards=2).add, dict(vectors=EMB), {"vectors": {"empty"}}),
    ("ShardedIndex.search", lambda: _sharded().search, dict(queries=Q, k=3), {"queries": {"empty"}}),
    ("knn", lambda: R.knn, dict(queries=Q, items=EMB, k=3, metric="l2"),
     {"queries": {"empty"}, "items": {"empty"}}),  # no items: every row is -1 padding
    ("merge_topk", lambda: R.merge_topk, dict(results=[R.knn(Q, EMB[:15], 3, "l2"), R.knn(Q, EMB[15:], 3, "l2")],
                                                k=3, metric="l2"), {}),
    ("knn_recall", lambda: R.knn_recall, dict(approx_ids=_knn_ids(), exact_ids=_knn_ids()), {}),
    # -- abtest ----------------------------------------------------------------------------------
    # (raw samples take SciPy's conventions: a scalar is one observation, NaN propagates, inf is
    # a value, an empty sample gives NaN with SciPy's SmallSampleWarning)
    *[(name, (lambda name=name: getattr(A, name)), dict(zip(args, (XA, XB))),
       {arg: {"0-d", "NaN", "inf"} | ({"empty"} if name in ("ttest_ind", "mannwhitneyu") else set()) for arg in args})
      for name, args in (("ttest_ind", ("a", "b")), ("mannwhitneyu", ("x", "y")), ("ttest_rel", ("a", "b")),
                         ("wilcoxon", ("x", "y")))],
    ("ConfidenceInterval", lambda: A.ttest_ind(XA, XB).confidence_interval.__call__, dict(confidence_level=0.9), {}),
    ("proportions_ztest", lambda: A.proportions_ztest, dict(a=(30, 100), b=(40, 100)), {}),
    ("compare", lambda: A.compare, dict(treatment=XA, control=XB), {}),
    ("bootstrap", lambda: A.bootstrap, dict(data=XA, control=XB, n_resamples=20), {}),
    ("chisquare", lambda: A.chisquare, dict(f_obs=np.array([10.0, 12, 9])),
     {"f_obs": {"0-d", "empty", "NaN"}}),  # one category, or none: statistic 0 and p NaN; NaN: nan_policy, as SciPy
    ("chi2_contingency", lambda: A.chi2_contingency, dict(observed=np.array([[10, 12], [9, 14]])), {}),
    ("srm_test", lambda: A.srm_test, dict(counts=np.array([500, 510])), {}),
    ("multipletests", lambda: A.multipletests, dict(pvals=np.array([0.01, 0.2, 0.04])),
     {"pvals": {"0-d", "empty"}}),  # one p-value, or none, as statsmodels
    ("msprt", lambda: A.msprt, dict(treatment=[XA[:20], XA[20:]], control=[XB[:20], XB[20:]], tau=0.1), {}),
    ("group_sequential_boundaries", lambda: A.group_sequential_boundaries, dict(information=[0.5, 1.0]), {}),
    ("power", lambda: A.power, dict(effect_size=0.2, nobs1=100), {}),
    ("solve_power", lambda: A.solve_power, dict(effect_size=0.2, power=0.8), {}),
    ("sample_size_proportions", lambda: A.sample_size_proportions, dict(p_control=0.1, mde=0.01), {}),
    ("sample_size_means", lambda: A.sample_size_means, dict(mde=0.1, std=1.0), {}),
    ("mde_proportions", lambda: A.mde_proportions, dict(p_control=0.1, nobs1=1000), {}),
    ("mde_means", lambda: A.mde_means, dict(std=1.0, nobs1=1000), {}),
    ("Stats.from_arrays", lambda: A.Stats.from_arrays, dict(y=XA), {"y": {"empty"}}),  # the empty arm's Stats
    ("Stats.update", lambda: _stats().update, dict(y=XA), {"y": {"empty"}}),
    ("analyze", lambda: A.analyze, dict(variants={"A": XA, "B": XB}, control="A"), {}),
    ("combine", lambda: A.combine, dict(results=[A.analyze({"A": XA, "B": XB}, control="A")]), {}),
    ("power_curve", lambda: A.power_curve, dict(effect_size=0.2, nobs1=[50, 100]), {}),
    ("Stats", lambda: A.Stats, dict(n=4, mean=[1.0], comoment=[[2.0]]), {}),
    ("Stats.from_mapping", lambda: A.Stats.from_mapping, dict(data={"y": XA}), {}),
    # (counts and summaries broadcast: an empty argument beside one-element ones is a batch of none;
    # a 0-d mean or std is a scalar)
    ("Stats.from_counts", lambda: A.Stats.from_counts, dict(successes=[1], trials=[10]),
     {"successes": {"empty"}, "trials": {"empty"}}),
    ("Stats.from_summary", lambda: A.Stats.from_summary, dict(nobs=10, mean=1.0, std=0.5),
     {"nobs": {"empty"}, "mean": {"0-d", "empty"}, "std": {"0-d", "empty"}}),
    ("Stats.stack", lambda: A.Stats.stack, dict(items=[_stats(), _stats()]), {}),
    ("Stats.column", lambda: _stats().column, dict(role="y"), {}),
    ("Stats.sum", lambda: _stats().sum, dict(role="y"), {}),
    ("Stats.sum_of_squares", lambda: _stats().sum_of_squares, dict(role="y"), {}),
    ("Stats.var", lambda: _stats().var, dict(role="y", ddof=1), {}),
    # -- features --------------------------------------------------------------------------------
    ("point_in_time_join", lambda: FE.point_in_time_join,
     dict(spine=_events(), features=_feature_rows(), by="k", on="t"), {}),
    ("FeatureTable", lambda: FE.FeatureTable, dict(data=_feature_rows()), {}),
    ("leakage_report", lambda: FE.leakage_report, dict(data=_events(), label="label", label_time="t"), {}),
    # -- monitoring (NaN in a table is a missing value, imputed with the reference mean) -------------
    ("PCADrift", lambda: MON.PCADrift, dict(reference=TABLE), {"reference": {"NaN"}}),
    ("PCADrift.errors", lambda: _pca_drift().errors, dict(data=TABLE), {"data": {"NaN"}}),
    ("PCADrift.compare", lambda: _pca_drift().compare, dict(current=TABLE), {"current": {"NaN"}}),
    ("multivariate_drift", lambda: MON.multivariate_drift, dict(reference=TABLE, current=TABLE),
     {"reference": {"NaN"}, "current": {"NaN"}}),
    ("performance_over_time", lambda: MON.performance_over_time, dict(y_true=Y, y_score=S, time=TIMES), {}),
    ("drift_over_time", lambda: MON.drift_over_time, dict(reference=MREF, data=_live(), time_column="t"), {}),
    # -- dask (the collections are NumPy-backed Dask arrays; rows of one query stay together) ------
    *[(f"mlsd.dask.{name}", (lambda name=name: getattr(_md(), name)),
       dict(y_true=_da(Y), y_score=_da(S), client=CLIENT), {})
      for name in ("roc_auc_score", "average_precision_score", "binned_roc_auc_score", "score_table")],
    *[(f"mlsd.dask.{name}", (lambda name=name: getattr(_md(), name)),
       dict(y_true=_da(Y), y_prob=_da(S), client=CLIENT), {})
      for name in ("log_loss", "normalized_entropy")],
    ("mlsd.dask.group_auc", lambda: _md().group_auc, dict(y_true=_da(Y), y_score=_da(S), groups=_da(G), client=CLIENT),
     {}),
    *[(f"mlsd.dask.{name}", (lambda name=name: getattr(_md(), name)),
       dict(y_true=_da(REL.ravel(), 4), y_score=_da(SC.ravel(), 4), k=3, query=_da(np.repeat([0, 1], 4), 4),
            client=CLIENT), {})
      for name in ("dcg_at_k", "ndcg_at_k", "map_at_k", "mrr", "precision_at_k", "recall_at_k", "hit_rate_at_k")],
    ("mlsd.dask.stats", lambda: _md().stats, dict(y=_da(XA, 15), client=CLIENT), {}),
    ("mlsd.dask.stats_by", lambda: _md().stats_by, dict(df=_dask_frame(), by="variant", y="y", client=CLIENT), {}),
    ("mlsd.dask.bootstrap", lambda: _md().bootstrap, dict(data=_da(XA, 15), n_resamples=20, client=CLIENT), {}),
    ("mlsd.dask.hash_columns", lambda: _md().hash_columns, dict(data=_dask_frame()), {}),
    ("mlsd.dask.profile", lambda: _md().profile, dict(df=_dask_frame(), client=CLIENT), {}),
    ("mlsd.dask.drift", lambda: _md().drift, dict(reference=_dask_frame(), current=_dask_frame(), client=CLIENT), {}),
    ("mlsd.dask.DistributedIndex", lambda: _md().DistributedIndex, dict(dim=4, metric="l2", client=CLIENT), {}),
    ("DistributedIndex.search", CLIENT, dict(queries=Q, k=3), {"queries": {"empty"}}),  # as Index.search
    # -- features (windows) ----------------------------------------------------------------------
    ("window_aggregate", lambda: FE.window_aggregate, dict(events=_window_events(), by="k", on="t", values="v", windows=[2]),
     {}),
    ("WindowState.from_arrays", lambda: FE.WindowState.from_arrays,
     dict(keys=np.array([1, 2]), times=np.array([1, 2]), values=np.array([1.0, 2.0]), windows=[2]),
     {"keys": {"object"}, "values": {"NaN"}}),  # an object array of strings: string keys; NaN: a missing value
    ("WindowState.update", lambda: _window_state().update,
     dict(keys=np.array([1, 2]), times=np.array([3, 4]), values=np.array([1.0, 2.0])),
     {"values": {"NaN"}}),  # a missing value, skipped by every aggregate
    ("WindowState.lookup", lambda: _window_state().lookup, dict(entity_keys=np.array([1, 2]), at_time=5),
     {"entity_keys": {"empty"}}),  # no keys: an empty frame
    ("WindowState.merge", lambda: _window_state().merge, dict(), {}),
    ("WindowState.result", lambda: _window_state().result, dict(), {}),
    ("WindowState.from_dict", lambda: FE.WindowState.from_dict, dict(d=_window_state().to_dict()), {}),
    ("mlsd.dask.window_aggregate", lambda: _md().window_aggregate,
     dict(events=_dask_events(), by="k", on="t", values="v", windows=[2]), {}),
    ("mlsd.dask.point_in_time_join", lambda: _md().point_in_time_join, dict(**_dask_join_tables(), by="k", on="t"),
     {}),
    # -- monitoring ------------------------------------------------------------------------------
    ("drift", lambda: MON.drift, dict(reference=MREF, current=MCUR), {}),
    ("ks_2samp", lambda: MON.ks_2samp, dict(data1=XA, data2=XB), {}),
    ("wasserstein_distance", lambda: MON.wasserstein_distance,
     dict(u_values=XA, v_values=XB, u_weights=np.ones(40), v_weights=np.ones(40)), {}),
    ("Profile.from_data", lambda: MON.Profile.from_data, dict(reference=MREF), {}),
    ("Profile.from_arrays", lambda: MON.Profile.from_arrays, dict(reference=MREF), {}),
    ("Profile.update", lambda: _profile().update, dict(reference=MREF), {}),
    ("Profile.compare", lambda: _profile().compare, dict(current=MCUR), {}),
    ("Profile.merge", lambda: _profile().merge, dict(), {}),
    ("Profile.result", lambda: _profile().result, dict(), {}),
    ("Profile.from_dict", lambda: MON.Profile.from_dict, dict(d=_profile().to_dict()), {}),
    ("Profile.sorted_values", lambda: _profile().sorted_values, dict(column="x"), {}),
    ("Profile.category_counts", lambda: _profile().category_counts, dict(column="c"), {}),
    ("Profile.missing", lambda: _profile().missing, dict(column="x"), {}),
    ("DriftReport.row", lambda: _report().row, dict(column="x"), {}),
    ("DriftReport.plot", lambda: _plotted_report().plot, dict(top=2), {}),
    ("DriftReport.plot_histograms", lambda: _plotted_report().plot_histograms, dict(top=1), {}),
    ("Profile.save", lambda: _profile().save, dict(path=_profile_path()), {}),
    ("Profile.load", lambda: MON.Profile.load, dict(path=_profile_path()), {}),
    # -- package ---------------------------------------------------------------------------------
    ("set_num_threads", lambda: mlsd.set_num_threads, dict(n=1), {}),
]


# Arguments that must have the same length as another: a "short" value (one element fewer) is bad.
_PAIRS = {"y_true", "y_score", "y_prob", "y_proba", "groups", "query"}
SAME_LENGTH = {name: _PAIRS for name, *_ in CASES if name.split(".")[-1] in (
    "roc_auc_score", "roc_curve", "precision_recall_curve", "average_precision_score", "log_loss",
    "brier_score_loss", "normalized_entropy", "calibration_curve", "expected_calibration_error",
    "binned_roc_auc_score", "group_auc", "dcg_at_k", "ndcg_at_k", "dcg_score", "ndcg_score", "map_at_k", "mrr",
    "precision_at_k",
    "recall_at_k", "hit_rate_at_k", "from_arrays", "update", "score_table")}
SAME_LENGTH["Stats.from_arrays"] = SAME_LENGTH["Stats.update"] = set()
SAME_LENGTH["chisquare"] = {"f_exp"}
SAME_LENGTH["knn_recall"] = {"approx_ids", "exact_ids"}
SAME_LENGTH["wasserstein_distance"] = {"u_weights", "v_weights"}
SAME_LENGTH["performance_over_time"] = {"y_true", "y_score", "time"}


# ---------------------------------------------------------------------------------------------
# Bad values by kind
# ---------------------------------------------------------------------------------------------


# Values of other kinds again (bytes, ints at the edges of int64/uint64, -inf, 0-d NumPy values, str
# arrays, dicts, tuples, ragged lists...): each argument is fed those its declaration rejects.
OTHER_VALUES = {"bytes": b"x", "-1": -1, "0": 0, "2**64": 2**64, "-2**64": -(2**64), "-inf value": -math.inf,
                "bool value": True, "empty list": [], "np.float64": np.float64(1.0), "np.array(1.0)": np.array(1.0),
                "str array": np.array(["a", "b"]), "dict": {"x": 1}, "tuple": (1, 2), "ragged": [[1.0, 2.0], [3.0]],
                "object scalar": object(), "complex scalar": 1j, "float value": 1.5, "nan value": math.nan,
                "inf value": math.inf, "2**2000": 2**2000, "3-D array": np.ones((2, 2, 2)),
                "object array": np.array(["a", "b"], dtype=object), "complex array": np.array([1 + 1j, 2])}


def _signature(value):
    """Tells two candidate values apart (a value already fed under another kind is not fed again)."""
    return type(value).__name__, repr(value)


def _array_bad(valid):
    a = np.asarray(valid)
    out = {"None": None, "str": "abc", "0-d": np.float64(0.5), "3-D": np.zeros((2, 2, 2)),
           "object": np.array(["x"] * max(a.size, 1), dtype=object).reshape(a.shape if a.size else (1,)),
           "complex": (a.astype(np.complex128) + 1j) if a.size else np.array([1j])}
    if a.size and a.dtype.kind in "biuf":
        f = a.astype(np.float64)
        nan, inf = f.copy(), f.copy()
        nan.flat[0] = np.nan
        inf.flat[0] = np.inf
        out.update({"NaN": nan, "inf": inf, "empty": np.zeros((0,) + a.shape[1:], dtype=a.dtype)})
        if a.ndim >= 1 and a.shape[0] > 1:
            out["short"] = a[:-1]
    elif valid is None:  # an optional array left out of the valid call: NaN and inf in a numeric one
        out.update({"NaN": np.array([np.nan, 0.25]), "inf": np.array([np.inf, 0.25])})
    return out


def _scalar_bad(constraints):
    out = {"None": None, "str": "abc", "object": object(), "complex": 1j}
    for c in constraints:
        if isinstance(c, Interval):
            if c.type is Integral:
                out.update({"float": 1.5, "bool": True, "huge int": 2**70})
                if c.left is not None:
                    out["below range"] = int(math.floor(c.left)) - 1
                if c.right is not None:
                    out["above range"] = int(math.ceil(c.right)) + 1
            else:
                out.update({"NaN": float("nan"), "huge int": 2**2000})
                if c.left is not None:
                    out["below range"] = c.left - 1.0
                    out["-inf"] = -math.inf
                if c.right is not None:
                    out["above range"] = c.right + 1.0
                    out["inf"] = math.inf
        elif isinstance(c, Options):
            out.update({"unknown option": "__no_such_option__", "int option": 3})
        elif c == "boolean":
            out.update({"int for bool": 2})
        elif c == "seed":
            out.update({"negative seed": -1, "seed too large": 2**32, "float seed": 1.5})
        elif isinstance(c, Check) and c.description.startswith("a pair"):
            out.update({"reversed pair": (1.0, 0.0), "infinite pair": (0.0, math.inf), "triple": (0.0, 0.5, 1.0)})
    return out


def bad_values(constraints, valid):
    if any(isinstance(c, ArrayLike) for c in constraints) or isinstance(valid, np.ndarray):
        cands = _array_bad(valid)
        cands.update({k: v for k, v in _scalar_bad(constraints).items() if k not in cands})
    else:
        cands = _scalar_bad(constraints)
    seen = {_signature(v) for v in cands.values()}
    cands.update({k: v for k, v in OTHER_VALUES.items() if k not in cands and _signature(v) not in seen})
    # a kind the declaration itself allows (None where None is declared, ...) is not bad, but the
    # data-level kinds (NaN, inf, empty, short, 0-d), which the declaration passes on, are
    return {kind: value for kind, value in cands.items()
            if _declared_rejects(value, constraints) or kind in ("NaN", "inf", "empty", "short", "0-d")}


def _declared_rejects(value, constraints):
    """Whether the declaration itself refuses the value."""
    from mlsd._params import check_param

    try:
        check_param(value, "x", "f", constraints)
    except (TypeError, ValueError):
        return True
    return False


def _resolve(factory, valid, request):
    """The callable and its valid arguments, with CLIENT replaced by the session's Dask client."""
    needs = factory is CLIENT or any(v is CLIENT for v in valid.values())
    client = request.getfixturevalue("dask_client") if needs else None
    fn = _dist_index(client).search if factory is CLIENT else factory()
    return fn, {k: (client if v is CLIENT else v) for k, v in valid.items()}


def _declared_callable(factory):
    if factory is CLIENT:
        import mlsd.dask as md

        return md.DistributedIndex.search
    return factory()


STATES = [("ScoreTable", lambda: _table()), ("LogLossSums", lambda: _sums()), ("Stats", lambda: _stats()),
          ("WindowState", lambda: _window_state()), ("Profile", lambda: _profile()),
          ("Profile", lambda: MON.Profile.from_data(MREF, sketch=8))]  # with quantile sketches


@pytest.mark.parametrize("name, make", STATES, ids=[n for n, _ in STATES])
@pytest.mark.parametrize("bad", [None, "abc", [1, 2], 1.5, {"state": "Other"}, {"state": None}],
                         ids=["None", "str", "list", "float", "other state", "no fields"])
def test_state_from_dict_and_merge_reject_bad_values(name, make, bad):
    state = make()
    with pytest.raises((ValueError, TypeError), match=f"'d' parameter of {name}.from_dict"):
        type(state).from_dict(bad)
    if not isinstance(bad, dict):
        with pytest.raises((ValueError, TypeError), match=f"'others' parameter of {name}.merge"):
            state.merge(bad)
    other = STATES[(STATES.index((name, make)) + 1) % len(STATES)][1]()
    with pytest.raises((ValueError, TypeError), match=f"'others' parameter of {name}.merge"):
        state.merge(other)


# Fields where None is a valid value: ScoreTable without bins, WindowState without a lateness
# limit, naive times, or (with no events) no latest time.
NULLABLE_FIELDS = {"bins", "allowed_lateness", "time_zone", "max_time"}


@pytest.mark.parametrize("name, make", STATES, ids=[n for n, _ in STATES])
@pytest.mark.parametrize("bad", ["abc", None, [1j], 1j, {"x": 1}, [[1.0], [2.0, 3.0]], 2**2000, [2**2000], [[[1.0]]]],
                         ids=["str", "None", "complex list", "complex", "dict", "ragged", "huge int", "huge int list",
                              "3-D"])
def test_state_from_dict_rejects_wrong_field_values(name, make, bad):
    """A dict with the right keys but a wrong value in one field: InvalidParameterError naming
    from_dict, never OverflowError/AttributeError (None is skipped for the NULLABLE_FIELDS)."""
    d = make().to_dict()
    for field in [k for k in d if k != "state"]:
        if field in NULLABLE_FIELDS and bad is None:
            continue
        with pytest.raises((ValueError, TypeError), match=f"'d' parameter of {name}.from_dict"):
            type(make()).from_dict({**d, field: bad})


# Narrowing: a value the kernel's dtype cannot hold.  Float32 kernels (retrieval) must refuse a
# finite value beyond float32's range (it would become inf, with NumPy's overflow warning); every
# other array argument either refuses it by name or takes it without a warning (float64 kernels
# hold it; int64 ids and labels refuse a uint64 above 2**63 - 1).
FLOAT32_ARGS = {("knn", "queries"), ("knn", "items"), ("Index.add", "vectors"), ("Index.search", "queries"),
                ("ShardedIndex.add", "vectors"), ("ShardedIndex.search", "queries"),
                ("DistributedIndex.search", "queries")}
# int64 id arguments must refuse a uint64 above 2**63 - 1 (cast, it would become another id).
INT64_ID_ARGS = {("Index.remove", "ids"), ("knn_recall", "approx_ids"), ("knn_recall", "exact_ids")}


def _narrowing_values(valid):
    a = np.asarray(valid)
    if not a.size or a.dtype.kind not in "biuf":
        return {}
    out = {}
    big = a.astype(np.float64)
    big.flat[0] = 1e300
    out["beyond float32"] = big
    if a.dtype.kind in "iu":
        u = np.abs(a).astype(np.uint64)
        u.flat[0] = np.uint64(2**64 - 1)
        out["uint64 above int64"] = u
    return out


def _narrowing_calls():
    for name, factory, valid, accepts in CASES:
        for param, value in valid.items():
            if not isinstance(value, np.ndarray):
                continue
            for kind, bad in _narrowing_values(value).items():
                yield pytest.param(name, factory, valid, param, kind, bad, id=f"{name}-{param}-{kind}")


@pytest.mark.parametrize("name, factory, valid, param, kind, value", list(_narrowing_calls()))
def test_narrowing_value_raises_by_name_or_is_taken_without_warning(name, factory, valid, param, kind, value,
                                                                    request):
    fn, valid = _resolve(factory, valid, request)
    must_raise = ((kind == "beyond float32" and (name, param) in FLOAT32_ARGS)
                  or (kind == "uint64 above int64" and (name, param) in INT64_ID_ARGS))
    try:
        fn(**{**valid, param: value})  # warnings are errors in this suite: a cast warning fails here
    except (ValueError, TypeError) as e:
        msg = str(e)
        short = name.split(".")[-1] if name[0].isupper() and "." not in name else name.replace("mlsd.dask.", "")
        assert short in msg and param in msg, msg
        if must_raise:
            assert ("float32" if kind == "beyond float32" else "int64") in msg, msg
        return
    assert not must_raise, f"{name} took {param} {kind}"


def _params_of(fn):
    target = fn.__init__ if inspect.isclass(fn) else fn
    return getattr(target, "__mlsd_params__", None), inspect.signature(target)


def _cases():
    for name, factory, valid, accepts in CASES:
        yield pytest.param(name, factory, valid, accepts, id=name)


@pytest.mark.parametrize("name, factory, valid, accepts", list(_cases()))
def test_every_parameter_is_declared(name, factory, valid, accepts):
    declared, sig = _params_of(_declared_callable(factory))
    assert declared is not None, f"{name} has no @validate_params declaration"
    params = [p for p in sig.parameters if p not in ("self", "cls")
              and sig.parameters[p].kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]
    missing = [p for p in params if p not in declared]
    assert not missing, f"{name} does not declare {missing}"


@pytest.mark.parametrize("name, factory, valid, accepts", list(_cases()))
def test_valid_call_works(name, factory, valid, accepts, request):
    fn, valid = _resolve(factory, valid, request)
    fn(**valid)


def _bad_calls():
    for name, factory, valid, accepts in CASES:
        try:
            declared, sig = _params_of(_declared_callable(factory))
        except Exception:  # a missing callable fails test_every_parameter_is_declared instead
            continue
        if declared is None:
            continue
        for param, constraints in declared.items():
            if sig.parameters[param].kind is inspect.Parameter.VAR_POSITIONAL:
                continue  # merge(*others): test_state_from_dict_and_merge_reject_bad_values
            default = sig.parameters[param].default
            base = valid.get(param, None if default is inspect.Parameter.empty else default)
            for kind, value in bad_values(constraints, base).items():
                if kind == "short" and param not in SAME_LENGTH.get(name, ()):
                    continue
                if kind in ("NaN", "inf") and base is None and param in ("groups", "query"):
                    continue  # labels: any hashable value (a NaN group is refused by group_auc, tested there)
                yield pytest.param(name, factory, valid, param, kind, value, kind in accepts.get(param, ()),
                                   _declared_rejects(value, constraints), id=f"{name}-{param}-{kind}")


@pytest.mark.parametrize("name, factory, valid, param, kind, value, accepted, by_declaration", list(_bad_calls()))
def test_bad_value_raises_naming_function_and_argument(name, factory, valid, param, kind, value, accepted,
                                                       by_declaration, request):
    fn, valid = _resolve(factory, valid, request)
    kwargs = {**valid, param: value}
    if accepted:
        with warnings.catch_warnings():  # accepted as the peer accepts it, warning as the peer warns
            warnings.simplefilter("ignore", RuntimeWarning)
            fn(**kwargs)
        return
    with pytest.raises((ValueError, TypeError)) as info:
        fn(**kwargs)
    msg = str(info.value)
    short = name.split(".")[-1] if name[0].isupper() and "." not in name else name.replace("mlsd.dask.", "")
    assert short in msg, f"message does not name {name}: {msg}"
    assert param in msg or (kind == "short" and "elements" in msg), f"message does not name {param!r}: {msg}"
    if by_declaration:  # the declaration's own message
        assert f"'{param}' parameter of" in msg, msg
