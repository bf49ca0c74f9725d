"""Result objects: the one small family of types that every mlsd function returns when its peer
does not return a plain float.

There are two kinds, and both share :class:`ResultMixin`:

* :class:`ResultTuple` -- for results that are tuples by convention (curves, ``Index.search``,
  statistical tests).  It unpacks and indexes like a tuple (``fpr, tpr, thr = roc_curve(...)``,
  ``stat, p = chisquare(...)``, ``res[1]``), names its fields (``res.pvalue``), and may carry
  further keyword-only attributes that are not part of the tuple (SciPy's convention, e.g. a
  test's ``df``).  Subclasses list ``_fields`` (the tuple, in order) and ``_extras`` (the rest).
* :class:`Result` -- a frozen dataclass base for everything else.  Subclasses are declared with
  :func:`result_type` (``dataclass(frozen=True, repr=False, eq=False)``).

What every result has:

* **immutable**: assigning an attribute raises ``AttributeError``;
* ``to_frame()``: a tidy pandas DataFrame (pandas imported lazily).  The default puts every 1-D
  array field of the common length in a column (scalar fields repeated), or one row of the
  scalar fields when there is no array; a subclass overrides it where another shape is tidier;
* ``_repr_html_()``: a compact HTML table for Jupyter -- the scalar fields, then the first rows of
  ``to_frame()`` when the result holds per-row data;
* a short ``__repr__``: scalars by value, small arrays inline, large arrays as shape and dtype
  (never an array dump);
* ``plot(ax=None)`` where a picture says more than numbers (matplotlib, imported lazily through
  :func:`axes`; returns the Axes).
"""

from __future__ import annotations

import dataclasses
import datetime
import html
import numbers
from typing import Any, Iterator

import numpy as np

__all__ = ["ResultMixin", "ResultTuple", "Result", "result_type", "axes"]

_INLINE = 6  # arrays with at most this many elements are shown inline
_PREVIEW_ROWS = 10


_TIMES = (datetime.date, datetime.time, datetime.timedelta, np.datetime64, np.timedelta64)  # pandas' Timestamp, Timedelta too


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (numbers.Number, str, bytes, np.generic, *_TIMES)) or (
        isinstance(v, np.ndarray) and v.ndim == 0)


def _fmt_scalar(v: Any) -> str:
    if isinstance(v, np.ndarray):
        v = v[()]
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (numbers.Integral, np.integer)):
        return str(int(v))
    if isinstance(v, _TIMES):  # as pandas prints them: 2024-01-07 23:59:59, 0 days 01:00:00
        return str(v)
    if isinstance(v, np.generic):
        return repr(v.item())
    return repr(v)


def _fmt(v: Any) -> str:
    """A short text for any field value (no array dumps)."""
    if _is_scalar(v):
        return _fmt_scalar(v)
    if isinstance(v, np.ndarray):
        if v.size <= _INLINE and v.ndim == 1:
            return "[" + ", ".join(_fmt_scalar(x) for x in v) + "]"
        return f"<array {v.shape} {v.dtype}>"
    if isinstance(v, (tuple, list)) and len(v) <= _INLINE and all(_is_scalar(x) for x in v):
        inner = ", ".join(_fmt_scalar(x) for x in v)
        return (f"({inner},)" if len(v) == 1 else f"({inner})") if isinstance(v, tuple) else f"[{inner}]"
    if isinstance(v, dict):
        return f"{{{len(v)} keys}}"
    if isinstance(v, (tuple, list)):
        return f"<{type(v).__name__} of {len(v)}>"
    return f"<{type(v).__name__}>"


