"""statsmodels' own two-sample power tests (from ``stats/tests/test_power.py``) run against
mlsd.abtest.power and solve_power (see _harness.py)."""

import re

from ._harness import PeerSuite, Rule, StatsmodelsNormalIndPower, StatsmodelsTTestIndPower

SUITE = PeerSuite(
    name="statsmodels_power",
    module="statsmodels.stats.tests.test_power",
    # statsmodels' NormalIndPower / TTestIndPower classes, whose methods are mlsd's power and
    # solve_power (with test="z" / "t"): see CONVENTIONS.
    namespaces={"smp": {"NormalIndPower": StatsmodelsNormalIndPower, "TTestIndPower": StatsmodelsTTestIndPower}},
    # The two-sample z and t power classes are selected (mlsd's power/solve_power); the one-sample
    # t power (TTestPower), the F, chi-square and binomial power classes are statsmodels' own.
    select=lambda test_id: re.match(r"(TestTTPowerTwoS\d|TestNormalIndPower|test_normal_power_explicit|"
                                    r"test_power_solver|test_solve_power)", test_id) is not None,
    deselect=[
        Rule(r"^TestNormalIndPower_onesamp", "NormalIndPower with ratio=0 (the one-sample z power): not offered"),
        Rule(r"^test_power_solver$", "tests statsmodels' root-finder fallbacks (start_bqexp, start_ttp) and its "
                                     "cache of fit results (cache_fit_res)"),
        Rule(r"::test_power_plot$", "the power classes' plot_power (mlsd: power_curve(...).plot()): not offered"),
    ],
    expected_failures={},
    min_pass_rate=1.0,
    filterwarnings=("error",),
)
SUITE.install(globals())
