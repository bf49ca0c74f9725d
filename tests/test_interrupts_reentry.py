"""Python run from inside a kernel's Ctrl-C check (a signal handler, a cancel probe) may call mlsd
again, even retrieval while an Index is being trained: it never deadlocks.  FAISS asks its one
process-wide interrupt callback under a global mutex on every IVF query; a nested IVF search used
to run the hook there, and a handler reaching another IVF search locked that mutex again on the
same thread.  Code that uses the very index whose call is running on the same thread gets a
RuntimeError that says so, where it hung or raised "Resource deadlock avoided".  Trains on several
threads at once, with or without interrupts, give each index what a train alone gives it.

Each case that could hang runs in a child process with a timeout, and asserts a clean exit."""

from __future__ import annotations

import sys
import textwrap
import threading

import numpy as np
import pytest
from conftest import interrupted_child, run_here_or_on_a_thread

import mlsd.retrieval as R
from mlsd._interrupts import cancel_probe

HANG_TIMEOUT = 120  # seconds; each child below finishes in a few when nothing deadlocks

PRELUDE = """
import signal, numpy as np, mlsd, mlsd.retrieval as R
from mlsd._interrupts import cancel_probe
mlsd.set_num_threads(2)
rng = np.random.default_rng(0)

class Done(Exception):
    pass

other = R.Index(8, 'l2', 'IVF4,Flat')
y = rng.standard_normal((20_000, 8)).astype(np.float32)
other.train(y).add(y)
queries = rng.standard_normal((20_000, 8)).astype(np.float32)
expected = other.search(queries[:50], 10, nprobe=4).ids
x = rng.standard_normal((100_000, 64)).astype(np.float32)
ix = R.Index(64, 'l2', 'IVF1024,Flat')   # seconds of k-means, unless stopped
"""

CASES = {
    # The probe, called by the train's Ctrl-C check, runs a long IVF search; a SIGALRM it set
    # fires during that search, and the handler runs another IVF search.  Before the fix the
    # handler ran inside FAISS's interrupt callback, under FAISS's mutex, and its own search
    # locked it again (this child hung).
    "a handler's IVF search inside a probe's IVF search during a train": """
found = []
def handler(sig, frame):
    found.append(other.search(queries[:50], 10, nprobe=4).ids)
signal.signal(signal.SIGALRM, handler)
calls = []
def probe():
    calls.append(1)
    if len(calls) < 2:   # the first call is at the kernel's start, before the train
        return
    signal.setitimer(signal.ITIMER_REAL, 0.02)
    other.search(queries[:8192], 10, nprobe=4)   # far longer than 20 ms
    raise Done()
try:
    with cancel_probe(probe):
        ix.train(x)
except Done:
    print("stopped", flush=True)
assert len(found) == 1 and (found[0] == expected).all()
assert not ix.is_trained
""",
    # A probe that trains another index and searches it, then stops the outer train.
    "a probe that trains and searches another index during a train": """
calls = []
def probe():
    calls.append(1)
    if len(calls) == 2:
        fresh = R.Index(8, 'l2', 'IVF4,Flat')
        fresh.train(y).add(y)
        assert (fresh.search(queries[:50], 10, nprobe=4).ids == expected).all()
    if len(calls) == 3:
        raise Done()
try:
    with cancel_probe(probe):
        ix.train(x)
except Done:
    print("stopped", flush=True)
assert not ix.is_trained
""",
    # The same, from a SIGALRM handler (run by the train's own Ctrl-C check).
    "a handler that trains and searches another index during a train": """
def handler(sig, frame):
    fresh = R.Index(8, 'l2', 'IVF4,Flat')
    fresh.train(y).add(y)
    assert (fresh.search(queries[:50], 10, nprobe=4).ids == expected).all()
    raise Done()
signal.signal(signal.SIGALRM, handler)
signal.setitimer(signal.ITIMER_REAL, 0.05)
try:
    ix.train(x)
except Done:
    print("stopped", flush=True)
assert not ix.is_trained
""",
    # Using the index being trained: a clear RuntimeError (was "Resource deadlock avoided").
    "a probe that searches the index being trained": """
calls = []
def probe():
    calls.append(1)
    if len(calls) >= 2:   # the first call is at the kernel's start, before it takes the lock
        ix.search(queries[:5, :1].repeat(64, axis=1), 3)
try:
    with cancel_probe(probe):
        ix.train(x)
except RuntimeError as e:
    assert str(e).startswith("Index.search: the index is in use by a call on this same thread"), e
    print("stopped", flush=True)
assert not ix.is_trained
try:
    ix.search(x[:3], 3)   # the lock was let go: a plain error, not a wait
except ValueError as e:
    assert "is not trained" in str(e), e
""",
    # Adding to an index from inside its own search: a RuntimeError, where it hung (a writer
    # waiting for this thread's own read lock).
    "a probe that adds to the index being searched": """
flat = R.Index(64, 'l2')
flat.add(x)
calls = []
def probe():
    calls.append(1)
    if len(calls) >= 2:
        flat.add(x[:10])
try:
    with cancel_probe(probe):
        flat.search(x, 10)   # minutes unless stopped
except RuntimeError as e:
    assert str(e).startswith("Index.add: the index is in use by a call on this same thread"), e
    print("stopped", flush=True)
assert len(flat) == 100_000
flat.add(x[:10]); assert len(flat) == 100_010
""",
    # The same for a ShardedIndex: its search holds the sharded index's lock.
    "a probe that adds to the ShardedIndex being searched": """
sh = R.ShardedIndex(64, 'l2', 'Flat', n_shards=2)
sh.add(x)
calls = []
def probe():
    calls.append(1)
    if len(calls) >= 2:
        sh.add(x[:10])
try:
    with cancel_probe(probe):
        sh.search(x, 10)
except RuntimeError as e:
    assert str(e).startswith("ShardedIndex.add: the index is in use by a call on this same thread"), e
    print("stopped", flush=True)
assert len(sh) == 100_000
""",
}


