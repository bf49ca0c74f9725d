"""Packaging, threads, zero-copy and the CLI."""

import doctest
import importlib.metadata
import importlib.resources
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import sklearn.metrics as skm

import mlsd
import mlsd.metrics as M
from conftest import assert_releases_gil
from mlsd import _core
from mlsd._validation import as_binary_labels, as_float_array


def test_version_and_typing_files():
    assert mlsd.__version__ == importlib.metadata.version("mlsd")
    files = importlib.resources.files("mlsd")
    assert files.joinpath("py.typed").is_file()
    assert files.joinpath("_core").joinpath("__init__.pyi").is_file()  # a stub package: one file per submodule


def test_docstring_examples_run():
    result = doctest.testmod(M, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0


def test_set_num_threads_round_trip():
    default = mlsd.get_num_threads()
    assert default >= 1
    mlsd.set_num_threads(1)
    assert mlsd.get_num_threads() == 1
    mlsd.set_num_threads(None)
    assert mlsd.get_num_threads() == default


def test_set_num_threads_limits_blas():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    if not blas:
        pytest.skip("no BLAS library loaded")
    mlsd.set_num_threads(1)
    assert all(i["num_threads"] == 1 for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")
    mlsd.set_num_threads(None)
    after = {i["filepath"]: i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"}
    assert after == {i["filepath"]: i["num_threads"] for i in blas}


def test_right_inputs_are_not_copied():
    s = np.random.default_rng(0).random(100)
    assert as_float_array(s, "y_score", "f") is s
    y = np.random.default_rng(0).random(100) < 0.5
    labels = as_binary_labels(y, "y_true", "f")
    assert labels.dtype == np.uint8 and np.shares_memory(labels, y)
    y8 = y.astype(np.uint8)
    assert as_binary_labels(y8, "y_true", "f") is y8


def test_bindings_never_convert_silently():
    # The compiled layer refuses arrays of the wrong dtype instead of copying them.
    y = np.array([0, 1], dtype=np.uint8)
    with pytest.raises(TypeError):
        _core.metrics.roc_auc(y, np.array([0.1, 0.2], dtype=np.float32), None, 1.0)


def test_concurrent_calls_from_python_threads():
    rng = np.random.default_rng(0)
    data = [(rng.integers(0, 2, 50_000), rng.random(50_000)) for _ in range(8)]
    expected = [skm.roc_auc_score(y, s) for y, s in data]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda d: M.roc_auc_score(*d), data))
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_demo_runs():
    out = subprocess.run([sys.executable, "-m", "mlsd", "demo", "--rows", "20000"], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    assert "roc_auc_score" in out.stdout and "ndcg_at_k" in out.stdout and "hash_columns" in out.stdout
    assert "recall@100" in out.stdout and "CUPED" in out.stdout


def test_kernels_release_the_gil():
    mlsd.set_num_threads(1)
    rng = np.random.default_rng(0)
    y, s = rng.random(6_000_000) < 0.3, rng.random(6_000_000)
    assert_releases_gil(lambda: M.roc_auc_score(y, s))


@pytest.mark.parametrize("name,marker,count,extra", [("bench_metrics.py", "values agree", 4, ()),
                                                     ("bench_hashing.py", "identical matrices", 3, ()),
                                                     ("bench_retrieval.py", "recall vs faiss 1.0000", 1, ()),
                                                     ("bench_dask.py", "results equal", 2, ()),
                                                     ("bench_features.py", "values agree", 5, ()),
                                                     ("bench_features.py", "values agree", 1, ("--at",))])
def test_benchmark_script_runs_in_quick_mode(name, marker, count, extra):
    import pathlib

    script = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / name
    out = subprocess.run([sys.executable, str(script), "--quick", "--repeat", "1", *extra], capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count(marker) == count
