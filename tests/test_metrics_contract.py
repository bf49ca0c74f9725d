"""mlsd.metrics on the one contract (issue 13): declared parameters that reject bad values naming
the function and the argument; result objects (immutable, to_frame, HTML, short repr, plot); the
states' own checks (from_dict's refusals, results, the legacy merge).  The checks common to every
mergeable state (merge == whole, exact JSON round trip) are in test_contract_states.py."""

from __future__ import annotations

import inspect
import math
import pickle

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn import metrics as skm  # noqa: E402

import mlsd.dask as md  # noqa: E402
import mlsd.metrics as M  # noqa: E402
from mlsd._validation import InvalidParameterError  # noqa: E402
from test_contract_bad_input import CASES as COMMON_CASES  # noqa: E402
from test_contract_states import _same_table  # noqa: E402

Y = np.array([0, 1, 0, 1, 1, 0, 1, 0])
S = np.array([0.1, 0.8, 0.3, 0.6, 0.9, 0.2, 0.7, 0.4])
G = np.array([0, 0, 0, 0, 1, 1, 1, 1])
REL = np.array([[3.0, 2, 0, 1], [0, 1, 2, 0]])
SC = np.array([[0.9, 0.1, 0.8, 0.3], [0.5, 0.4, 0.3, 0.2]])

# ---------------------------------------------------------------------------------------------
# Declared parameters
# ---------------------------------------------------------------------------------------------

RANKING = ("dcg_at_k", "ndcg_at_k", "map_at_k", "mrr", "precision_at_k", "recall_at_k", "hit_rate_at_k")


def _public_callables():
    """Every public function of mlsd.metrics and every public method of its states."""
    for name in M.__all__:
        obj = getattr(M, name)
        if inspect.isfunction(obj):
            yield name, obj
        elif name in ("ScoreTable", "LogLossSums"):
            yield name, obj.__init__
            for attr, member in vars(obj).items():
                if attr.startswith("_") or isinstance(member, property):
                    continue
                fn = member.__func__ if isinstance(member, classmethod) else member
                if callable(fn):
                    yield f"{name}.{attr}", fn
            yield f"{name}.to_dict", obj.to_dict  # inherited from the protocol: takes no argument


