"""One call for many metrics x many variants: a tidy result, a DataFrame and a plot."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Sequence

import numpy as np

from .._params import Check, Options, param_error, validate_params
from .._results import Result, axes, result_type
from ._counts import _METHODS, multipletests
from ._stats import Stats, as_stats, counts_stats
from ._tests import ALPHA, ALTERNATIVES, compare, is_counts_tuple, proportions_ztest

__all__ = ["analyze", "combine", "ABResult"]

COLUMNS = ("metric", "variant", "control", "estimate", "ci_low", "ci_high", "pvalue", "pvalue_corrected",
           "method", "treatment_value", "control_value")


@result_type
class ABResult(Result):
    """Tidy result of :func:`analyze`: one row per (variant, metric), as parallel arrays.
    ``to_frame()`` gives the rows, ``plot()`` a forest plot."""

    metric: np.ndarray
    variant: np.ndarray
    control: str
    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    pvalue: np.ndarray
    pvalue_corrected: np.ndarray
    method: np.ndarray
    treatment_value: np.ndarray
    control_value: np.ndarray
    correction: str | None
    alpha: float
    relative: bool
    extra: dict = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.estimate.shape[0])

    def to_frame(self):
        """A pandas DataFrame with one row per (variant, metric): metric, variant, control,
        estimate, ci_low, ci_high, pvalue, pvalue_corrected, method, treatment_value,
        control_value (and variance_reduction with CUPED).  pandas is imported here, lazily."""
        import pandas as pd

        data = {c: getattr(self, c) if c != "control" else np.full(len(self), self.control) for c in COLUMNS}
        data.update(self.extra)
        return pd.DataFrame(data)

    def plot(self, ax=None, *, corrected: bool = True):
        """Forest plot of the lifts with their confidence intervals (matplotlib, imported lazily).

        Significant rows (corrected p-value <= alpha when ``corrected``) are drawn in colour.
        Returns the Axes.
        """
        ax = axes(ax, figsize=(6, 0.4 * len(self) + 1))
        y = np.arange(len(self))[::-1]
        p = self.pvalue_corrected if corrected else self.pvalue
        sig = p <= self.alpha
        lo = np.where(np.isfinite(self.ci_low), self.estimate - self.ci_low, 0.0)
        hi = np.where(np.isfinite(self.ci_high), self.ci_high - self.estimate, 0.0)
        for mask, colour in ((sig, "tab:blue"), (~sig, "tab:gray")):
            if np.any(mask):
                ax.errorbar(self.estimate[mask], y[mask], xerr=[lo[mask], hi[mask]], fmt="o", color=colour, capsize=3)
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_yticks(y, [f"{m}: {v}" for m, v in zip(self.metric, self.variant)])
        ax.set_xlabel(("relative lift" if self.relative else "difference") + f" vs {self.control}")
        return ax


def _as_arm(x: Any, name: str, func: str) -> tuple[Stats, bool]:
    """(Stats, is_counts).  A (successes, trials) tuple is a proportion (batched over metrics)."""
    if is_counts_tuple(x):
        return counts_stats(x, name, func), True
    return as_stats(x, name, func), False


def _names(x: Any) -> bool:
    return not isinstance(x, (str, bytes, Mapping)) and iter(x) is not None


@validate_params(variants=[Mapping], control=[Check(lambda c: hash(c) is not None, "a hashable variant key")],
                 metrics=[None, Check(_names, "a sequence of metric names")], relative=["boolean"],
                 test=[Options(("auto", "t", "z"))], correction=[None, Options(_METHODS)],
                 alternative=[Options(ALTERNATIVES)], alpha=[ALPHA])
def analyze(variants: Mapping[str, Any], *, control: str, metrics: Sequence[str] | None = None,
            relative: bool = False, test: str = "auto", correction: str | None = "holm",
            alternative: str = "two-sided", alpha: float = 0.05) -> ABResult:
    """Tests every metric of every variant against the control, vectorised, with a
    multiple-testing correction over all of them.

    Parameters
    ----------
    variants : mapping of variant name -> data
        Each value is the same kind for all variants: a :class:`Stats` batched over the metrics
        (shape ``(n_metrics,)``; or unbatched for one metric), a raw array or mapping of role ->
        array (one metric), or a ``(successes, trials)`` tuple of arrays of length n_metrics for
        conversion metrics.
    control : str
        The key of the control arm.
    metrics : sequence of str, optional
        Metric names (default "metric_0", ...).
    relative : bool, default False
        Report relative lifts (treatment / control - 1) instead of differences.
    test : {"auto", "t", "z"}
        "auto": the pooled two-proportion z-test for (successes, trials) input
        (:func:`proportions_ztest`), Welch's t-test / delta method / CUPED (:func:`compare`)
        otherwise.  "t" / "z" force :func:`compare` with that reference distribution.
    correction : {"holm", "bonferroni", "fdr_bh", "fdr_by"} or None
        Multiple-testing correction applied over all (variant, metric) p-values.
    alternative : {"two-sided", "greater", "less"}
    alpha : float in (0, 1)

    Returns
    -------
    ABResult
        ``to_frame()`` gives the tidy DataFrame, ``plot()`` a forest plot.

    Examples
    --------
    >>> import numpy as np
    >>> from mlsd.abtest import analyze
    >>> res = analyze({"A": (np.array([100, 50]), np.array([1000, 1000])),
    ...                "B": (np.array([130, 52]), np.array([1000, 1000]))},
    ...               control="A", metrics=["click", "buy"])
    >>> df = res.to_frame()
    >>> df[["metric", "variant"]].values.tolist(), df.estimate.round(6).tolist()
    ([['click', 'B'], ['buy', 'B']], [0.03, 0.002])
    """
    func = "analyze"
    if len(variants) < 2:
        raise param_error(func, "variants", "a mapping with the control and at least one other variant", variants)
    if control not in variants:
        raise ValueError(f"{func}: control {control!r} is not among the variants {list(variants)}")
    arms = {k: _as_arm(v, str(k), func) for k, v in variants.items()}
    kinds = {is_counts for _, is_counts in arms.values()}
    if len(kinds) != 1:
        raise ValueError(f"{func}: mix of (successes, trials) tuples and other data; give every variant the same kind")
    counts = kinds.pop()
    sc = arms[control][0]
    shape = sc.shape
    if len(shape) > 1:
        raise ValueError(f"{func}: Stats must be batched along one axis (metrics); got shape {shape}")
    n_metrics = shape[0] if shape else 1
    for k, (s, _) in arms.items():
        if s.shape != shape:
            raise ValueError(f"{func}: variant {k!r} has batch shape {s.shape} but the control has {shape}")
    if metrics is None:
        metrics = [f"metric_{i}" for i in range(n_metrics)]
    metrics = np.asarray(list(metrics), dtype=object)
    if metrics.shape != (n_metrics,):
        raise ValueError(f"{func}: metrics has {metrics.shape[0]} names but the data has {n_metrics} metrics")
    rows = {c: [] for c in ("metric", "variant", "estimate", "ci_low", "ci_high", "pvalue", "method",
                             "treatment_value", "control_value")}
    extra_rows: dict[str, list] = {}
    for name, (st, _) in arms.items():
        if name == control:
            continue
        if counts and test == "auto":
            r = proportions_ztest(st, sc, relative=relative, alternative=alternative, alpha=alpha)
            t_val, c_val = st.mean[..., 0], sc.mean[..., 0]
        else:
            r = compare(st, sc, relative=relative, test="t" if test == "auto" else test,
                        alternative=alternative, alpha=alpha)
            t_val, c_val = r.extra["treatment_estimate"], r.extra["control_estimate"]
            if "variance_reduction" in r.extra:
                extra_rows.setdefault("variance_reduction", []).append(
                    np.broadcast_to(r.extra["variance_reduction"], (n_metrics,)))
        rows["metric"].append(metrics)
        rows["variant"].append(np.full(n_metrics, name, dtype=object))
        for key, value in (("estimate", r.estimate), ("ci_low", r.confidence_interval[0]),
                           ("ci_high", r.confidence_interval[1]), ("pvalue", r.pvalue),
                           ("treatment_value", t_val), ("control_value", c_val)):
            rows[key].append(np.broadcast_to(np.asarray(value, dtype=np.float64), (n_metrics,)))
        rows["method"].append(np.full(n_metrics, r.method, dtype=object))
    out = {k: np.concatenate(v) for k, v in rows.items()}
    extra = {k: np.concatenate(v) for k, v in extra_rows.items()}
    return ABResult(out["metric"], out["variant"], control, out["estimate"], out["ci_low"], out["ci_high"],
                    out["pvalue"], _correct(out["pvalue"], correction, alpha), out["method"], out["treatment_value"],
                    out["control_value"], correction, alpha, relative, extra)


def _correct(pvalue: np.ndarray, correction: str | None, alpha: float) -> np.ndarray:
    """Corrected p-values over the whole family; NaN p-values (zero variance) stay NaN and are not
    counted in the family."""
    if correction is None:
        return pvalue.copy()
    corrected = np.full_like(pvalue, np.nan)
    finite = np.isfinite(pvalue)
    if np.any(finite):
        corrected[finite] = multipletests(pvalue[finite], alpha=alpha, method=correction)[1]
    return corrected


@validate_params(results=[Check(_names, "a non-empty sequence of ABResult")], correction=[None, Options(_METHODS)])
def combine(results: Sequence[ABResult], *, correction: str | None = "holm") -> ABResult:
    """One result from several :func:`analyze` calls (say conversion metrics from counts, ratio
    metrics and CUPED-adjusted means, which need separate calls), with the multiple-testing
    correction applied again over all their rows.  The results must share the control, alpha and
    ``relative``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlsd.abtest import analyze, combine
    >>> conv = analyze({"A": (np.array([100]), np.array([1000])), "B": (np.array([140]), np.array([1000]))},
    ...                control="A", metrics=["conversion"])
    >>> rng = np.random.default_rng(0)
    >>> rev = analyze({"A": rng.exponential(1.0, 500), "B": rng.exponential(1.1, 500)}, control="A",
    ...               metrics=["revenue"])
    >>> combine([conv, rev]).to_frame().metric.tolist()
    ['conversion', 'revenue']
    """
    func = "combine"
    results = list(results)
    if not results or not all(isinstance(r, ABResult) for r in results):
        raise param_error(func, "results", "a non-empty sequence of ABResult", results)
    first = results[0]
    for r in results[1:]:
        if (r.control, r.alpha, r.relative) != (first.control, first.alpha, first.relative):
            raise ValueError(f"{func}: every result must have the same control, alpha and relative setting")
    cat = {c: np.concatenate([getattr(r, c) for r in results])
           for c in COLUMNS if c not in ("control", "pvalue_corrected")}
    extra_keys = sorted({k for r in results for k in r.extra})
    extra = {k: np.concatenate([r.extra.get(k, np.full(len(r), np.nan)) for r in results]) for k in extra_keys}
    return ABResult(cat["metric"], cat["variant"], first.control, cat["estimate"], cat["ci_low"], cat["ci_high"],
                    cat["pvalue"], _correct(cat["pvalue"], correction, first.alpha), cat["method"],
                    cat["treatment_value"], cat["control_value"], correction, first.alpha, first.relative, extra)
