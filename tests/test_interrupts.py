"""Ctrl-C stops a long kernel: a child process starts a call that would run for minutes, the test
sends it SIGINT half a second in, and the call raises KeyboardInterrupt (the kernel checks for
signals between its chunks, from the calling thread).  The child then makes another call, which
must work: an interrupted kernel leaves no lock held and no stale signal behind.

No timing is asserted: each call below is sized to run far longer than the timeout when nothing
stops it (with the child's two threads), so a kernel that ignores Ctrl-C fails by timing out."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import interrupted_child, run_here_or_on_a_thread

HANG_TIMEOUT = 60  # seconds after SIGINT; uninterrupted, every call below runs for minutes

PRELUDE = """
import numpy as np, mlsd
mlsd.set_num_threads(2)
rng = np.random.default_rng(0)
"""

# name: (setup, the long call, a short call made after the interrupt)
CASES = {
    "knn": ("""
import mlsd.retrieval as R
items = rng.random((500_000, 64), dtype=np.float32)
queries = rng.random((100_000, 64), dtype=np.float32)
""", "R.knn(queries, items, 10, 'ip')", "R.knn(queries[:3], items[:100], 5, 'ip')"),
    "exact Index search": ("""
import mlsd.retrieval as R
ix = R.Index(64, 'l2')
ix.add(rng.random((500_000, 64), dtype=np.float32))
queries = rng.random((100_000, 64), dtype=np.float32)
""", "ix.search(queries, 10)", "ix.search(queries[:3], 5)"),
    "HNSW search": ("""
import mlsd.retrieval as R
ix = R.Index(8, 'l2', 'HNSW16')
ix.add(rng.standard_normal((2_000, 8)).astype(np.float32))
queries = rng.standard_normal((400_000, 8)).astype(np.float32)
""", "ix.search(queries, 10, efSearch=2000)", "ix.search(queries[:3], 5)"),
    "IVF search": ("""
import mlsd.retrieval as R
ix = R.Index(8, 'l2', 'IVF4,Flat')
x = rng.standard_normal((20_000, 8)).astype(np.float32)
ix.train(x).add(x)
queries = rng.standard_normal((2_000_000, 8)).astype(np.float32)
""", "ix.search(queries, 10, nprobe=4)", "ix.search(queries[:3], 5, nprobe=4)"),
    "ShardedIndex search": ("""
import mlsd.retrieval as R
ix = R.ShardedIndex(64, 'ip', 'Flat', n_shards=2)
ix.add(rng.random((500_000, 64), dtype=np.float32))
queries = rng.random((100_000, 64), dtype=np.float32)
""", "ix.search(queries, 10)", "ix.search(queries[:3], 5)"),
    "bootstrap": ("""
import mlsd.abtest as A
x = rng.standard_normal(1_000_000)
""", "A.bootstrap(x, n_resamples=1_000_000)", "A.bootstrap(x[:100], n_resamples=10)"),
    "HNSW add": ("""
import mlsd.retrieval as R
ix = R.Index(32, 'l2', 'HNSW32')
x = rng.standard_normal((400_000, 32)).astype(np.float32)
""", "ix.add(x)", "assert len(ix) % 10_000 == 0 and len(ix) < 400_000; ix.add(x[:5]); ix.search(x[:3], 5)"),
    "sharded HNSW add": ("""
import mlsd.retrieval as R
ix = R.ShardedIndex(32, 'l2', 'HNSW32', n_shards=2)
x = rng.standard_normal((400_000, 32)).astype(np.float32)
""", "ix.add(x)", "n = len(ix); assert 0 < n < 400_000; ix.add(x[:5]); assert len(ix) == n + 5; ix.search(x[:3], 5)"),
    "IVF train (FAISS k-means)": ("""
import mlsd.retrieval as R
ix = R.Index(64, 'l2', 'IVF2048,Flat')
x = rng.standard_normal((400_000, 64)).astype(np.float32)
""", "ix.train(x)", """
assert not ix.is_trained  # untrained and whole: trained again, as a fresh index is
ix.train(x[:4096]); ix.add(x[:1000])
fresh = R.Index(64, 'l2', 'IVF2048,Flat'); fresh.train(x[:4096]); fresh.add(x[:1000])
assert (ix.search(x[:50], 10, nprobe=1)[1] == fresh.search(x[:50], 10, nprobe=1)[1]).all()  # other centroids: other lists
"""),
    "ks_2samp exact": ("""
import mlsd.monitoring as MON
a, b = rng.random(300_000), rng.random(300_000) + 0.3
""", "MON.ks_2samp(a, b, method='exact')", "MON.ks_2samp(a[:50], b[:50], method='exact')"),
    "dask bootstrap, synchronous scheduler": ("""
import dask, dask.array as da, mlsd.dask as MD
dask.config.set(scheduler='synchronous')
x = da.from_array(rng.standard_normal(1_000_000), chunks=250_000)
""", "MD.bootstrap(x, n_resamples=1_000_000)", "MD.bootstrap(x[:1000], n_resamples=10)"),
    "hash_columns": ("""
import mlsd.hashing as H
data = {'a': rng.integers(0, 1000, 1_000_000), 'b': rng.integers(0, 1000, 1_000_000)}
""", "H.hash_columns(data, crosses=[('a', 'b') * 25] * 40)", "H.hash_columns({'a': np.arange(5)})"),
}


def _child_source(setup: str, call: str, after: str) -> str:
    return PRELUDE + textwrap.dedent(setup) + textwrap.dedent(f"""
