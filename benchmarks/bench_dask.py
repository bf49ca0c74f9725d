"""mlsd.dask against mlsd in one process, on the same data, measured in the same run.

    python benchmarks/bench_dask.py            # the sizes of issue #7: AUC over 50M rows, A/B over 20M rows
                                               (the bootstrap with 200 resamples, to keep the run short)
    python benchmarks/bench_dask.py --quick    # small sizes, a smoke run (used by the tests)

For each workload: the in-process time (mlsd on NumPy arrays, all cores), then the time on a
distributed.LocalCluster with 1 worker process (all cores) and with 2 worker processes (one core
each), the Dask overhead (LocalCluster time / in-process time, the issue's target is < 2x on one
machine) and the bytes sent to be reduced: the per-partition states that travel to the merging
worker, summed; for the exact AUC, the rows regrouped by score range (of which the pieces already
on their worker stay put).  The data are generated on the workers and persisted before timing, so the times
are the computation and its reduction, not data loading.  In-process times are the best of
--repeat runs, and so are the Dask times (see `best_dask_time`).  Results are checked equal to the
in-process ones.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np

from _common import best_time, setup

import mlsd
import mlsd.metrics as M


def _scheduler_tasks(dask_scheduler) -> int:
    return len(dask_scheduler.tasks)


def _settled(client, at_most: int | None = None, timeout: float = 20.0) -> int:
    """Wait until the scheduler holds at most `at_most` tasks (default: until its count stops
    falling); returns the count."""
    t0, last = time.perf_counter(), client.run_on_scheduler(_scheduler_tasks)
    while time.perf_counter() - t0 < timeout:
        time.sleep(0.1)
        n = client.run_on_scheduler(_scheduler_tasks)
        if (at_most is not None and n <= at_most) or (at_most is None and n >= last):
            return n
        last = n
    return last


def best_dask_time(fn, client, repeat: int, stop_after: float = 10.0):
    """(value, best seconds) over `repeat` calls, each on a scheduler that has released the
    previous call's tasks.  A repeat of an identical graph right after the previous one can be
    served from results the scheduler has not released yet (measured: 0.03 s instead of 0.66 s),
    which would flatter Dask; so between calls we wait until the scheduler is back to the tasks it
    held before (the persisted data).  As `best_time`, a call over `stop_after` seconds is not
    repeated."""
    baseline = _settled(client)
    return best_time(fn, repeat, stop_after, before=lambda: _settled(client, at_most=baseline))


def warm_up(md, y, p, client) -> None:
    """One small call of each timed function first, so that no timing includes the workers'
    first import of mlsd (a one-off cost of a fresh cluster, not of the computation)."""
    md.roc_auc_score(y[:10_000], p[:10_000], client=client)
    md.binned_roc_auc_score(y[:10_000], p[:10_000], client=client)
    md.log_loss(y[:10_000], p[:10_000], client=client)


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


def _pieces_size(split) -> int:
    return sum(_size(piece) for piece in split[:-1])


def regrouped_bytes(y, p, client) -> int:
    """Pickled size of the rows the exact AUC regroups by score range (every partition's pieces,
    summed; the pieces that stay on their worker do not actually move)."""
    import dask
    from mlsd.dask import _metrics as dm

    n_ranges, groups = dm._plan(dict(client.nthreads()), None, "bench")
    parts = list(zip(y.to_delayed().ravel(), p.to_delayed().ravel()))
    cuts = dask.delayed(dm._range_cuts)(n_ranges, *[dask.delayed(dm._score_sample)(s, 64 * n_ranges) for _, s in parts])
    split = [dask.delayed(dm._split_ranges)(a, s, None, cuts, groups, "bench") for a, s in parts]
    return int(sum(client.compute([dask.delayed(_pieces_size)(x) for x in split], sync=True)))


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
    exact, t_exact = best_time(lambda: M.roc_auc_score(y, p), repeat)
    binned, t_binned = best_time(lambda: M.binned_roc_auc_score(y, p, n_bins=2**16), repeat)
    ll, t_ll = best_time(lambda: M.log_loss(y, p), repeat)
    del y, p
    for label, client in clusters:
        with client.as_current():
            yy, pp = client.persist([y_d, p_d])
            from distributed import futures_of, wait

            wait(futures_of([yy, pp]))
            warm_up(md, yy, pp, client)
            r_exact, d_exact = best_dask_time(lambda: md.roc_auc_score(yy, pp, client=client), client, repeat)
            r_binned, d_binned = best_dask_time(lambda: md.binned_roc_auc_score(yy, pp, n_bins=2**16, client=client),
                                                client, repeat)
            r_ll, d_ll = best_dask_time(lambda: md.log_loss(yy, pp, client=client), client, repeat)
            assert abs(r_exact - exact) <= 1e-12 * exact, (r_exact, exact)
            assert r_binned.auc == binned.auc and abs(r_ll - ll) <= 1e-12 * ll
            parts = list(zip(yy.to_delayed().ravel(), pp.to_delayed().ravel()))
            b_exact = regrouped_bytes(yy, pp, client)
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
        print(f"  {'   bytes sent to be reduced':28s} {fmt_bytes(b_exact):>12s} {fmt_bytes(b_binned):>12s} "
              f"{fmt_bytes(b_ll):>12s}")
    print(f"  results equal: exact AUC {exact:.12f} (to 1e-12), binned AUC {binned.auc:.12f} "
          f"(bound {binned.error_bound:.1e}), log loss {ll:.12f}")


def experiment(n_rows: int, chunk: int):
    """A Dask A/B log: arm (0 control, 1 treatment), revenue per user and its pre-period value."""
    import dask.array as da
    import dask.dataframe as dd

    rng = da.random.default_rng(7)
    arm = (rng.random(n_rows, chunks=chunk) < 0.5).astype(np.float64)
    pre = rng.exponential(1.0, n_rows, chunks=chunk)
    revenue = 0.6 * pre + rng.exponential(0.4, n_rows, chunks=chunk) * (1.0 + 0.02 * arm)
    cols = da.stack([arm, revenue, pre], axis=1)
    return dd.from_dask_array(cols, columns=["arm", "revenue", "pre"])


def bench_abtest(n_rows, chunk, n_resamples, repeat, clusters):
    """stats_by (CUPED inputs) + analyze with CUPED, and a Poisson bootstrap of the revenue lift."""
    import pickle

    import dask
    import mlsd.dask as md
    from mlsd import abtest as ab
    from mlsd.dask import _abtest as dab

    print(f"\nA/B suite over {n_rows:,} rows in {int(np.ceil(n_rows / chunk))} partitions: Stats per arm "
          f"(revenue, pre-period covariate) + analyze with CUPED; bootstrap of the mean lift "
          f"({n_resamples} resamples, percentile)")
    ddf = experiment(n_rows, chunk)
    df = ddf.compute(scheduler="threads")
    arm, rev, pre = (df[c].to_numpy() for c in ("arm", "revenue", "pre"))
    del df

    def in_process_stats():  # split by arm (as stats_by does), Stats per arm, CUPED
        treated = arm == 1
        arms = {0.0: ab.Stats.from_arrays(rev[~treated], covariate=pre[~treated]),
                1.0: ab.Stats.from_arrays(rev[treated], covariate=pre[treated])}
        return ab.analyze(arms, control=0.0)

    t_rev, c_rev = rev[arm == 1], rev[arm == 0]

    ref_analyze, t_analyze = best_time(in_process_stats, repeat)
    ref_boot, t_boot = best_time(lambda: ab.bootstrap(t_rev, c_rev, method="percentile", n_resamples=n_resamples,
                                                  seed=1), repeat)
    del t_rev, c_rev, arm, rev, pre
    rows = []
    for label, client in clusters:
        with client.as_current():
            from distributed import futures_of, wait

            pdf = client.persist(ddf)
            wait(futures_of(pdf))
            treat, ctrl = pdf[pdf["arm"] == 1.0]["revenue"], pdf[pdf["arm"] == 0.0]["revenue"]

            def dask_stats():
                return ab.analyze(md.stats_by(pdf, "arm", "revenue", covariate="pre", client=client), control=0.0)

            r_analyze, d_analyze = best_dask_time(dask_stats, client, repeat)
            r_boot, d_boot = best_dask_time(lambda: md.bootstrap(treat, ctrl, method="percentile",
                                                                 n_resamples=n_resamples, seed=1, client=client),
                                            client, repeat)
            a, b = r_analyze.to_frame(), ref_analyze.to_frame()
            assert np.allclose(a["pvalue"], b["pvalue"], rtol=1e-9, atol=0), (a, b)
            assert np.allclose(r_boot.confidence_interval, ref_boot.confidence_interval, rtol=1e-9, atol=1e-12)
            parts = pdf.to_delayed()
            state = client.compute(dask.delayed(dab._partition_stats_by)(parts[0], "arm", {"y": ["revenue"],
                                   "covariate": ["pre"]}, False, "bench"), sync=True)
            b_stats = len(pickle.dumps(state, protocol=5)) * len(parts)
            b_boot = 2 * (2 * n_resamples * 8 + 200) * len(parts)  # sums (weight, y) + moments, per arm
            rows.append((label, d_analyze, d_boot, b_stats, b_boot))
            del pdf, treat, ctrl
    print(f"  {'':28s} {'Stats+CUPED':>12s} {'bootstrap':>12s}")
    print(f"  {'in-process (mlsd, numpy)':28s} {t_analyze:11.2f}s {t_boot:11.2f}s")
    for label, d_analyze, d_boot, b_stats, b_boot in rows:
        print(f"  {label:28s} {d_analyze:11.2f}s {d_boot:11.2f}s")
        print(f"  {'   overhead vs in-process':28s} {d_analyze / t_analyze:11.2f}x {d_boot / t_boot:11.2f}x")
        print(f"  {'   bytes sent to be reduced':28s} {fmt_bytes(b_stats):>12s} {fmt_bytes(b_boot):>12s}")
    p = ref_analyze.to_frame()["pvalue"].iloc[0]
    print(f"  results equal: CUPED p-value {p:.6g}, bootstrap CI {ref_boot.confidence_interval[0]:.6f} .. "
          f"{ref_boot.confidence_interval[1]:.6f}")


def main():
    args = setup(__doc__)
    from distributed import Client, LocalCluster

    n_auc, chunk = (200_000, 50_000) if args.quick else (50_000_000, 2_000_000)
    n_ab, n_resamples = (200_000, 50) if args.quick else (20_000_000, 200)
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
        bench_abtest(n_ab, chunk, n_resamples, args.repeat, [(label, c) for label, c, _ in clusters])
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _, c, cl in clusters:
                c.close()
                cl.close()
    print(f"\nmlsd threads in-process: {mlsd.get_num_threads()}")


if __name__ == "__main__":
    main()
