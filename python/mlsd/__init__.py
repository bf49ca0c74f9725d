"""mlsd: multithreaded C++ kernels for machine-learning system design.

Families: :mod:`mlsd.retrieval` (exact and approximate nearest-neighbour search),
:mod:`mlsd.metrics` (offline evaluation), :mod:`mlsd.hashing` (the hashing trick) and
:mod:`mlsd.abtest` (A/B significance tests).

Threads
-------
Every kernel releases the GIL and runs on a oneTBB arena of :func:`get_num_threads` threads.
:func:`set_num_threads` is the one knob: it sizes that arena and also sets the OpenMP thread
count (used by FAISS) and the BLAS thread pools loaded in the process (through threadpoolctl), so
that mlsd never oversubscribes the machine.  Results never depend on the thread count.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version as _version

from numbers import Integral as _Integral

from . import _core
from ._params import Interval as _Interval, validate_params as _validate_params

try:
    __version__ = _version("mlsd")
except PackageNotFoundError:  # running from a build tree
    __version__ = _core.__version__

__all__ = ["__version__", "set_num_threads", "get_num_threads", "abtest", "hashing", "metrics", "monitoring", "retrieval"]

_blas_limiter = None


@_validate_params(n=[_Interval(_Integral, 0, None), None])
def set_num_threads(n: int | None) -> None:
    """Set the number of threads mlsd uses (TBB, OpenMP and BLAS alike).

    Parameters
    ----------
    n : int or None
        A positive thread count, or None (or 0) for the default: every core available to the
        process.  A count above the number of cores is capped at it.  Setting a count also limits
        the BLAS libraries loaded in the process (via threadpoolctl); the default removes that
        limit again.
    """
    global _blas_limiter
    if n is None:
        n = 0
    n = min(n, _core.default_num_threads())  # more threads than cores only oversubscribe
    _core.set_num_threads(n)
    from threadpoolctl import threadpool_limits

    if _blas_limiter is not None:
        _blas_limiter.restore_original_limits()
        _blas_limiter = None
    if n > 0:
        _blas_limiter = threadpool_limits(limits=n, user_api="blas")


def get_num_threads() -> int:
    """The number of threads each mlsd kernel runs on."""
    return int(_core.get_num_threads())


from . import abtest, hashing, metrics, monitoring, retrieval  # noqa: E402  (need _core, imported above)
