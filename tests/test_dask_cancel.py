"""A cancelled mlsd.dask call frees its workers: the mlsd kernel of a running task stops between
chunks once the worker no longer wants the task, instead of holding the worker to the end.

A child process starts a LocalCluster (one worker, one thread; of threads or of processes) and
an mlsd.dask call whose kernel would run for minutes on it.  Once the worker is executing, the
call is cancelled as a user would: Ctrl-C in the client (SIGINT from this test: the client raises
KeyboardInterrupt and releases the call's futures) or ``client.cancel`` from another thread.  The
child then asks the worker (``client.run``) until it runs no task, and makes a short call on the
same cluster, which must work.

No timing is asserted: uncancelled, each call runs for minutes (far beyond IDLE_TIMEOUT), so a
kernel that ignores the cancellation fails by staying busy."""

from __future__ import annotations

import signal
import sys
import textwrap

import pytest
from conftest import interrupted_child

pytest.importorskip("distributed")

IDLE_TIMEOUT = 20  # seconds for the worker to become idle; uncancelled, the calls run for minutes
CHILD_TIMEOUT = 120

CHILD = """
import os, sys, threading, time, warnings
warnings.simplefilter("ignore")
import numpy as np, dask.array as da
import mlsd.dask as MD
from distributed import Client, Future, LocalCluster

PROCESSES, HOW = {processes!r}, {how!r}
cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=PROCESSES, dashboard_address=None)
client = Client(cluster)
rng = np.random.default_rng(0)
{setup}

def running():
    return sum(client.run(lambda dask_worker: len(dask_worker.active_threads)).values())

def cancel_when_running():
    while not running():
        time.sleep(0.05)
    if HOW == "sigint":
        print("ready", flush=True)  # the test sends SIGINT
        return
    keys = client.run_on_scheduler(
        lambda dask_scheduler: [k for k, ts in dask_scheduler.tasks.items() if ts.state == "processing"])
    client.cancel([Future(k, client) for k in keys], force=True)

threading.Thread(target=cancel_when_running, daemon=True).start()
try:
    {call}
    print("returned", flush=True)
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
except Exception as e:
    print("cancelled" if "cancel" in type(e).__name__.lower() else repr(e), flush=True)
deadline = time.monotonic() + {idle_timeout}
while running() and time.monotonic() < deadline:
    time.sleep(0.05)
if running():
    print("still busy", flush=True)
    os._exit(0)  # a worker thread that never stops would keep this process alive
print("idle", flush=True)
{after}
print("after ok", flush=True)
client.close()
cluster.close()
"""

# name: (setup, the long call, a short call on the same cluster afterwards)
CASES = {
    "bootstrap": ("x = da.from_array(rng.standard_normal(100_000), chunks=100_000)",
                  "MD.bootstrap(x, n_resamples=500_000)",
                  "r = MD.bootstrap(x[:1000], n_resamples=20); assert np.isfinite(r.confidence_interval[0])"),
    "DistributedIndex search": ("""
ix = MD.DistributedIndex(64, "l2", n_shards=1)
ix.add(da.from_array(rng.random((200_000, 64), dtype=np.float32), chunks=100_000))
queries = da.from_array(rng.random((200_000, 64), dtype=np.float32), chunks=200_000)
""", "ix.search(queries, 10, batch_size=200_000)", "d, i = ix.search(queries[:3].compute(), 5); assert i.shape == (3, 5)"),
}


def _run(name: str, processes: bool, how: str) -> list[str]:
    setup, call, after = CASES[name]
    source = CHILD.format(processes=processes, how=how, setup=textwrap.dedent(setup), call=call,
                          idle_timeout=IDLE_TIMEOUT, after=after)
    def interrupt(child):
        if how == "sigint":
            line = child.stdout.readline().strip()
            assert line == "ready", (line, child.stderr.read() if child.poll() is not None else "")
            child.send_signal(signal.SIGINT)

    out, err, returncode = interrupted_child(source, interrupt, CHILD_TIMEOUT, name)
    assert returncode == 0, err
    return out.splitlines()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
def test_ctrl_c_in_the_client_frees_the_worker(processes):
    assert _run("bootstrap", processes, "sigint") == ["KeyboardInterrupt", "idle", "after ok"]


@pytest.mark.parametrize("name", list(CASES))
def test_client_cancel_frees_the_worker(name):
    assert _run(name, False, "cancel") == ["cancelled", "idle", "after ok"]
