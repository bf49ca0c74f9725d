"""mlsd.metrics on the one contract (issue 13): declared parameters that reject bad values naming
the function and the argument; result objects (immutable, to_frame, HTML, short repr, plot); and
the mergeable states (merge == whole on random uneven partitions, exact JSON round trip).

The state tests are written per *state spec* (how to build a state from rows, how to compare two
states), so that another family's states (``abtest.Stats``) can run the same checks."""

from __future__ import annotations

import inspect
import json
import math
import pickle
from dataclasses import dataclass
from numbers import Integral
from typing import Any, Callable

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn import metrics as skm  # noqa: E402

import mlsd.dask as md  # noqa: E402
import mlsd.metrics as M  # noqa: E402
from mlsd._params import ArrayLike, Check, Interval, Options  # noqa: E402
from mlsd._validation import InvalidParameterError  # noqa: E402

Y = np.array([0, 1, 0, 1, 1, 0, 1, 0])
S = np.array([0.1, 0.8, 0.3, 0.6, 0.9, 0.2, 0.7, 0.4])
G = np.array([0, 0, 0, 0, 1, 1, 1, 1])
REL = np.array([[3.0, 2, 0, 1], [0, 1, 2, 0]])
SC = np.array([[0.9, 0.1, 0.8, 0.3], [0.5, 0.4, 0.3, 0.2]])

# ---------------------------------------------------------------------------------------------
# Declared parameters
# ---------------------------------------------------------------------------------------------

RANKING = ("dcg_at_k", "ndcg_at_k", "map_at_k", "mrr", "precision_at_k", "recall_at_k", "hit_rate_at_k")

# public name -> (callable factory, valid keyword arguments)
CALLS: dict[str, tuple[Callable[[], Any], dict]] = {
    **{name: ((lambda f=getattr(M, name): f), dict(y_true=Y, y_score=S))
       for name in ("roc_auc_score", "roc_curve", "precision_recall_curve", "average_precision_score",
                    "binned_roc_auc_score")},
    **{name: ((lambda f=getattr(M, name): f), dict(y_true=Y, y_prob=S))
       for name in ("log_loss", "brier_score_loss", "normalized_entropy", "calibration_curve",
                    "expected_calibration_error")},
    "group_auc": (lambda: M.group_auc, dict(y_true=Y, y_score=S, groups=G)),
    **{name: ((lambda f=getattr(M, name): f), dict(y_true=REL, y_score=SC)) for name in RANKING},
    "ScoreTable": (lambda: M.ScoreTable, dict(score=[0.9, 0.5], positive=[1.0, 0.0], negative=[0.0, 2.0])),
    "ScoreTable.from_arrays": (lambda: M.ScoreTable.from_arrays, dict(y_true=Y, y_score=S)),
    "ScoreTable.update": (lambda: M.ScoreTable.from_arrays(Y, S).update, dict(y_true=Y, y_score=S)),
    "ScoreTable.merge": (lambda: M.ScoreTable.from_arrays(Y, S).merge, dict()),
    "ScoreTable.roc_auc_score": (lambda: M.ScoreTable.from_arrays(Y, S).roc_auc_score, dict()),
    "ScoreTable.roc_curve": (lambda: M.ScoreTable.from_arrays(Y, S).roc_curve, dict()),
    "ScoreTable.precision_recall_curve": (lambda: M.ScoreTable.from_arrays(Y, S).precision_recall_curve, dict()),
    "ScoreTable.average_precision_score": (lambda: M.ScoreTable.from_arrays(Y, S).average_precision_score, dict()),
    "ScoreTable.result": (lambda: M.ScoreTable.from_arrays(Y, S).result, dict()),
    "ScoreTable.from_dict": (lambda: M.ScoreTable.from_dict, dict(d=M.ScoreTable.from_arrays(Y, S).to_dict())),
    "LogLossSums": (lambda: M.LogLossSums, dict(loss=1.0, weight=2.0, positive=1.0)),
    "LogLossSums.from_arrays": (lambda: M.LogLossSums.from_arrays, dict(y_true=Y, y_prob=S)),
    "LogLossSums.update": (lambda: M.LogLossSums.from_arrays(Y, S).update, dict(y_true=Y, y_prob=S)),
    "LogLossSums.merge": (lambda: M.LogLossSums.from_arrays(Y, S).merge, dict()),
    "LogLossSums.log_loss": (lambda: M.LogLossSums.from_arrays(Y, S).log_loss, dict()),
    "LogLossSums.normalized_entropy": (lambda: M.LogLossSums.from_arrays(Y, S).normalized_entropy, dict()),
    "LogLossSums.result": (lambda: M.LogLossSums.from_arrays(Y, S).result, dict()),
    "LogLossSums.from_dict": (lambda: M.LogLossSums.from_dict, dict(d=M.LogLossSums.from_arrays(Y, S).to_dict())),
}


