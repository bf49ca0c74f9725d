"""Sequential testing: always-valid mSPRT p-values and confidence sequences, and group-sequential
boundaries by Lan-DeMets alpha spending."""

from __future__ import annotations

import itertools
from numbers import Integral, Real
from typing import Any, Sequence

import numpy as np
from scipy import optimize, special

from .._params import ArrayLike, Check, Interval, Options, validate_params
from .._results import Result, axes, result_type
from .._validation import as_float_array
from ._stats import Stats, as_stats
from ._tests import ALPHA, cov_form, metric_gradient

__all__ = ["msprt", "MSPRTResult", "group_sequential_boundaries", "GroupSequentialBoundaries"]


@result_type
class MSPRTResult(Result):
    """Always-valid inference at each look (arrays of length n_looks).

    ``pvalue`` is the always-valid p-value (non-increasing), ``confidence_interval`` the running
    intersection of the confidence sequence ``(low, high)``, ``likelihood_ratio`` the mixture
    likelihood ratio, ``stop`` the first look with ``pvalue <= alpha`` (or None).  ``plot()``
    draws the confidence sequence over the looks with the always-valid p-value.
    """

    estimate: np.ndarray
    stderr: np.ndarray
    likelihood_ratio: np.ndarray
    pvalue: np.ndarray
    confidence_interval: tuple
    stop: int | None
    alpha: float = 0.05

    def to_frame(self):
        """One row per look: look, estimate, stderr, ci_low, ci_high, likelihood_ratio, pvalue."""
        import pandas as pd

        lo, hi = self.confidence_interval
        return pd.DataFrame({"look": np.arange(len(self.estimate)), "estimate": self.estimate, "stderr": self.stderr,
                             "ci_low": lo, "ci_high": hi, "likelihood_ratio": self.likelihood_ratio,
                             "pvalue": self.pvalue})

    def plot(self, ax=None):
        """The confidence sequence (band) and the estimate over the looks, the always-valid
        p-value on a second axis (log scale) with alpha marked, and the stopping look.  Returns the
        Axes of the confidence sequence."""
        ax = axes(ax)
        looks = np.arange(len(self.estimate))
        lo, hi = self.confidence_interval
        ax.fill_between(looks, lo, hi, color="tab:blue", alpha=0.25, label=f"{100 * (1 - self.alpha):g}% confidence sequence")
        ax.plot(looks, self.estimate, color="tab:blue", marker=".", label="estimate")
        ax.axhline(0.0, color="black", linewidth=0.8)
        if self.stop is not None:
            ax.axvline(self.stop, color="tab:red", linestyle="--", label=f"stop (look {self.stop})")
        ax.set_xlabel("look")
        ax.set_ylabel("difference")
        p_ax = ax.twinx()
        p_ax.plot(looks, np.maximum(self.pvalue, 1e-300), color="tab:orange", label="always-valid p-value")
        p_ax.axhline(self.alpha, color="tab:orange", linestyle=":", linewidth=0.8)
        p_ax.set_yscale("log")
        p_ax.set_ylabel("always-valid p-value")
        handles, labels = ax.get_legend_handles_labels()
        h2, l2 = p_ax.get_legend_handles_labels()
        ax.legend(handles + h2, labels + l2, fontsize="small")
        return ax


def _looks(x: Any, name: str, func: str) -> list[Stats]:
    if isinstance(x, Stats):
        if x.n.ndim != 1:
            raise ValueError(f"{func}: {name} must be a 1-D batch of Stats (one per look)")
        return [x[i] for i in range(x.n.shape[0])]
    if isinstance(x, (list, tuple)) and x:
        return [as_stats(s, name, func) for s in x]
    raise TypeError(f"{func}: {name} must be a non-empty sequence of Stats (one per period) or a batched Stats")


def _is_looks(x: Any) -> bool:
    return isinstance(x, Stats) or (isinstance(x, (list, tuple)) and len(x) > 0)


LOOKS = [Check(_is_looks, "a batched Stats or a non-empty sequence of Stats or arrays (one per look)")]


@validate_params(treatment=LOOKS, control=LOOKS, tau=[Interval(Real, 0.0, np.inf, closed="neither")], alpha=[ALPHA],
                 theta0=[Interval(Real, -np.inf, np.inf, closed="neither")], cumulative=["boolean"])
