"""scikit-learn's own ``calibration_curve`` tests (from ``tests/test_calibration.py``) run against
mlsd.metrics (see _harness.py)."""

import re

import mlsd.metrics as M
from ._harness import PeerSuite, Rule

SUITE = PeerSuite(
    name="sklearn_calibration",
    module="sklearn.tests.test_calibration",
    rebind={"calibration_curve": M.calibration_curve},
    # The module tests CalibratedClassifierCV and CalibrationDisplay too; the curve's tests are selected.
    select=lambda test_id: re.match(r"test_(plot_)?calibration_curve", test_id) is not None,
    deselect=[
        Rule(r"^test_plot_calibration_curve_pipeline",
             "CalibrationDisplay (a scikit-learn estimator display): not offered"),
    ],
    expected_failures={},
    min_pass_rate=1.0,
)
SUITE.install(globals())
