"""mlsd.features against its peers, measured in the same run and printed as ratios.

    python benchmarks/bench_features.py            # the size quoted in the README (issue #15)
    python benchmarks/bench_features.py --quick    # small sizes, a smoke run (used by the tests)

Case: the point-in-time (as-of) join of a spine of 5,000,000 events against a feature table of
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
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time

import numpy as np


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
    spine = pd.DataFrame({"user": rng.integers(0, n_entities, n),
                          "t": t0 + rng.integers(0, span, n).astype("timedelta64[us]")})
    feats = pd.DataFrame({"user": rng.integers(0, n_entities, m),
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not a measurement")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ["POLARS_MAX_THREADS"] = str(args.threads)  # read when polars is first imported (in the child)
    sizes = (50_000, 50_000, 5_000) if args.quick else (5_000_000, 5_000_000, 500_000)
    import duckdb
    import pandas as pd
    import polars as pl

    import mlsd

    print(f"mlsd {mlsd.__version__}, pandas {pd.__version__}, polars {pl.__version__}, duckdb {duckdb.__version__}; "
          f"{os.cpu_count()} cores, {args.threads} threads each")
    print(f"point-in-time join: spine {sizes[0]:,} rows x features {sizes[1]:,} rows, {sizes[2]:,} entities")
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


if __name__ == "__main__":
    main()
