"""The mergeable-state protocol: every mlsd object that summarises data implements it.

A state summarises rows so that the summary of a union of samples is the merge of the samples'
summaries.  That one property gives streaming (``update``), multithreaded reduction, and
scale-out (per-partition states tree-reduced on Dask) with the same code.

The protocol (:class:`MergeableState`):

``State.from_arrays(...)``
    The state of one sample (a classmethod; the family's constructor may also take arrays).
``state.update(...)``
    Adds a batch **in place** and returns ``self`` (so calls chain).  Takes the same data
    arguments as ``from_arrays``.
``state.merge(*others)``
    A **new** state for the union of ``state`` and ``others`` (none of them changes).  The
    result does not depend on the order of the parts beyond floating-point rounding, and each
    state documents how exact its merge is.
``a + b``
    ``a.merge(b)``; ``sum(states)`` works too (``0 + state`` is the state).
``state.to_dict()`` / ``State.from_dict(d)``
    A JSON-safe dict (str, int, float, lists, nested dicts) with a ``"state"`` key naming the
    class; ``from_dict(to_dict(s))`` equals ``s`` exactly (floats survive JSON by ``repr``).
    ``from_dict`` rejects anything else with :class:`~mlsd._validation.InvalidParameterError`.
``state.result()``
    The headline statistics of the state as a result object (see :mod:`mlsd._results`).

Subclasses implement ``from_arrays``, ``update``, ``_merged(others)``, ``_to_dict_body()``,
``_from_dict_body(d)`` and ``result()``; this base class supplies the rest and the checks.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, Sequence

import numpy as np

from ._validation import InvalidParameterError

__all__ = ["MergeableState", "json_array", "array_from_json"]


class MergeableState(abc.ABC):
    """Base class of the mergeable states (see the module docstring for the protocol)."""

    __slots__ = ()

    # -- what each state implements --------------------------------------------------------------
    @classmethod
    @abc.abstractmethod
    def from_arrays(cls, *args, **kwargs) -> "MergeableState":
        """The state of one sample."""

    @abc.abstractmethod
    def update(self, *args, **kwargs) -> "MergeableState":
        """Adds a batch in place; returns self."""

    @abc.abstractmethod
    def _merged(self, others: list) -> "MergeableState":
        """A new state for self and others (already checked to be of this class)."""

    @abc.abstractmethod
    def _to_dict_body(self) -> dict:
        """The JSON-safe fields of to_dict (without the "state" key)."""

    @classmethod
    @abc.abstractmethod
    def _from_dict_body(cls, d: Mapping) -> "MergeableState":
        """The state from to_dict's fields; raise KeyError/TypeError/ValueError on bad fields."""

    @abc.abstractmethod
    def result(self):
        """The headline statistics of the state."""

    # -- supplied ----------------------------------------------------------------------------------
    def merge(self, *others: "MergeableState") -> "MergeableState":
        """A new state for the union of this state's data and the others' (none changes)."""
        for i, o in enumerate(others):
            if type(o) is not type(self):
                raise InvalidParameterError(
                    f"The 'others' parameter of {type(self).__name__}.merge must hold {type(self).__name__} "
                    f"objects. Got {type(o).__name__} at position {i} instead.")
        return self._merged(list(others))

    def __add__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self.merge(other)

    def __radd__(self, other):
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:  # sum(states)
            return self.merge()  # a new state, as every merge: sum([s]).update(...) must not change s
        return NotImplemented

    def to_dict(self) -> dict:
        """A JSON-safe dict; ``type(self).from_dict(self.to_dict())`` equals ``self`` exactly."""
        return {"state": type(self).__name__, **self._to_dict_body()}

    @classmethod
    def from_dict(cls, d: Mapping) -> "MergeableState":
        """The state saved by :meth:`to_dict`."""
        name = f"{cls.__name__}.from_dict"
        if not isinstance(d, Mapping):
            raise InvalidParameterError(f"The 'd' parameter of {name} must be a dict made by "
                                        f"{cls.__name__}.to_dict(). Got {type(d).__name__} instead.")
        if d.get("state", cls.__name__) != cls.__name__:
            raise InvalidParameterError(f"The 'd' parameter of {name} must be a dict made by "
                                        f"{cls.__name__}.to_dict(). Got the state of {d.get('state')!r} instead.")
        body = {k: v for k, v in d.items() if k != "state"}
        try:
            return cls._from_dict_body(body)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as e:  # Overflow: 2**2000
            raise InvalidParameterError(f"The 'd' parameter of {name} must be a dict made by "
                                        f"{cls.__name__}.to_dict(). It is not: {type(e).__name__}: {e}") from None


def json_array(a: np.ndarray) -> list:
    """A NumPy array as nested lists of Python numbers (exact for floats and integers)."""
    return np.asarray(a).tolist()


def array_from_json(v: Any, dtype, ndim: int | Sequence[int] = 1) -> np.ndarray:
    """The array :func:`json_array` wrote, as ``dtype`` (C-contiguous); ValueError on a wrong shape."""
    arr = np.array(v, dtype=dtype)
    ndims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if arr.ndim not in ndims:
        raise ValueError(f"expected a {ndims[0]}-D list, got {arr.ndim}-D")
    return arr if arr.ndim == 0 else np.ascontiguousarray(arr)  # ascontiguousarray makes 0-d 1-d
