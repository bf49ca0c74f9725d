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
        # mlsd's Brier score is binary: the multiclass Brier score (one column per class of three or
        # more) is not offered.  (Multiclass log loss is.)
        Rule(r"^test_brier_score_loss_(multiclass|warnings)", "multiclass Brier score: not offered"),
    ],
    expected_failures={},
    min_pass_rate=1.0,
)
SUITE.install(globals())
