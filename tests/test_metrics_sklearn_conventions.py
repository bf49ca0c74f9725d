"""scikit-learn's calling conventions on mlsd.metrics and mlsd.hashing, checked against scikit-learn
itself: labels of any two values with pos_label and scikit-learn's rule for inferring it, (n, 2)
probability matrices, the y_proba name, dcg_score/ndcg_score with log_base and both tie rules,
the UndefinedMetricWarning that scikit-learn's class catches, murmurhash3_32's int range."""

import warnings

import numpy as np
import pytest

import mlsd.metrics as M
from mlsd.hashing import murmurhash3_32

skm = pytest.importorskip("sklearn.metrics")
from sklearn.calibration import calibration_curve as sk_calibration_curve  # noqa: E402
from sklearn.exceptions import UndefinedMetricWarning as SkUndefinedMetricWarning  # noqa: E402

TOL = dict(rtol=1e-10, atol=1e-12)


def _binary(seed, n=300):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(rng.random(n) * 0.6 + y * 0.3, 0, 1).round(2)  # ties
    return y, p


# Label kinds: (the two labels (negative, positive), pos_label to pass, or None when scikit-learn infers it)
LABEL_KINDS = [
    ((0, 1), None), ((-1, 1), None), ((False, True), None), ((0.0, 1.0), None),
    ((1, 2), 2), ((1, 2), 1), (("no", "yes"), "yes"), (("no", "yes"), "no"),
    (np.array(["ham", "spam"], dtype=object), "spam"),
]


@pytest.mark.parametrize("labels, pos_label", LABEL_KINDS)
@pytest.mark.parametrize("seed", range(2))
def test_curves_and_scores_take_any_two_labels_as_sklearn(labels, pos_label, seed):
    y01, p = _binary(seed)
    y = np.asarray(labels, dtype=object if isinstance(labels[0], str) else None)[y01]
    kw = {} if pos_label is None else {"pos_label": pos_label}
    for ours, theirs in zip(M.roc_curve(y, p, **kw), skm.roc_curve(y, p, **kw)):
        np.testing.assert_allclose(ours, theirs, **TOL)
    for ours, theirs in zip(M.precision_recall_curve(y, p, **kw), skm.precision_recall_curve(y, p, **kw)):
        np.testing.assert_allclose(ours, theirs, **TOL)
    ap_kw = kw if pos_label is not None else ({"pos_label": True} if labels[1] is True else {})
    np.testing.assert_allclose(M.average_precision_score(y, p, **ap_kw), skm.average_precision_score(y, p, **ap_kw),
                               **TOL)
    np.testing.assert_allclose(M.brier_score_loss(y, p, **kw), skm.brier_score_loss(y, p, **kw), **TOL)
    for ours, theirs in zip(M.calibration_curve(y, p, n_bins=4, **kw), sk_calibration_curve(y, p, n_bins=4, **kw)):
        np.testing.assert_allclose(ours, theirs, **TOL)
    # roc_auc_score and log_loss have no pos_label: the greater label is the positive class
    np.testing.assert_allclose(M.roc_auc_score(y, p), skm.roc_auc_score(y, p), **TOL)
    np.testing.assert_allclose(M.log_loss(y, p), skm.log_loss(y, p), **TOL)


@pytest.mark.parametrize("func", [M.roc_curve, M.precision_recall_curve, M.brier_score_loss, M.calibration_curve])
def test_string_labels_without_pos_label_raise_as_sklearn(func):
    _, p = _binary(0, 10)
    with pytest.raises(ValueError, match=r"y_true takes value in \{'a', 'b'\} and pos_label is not specified"):
        func(np.array(list("abababbbaa")), p)


def test_pos_label_not_among_the_labels_is_an_error_for_average_precision():
    y01, p = _binary(1, 20)
    with pytest.raises(ValueError, match=r"average_precision_score: pos_label=1 is not a valid label"):
        M.average_precision_score(np.array(["a", "b"])[y01], p)


def test_multiclass_labels_are_rejected():
    y = np.array([0, 1, 2, 1, 0])
    with pytest.raises(ValueError, match="roc_auc_score: .*multiclass format is not supported"):
        M.roc_auc_score(y, np.linspace(0, 1, 5))


