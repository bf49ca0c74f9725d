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
    (Profile.from_data, save and load are timed as well); the CPU seconds (user + system, every
    thread) of drift and compare, which a loaded machine inflates less than wall time.
  * Profile.from_data(reference, sketch=k) for each --sketch k (default 200 and 4000): build,
    save and load times, file size, compare time, and the largest |KS - drift's exact KS| over the
    columns against the stated bound (rank_error), and the largest |W-1 - drift's| over the
    reference column's range (the same bound).
  * PCA reconstruction drift (PCADrift: fit on the reference + errors of reference and current),
    1,000,000 x 50 reference and current rows, vs scikit-learn StandardScaler + PCA(0.65,
    svd_solver="full") + inverse_transform, the same numbers.
  * Evidently 0.7's DataDriftPreset, the second peer of drift, at 100,000 x 20 reference and
    current rows (a size it finishes in minutes), vs mlsd.monitoring.drift, which decides with
    Evidently's method at this size (Wasserstein distance over the reference's standard
    deviation, >= 0.1).  Evidently does not import with pandas 3, so it runs in its own venv, in a
    subprocess, on the same data saved to .npy (benchmarks/_evidently_drift.py):

        benchmarks/setup_evidently.sh        # creates benchmarks/.venv-evidently

    The benchmark runs that script itself the first time (it needs PyPI); the environment
    variable MLSD_EVIDENTLY_PYTHON points at another interpreter instead, and --quick skips it (Evidently's import alone takes
    seconds).  Its time excludes Python start-up, imports and DataFrame construction.
Peak memory is the peak resident set size above the process's size before the call (sampled
every 2 ms).  Every case checks that mlsd and the peer agree before printing the ratio.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import tempfile
import threading
import time

import numpy as np

from _common import best_time, setup

HERE = os.path.dirname(os.path.abspath(__file__))
EVIDENTLY_VENV = os.path.join(HERE, ".venv-evidently")
EVIDENTLY_PYTHON = os.environ.get("MLSD_EVIDENTLY_PYTHON", os.path.join(EVIDENTLY_VENV, "bin", "python"))


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


def cpu_seconds(fn) -> float:
    """User + system CPU seconds of this process (every thread) spent in fn()."""
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    fn()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def bench_sketch(ref, cur, exact_rep, k):
    """Profile.from_data(sketch=k): build, file size, load and compare times, and how far its KS
    statistics are from drift's exact ones (against the stated bound, rank_error)."""
    from mlsd.monitoring import Profile

    prof, build_secs, build_mem = with_peak(lambda: Profile.from_data(ref, sketch=k))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "reference.mlsdprof")
        _, save_secs, _ = with_peak(lambda: prof.save(path))
        size = os.path.getsize(path)
        loaded, load_secs, _ = with_peak(lambda: Profile.load(path))
    crep, csecs = best_time(lambda: loaded.compare(cur), 1)
    err = float(np.max(np.abs(crep.ks - exact_rep.ks)))
    span = np.array([np.nanmax(ref[c]) - np.nanmin(ref[c]) for c in crep.column])
    werr = float(np.max(np.abs(crep.wasserstein - exact_rep.wasserstein) / span))  # the bound: rank_error
    bound = loaded.rank_error
    print(f"  Profile.from_data(sketch={k}): build {build_secs:.2f} s (peak {build_mem / 2**30:.2f} GiB), save "
          f"{save_secs:.2f} s, load {load_secs:.3f} s, file {size / 2**20:.2f} MiB; compare {csecs:.2f} s; "
          f"max |KS - exact KS| {err:.2e} (bound rank_error {bound:.2e}: {'within' if err <= bound else 'EXCEEDED'}), "
          f"max |W - exact W| / range {werr:.2e}")
    if err > bound or werr > bound:
        raise SystemExit(1)


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


def report(name, t, peer_name, pt, agree, detail=""):
    print(f"  {name:<36} mlsd {t * 1e3:10.1f} ms   {peer_name:<40} {pt * 1e3:11.1f} ms   "
          f"ratio {pt / t:8.1f}x   {'values agree' if agree else 'MISMATCH ' + detail}")
    if not agree:
        raise SystemExit(1)