def msprt(treatment: Any, control: Any, *, tau: float, alpha: float = 0.05, theta0: float = 0.0,
          cumulative: bool = False) -> MSPRTResult:
    """Mixture sequential probability ratio test (Johari, Pekelis and Walsh 2017) of the difference
    of means (or of ratio metrics) between two arms, monitored at any number of looks.

    Parameters
    ----------
    treatment, control : sequence of Stats (or arrays), or a batched Stats of shape (n_looks,)
        The data of each period (``cumulative=False``: merged with ``+`` look by look, e.g. daily
        aggregates from a warehouse) or the cumulative data at each look (``cumulative=True``).
    tau : float > 0
        Standard deviation of the normal mixing distribution of the effect, on the scale of the
        metric; choose it near the effects you expect (a good default is the minimum detectable
        effect).
    alpha : float in (0, 1), default 0.05
    theta0 : float, default 0
        The null difference.
    cumulative : bool, default False

    Returns
    -------
    MSPRTResult

    Notes
    -----
    With the difference estimate D_n and its variance V_n (delta method, per-arm sample
    variances), the mixture likelihood ratio against the null D = theta0 under the prior
    N(theta0, tau^2) is ``L_n = sqrt(V_n / (V_n + tau^2)) exp(tau^2 (D_n - theta0)^2 /
    (2 V_n (V_n + tau^2)))``.  ``p_n = min(p_{n-1}, 1 / L_n)`` is valid at any data-dependent
    stopping time; ``D_n +- sqrt(V_n (V_n + tau^2) / tau^2 (log((V_n + tau^2) / V_n) - 2 log
    alpha))`` is the confidence sequence (the set of theta0 not rejected), intersected over looks.
    The variance is estimated, as in the paper's practical version; validity is asymptotic in the
    number of units per look.

    Examples
    --------
    >>> import numpy as np
    >>> from mlsd.abtest import Stats, msprt
    >>> rng = np.random.default_rng(0)
    >>> days_t = [Stats.from_arrays(rng.normal(0.1, 1, 1000)) for _ in range(10)]
    >>> days_c = [Stats.from_arrays(rng.normal(0.0, 1, 1000)) for _ in range(10)]
    >>> r = msprt(days_t, days_c, tau=0.1)
    >>> r.stop is not None and bool(r.pvalue[-1] < 0.05)
    True
    """
    func = "msprt"
    t, c = _looks(treatment, "treatment", func), _looks(control, "control", func)
    if len(t) != len(c):
        raise ValueError(f"{func}: treatment has {len(t)} looks but control has {len(c)}")
    if not cumulative:
        t, c = list(itertools.accumulate(t)), list(itertools.accumulate(c))  # merge look by look
    for k, (st_, sc_) in enumerate(zip(t, c)):
        if st_.columns != sc_.columns:
            raise ValueError(f"{func}: treatment has columns {st_.columns} but control has {sc_.columns}")
        if st_.n < 2 or sc_.n < 2:
            raise ValueError(f"{func}: look {k} has fewer than two observations in an arm")
    bt, bc = Stats.stack(t), Stats.stack(c)
    e_t, g_t = metric_gradient(bt, "y", "denominator")
    e_c, g_c = metric_gradient(bc, "y", "denominator")
    est = e_t - e_c
    var = cov_form(bt, g_t, g_t) / bt.n + cov_form(bc, g_c, g_c) / bc.n
    if np.any(var <= 0):
        raise ValueError(f"{func}: the variance of the difference is zero at look {int(np.argmin(var > 0))}")
    t2 = tau * tau
    log_lr = 0.5 * np.log(var / (var + t2)) + t2 * (est - theta0) ** 2 / (2.0 * var * (var + t2))
    p = np.minimum.accumulate(np.minimum(1.0, np.exp(-log_lr)))
    half = np.sqrt(var * (var + t2) / t2 * (np.log((var + t2) / var) - 2.0 * np.log(alpha)))
    lo = np.maximum.accumulate(est - half)
    hi = np.minimum.accumulate(est + half)
    hit = np.flatnonzero(p <= alpha)
    return MSPRTResult(est, np.sqrt(var), np.exp(log_lr), p, (lo, hi), int(hit[0]) if hit.size else None, alpha)


# ---- group-sequential boundaries -----------------------------------------------------------------

@result_type
class GroupSequentialBoundaries(Result):
    """Critical values of the z statistic at each look: reject when |Z_k| >= z[k] (two-sided) or
    Z_k >= z[k] ("greater").  ``alpha_spent`` is the cumulative alpha at each look,
    ``nominal_alpha`` the per-look p-value threshold equivalent to z.  ``plot()`` draws the
    boundaries over the information fraction."""

    information: np.ndarray
    z: np.ndarray
    alpha_spent: np.ndarray
    nominal_alpha: np.ndarray
    spending: str
    alternative: str

    def plot(self, ax=None):
        """The z boundaries against the information fraction (mirrored below zero for a two-sided
        design); the region beyond them rejects.  Returns the Axes."""
        ax = axes(ax)
        finite = np.isfinite(self.z)
        name = self.spending.replace("_", "-")
        ax.plot(self.information[finite], self.z[finite], marker="o", color="tab:red", label=f"{name} boundary")
        if self.alternative == "two-sided":
            ax.plot(self.information[finite], -self.z[finite], marker="o", color="tab:red")
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_xlim(0.0, 1.05)
        ax.set_xlabel("information fraction")
        ax.set_ylabel("z boundary")
        ax.legend()
        return ax


Z_CAP = 9.0


def _spend(t: np.ndarray, alpha: float, spending: str, sides: int) -> np.ndarray:
    """Cumulative alpha spent by time t: each side spends the one-sided function at alpha / sides
    (the convention of gsDesign, rpact and ldbounds for symmetric two-sided designs)."""
    a = alpha / sides
    if spending == "obrien_fleming":
        return sides * 2.0 * special.ndtr(-special.ndtri(1.0 - a / 2.0) / np.sqrt(t))
    return sides * a * np.log(1.0 + (np.e - 1.0) * t)


