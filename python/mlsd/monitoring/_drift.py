"""``drift(reference, current)`` and its :class:`DriftReport`."""

from __future__ import annotations

import re

from numbers import Integral, Real
from typing import Any

import numpy as np

from .. import _core
from .._params import ArrayLike, Check, Interval, Options, validate_params
from .._results import Result, axes, result_type
from .._validation import InvalidParameterError
from . import _stats
from ._input import (CATEGORICAL, NUMERIC, TABLE_DESCRIPTION, _is_missing, category_counts, category_key, is_table,
                     read_table)

_FIELDS = ("column", "type", "method", "statistic", "pvalue", "threshold", "drifted", "score", "ks", "ks_pvalue",
           "wasserstein", "wasserstein_norm", "psi", "jensenshannon", "hellinger", "chi2", "chi2_pvalue", "cramers_v",
           "n_ref", "n_cur", "missing_ref", "missing_cur", "missing_change", "new_categories",
           "vanished_categories", "note")


@result_type
class DriftReport(Result):
    """Result of :func:`drift` and :meth:`Profile.compare`: one row per column.

    Per column (arrays, in column order): ``column``, ``type`` ("numeric" or "categorical"),
    ``method`` (the test that decides, or "not testable"), ``statistic`` (its value: the KS
    statistic, the chi-square statistic, or the distance), ``pvalue`` (NaN for distances),
    ``threshold``, ``drifted``, ``score`` (the decision on one scale, >= 1 means drifted:
    distance / threshold, or log(p) / log(threshold) for the p-value tests); then every test
    computed for the column whatever the method: ``ks``, ``ks_pvalue``, ``wasserstein``,
    ``wasserstein_norm`` (divided by the reference's standard deviation), ``psi``,
    ``jensenshannon``, ``hellinger``, ``chi2``, ``chi2_pvalue``, ``cramers_v`` (NaN where a test
    does not apply); ``n_ref``/``n_cur`` (non-missing values), ``missing_ref``/``missing_cur``
    (missing shares), ``missing_change`` (current minus reference), ``new_categories`` and
    ``vanished_categories`` (tuples), and ``note`` (why a row is not testable, or "").

    Dataset level: ``n_drifted``, ``share_drifted`` (of the testable columns), ``drift_share``
    (the share at which the dataset counts as drifted) and ``dataset_drift``.
    """

    column: np.ndarray
    type: np.ndarray
    method: np.ndarray
    statistic: np.ndarray
    pvalue: np.ndarray
    threshold: np.ndarray
    drifted: np.ndarray
    score: np.ndarray
    ks: np.ndarray
    ks_pvalue: np.ndarray
    wasserstein: np.ndarray
    wasserstein_norm: np.ndarray
    psi: np.ndarray
    jensenshannon: np.ndarray
    hellinger: np.ndarray
    chi2: np.ndarray
    chi2_pvalue: np.ndarray
    cramers_v: np.ndarray
    n_ref: np.ndarray
    n_cur: np.ndarray
    missing_ref: np.ndarray
    missing_cur: np.ndarray
    missing_change: np.ndarray
    new_categories: np.ndarray
    vanished_categories: np.ndarray
    note: np.ndarray
    n_drifted: int
    share_drifted: float
    drift_share: float
    dataset_drift: bool
    _bins: dict

    def __len__(self) -> int:
        return len(self.column)

    def to_frame(self):
        """One row per column (every per-column field), in column order."""
        import pandas as pd

        return pd.DataFrame({f: getattr(self, f) for f in _FIELDS})

    @validate_params(column=[Check(lambda c: isinstance(c, (str, int)), "a column name (str or int)")])
    def row(self, column: Any) -> dict:
        """The fields of one column's row as a dict."""
        idx = [i for i, c in enumerate(self.column) if c == column]
        if not idx:
            raise InvalidParameterError(f"The 'column' parameter of DriftReport.row must be one of the report's "
                                        f"columns. Got {column!r} instead.")
        return {f: getattr(self, f)[idx[0]] for f in _FIELDS}

    @validate_params(ax=[None, Check(lambda a: hasattr(a, "barh"), "a matplotlib Axes")],
                     top=[Interval(Integral, 1, None), None])
    def plot(self, ax=None, *, top: int | None = 30):
        """Horizontal bars of each column's ``score`` (>= 1: drifted, in red), sorted by drift,
        the ``top`` worst columns (None: all); returns the Axes."""
        order = np.argsort(-np.nan_to_num(self.score, nan=-np.inf), kind="stable")
        if top is not None:
            order = order[:top]
        ax = axes(ax, figsize=(6.0, max(2.0, 0.3 * len(order) + 1)))
        order = order[::-1]
        scores = np.nan_to_num(self.score[order], nan=0.0, posinf=10.0)
        colors = ["tab:red" if d else "tab:blue" for d in self.drifted[order]]
        ax.barh([f"{c} ({m})" for c, m in zip(self.column[order], self.method[order])], scores, color=colors)
        ax.axvline(1.0, color="k", lw=1, ls="--")
        ax.set_xlabel("drift score (>= 1: drifted)")
        ax.set_title(f"{self.n_drifted} of {len(self)} columns drifted")
        return ax

    @validate_params(columns=[None, Check(lambda c: isinstance(c, (list, tuple)), "a list of column names")],
                     top=[Interval(Integral, 1, None)])
    def plot_histograms(self, columns=None, *, top: int = 4):
        """Reference against current shares per bin (numeric) or per category, for ``columns``
        (default: the ``top`` worst columns); returns the array of Axes."""
        import matplotlib.pyplot as plt

        if columns is None:
            order = np.argsort(-np.nan_to_num(self.score, nan=-np.inf), kind="stable")
            columns = [self.column[i] for i in order if self.column[i] in self._bins][:top]  # testable ones
        unknown = [c for c in columns if c not in self._bins]
        if unknown:
            raise InvalidParameterError(f"The 'columns' parameter of DriftReport.plot_histograms must name "
                                        f"testable columns of the report. Got {unknown!r} instead.")
        fig, axs = plt.subplots(1, max(len(columns), 1), figsize=(3.2 * max(len(columns), 1), 2.8), squeeze=False)
        for ax, c in zip(axs[0], columns):
            labels, rc, cc = self._bins[c]
            x = np.arange(len(rc))
            ax.bar(x - 0.2, rc / max(rc.sum(), 1), 0.4, label="reference")
            ax.bar(x + 0.2, cc / max(cc.sum(), 1), 0.4, label="current")
            ax.set_xticks(x)
            ax.set_xticklabels([str(v) for v in labels], rotation=90, fontsize=7)
            ax.set_title(str(c))
        if columns:  # no testable column: an empty figure, without a legend of nothing
            axs[0][0].legend(fontsize=7)
        return axs[0]


