"""group_auc against pandas + scikit-learn; ranking metrics against scikit-learn and ranx."""

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

import mlsd.metrics as M
from conftest import binary_data

TOL = dict(rtol=1e-10, atol=1e-12)  # np.testing.assert_allclose
APPROX = dict(rel=1e-10, abs=1e-12)  # pytest.approx


def reference_gauc(y, s, g, w=None, weight="impressions"):
    df = pd.DataFrame({"y": y, "s": s, "g": g, "w": np.ones(len(y)) if w is None else w})
    df = df[df.w > 0]
    aucs, weights = {}, {}
    for key, part in df.groupby("g", sort=True):
        if part.y.nunique() < 2:
            continue
        aucs[key] = skm.roc_auc_score(part.y, part.s, sample_weight=None if w is None else part.w)
        weights[key] = part.w.sum() if weight == "impressions" else 1.0
    keys = list(aucs)
    return np.average([aucs[k] for k in keys], weights=[weights[k] for k in keys]), aucs


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("weight", ["impressions", "uniform"])
def test_group_auc_matches_groupby_sklearn(seed, weight):
    y, s, w = binary_data(seed, n=4000, weights=seed % 3 == 0, zero_weights=True)
    rng = np.random.default_rng(seed)
    g = rng.integers(-50, 150, len(y))  # unsorted, negative ids, some singleton groups
    expected, per_group = reference_gauc(y, s, g, w, weight)
    r = M.group_auc(y, s, groups=g, sample_weight=w, weight=weight)
    assert r.score == pytest.approx(expected, **APPROX)
    valid = ~np.isnan(r.auc)
    assert r.n_skipped == r.n_groups - len(per_group) == (~valid).sum()
    np.testing.assert_array_equal(r.groups[valid], list(per_group))
    np.testing.assert_allclose(r.auc[valid], list(per_group.values()), **TOL)
    assert r.groups.dtype == g.dtype


def test_group_auc_string_groups_and_frame():
    y, s, _ = binary_data(5, n=3000)
    rng = np.random.default_rng(1)
    g = np.array([f"user_{i}" for i in rng.integers(0, 60, len(y))], dtype=object)
    expected, _ = reference_gauc(y, s, g)
    r = M.group_auc(y, s, groups=g)
    assert r.score == pytest.approx(expected, **APPROX)
    assert list(r.groups) == sorted(set(g))
    assert list(r.to_frame().columns) == ["group", "auc", "weight"]
    assert M.group_auc(y, s, groups=g.astype(str)).score == r.score


def test_group_auc_errors():
    with pytest.raises(ValueError, match="no group contains both classes"):
        M.group_auc([0, 1], [0.1, 0.2], groups=["a", "b"])
    with pytest.raises(ValueError, match="groups has 1 elements but y_true has 2"):
        M.group_auc([0, 1], [0.1, 0.2], groups=[1])
    with pytest.raises(ValueError, match="missing values"):
        M.group_auc([0, 1, 0], [0.1, 0.2, 0.3], groups=["a", None, "a"])
    with pytest.raises(ValueError, match="groups contains NaN"):
        M.group_auc([0, 1, 0], [0.1, 0.2, 0.3], groups=[1.0, np.nan, 1.0])
    with pytest.raises(ValueError, match="'weight' parameter of group_auc"):
        M.group_auc([0, 1], [0.1, 0.2], groups=[1, 1], weight="clicks")


# ------------------------------------------------------------------------------- ranking


def ranking_data(seed, n_queries=60, n_docs=25, ties=True):
    rng = np.random.default_rng(seed)
    rel = rng.integers(0, 4, (n_queries, n_docs)).astype(float) * (rng.random((n_queries, n_docs)) < 0.4)
    if ties:
        score = np.round(rng.random((n_queries, n_docs)), 1)  # heavy ties
    else:
        score = rng.permutation(n_queries * n_docs).reshape(n_queries, n_docs) / (n_queries * n_docs)
    rel[0] = 0  # a query with no relevant document
    return rel, score


