"""mlsd.hashing against scikit-learn, measured in the same run and printed as ratios.

    python benchmarks/bench_hashing.py            # the sizes quoted in the README
    python benchmarks/bench_hashing.py --quick    # small sizes, a smoke run (used by the tests)

Cases (issue #5), checking in each that the matrices are identical:
  * 1,000,000 rows x 20 string features from Python lists: FeatureHasher(input_type="string") vs
    sklearn's;
  * the same data as a pyarrow Table and as a pandas DataFrame, plus two crosses: hash_columns vs
    sklearn's FeatureHasher(input_type="string") on the equivalent key strings (which the sklearn
    user would first have to build; that time is not counted).
"""

from __future__ import annotations


import numpy as np

from _common import best_time, setup
from mlsd.hashing import FeatureHasher




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


def bench_table(n_rows, n_cols, repeat):
    import pyarrow as pa
    from sklearn.feature_extraction import FeatureHasher as SkHasher

    from mlsd.hashing import hash_columns

    rng = np.random.default_rng(1)
    codes = rng.zipf(1.3, (n_rows, n_cols)) % 10_000
    names = [f"f{j}" for j in range(n_cols)]
    vocab = np.array([f"v{v}" for v in range(10_000)], dtype=object)
    table = pa.table({names[j]: pa.array(vocab[codes[:, j]].tolist()) for j in range(n_cols)})
    frame = table.to_pandas()
    crosses = [("f0", "f1"), ("f2", "f3")]
    keys = [[f"{names[j]}={vocab[codes[i, j]]}" for j in range(n_cols)]
            + [f"f0={vocab[codes[i, 0]]}\x1ff1={vocab[codes[i, 1]]}", f"f2={vocab[codes[i, 2]]}\x1ff3={vocab[codes[i, 3]]}"]
            for i in range(n_rows)]
    print(f"hash_columns: {n_rows:,} rows x {n_cols} string columns + 2 crosses")
    ref, pt = best_time(lambda: SkHasher(input_type="string").transform(keys), repeat)
    for label, data in (("pyarrow Table", table), ("pandas DataFrame", frame)):
        ours, t = best_time(lambda: hash_columns(data, crosses=crosses), repeat)
        ok = identical(ours, ref)
        print(f"  {label:<17} mlsd {t * 1e3:9.1f} ms   sklearn on key strings {pt * 1e3:9.1f} ms   ratio "
              f"{pt / t:5.1f}x   {'identical matrices' if ok else 'MISMATCH'}")
        if not ok:
            raise SystemExit(1)


def main():
    args = setup(__doc__)
    n = 10_000 if args.quick else 1_000_000
    bench_string_lists(n, 20, args.repeat)
    bench_table(n, 20, args.repeat)


if __name__ == "__main__":
    main()
