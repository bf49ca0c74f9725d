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
