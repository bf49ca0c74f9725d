"""Plumbing shared by every mlsd.dask function: importing Dask lazily, lining up the partitions of
several Dask collections, running mlsd kernels inside a worker with the worker's thread count, and
tree-reducing mergeable states.

Nothing here imports Dask at module import time: ``import mlsd.dask`` costs nothing until a
function is called.
"""

from __future__ import annotations

import importlib
import math
from typing import Any, Callable, Sequence

from .._interrupts import cancel_probe

__all__ = ["require", "is_dask_collection", "aligned_partitions", "tree_reduce", "in_worker", "compute", "TaskCancelled"]

_INSTALL_HINT = "mlsd.dask needs Dask and distributed: pip install 'mlsd[dask]'"


def declared(public: str, **constraints):
    """``validate_params`` whose messages name the function ``public`` ("mlsd.dask.stats": the
    Dask twins share their names with the single-machine functions); the qualname stays the usual
    one."""
    from .._params import validate_params

    def decorate(fn):
        fn.__qualname__ = public
        wrapped = validate_params(**constraints)(fn)
        wrapped.__qualname__ = fn.__qualname__ = fn.__name__
        return wrapped

    return decorate


def require(module: str = "dask"):
    """Import a Dask module, or raise ImportError saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:  # pragma: no cover - exercised only without dask installed
        raise ImportError(f"{_INSTALL_HINT} (could not import {module}: {e})") from e


def is_dask_collection(x: Any) -> bool:
    if type(x).__module__.split(".")[0] not in ("dask", "dask_expr"):
        return False
    from dask.base import is_dask_collection as _is

    return _is(x)


def _kind(x: Any, name: str, func: str) -> str:
    if not is_dask_collection(x):
        raise TypeError(f"{func}: {name} must be a Dask array or a Dask Series/DataFrame; got {type(x).__name__} "
                        f"(use the single-machine function in mlsd for in-memory data)")
    da = require("dask.array")
    if isinstance(x, da.Array):
        return "array"
    dd = require("dask.dataframe")
    if isinstance(x, (dd.Series, dd.DataFrame)):
        return "frame"
    raise TypeError(f"{func}: {name} must be a Dask array or a Dask Series/DataFrame; got {type(x).__name__}")


def aligned_partitions(func: str, **columns: Any) -> list[list]:
    """The partitions of several 1-D Dask collections that describe the same rows, as a list (one
    entry per partition) of lists of Delayed objects (one per column, in keyword order).  None
    columns give None.

    Dask arrays are rechunked to the chunks of the first array; Dask Series must come from frames
    with the same number of partitions (as columns of one DataFrame do) and are not repartitioned,
    because their partition lengths are unknown until computed.  Mixing arrays and Series is an
    error.
    """
    given = {k: v for k, v in columns.items() if v is not None}
    if not given:
        raise ValueError(f"{func}: no data given")
    kinds = {k: _kind(v, k, func) for k, v in given.items()}
    if len(set(kinds.values())) > 1:
        raise TypeError(f"{func}: pass either Dask arrays or Dask Series for every column, not a mix "
                        f"({', '.join(f'{k}: {v}' for k, v in kinds.items())})")
    first_name, first = next(iter(given.items()))
    blocks: dict[str, list] = {}
    if kinds[first_name] == "array":
        for k, v in given.items():
            if v.ndim != 1:
                raise ValueError(f"{func}: {k} must be 1-D; got a Dask array of shape {v.shape}")
            known = not (math.isnan(v.shape[0]) or math.isnan(first.shape[0]))
            if known and v.shape[0] != first.shape[0]:
                raise ValueError(f"{func}: {k} has {v.shape[0]} elements but {first_name} has {first.shape[0]}")
        for k, v in given.items():
            if v.chunks != first.chunks:
                v = v.rechunk(first.chunks)
            blocks[k] = list(v.to_delayed().ravel())
    else:
        dd = require("dask.dataframe")
        for k, v in given.items():
            if isinstance(v, dd.DataFrame):
                raise TypeError(f"{func}: {k} must be a Dask Series (one column); got a DataFrame")
            if v.npartitions != first.npartitions:
                raise ValueError(f"{func}: {k} has {v.npartitions} partitions but {first_name} has "
                                 f"{first.npartitions}; pass columns of one DataFrame (or repartition them alike)")
            blocks[k] = list(v.to_delayed())
    n_parts = len(blocks[first_name])
    return [[blocks[k][i] if k in blocks else None for k in columns] for i in range(n_parts)]


class TaskCancelled(RuntimeError):
    """Raised by an mlsd kernel running as a task on a distributed worker when the task is no longer
    wanted (the client cancelled or released its futures, e.g. after Ctrl-C): the kernel stops
    between chunks of its work instead of holding the worker until it ends.  The worker discards
    the error (the task is already cancelled), so the client never sees it."""


def in_worker(fn: Callable) -> Callable:
    """Wrap a function that runs as a Dask task (every mlsd.dask task that calls an mlsd kernel is
    wrapped by it).  Inside a distributed worker:

    - mlsd kernels use the worker's own thread count (``nthreads``), so worker processes never
      oversubscribe the cores;
    - the kernels poll the worker's state for the task (every 20 ms, between chunks) and stop with
      :class:`TaskCancelled` once it is cancelled, released or forgotten.  If the task is wanted
      again by the time the kernel has stopped (the client submitted the same key at once), the
      task asks the scheduler to run it again (``distributed.Reschedule``) rather than fail.

    Elsewhere (the synchronous or threaded schedulers) the function runs as it is; on the main
    thread Ctrl-C stops the kernels as in any mlsd call."""

    def task(*args, **kwargs):
        probe = _worker_task_probe()
        if probe is None:
            return fn(*args, **kwargs)
        with cancel_probe(probe):
            try:
                return fn(*args, **kwargs)
            except TaskCancelled:
                if probe.wanted():
                    from distributed import Reschedule

                    raise Reschedule() from None
                raise

    task.__name__ = getattr(fn, "__name__", "mlsd_task")
    task.__qualname__ = getattr(fn, "__qualname__", task.__name__)
    return task


_worker_threads: int | None = None
# Task states (distributed's worker state machine) in which a running task's result is still
# wanted: "resumed" is a cancelled task whose result the scheduler then asked for after all.
_WANTED = frozenset({"executing", "long-running", "resumed"})


class _TaskProbe:
    """The cancel probe of one running task: raises TaskCancelled once the worker no longer wants
    it.  Called on the task's thread with the GIL held; it only reads the worker's task table."""

    def __init__(self, worker: Any, key: Any):
        self._tasks = worker.state.tasks
        self._key = key

    def wanted(self) -> bool:
        ts = self._tasks.get(self._key)
        return ts is not None and ts.state in _WANTED

    def __call__(self) -> None:
        if not self.wanted():
            raise TaskCancelled(f"mlsd.dask: task {self._key!r} was cancelled on its worker; its kernel stopped")


def _worker_task_probe() -> _TaskProbe | None:
    """Inside a distributed worker's task: sizes mlsd's threads to the worker (once per process)
    and returns the probe for the running task; None elsewhere."""
    global _worker_threads
    try:
        from distributed import get_worker
        from distributed.worker import thread_state

        worker = get_worker()
    except (ImportError, ValueError):  # not running inside a distributed worker
        return None
    n = int(getattr(getattr(worker, "state", worker), "nthreads", 0) or 0)
    if n > 0 and n != _worker_threads:
        import mlsd

        mlsd.set_num_threads(n)
        _worker_threads = n
    key = getattr(thread_state, "key", None)
    if key is None or getattr(getattr(worker, "state", None), "tasks", None) is None:
        return None
    return _TaskProbe(worker, key)


def tree_reduce(parts: Sequence, combine: Callable[[list], Any], split_every: int = 8, name: str = "mlsd-merge"):
    """Reduce Delayed states pairwise-in-groups (a tree of fan-in ``split_every``) with ``combine``,
    a function of a list of states returning one state.  Returns one Delayed."""
    delayed = require("dask").delayed
    if split_every < 2:
        raise ValueError(f"split_every must be >= 2; got {split_every}")
    level = list(parts)
    if not level:
        raise ValueError("tree_reduce: no partitions")
    combine_task = delayed(in_worker(combine), pure=True)
    depth = 0
    while len(level) > 1:
        level = [combine_task(level[i:i + split_every], dask_key_name=f"{name}-{depth}-{i // split_every}-"
                              f"{require('dask.base').tokenize(level[i:i + split_every])}")
                 for i in range(0, len(level), split_every)]
        depth += 1
    return level[0]


def compute(obj, client: Any = None):
    """Compute a Delayed (or several) on ``client`` if given, else on Dask's current scheduler (the
    default distributed client when one exists)."""
    if client is not None:
        return client.compute(obj, sync=True)
    return require("dask").compute(obj)[0]
