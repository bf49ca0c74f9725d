"""mlsd.metrics binary classification metrics compared with scikit-learn."""

import warnings

import numpy as np
import pytest
import sklearn.metrics as skm
from sklearn.calibration import calibration_curve as sk_calibration_curve

import mlsd
import mlsd.metrics as M
from conftest import binary_data

SEEDS = range(25)
TOL = dict(rtol=1e-10, atol=1e-12)  # np.testing.assert_allclose
APPROX = dict(rel=1e-10, abs=1e-12)  # pytest.approx


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("weights", [False, True])
def test_roc_auc_matches_sklearn(seed, weights):
    y, s, w = binary_data(seed, weights=weights, zero_weights=weights)
    assert M.roc_auc_score(y, s, sample_weight=w) == pytest.approx(skm.roc_auc_score(y, s, sample_weight=w), **APPROX)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("max_fpr", [0.01, 0.1, 0.33, 0.5, 0.999, 1.0])
def test_partial_auc_matches_sklearn(seed, max_fpr):
    y, s, w = binary_data(seed, weights=seed % 2 == 1)
    expected = skm.roc_auc_score(y, s, sample_weight=w, max_fpr=max_fpr)
    assert M.roc_auc_score(y, s, sample_weight=w, max_fpr=max_fpr) == pytest.approx(expected, **APPROX)


def test_roc_auc_large_input_uses_radix_path():
    y, s, w = binary_data(99, n=300_000, weights=True, zero_weights=True)
    assert M.roc_auc_score(y, s) == pytest.approx(skm.roc_auc_score(y, s), **APPROX)
    assert M.roc_auc_score(y, s, sample_weight=w) == pytest.approx(skm.roc_auc_score(y, s, sample_weight=w), **APPROX)


@pytest.mark.parametrize("label_dtype", [bool, np.uint8, np.int8, np.int16, np.int32, np.int64, np.uint64,
                                         np.float32, np.float64])
def test_label_dtypes(label_dtype):
    y, s, _ = binary_data(3)
    assert M.roc_auc_score(y.astype(label_dtype), s) == pytest.approx(skm.roc_auc_score(y, s), **APPROX)


def test_float32_scores_and_lists():
    y, s, _ = binary_data(4)
    assert M.roc_auc_score(y, s.astype(np.float32)) == pytest.approx(skm.roc_auc_score(y, s.astype(np.float32)), **APPROX)
    assert M.roc_auc_score(list(y), list(s)) == pytest.approx(skm.roc_auc_score(y, s), **APPROX)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("drop", [True, False])
@pytest.mark.parametrize("curve", ["roc_curve", "precision_recall_curve"])
def test_curves_match_sklearn(seed, drop, curve):
    # Integer weights keep cumulative sums exact, so the dropped points agree exactly.
    y, s, w = binary_data(seed, weights=seed % 2 == 0, zero_weights=True)
    ours = getattr(M, curve)(y, s, sample_weight=w, drop_intermediate=drop)
    ref = getattr(skm, curve)(y, s, sample_weight=w, drop_intermediate=drop)
    for a, b in zip(ours, ref):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, **TOL)


def test_pr_thresholds_keep_float32_dtype():
    y, s, _ = binary_data(1)
    _, _, thr = M.precision_recall_curve(y, s.astype(np.float32))
    _, _, ref = skm.precision_recall_curve(y, s.astype(np.float32))
    assert thr.dtype == ref.dtype == np.float32


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("weights", [False, True])
def test_average_precision_matches_sklearn(seed, weights):
    y, s, w = binary_data(seed, weights=weights, zero_weights=weights)
    expected = skm.average_precision_score(y, s, sample_weight=w)
    assert M.average_precision_score(y, s, sample_weight=w) == pytest.approx(expected, **APPROX)


