"""The shared pieces of the one contract: result types, the mergeable-state protocol and the
declared-parameter validator, tested on small stand-ins (the families' own types are tested in the
common tests and in their families' files)."""

import copy
import json
import math
import pickle
from numbers import Integral, Real

import numpy as np
import pytest

from mlsd._params import ArrayLike, Check, Interval, Options, PeerWording, validate_params
from mlsd._results import Result, ResultTuple, result_type
from mlsd._state import MergeableState, array_from_json, json_array
from mlsd._validation import InvalidParameterError


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


class Curve(ResultTuple):
    _fields = ("x", "y")
    _extras = ("area",)


@result_type
class Summary(Result):
    score: float
    values: np.ndarray
    n: int = 0


def test_result_tuple_unpacks_indexes_and_names():
    c = Curve(np.arange(3.0), np.arange(3.0) ** 2, area=1.5)
    x, y = c
    assert np.array_equal(x, c.x) and np.array_equal(y, c[1]) and c.area == 1.5
    assert len(c) == 2 and isinstance(c, tuple)
    assert c._asdict().keys() == {"x", "y", "area"}
    d = c._replace(area=2.0)
    assert d.area == 2.0 and c.area == 1.5 and d.x is c.x


def test_result_tuple_keywords_and_errors():
    c = Curve(x=np.zeros(1), y=np.ones(1))
    assert c.area is None
    with pytest.raises(TypeError, match="missing the field 'y'"):
        Curve(np.zeros(1))
    with pytest.raises(TypeError, match="unknown fields"):
        Curve(np.zeros(1), np.zeros(1), other=1)
    with pytest.raises(TypeError, match="positional"):
        Curve(1, 2, 3)


@pytest.mark.parametrize("obj", [Curve(np.arange(3.0), np.ones(3), area=0.5), Summary(0.5, np.arange(4.0), 4)])
def test_results_are_immutable(obj):
    name = "x" if isinstance(obj, Curve) else "score"
    with pytest.raises(AttributeError):
        setattr(obj, name, 1)
    with pytest.raises(AttributeError):
        obj.new_attribute = 1


@pytest.mark.parametrize("obj", [Curve(np.arange(3.0), np.ones(3), area=0.5), Summary(0.5, np.arange(4.0), 4)])
def test_results_pickle_and_copy(obj):
    for other in (pickle.loads(pickle.dumps(obj)), copy.deepcopy(obj), copy.copy(obj)):
        assert type(other) is type(obj)
        assert repr(other) == repr(obj)


def test_repr_is_short_and_has_no_array_dump():
    big = Summary(0.123456789, np.arange(100_000.0), 3)
    text = repr(big)
    assert text == "Summary(score=0.123457, values=<array (100000,) float64>, n=3)"
    small = Curve(np.array([0.0, 0.5]), np.array([1.0, 2.0]), area=0.25)
    assert repr(small) == "Curve(x=[0, 0.5], y=[1, 2], area=0.25)"


def test_repr_of_tuples_and_zero_d_json_arrays():
    @result_type
    class Cols(Result):
        columns: tuple

    assert repr(Cols(("y",))) == "Cols(columns=('y',))"
    assert array_from_json(3, float, ndim=0).shape == ()


def test_to_frame_default_layouts():
    pd = pytest.importorskip("pandas")
    f = Curve(np.arange(3.0), np.ones(3), area=0.5).to_frame()
    assert list(f.columns) == ["x", "y", "area"] and len(f) == 3 and (f.area == 0.5).all()
    one = Summary(0.5, np.arange(2.0), 2).to_frame()
    assert list(one.columns) == ["score", "values", "n"] and len(one) == 2
    assert isinstance(one, pd.DataFrame)


def test_html_repr_is_a_table_with_a_preview():
    pytest.importorskip("pandas")
    h = Summary(0.5, np.arange(25.0), 25)._repr_html_()
    assert h.startswith("<div") and "<table>" in h and "Summary" in h
    assert "15 more rows" in h


