"""SciPy's own ``chi2_contingency`` tests (``stats/tests/test_contingency.py``) run against
mlsd.abtest.chi2_contingency (see _harness.py)."""

from mlsd import abtest as ab
from ._harness import PeerSuite, Rule

SUITE = PeerSuite(
    name="scipy_contingency",
    module="scipy.stats.tests.test_contingency",
    rebind={"chi2_contingency": ab.chi2_contingency},
    deselect=[
        # scipy.stats.contingency functions mlsd has no counterpart of (they would test SciPy itself)
        Rule(r"^test_margins$", "scipy.stats.contingency.margins: not offered"),
        Rule(r"^test_expected_freq$", "scipy.stats.contingency.expected_freq: not offered"),
        Rule(r"^test_(bad_)?assoc", "scipy.stats.contingency.association (Cramer's V, ...): not offered"),
        Rule(r"::test_chi2_contingency_g$", "lambda_='log-likelihood' (the G-test) and other power-divergence "
                                            "statistics: not offered"),
        Rule(r"::test_(exact_permutation|resampling_randomized|resampling_invalid_args)",
             "method=PermutationMethod()/MonteCarloMethod() (resampling nulls): not offered"),
    ],
    expected_failures={},
    min_pass_rate=1.0,
    # SciPy runs its tests with warnings as errors (its pytest.ini: filterwarnings = error).
    filterwarnings=("error",),
)
SUITE.install(globals())