def _per_column(option: Any, name: Any, default: Any) -> Any:
    if isinstance(option, dict):
        return option.get(name, default)
    return default if option is None else option


def _bin_labels(edges: np.ndarray) -> list[str]:
    if len(edges) < 2:
        return ["all"]
    inner = [f"{edges[i]:.3g}" for i in range(1, len(edges) - 1)]
    return [f"<{inner[0]}" if inner else "all"] + [f"[{a},{b})" for a, b in zip(inner, inner[1:])] + (
        [f">={inner[-1]}"] if inner else [])


def build_report(names, kinds, numeric: dict, categorical: dict, *, method, threshold, psi_eps, ks_method,
                 alternative, drift_share, func: str) -> DriftReport:
    """The report from the kernels' numeric summaries and the categorical counts: the one place
    where tests are chosen and decided (drift and Profile.compare both call it)."""
    for option, value in (("method", method), ("threshold", threshold)):
        unknown = [c for c in value if c not in kinds] if isinstance(value, dict) else []
        if unknown:  # a misspelt column would silently keep the default
            raise InvalidParameterError(f"The '{option}' parameter of {func} names column(s) {unknown!r} that are "
                                        f"not among the columns tested.")
    m = len(names)
    out = {f: np.full(m, np.nan) for f in _FIELDS}
    for f in ("column", "type", "method", "new_categories", "vanished_categories", "note"):
        out[f] = np.empty(m, dtype=object)
    out["drifted"] = np.zeros(m, dtype=bool)
    out["n_ref"] = np.zeros(m, dtype=np.int64)
    out["n_cur"] = np.zeros(m, dtype=np.int64)
    bins = {}
    num_names = [n for n in names if kinds[n] == NUMERIC]
    ks_d = ks_p = None
    if num_names:
        k = numeric
        ks_d, ks_p = _stats.ks_pvalues(k["ks_greater"], k["ks_less"], k["n_ref"], k["n_cur"], alternative, ks_method)
    pos = {n: i for i, n in enumerate(num_names)}
    for i, name in enumerate(names):
        kind = kinds[name]
        out["column"][i], out["type"][i] = name, kind
        out["new_categories"][i] = out["vanished_categories"][i] = ()
        out["note"][i] = ""
        if kind == NUMERIC:
            j = pos[name]
            n_ref, n_cur = int(numeric["n_ref"][j]), int(numeric["n_cur"][j])
            miss_ref, miss_cur = int(numeric["missing_ref"][j]), int(numeric["missing_cur"][j])
        else:
            ref_cats, ref_counts, miss_ref, cur_cats, cur_counts, miss_cur = categorical[name]
            n_ref, n_cur = int(ref_counts.sum()), int(cur_counts.sum())
        out["n_ref"][i], out["n_cur"][i] = n_ref, n_cur
        out["missing_ref"][i] = miss_ref / (n_ref + miss_ref) if n_ref + miss_ref else np.nan
        out["missing_cur"][i] = miss_cur / (n_cur + miss_cur) if n_cur + miss_cur else np.nan
        out["missing_change"][i] = out["missing_cur"][i] - out["missing_ref"][i]
        chosen = _per_column(method, name, "auto")
        if chosen == "auto":
            chosen = _stats.auto_method(kind, n_ref)
        allowed = _stats.NUMERIC_METHODS if kind == NUMERIC else _stats.CATEGORICAL_METHODS
        if chosen not in allowed:
            raise InvalidParameterError(f"The 'method' parameter of {func} must be one of {sorted(allowed)} for the "
                                        f"{kind} column {name!r}. Got {chosen!r} instead.")
        if n_ref == 0 or n_cur == 0:
            side = "reference" if n_ref == 0 else "current"
            out["method"][i] = "not testable"
            out["note"][i] = f"every value of the {side} column is missing"
            out["threshold"][i] = np.nan
            continue
        if kind == NUMERIC:
            edges = numeric["edges"][j]
            rc, cc = numeric["ref_counts"][j], numeric["cur_counts"][j]
            out["ks"][i], out["ks_pvalue"][i] = ks_d[j], ks_p[j]
            w, sd = float(numeric["wasserstein"][j]), float(numeric["ref_std"][j])
            out["wasserstein"][i] = w
            if sd > 0:
                out["wasserstein_norm"][i] = w / sd
            else:  # a constant reference: any movement is infinitely many standard deviations
                out["wasserstein_norm"][i] = 0.0 if w == 0 else np.inf
                out["note"][i] = "constant reference column"
            labels = _bin_labels(edges)
        else:
            union = sorted(set(ref_cats) | set(cur_cats), key=category_key)
            ri = dict(zip(ref_cats, ref_counts))
            ci = dict(zip(cur_cats, cur_counts))
            rc = np.array([ri.get(c, 0) for c in union], dtype=np.int64)
            cc = np.array([ci.get(c, 0) for c in union], dtype=np.int64)
            out["new_categories"][i] = tuple(c for c in union if c not in ri)
            out["vanished_categories"][i] = tuple(c for c in union if c not in ci)
            out["chi2"][i], out["chi2_pvalue"][i], out["cramers_v"][i] = _stats.chi_square(rc, cc)
            labels = union
        out["psi"][i], out["jensenshannon"][i], out["hellinger"][i] = _stats.binned(rc, cc, psi_eps)
        bins[name] = (labels, rc, cc)
        t = _per_column(threshold, name, None)
        t = _stats.THRESHOLDS[chosen] if t is None else float(t)
        out["method"][i], out["threshold"][i] = chosen, t
        if chosen in _stats.P_VALUE_METHODS:
            stat, p = (out["ks"][i], out["ks_pvalue"][i]) if chosen == "ks" else (out["chi2"][i], out["chi2_pvalue"][i])
            out["statistic"][i], out["pvalue"][i] = stat, p
            out["drifted"][i] = p < t
            out["score"][i] = np.inf if p == 0 else np.log(p) / np.log(t) if 0 < t < 1 else np.nan
        else:
            stat = out["wasserstein_norm" if chosen == "wasserstein" else chosen][i]
            out["statistic"][i] = stat
            out["drifted"][i] = stat >= t
            out["score"][i] = stat / t if t > 0 else (np.inf if stat > 0 else 0.0)
    testable = out["method"] != "not testable"
    n_drifted = int(out["drifted"].sum())
    share = n_drifted / int(testable.sum()) if testable.any() else float("nan")
    return DriftReport(**out, n_drifted=n_drifted, share_drifted=share, drift_share=float(drift_share),
                       dataset_drift=bool(share >= drift_share), _bins=bins)