@pytest.mark.parametrize("seed", range(15))
@pytest.mark.parametrize("k", [1, 3, 10, 25, 40, None])
def test_ndcg_and_dcg_match_sklearn_with_ties(seed, k):
    rel, score = ranking_data(seed)
    assert M.ndcg_at_k(rel, score, k).mean == pytest.approx(skm.ndcg_score(rel, score, k=k), **APPROX)
    assert M.dcg_at_k(rel, score, k).mean == pytest.approx(skm.dcg_score(rel, score, k=k), **APPROX)
    for ignore in (True, False):
        tie_free = ranking_data(seed, ties=False)[1]
        assert M.ndcg_at_k(rel, tie_free, k, ignore_ties=ignore).mean == pytest.approx(
            skm.ndcg_score(rel, tie_free, k=k, ignore_ties=ignore), **APPROX)


def test_ndcg_per_query_and_sample_weight_match_sklearn():
    rel, score = ranking_data(3)
    r = M.ndcg_at_k(rel, score, 5)
    expected = [skm.ndcg_score(rel[i:i + 1], score[i:i + 1], k=5) for i in range(len(rel))]
    np.testing.assert_allclose(r.per_query, expected, **TOL)
    w = np.random.default_rng(0).random(len(rel))
    assert M.ndcg_at_k(rel, score, 5, sample_weight=w).mean == pytest.approx(
        skm.ndcg_score(rel, score, k=5, sample_weight=w), **APPROX)
    assert float(r) == r.mean


def _ranx_inputs(rel, score):
    from ranx import Qrels, Run

    qrels = {f"q{i:04d}": {f"d{j:04d}": int(rel[i, j]) for j in range(rel.shape[1]) if rel[i, j] > 0}
             for i in range(rel.shape[0])}
    run = {f"q{i:04d}": {f"d{j:04d}": float(score[i, j]) for j in range(rel.shape[1])} for i in range(rel.shape[0])}
    return Qrels(qrels), Run(run)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("k", [1, 5, 20])
def test_ranking_metrics_match_ranx(seed, k):
    from ranx import evaluate

    rel, score = ranking_data(seed, ties=False)
    rel[0, 3] = 2  # ranx needs at least one relevant document per query
    qrels, run = _ranx_inputs(rel, score)
    names = {"ndcg": f"ndcg@{k}", "ndcg_burges": f"ndcg_burges@{k}", "map": f"map@{k}", "mrr": f"mrr@{k}",
             "precision": f"precision@{k}", "recall": f"recall@{k}", "hit_rate": f"hit_rate@{k}"}
    ref = evaluate(qrels, run, list(names.values()), return_mean=False, make_comparable=True)
    ours = {
        "ndcg": M.ndcg_at_k(rel, score, k, ignore_ties=True),
        "ndcg_burges": M.ndcg_at_k(rel, score, k, gain="exponential", ignore_ties=True),
        "map": M.map_at_k(rel, score, k),
        "mrr": M.mrr(rel, score, k),
        "precision": M.precision_at_k(rel, score, k),
        "recall": M.recall_at_k(rel, score, k),
        "hit_rate": M.hit_rate_at_k(rel, score, k),
    }
    for key, name in names.items():
        np.testing.assert_allclose(ours[key].per_query, ref[name], **TOL, err_msg=name)


def test_csr_input_equals_each_query_alone():
    rng = np.random.default_rng(8)
    lengths = rng.integers(0, 30, 40)
    lengths[5] = 0  # an empty list
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    rel = rng.integers(0, 3, indptr[-1]).astype(float)
    score = np.round(rng.random(indptr[-1]), 1)
    for fn in (M.ndcg_at_k, M.dcg_at_k, M.map_at_k, M.mrr, M.precision_at_k, M.recall_at_k, M.hit_rate_at_k):
        r = fn(rel, score, 7, indptr=indptr)
        for q in range(len(lengths)):
            a, b = indptr[q], indptr[q + 1]
            if b == a:
                assert r.per_query[q] == 0.0
                continue
            alone = fn(rel[a:b][None, :], score[a:b][None, :], 7).per_query[0]
            assert r.per_query[q] == pytest.approx(alone, **APPROX), (fn.__name__, q)