def test_single_class_curves_warn_like_sklearn():
    y = np.ones(5, dtype=int)
    s = np.arange(5.0)
    with pytest.warns(M.UndefinedMetricWarning, match="No negative samples"):
        fpr, tpr, _ = M.roc_curve(y, s)
    assert np.isnan(fpr).all() and not np.isnan(tpr).any()
    with pytest.warns(M.UndefinedMetricWarning, match="No positive class"):
        _, recall, _ = M.precision_recall_curve(1 - y, s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(recall, skm.precision_recall_curve(1 - y, s)[1])


def _probs(seed, n=2000):
    rng = np.random.default_rng(seed)
    p = rng.beta(0.5, 2.0, n)
    y = (rng.random(n) < p).astype(int)
    p[:5] = [0.0, 1.0, 0.0, 1.0, 0.5]  # hit both clipping bounds
    return y, p, rng.integers(0, 4, n).astype(float)


@pytest.mark.parametrize("seed", SEEDS)
def test_log_loss_and_brier_match_sklearn(seed):
    y, p, w = _probs(seed)
    assert M.log_loss(y, p) == pytest.approx(skm.log_loss(y, p), **APPROX)
    assert M.log_loss(y, p, sample_weight=w) == pytest.approx(skm.log_loss(y, p, sample_weight=w), **APPROX)
    assert M.log_loss(y, p, normalize=False) == pytest.approx(skm.log_loss(y, p, normalize=False), **APPROX)
    assert M.brier_score_loss(y, p, sample_weight=w) == pytest.approx(skm.brier_score_loss(y, p, sample_weight=w), **APPROX)
    assert M.brier_score is M.brier_score_loss


def test_log_loss_float32_uses_float32_eps():
    y, p, _ = _probs(0)
    p32 = p.astype(np.float32)
    # sklearn computes in float32, mlsd in float64 with float32's clipping bound.
    assert M.log_loss(y, p32) == pytest.approx(skm.log_loss(y, p32), rel=1e-6)
    assert M.log_loss([1], np.array([0.0], dtype=np.float32)) == pytest.approx(-np.log(np.finfo(np.float32).eps))


@pytest.mark.parametrize("seed", range(10))
def test_normalized_entropy(seed):
    y, p, w = _probs(seed)
    for weights in (None, w):
        ctr = np.average(y, weights=weights)
        background = -(ctr * np.log(ctr) + (1 - ctr) * np.log(1 - ctr))
        expected = skm.log_loss(y, p, sample_weight=weights) / background
        assert M.normalized_entropy(y, p, sample_weight=weights) == pytest.approx(expected, **APPROX)
    # Predicting the background rate everywhere gives NE = 1.
    assert M.normalized_entropy(y, np.full(len(y), y.mean())) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_bins", [1, 3, 10, 37])
def test_calibration_curve_matches_sklearn(seed, strategy, n_bins):
    y, p, _ = _probs(seed)
    if seed % 2:
        p = np.round(p, 1)  # values on the bin edges
    ours = M.calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    ref = sk_calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    for a, b in zip(ours, ref):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, **TOL)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_expected_calibration_error(strategy):
    y, p, w = _probs(7)
    n_bins = 10
    edges = np.linspace(0, 1, n_bins + 1) if strategy == "uniform" else np.percentile(p, np.linspace(0, 100, n_bins + 1))
    for weights in (None, w):
        ww = np.ones_like(p) if weights is None else weights
        bins = np.searchsorted(edges[1:-1], p)
        tot = np.bincount(bins, ww, n_bins)
        gap = np.abs(np.bincount(bins, ww * y, n_bins) - np.bincount(bins, ww * p, n_bins))
        expected = gap.sum() / tot.sum()
        assert M.expected_calibration_error(y, p, strategy=strategy, sample_weight=weights) == pytest.approx(expected, **APPROX)
    assert M.expected_calibration_error([0, 1, 1, 0], [0.0, 1.0, 1.0, 0.0]) == 0.0


def test_results_do_not_depend_on_thread_count():
    y, s, w = binary_data(11, n=400_000, weights=True, zero_weights=True)
    p = 1 / (1 + np.exp(-s))
    groups = np.random.default_rng(0).integers(0, 5000, len(y))

    def everything():
        return (M.roc_auc_score(y, s, sample_weight=w), M.average_precision_score(y, s, sample_weight=w),
                M.log_loss(y, p, sample_weight=w), M.expected_calibration_error(y, p, sample_weight=w),
                M.group_auc(y, s, groups=groups, sample_weight=w).score)

    mlsd.set_num_threads(1)
    one = everything()
    for t in (2, 3):
        mlsd.set_num_threads(t)
        assert everything() == one  # bit-identical
