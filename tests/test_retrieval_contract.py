"""mlsd.retrieval on the one contract (issue 13, items 1 and 3): searches return SearchResult (a
tuple that unpacks as before, with a tidy frame and a table in Jupyter), sweep returns SweepResult
(frame and plot), and every public function and method declares its parameters, so that bad
values raise ValueError/TypeError naming the function and the argument."""

from __future__ import annotations

import copy
import inspect
import pickle

import numpy as np
import pytest

import mlsd.retrieval as R
from mlsd._params import validate_params
from mlsd._validation import InvalidParameterError

RNG = np.random.default_rng(13)
X = RNG.standard_normal((40, 4)).astype(np.float32)
Q = RNG.standard_normal((3, 4)).astype(np.float32)


def _index(metric="l2"):
    return R.Index(4, metric).add(X, np.arange(100, 140))


# -- results ------------------------------------------------------------------------------------

def _searches():
    index = _index()
    sharded = R.ShardedIndex(4, "l2", n_shards=3).add(X, np.arange(100, 140))
    return {
        "Index.search": index.search(Q, 5),
        "ShardedIndex.search": sharded.search(Q, 5),
        "knn": R.knn(Q, X, 5, "l2", ids=np.arange(100, 140)),
        "merge_topk": R.merge_topk([R.knn(Q, X[:20], 5, "l2"), R.knn(Q, X[20:], 5, "l2", ids=np.arange(20, 40))],
                                   5, "l2"),
    }


@pytest.mark.parametrize("name", ["Index.search", "ShardedIndex.search", "knn", "merge_topk"])
def test_searches_return_a_search_result_that_unpacks_as_before(name):
    res = _searches()[name]
    assert isinstance(res, R.SearchResult) and isinstance(res, tuple) and len(res) == 2
    scores, ids = res
    assert scores is res.scores and ids is res.ids and res[0] is scores and res[1] is ids
    assert scores.dtype == np.float32 and ids.dtype == np.int64 and scores.shape == ids.shape == (3, 5)
    assert res._fields == ("scores", "ids") and (res.n_queries, res.k) == (3, 5)
    with pytest.raises(AttributeError):
        res.ids = ids
    with pytest.raises(AttributeError):
        res.extra = 1
    with pytest.raises(TypeError):
        res[0] = scores


def test_search_result_numbers_are_the_kernels():
    index = _index()
    scores, ids = index.search(Q, 5)
    raw = index._index.search(Q, 5, None, None, None, None)
    np.testing.assert_array_equal(scores, raw[0])
    np.testing.assert_array_equal(ids, raw[1])
    exact = R.knn(Q, X, 5, "l2", ids=np.arange(100, 140))
    np.testing.assert_array_equal(ids, exact.ids)
    np.testing.assert_array_equal(scores, exact.scores)


def test_search_result_frame_is_tidy_and_drops_padding():
    index = R.Index(4, "ip").add(X[:3], [7, 8, 9])
    res = index.search(Q[:2], 4)  # 3 items, k=4: one padded column per query
    assert (res.ids[:, 3] == -1).all()
    frame = res.to_frame()
    assert list(frame.columns) == ["query", "rank", "id", "score"]
    assert len(frame) == 6 and (frame["id"] != -1).all()
    for row in frame.itertuples():
        assert res.ids[row.query, row.rank] == row.id
        assert res.scores[row.query, row.rank] == row.score
    assert frame["query"].tolist() == [0, 0, 0, 1, 1, 1] and frame["rank"].tolist() == [0, 1, 2] * 2
    empty = index.search(np.zeros((0, 4), np.float32), 2).to_frame()
    assert len(empty) == 0 and list(empty.columns) == ["query", "rank", "id", "score"]


