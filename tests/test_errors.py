"""Every public function rejects bad input with a clear ValueError/TypeError naming the argument."""

import numpy as np
import pytest

import mlsd
import mlsd.metrics as M
from mlsd._validation import InvalidParameterError

Y = np.array([0, 1, 0, 1, 1])
S = np.array([0.1, 0.8, 0.3, 0.6, 0.9])
nan_s = S.copy()
nan_s[2] = np.nan
inf_s = S.copy()
inf_s[1] = np.inf

BINARY = {
    "roc_auc_score": lambda y, s, **kw: M.roc_auc_score(y, s, **kw),
    "roc_curve": lambda y, s, **kw: M.roc_curve(y, s, **kw),
    "precision_recall_curve": lambda y, s, **kw: M.precision_recall_curve(y, s, **kw),
    "average_precision_score": lambda y, s, **kw: M.average_precision_score(y, s, **kw),
    "log_loss": lambda y, s, **kw: M.log_loss(y, s, **kw),
    "brier_score_loss": lambda y, s, **kw: M.brier_score_loss(y, s, **kw),
    "normalized_entropy": lambda y, s, **kw: M.normalized_entropy(y, s, **kw),
    "calibration_curve": lambda y, s, **kw: M.calibration_curve(y, s, **kw),
    "expected_calibration_error": lambda y, s, **kw: M.expected_calibration_error(y, s, **kw),
    "group_auc": lambda y, s, **kw: M.group_auc(y, s, groups=np.zeros(len(np.asarray(y)), dtype=int), **kw),
}

CASES = [
    # (description, y_true, y_score, kwargs, exception, message fragment)
    ("length mismatch", Y, S[:4], {}, ValueError, "has 4 elements but y_true has 5"),
    ("2-D scores", Y, np.c_[S, S], {}, ValueError, "parameter of {name} must be a 1-D array-like"),
    ("2-D labels", np.c_[Y, Y], S, {}, ValueError, "The 'y_true' parameter of {name} must be a 1-D"),
    ("NaN score", Y, nan_s, {}, ValueError, "must be finite; found nan at index 2"),
    ("inf score", Y, inf_s, {}, ValueError, "at index 1"),
    ("label 2", [0, 1, 2, 1, 0], S, {}, ValueError, "y_true must contain only 0 and 1; found 2 at index 2"),
    ("label -1", [0, 1, -1, 1, 0], S, {}, ValueError, "found -1 at index 2"),
    ("label NaN", [0, 1, np.nan, 1, 0], S, {}, ValueError, "found nan at index 2"),
    ("label 0.5", [0, 1, 0.5, 1, 0], S, {}, ValueError, "found 0.5"),
    ("string labels", ["a", "b", "a", "b", "b"], S, {}, TypeError,
     "The 'y_true' parameter of {name} must be a 1-D array-like of bool, integer, unsigned integer, float values"),
    ("string scores", Y, ["x"] * 5, {}, TypeError, "parameter of {name} must be a 1-D array-like of bool, integer"),
    ("None scores", Y, None, {}, TypeError, "parameter of {name} must be a 1-D array-like.* Got None instead"),
    ("empty", [], [], {}, ValueError, "y_true is empty"),
    ("negative weight", Y, S, {"sample_weight": [1, 1, -1, 1, 1]}, ValueError, "sample_weight must be finite and >= 0"),
    ("NaN weight", Y, S, {"sample_weight": [1, 1, np.nan, 1, 1]}, ValueError, "sample_weight"),
    ("weight length", Y, S, {"sample_weight": [1, 1]}, ValueError, "sample_weight has 2 elements"),
]


# The scikit-learn-named functions take binary labels of any two values with scikit-learn's
# pos_label rules, and log_loss / brier_score_loss an (n, 2) probability matrix too (their valid
# uses are tested in test_metrics_sklearn_conventions.py).  For them some cases above are valid
# input (None here) or raise differently.
ANY_LABELS = {"roc_auc_score", "roc_curve", "precision_recall_curve", "average_precision_score", "log_loss",
              "brier_score_loss", "calibration_curve"}
LABEL_CASES = {"label 2": (ValueError, "{name}: .*multiclass"),
               "label -1": (ValueError, "{name}: .*multiclass"),
               "label 0.5": (ValueError, "{name}: .*multiclass"),
               "label NaN": (ValueError, "y_true contains NaN"),
               "string labels": None}
PROBA_CASES = {"2-D scores": None,
               "string scores": (TypeError, "parameter of {name} must be a 1-D or 2-D array-like of bool, integer"),
               "None scores": (TypeError, "{name}: missing the required argument y_proba")}


def _expected(name, case):
    desc, y, s, kw, exc, fragment = case
    if name in ANY_LABELS and desc in LABEL_CASES:
        return LABEL_CASES[desc]
    if name in ("log_loss", "brier_score_loss") and desc in PROBA_CASES:
        return PROBA_CASES[desc]
    if name == "brier_score_loss" and desc == "2-D labels":  # y_true may be 2-D (one-hot) for its 2-D y_proba
        return ValueError, "{name}: y_true must be 1-D"
    return exc, fragment


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_binary_metrics_reject_bad_input(name, case):
    _, y, s, kw, _, _ = case
    expected = _expected(name, case)
    if expected is None:
        pytest.skip("valid input for this scikit-learn-named function (see test_metrics_sklearn_conventions.py)")
    exc, fragment = expected
    with pytest.raises(exc, match=fragment.replace("(", r"\(").replace("{name}", name)) as info:
        BINARY[name](y, s, **kw)
    assert name in str(info.value) or exc is TypeError or "y_true must contain only" in str(info.value)
    # an int label outside {0, 1} names its index; a label rule of scikit-learn's names the labels