@pytest.mark.parametrize("seed", range(3))
def test_probability_matrix_equals_sklearn(seed):
    y01, p = _binary(seed)
    rng = np.random.default_rng(seed)
    matrix = np.c_[1 - p, p]
    y = np.array(["cat", "dog"])[y01]
    w = rng.integers(0, 3, y.shape[0]).astype(float)
    np.testing.assert_allclose(M.log_loss(y, matrix), skm.log_loss(y, matrix), **TOL)
    np.testing.assert_allclose(M.log_loss(y, matrix, sample_weight=w, normalize=False),
                               skm.log_loss(y, matrix, sample_weight=w, normalize=False), **TOL)
    np.testing.assert_allclose(M.brier_score_loss(y, matrix), skm.brier_score_loss(y, matrix), **TOL)
    # one class in y_true, the classes given by labels
    np.testing.assert_allclose(M.log_loss(y[y01 == 1], matrix[y01 == 1], labels=["cat", "dog"]),
                               skm.log_loss(y[y01 == 1], matrix[y01 == 1], labels=["cat", "dog"]), **TOL)
    # rows not summing to one warn as in scikit-learn; the loss reads the true class's column only
    bad = matrix * 1.1
    bad = np.clip(bad, 0, 1)
    with pytest.warns(UserWarning, match="do not sum to one"):
        ours = M.log_loss(y, bad)
    with pytest.warns(UserWarning, match="do not sum to one"):
        theirs = skm.log_loss(y, bad)
    np.testing.assert_allclose(ours, theirs, **TOL)


def test_multiclass_log_loss_equals_sklearn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 200)
    proba = rng.dirichlet(np.ones(4), 200)
    np.testing.assert_allclose(M.log_loss(y, proba), skm.log_loss(y, proba), **TOL)
    np.testing.assert_allclose(M.log_loss(y[y < 3], proba[y < 3], labels=[0, 1, 2, 3]),
                               skm.log_loss(y[y < 3], proba[y < 3], labels=[0, 1, 2, 3]), **TOL)


def test_y_proba_is_the_name_and_the_old_names_still_work_with_a_future_warning():
    y, p = _binary(4)
    expected = M.log_loss(y, y_proba=p)
    with pytest.warns(FutureWarning, match="`y_prob` was renamed to `y_proba`"):
        assert M.log_loss(y, y_prob=p) == expected
    with pytest.warns(FutureWarning, match="`y_pred` was renamed to `y_proba`"):
        assert M.log_loss(y, y_pred=p) == expected
    with pytest.warns(FutureWarning, match="`y_prob` was renamed to `y_proba`"):
        assert M.brier_score_loss(y, y_prob=p) == M.brier_score_loss(y, p)
    with pytest.raises(ValueError, match="log_loss: Cannot use both `y_prob` and `y_proba`"):
        M.log_loss(y, p, y_prob=p)
    with pytest.raises(TypeError, match="log_loss: missing the required argument y_proba"):
        M.log_loss(y)


def test_scale_by_half_as_sklearn():
    y, p = _binary(5)
    for value in ("auto", True, False):
        np.testing.assert_allclose(M.brier_score_loss(y, p, scale_by_half=value),
                                   skm.brier_score_loss(y, p, scale_by_half=value), **TOL)


def _tied_ranking(seed, n_queries, n_docs):
    rng = np.random.default_rng(seed)
    rel = rng.integers(0, 4, (n_queries, n_docs)).astype(float)
    score = rng.integers(0, 3, (n_queries, n_docs)).astype(float)  # heavy ties
    return rel, score


def _argsort_keeps_ties_in_order(score):
    """Rows whose ties NumPy's default argsort (which scikit-learn's ignore_ties=True ranks by,
    reversed) happens to keep in input order.  That sort is not stable (SIMD sorts on x86), so on
    other rows scikit-learn's order of tied documents is the sort's accident, not a rule."""
    return np.array([np.array_equal(np.argsort(r), np.argsort(r, kind="stable")) for r in score])


@pytest.mark.parametrize("k", [None, 1, 3, 7])
@pytest.mark.parametrize("n_docs", [2, 5, 9])
def test_dcg_and_ndcg_with_ties_equal_sklearn_for_both_tie_settings(k, n_docs):
    rel, score = _tied_ranking(n_docs, 300, n_docs)
    w = np.random.default_rng(n_docs).random(300)
    # ignore_ties=False: tied documents share their average gain, whatever their order
    np.testing.assert_allclose(M.dcg_score(rel, score, k=k), skm.dcg_score(rel, score, k=k), **TOL)
    np.testing.assert_allclose(M.ndcg_score(rel, score, k=k, sample_weight=w),
                               skm.ndcg_score(rel, score, k=k, sample_weight=w), **TOL)
    np.testing.assert_allclose(M.ndcg_at_k(rel, score, k).mean, skm.ndcg_score(rel, score, k=k), **TOL)
    # ignore_ties=True: the later of two tied documents first, scikit-learn's order wherever NumPy's
    # sort leaves ties in place (checked to include many rows with ties)
    keep = _argsort_keeps_ties_in_order(score)
    has_ties = np.array([np.unique(r).size < r.size for r in score])
    assert (keep & has_ties).sum() >= 20
    rel, score, w = rel[keep], score[keep], w[keep]
    np.testing.assert_allclose(M.dcg_score(rel, score, k=k, ignore_ties=True),
                               skm.dcg_score(rel, score, k=k, ignore_ties=True), **TOL)
    np.testing.assert_allclose(M.ndcg_score(rel, score, k=k, ignore_ties=True, sample_weight=w),
                               skm.ndcg_score(rel, score, k=k, ignore_ties=True, sample_weight=w), **TOL)
    np.testing.assert_allclose(M.dcg_at_k(rel, score, k, ignore_ties=True).mean,
                               skm.dcg_score(rel, score, k=k, ignore_ties=True), **TOL)


