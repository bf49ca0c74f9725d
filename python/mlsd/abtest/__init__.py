"""A/B significance testing on raw rows or mergeable sufficient statistics.

* :class:`Stats` — count, means and centred cross-moments of an arm, built in one multithreaded
  pass, mergeable (``a + b``) and serialisable; every test accepts Stats or raw arrays.
* Tests: :func:`ttest_ind` (Welch/Student), :func:`proportions_ztest`, :func:`compare` (absolute
  and relative lift, ratio metrics by the delta method, CUPED).

p-values come from survival functions (``scipy.special``), never from ``1 - cdf``, so they stay
accurate far into the tail; ``log_pvalue`` carries the z tests' tails past double underflow.
"""

from ._stats import Stats
from ._tests import TestResult, ZeroVarianceWarning, compare, proportions_ztest, ttest_ind

__all__ = ["Stats", "TestResult", "ZeroVarianceWarning", "compare", "proportions_ztest", "ttest_ind"]
