"""statsmodels' own multiple-testing tests (``stats/tests/test_multi.py``) run against
mlsd.abtest.multipletests (see _harness.py)."""

from mlsd import abtest as ab
from ._harness import PeerSuite, Rule

# statsmodels' methods mlsd does not implement, as they appear in test ids (parameters and the
# names of R's multtest columns in CheckMultiTestsMixin)
_NOT_OFFERED = r"fdr_tsbh|fdr_tsbky|fdr_gbs|lfdr|TSBH"

SUITE = PeerSuite(
    name="statsmodels_multitest",
    module="statsmodels.stats.tests.test_multi",
    rebind={"multipletests": ab.multipletests},
    deselect=[
        Rule(rf"\[({_NOT_OFFERED})\]|-({_NOT_OFFERED})-|\[({_NOT_OFFERED})[-_]",
             "two-stage / adaptive / local FDR methods (fdr_tsbh, fdr_tsbky, fdr_gbs, lfdr): not offered"),
        Rule(r"^test_fdr_bky$|^test_fdr_twostage$", "fdrcorrection_twostage (two-stage FDR): not offered"),
        Rule(r"::test_multi_pvalcorrection$|^test_fdrcorrection_invalid_method_raises$",
             "statsmodels' fdrcorrection function (mlsd: multipletests(method='fdr_bh'/'fdr_by')): not offered"),
        Rule(r"local_fdr|^test_null_distribution$|^test_null_constrained",
             "local FDR and the empirical null (NullDistribution): not offered"),
        Rule(r"^test_tukeyhsd$", "Tukey's HSD (pairwise comparison of group means): not offered"),
    ],
    expected_failures={},
    min_pass_rate=1.0,
)
SUITE.install(globals())
