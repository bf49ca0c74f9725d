"""mlsd.monitoring against its peers, measured in the same run and printed as ratios.

    python benchmarks/bench_monitoring.py            # the sizes quoted in the README
    python benchmarks/bench_monitoring.py --quick    # small sizes, a smoke run

Cases:
  * PCA reconstruction drift (PCADrift: fit on the reference + errors of reference and current),
    1,000,000 x 50 reference and current rows, vs scikit-learn StandardScaler + PCA(0.65,
    svd_solver="full") + inverse_transform, the same numbers
  * DataDriftPreset of Evidently 0.7 (the second peer of drift), 100,000 x 20 reference and
    current rows, vs mlsd.monitoring.drift with Evidently's methods (Wasserstein distance divided
    by the reference's standard deviation at this size).  Evidently does not import with pandas 3,
    so it runs in its own venv, in a subprocess, on the same data saved to .npy:

        python3 -m venv /work/venvs/evidently
        /work/venvs/evidently/bin/pip install evidently 'pandas<3'

    (the environment variable ``MLSD_EVIDENTLY_PYTHON`` points at another interpreter; without
    one the case is skipped with a note.)  Its time excludes Python start-up, imports and DataFrame construction.
Each timing is the best of --repeat runs (runs over 10 s are not repeated).  Every case checks
that mlsd and the peer agree before printing the ratio.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import tempfile
import time

import numpy as np

import mlsd.monitoring as mon
from _common import best_time, setup

EVIDENTLY_PYTHON = os.environ.get("MLSD_EVIDENTLY_PYTHON", "/work/venvs/evidently/bin/python")


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
        model = mon.PCADrift(ref)
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
    if not os.path.exists(python):
        print(f"  not run: no Evidently interpreter at {python} (see this file's docstring to create it)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, "reference.npy"), os.path.join(tmp, "current.npy")]
        np.save(paths[0], ref)
        np.save(paths[1], cur)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_evidently_drift.py")
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
          f"peak RSS of the Evidently process {ev['peak_rss_mb']:.0f} MB")


def main():
    args = setup(__doc__)
    python = EVIDENTLY_PYTHON
    t0 = time.perf_counter()
    if args.quick:
        bench_pca(20_000, 10, args.repeat)
        bench_evidently(2_000, 4, python, args.repeat)
    else:
        bench_pca(1_000_000, 50, args.repeat)
        bench_evidently(100_000, 20, python, args.repeat)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"total {time.perf_counter() - t0:.1f} s; peak RSS of this process {peak:.0f} MB")


if __name__ == "__main__":
    main()
