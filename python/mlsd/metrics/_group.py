"""Group AUC (GAUC): ROC AUC within each group, averaged over the groups."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._params import ArrayLike, Options, validate_params
from .._results import Result, axes, result_type
from .._validation import call_kernel, check_same_length
from ._common import _binary_inputs, _group_codes, _k
from ._states import SCORES, WEIGHTS, Y_TRUE

__all__ = ["GroupAUCResult", "group_auc"]


# Group labels: integers, floats, strings or other hashable objects (not NaN or None).
GROUPS = ArrayLike(ndim=1, kinds="biufcOUS")
GROUP_WEIGHT = Options({"impressions", "uniform"})


@result_type
class GroupAUCResult(Result):
    """Result of :func:`group_auc`.

    Attributes
    ----------
    score : float
        Weighted mean of the per-group AUCs over the groups that have both classes.
    groups : ndarray
        Distinct group labels, sorted.
    auc : ndarray
        AUC per group; NaN for a group with a single class.
    weight : ndarray
        Rows per group (or summed ``sample_weight``).
    n_groups, n_skipped : int
        Groups seen, and groups left out of ``score`` because they hold a single class.

    ``float(result)`` is ``score``; ``to_frame()`` has one row per group; ``plot()`` draws each
    group's AUC against its size, with the average.
    """

    score: float
    groups: np.ndarray
    auc: np.ndarray
    weight: np.ndarray
    n_groups: int = 0
    n_skipped: int = 0

    def __float__(self) -> float:
        return self.score

    def to_frame(self):
        """Per-group table (one row per group: group, auc, weight) as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame({"group": self.groups, "auc": self.auc, "weight": self.weight})

    def plot(self, ax=None):
        """Per-group AUC against group size (rows or summed weight, log scale), the average
        marked.  Groups with a single class (no AUC) are left out.  Returns the Axes."""
        ax = axes(ax)
        valid = ~np.isnan(self.auc)
        ax.scatter(self.weight[valid], self.auc[valid], s=12, alpha=0.6, label=f"{int(valid.sum())} groups")
        ax.axhline(self.score, color="C1", linestyle="--", label=f"group AUC = {self.score:.4f}")
        if valid.any() and self.weight[valid].min() > 0:
            ax.set_xscale("log")
        ax.set_xlabel("Group size (rows or weight)")
        ax.set_ylabel("AUC")
        ax.legend(loc="lower right")
        return ax


@validate_params(y_true=[Y_TRUE], y_score=[SCORES], groups=[GROUPS], sample_weight=WEIGHTS, weight=[GROUP_WEIGHT])
def group_auc(y_true: Any, y_score: Any, *, groups: Any, sample_weight: Any = None,
              weight: str = "impressions") -> GroupAUCResult:
    """Group AUC (GAUC): ROC AUC within each group (user, query, session), averaged over groups.

    Parameters
    ----------
    y_true, y_score : array-like of shape (n_samples,)
    groups : array-like of shape (n_samples,), keyword-only
        Group of each row: integers or strings, in any order (a group's rows need not be
        contiguous).  The same keyword as :func:`mlsd.dask.group_auc`.
    sample_weight : array-like, default=None
        Row weights, used inside each group's AUC and for ``weight="impressions"``.
    weight : {"impressions", "uniform"}, default="impressions"
        ``"impressions"`` weights each group's AUC by its rows (or summed ``sample_weight``), the
        GAUC of Zhou et al. (DIN, KDD 2018); ``"uniform"`` averages groups equally.

    Returns
    -------
    GroupAUCResult
        ``score`` plus the per-group table.  Groups with a single class have no AUC: they are
        left out of the average and counted in ``n_skipped``.

    Raises
    ------
    ValueError
        If no group has both classes.

    Examples
    --------
    >>> import mlsd.metrics as M
    >>> r = M.group_auc([0, 1, 0, 1, 1], [0.2, 0.9, 0.6, 0.4, 0.7], groups=["u1", "u1", "u2", "u2", "u3"])
    >>> r.score, r.n_skipped
    (0.5, 1)
    """
    func = "group_auc"
    y, s, w = _binary_inputs(func, y_true, y_score, sample_weight)
    g = groups
    check_same_length(func, y_true=y, groups=g)
    codes, labels_of = _group_codes(g, func)
    keys, auc, group_weight = call_kernel(func, _k.group_auc, codes, y, s, w)
    return _group_auc_result(labels_of(keys), auc, group_weight, weight, func)


def _group_auc_result(groups: np.ndarray, auc: np.ndarray, group_weight: np.ndarray, weight: str,
                      func: str) -> GroupAUCResult:
    """The average over the per-group table (groups sorted, one row each)."""
    valid = ~np.isnan(auc)
    if not valid.any():
        raise ValueError(f"{func}: no group contains both classes, so no group has an AUC")
    gw = group_weight[valid] if weight == "impressions" else np.ones(int(valid.sum()))
    score = float(np.dot(auc[valid], gw) / gw.sum())
    return GroupAUCResult(score=score, groups=groups, auc=auc, weight=group_weight,
                          n_groups=int(auc.shape[0]), n_skipped=int((~valid).sum()))
