"""Smoke test of an installed, auditwheel-repaired mlsd wheel (run by .ci/check_wheel.sh).

Checks that the compiled module resolves oneTBB, BLAS/LAPACK, OpenMP and gfortran from the wheel's
own ``mlsd.libs`` directory (never from the system, whose -dev packages built the wheel), that no
FAISS shared library is needed (it is linked statically), and that kernels of every family run and
agree with SciPy (installed with the wheel as a dependency) or with values computed by hand.
"""

import pathlib
import re
import subprocess
import sys

import numpy as np
import scipy.stats

import mlsd
import mlsd._core
from mlsd import abtest, hashing, metrics, retrieval

site = pathlib.Path(mlsd.__file__).resolve().parent
assert "site-packages" in str(site), f"mlsd imported from {site}, not from the installed wheel"

ldd = subprocess.run(["ldd", mlsd._core.__file__], capture_output=True, text=True, check=True).stdout
bundled = re.compile(r"(tbb|blas|lapack|gomp|gfortran|quadmath|faiss)", re.IGNORECASE)
wrong = []
for line in ldd.splitlines():
    name, _, target = line.strip().partition(" => ")
    if bundled.search(name):
        path = target.split(" (")[0]
        if "mlsd.libs" not in path:
            wrong.append(line.strip())
assert "faiss" not in ldd.lower(), "FAISS should be linked statically"
assert not wrong, "resolved outside the wheel:\n" + "\n".join(wrong)

mlsd.set_num_threads(2)
assert mlsd.get_num_threads() == 2

# metrics: a hand-checked AUC (3 of the 4 positive/negative pairs are ordered right)
assert metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75

# abtest: equal to SciPy on random data
rng = np.random.default_rng(0)
a, b = rng.normal(0, 1, 500), rng.normal(0.2, 1.3, 700)
ours = abtest.ttest_ind(a, b, equal_var=False)
ref = scipy.stats.ttest_ind(a, b, equal_var=False)
assert np.isclose(ours.statistic, ref.statistic, rtol=1e-10) and np.isclose(ours.pvalue, ref.pvalue, rtol=1e-8)

# retrieval: exact search (BLAS) and an HNSW index (FAISS, OpenMP) find each point itself
x = rng.normal(size=(2000, 16)).astype(np.float32)
exact = retrieval.knn(x[:50], x, k=1, metric="l2")
assert (np.asarray(exact.ids)[:, 0] == np.arange(50)).all()
index = retrieval.Index(16, metric="l2", spec="HNSW16")
index.add(x)
approx = index.search(x[:50], k=1)
assert (np.asarray(approx.ids)[:, 0] == np.arange(50)).mean() >= 0.9

# hashing: scikit-learn's MurmurHash3 of a known key (the value sklearn's own tests use)
assert hashing.murmurhash3_32(b"foo", 0) == -156908512
assert hashing.murmurhash3_32("foo", 0, positive=True) == 4138058784

print(f"wheel smoke test passed: mlsd {mlsd.__version__} from {site}")
print(ldd)
