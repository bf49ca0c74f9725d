"""Command line: ``python -m mlsd demo`` runs the offline-evaluation demo on generated data."""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - t0


def _click_log(rows: int, seed: int):
    """A synthetic ad-click log: users with their own base rates, a model that sees part of the
    signal, scores rounded to 4 digits (ties, as production scores have)."""
    rng = np.random.default_rng(seed)
    n_users = max(rows // 50, 2)
    user = rng.integers(0, n_users, rows)
    user_bias = rng.normal(-3.0, 1.0, n_users)
    signal = rng.normal(size=rows)
    logit = user_bias[user] + 1.5 * signal
    clicked = rng.random(rows) < 1 / (1 + np.exp(-logit))
    predicted = 1 / (1 + np.exp(-(user_bias[user] + 1.2 * signal + rng.normal(0, 0.5, rows))))
    return clicked, np.round(predicted, 4), user


def demo(rows: int, threads: int | None, seed: int = 0) -> int:
    import mlsd
    import mlsd.metrics as M

    if threads:
        mlsd.set_num_threads(threads)
    try:
        import sklearn.metrics as skm
    except ImportError:
        skm = None

    y, p, user = _click_log(rows, seed)
    print(f"mlsd {mlsd.__version__}: offline evaluation of a click model on {rows:,} impressions, "
          f"{len(np.unique(user)):,} users, {mlsd.get_num_threads()} threads; CTR {y.mean():.4f}")
    header = f"{'metric':<28}{'mlsd':>12}{'sklearn':>12}{'mlsd ms':>10}{'sklearn ms':>12}{'speed-up':>10}"
    print(header)
    print("-" * len(header))

    def row(name, ours, ref=None):
        (v, t) = ours
        line = f"{name:<28}{v:>12.6f}"
        if ref is not None:
            (rv, rt) = ref
            line += f"{rv:>12.6f}{t * 1e3:>10.1f}{rt * 1e3:>12.1f}{rt / t:>9.1f}x"
            if not np.isclose(v, rv, rtol=1e-9, atol=1e-12):
                line += "  MISMATCH"
        else:
            line += f"{'':>12}{t * 1e3:>10.1f}"
        print(line)

    pairs = [
        ("roc_auc_score", M.roc_auc_score, skm and skm.roc_auc_score),
        ("average_precision_score", M.average_precision_score, skm and skm.average_precision_score),
        ("log_loss", M.log_loss, skm and skm.log_loss),
        ("brier_score_loss", M.brier_score_loss, skm and skm.brier_score_loss),
    ]
    for name, ours, ref in pairs:
        row(name, _timed(ours, y, p), _timed(ref, y, p) if ref else None)
    row("normalized_entropy", _timed(M.normalized_entropy, y, p))
    row("expected_calibration_error", _timed(M.expected_calibration_error, y, p, n_bins=20))
    gauc, t = _timed(M.group_auc, y, p, groups=user)
    row(f"group_auc ({gauc.n_skipped:,} skipped)", (gauc.score, t))

    # Hashing: the click log's categorical columns and a user x ad cross, into a sparse matrix.
    from mlsd.hashing import collision_report, hash_columns

    ad = np.random.default_rng(seed + 2).integers(0, 5_000, rows)
    log = {"user_id": user, "ad_id": ad, "hour": np.arange(rows) % 24}
    X, t = _timed(hash_columns, log, crosses=[("user_id", "ad_id")], n_features=2**22)
    report = collision_report(log, crosses=[("user_id", "ad_id")], n_features=2**22)
    print(f"\nhashing: hash_columns -> {X.shape[0]:,} x {X.shape[1]:,} CSR, {X.nnz:,} non-zeros in {t * 1e3:.0f} ms; "
          f"{report.n_keys:,} distinct keys, {report.collision_rate:.2%} share a bucket "
          f"(uniform hashing: {report.expected_collision_rate:.2%})")

    _retrieval_demo(rows, seed)
    _abtest_demo(rows, seed)

    # Ranking: re-rank each user's impressions as a query list.
    n_q, n_d = max(rows // 100, 1), 100
    rng = np.random.default_rng(seed + 1)
    rel = rng.integers(0, 4, (n_q, n_d)) * (rng.random((n_q, n_d)) < 0.1)
    score = np.round(rel + rng.normal(0, 1.5, (n_q, n_d)), 2)
    print(f"\nranking: {n_q:,} queries x {n_d} documents")
    ref = None
    if skm is not None and n_q <= 20_000:
        ref = _timed(skm.ndcg_score, rel, score, k=10)
    ours, t = _timed(M.ndcg_at_k, rel, score, 10)
    row("ndcg_at_k (k=10)", (ours.mean, t), ref)
    for name, fn in (("map_at_k (k=10)", M.map_at_k), ("mrr", M.mrr), ("recall_at_k (k=10)", M.recall_at_k)):
        r, t = _timed(fn, rel, score, 10) if fn is not M.mrr else _timed(fn, rel, score)
        row(name, (r.mean, t))
    return 0


def _abtest_demo(rows: int, seed: int) -> None:
    """An online experiment on the same traffic: does a new ranker lift CTR and revenue per user?"""
    from mlsd import abtest as ab

    rng = np.random.default_rng(seed + 4)
    n = rows // 2
    arm = {}
    for name, ctr in (("control", 0.100), ("treatment", 0.102)):
        clicks = rng.random(n) < ctr
        pre_revenue = rng.gamma(2.0, 1.0, n)                       # the same users last month
        revenue = 0.8 * pre_revenue + clicks * rng.gamma(2.0, 2.0, n)
        arm[name] = (clicks, revenue, pre_revenue)
    print(f"\nA/B test: {n:,} users per arm")
    (ct, rt, pt), (cc, rc, pc) = arm["treatment"], arm["control"]
    z = ab.proportions_ztest((int(ct.sum()), n), (int(cc.sum()), n))
    print(f"  CTR {ct.mean():.4f} vs {cc.mean():.4f}: z = {z.statistic:.2f}, p = {z.pvalue:.3g}")
    plain = ab.compare(rt, rc, relative=True)
    cuped = ab.compare({"y": rt, "covariate": pt}, {"y": rc, "covariate": pc}, relative=True)
    print(f"  revenue per user, relative lift {plain.estimate:+.2%}: p = {plain.pvalue:.3g}; with CUPED "
          f"p = {cuped.pvalue:.3g} (variance reduced by {cuped.extra['variance_reduction']:.0%})")
    print(f"  sample-ratio check: p = {ab.srm_test([n, n]).pvalue:.3f}")


def _retrieval_demo(rows: int, seed: int) -> None:
    """Candidate generation: the top 100 ads for 1,000 users, exact and with an IVF index."""
    import mlsd.retrieval as R

    n_items, n_users, d, k = max(min(rows // 20, 100_000), 1_000), 1_000, 64, 100
    rng = np.random.default_rng(seed + 3)
    proj = rng.standard_normal((16, d))
    centres = rng.standard_normal((200, 16)) * 2
    item_vec = (centres[rng.integers(0, 200, n_items)] + rng.standard_normal((n_items, 16))) @ proj
    user_vec = (centres[rng.integers(0, 200, n_users)] + rng.standard_normal((n_users, 16))) @ proj
    ad_ids = np.arange(n_items, dtype=np.int64) * 7 + 1_000_000
    print(f"\nretrieval: top {k} of {n_items:,} ads ({d}-d embeddings, cosine) for {n_users:,} users")
    exact = R.Index(d, "cosine").add(item_vec, ad_ids)
    (_, truth), t = _timed(exact.search, user_vec, k)
    print(f"  exact (Flat)              {t * 1e3:8.1f} ms")
    nlist = 256 if n_items >= 50_000 else 32
    ivf = R.Index(d, "cosine", f"IVF{nlist},Flat").train(item_vec).add(item_vec, ad_ids)
    for nprobe in (4, 16):
        (_, ids), t = _timed(ivf.search, user_vec, k, nprobe=nprobe)
        print(f"  IVF{nlist},Flat nprobe={nprobe:<3}   {t * 1e3:8.1f} ms   recall@{k} {R.knn_recall(ids, truth):.3f}")
    in_stock = ad_ids[rng.random(n_items) < 0.05]
    (_, ids), t = _timed(ivf.search, user_vec, k, allow=in_stock)
    assert np.isin(ids[ids >= 0], in_stock).all()
    print(f"  IVF, in-stock filter (5%) {t * 1e3:8.1f} ms   only allowed ads returned")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlsd", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="evaluate a synthetic click model with mlsd.metrics (vs scikit-learn), "
                                    "hash its features with mlsd.hashing, retrieve ads with mlsd.retrieval "
                                    "and test a change with mlsd.abtest")
    d.add_argument("--rows", type=int, default=2_000_000, help="impressions to generate (default 2,000,000)")
    d.add_argument("--threads", type=int, default=None, help="threads (default: all cores)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.rows < 100:
            parser.error("--rows must be at least 100")
        return demo(args.rows, args.threads)
    return 2


if __name__ == "__main__":
    sys.exit(main())
