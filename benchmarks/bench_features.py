"""mlsd.features against its peers, measured in the same run and printed as ratios.

    python benchmarks/bench_features.py            # the size quoted in the README (issue #15)
    python benchmarks/bench_features.py --quick    # small sizes, a smoke run (used by the tests)
    python benchmarks/bench_features.py --sparse   # the same with sparse keys (entity * 10**12 + 7)
    python benchmarks/bench_features.py --at       # case 2 for a spine (at=) instead of the events themselves

Case 1: the point-in-time (as-of) join of a spine of 5,000,000 events against a feature table of
5,000,000 rows over 500,000 entities (integer keys, datetime64[us] times at random microseconds
over 30 days, both tables unsorted; three feature columns), the spine's order kept:

  * mlsd.features.point_in_time_join (pandas in, pandas out)
  * pandas.merge_asof(by=..., direction="backward") with the sorts it needs and the spine's order
    restored afterwards
  * polars join_asof(by=...) on frames sorted by time first (POLARS_MAX_THREADS)
  * DuckDB ASOF LEFT JOIN (SET threads), the result fetched as an Arrow table

Every tool runs with --threads threads (default 2).  Each case runs in a forked process, so that its
peak memory (the process's high-water mark minus its size when it started, ``VmHWM - VmRSS``) is
its own; the time is the best of --repeat runs inside that process.  The matched values are
checked equal (up to DuckDB's free choice among feature rows tied at one time, for which the
matched time is compared) before the ratios are printed.

Case 2, windowed aggregations: count, sum, mean, min and max of one value over three
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

With --at, case 2 computes the same features for a spine of as many rows (keys and times drawn
alike with another seed, so some spine keys have no events and most spine times fall between
events), in the spine's row order: mlsd ``window_aggregate(events, at=spine)``, against DuckDB on the
union of the events and the spine rows (the spine rows' values NULL, so they count in no frame;
``RANGE BETWEEN w PRECEDING AND 1 PRECEDING`` over the integer seconds is [t - w, t)), the spine
rows selected and ordered by their row number.  polars' ``rolling`` has no separate spine: not run."""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time

import numpy as np

WINDOWS = {"1h": 3600, "1d": 86400, "7d": 7 * 86400}
SPARSE = False  # --sparse: entity ids k * 10**12 + 7 (too sparse to index by, as snowflake or hashed ids)


def _keys(k, n_entities):
    """Entity ids: k itself, or with --sparse k * step + 7, step 10**12 while the ids fit in int64 (up to
    ~9.2M entities), else the largest step that fits (the same step for every table of a run)."""
    if not SPARSE:
        return k
    step = min(10**12, (2**63 - 1 - 7) // max(n_entities, 1))
    return k * step + 7
AGGS = ["count", "sum", "mean", "min", "max"]


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _data(n, m, n_entities):
    import pandas as pd

    rng = np.random.default_rng(0)
    t0 = np.datetime64("2024-01-01", "us")
    span = 30 * 86400 * 10**6
    spine = pd.DataFrame({"user": _keys(rng.integers(0, n_entities, n), n_entities),
                          "t": t0 + rng.integers(0, span, n).astype("timedelta64[us]")})
    feats = pd.DataFrame({"user": _keys(rng.integers(0, n_entities, m), n_entities),
                          "t": t0 + rng.integers(0, span, m).astype("timedelta64[us]"),
                          "ctr": rng.random(m), "spend": rng.standard_normal(m), "n_clicks": rng.integers(0, 50, m)})
    return spine, feats


def _mlsd(spine, feats):
    from mlsd.features import point_in_time_join

    return lambda: point_in_time_join(spine, feats, by="user", on="t")


def _pandas(spine, feats):
    import pandas as pd

    def run():
        left = spine.sort_values("t", kind="stable")
        right = feats.sort_values("t", kind="stable")
        out = pd.merge_asof(left, right, on="t", by="user", direction="backward")
        out.index = left.index
        return out.sort_index()

    return run


def _polars(spine, feats):
    import warnings

    import polars as pl

    warnings.filterwarnings("ignore", message="Sortedness of columns cannot be checked")
    s = pl.from_pandas(spine).with_row_index("rid")
    f = pl.from_pandas(feats)
    return lambda: s.sort("t").join_asof(f.sort("t"), on="t", by="user", strategy="backward").sort("rid")


def _duckdb(spine, feats, threads):
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads={threads}")
    con.register("s", spine.assign(rid=np.arange(len(spine))))
    con.register("f", feats.rename(columns={"t": "ft"}))
    sql = "SELECT s.*, f.ft, f.ctr, f.spend, f.n_clicks FROM s ASOF LEFT JOIN f ON s.user = f.user AND s.t >= f.ft"
    def run():
        out = con.sql(sql).arrow()
        return out.read_all() if hasattr(out, "read_all") else out  # DuckDB 2 gives a RecordBatchReader

    return run


def _child(conn, name, n, m, n_entities, threads, repeat):
    import mlsd

    mlsd.set_num_threads(threads)
    spine, feats = _data(n, m, n_entities)
    make = {"mlsd": _mlsd, "pandas": _pandas, "polars": _polars}.get(name)
    fn = make(spine, feats) if make else _duckdb(spine, feats, threads)
    base = _status("VmRSS")
    best, out = float("inf"), None
    for _ in range(repeat):
        out = None
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    peak = _status("VmHWM") - base
    # the matched values, in the spine's order, for the check
    if name == "mlsd" or name == "pandas":
        ctr = out["ctr"].to_numpy(dtype=np.float64, na_value=np.nan)
    elif name == "polars":
        ctr = out["ctr"].to_numpy()
    else:
        tbl = out.to_pandas().sort_values("rid")
        ctr = tbl["ctr"].to_numpy(dtype=np.float64, na_value=np.nan)
    conn.send((best, peak, ctr))
    conn.close()


def run_case(name, args, sizes):
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_child, args=(child, name, *sizes, args.threads, args.repeat))
    p.start()
    best, peak, ctr = parent.recv()
    p.join()
    return best, peak, ctr


