"""SciPy's own Mann-Whitney U tests (``TestMannWhitneyU`` of ``stats/tests/test_hypotests.py``)
run against mlsd.abtest.mannwhitneyu (see _harness.py)."""

from mlsd import abtest as ab
from ._harness import PeerSuite, Rule

SUITE = PeerSuite(
    name="scipy_mannwhitneyu",
    module="scipy.stats.tests.test_hypotests",
    rebind={"mannwhitneyu": ab.mannwhitneyu},
    namespaces={"stats": {"mannwhitneyu": ab.mannwhitneyu}},
    # The module tests SciPy's other two-sample tests too; the Mann-Whitney class is selected.
    select=lambda test_id: test_id.startswith("TestMannWhitneyU::"),
    deselect=[
        Rule(r"::test_permutation_method", "method=PermutationMethod() (a resampling null): not offered"),
        Rule(r"::test_gh19692_smaller_table", "tests the size of SciPy's private cache of the exact null "
                                              "distribution (scipy.stats._mannwhitneyu._mwu_state)"),
    ],
    expected_failures={},
    min_pass_rate=1.0,
    # SciPy runs its tests with warnings as errors (its pytest.ini: filterwarnings = error).
    filterwarnings=("error",),
)
SUITE.install(globals())
