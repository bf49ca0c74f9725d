"""mlsd.metrics against its peers, measured in the same run and printed as ratios.

    python benchmarks/bench_metrics.py            # the sizes quoted in the README
    python benchmarks/bench_metrics.py --quick    # small sizes, a smoke run (used by the tests)

Cases (issue #3):
  * roc_auc_score, 10M float64 scores with ties         vs sklearn.metrics.roc_auc_score
  * group_auc, 10M rows, 100k groups                   vs pandas groupby + sklearn roc_auc_score
  * ndcg_at_k (k=10), 100k queries x 100 docs           vs ranx (evaluate on pre-built Qrels/Run,
                                                          after numba warm-up) and sklearn ndcg_score
Each timing is the best of --repeat runs (peers that take over 10 s run once).  Every case checks
that mlsd and the peer agree before printing the ratio.
"""

from __future__ import annotations

import time

import numpy as np

import mlsd.metrics as M
from _common import best_time, setup




def report(name, ours, peer_name, peer):
    (v, t), (pv, pt) = ours, peer
    agree = np.isclose(v, pv, rtol=1e-9, atol=1e-12)
    print(f"  {name:<34} mlsd {t * 1e3:9.1f} ms   {peer_name:<34} {pt * 1e3:10.1f} ms   "
          f"ratio {pt / t:7.1f}x   {'values agree' if agree else f'MISMATCH {v} vs {pv}'}")
    if not agree:
        raise SystemExit(1)


def bench_roc_auc(n, repeat):
    import sklearn.metrics as skm

    rng = np.random.default_rng(0)
    y = rng.random(n) < 0.1
    s = np.round(rng.random(n) + 0.3 * y, 4)  # 13k distinct values: heavy ties
    print(f"roc_auc_score: {n:,} float64 scores, {len(np.unique(s)):,} distinct")
    report("roc_auc_score", best_time(lambda: M.roc_auc_score(y, s), repeat),
           "sklearn roc_auc_score", best_time(lambda: skm.roc_auc_score(y, s), repeat))


def bench_group_auc(n, n_groups, repeat):
    import pandas as pd
    import sklearn.metrics as skm

    rng = np.random.default_rng(1)
    groups = rng.integers(0, n_groups, n)
    user_rate = rng.uniform(0.02, 0.3, n_groups)
    y = rng.random(n) < user_rate[groups]
    s = np.round(rng.random(n) + 0.5 * y, 3)
    print(f"group_auc: {n:,} rows, {n_groups:,} groups")

    def peer():
        df = pd.DataFrame({"g": groups, "y": y, "s": s})
        aucs, sizes = [], []
        for _, part in df.groupby("g", sort=False):
            if part.y.nunique() == 2:
                aucs.append(skm.roc_auc_score(part.y.to_numpy(), part.s.to_numpy()))
                sizes.append(len(part))
        return float(np.average(aucs, weights=sizes))

    report("group_auc", best_time(lambda: M.group_auc(y, s, groups=groups).score, repeat),
           "pandas groupby + sklearn", best_time(peer, 1))


def bench_ndcg(n_queries, n_docs, repeat):
    import sklearn.metrics as skm
    from ranx import Qrels, Run, evaluate

    rng = np.random.default_rng(2)
    rel = (rng.integers(1, 4, (n_queries, n_docs)) * (rng.random((n_queries, n_docs)) < 0.1)).astype(np.float64)
    rel[:, 0] = np.maximum(rel[:, 0], 1)  # ranx needs a relevant document in every query
    # Distinct scores, so that ranx (which breaks ties its own way) and sklearn agree with mlsd.
    score = rng.permutation(n_queries * n_docs).reshape(n_queries, n_docs).astype(np.float64)
    print(f"ndcg_at_k (k=10): {n_queries:,} queries x {n_docs} documents")

    import pandas as pd

    # ranx wants object-dtype (Python str) id columns.
    q_ids = np.repeat(np.arange(n_queries), n_docs).astype(str).astype(object)
    d_ids = np.tile(np.arange(n_docs), n_queries).astype(str).astype(object)

    t0 = time.perf_counter()
    mask = rel.ravel() > 0
    frame = lambda cols: pd.DataFrame({k: pd.Series(v, dtype=object if v.dtype == object else v.dtype)
                                       for k, v in cols.items()})
    qrels = Qrels.from_df(frame({"q_id": q_ids[mask], "doc_id": d_ids[mask], "score": rel.ravel()[mask].astype(int)}))
    run = Run.from_df(frame({"q_id": q_ids, "doc_id": d_ids, "score": score.ravel()}))
    build = time.perf_counter() - t0
    evaluate(qrels, run, "ndcg@10")  # numba warm-up (compilation) outside the timing

    ours = best_time(lambda: M.ndcg_at_k(rel, score, 10, ignore_ties=True).mean, repeat)
    report("ndcg_at_k (ignore_ties=True)", ours, "ranx evaluate (pre-built, warm)",
           best_time(lambda: float(evaluate(qrels, run, "ndcg@10")), repeat))
    print(f"  {'':<34} (building ranx's Qrels/Run from the arrays took another {build * 1e3:.0f} ms)")
    tied = best_time(lambda: M.ndcg_at_k(rel, score, 10).mean, repeat)
    report("ndcg_at_k (sklearn tie rule)", tied, "sklearn ndcg_score",
           best_time(lambda: skm.ndcg_score(rel, score, k=10), repeat))


def main():
    args = setup(__doc__)
    scale = 100 if args.quick else 1
    bench_roc_auc(10_000_000 // scale, args.repeat)
    bench_group_auc(10_000_000 // scale, 100_000 // scale, args.repeat)
    bench_ndcg(100_000 // scale, 100, args.repeat)


if __name__ == "__main__":
    main()
