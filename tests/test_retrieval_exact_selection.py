"""The exact kernel returns the top-k of the double-precision scores of the vectors as given (ties
by the smaller id), however the items are tiled, chunked or split into shards: float32 sgemm
scores only pick candidates, within a proven error bound of the k-th.  Near-duplicate items
(scores equal to float32's last bits) are where a float32 choice would go wrong; the reference is
NumPy in float64."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

import mlsd.retrieval as R

K = 10


def _near_duplicates(n, d, seed, offset=0.0):
    """n items within ~1e-6 of one another (plus a few far ones), and queries."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(d)
    x = base + 1e-6 * rng.standard_normal((n, d))
    x[: n // 10] = rng.standard_normal((n // 10, d))
    q = base + 0.5 * rng.standard_normal((40, d))
    return (x + offset).astype(np.float32), (q + offset).astype(np.float32)


def _reference(q, x, k, metric, ids):
    """Top-k by (float32 of the float64 score, id), as documented."""
    q64, x64 = q.astype(np.float64), x.astype(np.float64)
    if metric == "cosine":
        q64 = (q / np.linalg.norm(q.astype(np.float64), axis=1, keepdims=True)).astype(np.float32).astype(np.float64)
        x64 = (x / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)).astype(np.float32).astype(np.float64)
    if metric == "l2":
        s = ((q64[:, None, :] - x64[None, :, :]) ** 2).sum(-1).astype(np.float32)
        key = s
    else:
        s = (q64 @ x64.T).astype(np.float32)
        key = -s
    order = np.lexsort((np.broadcast_to(ids, key.shape), key), axis=1)[:, :k]
    return np.take_along_axis(s, order, 1), ids[order]


@pytest.mark.parametrize("metric", ["ip", "l2", "cosine"])
@pytest.mark.parametrize("n_queries", [3, 40])  # direct dot products; sgemm tiles
def test_knn_is_the_top_k_of_double_precision_scores(metric, n_queries):
    x, q = _near_duplicates(3000, 24, 1, offset=20.0 if metric == "l2" else 0.0)
    q = q[:n_queries]
    ids = np.random.default_rng(2).permutation(3000).astype(np.int64)
    got = R.knn(q, x, K, metric, ids=ids)
    want_scores, want_ids = _reference(q, x, K, metric, ids)
    np.testing.assert_array_equal(got.ids, want_ids)
    np.testing.assert_array_equal(got.scores, want_scores)


