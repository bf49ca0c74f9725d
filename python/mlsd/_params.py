"""Declared parameter checks: each public function states its parameters' constraints next to its
definition, and this one validator enforces them (the way scikit-learn's ``validate_params`` does).

Usage::

    @validate_params(
        y_true=[ArrayLike(ndim=1)],
        k=[Interval(Integral, 1, None), None],
        gain=[Options({"linear", "exponential"})],
        ignore_ties=["boolean"],
    )
    def ndcg_at_k(y_true, y_score, k=10, *, gain="linear", ignore_ties=False): ...

Each parameter maps to a list of constraints; the value must satisfy at least one.  A constraint
is one of:

* ``None`` -- the value is None;
* ``"boolean"`` -- bool or NumPy bool;
* ``"seed"`` -- the one seed type of mlsd: an int in [0, 2**32 - 1] (scikit-learn's
  ``random_state`` range; MurmurHash3 seeds are 32-bit);
* ``"callable"``;
* :class:`Interval` -- an int or a float within bounds (bools excluded, NaN rejected, an int too
  large for a float is rejected rather than raising OverflowError);
* :class:`Options` -- one of a set of values (strings compared exactly);
* :class:`ArrayLike` -- array-like input, checked cheaply (kind of dtype, number of dims, not
  empty) and converted once with ``np.asarray`` (no copy for an ndarray);
* a class -- ``isinstance(value, cls)``;
* :class:`Check` -- any other predicate with its description;
* :class:`PeerWording` -- accepts nothing: where the function mirrors a peer's function of the same
  name, the peer's own text for a bad value of this parameter, appended to the message (below).

The decorator converts what it accepts: an ``Interval(Integral)`` value becomes ``int``, an
``Interval(Real)`` value ``float``, ``"boolean"`` ``bool``, ``"seed"`` ``int``, an ``ArrayLike``
value an ndarray.  Undeclared parameters pass unchecked.  Every failure raises
:class:`~mlsd._validation.InvalidParameterError` (a ValueError and a TypeError) in one style::

    The 'k' parameter of ndcg_at_k must be an int in the range [1, inf) or None. Got 0 instead.

A :class:`PeerWording` among a parameter's constraints adds the peer's words after it, so that code
matching the peer's message (``pytest.raises(ValueError, match=...)``) keeps working with mlsd::

    The 'trim' parameter of ttest_ind must be a float in the range [0.0, 0.5). Got 0.5 instead.
    (SciPy: Trimming percentage should be 0 <= `trim` < .5.)

It is read only when a value is rejected: a call that passes costs nothing more.

The declared constraints are kept on the function as ``__mlsd_params__`` (name -> constraints),
which the common bad-input test reads to feed every parameter values it must reject.
"""

from __future__ import annotations

import datetime
import functools
import inspect
import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np

from ._validation import InvalidParameterError

__all__ = ["validate_params", "Interval", "Options", "ArrayLike", "Check", "PeerWording", "param_error",
           "describe_value", "SEED_MAX"]

SEED_MAX = 2**32 - 1
Integral = numbers.Integral
Real = numbers.Real