# ---------------------------------------------------------------------------------------------
# States
# ---------------------------------------------------------------------------------------------


class Total(MergeableState):
    """A stand-in state: count and sum."""

    def __init__(self, n=0, s=0.0):
        self.n, self.s = n, s

    @classmethod
    def from_arrays(cls, x):
        x = np.asarray(x, dtype=float)
        return cls(x.size, float(math.fsum(x)))

    def update(self, x):
        o = Total.from_arrays(x)
        self.n += o.n
        self.s += o.s
        return self

    def _merged(self, others):
        return Total(self.n + sum(o.n for o in others), math.fsum([self.s, *(o.s for o in others)]))

    def _to_dict_body(self):
        return {"n": self.n, "s": self.s, "parts": json_array(np.array([self.n, self.s]))}

    @classmethod
    def _from_dict_body(cls, d):
        array_from_json(d["parts"], float)
        return cls(int(d["n"]), float(d["s"]))

    def result(self):
        return self.s / self.n


def test_state_protocol_merge_add_sum_update():
    a, b = Total.from_arrays([1, 2]), Total.from_arrays([3.5])
    m = a.merge(b)
    assert (m.n, m.s) == (3, 6.5) and (a.n, b.n) == (2, 1)
    assert (a + b).s == 6.5 and sum([a, b]).s == 6.5
    assert a.update([10]) is a and a.n == 3
    with pytest.raises(TypeError, match="'others' parameter of Total.merge"):
        a.merge(1.0)
    with pytest.raises(TypeError):
        a + 1.0


def test_sum_of_one_state_is_a_new_state():
    a = Total.from_arrays([1, 2])
    total = sum([a])
    assert total is not a and (total.n, total.s) == (2, 3.0)
    total.update([10])
    assert (a.n, a.s) == (2, 3.0)


def test_state_dict_round_trip_and_bad_dicts():
    t = Total.from_arrays([0.1, 0.2, 1e-300])
    d = json.loads(json.dumps(t.to_dict()))
    assert d["state"] == "Total"
    back = Total.from_dict(d)
    assert (back.n, back.s) == (t.n, t.s)
    for bad in (None, [1, 2], "x", {"state": "Other", "n": 1, "s": 0.0}, {"n": 1}, {"n": 1, "s": 0.0, "parts": [[1]]}):
        with pytest.raises(InvalidParameterError, match="'d' parameter of Total.from_dict"):
            Total.from_dict(bad)


# ---------------------------------------------------------------------------------------------
# Declared parameter checks
# ---------------------------------------------------------------------------------------------


@validate_params(
    x=[ArrayLike(ndim=1, allow_empty=False)],
    k=[Interval(Integral, 1, None), None],
    alpha=[Interval(Real, 0, 1, closed="neither")],
    how=[Options({"a", "b"})],
    flag=["boolean"],
    seed=["seed"],
    even=[Check(lambda v: v % 2 == 0, "an even number")],
)
def f(x, k=3, *, alpha=0.05, how="a", flag=False, seed=0, even=2):
    return x, k, alpha, how, flag, seed, even


def test_validator_converts_accepted_values():
    x, k, alpha, how, flag, seed, even = f([1, 2], np.int64(4), alpha=np.float32(0.25), flag=np.True_, seed=np.uint32(7))
    assert isinstance(x, np.ndarray) and type(k) is int and type(alpha) is float and alpha == 0.25
    assert flag is True and type(seed) is int
    arr = np.arange(3.0)
    assert f(arr)[0] is arr  # no copy
    assert f([1.0], None)[1] is None