@pytest.mark.parametrize("name, fn", list(_public_callables()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_public_callable_declares_every_parameter(name, fn):
    if name.endswith(".to_dict"):  # the protocol's, without parameters
        assert list(inspect.signature(fn).parameters) == ["self"]
        return
    declared = getattr(fn, "__mlsd_params__", None)
    assert declared is not None, f"{name} has no @validate_params declaration"
    params = [p for p, v in inspect.signature(fn).parameters.items()
              if p not in ("self", "cls") and v.kind is not inspect.Parameter.VAR_KEYWORD]
    assert sorted(set(params) - set(declared)) == [], name


def test_the_common_bad_input_table_covers_the_public_api():
    # every public function and method of mlsd.metrics is fed bad values in test_contract_bad_input.py
    listed = {n for n, _ in _public_callables() if not n.endswith(".to_dict")}
    assert listed - {name for name, *_ in COMMON_CASES} <= {"brier_score"}  # the alias of brier_score_loss
    assert M.brier_score is M.brier_score_loss


@pytest.mark.parametrize("n", [0, 3])
def test_mismatched_lengths_name_the_arguments(n):
    with pytest.raises(ValueError, match="ScoreTable.from_arrays: y_score has 8 elements but y_true has"):
        M.ScoreTable.from_arrays(Y[:n], S)
    with pytest.raises(ValueError, match="LogLossSums.update: .*y_prob"):
        M.LogLossSums.from_arrays(Y, S).update(Y, S[:n])


def test_complex_arrays_are_rejected_by_the_table_constructor():
    with pytest.raises(InvalidParameterError, match="The 'score' parameter of ScoreTable must"):
        M.ScoreTable(np.array([0.9, 0.5]) + 1j, [1.0, 0.0], [0.0, 1.0])
    with pytest.raises(InvalidParameterError, match="The 'positive' parameter of ScoreTable"):
        M.ScoreTable([0.9, 0.5], np.array([1.0, 0.0], dtype=complex), [0.0, 1.0])
    with pytest.raises(ValueError, match="ScoreTable: score must be finite and strictly decreasing"):
        M.ScoreTable([0.9, np.nan], [1.0, 0.0], [0.0, 1.0])


def test_merge_rejects_other_types():
    t = M.ScoreTable.from_arrays(Y, S)
    with pytest.raises(InvalidParameterError, match="'others' parameter of ScoreTable.merge"):
        t.merge(M.LogLossSums())
    with pytest.raises(InvalidParameterError, match="'others' parameter of LogLossSums.merge"):
        M.LogLossSums().merge(t)
    with pytest.raises(TypeError):
        t + M.LogLossSums()


DASK_CALLS = {
    "score_table": dict(), "roc_auc_score": dict(), "average_precision_score": dict(),
    "binned_roc_auc_score": dict(), "log_loss": dict(prob=True), "normalized_entropy": dict(prob=True),
    "group_auc": dict(groups=True), **{name: dict(query=True) for name in RANKING},
}


@pytest.mark.parametrize("name", list(DASK_CALLS))
def test_dask_functions_declare_parameters_and_never_convert_columns(name):
    fn = getattr(md, name)
    declared = fn.__mlsd_params__
    params = [p for p in inspect.signature(fn).parameters]
    assert sorted(set(params) - set(declared)) == [], name
    second = "y_prob" if DASK_CALLS[name].get("prob") else "y_score"
    extra = {"groups": G} if DASK_CALLS[name].get("groups") else ({"query": G} if DASK_CALLS[name].get("query")
                                                                    else {})
    # in-memory arrays are not Dask collections: refused by the declaration, naming the argument
    with pytest.raises(InvalidParameterError, match=f"The 'y_true' parameter of {name} must be a 1-D Dask array"):
        fn(Y, S, **extra) if not extra or "query" not in extra else fn(Y, S, query=G)
    import dask.array as da

    with pytest.raises(InvalidParameterError, match=f"'{second}' parameter of {name}"):
        fn(**{"y_true": da.from_array(Y), second: S, **extra})


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------

RNG = np.random.default_rng(5)
YR = RNG.random(3000) < 0.3
SR = np.round(RNG.normal(size=3000) + YR, 2)  # ties
PR = 1 / (1 + np.exp(-SR))
WR = RNG.uniform(0, 2, 3000)


def _results():
    return {
        "ROCCurve": M.roc_curve(YR, SR),
        "PrecisionRecallCurve": M.precision_recall_curve(YR, SR),
        "CalibrationCurve": M.calibration_curve(YR, PR, n_bins=10),
        "CalibrationCurve quantile": M.calibration_curve(YR, PR, n_bins=7, strategy="quantile"),
        "RankingResult": M.ndcg_at_k(RNG.integers(0, 3, (200, 10)), RNG.random((200, 10)), 5),
        "RankingResult query": M.mrr(REL.ravel(), SC.ravel(), query=np.repeat(["a", "b"], 4)),
        "GroupAUCResult": M.group_auc(YR, SR, groups=RNG.integers(0, 40, 3000)),
        "ApproximateAUC": M.binned_roc_auc_score(YR, PR, n_bins=64),
        "ScoreTableResult": M.ScoreTable.from_arrays(YR, SR).result(),
        "LogLossResult": M.LogLossSums.from_arrays(YR, PR).result(),
        "ScoreTable.roc_curve": M.ScoreTable.from_arrays(YR, SR).roc_curve(),
        "ScoreTable.precision_recall_curve": M.ScoreTable.from_arrays(YR, SR).precision_recall_curve(),
    }


RESULTS = _results()


@pytest.mark.parametrize("key", list(RESULTS))
def test_results_are_immutable_with_frame_html_and_short_repr(key):
    r = RESULTS[key]
    frame = r.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) >= 1
    html = r._repr_html_()
    assert "<table" in html and type(r).__name__ in html
    text = repr(r)
    assert len(text) < 400 and "array(" not in text and "\n" not in text, text
    name = next(iter(frame.columns))
    with pytest.raises(AttributeError):
        setattr(r, name if hasattr(r, name) else "mean", 0)
    again = pickle.loads(pickle.dumps(r))
    assert type(again) is type(r)


@pytest.mark.parametrize("key", [k for k in RESULTS if hasattr(RESULTS[k], "plot")])
def test_plot_returns_axes(key):
    fig, ax = plt.subplots()
    try:
        assert RESULTS[key].plot(ax=ax) is ax
        assert RESULTS[key].plot() is not None
    finally:
        plt.close("all")


def test_plotted_results():
    assert {k for k in RESULTS if hasattr(RESULTS[k], "plot")} >= {
        "ROCCurve", "PrecisionRecallCurve", "CalibrationCurve", "RankingResult", "GroupAUCResult"}


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("drop", [False, True])
def test_curves_unpack_as_before_and_carry_their_area(weighted, drop):
    w = WR if weighted else None
    curve = M.roc_curve(YR, SR, sample_weight=w, drop_intermediate=drop)
    fpr, tpr, thr = curve
    for ours, ref in zip((fpr, tpr, thr), skm.roc_curve(YR, SR, sample_weight=w, drop_intermediate=drop)):
        np.testing.assert_allclose(ours, ref, rtol=1e-12)
    assert curve.fpr is fpr and curve.thresholds is thr and len(curve) == 3
    assert curve.roc_auc == pytest.approx(M.roc_auc_score(YR, SR, sample_weight=w), rel=1e-12)
    assert curve.roc_auc == pytest.approx(skm.auc(fpr, tpr), rel=1e-12)
    pr = M.precision_recall_curve(YR, SR, sample_weight=w, drop_intermediate=drop)
    precision, recall, thresholds = pr
    assert pr.precision is precision and pr.thresholds is thresholds
    assert pr.average_precision == pytest.approx(M.average_precision_score(YR, SR, sample_weight=w), rel=1e-12)
    frame = pr.to_frame()
    assert len(frame) == precision.size and np.isnan(frame["threshold"].iloc[-1])
    table = M.ScoreTable.from_arrays(YR, SR, sample_weight=w)
    assert type(table.roc_curve(drop_intermediate=drop)) is M.ROCCurve
    assert table.roc_curve(drop_intermediate=drop).roc_auc == curve.roc_auc
    assert table.precision_recall_curve(drop_intermediate=drop).average_precision == pr.average_precision


def test_curves_of_a_single_class_have_nan_areas():
    with pytest.warns(M.UndefinedMetricWarning):
        assert np.isnan(M.roc_curve(np.ones(4), S[:4]).roc_auc)
    with pytest.warns(M.UndefinedMetricWarning):
        assert np.isnan(M.precision_recall_curve(np.zeros(4), S[:4]).average_precision)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_calibration_curve_keeps_the_histogram(strategy):
    curve = M.calibration_curve(YR, PR, n_bins=8, strategy=strategy, sample_weight=WR)
    prob_true, prob_pred = curve
    assert curve.bin_edges.shape == (9,) and curve.bin_weight.shape == (8,)
    assert curve.bin_weight.sum() == pytest.approx(WR.sum(), rel=1e-12)
    assert (curve.bin_weight > 0).sum() == prob_true.size == prob_pred.size
    unweighted = M.calibration_curve(YR, PR, n_bins=8, strategy=strategy)
    counts = np.histogram(PR, bins=unweighted.bin_edges)[0]
    assert unweighted.bin_weight.sum() == counts.sum() == YR.size
    ref_true, ref_pred = __import__("sklearn.calibration").calibration.calibration_curve(
        YR, PR, n_bins=8, strategy=strategy)
    np.testing.assert_allclose(unweighted.prob_true, ref_true, rtol=1e-12)
    np.testing.assert_allclose(unweighted.prob_pred, ref_pred, rtol=1e-12)
    assert len(curve.to_frame()) == prob_true.size


def test_ranking_and_group_results_frames():
    r = RESULTS["RankingResult"]
    frame = r.to_frame()
    assert list(frame.columns) == ["query", "value"] and len(frame) == 200
    assert float(r) == r.mean
    q = RESULTS["RankingResult query"]
    assert list(q.to_frame()["query"]) == ["a", "b"]
    g = RESULTS["GroupAUCResult"]
    assert list(g.to_frame().columns) == ["group", "auc", "weight"] and len(g.to_frame()) == g.n_groups
    assert float(g) == g.score and float(RESULTS["ApproximateAUC"]) == RESULTS["ApproximateAUC"].auc


# ---------------------------------------------------------------------------------------------
# Mergeable states (merge == whole and the JSON round trip: tests/test_contract_states.py)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [M.ScoreTable, M.LogLossSums])
@pytest.mark.parametrize("bad", [None, 5, "x", [1, 2], {"state": "Stats"}, {"score": "x"}, {"loss": "a"},
                                 {"state": "ScoreTable", "score": [1.0], "positive": [1.0]}])
def test_from_dict_rejects_what_to_dict_did_not_write(cls, bad):
    with pytest.raises(InvalidParameterError, match=f"'d' parameter of {cls.__name__}.from_dict"):
        cls.from_dict(bad)


@pytest.mark.parametrize("cls, bad", [
    (M.LogLossSums, {"loss": math.inf, "weight": 1.0, "positive": 0.0, "eps": 1e-7}),
    (M.LogLossSums, {"loss": 1.0, "weight": math.inf, "positive": 0.0, "eps": 1e-7}),
    (M.ScoreTable, {"score": [0.5], "positive": [1.0], "negative": [0.0], "bins": None, "sample_weight": [1.0]}),
])
def test_from_dict_rejects_infinite_sums_and_unknown_keys(cls, bad):
    with pytest.raises(InvalidParameterError, match=f"'d' parameter of {cls.__name__}.from_dict"):
        cls.from_dict({"state": cls.__name__, **bad})


def test_state_results_and_legacy_merge():
    t = M.ScoreTable.from_arrays(YR, SR, sample_weight=WR)
    r = t.result()
    assert r.roc_auc == M.roc_auc_score(YR, SR, sample_weight=WR)
    assert r.average_precision == M.average_precision_score(YR, SR, sample_weight=WR)
    assert r.positive == pytest.approx(WR[YR].sum(), rel=1e-12) and r.n_scores == len(t)
    assert np.isnan(M.ScoreTable().result().roc_auc)
    s = M.LogLossSums.from_arrays(YR, PR)
    assert s.result().log_loss == M.log_loss(YR, PR) and s.result().normalized_entropy == M.normalized_entropy(YR, PR)
    assert np.isnan(M.LogLossSums().result().log_loss)
    parts = [M.LogLossSums.from_arrays(YR[:100], PR[:100]), M.LogLossSums.from_arrays(YR[100:], PR[100:])]
    with pytest.warns(FutureWarning, match="LogLossSums.merge"):
        legacy = M.LogLossSums.merge(parts)
    assert legacy == parts[0].merge(parts[1])
    table = pickle.loads(pickle.dumps(t))
    _same_table(table, t, True)
