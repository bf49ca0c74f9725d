"""A/B significance testing on raw rows or mergeable sufficient statistics.

* :func:`analyze` — many metrics x many variants against the control in one vectorised call,
  with a multiple-testing correction; ``to_frame()`` and ``plot()`` on the result; :func:`combine`
  joins results of different metric kinds under one correction.
* :class:`Stats` — count, means and centred cross-moments of an arm, built in one multithreaded
  pass, mergeable (``a + b``) and serialisable; every test accepts Stats or raw arrays.
* Tests: :func:`ttest_ind` (Student/Welch), :func:`ttest_rel` and :func:`wilcoxon` (paired),
  :func:`proportions_ztest`, :func:`compare` (absolute
  and relative lift, ratio metrics by the delta method, CUPED), :func:`mannwhitneyu`,
  :func:`chisquare`, :func:`chi2_contingency`, :func:`srm_test` (sample-ratio mismatch).
* :func:`bootstrap` — percentile, basic and BCa intervals for means, medians, quantiles, ratios
  and differences, by a streaming Poisson bootstrap in C++ (no n x resamples matrix; identical
  for any thread count).
* Planning: :func:`power` (and :func:`power_curve`, with a plot), :func:`solve_power`, :func:`sample_size_proportions`,
  :func:`sample_size_means`, :func:`mde_proportions`, :func:`mde_means`.
* Sequential: :func:`msprt` (always-valid p-values and confidence sequences) and
  :func:`group_sequential_boundaries` (Lan-DeMets O'Brien-Fleming / Pocock alpha spending).
* Many metrics: :func:`multipletests` (Bonferroni, Sidak, Holm, Holm-Sidak, Simes-Hochberg, Hommel, BH, BY).

Every result is immutable and renders as a table in Jupyter (``to_frame()``, ``_repr_html_``);
tuple-like results unpack as in SciPy/statsmodels (``stat, p = chisquare(...)``);
:class:`BootstrapResult`, :class:`ABResult`, :class:`MSPRTResult`, :class:`PowerCurve` and
:class:`GroupSequentialBoundaries` have ``plot()``.  :class:`Stats` is a mergeable state
(``update``, ``merge``, ``to_dict``/``from_dict``, ``result``).

p-values come from survival functions (``scipy.special``), never from ``1 - cdf``, so they stay
accurate far into the tail; ``log_pvalue`` carries the z tests' tails past double underflow.
"""

from ._bootstrap import BootstrapResult, bootstrap
from ._counts import (
    Chi2ContingencyResult,
    ChisquareResult,
    MultipleTestsResult,
    SRMResult,
    chi2_contingency,
    chisquare,
    multipletests,
    srm_test,
)
from ._power import (
    PowerCurve,
    mde_means,
    mde_proportions,
    power,
    power_curve,
    sample_size_means,
    sample_size_proportions,
    solve_power,
)
from ._paired import WilcoxonResult, ttest_rel, wilcoxon
from ._rank import mannwhitneyu
from ._result import ABResult, analyze, combine
from ._sequential import GroupSequentialBoundaries, MSPRTResult, group_sequential_boundaries, msprt
from ._stats import Stats, StatsSummary
from ._samples import SmallSampleWarning
from ._tests import ConfidenceInterval, TestResult, ZeroVarianceWarning, compare, proportions_ztest, ttest_ind

__all__ = [
    "analyze", "combine", "ABResult", "Stats", "StatsSummary", "TestResult", "ZeroVarianceWarning", "SRMResult",
    "BootstrapResult", "ChisquareResult", "Chi2ContingencyResult", "MultipleTestsResult", "PowerCurve", "power_curve",
    "ttest_ind", "ttest_rel", "wilcoxon", "WilcoxonResult", "ConfidenceInterval", "SmallSampleWarning",
    "proportions_ztest", "compare", "mannwhitneyu", "bootstrap",
    "chisquare", "chi2_contingency", "srm_test", "multipletests",
    "msprt", "MSPRTResult", "group_sequential_boundaries", "GroupSequentialBoundaries",
    "power", "solve_power", "sample_size_proportions", "sample_size_means", "mde_proportions", "mde_means",
]