def _progress(iterable, total: int, enabled: bool, desc: str):
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("progress=True needs tqdm: pip install tqdm") from None
    return tqdm(iterable, total=total, desc=desc, unit="batch")


def named_error(func: str, names: list, err: ValueError) -> ValueError:
    """The kernel's error with the column it numbers (in its batch) named, and the function."""
    msg = re.sub(r"column (\d+)", lambda m: f"column {names[int(m.group(1))]!r}", str(err))
    return ValueError(f"{func}: {msg}")


def numeric_summaries(names: list, ref_cols: list, cur_cols: list, *, reference_sorted: bool, edges: list, n_bins: int,
                      func: str, progress: bool) -> dict:
    """The C++ pass over the numeric columns (one call, or batches of columns under a progress bar)."""
    if not ref_cols:
        return {}
    step = len(ref_cols) if not progress else max(1, 2 * _core.get_num_threads())
    starts = list(range(0, len(ref_cols), step))
    parts = []
    for s in _progress(starts, len(starts), progress, func):
        e = edges[s:s + step] if edges else []
        try:
            parts.append(_core.monitoring.drift_columns(ref_cols[s:s + step], cur_cols[s:s + step], reference_sorted,
                                                        e, n_bins))
        except ValueError as err:
            raise named_error(func, names[s:s + step], err) from None
    if len(parts) == 1:
        return parts[0]
    return {k: (sum((list(p[k]) for p in parts), []) if isinstance(parts[0][k], list)
                else np.concatenate([p[k] for p in parts])) for k in parts[0]}


