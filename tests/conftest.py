import threading

import numpy as np
import pytest

import mlsd


@pytest.fixture(autouse=True)
def _restore_threads():
    yield
    mlsd.set_num_threads(None)


def binary_data(seed, n=None, ties=True, weights=False, zero_weights=False):
    """Labels correlated with scores; `ties` rounds scores so that many are equal."""
    rng = np.random.default_rng(seed)
    n = n or int(rng.integers(50, 3000))
    y = (rng.random(n) < rng.uniform(0.05, 0.6)).astype(np.int64)
    s = rng.normal(size=n) + y * rng.uniform(0, 2)
    if ties:
        s = np.round(s, int(rng.integers(0, 3)))
    w = None
    if weights:
        w = rng.integers(1, 5, n).astype(np.float64)
        if zero_weights:
            w[rng.random(n) < 0.1] = 0.0
    return y, s, w


def assert_releases_gil(kernel):
    """While a worker thread runs kernel(), the main thread keeps running Python code.  With the
    GIL held for the whole kernel, the loop below could not advance until it returned."""
    import threading

    started, finished = threading.Event(), threading.Event()

    def work():
        started.set()
        kernel()
        finished.set()

    t = threading.Thread(target=work)
    t.start()
    started.wait()
    spins = 0
    while not finished.is_set():
        spins += 1
    t.join()
    assert spins > 1000


def run_here_or_on_a_thread(run, on_main, timeout, what="the call did not return"):
    """Runs `run()` on this thread, or on a new one that must end within `timeout` seconds (a call
    run from another Python thread must behave as on the main one)."""
    if on_main:
        run()
        return
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), what


def interrupted_child(source, interrupt, timeout, what):
    """Runs `source` in a child Python process, calls interrupt(child) (which waits for the child to
    be ready and signals it, or does nothing), and returns the child's (stdout, stderr, return code); fails the test, naming
    `what`, when the child is still running `timeout` seconds later.  The child never outlives it."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", source], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        interrupt(child)
        try:
            out, err = child.communicate(timeout=timeout)
            return out, err, child.returncode
        except subprocess.TimeoutExpired:
            pytest.fail(f"{what}: the child did not finish within {timeout} s")
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()


def local_client(*, n_workers, threads_per_worker, processes, set_as_default=True):
    """A generator for fixtures: a Client of a fresh LocalCluster, closed afterwards.  Startup and
    shutdown notices (ports, dashboard) are not test failures."""
    pytest.importorskip("distributed")
    import warnings

    from distributed import Client, LocalCluster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=processes,
                               dashboard_address=None)
        client = Client(cluster, set_as_default=set_as_default)
    yield client
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.close()
        cluster.close()


@pytest.fixture(scope="session")
def dask_client():
    """One LocalCluster for the whole session, started only if a Dask test runs: two worker
    processes with one thread each, as the mlsd.dask tests require."""
    yield from local_client(n_workers=2, threads_per_worker=1, processes=True)


def uneven_split(n, seed, n_parts=7, empty=2):
    """Chunk sizes summing to n: uneven, with `empty` zero-length chunks and a one-row chunk."""
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.choice(np.arange(1, n - 1), size=n_parts - empty - 2, replace=False))
    sizes = list(np.diff(np.concatenate([[0], cuts, [n - 1]]))) + [1] + [0] * empty
    rng.shuffle(sizes)
    assert sum(sizes) == n
    return tuple(int(s) for s in sizes)