def _target(fn):
    return fn.__init__ if inspect.isclass(fn) else fn


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


def test_the_table_covers_the_public_api():
    listed = {n for n, _ in _public_callables() if not n.endswith(".to_dict")}
    assert listed - set(CALLS) <= {"brier_score"}  # the alias of brier_score_loss, the same function
    assert M.brier_score is M.brier_score_loss


def _bad_values(constraints, valid):
    """Bad values by kind for one declared parameter (the kinds the declaration allows dropped)."""
    out = {"str": "abc", "object": object(), "complex": 1j}
    if None not in constraints:
        out["None"] = None
    for c in constraints:
        if isinstance(c, ArrayLike):
            a = np.asarray(valid, dtype=np.float64)
            out.update({"0-d": np.float64(0.5), "3-D": np.zeros((2, 2, 2)),
                        "complex array": a.astype(np.complex128) + 1j,
                        "object array": np.array(["x"] * a.size, dtype=object).reshape(a.shape)})
            if a.size:
                nan = a.copy()
                nan.flat[0] = np.nan
                out["NaN"] = nan
                inf = a.copy()
                inf.flat[0] = np.inf
                out["inf"] = inf
        elif isinstance(c, Interval):
            out["bool"] = True
            if c.type is Integral:
                out["float"] = 1.5  # a huge int is a valid k (the whole list)
            else:
                out.update({"nan": float("nan"), "huge int": 2**2000})
            if c.left is not None:
                out["below"] = c.left - 1
            if c.right is not None:
                out["above"] = c.right + 1
        elif isinstance(c, Options):
            out.update({"unknown option": "__no_such_option__", "int option": 3})
        elif c == "boolean":
            out["int for bool"] = 2
        elif isinstance(c, Check) and c.description.startswith("a pair"):
            out.update({"reversed": (1.0, 0.0), "infinite": (0.0, np.inf), "triple": (0.0, 0.5, 1.0)})
    return out


def _bad_cases():
    for name, (factory, valid) in CALLS.items():
        fn = factory()
        declared = _target(fn).__mlsd_params__
        sig = inspect.signature(_target(fn))
        for param, constraints in declared.items():
            if sig.parameters[param].kind is inspect.Parameter.VAR_POSITIONAL:
                continue  # checked by test_merge_rejects_other_types
            default = sig.parameters[param].default
            base = valid.get(param, None if default is inspect.Parameter.empty else default)
            if base is None or isinstance(base, (dict, tuple)) or np.asarray(base).dtype.kind not in "biuf":
                base = [0.5, 0.25]
            for kind, value in _bad_values(constraints, base).items():
                if param in ("groups", "query") and kind in ("NaN", "inf", "complex array", "object array",
                                                              "complex"):
                    continue  # labels: any hashable values (NaN is rejected by group_auc, tested there)
                yield pytest.param(name, param, value, id=f"{name}-{param}-{kind}")


@pytest.mark.parametrize("name, param, value", list(_bad_cases()))
def test_bad_values_raise_naming_function_and_argument(name, param, value):
    factory, valid = CALLS[name]
    fn = factory()
    with pytest.raises((ValueError, TypeError)) as info:
        fn(**{**valid, param: value})
    msg = str(info.value)
    assert name in msg and param in msg, msg


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
# Mergeable states: one spec per state
# ---------------------------------------------------------------------------------------------


@dataclass
class StateSpec:
    """How the common state checks build and compare one kind of state.

    ``rows(rng)`` draws a data set (a dict of equal-length arrays); ``build(**rows)`` is the
    state's ``from_arrays``; ``update(state, **rows)`` its ``update``; ``same(a, b)`` asserts two
    states hold the same summary (exactly when ``exact``, else to 1e-12 relative)."""

    name: str
    rows: Callable[[np.random.Generator], dict]
    build: Callable[..., Any]
    update: Callable[..., Any]
    same: Callable[[Any, Any, bool], None]
    exact: bool


