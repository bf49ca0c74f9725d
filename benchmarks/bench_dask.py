"""mlsd.dask against mlsd in one process, on the same data, measured in the same run.

    python benchmarks/bench_dask.py            # the sizes of issue #7: AUC over 50M rows, A/B over 20M rows
    python benchmarks/bench_dask.py --quick    # small sizes, a smoke run (used by the tests)

For each workload: the in-process time (mlsd on NumPy arrays, all cores), then the time on a
distributed.LocalCluster with 1 worker process (all cores) and with 2 worker processes (one core
each), the Dask overhead (LocalCluster time / in-process time, the issue's target is < 2x on one
machine) and the bytes the reduction moves (the per-partition states that travel to the merging
worker, summed).  The data are generated on the workers and persisted before timing, so the times
are the computation and its reduction, not data loading.  Results are checked equal to the
in-process ones.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np

from _common import setup

import mlsd
import mlsd.metrics as M


def timed(fn, repeat):
    best, value = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return value, best


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024


def click_log(n_rows: int, chunk: int):
    """A Dask click log: labels and predicted probabilities, generated chunk by chunk."""
    import dask.array as da

    rng = da.random.default_rng(42)
    u = rng.random(n_rows, chunks=chunk)
    noise = rng.standard_normal(n_rows, chunks=chunk)
    y = (u < 0.1).astype(np.uint8)
    p = 1.0 / (1.0 + da.exp(-(noise + 1.5 * y - 2.5)))
    return y, p


def _size(state) -> int:
    import pickle

    return len(pickle.dumps(state, protocol=5))


def state_bytes(states, client) -> int:
    """Pickled size of each per-partition state (what the merge tree moves), summed."""
    import dask

    return int(sum(client.compute([dask.delayed(_size)(s) for s in states], sync=True)))


def bench_auc(n_rows, chunk, repeat, clusters):
    import dask
    import mlsd.dask as md
    from mlsd.dask import _metrics as dm

    print(f"\nROC AUC / log loss over {n_rows:,} rows in {int(np.ceil(n_rows / chunk))} partitions")
    rows = []
    y_d, p_d = click_log(n_rows, chunk)
    y, p = dask.compute(y_d, p_d, scheduler="threads")
    exact, t_exact = timed(lambda: M.roc_auc_score(y, p), repeat)
    binned, t_binned = timed(lambda: M.binned_roc_auc_score(y, p, n_bins=2**16), repeat)
    ll, t_ll = timed(lambda: M.log_loss(y, p), repeat)
    del y, p
    for label, client in clusters:
        with client.as_current():
            yy, pp = client.persist([y_d, p_d])
            from distributed import futures_of, wait

            wait(futures_of([yy, pp]))
            r_exact, d_exact = timed(lambda: md.roc_auc_score(yy, pp, client=client), repeat)
            r_binned, d_binned = timed(lambda: md.binned_roc_auc_score(yy, pp, n_bins=2**16, client=client), repeat)
            r_ll, d_ll = timed(lambda: md.log_loss(yy, pp, client=client), repeat)
            assert r_exact == exact, (r_exact, exact)
            assert r_binned.auc == binned.auc and abs(r_ll - ll) <= 1e-12 * ll
            parts = list(zip(yy.to_delayed().ravel(), pp.to_delayed().ravel()))
            b_exact = state_bytes([dask.delayed(dm._partition_table)(a, b, None, None, (0.0, 1.0)) for a, b in parts], client)
            b_binned = state_bytes([dask.delayed(dm._partition_table)(a, b, None, 2**16, (0.0, 1.0)) for a, b in parts], client)
            b_ll = state_bytes([dask.delayed(dm._partition_loss)(a, b, None, float(np.finfo(np.float64).eps))
                                for a, b in parts], client)
            rows.append((label, d_exact, d_binned, d_ll, b_exact, b_binned, b_ll))
            del yy, pp
    print(f"  {'':28s} {'exact AUC':>12s} {'binned AUC':>12s} {'log loss':>12s}")
    print(f"  {'in-process (mlsd, numpy)':28s} {t_exact:11.2f}s {t_binned:11.2f}s {t_ll:11.2f}s")
    for label, d_exact, d_binned, d_ll, b_exact, b_binned, b_ll in rows:
        print(f"  {label:28s} {d_exact:11.2f}s {d_binned:11.2f}s {d_ll:11.2f}s")
        print(f"  {'   overhead vs in-process':28s} {d_exact / t_exact:11.2f}x {d_binned / t_binned:11.2f}x "
              f"{d_ll / t_ll:11.2f}x")
        print(f"  {'   bytes moved by the merge':28s} {fmt_bytes(b_exact):>12s} {fmt_bytes(b_binned):>12s} "
              f"{fmt_bytes(b_ll):>12s}")
    print(f"  results equal: exact AUC {exact:.12f} (bit for bit), binned AUC {binned.auc:.12f} "
          f"(bound {binned.error_bound:.1e}), log loss {ll:.12f}")


def main():
    args = setup(__doc__)
    from distributed import Client, LocalCluster

    n_auc, chunk = (200_000, 50_000) if args.quick else (50_000_000, 2_000_000)
    cores = os.cpu_count() or 1
    clusters = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        specs = [("LocalCluster 1 worker x %d thr" % cores, dict(n_workers=1, threads_per_worker=cores)),
                 ("LocalCluster %d workers x 1 thr" % cores, dict(n_workers=cores, threads_per_worker=1))]
        for label, kw in specs:
            cluster = LocalCluster(processes=True, dashboard_address=None, **kw)
            clusters.append((label, Client(cluster, set_as_default=False), cluster))
    try:
        bench_auc(n_auc, chunk, args.repeat, [(label, c) for label, c, _ in clusters])
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _, c, cl in clusters:
                c.close()
                cl.close()
    print(f"\nmlsd threads in-process: {mlsd.get_num_threads()}")


if __name__ == "__main__":
    main()
