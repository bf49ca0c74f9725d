"""mlsd.hashing against scikit-learn, measured in the same run and printed as ratios.

    python benchmarks/bench_hashing.py            # the sizes quoted in the README
    python benchmarks/bench_hashing.py --quick    # small sizes, a smoke run (used by the tests)

Case (issue #5): 1,000,000 rows x 20 string features from Python lists,
FeatureHasher(input_type="string") vs sklearn's, checking that the matrices are identical.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import mlsd
from mlsd.hashing import FeatureHasher


def best_time(fn, repeat):
    best, value = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return value, best


def identical(a, b) -> bool:
    return (a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a.indptr, b.indptr)
            and np.array_equal(a.indices, b.indices) and np.array_equal(a.data, b.data))


def bench_string_lists(n_rows, n_cols, repeat):
    from sklearn.feature_extraction import FeatureHasher as SkHasher

    rng = np.random.default_rng(0)
    vocab = [[f"f{j}=v{v}" for v in range(10_000)] for j in range(n_cols)]
    codes = rng.zipf(1.3, (n_rows, n_cols)) % 10_000  # skewed, like real categorical values
    rows = [[vocab[j][codes[i, j]] for j in range(n_cols)] for i in range(n_rows)]
    print(f"FeatureHasher(input_type='string'): {n_rows:,} rows x {n_cols} features from Python lists")
    ours, t = best_time(lambda: FeatureHasher(input_type="string").transform(rows), repeat)
    ref, pt = best_time(lambda: SkHasher(input_type="string").transform(rows), repeat)
    ok = identical(ours, ref)
    print(f"  mlsd {t * 1e3:9.1f} ms   sklearn {pt * 1e3:9.1f} ms   ratio {pt / t:5.1f}x   "
          f"{'identical matrices' if ok else 'MISMATCH'}")
    if not ok:
        raise SystemExit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.threads:
        mlsd.set_num_threads(args.threads)
    import sklearn

    print(f"mlsd {mlsd.__version__}, scikit-learn {sklearn.__version__}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, mlsd threads {mlsd.get_num_threads()}")
    bench_string_lists(10_000 if args.quick else 1_000_000, 20, args.repeat)


if __name__ == "__main__":
    main()