def test_precision_denominator_is_k_even_for_short_lists():
    assert M.precision_at_k([[1, 1, 0]], [[3, 2, 1]], k=5).mean == pytest.approx(2 / 5)
    assert M.recall_at_k([[1, 1, 0]], [[3, 2, 1]], k=5).mean == 1.0


def test_empty_target_action():
    rel = np.array([[0, 0, 0], [1, 0, 0]], dtype=float)
    score = np.array([[0.3, 0.2, 0.1], [0.1, 0.2, 0.3]])
    assert M.ndcg_at_k(rel, score, 2).per_query[0] == 0.0
    r = M.ndcg_at_k(rel, score, 2, empty_target_action="pos")
    assert r.per_query[0] == 1.0
    r = M.map_at_k(rel, score, 3, empty_target_action="skip")
    assert np.isnan(r.per_query[0]) and r.mean == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="map_at_k: query 0 has no relevant document"):
        M.map_at_k(rel, score, 3, empty_target_action="error")
    with pytest.warns(M.UndefinedMetricWarning, match="every query was skipped"):
        assert np.isnan(M.mrr(rel[:1], score[:1], empty_target_action="skip").mean)


RANKING_FUNCS = [M.dcg_at_k, M.ndcg_at_k, M.map_at_k, M.mrr, M.precision_at_k, M.recall_at_k, M.hit_rate_at_k]


@pytest.mark.parametrize("func", RANKING_FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("labels", ["int", "str"])
def test_query_labels_equal_csr_lists(func, labels):
    # query= takes a label per row, in any order: the same as indptr over the rows stably sorted by query
    rng = np.random.default_rng(3)
    q = np.repeat(rng.permutation(40) * 3, rng.integers(1, 12, 40))
    rng.shuffle(q)
    n = q.size
    rel = (rng.integers(0, 4, n) * (rng.random(n) < 0.5)).astype(float)
    score = np.round(rng.normal(size=n), 1)  # ties: broken by the original row order
    order = np.argsort(q, kind="stable")
    qs = q[order]
    starts = np.flatnonzero(np.concatenate([[True], qs[1:] != qs[:-1]]))
    w = rng.uniform(0.5, 2, starts.size)
    ref = func(rel[order], score[order], 4, indptr=np.append(starts, n), sample_weight=w)
    key = q if labels == "int" else np.array([f"q{v:04d}" for v in q], dtype=object)
    r = func(rel, score, 4, query=key, sample_weight=w)
    np.testing.assert_array_equal(r.queries, np.sort(np.unique(key)))
    np.testing.assert_array_equal(r.per_query, ref.per_query)
    assert r.mean == ref.mean
    assert ref.queries is None


def test_query_labels_already_grouped_and_errors():
    rel, score = np.array([1.0, 0, 0, 1, 1]), np.array([0.5, 0.4, 0.9, 0.1, 0.3])
    r = M.ndcg_at_k(rel, score, 3, query=[7, 7, 9, 9, 9])
    assert r.per_query.tolist() == M.ndcg_at_k(rel, score, 3, indptr=[0, 2, 5]).per_query.tolist()
    assert r.queries.tolist() == [7, 9]
    with pytest.raises(ValueError, match="ndcg_at_k: pass either indptr .* or query"):
        M.ndcg_at_k(rel, score, 3, indptr=[0, 5], query=[1] * 5)
    with pytest.raises(ValueError, match="ndcg_at_k: query has 2 elements but y_true has 5"):
        M.ndcg_at_k(rel, score, 3, query=[1, 2])
    with pytest.raises(ValueError, match="The 'query' parameter of mrr must be a 1-D"):
        M.mrr(rel, score, query=np.ones((5, 1)))
    with pytest.raises(ValueError, match="map_at_k: query contains missing values"):
        M.map_at_k(rel, score, query=["a", None, "a", "b", "b"])
    with pytest.raises(ValueError, match="no query given"):
        M.ndcg_at_k([], [], query=[])