import sys
print("ready", flush=True)
try:
    {call}
    print("returned", flush=True)
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
{after}
print("after ok", flush=True)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
@pytest.mark.parametrize("name", list(CASES))
def test_ctrl_c_stops_a_long_call(name):
    def sigint(child):
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(0.5)
        child.send_signal(signal.SIGINT)

    out, err, returncode = interrupted_child(_child_source(*CASES[name]), sigint, HANG_TIMEOUT, name)
    assert out.splitlines() == ["KeyboardInterrupt", "after ok"], (out, err)
    assert returncode == 0, err


@pytest.mark.skipif(sys.platform == "win32", reason="threads and a child process")
def test_accessors_do_not_deadlock_with_a_kernel_checking_for_ctrl_c():
    # The main thread's HNSW add holds the index lock and takes the GIL between blocks to check
    # for Ctrl-C; another thread asking len(ix) / is_trained / next_id must not wait for that lock
    # while holding the GIL (a deadlock before the accessors released it).
    source = PRELUDE + textwrap.dedent("""
        import threading
        import mlsd.retrieval as R
        x = np.random.default_rng(0).standard_normal((40_000, 8)).astype(np.float32)
        ix = R.Index(8, spec="HNSW8")
        stop = threading.Event()
        def poll():
            while not stop.is_set():
                len(ix); ix.is_trained
        t = threading.Thread(target=poll)
        t.start()
        ix.add(x)
        stop.set()
        t.join()
        print("done", len(ix), flush=True)
    """)
    try:
        out = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=HANG_TIMEOUT * 3)
    except subprocess.TimeoutExpired:
        pytest.fail("HNSW add with another thread polling len(ix) deadlocked")
    assert out.stdout.split() == ["done", "40000"], out.stderr


def test_a_cancel_probe_stops_a_kernel_on_any_thread():
    """A thread's cancel probe (what mlsd.dask installs on workers) is called between chunks, only
    on the calling thread, and its exception stops the kernel; without a probe, nothing changes."""
    import threading

    import numpy as np

    import mlsd.abtest as A
    from mlsd._interrupts import cancel_probe

    class Stop(Exception):
        pass

    x = np.random.default_rng(0).standard_normal(20_000)
    expected = A.bootstrap(x, n_resamples=2000)
    for on_main in (False, True):
        calls: list[int] = []

        def probe():
            calls.append(threading.get_ident())
            if len(calls) >= 3:
                raise Stop("enough")

        out: dict = {}

        def run():
            with cancel_probe(probe):
                try:
                    A.bootstrap(x, n_resamples=1_000_000)  # a minute, unless the probe stops it
                except Stop as e:
                    out["stopped"] = e
            out["after"] = A.bootstrap(x, n_resamples=2000)  # the probe is gone
            out["thread"] = threading.get_ident()

        run_here_or_on_a_thread(run, on_main, HANG_TIMEOUT, "the probe did not stop the kernel")
        assert isinstance(out["stopped"], Stop)
        assert calls == [out["thread"]] * 3
        assert out["after"].confidence_interval == expected.confidence_interval

    reference = A.bootstrap(x, n_resamples=5000)
    silent: list[int] = []
    with cancel_probe(lambda: silent.append(1)):
        assert A.bootstrap(x, n_resamples=5000).confidence_interval == reference.confidence_interval
    assert silent  # called (the 20 ms clock runs across bootstrap's short kernel calls), and changed nothing


def test_a_cancel_probe_is_polled_across_short_kernel_calls():
    """The probe's 20 ms clock runs across kernel calls: a kernel call that starts 20 ms or more
    after the probe was last called calls it first, however short the call.  (With a clock per
    call, a task made of short calls, as bootstrap's blocks of 100 resamples on a fast machine,
    was never polled and ran to its end.)"""
    import numpy as np

    import mlsd.abtest as A
    from mlsd._interrupts import cancel_probe

    class Stop(Exception):
        pass

    calls: list[int] = []

    def probe():
        calls.append(1)
        raise Stop("enough")

    x = np.arange(10.0)
    with cancel_probe(probe):
        time.sleep(0.05)
        with pytest.raises(Stop):
            A.bootstrap(x, n_resamples=1)  # one kernel call of a few microseconds
    assert calls == [1]
    small = np.random.default_rng(1).standard_normal(200)
    polls: list[int] = []

    def stop_third():
        polls.append(1)
        if len(polls) >= 3:
            raise Stop("enough")

    with cancel_probe(stop_third):
        with pytest.raises(Stop):
            A.bootstrap(small, n_resamples=10_000_000)  # 100,000 calls of well under 20 ms each
    assert len(polls) == 3


def test_a_probe_that_calls_a_kernel_is_not_reentered():
    """A probe may call an mlsd kernel itself; that kernel does not call the probe again (it did,
    and again inside that call, until RecursionError)."""
    import numpy as np

    import mlsd.abtest as A
    from mlsd._interrupts import cancel_probe

    x = np.random.default_rng(2).standard_normal(20_000)
    depth = [0]
    deepest = [0]

    def probe():
        depth[0] += 1
        deepest[0] = max(deepest[0], depth[0])
        try:
            A.bootstrap(x, n_resamples=2000)  # 20 kernel calls, well over 20 ms in all
        finally:
            depth[0] -= 1

    with cancel_probe(probe):
        time.sleep(0.05)
        A.bootstrap(x[:10], n_resamples=1)  # one kernel call, which calls the probe at its start
    assert deepest[0] == 1