def test_search_result_repr_and_html_are_short():
    res = R.knn(RNG.standard_normal((500, 4)), X, 10)
    assert repr(res) == "SearchResult(n_queries=500, k=10)"
    html = res._repr_html_()
    assert "SearchResult" in html and "<table" in html and "n_queries" in html
    assert "4990 more rows" in html and len(html) < 5000


def test_search_result_pickles_copies_and_merges():
    res = _index().search(Q, 5)
    for other in (pickle.loads(pickle.dumps(res)), copy.deepcopy(res), copy.copy(res)):
        assert type(other) is R.SearchResult
        np.testing.assert_array_equal(other.ids, res.ids)
        np.testing.assert_array_equal(other.scores, res.scores)
    # merge_topk takes SearchResults and plain (scores, ids) pairs alike, mixed
    a, b = R.knn(Q, X[:20], 5, "l2"), R.knn(Q, X[20:], 5, "l2", ids=np.arange(20, 40))
    merged = R.merge_topk([a, (b.scores, b.ids)], 5, "l2")
    np.testing.assert_array_equal(merged.ids, R.merge_topk([tuple(a), list(b)], 5, "l2").ids)
    np.testing.assert_array_equal(merged.ids, R.knn(Q, X, 5, "l2").ids)


def _sweep():
    x = RNG.standard_normal((400, 8)).astype(np.float32)
    q = RNG.standard_normal((20, 8)).astype(np.float32)
    index = R.Index(8, "l2", "IVF8,Flat").train(x).add(x)
    exact = R.knn(q, x, 5, "l2").ids
    return R.sweep(index, q, 5, exact, "nprobe", [1, 2, 8]), index, q, exact


def test_sweep_result():
    res, index, q, exact = _sweep()
    assert isinstance(res, R.SweepResult)
    assert res.param == "nprobe" and res.k == 5 and res.value.tolist() == [1, 2, 8]
    assert res.recall[-1] == 1.0  # every list visited: exact
    for v, r in zip(res.value, res.recall):  # the same numbers as searching by hand
        assert r == R.knn_recall(index.search(q, 5, nprobe=int(v)).ids, exact, 5)
    frame = res.to_frame()
    assert list(frame.columns) == ["param", "value", "recall", "qps", "seconds"]
    assert frame["param"].tolist() == ["nprobe"] * 3 and frame["value"].tolist() == [1, 2, 8]
    np.testing.assert_array_equal(frame["recall"], res.recall)
    assert (frame["qps"] > 0).all() and np.allclose(frame["qps"] * frame["seconds"], 20)
    assert repr(res).startswith("SweepResult(param='nprobe', value=[1, 2, 8], recall=[")
    assert "<table" in res._repr_html_()
    with pytest.raises(AttributeError):
        res.k = 3
    empty = R.sweep(index, q, 5, exact, "nprobe", [])
    assert len(empty.to_frame()) == 0


def test_sweep_plot_returns_axes():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = _sweep()[0]
    ax = res.plot()
    assert isinstance(ax, matplotlib.axes.Axes)
    assert [t.get_text() for t in ax.texts] == ["nprobe=1", "nprobe=2", "nprobe=8"]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), res.recall)
    _, given = plt.subplots()
    assert res.plot(ax=given) is given
    plt.close("all")


def test_knn_recall_stays_a_float():
    ids = R.knn(Q, X, 5).ids
    assert type(R.knn_recall(ids, ids)) is float


# -- declared checks ----------------------------------------------------------------------------

def _public_callables():
    index, sharded = _index(), R.ShardedIndex(4, "l2", n_shards=2).add(X)
    yield "Index", R.Index
    for m in ("train", "add", "remove", "search", "save", "load"):
        yield f"Index.{m}", getattr(index, m)
    yield "ShardedIndex", R.ShardedIndex
    for m in ("train", "add", "remove", "search", "shard"):
        yield f"ShardedIndex.{m}", getattr(sharded, m)
    for name in ("knn", "merge_topk", "knn_recall", "recall_at_k", "sweep"):
        yield name, getattr(R, name)