@pytest.mark.parametrize("kwargs, name, expected", [
    ({"x": None}, "x", "non-empty 1-D array-like"),
    ({"x": "abc"}, "x", "array-like"),
    ({"x": []}, "x", "non-empty"),
    ({"x": [[1, 2]]}, "x", "1-D"),
    ({"x": np.array([1j])}, "x", "array-like"),
    ({"x": np.array(["a"], dtype=object)}, "x", "array-like"),
    ({"k": 0}, "k", r"an int in the range \[1, inf\) or None"),
    ({"k": 2.0}, "k", "an int"),
    ({"k": True}, "k", "an int"),
    ({"alpha": 2**2000}, "alpha", r"a float in the range \(0, 1\)"),
    ({"alpha": float("nan")}, "alpha", "a float"),
    ({"alpha": 1.5}, "alpha", "a float"),
    ({"alpha": 0.5 + 0j}, "alpha", "a float"),
    ({"how": "c"}, "how", "one of 'a', 'b'"),
    ({"how": ["a"]}, "how", "one of"),
    ({"flag": 1}, "flag", "an instance of 'bool'"),
    ({"seed": -1}, "seed", r"an int in the range \[0, 2\*\*32 - 1\]"),
    ({"seed": 2**32}, "seed", "an int in the range"),
    ({"even": 3}, "even", "an even number"),
    ({"even": "x"}, "even", "an even number"),
])
def test_validator_rejects_with_one_message_style(kwargs, name, expected):
    args = {"x": [1.0], **kwargs}
    with pytest.raises(InvalidParameterError, match=rf"^The '{name}' parameter of f must be .*{expected}.*Got .* instead\.$"):
        f(**args)


def test_validator_messages_and_declarations():
    with pytest.raises(TypeError, match="^f: "):
        f()
    assert set(f.__mlsd_params__) == {"x", "k", "alpha", "how", "flag", "seed", "even"}
    with pytest.raises(TypeError, match="no parameters"):
        validate_params(nope=[None])(lambda x: x)
    with pytest.raises(InvalidParameterError, match=r"Got an array of shape \(1, 2\) and dtype int64 instead"):
        f(np.zeros((1, 2), dtype=np.int64))


def test_peer_wording_ends_the_message_and_accepts_nothing():
    @validate_params(alternative=[Options(("two-sided", "less")), PeerWording("SciPy", "`alternative` must be 'less'.")],
                     flag=["boolean", PeerWording("SciPy", "`flag` must be one of {False, True}.")], k=[None])
    def g(alternative="two-sided", flag=True, k=None):
        return alternative, flag

    assert g("less", False) == ("less", False)  # the wording is not an option
    with pytest.raises(InvalidParameterError) as info:
        g("greater")
    # mlsd's message, unchanged (no wording in "must be ..."), then the peer's words
    assert str(info.value) == ("The 'alternative' parameter of test_peer_wording_ends_the_message_and_accepts_nothing."
                               "<locals>.g must be one of 'less', 'two-sided'. Got 'greater' instead. "
                               "(SciPy: `alternative` must be 'less'.)")
    with pytest.raises(ValueError, match="`flag` must be one of"):
        g(flag=1)
    with pytest.raises(InvalidParameterError, match=r"Got 3 instead\.$"):  # no wording declared: no tail
        g(k=3)


def test_array_like_rejects_ints_beyond_float_range_without_overflow_error():
    @validate_params(x=[ArrayLike(ndim=None)])
    def f(x):
        return x

    for bad in (2**2000, [1, 2**2000], np.array([2**2000], dtype=object)):
        with pytest.raises(InvalidParameterError, match="The 'x' parameter of .*f must be"):
            f(bad)


def test_defaults_are_converted_on_first_call_not_at_import():
    calls = []

    def seen(v):
        calls.append(v)
        return True

    @validate_params(x=[Check(seen, "anything")], y=[Interval(Real, 0, None)])
    def g(x=None, *, y=1):
        return x, y

    assert calls == []  # decorating evaluates no predicate (it may import optional packages)
    assert g() == (None, 1.0) and type(g()[1]) is float
    assert g(y=2) == (None, 2.0)
    with pytest.raises(TypeError, match=r"\.g: multiple values for argument 'x'"):
        g(1, x=2)
