"""mlsd.dask metrics on a LocalCluster (2 worker processes, 1 thread each) against the
single-machine functions, on unevenly partitioned data with empty and single-class partitions."""

import numpy as np
import pandas as pd
import pytest

import mlsd.metrics as M

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
import dask  # noqa: E402

import mlsd.dask as md  # noqa: E402
from conftest import uneven_split  # noqa: E402


def click_data(seed, n=6000, ties=False, weights=False):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.25).astype(np.int64)
    y[:60], y[60:80] = 0, 1  # the first two partitions hold a single class
    logit = rng.normal(size=n) + 1.3 * y - 1
    p = 1 / (1 + np.exp(-logit))
    if ties:
        p = np.round(p, 2)
    w = rng.uniform(0, 3, n) if weights else None
    return y, p, w


def chunks_for(n, seed):
    rest = uneven_split(n - 80, seed)
    return (60, 20) + rest


def as_dask(chunks, *arrays):
    return [None if a is None else da.from_array(a, chunks=(chunks,)) for a in arrays]


def as_frame(chunks, **cols):
    """A Dask DataFrame whose partitions have exactly these lengths (empty ones included)."""
    df = pd.DataFrame(cols)
    bounds = np.concatenate([[0], np.cumsum(chunks)])
    parts = [dask.delayed(df.iloc[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    return dd.from_delayed(parts, meta=df.iloc[:0], verify_meta=False)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ties", [False, True])
def test_threshold_metrics_equal_single_machine(dask_client, seed, weighted, ties):
    y, p, w = click_data(seed, ties=ties, weights=weighted)
    dy, dp, dw = as_dask(chunks_for(y.size, seed), y, p, w)
    assert 0 in dy.chunks[0]
    tol = dict(rtol=1e-12, atol=0)
    for n_ranges in (None, 1, 3, 7):
        np.testing.assert_allclose(md.roc_auc_score(dy, dp, sample_weight=dw, n_ranges=n_ranges),
                                   M.roc_auc_score(y, p, sample_weight=w), **tol)
    np.testing.assert_allclose(md.roc_auc_score(dy, dp, sample_weight=dw, max_fpr=0.1),
                               M.roc_auc_score(y, p, sample_weight=w, max_fpr=0.1), **tol)
    np.testing.assert_allclose(md.average_precision_score(dy, dp, sample_weight=dw),
                               M.average_precision_score(y, p, sample_weight=w), **tol)
    np.testing.assert_allclose(md.log_loss(dy, dp, sample_weight=dw), M.log_loss(y, p, sample_weight=w), rtol=1e-12)
    np.testing.assert_allclose(md.normalized_entropy(dy, dp, sample_weight=dw),
                               M.normalized_entropy(y, p, sample_weight=w), rtol=1e-12)
    r = md.binned_roc_auc_score(dy, dp, sample_weight=dw, n_bins=256)
    ref = M.binned_roc_auc_score(y, p, sample_weight=w, n_bins=256)
    np.testing.assert_allclose([r.auc, r.error_bound], [ref.auc, ref.error_bound], rtol=1e-12)
    assert abs(r.auc - M.roc_auc_score(y, p, sample_weight=w)) <= r.error_bound
    t = md.score_table(dy, dp, sample_weight=dw, n_ranges=5)
    for ours, theirs in zip(t.roc_curve(), M.roc_curve(y, p, sample_weight=w)):
        np.testing.assert_allclose(ours, theirs, **tol)
    if not weighted:  # integer counts: the table itself is exact
        ref_table = M.ScoreTable.from_arrays(y, p)
        for ours, theirs in zip(t._arrays(), ref_table._arrays()):
            np.testing.assert_array_equal(ours, theirs)
    t = md.score_table(dy, dp, sample_weight=dw, n_bins=64, split_every=2)  # a deeper merge tree
    ref_table = M.ScoreTable.from_arrays(y, p, sample_weight=w, n_bins=64)
    for ours, theirs in zip(t._arrays(), ref_table._arrays()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_exact_metrics_with_more_ranges_than_distinct_scores(dask_client, weighted):
    """Three distinct scores over 40 ranges: cuts fall on tied scores, most ranges are empty, and
    more than 24 cuts take the kernel's binary search instead of its vectorised comparison."""
    y, p, w = click_data(11, n=3000, weights=weighted)
    p = np.digitize(p, [0.3, 0.6]) / 2.0
    dy, dp, dw = as_dask(chunks_for(y.size, 11), y, p, w)
    for n_ranges in (2, 40):
        assert md.roc_auc_score(dy, dp, sample_weight=dw, n_ranges=n_ranges) == pytest.approx(
            M.roc_auc_score(y, p, sample_weight=w), rel=1e-12, abs=0)
        assert md.average_precision_score(dy, dp, sample_weight=dw, n_ranges=n_ranges) == pytest.approx(
            M.average_precision_score(y, p, sample_weight=w), rel=1e-12, abs=0)
        t = md.score_table(dy, dp, sample_weight=dw, n_ranges=n_ranges)
        ref = M.ScoreTable.from_arrays(y, p, sample_weight=w)
        np.testing.assert_array_equal(t.score, ref.score)
        np.testing.assert_allclose(t.positive, ref.positive, rtol=1e-12)
        np.testing.assert_allclose(t.negative, ref.negative, rtol=1e-12)


def test_range_plan_covers_every_range_once():
    from mlsd.dask import _metrics as dm

    n_ranges, groups = dm._plan({"tcp://b:1": 3, "tcp://a:1": 1}, None, "f")
    assert n_ranges == 16  # four per thread
    assert [g[0] for g in groups] == ["tcp://a:1", "tcp://b:1"]
    assert [(g[1], g[2]) for g in groups] == [(0, 4), (4, 16)]  # shares follow the threads
    assert dm._plan({"w": 2, "v": 2}, 1, "f")[1] == [("w", 0, 1)]  # fewer ranges than workers
    assert dm._plan({}, 5, "f") == (5, [(None, 0, 5)])  # a local scheduler: one group
    import dask.array as da

    y, s = da.from_array(np.array([0, 1, 1])), da.from_array(np.array([0.1, 0.5, 0.7]))
    for bad in (0, 4097, 1.5):  # declared: checked on the client before any task runs
        with pytest.raises(ValueError, match="The 'n_ranges' parameter of roc_auc_score must be an int in the range"):
            md.roc_auc_score(y, s, n_ranges=bad)


def test_dask_series_and_rechunked_arrays(dask_client):
    y, p, w = click_data(7, weights=True)
    ch = chunks_for(y.size, 7)
    df = as_frame(ch, y=y, p=p, w=w)
    assert df.npartitions == len(ch)
    assert md.roc_auc_score(df["y"], df["p"], sample_weight=df["w"]) == pytest.approx(
        M.roc_auc_score(y, p, sample_weight=w), rel=1e-12)
    assert md.log_loss(df["y"], df["p"]) == pytest.approx(M.log_loss(y, p), rel=1e-12)
    # arrays with different chunks are rechunked to y_true's
    dy = da.from_array(y, chunks=(ch,))
    dp = da.from_array(p, chunks=1000)
    assert md.roc_auc_score(dy, dp) == M.roc_auc_score(y, p)


def test_float32_probabilities_clip_like_single_machine(dask_client):
    y, p, _ = click_data(2)
    p32 = p.astype(np.float32)
    p32[:5] = 0.0  # a confident mistake: clipped at float32 eps
    dy, dp = as_dask(chunks_for(y.size, 2), y, p32)
    assert md.log_loss(dy, dp) == pytest.approx(M.log_loss(y, p32), rel=1e-12)


@pytest.mark.parametrize("weight", ["impressions", "uniform"])
@pytest.mark.parametrize("kind", ["int", "str"])
def test_group_auc_equals_single_machine(dask_client, weight, kind):
    rng = np.random.default_rng(5)
    y, p, w = click_data(5, n=4000, ties=True, weights=True)
    g = rng.integers(0, 300, y.size)
    if kind == "str":
        g = np.array([f"user{v}" for v in g], dtype=object)
    ch = chunks_for(y.size, 5)
    df = as_frame(ch, y=y, p=p, w=w, g=g)
    r = md.group_auc(df["y"], df["p"], groups=df["g"], sample_weight=df["w"], weight=weight)
    ref = M.group_auc(y, p, groups=g, sample_weight=w, weight=weight)
    np.testing.assert_array_equal(r.groups, ref.groups)
    np.testing.assert_allclose(r.auc, ref.auc, rtol=1e-12)
    np.testing.assert_allclose(r.weight, ref.weight, rtol=1e-12)
    assert r.score == pytest.approx(ref.score, rel=1e-12)
    assert (r.n_groups, r.n_skipped) == (ref.n_groups, ref.n_skipped)


def test_group_auc_without_shuffle(dask_client):
    y, p, _ = click_data(6, n=3000)
    g = np.repeat(np.arange(30), 100)  # sorted: each group within one partition of 100 rows
    dy, dp, dg = (da.from_array(a, chunks=(100,) * 30) for a in (y, p, g))
    r = md.group_auc(dy, dp, groups=dg, shuffle=False)
    assert r.score == pytest.approx(M.group_auc(y, p, groups=g).score, rel=1e-12)
    dg_split = da.from_array(g, chunks=(150,) * 20)  # groups straddle partitions
    dy2, dp2 = (da.from_array(a, chunks=(150,) * 20) for a in (y, p))
    with pytest.raises(ValueError, match="span partitions"):
        md.group_auc(dy2, dp2, groups=dg_split, shuffle=False)


RANKING = [("ndcg_at_k", dict(k=5)), ("ndcg_at_k", dict(k=None, gain="exponential")), ("dcg_at_k", dict(k=3)),
           ("map_at_k", dict(k=10)), ("mrr", dict()), ("precision_at_k", dict(k=3)), ("recall_at_k", dict(k=5)),
           ("hit_rate_at_k", dict(k=2, empty_target_action="skip"))]


@pytest.mark.parametrize("name,kw", RANKING)
def test_ranking_metrics_equal_single_machine(dask_client, name, kw):
    rng = np.random.default_rng(11)
    n_queries = 200
    sizes = rng.integers(1, 30, n_queries)
    q = np.repeat(rng.permutation(n_queries) * 7, sizes)  # query ids, not in sorted order
    rng.shuffle(q)  # documents of a query are scattered over partitions
    n = q.size
    rel = rng.integers(0, 4, n) * (rng.random(n) < 0.4)
    score = np.round(rng.normal(size=n), 1)  # ties, broken by original order
    ch = uneven_split(n, 3)
    df = as_frame(ch, q=q, rel=rel.astype(float), score=score)
    r = getattr(md, name)(df["rel"], df["score"], query=df["q"], **kw)
    order = np.argsort(q, kind="stable")  # the single-machine lists: original order within a query
    qs = q[order]
    starts = np.flatnonzero(np.concatenate([[True], qs[1:] != qs[:-1]]))
    indptr = np.append(starts, n)
    ref = getattr(M, name)(rel[order].astype(float), score[order], indptr=indptr, **kw)
    np.testing.assert_array_equal(r.queries, qs[starts])
    np.testing.assert_allclose(r.per_query, ref.per_query, rtol=1e-12, equal_nan=True)
    assert r.mean == pytest.approx(ref.mean, rel=1e-12)
    # the single-machine twin with the same keyword: the same lists, exactly
    by_label = getattr(M, name)(rel.astype(float), score, query=q, **kw)
    np.testing.assert_array_equal(by_label.queries, r.queries)
    np.testing.assert_array_equal(by_label.per_query, ref.per_query)


def test_errors(dask_client):
    y, p, _ = click_data(1, n=500)
    dy, dp = as_dask((250, 250), y, p)
    with pytest.raises(TypeError, match="Dask array or a Dask Series"):
        md.roc_auc_score(y, dp)
    with pytest.raises(ValueError, match="has 400 elements but y_true has 500"):
        md.roc_auc_score(dy, dp[:400])
    with pytest.raises(ValueError, match="only 0 and 1"):
        md.roc_auc_score(dy + 1, dp)
    with pytest.raises(ValueError, match="finite"):
        md.roc_auc_score(dy, dp * np.nan)
    for one_class in (dy * 0, dy * 0 + 1):  # NaN with the warning, as mlsd.metrics.roc_auc_score
        with pytest.warns(M.UndefinedMetricWarning, match="Only one class"):
            assert np.isnan(md.roc_auc_score(one_class, dp))
        with pytest.warns(M.UndefinedMetricWarning, match="Only one class"):
            assert np.isnan(M.roc_auc_score(one_class.compute(), dp.compute()))
    with pytest.raises(ValueError, match=r"in \[0, 1\]|y_prob"):
        md.log_loss(dy, dp + 2)
    with pytest.raises(ValueError, match="empty"):
        md.roc_auc_score(dy[:0], dp[:0])
    with pytest.raises(ValueError, match="n_bins"):
        md.binned_roc_auc_score(dy, dp, n_bins=0)
    with pytest.raises(ValueError, match="'k' parameter"):
        md.ndcg_at_k(dp, dp, k=0, query=dy)
    with pytest.raises(ValueError, match="must be 1-D"):
        md.roc_auc_score(da.zeros((4, 2)), da.zeros((4, 2)))
    df = as_frame((250, 250), y=y, p=p)
    with pytest.raises(TypeError, match="not a mix"):
        md.roc_auc_score(df["y"], dp)
    with pytest.raises(TypeError, match="one column"):
        md.roc_auc_score(df, df["p"])


def test_dask_metrics_signatures_match_single_machine():
    import inspect

    for name in ("dcg_at_k", "ndcg_at_k", "map_at_k", "mrr", "precision_at_k", "recall_at_k", "hit_rate_at_k",
                 "group_auc"):
        ours, twin = inspect.signature(getattr(md, name)), inspect.signature(getattr(M, name))
        positional = [p.name for p in ours.parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
        assert positional == [p.name for p in twin.parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
        assert [p.default for p in ours.parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD] == \
            [p.default for p in twin.parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
        key = "groups" if name == "group_auc" else "query"
        assert ours.parameters[key].kind is inspect.Parameter.KEYWORD_ONLY
        assert twin.parameters[key].kind is inspect.Parameter.KEYWORD_ONLY


def test_importing_mlsd_dask_imports_no_dask():
    import subprocess
    import sys

    code = ("import sys, mlsd.dask; bad = [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