def _same_table(a, b, exact):
    np.testing.assert_array_equal(a.score, b.score)
    tol = dict(rtol=0, atol=0) if exact else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.positive, b.positive, **tol)
    np.testing.assert_allclose(a.negative, b.negative, **tol)
    assert a.bins == b.bins
    if exact and a.positive.sum() > 0 and a.negative.sum() > 0:
        assert a.roc_auc_score() == b.roc_auc_score()
        assert a.average_precision_score() == b.average_precision_score()


def _same_sums(a, b, exact):
    assert a.eps == b.eps
    for f in ("loss", "weight", "positive"):
        assert getattr(a, f) == (getattr(b, f) if exact else pytest.approx(getattr(b, f), rel=1e-12, abs=1e-12))


def _binary_rows(weighted, discrete=False):
    def rows(rng):
        n = int(rng.integers(200, 2000))
        y = rng.random(n) < 0.3
        s = rng.normal(size=n) + y
        s = np.round(s, 1) if discrete else s
        out = {"y_true": y, "y_score": s}
        if weighted:
            out["sample_weight"] = rng.uniform(0, 2, n)
        return out
    return rows


def _prob_rows(weighted):
    def rows(rng):
        r = _binary_rows(weighted)(rng)
        r["y_prob"] = 1 / (1 + np.exp(-r.pop("y_score")))
        return r
    return rows


STATES = [
    # exact: without weights a table's weights are integer counts, added exactly in any order
    StateSpec("ScoreTable", _binary_rows(False), M.ScoreTable.from_arrays, M.ScoreTable.update, _same_table, True),
    StateSpec("ScoreTable ties", _binary_rows(False, discrete=True), M.ScoreTable.from_arrays, M.ScoreTable.update,
              _same_table, True),
    StateSpec("ScoreTable weighted", _binary_rows(True), M.ScoreTable.from_arrays, M.ScoreTable.update,
              _same_table, False),
    StateSpec("ScoreTable binned", _binary_rows(True),
              lambda **r: M.ScoreTable.from_arrays(**r, n_bins=32, range=(-3.0, 4.0)), M.ScoreTable.update,
              _same_table, False),
    StateSpec("LogLossSums", _prob_rows(False), M.LogLossSums.from_arrays, M.LogLossSums.update, _same_sums, False),
    StateSpec("LogLossSums weighted", _prob_rows(True), M.LogLossSums.from_arrays, M.LogLossSums.update,
              _same_sums, False),
]


def _partition(rows: dict, rng) -> list[dict]:
    """Random uneven cuts, with empty and one-row parts."""
    n = len(next(iter(rows.values())))
    cuts = np.sort(np.concatenate([[0, 0, 1], rng.integers(0, n, int(rng.integers(2, 9))), [n, n]]))
    return [{k: v[a:b] for k, v in rows.items()} for a, b in zip(cuts[:-1], cuts[1:])]


def _combine(states, rng):
    """Merge in a random order, mixing merge(*others), + and sum()."""
    order = list(rng.permutation(len(states)))
    parts = [states[i] for i in order]
    how = rng.integers(0, 3)
    if how == 0:
        return parts[0].merge(*parts[1:])
    if how == 1:
        return sum(parts)
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("spec", STATES, ids=lambda s: s.name)
def test_merge_of_random_partitions_equals_the_whole(spec, seed):
    rng = np.random.default_rng(seed)
    rows = spec.rows(rng)
    whole = spec.build(**rows)
    pieces = _partition(rows, rng)
    states = [spec.build(**p) for p in pieces]
    snapshot = [json.dumps(s.to_dict()) for s in states]
    spec.same(_combine(states, rng), whole, spec.exact)
    assert [json.dumps(s.to_dict()) for s in states] == snapshot  # merge changed none of its inputs
    # streaming: update in place, batch by batch, in a random order of the batches
    streamed = spec.build(**{k: v[:0] for k, v in pieces[0].items()})
    if "binned" in spec.name:
        streamed = spec.build(**pieces[0])
        rest = pieces[1:]
    else:
        rest = pieces
    for i in rng.permutation(len(rest)):
        assert spec.update(streamed, **rest[i]) is streamed
    spec.same(streamed, whole, spec.exact)


@pytest.mark.parametrize("spec", STATES, ids=lambda s: s.name)
def test_json_round_trip_is_exact(spec):
    rng = np.random.default_rng(11)
    rows = spec.rows(rng)
    for state in (spec.build(**rows), spec.build(**{k: v[:0] for k, v in rows.items()})):
        d = state.to_dict()
        assert d["state"] == type(state).__name__
        again = type(state).from_dict(json.loads(json.dumps(d)))
        assert type(again) is type(state)
        spec.same(again, state, True)
        assert again.to_dict() == d


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
