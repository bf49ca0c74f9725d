"""mlsd.monitoring against the SciPy/NumPy per-column loop, measured in the same run and printed as
ratios.

    python benchmarks/bench_monitoring.py            # the size quoted in the README (200 x 1M vs 1M)
    python benchmarks/bench_monitoring.py --quick    # small sizes, a smoke run (used by the tests)

Cases (issue #16):
  * drift of --cols numeric columns, --rows reference rows vs --rows current rows, with every
    test computed per column (KS statistic and p-value, Wasserstein-1, PSI and Jensen-Shannon on
    the reference's deciles) vs the loop a data scientist writes: scipy.stats.ks_2samp +
    scipy.stats.wasserstein_distance + np.quantile / np.searchsorted bins + PSI +
    scipy.spatial.distance.jensenshannon, column by column.  The loop is timed on the first
    --peer-cols columns and scaled to all columns (its columns are independent and equally sized;
    the per-column time is printed too), so that a run does not spend half an hour in the peer.
  * profile.compare(current) with the reference profile computed once, saved and loaded
    (Profile.from_data, save and load are timed as well).
Peak memory is the peak resident set size above the process's size before the call (sampled
every 2 ms).  Every case checks that mlsd and the peer agree before printing the ratio.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time

import numpy as np

from _common import best_time, setup


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def with_peak(fn):
    """(value, seconds, peak RSS above the start in bytes) of fn()."""
    base = rss_bytes()
    peak = [base]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes())
            time.sleep(0.002)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    t0 = time.perf_counter()
    try:
        value = fn()
    finally:
        secs = time.perf_counter() - t0
        done.set()
        t.join()
    return value, secs, max(peak[0], rss_bytes()) - base


def scipy_column(r, c, n_bins=10, eps=1e-4):
    """The per-column loop body: what mlsd's drift computes for a numeric column."""
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    ks = stats.ks_2samp(r, c)
    w = stats.wasserstein_distance(r, c)
    edges = np.unique(np.quantile(r, np.linspace(0, 1, n_bins + 1)))
    inner = edges[1:-1]
    rc = np.bincount(np.searchsorted(inner, r, side="right"), minlength=len(edges) - 1)
    cc = np.bincount(np.searchsorted(inner, c, side="right"), minlength=len(edges) - 1)
    p, q = rc / rc.sum(), cc / cc.sum()
    pe, qe = np.where(p == 0, eps, p), np.where(q == 0, eps, q)
    psi = float(np.sum((qe - pe) * np.log(qe / pe)))
    return ks.statistic, ks.pvalue, w, psi, jensenshannon(rc, cc)


def agree(rep, ref, cur, names) -> bool:
    ok = True
    for name in names:
        want = scipy_column(ref[name], cur[name])
        i = list(rep.column).index(name)
        got = (rep.ks[i], rep.ks_pvalue[i], rep.wasserstein[i], rep.psi[i], rep.jensenshannon[i])
        ok &= bool(np.allclose(got, want, rtol=1e-9, atol=1e-12))
    return ok


def line(name, secs, mem, peer_name, peer_secs, peer_mem, ok):
    print(f"  {name:<34} mlsd {secs:9.2f} s  peak {mem / 2**30:6.2f} GiB   {peer_name:<28} {peer_secs:9.2f} s  "
          f"peak {peer_mem / 2**30:6.2f} GiB   ratio {peer_secs / secs:7.1f}x   "
          f"{'values agree' if ok else 'MISMATCH'}")
    if not ok:
        raise SystemExit(1)


def main():
    import argparse
    import sys

    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--cols", type=int, default=200)
    extra.add_argument("--rows", type=int, default=1_000_000)
    extra.add_argument("--peer-cols", type=int, default=10)
    known, rest = extra.parse_known_args()
    sys.argv = [sys.argv[0], *rest]
    args = setup(__doc__)
    cols, rows, peer_cols = known.cols, known.rows, known.peer_cols
    if args.quick:
        cols, rows, peer_cols = 8, 20_000, 4
    peer_cols = min(peer_cols, cols)
    from mlsd.monitoring import Profile, drift

    rng = np.random.default_rng(0)
    # column-major blocks: each column is one contiguous float64 array, no copy on the way in
    shift = np.where(np.arange(cols) % 10 == 0, 0.05, 0.0)
    ref_block = np.asfortranarray(rng.standard_normal((rows, cols)))
    cur_block = np.asfortranarray(rng.standard_normal((rows, cols)) + shift)
    names = [f"f{j}" for j in range(cols)]
    ref = {n: ref_block[:, j] for j, n in enumerate(names)}
    cur = {n: cur_block[:, j] for j, n in enumerate(names)}
    print(f"drift: {cols} numeric columns, {rows:,} reference rows vs {rows:,} current rows "
          f"(KS + p-value, Wasserstein-1, PSI, Jensen-Shannon per column)")

    repeat = 1 if rows * cols >= 50_000_000 else args.repeat
    rep, secs = best_time(lambda: drift(ref, cur), repeat)
    _, _, mem = with_peak(lambda: drift(ref, cur))

    def loop():
        return [scipy_column(ref[n], cur[n]) for n in names[:peer_cols]]

    _, peer_part, peer_mem = with_peak(loop)
    peer = peer_part * cols / peer_cols
    print(f"  (SciPy loop: {peer_part / peer_cols:.3f} s per column, timed on {peer_cols} columns, x {cols})")
    ok = agree(rep, ref, cur, names[:peer_cols])
    line("drift(reference, current)", secs, mem, "SciPy/NumPy per-column loop", peer, peer_mem, ok)

    prof, build_secs, build_mem = with_peak(lambda: Profile.from_data(ref))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "reference.mlsdprof")
        _, save_secs, _ = with_peak(lambda: prof.save(path))
        size = os.path.getsize(path)
        del prof
        loaded, load_secs, _ = with_peak(lambda: Profile.load(path))
    print(f"  Profile.from_data {build_secs:.2f} s (peak {build_mem / 2**30:.2f} GiB), save {save_secs:.2f} s, "
          f"load {load_secs:.2f} s, file {size / 2**30:.2f} GiB")
    crep, csecs = best_time(lambda: loaded.compare(cur), repeat)
    _, _, cmem = with_peak(lambda: loaded.compare(cur))
    same = all(np.array_equal(getattr(crep, f), getattr(rep, f), equal_nan=True)
               for f in ("ks", "ks_pvalue", "wasserstein", "psi", "jensenshannon"))
    line("profile.compare(current)", csecs, cmem, "SciPy/NumPy per-column loop", peer, peer_mem,
         ok and same)
    print(f"  profile.compare vs drift: {secs / csecs:.1f}x faster (same numbers)")


if __name__ == "__main__":
    main()