@pytest.mark.skipif(sys.platform == "win32", reason="SIGALRM")
@pytest.mark.parametrize("name", list(CASES))
def test_python_run_by_an_interrupt_check_can_use_retrieval(name):
    source = PRELUDE + textwrap.dedent(CASES[name]) + '\nprint("after ok", flush=True)\n'
    out, err, returncode = interrupted_child(source, lambda child: None, HANG_TIMEOUT, name)
    assert out.splitlines() == ["stopped", "after ok"], (out, err)
    assert returncode == 0, err


def _train(spec, x, out, key, probe=None):
    ix = R.Index(x.shape[1], "l2", spec)
    try:
        if probe is None:
            ix.train(x)
        else:
            with cancel_probe(probe):
                ix.train(x)
    except Exception as e:  # noqa: BLE001  (the test inspects it)
        out[key + " error"] = e
    out[key] = ix


def _run_threads(targets):
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG_TIMEOUT)
        assert not t.is_alive(), "a train did not finish: deadlocked"


def test_concurrent_trains_with_and_without_interrupts():
    """Two threads train two indexes at once: each index is what a train alone gives (the same
    neighbours), whether or not the other thread's train is stopped by its cancel probe, and a
    probe that never raises changes nothing."""
    rng = np.random.default_rng(5)
    xa = rng.standard_normal((20_000, 16)).astype(np.float32)
    xb = rng.standard_normal((20_000, 16)).astype(np.float32)
    q = rng.standard_normal((200, 16)).astype(np.float32)
    big = rng.standard_normal((100_000, 64)).astype(np.float32)

    def neighbours(ix, x):
        ix.add(x)
        return ix.search(q, 10, nprobe=2).ids

    alone = {}
    _train("IVF64,Flat", xa, alone, "a")
    _train("IVF64,Flat", xb, alone, "b")
    want_a, want_b = neighbours(alone["a"], xa), neighbours(alone["b"], xb)

    class Stop(Exception):
        pass

    def stop_on_third_call():
        calls.append(1)
        if len(calls) >= 3:
            raise Stop()

    for case in ("no probes", "quiet probes", "b stopped"):
        calls: list[int] = []
        out: dict = {}
        quiet = (lambda: None) if case == "quiet probes" else None
        if case == "b stopped":
            # b: seconds of k-means unless its probe stops it, while a trains alone
            targets = [lambda: _train("IVF64,Flat", xa, out, "a"),
                       lambda: _train("IVF1024,Flat", big, out, "b", stop_on_third_call)]
        else:
            targets = [lambda: _train("IVF64,Flat", xa, out, "a", quiet),
                       lambda: _train("IVF64,Flat", xb, out, "b", quiet)]
        _run_threads(targets)
        assert "a error" not in out, (case, out.get("a error"))
        np.testing.assert_array_equal(neighbours(out["a"], xa), want_a, err_msg=case)
        if case == "b stopped":
            assert isinstance(out["b error"], Stop)
            assert len(calls) == 3 and not out["b"].is_trained
        else:
            assert "b error" not in out, (case, out.get("b error"))
            np.testing.assert_array_equal(neighbours(out["b"], xb), want_b, err_msg=case)