@pytest.mark.parametrize("k", [1, 3, 60])
def test_ignore_ties_ranks_the_later_tied_document_first_on_long_lists(k):
    # 200 documents, k small (the kernel's insertion path) and large (its partial sort): scikit-learn's
    # rule with a stable sort, i.e. np.argsort(score, kind="stable")[::-1]
    rel, score = _tied_ranking(11, 20, 200)
    order = np.argsort(score, axis=1, kind="stable")[:, ::-1][:, :k]
    discount = 1 / np.log2(np.arange(k) + 2)
    expected = (np.take_along_axis(rel, order, axis=1) * discount).sum(axis=1)
    np.testing.assert_allclose(M.dcg_at_k(rel, score, k, ignore_ties=True).per_query, expected, **TOL)


def test_ignore_ties_example_of_the_issue():
    # all scores tied: scikit-learn ranks the last document first, so relevances 4, 3, 2, 1, 0
    assert M.dcg_score([[0, 1, 2, 3, 4]], [[0, 0, 0, 0, 0]], ignore_ties=True) == pytest.approx(
        skm.dcg_score([[0, 1, 2, 3, 4]], [[0, 0, 0, 0, 0]], ignore_ties=True), rel=1e-12)
    assert M.dcg_score([[0, 1, 2, 3, 4]], [[0, 0, 0, 0, 0]], ignore_ties=True) == pytest.approx(7.3235, abs=1e-4)


@pytest.mark.parametrize("log_base", [2, 10, np.e, 1.5])
def test_log_base_as_sklearn(log_base):
    rel, score = _tied_ranking(7, 30, 9)
    tie_free = score + np.random.default_rng(7).random(score.shape) * 0.1
    np.testing.assert_allclose(M.dcg_score(rel, score, k=5, log_base=log_base),
                               skm.dcg_score(rel, score, k=5, log_base=log_base), **TOL)
    for ignore_ties in (False, True):
        score = tie_free
        np.testing.assert_allclose(M.dcg_score(rel, score, k=5, log_base=log_base, ignore_ties=ignore_ties),
                                   skm.dcg_score(rel, score, k=5, log_base=log_base, ignore_ties=ignore_ties), **TOL)
    np.testing.assert_allclose(M.ndcg_at_k(rel, score, 5, log_base=log_base).per_query,
                               M.ndcg_at_k(rel, score, 5).per_query, **TOL)


def test_ndcg_score_checks_as_sklearn():
    with pytest.raises(ValueError, match="ndcg_score: Computing NDCG is only meaningful when there is more than 1"):
        M.ndcg_score([[1.0]], [[0.5]])
    with pytest.raises(ValueError, match="ndcg_score should not be used on negative y_true values"):
        M.ndcg_score([[1.0, -1.0]], [[0.5, 0.2]])


def test_undefined_metric_warning_is_caught_as_sklearns():
    y = np.zeros(5, dtype=int)
    s = np.linspace(0, 1, 5)
    with pytest.warns(SkUndefinedMetricWarning, match="No positive samples in y_true"):
        M.roc_curve(y, s)
    with pytest.warns(SkUndefinedMetricWarning, match="Only one class is present"):
        assert np.isnan(M.roc_auc_score(y, s))
    with pytest.warns(M.UndefinedMetricWarning):
        M.roc_curve(y, s)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkUndefinedMetricWarning)
        with pytest.raises(SkUndefinedMetricWarning):
            M.roc_auc_score(y, s)
    assert issubclass(M.UndefinedMetricWarning, UserWarning)


@pytest.mark.parametrize("key", [2**31, -(2**31) - 1, 2**70])
def test_murmurhash_int_keys_outside_int32_raise_as_sklearn(key):
    from sklearn.utils import murmurhash3_32 as sk_murmurhash3_32

    with pytest.raises(OverflowError):
        sk_murmurhash3_32(key)
    with pytest.raises(OverflowError, match="The 'key' parameter of murmurhash3_32"):
        murmurhash3_32(key)
    with pytest.raises(ValueError):
        murmurhash3_32(key)
    assert murmurhash3_32(2**31 - 1) == sk_murmurhash3_32(2**31 - 1)
    assert murmurhash3_32(-(2**31)) == sk_murmurhash3_32(-(2**31))
