"""mlsd.features against its peers, measured in the same run and printed as ratios.

    python benchmarks/bench_features.py            # the sizes quoted in the README
    python benchmarks/bench_features.py --quick    # small sizes, a smoke run (used by the tests)

Windowed aggregations (issue #15, item 6): count, sum, mean, min and max of one value over three
windows (1h, 1d, 7d, frames [t - w, t)) for each of 5,000,000 events of 500,000 entities over 30
days (integer seconds), in random row order, vs DuckDB window functions (RANGE BETWEEN w PRECEDING
AND 1 PRECEDING, fetched as NumPy arrays) and polars ``rolling`` (group_by the entity, sorted
first, as polars requires).  Each engine runs in its own fresh process with 2 threads (mlsd
``set_num_threads(2)``, DuckDB ``SET threads = 2``, ``POLARS_MAX_THREADS=2``) on the same
generated data; time is the best of --repeat runs (wall clock, and the CPU seconds of all the
process's threads during that run, which a loaded machine disturbs less), peak memory is the process's peak resident
memory during the runs above what it held once the data were built (Linux ``VmHWM``, reset through
``/proc/self/clear_refs``).  The per-column sums of the three results must agree before a ratio is
printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

WINDOWS = {"1h": 3600, "1d": 86400, "7d": 7 * 86400}
AGGS = ["count", "sum", "mean", "min", "max"]


def make_events(n, n_entities, seed=0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame({"k": rng.integers(0, n_entities, n), "t": rng.integers(0, 30 * 86400, n),
                         "v": np.round(rng.gamma(2.0, 10.0, n), 2)})


def _rss(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:  # pragma: no cover - not Linux
        pass


def run_mlsd(df, repeat):
    import mlsd
    from mlsd.features import window_aggregate

    mlsd.set_num_threads(2)
    fn = lambda: window_aggregate(df, by="k", on="t", values="v", windows=list(WINDOWS.values()),  # noqa: E731
                                  aggs=AGGS)
    out = _timed(fn, repeat)
    res = out.pop("value")
    out["sums"] = {f"{a}_{w}": float(np.nansum(res[f"v_{a}_{s}"].to_numpy(float)))
                   for a in AGGS for w, s in WINDOWS.items()}
    return out


def run_duckdb(df, repeat):
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.register("ev", df)
    fn_names = {"count": "count", "sum": "sum", "mean": "avg", "min": "min", "max": "max"}
    sel = ", ".join(f"{fn_names[a]}(v) OVER (PARTITION BY k ORDER BY t RANGE BETWEEN {s} PRECEDING AND 1 PRECEDING)"
                    f" AS \"{a}_{w}\"" for a in AGGS for w, s in WINDOWS.items())
    q = f"SELECT k, t, v, {sel} FROM ev"
    out = _timed(lambda: con.execute(q).fetchnumpy(), repeat)
    res = out.pop("value")
    out["sums"] = {c: float(np.nansum(np.asarray(res[c], dtype=float))) for c in res if c not in ("k", "t", "v")}
    return out


def run_polars(df, repeat):
    import polars as pl

    pdf = pl.from_pandas(df)

    def fn():
        s = pdf.sort(["k", "t"])
        frames = []
        for w, secs in WINDOWS.items():
            frames.append(s.rolling(index_column="t", period=f"{secs}i", closed="left", group_by="k").agg(
                pl.col("v").count().alias(f"count_{w}"), pl.col("v").sum().alias(f"sum_{w}"),
                pl.col("v").mean().alias(f"mean_{w}"), pl.col("v").min().alias(f"min_{w}"),
                pl.col("v").max().alias(f"max_{w}")))
        return pl.concat([s] + [f.drop(["k", "t"]) for f in frames], how="horizontal")

    out = _timed(fn, repeat)
    res = out.pop("value")
    # polars gives sum 0 for an empty frame where SQL and mlsd give null/NaN: the sums agree anyway
    out["sums"] = {c: float(np.nansum(res[c].cast(pl.Float64).fill_null(np.nan).to_numpy()))
                   for c in res.columns if c not in ("k", "t", "v")}
    return out


def _timed(fn, repeat):
    base = _rss("VmRSS")
    _reset_peak()
    best, cpu, value = float("inf"), float("inf"), None
    for _ in range(repeat):
        value = None
        t0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        elapsed = time.perf_counter() - t0
        if elapsed < best:
            best, cpu = elapsed, time.process_time() - c0
    return {"seconds": best, "cpu": cpu, "peak_mb": max(_rss("VmHWM") - base, 0) / 1e6, "value": value}


def child(engine, n, n_entities, repeat):
    df = make_events(n, n_entities)
    out = {"mlsd": run_mlsd, "duckdb": run_duckdb, "polars": run_polars}[engine](df, repeat)
    print(json.dumps(out))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not a measurement")
    parser.add_argument("--repeat", type=int, default=3, help="timings are the best of this many runs")
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--entities", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    n = args.n or (50_000 if args.quick else 5_000_000)
    n_entities = args.entities or (5_000 if args.quick else 500_000)
    if args.engine:
        child(args.engine, n, n_entities, args.repeat)
        return
    import duckdb
    import polars
    import mlsd

    print(f"mlsd {mlsd.__version__}, duckdb {duckdb.__version__}, polars {polars.__version__}; "
          f"{os.cpu_count()} cores, 2 threads per engine")
    print(f"windowed count/sum/mean/min/max over 1h, 1d, 7d: {n:,} events, {n_entities:,} entities")
    env = {**os.environ, "POLARS_MAX_THREADS": "2", "OMP_NUM_THREADS": "2"}
    results = {}
    for engine in ("mlsd", "duckdb", "polars"):
        p = subprocess.run([sys.executable, __file__, "--engine", engine, "--n", str(n), "--entities",
                            str(n_entities), "--repeat", str(args.repeat)], capture_output=True, text=True, env=env)
        if p.returncode != 0:
            raise SystemExit(f"{engine} failed:\n{p.stdout}\n{p.stderr}")
        results[engine] = json.loads(p.stdout.strip().splitlines()[-1])
    ours = results["mlsd"]
    for peer in ("duckdb", "polars"):
        r = results[peer]
        agree = all(np.isclose(ours["sums"][c], r["sums"][c], rtol=1e-9) for c in ours["sums"])
        print(f"  mlsd window_aggregate {ours['seconds'] * 1e3:9.1f} ms (cpu {ours['cpu']:6.2f} s, "
              f"{ours['peak_mb']:7.1f} MB)   {peer:<7} {r['seconds'] * 1e3:9.1f} ms (cpu {r['cpu']:6.2f} s, "
              f"{r['peak_mb']:7.1f} MB)   ratio {r['seconds'] / ours['seconds']:6.1f}x "
              f"(cpu {r['cpu'] / ours['cpu']:5.1f}x)   {'values agree' if agree else 'MISMATCH'}")
        if not agree:
            bad = {c: (ours['sums'][c], r['sums'][c]) for c in ours['sums'] if not np.isclose(ours['sums'][c], r['sums'][c], rtol=1e-9)}
            raise SystemExit(f"mismatch vs {peer}: {bad}")


if __name__ == "__main__":
    main()
