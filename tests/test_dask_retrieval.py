"""mlsd.dask.DistributedIndex against the single-machine retrieval (knn, Index, ShardedIndex), on
the two-worker LocalCluster, with data in uneven blocks that include empty and one-row blocks."""

import pickle

import numpy as np
import pytest

import mlsd.retrieval as R
from conftest import uneven_split

da = pytest.importorskip("dask.array")
md = pytest.importorskip("mlsd.dask")

DIM = 8


def data(seed, n=400, n_queries=17, random_ids=True):
    """Random float vectors (no tied scores), unique ids (negative ones included), queries."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, DIM)).astype(np.float32) + 0.5
    q = rng.standard_normal((n_queries, DIM)).astype(np.float32)
    ids = (rng.choice(10**7, size=n, replace=False) - 10**6).astype(np.int64) if random_ids else None
    return x, q, ids


def blocks(x, ids, seed):
    """x and ids as Dask arrays with the same uneven row chunks (two empty blocks, a one-row block)."""
    sizes = uneven_split(x.shape[0], seed)
    dx = da.from_array(x, chunks=(sizes, x.shape[1]))
    return dx, None if ids is None else da.from_array(ids, chunks=(sizes,))


def build(client, x, ids, metric="ip", spec="Flat", n_shards=3, seed=0, sample=None):
    index = md.DistributedIndex(DIM, metric, spec, n_shards=n_shards, client=client)
    if sample is not None:
        index.train(sample)
    return index.add(*blocks(x, ids, seed))


def assert_same(got, expected, exact_scores=True):
    np.testing.assert_array_equal(got[1], expected[1])
    if exact_scores:
        np.testing.assert_array_equal(got[0], expected[0])
    else:
        np.testing.assert_allclose(got[0], expected[0], rtol=1e-5, atol=1e-5)
    assert got[0].dtype == np.float32 and got[1].dtype == np.int64


@pytest.mark.parametrize("metric", ["ip", "l2", "cosine"])
def test_equals_exact_search_and_sharded_index(dask_client, metric):
    x, q, ids = data(1)
    index = build(dask_client, x, ids, metric, seed=1)
    assert len(index) == x.shape[0] and index.shard_sizes.sum() == x.shape[0]
    got = index.search(q, 10, batch_size=5)  # four batches, the last one short
    assert isinstance(got, R.SearchResult) and isinstance(index.search(q, 10), R.SearchResult)  # 4 batches, and 1
    assert_same(got, R.knn(q, x, 10, metric, ids=ids))
    single = R.ShardedIndex(DIM, metric, "Flat", n_shards=3).add(x, ids)
    assert_same(got, single.search(q, 10))
    # Same placement rule as ShardedIndex: shard s holds exactly the same ids.
    per_shard = [np.sort(f.result().ids) for f in index.shards]
    for s in range(3):
        np.testing.assert_array_equal(per_shard[s], np.sort(single.shard(s).ids))


def test_shard_of_matches_sharded_index():
    # DistributedIndex places rows with retrieval's bound rule (tested against ShardedIndex's
    # placement in test_retrieval.py), not a copy of it.
    from mlsd.retrieval import _partials

    assert md._retrieval.shard_of is _partials.shard_of
    ids = np.concatenate([np.random.default_rng(2).integers(-2**63, 2**63 - 1, 500, dtype=np.int64),
                          [0, 1, -2, 2**63 - 1, -2**63]])
    for n_shards in (1, 3, 7):
        sharded = R.ShardedIndex(DIM, n_shards=n_shards).add(np.ones((ids.size, DIM), np.float32), ids)
        expected = np.empty(ids.size, np.int64)
        for s in range(n_shards):
            expected[np.isin(ids, sharded.shard(s).ids)] = s
        np.testing.assert_array_equal(md._retrieval.shard_of(ids, n_shards), expected)


def test_automatic_ids_are_global_row_numbers_and_continue(dask_client):
    x, q, _ = data(3, n=300)
    index = build(dask_client, x[:200], None, "l2", seed=3)
    index.add(*blocks(x[200:], None, 4))
    np.testing.assert_array_equal(np.sort(index.ids), np.arange(300))
    single = R.Index(DIM, "l2")
    single.add(x[:200]).add(x[200:])
    assert_same(index.search(q, 7), single.search(q, 7))
    assert_same(index.search(q, 7), R.knn(q, x, 7, "l2", ids=np.arange(300)), exact_scores=False)


def test_blocks_of_unknown_length_from_a_dataframe(dask_client):
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    x, q, ids = data(4, n=240)
    frame = pd.DataFrame(x, columns=[f"e{j}" for j in range(DIM)]).assign(item=ids)
    ddf = dd.from_pandas(frame, npartitions=6)
    ddf = ddf[ddf.item % 3 != 0]  # partition lengths now unknown (nan chunks)
    vectors, item = ddf[[f"e{j}" for j in range(DIM)]].to_dask_array(), ddf["item"].to_dask_array()
    assert np.isnan(vectors.shape[0])
    keep = ids % 3 != 0
    index = md.DistributedIndex(DIM, "l2", client=dask_client).add(vectors, item)
    assert_same(index.search(q, 6), R.knn(q, x[keep], 6, "l2", ids=ids[keep]))
    auto = md.DistributedIndex(DIM, "l2", client=dask_client).add(vectors)
    np.testing.assert_array_equal(np.sort(auto.ids), np.arange(keep.sum()))
    assert_same(auto.search(q, 6), R.knn(q, x[keep], 6, "l2"))


def test_k_larger_than_the_index_pads_like_index(dask_client):
    x, q, ids = data(5, n=6)
    index = build(dask_client, x, ids, "cosine", seed=5)
    scores, got_ids = index.search(q, 9)
    assert (got_ids[:, 6:] == -1).all() and np.isneginf(scores[:, 6:]).all()
    assert_same((scores, got_ids), R.Index(DIM, "cosine").add(x, ids).search(q, 9))


def test_allow_filter_equals_filtered_exact_search(dask_client):
    x, q, ids = data(6)
    index = build(dask_client, x, ids, "ip", seed=6)
    rng = np.random.default_rng(6)
    keep = rng.random(x.shape[0]) < 0.1
    allowed = np.concatenate([ids[keep], [123456789012]])  # an unknown id is ignored
    assert_same(index.search(q, 12, allow=allowed), R.knn(q, x, 12, "ip", ids=ids, allow=keep))
    one_shard = ids[md._retrieval.shard_of(ids, 3) == 1][:4]  # only shard 1 is searched
    assert_same(index.search(q, 6, allow=one_shard), R.knn(q, x, 6, "ip", ids=ids, allow=np.isin(ids, one_shard)))
    scores, none = index.search(q, 2, allow=[123456789012])
    assert (none == -1).all() and np.isneginf(scores).all()
    with pytest.raises(TypeError, match="'allow' parameter of DistributedIndex.search must be .*"
                                        "a bool mask has no meaning across shards"):
        index.search(q, 3, allow=keep)


def test_dask_queries_in_uneven_blocks(dask_client):
    x, q, ids = data(7, n_queries=30)
    index = build(dask_client, x, ids, "l2", seed=7)
    dq = da.from_array(q, chunks=(uneven_split(30, 8), DIM))
    assert_same(index.search(dq, 5), index.search(q, 5))
    assert_same(index.search(q[:0], 5), (np.empty((0, 5), np.float32), np.empty((0, 5), np.int64)))


def test_ivf_with_every_list_probed_equals_exact(dask_client):
    x, q, ids = data(9, n=600)
    index = build(dask_client, x, ids, "l2", "IVF8,Flat", seed=9, sample=x[:400])
    assert_same(index.search(q, 10, nprobe=8), R.knn(q, x, 10, "l2", ids=ids), exact_scores=False)
    single = R.ShardedIndex(DIM, "l2", "IVF8,Flat", n_shards=3)
    single.train(x[:400]).add(x, ids)
    assert_same(index.search(q, 10, nprobe=2), single.search(q, 10, nprobe=2), exact_scores=False)
    with pytest.raises(ValueError, match="efSearch applies to HNSW"):
        index.search(q, 10, efSearch=8)


def test_shards_stay_on_their_workers(dask_client):
    x, q, ids = data(10)
    index = build(dask_client, x, ids, n_shards=11, seed=10)  # 11 shards: a two-level merge tree
    workers = sorted(dask_client.nthreads())
    assert index.workers == [workers[s % len(workers)] for s in range(11)]
    assert_same(index.search(q, 4), R.knn(q, x, 4, ids=ids))
    index.remove(ids[:10])
    assert_same(index.search(q, 4), R.knn(q, x[10:], 4, ids=ids[10:]))
    who = dask_client.who_has(index.shards)
    for future, worker in zip(index.shards, index.workers):
        assert tuple(who[future.key]) == (worker,)


def test_remove(dask_client):
    x, q, ids = data(11)
    index = build(dask_client, x, ids, "cosine", seed=11)
    gone = ids[::3]
    assert index.remove(np.concatenate([gone, [42424242424]])) == gone.size
    keep = np.ones(x.shape[0], bool)
    keep[::3] = False
    assert len(index) == keep.sum()
    assert_same(index.search(q, 6), R.knn(q, x[keep], 6, "cosine", ids=ids[keep]))
    with pytest.raises(NotImplementedError, match="does not support removing"):
        md.DistributedIndex(DIM, spec="HNSW8", client=dask_client).remove(ids[:1])


def test_save_and_load(dask_client, tmp_path):
    x, q, ids = data(12)
    index = build(dask_client, x, ids, "l2", seed=12)
    index.save(tmp_path / "idx")
    loaded = md.DistributedIndex.load(tmp_path / "idx", client=dask_client)
    assert repr(loaded) == repr(index)
    assert_same(loaded.search(q, 8), index.search(q, 8))
    loaded.add(*blocks(data(13, n=50)[0], None, 13))  # automatic ids continue after the largest
    assert loaded.ids.max() == ids.max() + 50
    with pytest.raises(ValueError, match="not a saved DistributedIndex"):
        md.DistributedIndex.load(tmp_path, client=dask_client)


@pytest.mark.parametrize("metric,spec", [("l2", "Flat"), ("cosine", "IVF4,Flat"), ("ip", "HNSW8")])
def test_index_pickles(metric, spec):
    x, q, ids = data(14)
    index = R.Index(DIM, metric, spec).train(x).add(x, ids)
    copy = pickle.loads(pickle.dumps(index))
    assert repr(copy) == repr(index)
    np.testing.assert_array_equal(copy.ids, index.ids)
    assert_same(copy.search(q, 5), index.search(q, 5))


def test_rejected_add_leaves_the_index_unchanged(dask_client):
    x, q, ids = data(15)
    index = build(dask_client, x[:200], ids[:200], seed=15)
    before = index.search(q, 5)
    dup = ids[200:300].copy()
    dup[-1] = dup[0]  # in different blocks: only the shard can see it
    with pytest.raises(ValueError, match=f"duplicate id {dup[0]}"):
        index.add(*blocks(x[200:300], dup, 16))
    with pytest.raises(ValueError, match=r"id -?\d+ is already in the index") as e:
        index.add(*blocks(x[:100], ids[:100], 17))
    assert int(str(e.value).split("id ")[1].split()[0]) in ids[:100]
    bad = x[200:300].copy()
    bad[57, 3] = np.nan
    with pytest.raises(ValueError, match="vectors must be finite; found nan at row 57, column 3"):
        index.add(*blocks(bad, ids[200:300], 18))
    assert len(index) == 200
    assert_same(index.search(q, 5), before)
    # A rejected first add (the shards were created, empty) leaves a new index trainable.
    fresh = md.DistributedIndex(DIM, "l2", client=dask_client)
    with pytest.raises(ValueError, match="duplicate id"):
        fresh.add(*blocks(x[200:300], dup, 19))
    fresh.train(x).add(*blocks(x[:200], ids[:200], 20))
    assert_same(fresh.search(q, 5), R.knn(q, x[:200], 5, "l2", ids=ids[:200]))


def test_errors(dask_client):
    x, q, ids = data(16, n=50)
    dx, dids = blocks(x, ids, 16)
    index = md.DistributedIndex(DIM, client=dask_client)
    with pytest.raises(ValueError, match="the index is empty"):
        index.search(q, 3)
    with pytest.raises(TypeError,
                       match="'vectors' parameter of DistributedIndex.add must be a 2-D Dask array.*dask.array.from_array"):
        index.add(x)
    with pytest.raises(TypeError, match="'ids' parameter of DistributedIndex.add must be a 1-D Dask array"):
        index.add(dx, ids)
    with pytest.raises(ValueError, match="vectors must have 8 columns"):
        index.add(da.from_array(x[:, :5]))
    with pytest.raises(ValueError, match="ids has 49 entries but vectors has 50 rows"):
        index.add(dx, dids[:49])
    with pytest.raises(TypeError, match="'ids' parameter of DistributedIndex.add must be a 1-D Dask array of integers"):
        index.add(dx, dids.astype(np.float64))
    with pytest.raises(ValueError, match="vectors row 2 has zero norm"):
        zero_row = np.eye(4, DIM) * [[1], [1], [0], [1]]
        md.DistributedIndex(DIM, "cosine", client=dask_client).add(da.from_array(zero_row))
    with pytest.raises(ValueError, match="^DistributedIndex.add: vectors has finite values beyond the range of float32"):
        index.add(da.from_array(np.where(np.arange(DIM) == 3, 1e39, x.astype(np.float64)), chunks=7))
    with pytest.raises(ValueError, match="^DistributedIndex.add: ids must fit in int64"):
        index.add(dx, dids.astype(np.uint64) | np.uint64(2**63))
    with pytest.raises(ValueError, match="must be trained before vectors are added"):
        md.DistributedIndex(DIM, spec="IVF4,Flat", client=dask_client).add(dx)
    index.add(dx, dids)
    with pytest.raises(ValueError, match="train must be called before any vector is added"):
        index.train(x)
    with pytest.raises(ValueError, match="'k' parameter of DistributedIndex.search"):
        index.search(q, 0)
    with pytest.raises(ValueError, match="queries must have 8 columns"):
        index.search(q[:, :4], 3)
    bad_q = q.copy()
    bad_q[5, 2] = np.nan
    with pytest.raises(ValueError, match="^DistributedIndex.search: queries must be finite; found nan at row 5, column 2"):
        index.search(bad_q, 3, batch_size=4)
    with pytest.raises(ValueError, match="^DistributedIndex.search: queries must be finite.*in a block of queries"):
        index.search(da.from_array(bad_q, chunks=4), 3)
    with pytest.raises(ValueError, match="'batch_size' parameter"):
        index.search(q, 3, batch_size=0)
    with pytest.raises(ValueError, match="nprobe applies to IVF"):
        index.search(q, 3, nprobe=2)
    with pytest.raises(ValueError, match="'n_shards' parameter of DistributedIndex"):
        md.DistributedIndex(DIM, n_shards=0, client=dask_client)
    with pytest.raises(ValueError, match="'metric' parameter of DistributedIndex"):
        md.DistributedIndex(DIM, "dot", client=dask_client)
    with pytest.raises(TypeError, match="'client' parameter of DistributedIndex must be a distributed.Client"):
        md.DistributedIndex(DIM, client="tcp://localhost:8786")


def test_every_parameter_is_declared(dask_client):
    import inspect

    index = md.DistributedIndex(DIM, client=dask_client)
    calls = {"DistributedIndex": md.DistributedIndex.__init__, "train": index.train, "add": index.add,
             "remove": index.remove, "search": index.search, "save": index.save, "load": md.DistributedIndex.load}
    for name, fn in calls.items():
        params = [p for p in inspect.signature(fn).parameters if p not in ("self", "cls")]
        assert set(params) == set(fn.__mlsd_params__), name


@pytest.mark.parametrize("call, name, arg", [
    (lambda c: md.DistributedIndex(0, client=c), "DistributedIndex", "dim"),
    (lambda c: md.DistributedIndex(DIM, spec="", client=c), "DistributedIndex", "spec"),
    (lambda c: md.DistributedIndex(DIM, n_shards=1.5, client=c), "DistributedIndex", "n_shards"),
    (lambda c: md.DistributedIndex(DIM, client=c).train(np.zeros((2, 2, 2))), "DistributedIndex.train", "sample"),
    (lambda c: md.DistributedIndex(DIM, client=c).add(None), "DistributedIndex.add", "vectors"),
    (lambda c: md.DistributedIndex(DIM, client=c).add(da.zeros((4, DIM, 1))), "DistributedIndex.add", "vectors"),
    (lambda c: md.DistributedIndex(DIM, client=c).remove("abc"), "DistributedIndex.remove", "ids"),
    (lambda c: md.DistributedIndex(DIM, client=c).search(np.zeros(DIM), 3), "DistributedIndex.search", "queries"),
    (lambda c: md.DistributedIndex(DIM, client=c).search(np.zeros((1, DIM)), 3, nprobe=0),
     "DistributedIndex.search", "nprobe"),
    (lambda c: md.DistributedIndex(DIM, client=c).search(np.zeros((1, DIM)), 3, efSearch=True),
     "DistributedIndex.search", "efSearch"),
    (lambda c: md.DistributedIndex(DIM, client=c).save(None), "DistributedIndex.save", "directory"),
    (lambda c: md.DistributedIndex.load(3, client=c), "DistributedIndex.load", "directory"),
    (lambda c: md.DistributedIndex.load("x", client="tcp://h:1"), "DistributedIndex.load", "client"),
])
def test_bad_input_names_function_and_argument(dask_client, call, name, arg):
    with pytest.raises((ValueError, TypeError)) as info:
        call(dask_client)
    msg = str(info.value)
    assert f"parameter of {name} must be" in msg and f"'{arg}'" in msg, msg