def correlated(n, d, seed, flip=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    for j in range(0, d - 1, 2):
        rho = 0.9 - 0.01 * (j // 2)
        x[:, j + 1] = (-rho if flip else rho) * x[:, j] + np.sqrt(1 - rho**2) * x[:, j + 1]
    return x * np.arange(1, d + 1) + np.arange(d)


def bench_pca(n, d, repeat):
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    ref, cur = correlated(n, d, 1), correlated(n, d, 2, flip=True)
    print(f"PCA reconstruction drift, {n:,} x {d} reference and current rows (float64)")

    def ours():
        from mlsd.monitoring import PCADrift

        model = PCADrift(ref)
        return model, model.compare(cur)

    def sklearn():
        scaler = StandardScaler().fit(ref)
        z = scaler.transform(ref)
        pca = PCA(n_components=0.65, svd_solver="full").fit(z)
        err = lambda a: np.linalg.norm(a - pca.inverse_transform(pca.transform(a)), axis=1)  # noqa: E731
        ref_err = err(z)
        return pca, float(err(scaler.transform(cur)).mean()), float(ref_err.mean())

    (model, r), secs = best_time(ours, repeat)
    (pca, cur_err, ref_err), peer = best_time(sklearn, repeat)
    agree = (model.n_components_ == pca.n_components_
             and np.allclose(model.explained_variance_, pca.explained_variance_, rtol=1e-9)
             and abs(r.reconstruction_error - cur_err) <= 1e-9 * cur_err
             and abs(r.reference_error - ref_err) <= 1e-9 * ref_err)
    report(f"PCADrift ({model.n_components_} of {d} components)", secs, "sklearn StandardScaler+PCA+inverse", peer,
           agree, f"{r.reconstruction_error} vs {cur_err}")


def bench_evidently(n, d, python, repeat):
    from mlsd.monitoring import drift

    print(f"Evidently DataDriftPreset, {n:,} x {d} reference and current rows (float64); "
          f"Evidently in its own venv ({python})")
    rng = np.random.default_rng(3)
    ref = rng.standard_normal((n, d))
    cur = rng.standard_normal((n, d)) + np.where(np.arange(d) % 4 == 0, 0.15, 0.0)  # a quarter of the columns shift
    if not os.path.exists(python) and "MLSD_EVIDENTLY_PYTHON" not in os.environ:
        print(f"  creating Evidently's environment with {os.path.join(HERE, 'setup_evidently.sh')} (once)")
        subprocess.run(["bash", os.path.join(HERE, "setup_evidently.sh"), EVIDENTLY_VENV], check=False)
    if not os.path.exists(python):
        print(f"  not run: no Evidently interpreter at {python} (benchmarks/setup_evidently.sh creates one)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, "reference.npy"), os.path.join(tmp, "current.npy")]
        np.save(paths[0], ref)
        np.save(paths[1], cur)
        script = os.path.join(HERE, "_evidently_drift.py")
        out = subprocess.run([python, script, *paths], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        print(f"  Evidently failed: {out.stderr.strip().splitlines()[-1] if out.stderr else out.returncode}")
        return
    ev = json.loads(out.stdout.strip().splitlines()[-1])
    names = {j: f"c{j}" for j in range(d)}
    frame_ref = {names[j]: ref[:, j] for j in range(d)}
    frame_cur = {names[j]: cur[:, j] for j in range(d)}
    r, secs = best_time(lambda: drift(frame_ref, frame_cur), repeat)
    # at this size both decide by the Wasserstein distance over the reference's std, threshold 0.1
    agree = (np.allclose(r.wasserstein_norm, ev["values"], rtol=1e-9) and int(r.n_drifted) == int(ev["drifted"])
             and list(np.unique(r.method)) == ["wasserstein"])
    report("drift (every test, every column)", secs, f"Evidently {ev['evidently']} DataDriftPreset", ev["seconds"],
           agree, f"{r.n_drifted} vs {ev['drifted']} drifted")
    print(f"  drifted columns: mlsd {r.n_drifted}, Evidently {int(ev['drifted'])} of {d}; "
          f"peak RSS of the Evidently process {ev['peak_rss_mb']:.0f} MB (Python, pandas and Evidently included)")


def main():
    import argparse
    import sys

    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--cols", type=int, default=200)
    extra.add_argument("--rows", type=int, default=1_000_000)
    extra.add_argument("--peer-cols", type=int, default=10)
    extra.add_argument("--sketch", type=int, nargs="*", default=[200, 4000],
                       help="KLL parameters k of the sketched profiles to time (none: skip)")
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
    dcpu, ccpu = cpu_seconds(lambda: drift(ref, cur)), cpu_seconds(lambda: loaded.compare(cur))
    print(f"  CPU (user+sys, every thread): drift {dcpu:.2f} s ({dcpu / cols * 1e3:.1f} ms per column), "
          f"profile.compare {ccpu:.2f} s ({ccpu / cols * 1e3:.1f} ms per column)")
    del loaded
    for k in known.sketch:
        bench_sketch(ref, cur, rep, k)

    if args.quick:
        bench_pca(20_000, 10, args.repeat)
        print("Evidently DataDriftPreset: not run with --quick")
    else:
        bench_pca(1_000_000, 50, args.repeat)
        bench_evidently(100_000, 20, EVIDENTLY_PYTHON, args.repeat)


if __name__ == "__main__":
    main()
