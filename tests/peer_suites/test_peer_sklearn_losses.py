"""scikit-learn's own log loss and Brier score tests (from ``metrics/tests/test_classification.py``)
run against mlsd.metrics (see _harness.py)."""

import re

import mlsd.metrics as M
from ._harness import PeerSuite, Rule

SUITE = PeerSuite(
    name="sklearn_losses",
    module="sklearn.metrics.tests.test_classification",
    rebind={"log_loss": M.log_loss, "brier_score_loss": M.brier_score_loss},
    # The module tests every classification metric; the log loss and Brier score tests are selected.
    select=lambda test_id: re.match(r"test_(log_loss|brier_score_loss)", test_id) is not None,
    deselect=[
        # mlsd's losses are binary: the multiclass Brier score (one column per class) is not offered.
        Rule(r"multiclass", "binary losses only"),
        Rule(r"^test_log_loss_perfect_predictions\[y_true2-", "three-class probabilities (multiclass)"),
    ],
    expected_failures={
        "test_log_loss": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_log_loss_not_probabilities_warning[float64]": "the (n, 2) probability matrix is not accepted yet (issue 18 item 1)",
        "test_log_loss_not_probabilities_warning[float32]": "the (n, 2) probability matrix is not accepted yet (issue 18 item 1)",
        "test_log_loss_not_probabilities_warning[float16]": "the (n, 2) probability matrix is not accepted yet (issue 18 item 1)",
        "test_log_loss_perfect_predictions[y_true1-y_proba1]": "the (n, 2) probability matrix is not accepted yet (issue 18 item 1)",
        "test_log_loss_pandas_input": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_log_loss_warnings": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_log_loss_y_pred_deprecation": "log_loss's argument is y_prob, not scikit-learn 1.9's y_proba (issue 18 item 1)",
        "test_brier_score_loss_binary": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_brier_score_loss_invalid_inputs": "error/warning messages and label rules differ (issue 18 item 1)",
        "test_brier_score_loss_warnings": "error/warning messages and label rules differ (issue 18 item 1)",
    },
    min_pass_rate=0.0,  # raised to the 0.95 once its items land
)
SUITE.install(globals())