@validate_params(information=[ArrayLike(ndim=1)], alpha=[ALPHA],
                 spending=[Options(("obrien_fleming", "pocock"))], alternative=[Options(("two-sided", "greater"))],
                 grid=[Interval(Integral, 101, None)])
def group_sequential_boundaries(information: Sequence[float], *, alpha: float = 0.05,
                                spending: str = "obrien_fleming", alternative: str = "two-sided",
                                grid: int = 2001) -> GroupSequentialBoundaries:
    """Lan-DeMets alpha-spending boundaries for a group-sequential design.

    Parameters
    ----------
    information : sequence of float
        Information fractions of the looks, increasing, in (0, 1]; the last is usually 1 (for
        equal sample sizes per look: k / K).
    alpha : float in (0, 1), default 0.05
        Overall type I error.
    spending : {"obrien_fleming", "pocock"}
        Lan and DeMets' (1983) spending functions of a one-sided level a: O'Brien-Fleming-type
        ``2 - 2 Phi(z_{a/2} / sqrt(t))`` and Pocock-type ``a log(1 + (e - 1) t)``.  A two-sided
        design spends a = alpha / 2 on each side, as gsDesign, rpact and ldbounds do (so the
        5-look two-sided O'Brien-Fleming-type design at alpha = 0.05 starts at z = 4.877).
    alternative : {"two-sided", "greater"}
        Symmetric two-sided boundaries, or an upper one-sided boundary.
    grid : int, default 2001
        Points of the numerical integration grid per look.

    Notes
    -----
    The z statistics at the looks are those of a Brownian motion observed at the information
    times.  The boundary at look k is solved so that the probability of first crossing at k equals
    the alpha spent between looks k-1 and k, integrating the sub-density of the continuation
    region forward look by look (Armitage, McPherson and Rowe 1969; Jennison and Turnbull 2000,
    ch. 19) with Simpson's rule.

    Examples
    --------
    >>> from mlsd.abtest import group_sequential_boundaries
    >>> b = group_sequential_boundaries([0.2, 0.4, 0.6, 0.8, 1.0])
    >>> b.z.round(3).tolist()
    [4.877, 3.357, 2.68, 2.29, 2.031]
    """
    func = "group_sequential_boundaries"
    t = as_float_array(information, "information", func)
    if t.size == 0 or not np.all(np.isfinite(t)) or np.any(t <= 0) or np.any(t > 1) or np.any(np.diff(t) <= 0):
        raise ValueError(f"{func}: information must be increasing fractions in (0, 1]; got {t.tolist()}")
    grid += (grid + 1) % 2  # Simpson needs an odd number of points
    sides = 2 if alternative == "two-sided" else 1
    spent = _spend(t, alpha, spending, sides)
    increments = np.diff(np.r_[0.0, spent])
    z = np.empty(t.size)
    # A look that spends (next to) nothing gets no boundary (z = inf).  The integration grid is cut
    # at |Z| = Z_CAP, beyond which the probability (< 1e-18) is negligible.
    z[0] = -special.ndtri(increments[0] / sides) if increments[0] > 0 else np.inf

    def grid_for(zk, tk):
        top = min(zk, Z_CAP) * np.sqrt(tk)
        return np.linspace(-top if sides == 2 else -Z_CAP * np.sqrt(tk), top, grid)

    # Sub-density of the score S = Z sqrt(t) on the continuation region, on a Simpson grid.
    s = grid_for(z[0], t[0])
    f = np.exp(-0.5 * s**2 / t[0]) / np.sqrt(2 * np.pi * t[0])
    w = np.ones(grid)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    for k in range(1, t.size):
        sd = np.sqrt(t[k] - t[k - 1])
        fw = f * w * (s[1] - s[0]) / 3.0

        def cross(c, fw=fw, s=s, sd=sd, tk=t[k]):
            b = c * np.sqrt(tk)
            upper = np.sum(fw * special.ndtr((s - b) / sd))
            lower = np.sum(fw * special.ndtr((-b - s) / sd)) if sides == 2 else 0.0
            return upper + lower

        target = increments[k]
        if cross(0.0) < target:
            raise ValueError(f"{func}: the alpha to spend at look {k} cannot be spent; check information")
        if target <= cross(40.0):
            z[k] = np.inf
        else:
            z[k] = optimize.brentq(lambda c: cross(c) - target, 0.0, 40.0, xtol=1e-12)
        s_new = grid_for(z[k], t[k])
        f = np.empty(grid)
        for r in range(0, grid, 256):  # blocks of the grid x grid Gaussian kernel bound the memory
            kern = np.exp(-0.5 * ((s_new[r:r + 256, None] - s[None, :]) / sd) ** 2)
            f[r:r + 256] = kern @ fw / (sd * np.sqrt(2 * np.pi))
        s = s_new
    nominal = sides * special.ndtr(-z)
    return GroupSequentialBoundaries(t, z, spent, nominal, spending, alternative)