def test_a_probes_exception_is_not_kept_after_the_call():
    """A probe's exception stops the call and is raised by it; afterwards mlsd holds no reference
    to it (nor to its traceback's frames), and the thread's next call without a probe is clean."""
    import gc
    import weakref

    import mlsd.abtest as A

    class Stop(Exception):
        pass

    x = np.random.default_rng(2).standard_normal(20_000)
    refs = []

    def probe():
        e = Stop()
        refs.append(weakref.ref(e))
        raise e

    def run():
        with cancel_probe(probe):
            with pytest.raises(Stop):
                A.bootstrap(x, n_resamples=1_000_000)
        assert A.bootstrap(x[:100], n_resamples=10).confidence_interval is not None

    for on_main in (True, False):
        refs.clear()
        run_here_or_on_a_thread(run, on_main, HANG_TIMEOUT)
        gc.collect()
        assert refs and all(r() is None for r in refs)


def test_a_probes_exception_that_loses_the_race_to_a_workers_error_is_not_kept():
    """The race of issue #17's leftover: the probe raises on the calling thread while a worker's
    task has already failed on bad data (a row out of range, found in the block a worker takes
    last).  oneTBB reports the first error, so the call raises ValueError; the probe's exception,
    which the bindings had kept for an interrupt, used to stay referenced from its thread until
    that thread's next call with a probe (forever once the probe was gone).  Now it is dropped when
    the call ends.  The probe is slow on purpose (300 ms of work, as a probe that asks a scheduler
    over the network) so the worker's error usually comes first; whichever comes first, the call
    raises one of the two and nothing of the probe's outlives it."""
    import gc
    import time
    import weakref

    from mlsd import _core

    class Stop(Exception):
        pass

    rng = np.random.default_rng(0)
    columns = [rng.integers(0, 1 << 60, 1000) for _ in range(2)]
    rows = rng.integers(0, 1000, 8_000_000)
    rows[-1] = 5000  # out of range

    def run(outcomes):
        refs, calls = [], []

        def probe():
            calls.append(1)
            if len(calls) < 2:  # the call at the kernel's start
                return
            end = time.perf_counter() + 0.3
            while time.perf_counter() < end:
                pass
            e = Stop()
            refs.append(weakref.ref(e))
            raise e

        with cancel_probe(probe):
            try:
                _core.features.take_rows(rows, columns, [0, 0])  # the kernel under point_in_time_join
            except ValueError as e:
                assert "row 5000 is out of range" in str(e)
                outcomes.append("ValueError after the probe raised" if refs else "ValueError")
            except Stop:
                outcomes.append("Stop")
        gc.collect()
        assert all(r() is None for r in refs), outcomes

    import mlsd

    previous = mlsd.get_num_threads()
    mlsd.set_num_threads(2)
    try:
        outcomes: list[str] = []
        for _ in range(2):
            run(outcomes)
        t = threading.Thread(target=run, args=(outcomes,), daemon=True)
        t.start()
        t.join(HANG_TIMEOUT)
        assert not t.is_alive() and len(outcomes) == 3, outcomes
    finally:
        mlsd.set_num_threads(previous)