@pytest.mark.parametrize("name, fn", list(_public_callables()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_parameter_is_declared(name, fn):
    target = fn.__init__ if inspect.isclass(fn) else fn
    declared = target.__mlsd_params__
    params = [p for p in inspect.signature(target).parameters if p != "self"]
    assert params and set(params) == set(declared), name


def test_constructor_messages_name_the_class():
    @validate_params(n=[int])
    def f(n):
        return n

    class C:
        @validate_params(n=[int])
        def __init__(self, n):
            self.n = n

        @validate_params(n=[int])
        def m(self, n):
            return n

    with pytest.raises(InvalidParameterError, match=r"^The 'n' parameter of \S*C must be"):
        C("x")
    with pytest.raises(InvalidParameterError, match=r"^The 'n' parameter of \S*C\.m must be"):
        C(1).m("x")
    with pytest.raises(InvalidParameterError, match=r"^The 'n' parameter of \S*f must be"):
        f("x")
    assert "__init__" not in C.__init__.__mlsd_params__ and C.__init__.__name__ == "__init__"


V3 = np.zeros((2, 2, 2))
CPLX = np.ones((2, 4), complex)
OBJ = np.array([["a"] * 4], dtype=object)
IDS2 = np.array([[1, 2], [3, 4]])

# (public name, call with the bad value, the argument it must name); beyond the common test:
# bad values of the kinds each argument meets in practice.
BAD = [
    ("Index", lambda: R.Index(4.0), "dim"),
    ("Index", lambda: R.Index(True), "dim"),
    ("Index", lambda: R.Index(2**21), "dim"),
    ("Index", lambda: R.Index(4, "L2"), "metric"),
    ("Index", lambda: R.Index(4, None), "metric"),
    ("Index", lambda: R.Index(4, "l2", ""), "spec"),
    ("Index", lambda: R.Index(4, "l2", b"Flat"), "spec"),
    ("Index.add", lambda: R.Index(4).add(V3), "vectors"),
    ("Index.add", lambda: R.Index(4).add(CPLX), "vectors"),
    ("Index.add", lambda: R.Index(4).add(OBJ), "vectors"),
    ("Index.add", lambda: R.Index(4).add(None), "vectors"),
    ("Index.add", lambda: R.Index(4).add(X, IDS2), "ids"),
    ("Index.add", lambda: R.Index(4).add(X, "abc"), "ids"),
    ("Index.add", lambda: R.Index(4).add(X, progress=1), "progress"),
    ("Index.train", lambda: R.Index(4, "l2", "IVF2,Flat").train(X[:, 0]), "vectors"),
    ("Index.remove", lambda: _index().remove(1), "ids"),
    ("Index.remove", lambda: _index().remove([1.0]), "ids"),
    ("Index.search", lambda: _index().search(Q, 0), "k"),
    ("Index.search", lambda: _index().search(Q, 2**31), "k"),
    ("Index.search", lambda: _index().search(Q, 2.0), "k"),
    ("Index.search", lambda: _index().search(Q[0], 1), "queries"),
    ("Index.search", lambda: _index().search(Q, 1, nprobe=0), "nprobe"),
    ("Index.search", lambda: _index().search(Q, 1, efSearch=-1), "efSearch"),
    ("Index.search", lambda: _index().search(Q, 1, allow=np.ones((2, 2), bool)), "allow"),
    ("Index.search", lambda: _index().search(Q, 1, allow="abc"), "allow"),
    ("Index.save", lambda: _index().save(3), "path"),
    ("Index.load", lambda: R.Index.load(None), "path"),
    ("ShardedIndex", lambda: R.ShardedIndex(4, n_shards=0), "n_shards"),
    ("ShardedIndex", lambda: R.ShardedIndex(4, n_shards=5000), "n_shards"),
    ("ShardedIndex", lambda: R.ShardedIndex(4, spec=None), "spec"),
    ("ShardedIndex.add", lambda: R.ShardedIndex(4).add(X, [1.5] * 40), "ids"),
    ("ShardedIndex.search", lambda: R.ShardedIndex(4).add(X).search(Q, 1, allow=np.ones(40, bool)), "allow"),
    ("ShardedIndex.search", lambda: R.ShardedIndex(4).add(X).search(Q, -3), "k"),
    ("ShardedIndex.shard", lambda: R.ShardedIndex(4, n_shards=2).shard(2), "s"),
    ("ShardedIndex.shard", lambda: R.ShardedIndex(4, n_shards=2).shard(-1), "s"),
    ("ShardedIndex.remove", lambda: R.ShardedIndex(4).add(X).remove(np.array([[1]])), "ids"),
    ("knn", lambda: R.knn(Q, X, 0), "k"),
    ("knn", lambda: R.knn(Q, X, 3, "dot"), "metric"),
    ("knn", lambda: R.knn(Q, CPLX, 3), "items"),
    ("knn", lambda: R.knn(V3, X, 3), "queries"),
    ("knn", lambda: R.knn(Q, X, 3, ids=np.arange(40.0)), "ids"),
    ("knn", lambda: R.knn(Q, X, 3, ids=np.arange(39)), "ids"),
    ("knn", lambda: R.knn(Q, X, 3, allow=np.ones(40)), "allow"),
    ("knn", lambda: R.knn(Q, X, 3, allow=np.ones(39, bool)), "allow"),
    ("merge_topk", lambda: R.merge_topk("ab", 3), "results"),
    ("merge_topk", lambda: R.merge_topk(None, 3), "results"),
    ("merge_topk", lambda: R.merge_topk([], 3), "results"),
    ("merge_topk", lambda: R.merge_topk([(1, 2, 3)], 3), "results"),
    ("merge_topk", lambda: R.merge_topk([R.knn(Q, X, 3)], 0), "k"),
    ("merge_topk", lambda: R.merge_topk([R.knn(Q, X, 3)], 3, "cos"), "metric"),
    ("knn_recall", lambda: R.knn_recall(IDS2[0], IDS2), "approx_ids"),
    ("knn_recall", lambda: R.knn_recall(IDS2, IDS2 + 0.5), "exact_ids"),
    ("knn_recall", lambda: R.knn_recall(IDS2, IDS2, 3), "k"),
    ("knn_recall", lambda: R.knn_recall(IDS2, IDS2, 0), "k"),
    ("knn_recall", lambda: R.knn_recall(IDS2, IDS2[:1]), "exact_ids"),
    ("sweep", lambda: R.sweep("index", Q, 3, IDS2, "nprobe", [1]), "index"),
    ("sweep", lambda: R.sweep(_index(), Q, 3, IDS2, "ef", [1]), "param"),
    ("sweep", lambda: R.sweep(_index(), Q, 3, IDS2, "nprobe", [1.5]), "values"),
    ("sweep", lambda: R.sweep(_index(), Q, 3, IDS2, "nprobe", [0]), "values"),
    ("sweep", lambda: R.sweep(_index(), Q, 3, IDS2, "nprobe", [1], repeat=0), "repeat"),
    ("sweep", lambda: R.sweep(_index(), Q, 0, IDS2, "nprobe", [1]), "k"),
]


@pytest.mark.parametrize("name, call, arg", BAD, ids=[f"{n}-{a}-{i}" for i, (n, _, a) in enumerate(BAD)])
def test_bad_input_names_function_and_argument(name, call, arg):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    msg = str(info.value)
    assert name in msg and arg in msg, msg
    assert "__init__" not in msg


def test_recall_at_k_alias_declares_too():
    with pytest.raises(InvalidParameterError, match="'k' parameter of recall_at_k"):
        R.recall_at_k(IDS2, IDS2, 0)  # checked before the FutureWarning
