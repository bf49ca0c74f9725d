"""Mergeable metric states (ScoreTable, LogLossSums) and the binned AUC, against the functions on
raw arrays and against scikit-learn."""

import json
import pickle

import numpy as np
import pytest
from sklearn import metrics as skm

import mlsd.metrics as M
from conftest import binary_data


def _cut(n, seed, parts=5):
    rng = np.random.default_rng(seed)
    return np.sort(np.concatenate([[0, 0, 1], rng.integers(0, n, parts), [n, n]]))  # empty and 1-row slices


def _tables(y, s, w, cuts, **kw):
    return [M.ScoreTable.from_arrays(y[a:b], s[a:b], sample_weight=None if w is None else w[a:b], **kw)
            for a, b in zip(cuts[:-1], cuts[1:])]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("weighted", [False, True])
def test_merged_tables_give_the_metrics_of_the_whole(seed, weighted):
    y, s, w = binary_data(seed, weights=weighted, zero_weights=weighted)
    t = M.ScoreTable().merge(*_tables(y, s, w, _cut(y.size, seed)))
    whole = M.ScoreTable.from_arrays(y, s, sample_weight=w)
    np.testing.assert_array_equal(t.score, whole.score)
    tol = dict(rtol=1e-13, atol=0) if weighted else dict(rtol=0, atol=0)  # counts add exactly
    np.testing.assert_allclose(t.positive, whole.positive, **tol)
    np.testing.assert_allclose(t.roc_auc_score(), M.roc_auc_score(y, s, sample_weight=w), **tol)
    assert t.roc_auc_score() == pytest.approx(skm.roc_auc_score(y, s, sample_weight=w), rel=1e-12)
    assert t.roc_auc_score(max_fpr=0.2) == pytest.approx(skm.roc_auc_score(y, s, sample_weight=w, max_fpr=0.2),
                                                          rel=1e-12)
    assert t.average_precision_score() == pytest.approx(skm.average_precision_score(y, s, sample_weight=w), rel=1e-12)
    for ours, ref in zip(t.roc_curve(), skm.roc_curve(y, s, sample_weight=w)):
        np.testing.assert_allclose(ours, ref, rtol=1e-12)
    for ours, ref in zip(t.precision_recall_curve(), skm.precision_recall_curve(y, s, sample_weight=w)):
        np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_update_add_serialise_and_pickle():
    y, s, _ = binary_data(3)
    t = M.ScoreTable()
    for a, b in zip(_cut(y.size, 3)[:-1], _cut(y.size, 3)[1:]):
        t.update(y[a:b], s[a:b])
    whole = M.ScoreTable.from_arrays(y, s)
    assert t.roc_auc_score() == whole.roc_auc_score()
    again = M.ScoreTable.from_dict(json.loads(json.dumps(t.to_dict())))
    assert again.roc_auc_score() == t.roc_auc_score() and len(again) == len(t)
    pickled = pickle.loads(pickle.dumps(t))
    np.testing.assert_array_equal(pickled.negative, t.negative)
    assert (M.ScoreTable.from_arrays(y[:10], s[:10]) + M.ScoreTable.from_arrays(y[10:], s[10:])).roc_auc_score() == \
        whole.roc_auc_score()
    assert t.nbytes == 24 * len(t) and "distinct scores" in repr(t)


def test_table_errors():
    y, s, _ = binary_data(1)
    binned = M.ScoreTable.from_arrays(y, s, n_bins=8, range=(-3, 3))
    with pytest.raises(ValueError, match="same bins"):
        binned.merge(M.ScoreTable.from_arrays(y, s))
    with pytest.raises(TypeError, match="'others' parameter of ScoreTable.merge must be ScoreTable objects"):
        binned.merge({"score": []})
    with pytest.raises(ValueError, match="strictly decreasing"):
        M.ScoreTable([0.1, 0.5], [1, 0], [0, 1])
    with pytest.raises(ValueError, match=">= 0"):
        M.ScoreTable([0.5, 0.1], [-1, 0], [0, 1])
    with pytest.raises(ValueError, match="one length"):
        M.ScoreTable([0.5, 0.1], [1], [0, 1])
    with pytest.raises(ValueError, match="both classes"):
        M.ScoreTable([0.5], [1], [0]).roc_auc_score()
    with pytest.raises(ValueError, match="range"):
        M.ScoreTable.from_arrays(y, s, n_bins=8, range=(1, 1))
    with pytest.raises(ValueError, match="n_bins"):
        M.ScoreTable.from_arrays(y, s, n_bins=0)
    with pytest.raises(ValueError, match="y_score has"):
        M.ScoreTable.from_arrays(y, s[:-1])
    assert len(M.ScoreTable.from_arrays([], [])) == 0


@pytest.mark.parametrize("seed", range(5))
def test_binned_auc_is_the_auc_of_the_binned_scores_and_within_its_bound(seed):
    rng = np.random.default_rng(seed)
    n = 20_000
    y = rng.random(n) < 0.2
    p = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.2 * y)))
    w = rng.uniform(0, 2, n) if seed % 2 else None
    exact = M.roc_auc_score(y, p, sample_weight=w)
    for n_bins in (4, 64, 4096):
        r = M.binned_roc_auc_score(y, p, sample_weight=w, n_bins=n_bins)
        width = 1.0 / n_bins
        binned = np.minimum(np.floor(p / width), n_bins - 1) * width
        assert r.auc == pytest.approx(M.roc_auc_score(y, binned, sample_weight=w), rel=1e-12)
        assert abs(r.auc - exact) <= r.error_bound
        assert float(r) == r.auc and r.n_bins == n_bins
    assert M.binned_roc_auc_score(y, p, n_bins=2**16).error_bound < 1e-3
    # scores outside the range land in the end bins: still a valid bound
    r = M.binned_roc_auc_score(y, 3 * p - 1, n_bins=64)
    assert abs(r.auc - M.roc_auc_score(y, p)) <= r.error_bound


@pytest.mark.parametrize("seed", range(4))
def test_log_loss_sums_merge(seed):
    rng = np.random.default_rng(seed)
    n = 5000
    y = rng.random(n) < 0.3
    p = np.clip(rng.beta(2, 5, n), 0, 1)
    w = rng.uniform(0, 3, n) if seed % 2 else None
    cuts = _cut(n, seed)
    parts = [M.LogLossSums.from_arrays(y[a:b], p[a:b], sample_weight=None if w is None else w[a:b])
             for a, b in zip(cuts[:-1], cuts[1:])]
    merged = parts[0].merge(*parts[1:])
    with pytest.warns(FutureWarning, match="deprecated"):  # the classmethod taking a list, before the protocol
        assert M.LogLossSums.merge(parts) == merged
    assert sum(parts).log_loss() == pytest.approx(merged.log_loss(), rel=1e-14)
    assert merged.log_loss() == pytest.approx(skm.log_loss(y, p, sample_weight=w), rel=1e-12)
    assert merged.log_loss(normalize=False) == pytest.approx(M.log_loss(y, p, normalize=False, sample_weight=w),
                                                             rel=1e-13)
    assert merged.normalized_entropy() == pytest.approx(M.normalized_entropy(y, p, sample_weight=w), rel=1e-13)
    pairwise = parts[0]
    for q in parts[1:]:
        pairwise = pairwise + q
    assert pairwise.log_loss() == pytest.approx(merged.log_loss(), rel=1e-14)
    assert M.LogLossSums.from_dict(json.loads(json.dumps(merged.to_dict()))) == merged
    with pytest.raises(ValueError, match="different eps"):
        merged + M.LogLossSums.from_arrays(y, p.astype(np.float32))
