"""statsmodels' own ``proportions_ztest`` tests (from ``stats/tests/test_proportion.py``) run against
mlsd.abtest.proportions_ztest (see _harness.py)."""

import re

from ._harness import PeerSuite, statsmodels_proportions_ztest

SUITE = PeerSuite(
    name="statsmodels_proportion",
    module="statsmodels.stats.tests.test_proportion",
    # statsmodels' (count array, nobs array) form is moved into mlsd's per-arm tuples: see CONVENTIONS.
    namespaces={"smprop": {"proportions_ztest": statsmodels_proportions_ztest}},
    # The module tests statsmodels' many proportion functions (confidence intervals, binomial and
    # equivalence tests, chi-square of k proportions, power); proportions_ztest is the one mlsd
    # shares by name, so the tests that call it are selected.
    select=lambda test_id: re.match(r"(TestProportion::test_(default_values|scalar)|test_proportion_ztests)$",
                                    test_id) is not None,
    expected_failures={},
    min_pass_rate=1.0,
)
SUITE.install(globals())