@pytest.mark.parametrize("name", ["log_loss", "brier_score_loss", "normalized_entropy", "calibration_curve",
                                  "expected_calibration_error"])
@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_probabilities_outside_unit_interval(name, bad):
    p = np.array([0.1, 0.8, bad, 0.6, 0.9])
    with pytest.raises(ValueError, match=r"y_proba? must be within \[0, 1\]"):
        BINARY[name](Y, p)


def test_single_class_is_an_error():
    with pytest.raises(ValueError, match="both classes"):
        M.normalized_entropy(np.ones(5, dtype=int), S)


def test_single_class_auc_warns_and_is_nan_as_in_sklearn():
    with pytest.warns(M.UndefinedMetricWarning, match="Only one class is present in y_true"):
        assert np.isnan(M.roc_auc_score(np.ones(5, dtype=int), S))


def test_zero_total_weight():
    with pytest.raises(ValueError, match="sample_weight sums to zero"):
        M.log_loss(Y, S, sample_weight=np.zeros(5))
    with pytest.warns(M.UndefinedMetricWarning, match="No positive class found in y_true"):
        assert M.average_precision_score(np.zeros(5, dtype=int), S) == 0.0


@pytest.mark.parametrize("max_fpr", [0, -0.5, 1.5, "0.5", True])
def test_max_fpr_validation(max_fpr):
    with pytest.raises(InvalidParameterError, match="The 'max_fpr' parameter of roc_auc_score must be a float"):
        M.roc_auc_score(Y, S, max_fpr=max_fpr)


@pytest.mark.parametrize("n_bins", [0, -1, 2.5, None, 2**24 + 1, 2**70])
def test_n_bins_validation(n_bins):
    expected = r"The 'n_bins' parameter of calibration_curve must be an int in the range \[1, 16777216\]"
    with pytest.raises(InvalidParameterError, match=expected):
        M.calibration_curve(Y, S, n_bins=n_bins)
    with pytest.raises(InvalidParameterError, match="'strategy' parameter"):
        M.calibration_curve(Y, S, strategy="kmeans")


RANKING = [M.ndcg_at_k, M.dcg_at_k, M.map_at_k, M.mrr, M.precision_at_k, M.recall_at_k, M.hit_rate_at_k]
REL = np.array([[1.0, 0, 2], [0, 1, 0]])
SC = np.array([[0.1, 0.5, 0.3], [0.2, 0.9, 0.4]])


@pytest.mark.parametrize("fn", RANKING, ids=lambda f: f.__name__)
def test_ranking_rejects_bad_input(fn):
    name = fn.__name__
    for k in (0, -3, 1.5, "3", True):
        with pytest.raises(InvalidParameterError,
                           match=rf"The 'k' parameter of {name} must be an int in the range \[1, inf\)"):
            fn(REL, SC, k)
        # InvalidParameterError is both a ValueError and a TypeError
        with pytest.raises(ValueError):
            fn(REL, SC, k)
    with pytest.raises(ValueError, match=r"y_true has shape \(2, 3\) but y_score has shape \(2, 2\)"):
        fn(REL, SC[:, :2], 2)
    with pytest.raises(ValueError, match="y_true must be 2-D"):
        fn(REL[0], SC[0], 2)
    bad = SC.copy()
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match=f"{name}: y_score must be finite"):
        fn(REL, bad, 2)
    with pytest.raises(ValueError, match="must be finite and >= 0"):
        fn(-REL, SC, 2)
    with pytest.raises(ValueError, match="no query given"):
        fn(np.zeros((0, 3)), np.zeros((0, 3)), 2)
    with pytest.raises(ValueError, match="indptr must be non-decreasing"):
        fn(REL.ravel(), SC.ravel(), 2, indptr=[0, 4, 3, 6])
    with pytest.raises(ValueError, match="indptr ends at 5 but y_true has 6"):
        fn(REL.ravel(), SC.ravel(), 2, indptr=[0, 3, 5])
    with pytest.raises(TypeError, match=f"The 'indptr' parameter of {name} must be a 1-D array-like of integer"):
        fn(REL.ravel(), SC.ravel(), 2, indptr=[0.0, 3.0, 6.0])
    with pytest.raises(ValueError, match="sample_weight has 1 elements but there are 2 queries"):
        fn(REL, SC, 2, sample_weight=[1.0])


def test_ranking_option_validation():
    with pytest.raises(InvalidParameterError, match="'gain' parameter of ndcg_at_k must be one of"):
        M.ndcg_at_k(REL, SC, 2, gain="log")
    with pytest.raises(InvalidParameterError, match="'empty_target_action' parameter of mrr"):
        M.mrr(REL, SC, empty_target_action="zero")


def test_k_larger_than_list_is_allowed():
    assert M.ndcg_at_k(REL, SC, 100).mean == M.ndcg_at_k(REL, SC, None).mean == M.ndcg_at_k(REL, SC, 3).mean


@pytest.mark.parametrize("n", [-1, 1.5, "2", True])
def test_set_num_threads_validation(n):
    with pytest.raises(InvalidParameterError, match="The 'n' parameter of set_num_threads"):
        mlsd.set_num_threads(n)