def describe_value(value: Any, limit: int = 80) -> str:
    """A short text for a rejected value: arrays by shape and dtype, other values by repr."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def param_error(func: str, name: str, expected: str, value: Any, peer: str = "") -> InvalidParameterError:
    """The one message style: names the function, the parameter, what it must be and what it got
    (then ``peer``, the peer's wording of the same error, in parentheses, when given)."""
    tail = f" ({peer})" if peer else ""
    return InvalidParameterError(
        f"The '{name}' parameter of {func} must be {expected}. Got {describe_value(value)} instead.{tail}")


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


_MISSING = object()


@dataclass(frozen=True)
class Interval:
    """An int (``type=Integral``) or a float (``type=Real``, ints accepted) in [left, right]
    (``closed`` in {"left", "right", "both", "neither"}; None is unbounded)."""

    type: type
    left: float | None
    right: float | None
    closed: str = "both"

    def accept(self, v: Any) -> Any:
        if self.type is Integral:
            if not _is_int(v):
                return _MISSING
            x = int(v)
        else:
            if not _is_real(v):
                return _MISSING
            try:
                x = float(v)
            except OverflowError:  # an int beyond float's range
                return _MISSING
            if math.isnan(x):
                return _MISSING
        lo_in = self.closed in ("left", "both")
        hi_in = self.closed in ("right", "both")
        if self.left is not None and not (x >= self.left if lo_in else x > self.left):
            return _MISSING
        if self.right is not None and not (x <= self.right if hi_in else x < self.right):
            return _MISSING
        return x

    def describe(self) -> str:
        kind = "an int" if self.type is Integral else "a float"
        if self.left is None and self.right is None:
            return kind if self.type is Integral else "a float (not NaN)"
        lb = "[" if self.closed in ("left", "both") and self.left is not None else "("
        rb = "]" if self.closed in ("right", "both") and self.right is not None else ")"
        lo = "-inf" if self.left is None else _num(self.left)
        hi = "inf" if self.right is None else _num(self.right)
        return f"{kind} in the range {lb}{lo}, {hi}{rb}"


def _num(x: float) -> str:
    if isinstance(x, int) and x >= 2**16 and (x + 1) & x == 0:
        return f"2**{x.bit_length()} - 1"
    return repr(x)


@dataclass(frozen=True)
class Options:
    """One of a set of values (strings or other hashables)."""

    options: frozenset

    def __init__(self, options: Iterable):
        object.__setattr__(self, "options", frozenset(options))

    def accept(self, v: Any) -> Any:
        if isinstance(v, (bool, np.bool_)) and not any(isinstance(o, bool) for o in self.options):
            return _MISSING  # True == 1: a bool must not pass for an int option
        try:
            ok = v in self.options
        except TypeError:  # unhashable
            return _MISSING
        return v if ok else _MISSING

    def describe(self) -> str:
        return "one of " + ", ".join(sorted(repr(o) for o in self.options))


_KIND_NAMES = {"b": "bool", "i": "integer", "u": "unsigned integer", "f": "float", "c": "complex", "O": "object",
               "U": "str", "S": "bytes", "M": "datetime", "m": "timedelta", "V": "void"}


def _datetimes(arr: np.ndarray) -> np.ndarray:
    """An object array of naive datetimes (pandas Timestamps keep their nanoseconds) as datetime64;
    unchanged when they do not convert so (time zones: aware times are not datetime64 values)."""
    import pandas as pd

    try:
        out = np.asarray(pd.DatetimeIndex(arr.ravel()))
    except (TypeError, ValueError, OverflowError):
        return arr
    return out.reshape(arr.shape) if out.dtype.kind == "M" else arr


@dataclass(frozen=True)
class ArrayLike:
    """Array-like input: ``np.asarray(value)`` must have a dtype kind in ``kinds`` (default:
    bool, integer, unsigned, float; an object array is accepted when it converts to float64),
    ``ndim`` in the allowed set (None: any) and, unless ``allow_empty``, at least one element.
    The value passed on is the ndarray (the same object when it already is one)."""

    ndim: int | tuple[int, ...] | None = 1
    kinds: str = "biuf"
    allow_empty: bool = True

    def accept(self, v: Any) -> Any:
        if v is None or isinstance(v, (str, bytes, dict)):
            return _MISSING
        try:
            arr = np.asarray(v)
        except Exception:  # ragged lists and other unconvertible objects
            return _MISSING
        if arr.dtype.kind == "O" and "M" in self.kinds and arr.size and all(
                isinstance(x, (datetime.datetime, np.datetime64)) for x in arr.flat):
            arr = _datetimes(arr)  # pandas Timestamps / datetimes (a scalar one too) as datetime64
        if arr.dtype.kind == "O" and "O" not in self.kinds:
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond float's range
                return _MISSING
        if arr.dtype.kind not in self.kinds:
            return _MISSING
        ndims = self._ndims()
        if ndims is not None and arr.ndim not in ndims:
            return _MISSING
        if not self.allow_empty and arr.size == 0:
            return _MISSING
        return arr

    def _ndims(self):
        return None if self.ndim is None else ((self.ndim,) if isinstance(self.ndim, int) else tuple(self.ndim))

    def describe(self) -> str:
        ndims = self._ndims()
        dims = "" if ndims is None else " or ".join(f"{d}-D" for d in ndims) + " "
        kinds = ", ".join(_KIND_NAMES[k] for k in self.kinds)
        empty = "" if self.allow_empty else "non-empty "
        return f"a {empty}{dims}array-like of {kinds} values"


@dataclass(frozen=True)
class Check:
    """Any other constraint: ``predicate(value)`` true; ``description`` completes "must be ..."."""

    predicate: Callable[[Any], bool]
    description: str

    def accept(self, v: Any) -> Any:
        try:
            return v if self.predicate(v) else _MISSING
        except Exception:
            return _MISSING

    def describe(self) -> str:
        return self.description


@dataclass(frozen=True)
class PeerWording:
    """Not a constraint (it accepts no value): the words ``peer`` (e.g. "SciPy") uses for a bad
    value of this parameter in its function of the same name, e.g. ``PeerWording("SciPy",
    "`alternative` must be 'less', 'greater', or 'two-sided'.")``.  The validator's message
    ends with "(SciPy: <text>)", so a ``re.search`` of the peer's text still finds it."""

    peer: str
    text: str

    def accept(self, v: Any) -> Any:
        return _MISSING

    def describe(self) -> str:
        return f"{self.peer}: {self.text}"


def _accept(constraint: Any, v: Any) -> Any:
    if constraint is None:
        return None if v is None else _MISSING
    if isinstance(constraint, str):
        if constraint == "boolean":
            return bool(v) if isinstance(v, (bool, np.bool_)) else _MISSING
        if constraint == "seed":
            return int(v) if _is_int(v) and 0 <= v <= SEED_MAX else _MISSING
        if constraint == "callable":
            return v if callable(v) else _MISSING
        raise ValueError(f"unknown constraint {constraint!r}")  # a bug in a declaration
    if isinstance(constraint, type):
        return v if isinstance(v, constraint) else _MISSING
    return constraint.accept(v)


def _describe(constraint: Any) -> str:
    if constraint is None:
        return "None"
    if isinstance(constraint, str):
        return {"boolean": "an instance of 'bool'", "seed": "an int in the range [0, 2**32 - 1]",
                "callable": "a callable"}[constraint]
    if isinstance(constraint, type):
        return f"an instance of '{constraint.__name__}'"
    return constraint.describe()


def describe(constraints: list) -> str:
    """What a value must be, for a list of constraints."""
    parts = [_describe(c) for c in constraints if not isinstance(c, PeerWording)]
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def check_param(value: Any, name: str, func: str, constraints: list) -> Any:
    """The value (converted) if it satisfies one of the constraints; raises otherwise."""
    for c in constraints:
        out = _accept(c, value)
        if out is not _MISSING:
            return out
    peer = " ".join(c.describe() for c in constraints if isinstance(c, PeerWording))
    raise param_error(func, name, describe(constraints), value, peer)


def validate_params(**declared: Any):
    """Decorator: checks (and converts) the declared parameters on every call; see the module
    docstring.  The function's public name is its ``__qualname__`` (``Class.method`` for methods,
    ``Class`` for a constructor: ``Class.__init__`` is named as users call it)."""
    spec = {name: (c if isinstance(c, list) else [c]) for name, c in declared.items()}

    def decorate(fn):
        sig = inspect.signature(fn)
        unknown = set(spec) - set(sig.parameters)
        if unknown:
            raise TypeError(f"validate_params: {fn.__qualname__} has no parameters {sorted(unknown)}")
        public = fn.__qualname__.removesuffix(".__init__")
        P = inspect.Parameter
        params = list(sig.parameters.values())
        positional = [p.name for p in params if p.kind is P.POSITIONAL_OR_KEYWORD]
        # The fast path maps arguments to names by position without Signature.bind (~4 us a call);
        # anything unusual (*args, positional-only, too many positionals) takes bind's path.
        simple = all(p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY) for p in params)
        plan = []  # (name, position or None, constraints, has a default)
        for name, constraints in spec.items():
            pos = positional.index(name) if name in positional else None
            plan.append((name, pos, constraints, sig.parameters[name].default is not P.empty))
        converted_defaults: dict = {}

        def default_of(name, constraints):
            """The declared default, converted once, on first use (not at import: a constraint's
            predicate may import optional packages); _MISSING when the conversion is the identity."""
            if name not in converted_defaults:
                default = sig.parameters[name].default
                value = check_param(default, name, public, constraints)
                converted_defaults[name] = _MISSING if value is default else value
            return converted_defaults[name]

        def slow(args, kwargs):
            try:
                bound = sig.bind(*args, **kwargs)
            except TypeError as e:
                raise TypeError(f"{public}: {e}") from None
            arguments = bound.arguments
            for name, _, constraints, has_default in plan:
                if name in arguments:
                    arguments[name] = check_param(arguments[name], name, public, constraints)
                elif has_default and (value := default_of(name, constraints)) is not _MISSING:
                    arguments[name] = value
            return fn(*bound.args, **bound.kwargs)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if not simple or len(args) > len(positional):
                return slow(args, kwargs)
            args = list(args)
            for name, pos, constraints, has_default in plan:
                if pos is not None and pos < len(args):
                    if name in kwargs:  # given twice: let bind say so
                        return slow(tuple(args), kwargs)
                    args[pos] = check_param(args[pos], name, public, constraints)
                elif name in kwargs:
                    kwargs[name] = check_param(kwargs[name], name, public, constraints)
                elif not has_default:  # missing: bind's message
                    return slow(tuple(args), kwargs)
                elif (value := default_of(name, constraints)) is not _MISSING:
                    kwargs[name] = value
            return fn(*args, **kwargs)

        wrapper.__mlsd_params__ = spec
        wrapper.__signature__ = sig
        return wrapper

    return decorate