def test_a_kernel_called_by_a_probe_is_not_cut_short_by_its_calls_error():
    """The probe runs while a worker's error is cancelling the probe's own call (the race above):
    a kernel the probe calls then is a call of its own and returns its whole result.  It used to
    run under the cancelled call's task context: its loops were skipped and it returned zeros as
    if whole.  Whether the worker's error comes while the probe runs is up to the scheduler, so
    the call is repeated until it did a few times; each nested result must be whole."""
    import time

    import mlsd
    from mlsd import _core

    class Stop(Exception):
        pass

    rng = np.random.default_rng(0)
    # Gathers from columns far larger than the caches: the call lasts several of the probe's
    # 20 ms polling intervals.
    columns = [rng.integers(0, 1 << 60, 4_000_000) for _ in range(2)]
    rows = rng.integers(0, 4_000_000, 8_000_000)
    rows[-1] = 4_000_000  # out of range, in a block a worker takes late
    good = rng.integers(0, 4_000_000, 1_000_000)
    want = [c[good] for c in columns]

    def run(nested):
        calls = []

        def probe():
            calls.append(1)
            if len(calls) != 2:  # the first call is at the kernel's start
                return
            end = time.perf_counter() + 0.3  # meanwhile a worker finds the bad row
            while time.perf_counter() < end:
                pass
            got = _core.features.take_rows(good, columns, [0, 0])
            nested.append(all(np.array_equal(g.view(np.int64), w) for g, w in zip(got, want)))
            raise Stop()

        with cancel_probe(probe):
            with pytest.raises((ValueError, Stop)):
                _core.features.take_rows(rows, columns, [0, 0])

    def repeat(nested):
        for _ in range(30):
            run(nested)
            if len(nested) >= 2:
                return

    previous = mlsd.get_num_threads()
    mlsd.set_num_threads(2)
    try:
        on_main: list[bool] = []
        repeat(on_main)
        on_thread: list[bool] = []
        t = threading.Thread(target=repeat, args=(on_thread,), daemon=True)
        t.start()
        t.join(HANG_TIMEOUT)
        assert not t.is_alive()
    finally:
        mlsd.set_num_threads(previous)
    assert on_main and all(on_main), on_main
    assert on_thread and all(on_thread), on_thread


def test_a_probe_asking_a_sharded_index_about_its_own_call_is_told_so_by_name():
    """len() and is_trained of a ShardedIndex asked by a probe during that index's own train or
    add: the RuntimeError names the ShardedIndex accessor (it named len(Index) and
    Index.is_trained, the shard's, which the caller never called)."""

    class Stop(Exception):
        pass

    rng = np.random.default_rng(3)
    x = rng.standard_normal((100_000, 64)).astype(np.float32)

    def ask(sh, call):
        calls, said = [], []

        def probe():
            calls.append(1)
            if len(calls) < 2:  # the first call is at the kernel's start, before the lock
                return
            for question in (lambda: len(sh), lambda: sh.is_trained):
                try:
                    said.append(question())
                except RuntimeError as e:
                    said.append(str(e).split(":")[0])
            raise Stop()

        with cancel_probe(probe):
            with pytest.raises(Stop):
                call()
        return said

    sh = R.ShardedIndex(64, "l2", "IVF1024,Flat", n_shards=2)  # seconds of k-means unless stopped
    assert ask(sh, lambda: sh.train(x)) == ["len(ShardedIndex)", "ShardedIndex.is_trained"]
    assert not sh.is_trained and len(sh) == 0

    hnsw = R.ShardedIndex(64, "l2", "HNSW8", n_shards=2)  # checked between blocks of 10,000 rows
    said = ask(hnsw, lambda: hnsw.add(x[:60_000]))
    # is_trained reads the first shard, which the add may have finished with by then
    assert said[0] == "len(ShardedIndex)" and said[1] in ("ShardedIndex.is_trained", True), said