@pytest.mark.parametrize("metric", ["ip", "l2", "cosine"])
def test_merge_topk_of_any_split_equals_knn_of_the_whole(metric):
    x, q = _near_duplicates(3000, 24, 3, offset=20.0 if metric == "l2" else 0.0)
    ids = np.arange(3000, dtype=np.int64) * 3 - 4001  # negative ids too (never -1)
    whole = R.knn(q, x, K, metric, ids=ids)
    for cuts in ([0, 1, 700, 701, 2048, 3000], [0, 1500, 3000], [0, 513, 1024, 1537, 3000]):
        parts = [R.knn(q, x[a:b], K, metric, ids=ids[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
        merged = R.merge_topk(parts, K, metric)
        np.testing.assert_array_equal(merged.ids, whole.ids)
        np.testing.assert_array_equal(merged.scores, whole.scores)


@pytest.mark.parametrize("metric", ["ip", "l2", "cosine"])
def test_sharded_flat_index_equals_the_unsharded_search_bit_for_bit(metric):
    x, q = _near_duplicates(4000, 16, 4, offset=50.0 if metric == "l2" else 0.0)
    ids = np.random.default_rng(5).permutation(10**6)[:4000].astype(np.int64)
    one = R.Index(16, metric).add(x, ids)
    for n_shards in (2, 7):
        sharded = R.ShardedIndex(16, metric, n_shards=n_shards).add(x, ids)
        for allow in (None, ids[::3]):
            got, want = sharded.search(q, K, allow=allow), one.search(q, K, allow=allow)
            np.testing.assert_array_equal(got.ids, want.ids)
            np.testing.assert_array_equal(got.scores, want.scores)
    np.testing.assert_array_equal(one.search(q, K).ids, R.knn(q, x, K, metric, ids=ids).ids)


def test_l2_flat_index_keeps_the_vectors_as_added(tmp_path):
    x, q = _near_duplicates(500, 8, 6, offset=1e4)
    index = R.Index(8, "l2").add(x)
    index.add(x[:50] - 3e4)  # a second batch far from the first's centre
    np.testing.assert_array_equal(index._index.vectors(), np.vstack([x, x[:50] - 3e4]))
    index.save(tmp_path / "i.mlsd")
    back = R.Index.load(tmp_path / "i.mlsd")
    np.testing.assert_array_equal(back._index.vectors(), index._index.vectors())
    np.testing.assert_array_equal(back.search(q, K).scores, index.search(q, K).scores)


def test_version_1_files_still_load(tmp_path):
    # Version 1 stored l2 Flat vectors minus the centre: rewrite a version 2 file that way.
    x, q = _near_duplicates(200, 8, 7, offset=3.0)
    index = R.Index(8, "l2").add(x)
    index.save(tmp_path / "v2.mlsd")
    data = bytearray((tmp_path / "v2.mlsd").read_bytes()[:-4])
    assert struct.unpack_from("<I", data, 8)[0] == 2
    struct.pack_into("<I", data, 8, 1)
    centre = np.frombuffer(bytes(data[-8 * 4:]), np.float32)
    start = len(data) - 8 * 4 - x.size * 4
    stored = np.frombuffer(bytes(data[start:start + x.size * 4]), np.float32).reshape(x.shape)
    np.testing.assert_array_equal(stored, x)
    data[start:start + x.size * 4] = (x - centre).astype(np.float32).tobytes()
    (tmp_path / "v1.mlsd").write_bytes(bytes(data) + struct.pack("<I", zlib.crc32(bytes(data))))
    old = R.Index.load(tmp_path / "v1.mlsd")
    np.testing.assert_allclose(old._index.vectors(), x, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(old.search(q, K).ids, index.search(q, K).ids)


@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_knn_of_vectors_whose_products_are_subnormal(metric):
    # Products near 1e-42 are float32 subnormals: their rounding error is absolute (2^-150 each),
    # not relative, so a relative bound alone would drop true neighbours.
    rng = np.random.default_rng(0)
    base = rng.standard_normal(16)
    x = ((base + 1e-3 * rng.standard_normal((500, 16))) * 1e-21).astype(np.float32)
    q = (rng.standard_normal((3, 16)) * 1e-21).astype(np.float32)
    ids = np.arange(500, dtype=np.int64)
    got = R.knn(q, x, 5, metric)
    want_scores, want_ids = _reference(q, x, 5, metric, ids)
    np.testing.assert_array_equal(got.ids, want_ids)
    np.testing.assert_array_equal(got.scores, want_scores)


def test_knn_of_constant_items_keeps_memory_of_order_k():
    # Every item ties with the k-th best, so every one is a candidate: they must be rescored into
    # a top-k as they come, not stored (here 100 queries x 200,000 ties would be ~500 MB).
    import subprocess
    import sys

    code = (
        "import resource, numpy as np, mlsd.retrieval as R\n"
        "x = np.ones((200_000, 8), np.float32)\n"
        "q = np.random.default_rng(0).standard_normal((100, 8)).astype(np.float32)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "got = R.knn(q, x, 10, 'ip')\n"
        "assert (got.ids == np.arange(10)).all()\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) < 100, f"knn of constant items grew the peak RSS by {out.stdout.strip()} MB"


@pytest.mark.parametrize("metric", ["ip", "l2"])
@pytest.mark.parametrize("scale", [1e19, 3e19])
def test_knn_of_vectors_whose_float32_scores_overflow(metric, scale):
    # Norms near 1e19: float32 products and |x|^2 overflow to inf (and inf - inf is NaN), so no
    # float32 key can choose candidates; the float64 scores (inf once rounded, then by id) still can.
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((300, 4)) * scale).astype(np.float32)
    q = (rng.standard_normal((3, 4)) * scale).astype(np.float32)
    with np.errstate(over="ignore"):
        want_scores, want_ids = _reference(q, x, 5, metric, np.arange(300, dtype=np.int64))
    got = R.knn(q, x, 5, metric)
    np.testing.assert_array_equal(got.ids, want_ids)
    np.testing.assert_array_equal(got.scores, want_scores)
