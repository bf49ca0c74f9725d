"""Property tests (hypothesis) for the kernels with clean algebraic properties:

* merging the states of any split of the rows equals the state of the whole, for every state;
* ROC AUC, average precision and group AUC do not change under a strictly increasing transform of
  the scores (and ROC AUC becomes 1 - AUC under a strictly decreasing one);
* the top-k of a union of item sets equals ``merge_topk`` of the parts' top-k;
* a row of ``hash_columns`` equals scikit-learn's ``FeatureHasher`` on that row's keys;
* p-values lie in [0, 1] and fall as the effect grows.

Examples are bounded (``max_examples``, no deadline) and derandomized, so the file runs the same
examples in the same few seconds on every machine; no example database is written.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mlsd.abtest as A
import mlsd.hashing as H
import mlsd.metrics as M
import mlsd.retrieval as R
from test_contract_states import STATES

# (no "explain" phase: it walks loaded modules, and a deprecated attribute of one of them would
# turn a failure report into an internal error under this suite's warnings-as-errors)
PROPERTY = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---- merge of any split == the whole -----------------------------------------------------------

def _cuts(draw, n):
    """Sorted cut points in [0, n], repeats allowed (empty parts), ends included."""
    inner = draw(st.lists(st.integers(0, n), max_size=6))
    return [0, *sorted(inner), n]


@PROPERTY
@given(data=st.data())
@pytest.mark.parametrize("spec", STATES, ids=lambda s: s.name)
def test_merge_of_any_split_equals_the_whole(spec, data):
    rows = spec.rows(np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed")))
    n = len(next(iter(rows.values())))
    cuts = _cuts(data.draw, n)
    pieces = [{k: v[a:b] for k, v in rows.items()} for a, b in zip(cuts[:-1], cuts[1:])]
    if not spec.empty_start:  # a binned table takes its bins from its first rows
        assume(len(next(iter(pieces[0].values()))) > 0)
    whole = spec.build(**rows)
    states = [spec.build(**p) for p in pieces]
    order = data.draw(st.permutations(range(len(states))), label="order")
    parts = [states[i] for i in order]
    spec.same(parts[0].merge(*parts[1:]), whole, spec.exact)
    spec.same(sum(parts), whole, spec.exact)
    spec.same(type(whole).from_dict(json.loads(json.dumps(sum(parts).to_dict()))), whole, spec.exact)


_finite = st.floats(-1e6, 1e6, allow_nan=False, width=64)


@PROPERTY
@given(y=hnp.arrays(np.float64, st.integers(0, 60), elements=_finite), data=st.data())
def test_stats_merge_of_any_split_equals_the_whole_on_drawn_values(y, data):
    cuts = _cuts(data.draw, y.size)
    whole = A.Stats.from_arrays(y)
    merged = A.Stats.from_arrays(y[:0]).merge(*[A.Stats.from_arrays(y[a:b]) for a, b in zip(cuts[:-1], cuts[1:])])
    np.testing.assert_array_equal(merged.n, whole.n)
    np.testing.assert_allclose(merged.mean, whole.mean, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(merged.comoment, whole.comoment, rtol=1e-9, atol=1e-6 * (1 + float(np.sum(y * y))))


@PROPERTY
@given(n=st.integers(1, 80), data=st.data())
def test_score_table_merge_of_any_split_equals_the_whole_on_drawn_values(n, data):
    y = data.draw(hnp.arrays(np.bool_, n), label="y")
    s = data.draw(hnp.arrays(np.float64, n, elements=st.sampled_from([-1.0, 0.0, 0.5, 1e-300, 1e300, 3.0])), label="s")
    cuts = _cuts(data.draw, n)
    whole = M.ScoreTable.from_arrays(y, s)
    merged = sum(M.ScoreTable.from_arrays(y[a:b], s[a:b]) for a, b in zip(cuts[:-1], cuts[1:]))
    np.testing.assert_array_equal(merged.score, whole.score)
    np.testing.assert_array_equal(merged.positive, whole.positive)
    np.testing.assert_array_equal(merged.negative, whole.negative)


# ---- ranking metrics are invariant under strictly monotone transforms -----------------------------

@st.composite
def _labelled_scores(draw, max_n=120):
    n = draw(st.integers(2, max_n))
    y = draw(hnp.arrays(np.int64, n, elements=st.integers(0, 1)))
    assume(0 < y.sum() < n)  # both classes: the AUC is defined
    # few distinct values, so that ties are common
    s = draw(hnp.arrays(np.float64, n, elements=st.integers(-5, 5).map(float)))
    w = draw(st.none() | hnp.arrays(np.float64, n, elements=st.integers(0, 4).map(float)))
    if w is not None:
        assume(w[y == 1].sum() > 0 and w[y == 0].sum() > 0)
    return y, s, w


@st.composite
def _increasing_map(draw, s):
    """A strictly increasing map of s's distinct values onto new ones (exact in floating point: the
    new values are distinct, sorted, drawn freely), applied to s."""
    distinct, inverse = np.unique(s, return_inverse=True)
    steps = draw(hnp.arrays(np.float64, distinct.size, elements=st.floats(1e-3, 1e6)))
    start = draw(st.floats(-1e6, 1e6))
    values = start + np.cumsum(steps)
    assume(np.all(np.diff(values) > 0))
    return values[inverse.reshape(s.shape)]


@PROPERTY
@given(case=_labelled_scores(), data=st.data())
def test_auc_is_invariant_under_increasing_transforms(case, data):
    y, s, w = case
    t = data.draw(_increasing_map(s), label="transformed")
    auc = M.roc_auc_score(y, s, sample_weight=w)
    assert M.roc_auc_score(y, t, sample_weight=w) == pytest.approx(auc, rel=1e-12, abs=1e-12)
    assert M.roc_auc_score(y, -t, sample_weight=w) == pytest.approx(1 - auc, rel=1e-12, abs=1e-12)
    assert M.average_precision_score(y, t, sample_weight=w) == pytest.approx(
        M.average_precision_score(y, s, sample_weight=w), rel=1e-12, abs=1e-12)


@PROPERTY
@given(case=_labelled_scores(), data=st.data())
def test_group_auc_is_invariant_under_increasing_transforms(case, data):
    y, s, w = case
    groups = data.draw(hnp.arrays(np.int64, y.size, elements=st.integers(0, 3)), label="groups")
    t = data.draw(_increasing_map(s), label="transformed")
    a = M.group_auc(y, s, groups=groups, sample_weight=w)
    b = M.group_auc(y, t, groups=groups, sample_weight=w)
    np.testing.assert_array_equal(a.groups, b.groups)
    np.testing.assert_allclose(b.auc, a.auc, rtol=1e-12, atol=1e-12)
    assert (np.isnan(a.score) and np.isnan(b.score)) or b.score == pytest.approx(a.score, rel=1e-12, abs=1e-12)


# ---- top-k of a union == merge_topk of the parts ------------------------------------------------

@PROPERTY
@given(data=st.data(), metric=st.sampled_from(["ip", "l2", "cosine"]), k=st.integers(1, 12))
def test_topk_of_a_union_equals_merge_topk_of_the_parts(data, metric, k):
    d = data.draw(st.integers(1, 6), label="dim")
    n = data.draw(st.integers(1, 60), label="n_items")
    # small integers: every score is exact in float32, so ties (broken by id) are exact ties
    ints = st.integers(-3, 3).map(float)
    items = data.draw(hnp.arrays(np.float32, (n, d), elements=ints), label="items")
    queries = data.draw(hnp.arrays(np.float32, (data.draw(st.integers(1, 5)), d), elements=ints), label="queries")
    ids = np.asarray(data.draw(st.lists(st.integers(-2**40, 2**40).filter(lambda i: i != -1), min_size=n,
                                        max_size=n, unique=True), label="ids"), dtype=np.int64)
    if metric == "cosine":
        assume(np.all(np.abs(items).sum(axis=1) > 0) and np.all(np.abs(queries).sum(axis=1) > 0))
    cuts = _cuts(data.draw, n)
    whole = R.knn(queries, items, k, metric, ids=ids)
    parts = [R.knn(queries, items[a:b], k, metric, ids=ids[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    merged = R.merge_topk(parts, k, metric)
    np.testing.assert_array_equal(merged.ids, whole.ids)
    np.testing.assert_array_equal(merged.scores, whole.scores)


# ---- a hashed row == scikit-learn's FeatureHasher on its keys -----------------------------------

@PROPERTY
@given(data=st.data(), n_features=st.integers(1, 2**20), alternate_sign=st.booleans())
def test_hashing_a_row_equals_hashing_its_keys(data, n_features, alternate_sign):
    pd = pytest.importorskip("pandas")
    from sklearn.feature_extraction import FeatureHasher as SkHasher

    n = data.draw(st.integers(1, 12), label="rows")
    # one column of each kind: ints with missing values, strings with missing values, booleans
    ints = data.draw(st.lists(st.none() | st.integers(-10**12, 10**12), min_size=n, max_size=n), label="ints")
    texts = data.draw(st.lists(st.none() | st.text(st.characters(blacklist_categories=("Cs",)), max_size=6), min_size=n, max_size=n), label="texts")
    flags = data.draw(st.lists(st.booleans(), min_size=n, max_size=n), label="flags")
    df = pd.DataFrame({"i": pd.array(ints, dtype="Int64"), "t": pd.array(texts, dtype=object), "f": flags})
    crosses = data.draw(st.lists(st.lists(st.sampled_from(["i", "t", "f"]), min_size=2, max_size=3).map(tuple),
                                 max_size=2), label="crosses")
    ours = H.hash_columns(df, crosses=crosses, n_features=n_features, alternate_sign=alternate_sign)

    def key(col, v):
        return f"{col}={v}"

    rows = []
    for r in range(n):
        cell = {"i": ints[r], "t": texts[r], "f": flags[r]}
        keys = [key(c, v) for c, v in cell.items() if v is not None]
        for cross in crosses:
            if all(cell[c] is not None for c in cross):
                keys.append("\x1f".join(key(c, cell[c]) for c in cross))
        rows.append(keys)
    ref = SkHasher(n_features, input_type="string", alternate_sign=alternate_sign).transform(rows)
    np.testing.assert_array_equal(ours.toarray(), ref.toarray())


# ---- p-values ----------------------------------------------------------------------------------

_sample = hnp.arrays(np.float64, st.integers(3, 40), elements=st.floats(-100, 100, allow_nan=False))


@PROPERTY
@given(a=_sample, b=_sample, shifts=st.lists(st.floats(0, 50), min_size=2, max_size=4))
def test_p_values_are_probabilities_and_fall_as_the_effect_grows(a, b, shifts):
    assume(np.ptp(a) > 1e-3 and np.ptp(b) > 1e-3)  # a variance to test against
    base = float(np.mean(b) - np.mean(a))  # shift a above b, by a growing margin
    deltas = sorted(max(base, 0.0) + s for s in shifts)
    for test in (lambda x: A.ttest_ind(x, b), lambda x: A.ttest_ind(x, b, equal_var=True),
                 lambda x: A.mannwhitneyu(x, b, alternative="greater", method="asymptotic"), lambda x: A.compare(x, b)):
        ps = [float(test(a + dlt).pvalue) for dlt in deltas]
        assert all(0.0 <= p <= 1.0 for p in ps), ps
        for p_small_effect, p_large_effect in zip(ps, ps[1:]):
            assert p_large_effect <= p_small_effect * (1 + 1e-9) + 1e-15, ps


@PROPERTY
@given(n=st.integers(20, 10_000), base=st.integers(1, 19), data=st.data())  # both arms vary
def test_proportion_p_values_fall_as_the_difference_grows(n, base, data):
    control = base * n // 20
    extra = sorted(data.draw(st.lists(st.integers(0, n - control), min_size=2, max_size=4), label="extra"))
    ps = [float(A.proportions_ztest((control + e, n), (control, n)).pvalue) for e in extra]
    # 0 < control < n: the pooled proportion is inside (0, 1), so every p-value is defined (NaN fails)
    assert all(0.0 <= p <= 1.0 for p in ps), ps
    for p_small_effect, p_large_effect in zip(ps, ps[1:]):
        assert p_large_effect <= p_small_effect * (1 + 1e-9) + 1e-15, (extra, ps)


@PROPERTY
@given(counts=hnp.arrays(np.int64, st.integers(2, 6), elements=st.integers(0, 10**6)))
def test_srm_and_chisquare_p_values_are_probabilities(counts):
    assume(counts.sum() > 0)
    for res in (A.srm_test(counts), A.chisquare(counts.astype(np.float64))):
        assert 0.0 <= float(res.pvalue) <= 1.0  # every expected count is > 0: defined (NaN fails)
