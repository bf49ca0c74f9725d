"""Stopping kernels from outside: the cancel probe of a thread (Ctrl-C needs nothing here: kernels
called on the main thread check for it themselves)."""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

from . import _core

__all__ = ["cancel_probe"]


@contextlib.contextmanager
def cancel_probe(probe: Callable[[], object]) -> Iterator[None]:
    """Kernels called on this thread inside the block call ``probe()`` between chunks of their work
    and at the start of a call (at most every 20 ms across calls, so a run of short calls is
    polled as one long call; taking the GIL) and stop when it raises: the kernel call then raises the
    probe's exception.  Meant for threads other than the main one, which get no Ctrl-C (mlsd.dask's
    tasks in a distributed worker stop this way once their task is cancelled); on the main thread
    Ctrl-C is checked first.  The previous probe is restored on exit, so blocks nest.  The probe may call mlsd kernels
    itself, retrieval included: they do not call it again while it runs.  It may not change an index whose call is
    running on this thread, nor use one that call changes (a RuntimeError says so).  The probe's exception lives no
    longer than the call: raised by it, or dropped when another error ends the call first."""
    previous = _core._set_cancel_probe(probe)
    try:
        yield
    finally:
        _core._set_cancel_probe(previous)
