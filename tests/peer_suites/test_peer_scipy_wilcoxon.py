"""SciPy's own ``wilcoxon`` tests (``TestWilcoxon`` of ``stats/tests/test_morestats.py``) run
against mlsd.abtest.wilcoxon (see _harness.py)."""

from mlsd import abtest as ab
from ._harness import PeerSuite, Rule

SUITE = PeerSuite(
    name="scipy_wilcoxon",
    module="scipy.stats.tests.test_morestats",
    namespaces={"stats": {"wilcoxon": ab.wilcoxon}},
    select=lambda test_id: test_id.startswith("TestWilcoxon::"),
    deselect=[
        Rule(r"::test_permutation_method\[", "method=PermutationMethod(n_resamples=...) (a resampling null): "
                                             "not offered"),
        # test_all_zeros_exact[method1] is the PermutationMethod() case (SciPy itself skips it on NumPy)
        Rule(r"::test_all_zeros_exact\[method1\]", "method=PermutationMethod(): not offered"),
    ],
    expected_failures={
        "TestWilcoxon::test_auto":
            "compares method='auto' (which mlsd computes as SciPy: the exact sign-flip null for n <= 13 with "
            "zeros) with method=stats.PermutationMethod(), a method object mlsd does not take",
        "TestWilcoxon::test_wilcoxon_axis_broadcasting_errors_gh22051":
            "matches SciPy's broadcasting and AxisError messages and calls SciPy's private _no_deco=True path",
    },
    # 25 of 28 (89.3%): two failures are SciPy's error-message texts and private _no_deco path, one
    # compares with a PermutationMethod object.
    min_pass_rate=0.89,
    # SciPy runs its tests with warnings as errors (its pytest.ini: filterwarnings = error).
    filterwarnings=("error",),
)
SUITE.install(globals())
