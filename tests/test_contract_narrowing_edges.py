"""Narrowing at the very edge of float32's range.  The cast to float32 rounds to
nearest, so a wider value up to half a unit in the last place above the largest finite value becomes
that value, and only from there on becomes inf.  Float32's largest value prints as 3.4028235e+38,
and that decimal read back as a float64 lies *above* it: a user's value such as that must be taken
(it is exactly what NumPy's cast makes of it, without a warning), while a value the cast would turn
into inf is refused by name.  NumPy's own cast is the oracle here."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mlsd.hashing as H
import mlsd.retrieval as R

F32_MAX = float(np.finfo(np.float32).max)
F32_EDGES = [F32_MAX, 3.4028235e38, np.nextafter(2.0**128 - 2.0**103, 0.0), 2.0**128 - 2.0**103,
             np.nextafter(2.0**128 - 2.0**103, np.inf), 3.5e38]


def _overflows(value: float, dtype) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            np.asarray([value]).astype(dtype)
        except RuntimeWarning:
            return True
    return False


def test_the_edges_straddle_the_overflow_point():
    assert [_overflows(v, np.float32) for v in F32_EDGES] == [False, False, False, True, True, True]


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("value", F32_EDGES)
def test_float32_kernels_take_what_rounds_to_the_largest_value_and_refuse_what_overflows(value, sign):
    q = np.array([[sign * value, 0.0, 0.0]])
    items = np.eye(3)
    if _overflows(value, np.float32):
        with pytest.raises(ValueError, match="knn: queries .*float32"):
            R.knn(q, items, 2, "ip")
        with pytest.raises(ValueError, match="Index.add: vectors .*float32"):
            R.Index(3, "ip").add(q)
        return
    expected = R.knn(q.astype(np.float32), items.astype(np.float32), 2, "ip")
    got = R.knn(q, items, 2, "ip")
    np.testing.assert_array_equal(got.ids, expected.ids)
    np.testing.assert_array_equal(got.scores, expected.scores)
    ix = R.Index(3, "ip")
    ix.add(q)
    assert ix.search(np.eye(3, dtype=np.float32)[:1], 1).scores[0, 0] == np.float32(sign * value)


@pytest.mark.parametrize("value", F32_EDGES)
def test_feature_hasher_float32_takes_what_rounds_to_the_largest_value(value):
    hasher = H.FeatureHasher(16, dtype=np.float32, alternate_sign=False)
    if _overflows(value, np.float32):
        with pytest.raises(ValueError, match="does not fit dtype=float32"):
            hasher.transform([{"a": value}])
        return
    x = hasher.transform([{"a": value}])
    assert x.dtype == np.float32
    assert x.data.tolist() == [np.float32(value)]


@pytest.mark.parametrize("which", ["approx_ids", "exact_ids"])
def test_knn_recall_refuses_uint64_ids_that_would_wrap_to_the_padding_id(which):
    """2**64 - 1 as int64 is -1, the padding id: taken, it silently changed the recall (exact ids
    [2**64 - 1, 5] against approximate [5, 9] gave 1.0 instead of 0.5)."""
    ids = {"approx_ids": np.array([[5, 9]], dtype=np.uint64), "exact_ids": np.array([[5, 9]], dtype=np.uint64)}
    ids[which] = np.array([[2**64 - 1, 5]], dtype=np.uint64)
    with pytest.raises(ValueError, match=f"knn_recall: {which} .*int64"):
        R.knn_recall(**ids)
    assert R.knn_recall(np.array([[5, 9]], dtype=np.uint64), np.array([[2**63 - 1, 5]], dtype=np.uint64)) == 0.5
