"""SciPy's own ``ttest_ind`` and ``ttest_rel`` tests (from ``stats/tests/test_stats.py``) run
against mlsd.abtest (see _harness.py)."""

import re

from scipy.stats import _stats_py

from mlsd import abtest as ab
from ._harness import PeerSuite, Rule, proxy

SUITE = PeerSuite(
    name="scipy_ttest",
    module="scipy.stats.tests.test_stats",
    # SciPy's t-test result class (the private scipy.stats._stats_py.TtestResult, which the tests
    # check with isinstance) is mlsd's TestResult.
    namespaces={"stats": {"ttest_ind": ab.ttest_ind, "ttest_rel": ab.ttest_rel,
                          "_stats_py": proxy(_stats_py, TtestResult=ab.TestResult)}},
    # The module tests all of scipy.stats; the t-tests' functions and classes are selected.
    select=lambda test_id: re.match(r"(test_ttest|Test_?[tT][tT]est|TestStudentTest)", test_id) is not None,
    deselect=[
        # mlsd has no one-sample t-test (ttest_1samp): its tests would test SciPy's function
        Rule(r"^test_ttest_1samp|^TestStudentTest::|^test_ttest_ci_iv\[ttest_1samp",
             "ttest_1samp (one-sample t-test): not offered"),
        Rule(r"^TestTTestIndFromStats::", "ttest_ind_from_stats: not offered (mlsd tests Stats objects instead)"),
        Rule(r"^Test_ttest_ind_permutations::", "ttest_ind(method=PermutationMethod/MonteCarloMethod): not offered"),
    ],
    # (SciPy's error messages are matched: mlsd's messages end with SciPy's words, see PeerWording.)
    expected_failures={},
    min_pass_rate=1.0,
    # SciPy runs its tests with warnings as errors (its pytest.ini: filterwarnings = error).
    filterwarnings=("error",),
)
SUITE.install(globals())