def make_events(n, n_entities, seed=0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame({"k": _keys(rng.integers(0, n_entities, n), n_entities), "t": rng.integers(0, 30 * 86400, n),
                         "v": np.round(rng.gamma(2.0, 10.0, n), 2)})


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:  # pragma: no cover - not Linux
        pass


def run_mlsd(df, repeat, spine=None):
    import mlsd
    from mlsd.features import window_aggregate

    mlsd.set_num_threads(2)
    fn = lambda: window_aggregate(df, by="k", on="t", values="v", windows=list(WINDOWS.values()),  # noqa: E731
                                  aggs=AGGS, at=spine)
    out = _timed(fn, repeat)
    res = out.pop("value")
    out["sums"] = {f"{a}_{w}": float(np.nansum(res[f"v_{a}_{s}"].to_numpy(float)))
                   for a in AGGS for w, s in WINDOWS.items()}
    return out


def run_duckdb(df, repeat, spine=None):
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.register("ev", df)
    fn_names = {"count": "count", "sum": "sum", "mean": "avg", "min": "min", "max": "max"}
    sel = ", ".join(f"{fn_names[a]}(v) OVER (PARTITION BY k ORDER BY t RANGE BETWEEN {s} PRECEDING AND 1 PRECEDING)"
                    f" AS \"{a}_{w}\"" for a in AGGS for w, s in WINDOWS.items())
    q = f"SELECT k, t, v, {sel} FROM ev"
    if spine is not None:  # the spine rows (values NULL: in no frame) windowed with the events, then selected
        con.register("sp", spine.assign(rid=np.arange(len(spine))))
        q = (f"WITH u AS (SELECT k, t, v, NULL::BIGINT AS rid FROM ev UNION ALL "
             f"SELECT k, t, NULL::DOUBLE AS v, rid FROM sp), f AS (SELECT rid, {sel} FROM u) "
             f"SELECT * FROM f WHERE rid IS NOT NULL ORDER BY rid")
    out = _timed(lambda: con.execute(q).fetchnumpy(), repeat)
    res = out.pop("value")
    out["sums"] = {c: float(np.nansum(np.asarray(res[c], dtype=float))) for c in res if c not in ("k", "t", "v", "rid")}
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
    base = _status("VmRSS")
    _reset_peak()
    best, cpu, value = float("inf"), float("inf"), None
    for _ in range(repeat):
        value = None
        t0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        elapsed = time.perf_counter() - t0
        if elapsed < best:
            best, cpu = elapsed, time.process_time() - c0
    return {"seconds": best, "cpu": cpu, "peak_mb": max(_status("VmHWM") - base, 0) / 1e6, "value": value}


def child(engine, n, n_entities, repeat, at=False):
    df = make_events(n, n_entities)
    if at:
        spine = make_events(n, n_entities, seed=1)[["k", "t"]]
        out = {"mlsd": run_mlsd, "duckdb": run_duckdb}[engine](df, repeat, spine)
    else:
        out = {"mlsd": run_mlsd, "duckdb": run_duckdb, "polars": run_polars}[engine](df, repeat)
    print(json.dumps(out))


def join_benchmark(args):
    os.environ["POLARS_MAX_THREADS"] = str(args.threads)  # read when polars is first imported (in the child)
    sizes = (50_000, 50_000, 5_000) if args.quick else (5_000_000, 5_000_000, 500_000)
    import duckdb
    import pandas as pd
    import polars as pl

    import mlsd

    print(f"mlsd {mlsd.__version__}, pandas {pd.__version__}, polars {pl.__version__}, duckdb {duckdb.__version__}; "
          f"{os.cpu_count()} cores, {args.threads} threads each")
    print(f"point-in-time join: spine {sizes[0]:,} rows x features {sizes[1]:,} rows, {sizes[2]:,} entities"
          f"{' (sparse ids)' if SPARSE else ''}")
    res = {name: run_case(name, args, sizes) for name in ("mlsd", "pandas", "polars", "duckdb")}
    t, peak, ctr = res["mlsd"]
    print(f"  {'mlsd point_in_time_join':<34} {t * 1e3:9.1f} ms   peak +{peak / 2**20:7.0f} MiB")
    for name, label in (("pandas", "pandas merge_asof (+ sorts)"), ("polars", "polars join_asof (+ sorts)"),
                        ("duckdb", "DuckDB ASOF LEFT JOIN")):
        pt, ppeak, pctr = res[name]
        agree = np.array_equal(np.isnan(ctr), np.isnan(pctr))
        if name != "duckdb":  # DuckDB may pick another row among rows tied at one time
            agree = agree and np.array_equal(ctr[~np.isnan(ctr)], pctr[~np.isnan(pctr)])
        print(f"  {label:<34} {pt * 1e3:9.1f} ms   peak +{ppeak / 2**20:7.0f} MiB   ratio {pt / t:6.2f}x   "
              f"{'values agree' if agree else 'MISMATCH'}")
        if not agree:
            raise SystemExit(1)



def window_benchmark(args):
    n = args.n or (50_000 if args.quick else 5_000_000)
    n_entities = args.entities or (5_000 if args.quick else 500_000)
    import duckdb
    import polars
    import mlsd

    print(f"mlsd {mlsd.__version__}, duckdb {duckdb.__version__}, polars {polars.__version__}; "
          f"{os.cpu_count()} cores, 2 threads per engine")
    print(f"windowed count/sum/mean/min/max over 1h, 1d, 7d: {n:,} events, {n_entities:,} entities"
          f"{' (sparse ids)' if SPARSE else ''}{f', for a spine of {n:,} rows (at=)' if args.at else ''}")
    env = {**os.environ, "POLARS_MAX_THREADS": "2", "OMP_NUM_THREADS": "2"}
    results = {}
    engines = ("mlsd", "duckdb") if args.at else ("mlsd", "duckdb", "polars")
    for engine in engines:
        p = subprocess.run([sys.executable, __file__, "--engine", engine, "--n", str(n), "--entities",
                            str(n_entities), "--repeat", str(args.repeat)] + (["--sparse"] if SPARSE else [])
                           + (["--at"] if args.at else []), capture_output=True, text=True, env=env)
        if p.returncode != 0:
            raise SystemExit(f"{engine} failed:\n{p.stdout}\n{p.stderr}")
        results[engine] = json.loads(p.stdout.strip().splitlines()[-1])
    ours = results["mlsd"]
    for peer in engines[1:]:
        r = results[peer]
        agree = all(np.isclose(ours["sums"][c], r["sums"][c], rtol=1e-9) for c in ours["sums"])
        print(f"  mlsd window_aggregate {ours['seconds'] * 1e3:9.1f} ms (cpu {ours['cpu']:6.2f} s, "
              f"{ours['peak_mb']:7.1f} MB)   {peer:<7} {r['seconds'] * 1e3:9.1f} ms (cpu {r['cpu']:6.2f} s, "
              f"{r['peak_mb']:7.1f} MB)   ratio {r['seconds'] / ours['seconds']:6.1f}x "
              f"(cpu {r['cpu'] / ours['cpu']:5.1f}x)   {'values agree' if agree else 'MISMATCH'}")
        if not agree:
            bad = {c: (ours['sums'][c], r['sums'][c]) for c in ours['sums'] if not np.isclose(ours['sums'][c], r['sums'][c], rtol=1e-9)}
            raise SystemExit(f"mismatch vs {peer}: {bad}")



def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not a measurement")
    parser.add_argument("--threads", type=int, default=2, help="threads of every engine in the join case")
    parser.add_argument("--repeat", type=int, default=3, help="timings are the best of this many runs")
    parser.add_argument("--sparse", action="store_true", help="entity ids k * 10**12 + 7 (a smaller step past ~9.2M entities, to stay in int64) instead of 0 .. entities - 1")
    parser.add_argument("--at", action="store_true", help="window features for a spine of as many rows (at=), "
                        "vs DuckDB on the union of events and spine; the join case is skipped")
    parser.add_argument("--engine", help=argparse.SUPPRESS)       # the window case's child processes
    parser.add_argument("--n", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--entities", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    global SPARSE
    SPARSE = args.sparse
    if args.engine:
        n = args.n or (50_000 if args.quick else 5_000_000)
        n_entities = args.entities or (5_000 if args.quick else 500_000)
        child(args.engine, n, n_entities, args.repeat, args.at)
        return
    if not args.at:
        join_benchmark(args)
    window_benchmark(args)


if __name__ == "__main__":
    main()
