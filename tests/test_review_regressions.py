"""Regression tests for problems found in review (one test per finding)."""

import warnings

import numpy as np
import pytest
import sklearn.metrics as skm

import mlsd
import mlsd.metrics as M

Y = np.array([0, 1, 0, 1, 1, 0])
S = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.7])
W = np.arange(1, 7, dtype=float)


def test_huge_thread_count_is_capped_not_a_crash():
    mlsd.set_num_threads(100_000)
    assert mlsd.get_num_threads() == mlsd._core.default_num_threads()
    assert M.roc_auc_score(Y, S) == pytest.approx(skm.roc_auc_score(Y, S))
    mlsd.set_num_threads(2**40)
    assert mlsd.get_num_threads() == mlsd._core.default_num_threads()


@pytest.mark.parametrize("dtype", [">i8", ">i4", ">f8", ">f4", "<i2"])
def test_non_native_byte_order_labels(dtype):
    assert M.roc_auc_score(Y.astype(dtype), S) == pytest.approx(skm.roc_auc_score(Y, S), rel=1e-12)


@pytest.mark.parametrize("scale", [1e155, 1e-160, 1e-170, 1e300])
def test_extreme_weight_scales(scale):
    expected = skm.roc_auc_score(Y, S, sample_weight=W)
    assert M.roc_auc_score(Y, S, sample_weight=W * scale) == pytest.approx(expected, rel=1e-12)
    r = M.group_auc(Y, S, groups=[1, 1, 1, 2, 2, 2], sample_weight=W * scale)
    assert r.n_skipped == 0 and np.isfinite(r.auc).all()


def test_exponential_gain_without_usable_gain():
    r = M.ndcg_at_k([[1e-17, 0], [1, 0]], [[0.1, 0.2], [0.2, 0.1]], 3, gain="exponential")
    np.testing.assert_array_equal(r.per_query, [0.0, 1.0])  # "neg": the first query scores 0
    assert r.mean == 0.5
    with pytest.raises(ValueError, match="exponential gain"):
        M.ndcg_at_k([[2000.0, 0]], [[0.1, 0.2]], 3, gain="exponential")


@pytest.mark.parametrize("k", [2**63 - 1, 2**63, 2**64, 10**30])
def test_enormous_k_means_whole_list(k):
    rel, sc = [[1.0, 0, 2]], [[0.1, 0.5, 0.3]]
    assert M.ndcg_at_k(rel, sc, k).mean == M.ndcg_at_k(rel, sc, None).mean
    assert M.precision_at_k(rel, sc, 3).mean == pytest.approx(2 / 3)


def test_pr_curve_warns_when_positives_have_zero_weight():
    with pytest.warns(M.UndefinedMetricWarning, match="No positive class"):
        ours = M.precision_recall_curve([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], sample_weight=[1, 0, 1, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = skm.precision_recall_curve([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], sample_weight=[1, 0, 1, 0])
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b)


def test_wide_unsigned_labels_report_the_real_value():
    with pytest.raises(ValueError, match="18446744073709551615"):  # three labels: the real value, not wrapped
        M.roc_auc_score(np.array([0, 1, 2**64 - 1], np.uint64), [1.0, 2.0, 3.0])
    assert M.roc_auc_score(np.array([0, 1, 1], np.uint64), [1.0, 2.0, 3.0]) == 1.0
