"""mlsd.retrieval against its peers, measured in the same run and printed as ratios.

    python benchmarks/bench_retrieval.py            # the sizes quoted in the README (1M x 128)
    python benchmarks/bench_retrieval.py --quick    # small sizes, a smoke run (used by the tests)

Data: embedding-like float32 vectors (clusters in a 16-dimensional latent space projected to 128
dimensions, plus noise), L2-normalised as most embedding models output them, so inner product and
cosine agree; queries from the same distribution.

Cases (issue #4):
  * exact top-10, 1,000 queries       vs faiss-cpu IndexFlatIP (same threads) and NumPy
                                        (matmul + argpartition); plus single-query latency
  * HNSW32 and IVF1024,Flat           recall@10 and QPS over efSearch / nprobe, against exact QPS;
                                        hnswlib (M=32, ef_construction=40) at the same recall
  * filtered search, 1% of items      vs exact search followed by post-filtering
"""

from __future__ import annotations

import time

import numpy as np

import mlsd
import mlsd.retrieval as R
from _common import best_time, setup


def embeddings(n, d, seed, latent=16, n_clusters=1000):
    proj = np.random.default_rng(1).standard_normal((latent, d)).astype(np.float32)
    centres = np.random.default_rng(2).standard_normal((n_clusters, latent)).astype(np.float32) * 2
    rng = np.random.default_rng(seed)
    out = np.empty((n, d), np.float32)
    for b in range(0, n, 100_000):  # in blocks, to keep float64 temporaries small
        m = min(100_000, n - b)
        z = centres[rng.integers(0, n_clusters, m)] + rng.standard_normal((m, latent), dtype=np.float32)
        out[b:b + m] = z @ proj + 0.1 * rng.standard_normal((m, d), dtype=np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def numpy_topk(q, x, k, block=100):
    ids = np.empty((q.shape[0], k), np.int64)
    for b in range(0, q.shape[0], block):
        s = q[b:b + block] @ x.T
        part = np.argpartition(-s, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(s, part, 1), axis=1)
        ids[b:b + block] = np.take_along_axis(part, order, 1)
    return ids


def line(name, seconds, n_queries, extra=""):
    print(f"  {name:<40} {seconds * 1e3:10.1f} ms  {n_queries / seconds:12,.0f} QPS  {extra}")


def bench_exact(x, q, k, repeat, threads):
    import faiss

    faiss.omp_set_num_threads(threads)
    print(f"exact top-{k}: {x.shape[0]:,} x {x.shape[1]} items, {q.shape[0]:,} queries")
    (s, ids), t = best_time(lambda: R.knn(q, x, k), repeat)
    line("mlsd knn", t, q.shape[0])
    flat = faiss.IndexFlatIP(x.shape[1])
    flat.add(x)
    (fs, fids), ft = best_time(lambda: flat.search(q, k), repeat)
    agree = R.knn_recall(ids, fids)
    line("faiss-cpu IndexFlatIP", ft, q.shape[0], f"mlsd is {ft / t:.2f}x faster; recall vs faiss {agree:.4f}")
    nids, nt = best_time(lambda: numpy_topk(q, x, k), 1)
    line("numpy matmul + argpartition", nt, q.shape[0],
         f"mlsd is {nt / t:.2f}x faster; recall vs numpy {R.knn_recall(ids, nids):.4f}")
    if agree < 0.999:
        raise SystemExit("MISMATCH: exact results differ from faiss")

    # single-query latency: median over queries searched one at a time
    n1 = min(50, q.shape[0])
    lat = [time_one(lambda i=i: R.knn(q[i:i + 1], x, k)) for i in range(n1)]
    flat_lat = [time_one(lambda i=i: flat.search(q[i:i + 1], k)) for i in range(n1)]
    print(f"  single-query latency (median of {n1}): mlsd {np.median(lat) * 1e3:.2f} ms, "
          f"faiss-cpu {np.median(flat_lat) * 1e3:.2f} ms, ratio {np.median(flat_lat) / np.median(lat):.2f}x")
    return ids, t


def time_one(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def sweep_rows(name, values, search, exact_ids, nq, exact_qps, repeat):
    """(value, recall, QPS) for each value of one search parameter, printed as it goes."""
    rows = []
    for v in values:
        ids, t = best_time(lambda: search(v), repeat)
        rows.append((v, R.knn_recall(ids, exact_ids), nq / t))
        print(f"    {name}={v:<4} recall {rows[-1][1]:.4f}  {rows[-1][2]:10,.0f} QPS  {rows[-1][2] / exact_qps:6.1f}x exact")
    return rows


def first_reaching(rows, target):
    for row in rows:
        if row[1] >= target:
            return row
    return None


def bench_ann(x, q, k, exact_ids, exact_seconds, repeat, threads, target=0.95):
    nq = q.shape[0]
    exact_qps = nq / exact_seconds
    print(f"approximate search: recall@{k} vs QPS (exact: {exact_qps:,.0f} QPS); target recall {target}")

    t0 = time.perf_counter()
    hnsw = R.Index(x.shape[1], "cosine", "HNSW32").add(x)
    print(f"  mlsd HNSW32 built in {time.perf_counter() - t0:.1f} s")
    rows = sweep_rows("efSearch", (16, 32, 64, 128, 256, 512), lambda ef: hnsw.search(q, k, efSearch=ef)[1],
                      exact_ids, nq, exact_qps, repeat)
    ours = first_reaching(rows, target)

    import hnswlib

    t0 = time.perf_counter()
    peer = hnswlib.Index(space="ip", dim=x.shape[1])
    peer.init_index(max_elements=x.shape[0], M=32, ef_construction=40)  # FAISS's HNSW32 defaults
    peer.set_num_threads(threads)
    peer.add_items(x, np.arange(x.shape[0]))
    print(f"  hnswlib M=32 built in {time.perf_counter() - t0:.1f} s")
    def peer_search(ef):
        peer.set_ef(ef)
        return peer.knn_query(q, k=k)[0].astype(np.int64)

    theirs = first_reaching(sweep_rows("ef", (16, 32, 64, 128, 256, 512), peer_search, exact_ids, nq, exact_qps,
                                       repeat), target)
    if ours and theirs:
        print(f"  at recall >= {target}: mlsd HNSW {ours[2]:,.0f} QPS ({ours[2] / exact_qps:.1f}x exact), "
              f"hnswlib {theirs[2]:,.0f} QPS: ratio {ours[2] / theirs[2]:.2f}x")

    nlist = 1024 if x.shape[0] >= 200_000 else 64
    t0 = time.perf_counter()
    ivf = R.Index(x.shape[1], "ip", f"IVF{nlist},Flat").train(x[: 256 * nlist]).add(x)
    print(f"  mlsd IVF{nlist},Flat trained and built in {time.perf_counter() - t0:.1f} s")
    ivf_row = first_reaching(sweep_rows("nprobe", (1, 2, 3, 4, 8, 16, 32), lambda p: ivf.search(q, k, nprobe=p)[1],
                                        exact_ids, nq, exact_qps, repeat), target)
    if ivf_row:
        print(f"  at recall >= {target}: mlsd IVF {ivf_row[2]:,.0f} QPS ({ivf_row[2] / exact_qps:.1f}x exact)")
    return hnsw


def bench_filtered(x, q, k, hnsw, repeat, selectivity=0.01):
    n = x.shape[0]
    rng = np.random.default_rng(3)
    allowed = np.flatnonzero(rng.random(n) < selectivity)
    print(f"filtered search: {len(allowed):,} allowed items ({selectivity:.0%})")
    _, truth = R.knn(q, x[allowed], k, ids=allowed)
    (_, ids), t = best_time(lambda: hnsw.search(q, k, allow=allowed), repeat)
    assert np.isin(ids[ids >= 0], allowed).all()
    line("mlsd HNSW32, allow=", t, q.shape[0], f"recall {R.knn_recall(ids, truth):.4f}")
    mask = np.zeros(n, bool)
    mask[allowed] = True
    wide = int(min(n, k / selectivity * 2))

    def post_filter():
        _, cand = R.knn(q, x, wide)
        keep = mask[cand]
        out = np.full((q.shape[0], k), -1, np.int64)
        for i in range(q.shape[0]):
            c = cand[i][keep[i]][:k]
            out[i, :len(c)] = c
        return out

    pids, pt = best_time(post_filter, 1)
    line(f"exact top-{wide} + post-filter", pt, q.shape[0],
         f"recall {R.knn_recall(pids, truth):.4f}; mlsd filtered is {pt / t:.1f}x faster")


def main():
    args = setup(__doc__)
    threads = mlsd.get_num_threads()
    n, nq = (20_000, 200) if args.quick else (1_000_000, 1_000)
    d, k = 128, 10
    x = embeddings(n, d, seed=10)
    q = embeddings(nq, d, seed=11)
    exact_ids, exact_t = bench_exact(x, q, k, args.repeat, threads)
    hnsw = bench_ann(x, q, k, exact_ids, exact_t, args.repeat, threads)
    bench_filtered(x, q, k, hnsw, args.repeat)


if __name__ == "__main__":
    main()