class ResultMixin:
    """Behaviour shared by every result type (see the module docstring)."""

    __slots__ = ()

    def _items(self) -> Iterator[tuple[str, Any]]:  # pragma: no cover - each kind defines it
        raise NotImplementedError

    # -- text ---------------------------------------------------------------------------------
    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={_fmt(v)}" for k, v in self._items())
        return f"{type(self).__name__}({inner})"

    def _summary(self) -> list[tuple[str, str]]:
        """The (name, text) rows of the HTML summary: every field, arrays summarised."""
        return [(k, _fmt(v)) for k, v in self._items()]

    def _has_rows(self) -> bool:
        return any(isinstance(v, np.ndarray) and v.ndim >= 1 and v.size > 0 for _, v in self._items())

    def _repr_html_(self) -> str:
        frame = None
        if self._has_rows():
            try:
                frame = self.to_frame()
            except ImportError:  # pandas missing: the summary is all we can show
                frame = None
        shown = set() if frame is None or not len(frame) else set(frame.columns)
        # a field that the frame below shows column by column is not summarised above it
        fields = dict(self._items())
        summary = [(k, v) for k, v in self._summary() if not (k in shown and not _is_scalar(fields.get(k)))]
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                       f"<td style='text-align:left'>{html.escape(v)}</td></tr>" for k, v in summary)
        out = [f"<div class='mlsd-result'><b>{html.escape(type(self).__name__)}</b>", f"<table>{rows}</table>"]
        if shown:
            more = len(frame) - _PREVIEW_ROWS
            out.append(frame.head(_PREVIEW_ROWS).to_html(index=False, border=0, float_format=lambda x: f"{x:.6g}"))
            if more > 0:
                out.append(f"<small>{more} more rows; <code>.to_frame()</code> has them all</small>")
        out.append("</div>")
        return "".join(out)

    # -- data ---------------------------------------------------------------------------------
    def to_frame(self):
        """A tidy pandas DataFrame: 1-D array fields of the common length as columns (scalar
        fields repeated on every row), or one row of the scalar fields when there is no array."""
        import pandas as pd

        items = list(self._items())
        arrays = {k: v for k, v in items if isinstance(v, np.ndarray) and v.ndim == 1}
        lengths = {v.shape[0] for v in arrays.values()}
        if len(lengths) > 1:  # a subclass with fields of several lengths defines its own frame
            raise NotImplementedError(f"{type(self).__name__}.to_frame: fields of different lengths")
        scalars = {k: (v[()] if isinstance(v, np.ndarray) else v) for k, v in items if _is_scalar(v)}
        if not arrays:
            return pd.DataFrame({k: [v] for k, v in scalars.items()})
        n = lengths.pop()
        data = {k: arrays[k] if k in arrays else np.full(n, scalars[k], dtype=object if isinstance(
            scalars[k], (str, type(None))) else None) for k, _ in items if k in arrays or k in scalars}
        return pd.DataFrame(data)


class ResultTuple(tuple, ResultMixin):
    """A tuple with named fields, extra keyword attributes, and the result methods.

    Declare ``_fields = ("a", "b")`` (the tuple, in order) and optionally
    ``_extras = ("c",)`` (attributes outside the tuple); construct with ``Cls(a, b, c=...)`` or
    keywords.  Extras default to None when not given.
    """

    _fields: tuple[str, ...] = ()
    _extras: tuple[str, ...] = ()
    __repr__ = ResultMixin.__repr__  # tuple's would come first

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for i, name in enumerate(cls.__dict__.get("_fields", ())):
            setattr(cls, name, property(lambda self, i=i: tuple.__getitem__(self, i), doc=f"Field {i}: {name}."))

    def __new__(cls, *args, **kwargs):
        n = len(cls._fields)
        if len(args) > n:
            raise TypeError(f"{cls.__name__} takes {n} positional fields, got {len(args)}")
        values = list(args)
        for name in cls._fields[len(args):]:
            if name not in kwargs:
                raise TypeError(f"{cls.__name__} is missing the field {name!r}")
            values.append(kwargs.pop(name))
        unknown = set(kwargs) - set(cls._extras)
        if unknown:
            raise TypeError(f"{cls.__name__} got unknown fields {sorted(unknown)}")
        self = tuple.__new__(cls, values)
        d = self.__dict__
        for name in cls._extras:
            d[name] = kwargs.get(name)
        return self

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self):
        return (_rebuild_tuple, (type(self), tuple(self), {k: self.__dict__[k] for k in self._extras}))

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        import copy

        return _rebuild_tuple(type(self), copy.deepcopy(tuple(self), memo),
                              copy.deepcopy({k: self.__dict__[k] for k in self._extras}, memo))

    def _replace(self, **changes):
        """A copy with some fields (tuple fields or extras) replaced."""
        values = {**dict(zip(self._fields, self)), **{k: self.__dict__[k] for k in self._extras}, **changes}
        return type(self)(**values)

    def _asdict(self) -> dict:
        return {**dict(zip(self._fields, self)), **{k: self.__dict__[k] for k in self._extras}}

    def _items(self):
        yield from zip(self._fields, self)
        for k in self._extras:
            v = self.__dict__[k]
            if v is not None:
                yield k, v


def _rebuild_tuple(cls, values, extras):
    return cls(*values, **extras)


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Result(ResultMixin):
    """Base of the results that are not tuples; subclasses are declared with
    :func:`result_type`.  Fields whose name starts with ``_`` are internal: not shown, not in
    the frame."""

    def _items(self):
        for f in dataclasses.fields(self):
            if f.repr and not f.name.startswith("_"):
                yield f.name, getattr(self, f.name)


def result_type(cls):
    """Class decorator for a :class:`Result` subclass: a frozen dataclass that keeps the shared
    ``__repr__`` and has identity equality (results hold arrays, whose ``==`` is elementwise)."""
    return dataclasses.dataclass(frozen=True, repr=False, eq=False)(cls)


def axes(ax=None, *, figsize=(5.0, 3.5)):
    """The Axes to draw on: ``ax`` itself, or a new figure's (matplotlib is imported here, so
    that mlsd does not need it unless something is plotted)."""
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("plot() needs matplotlib: pip install matplotlib") from None
    _, ax = plt.subplots(figsize=figsize)
    return ax