def edges_for(bins: Any, names: list, func: str) -> list:
    """Per numeric column fixed edges (float64 arrays), or [] for reference quantile bins."""
    if bins is None:
        return []
    unknown = [c for c in bins if c not in names] if isinstance(bins, dict) else []
    if unknown:  # a misspelt (or categorical) column would silently keep the quantile bins
        raise InvalidParameterError(f"The 'bins' parameter of {func} names column(s) {unknown!r} that are not among "
                                    f"the numeric columns tested.")
    out = []
    for name in names:
        e = bins.get(name) if isinstance(bins, dict) else bins
        e = np.empty(0) if e is None else np.ascontiguousarray(e, dtype=np.float64)
        if e.ndim != 1 or (e.size and (e.size < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0))):
            raise InvalidParameterError(f"The 'bins' parameter of {func} must give 1-D, finite, strictly increasing "
                                        f"edges (at least 2). Got {e!r} for column {name!r} instead.")
        out.append(e)
    return out


def _is_method(v: Any) -> bool:
    if isinstance(v, dict):
        return all(m in _stats.METHODS for m in v.values())
    return isinstance(v, str) and v in _stats.METHODS


def _is_threshold(v: Any) -> bool:
    ok = lambda t: isinstance(t, Real) and not isinstance(t, bool) and np.isfinite(t) and t >= 0  # noqa: E731
    return all(ok(t) for t in v.values()) if isinstance(v, dict) else ok(v)


def _is_bins(v: Any) -> bool:
    if isinstance(v, dict):
        return all(np.asarray(e).ndim == 1 and np.asarray(e).dtype.kind in "iuf" for e in v.values())
    a = np.asarray(v)
    return a.ndim == 1 and a.dtype.kind in "iuf" and a.size >= 2


def _is_names(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and all(isinstance(c, (str, int)) for c in v)


# the declarations shared by drift and Profile.compare
OPTIONS = dict(
    method=[Check(_is_method, f"one of {sorted(_stats.METHODS)} or a dict of them per column")],
    threshold=[None, Check(_is_threshold, "a float >= 0 or a dict of them per column")],
    n_bins=[Interval(Integral, 1, 10_000)],
    bins=[None, Check(_is_bins, "1-D increasing bin edges or a dict of them per column")],
    psi_eps=[Interval(Real, 0, 1, closed="neither")],
    ks_method=[Options({"auto", "exact", "asymp"})],
    alternative=[Options({"two-sided", "less", "greater"})],
    drift_share=[Interval(Real, 0, 1)],
    progress=["boolean"],
)


@validate_params(reference=[Check(is_table, TABLE_DESCRIPTION)], current=[Check(is_table, TABLE_DESCRIPTION)],
                 columns=[None, Check(_is_names, "a list of column names")],
                 categorical=[None, Check(_is_names, "a list of column names")], **OPTIONS)
def drift(reference: Any, current: Any, columns: list | None = None, *, categorical: list | None = None,
          method: Any = "auto", threshold: Any = None, n_bins: int = 10, bins: Any = None, psi_eps: float = 1e-4,
          ks_method: str = "auto", alternative: str = "two-sided", drift_share: float = 0.5,
          progress: bool = False) -> DriftReport:
    """Per-column data drift of ``current`` against ``reference``, every column in one
    multithreaded pass.

    Parameters
    ----------
    reference, current : table
        pandas or Polars DataFrames, pyarrow Tables, dicts of 1-D arrays, or 2-D NumPy arrays
        (columns named 0, 1, ...), with the same columns.  Integer and float columns are numeric;
        string, boolean and Categorical columns are categorical.  NaN, None and NA are missing:
        counted (``missing_ref``, ``missing_cur``) and left out of the tests.
    columns : list, optional
        The columns to test (default: all of ``reference``'s).
    categorical : list, optional
        Numeric columns to treat as categorical (codes, ids).
    method : str or dict, default "auto"
        The test that decides each column (a dict maps column names to methods; unnamed columns
        use "auto").  Numeric: "ks", "wasserstein", "psi", "jensenshannon", "hellinger";
        categorical: "chisquare", "psi", "jensenshannon", "hellinger".  "auto" follows
        Evidently's defaults: up to 1000 reference values, "ks" (numeric) or "chisquare"
        (categorical) at p < 0.05; above, "wasserstein" (normalised by the reference's standard
        deviation, >= 0.1) or "jensenshannon" (>= 0.1).  Every test is computed for every column
        anyway and reported.
    threshold : float or dict, optional
        Overrides the method's threshold (p-value tests: drifted when p < threshold; distances:
        when distance >= threshold).  Defaults: ks 0.05, chisquare 0.05, wasserstein 0.1, psi 0.1,
        jensenshannon 0.1, hellinger 0.1.
    n_bins : int, default 10
        Bins of the numeric PSI / Jensen-Shannon / Hellinger: the reference's quantiles 0, 1/n, ...,
        1 (``np.quantile``'s default rule), repeated edges merged; a constant reference c gets
        three bins: below c, at c and above c.
    bins : array or dict, optional
        Fixed edges instead (one array for every numeric column, or a dict per column).  With
        either kind of bins the outermost bins are open, so that current values outside the
        reference's range are counted.
    psi_eps : float, default 1e-4
        The share that replaces an empty bin's zero share in PSI (Evidently's value).
    ks_method : {"auto", "exact", "asymp"}
        As ``scipy.stats.ks_2samp``'s ``method``: "auto" is exact up to 10,000 values per side.
    alternative : {"two-sided", "less", "greater"}
        As ``scipy.stats.ks_2samp``'s (``reference`` is its first sample).
    drift_share : float, default 0.5
        The dataset counts as drifted when at least this share of the testable columns drifted.
    progress : bool, default False
        Show a tqdm progress bar over batches of columns.

    Returns
    -------
    DriftReport
        One row per column, the dataset-level share; ``to_frame()``, ``plot()``,
        ``plot_histograms()``.

    Notes
    -----
    Each statistic equals its reference: KS statistic and p-value ``scipy.stats.ks_2samp``
    (ties included; the exact tail is computed as a sum of positive path probabilities, so it
    never falls back to the asymptotic law for overflow as SciPy sometimes does); Wasserstein-1
    ``scipy.stats.wasserstein_distance``; Jensen-Shannon ``scipy.spatial.distance.jensenshannon``
    on the same bin counts; chi-square ``scipy.stats.chi2_contingency`` on the 2 x k table of
    category counts (with Yates' correction at two categories, as SciPy) and Cramér's V
    ``scipy.stats.contingency.association``.

    Where mlsd differs from Evidently's defaults: numeric columns with few distinct values stay on
    the numeric tests (Evidently moves them to chi-square or Jensen-Shannon; pass them in
    ``categorical=`` for that); binary categorical columns use chi-square (Evidently a z-test for
    proportions); numeric PSI/JS bins are the reference's quantiles (Evidently's are equal-width
    over both samples), so that a profile saved once fixes them.

    A column whose values are all missing on one side is reported with method "not testable"
    (never drifted); a constant reference column gets ``wasserstein_norm`` 0 (no change) or inf.

    Examples
    --------
    >>> import numpy as np
    >>> from mlsd.monitoring import drift
    >>> rng = np.random.default_rng(0)
    >>> ref = {"x": rng.normal(size=2000), "c": rng.choice(["a", "b"], 2000)}
    >>> cur = {"x": rng.normal(0.5, 1, 2000), "c": rng.choice(["a", "b"], 2000)}
    >>> report = drift(ref, cur)
    >>> [bool(d) for d in report.drifted]
    [True, False]
    """
    func = "drift"
    cat = tuple(categorical or ())
    ref = read_table(reference, func, "reference", columns, cat)
    names = list(ref)
    cur = read_table(current, func, "current", names, cat)
    return compare_tables(ref, cur, func=func, method=method, threshold=threshold, n_bins=n_bins, bins=bins,
                          psi_eps=psi_eps, ks_method=ks_method, alternative=alternative, drift_share=drift_share,
                          progress=progress)


def _all_missing(kind: str, a: np.ndarray) -> bool:
    """Whether a column holds no value (its kind then says nothing: an all-None object column reads
    as numeric, a CSV's empty string column as float NaN)."""
    if kind == NUMERIC:
        return bool(np.isnan(a).all())
    return a.dtype.kind == "O" and all(_is_missing(v) for v in a)


def as_kind(kind: str, a: np.ndarray) -> np.ndarray:
    """An all-missing column in the given kind's representation."""
    return np.full(a.shape[0], np.nan) if kind == NUMERIC else np.full(a.shape[0], None, dtype=object)


def check_same_kinds(ref_kinds: dict, cur: dict, func: str, what: str) -> None:
    """Checks that current's columns have the reference's kinds; a current column without any value
    takes the reference's kind (in place), to be reported "not testable"."""
    n_rows = len(next(iter(cur.values()))[1])
    if n_rows == 0:
        raise InvalidParameterError(f"The 'current' parameter of {func} must hold at least one row. Got an empty table.")
    for name, (kind, a) in cur.items():
        if ref_kinds[name] != kind:
            if _all_missing(kind, a):
                cur[name] = (ref_kinds[name], as_kind(ref_kinds[name], a))
                continue
            raise InvalidParameterError(f"The 'current' parameter of {func} has the {kind} column {name!r}, "
                                        f"which is {ref_kinds[name]} in the {what}.")


def compare_tables(ref: dict, cur: dict, *, func: str, progress: bool, n_bins: int, bins: Any, **options) -> DriftReport:
    names = list(ref)
    if len(next(iter(ref.values()))[1]) == 0:
        raise InvalidParameterError(f"The 'reference' parameter of {func} must hold at least one row. "
                                    f"Got an empty table.")
    for n, (k, a) in ref.items():  # a reference column without any value takes current's kind
        if n in cur and cur[n][0] != k and _all_missing(k, a):
            ref[n] = (cur[n][0], as_kind(cur[n][0], a))
    kinds = {n: k for n, (k, _) in ref.items()}
    check_same_kinds(kinds, cur, func, "reference")
    num = [n for n in names if kinds[n] == NUMERIC]
    numeric = numeric_summaries(num, [ref[n][1] for n in num], [cur[n][1] for n in num], reference_sorted=False,
                                edges=edges_for(bins, num, func), n_bins=n_bins, func=func, progress=progress)
    categorical = {}
    for n in names:
        if kinds[n] == CATEGORICAL:
            categorical[n] = (*category_counts(ref[n][1], func, n), *category_counts(cur[n][1], func, n))
    return build_report(names, kinds, numeric, categorical, func=func, **options)
