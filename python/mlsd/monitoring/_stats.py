"""The per-column statistics, written once: the KS p-value, binned PSI / Jensen-Shannon /
Hellinger, the categorical tests, and the methods' default thresholds.  ``drift`` and
``Profile.compare`` both end here, so a profile gives the same numbers as the raw reference."""

from __future__ import annotations

import math

import numpy as np

from .. import _core

P_VALUE_METHODS = ("ks", "chisquare")
NUMERIC_METHODS = ("ks", "wasserstein", "psi", "jensenshannon", "hellinger")
CATEGORICAL_METHODS = ("chisquare", "psi", "jensenshannon", "hellinger")
METHODS = ("auto",) + tuple(dict.fromkeys(NUMERIC_METHODS + CATEGORICAL_METHODS))
# drifted when p < threshold (ks, chisquare) or distance >= threshold (the others), as in Evidently
THRESHOLDS = {"ks": 0.05, "chisquare": 0.05, "wasserstein": 0.1, "psi": 0.1, "jensenshannon": 0.1, "hellinger": 0.1}
AUTO_SMALL = 1000  # reference rows up to which "auto" picks the p-value test (Evidently's rule)
MAX_AUTO_N = 10000  # SciPy's: ks_2samp's "auto" method is exact up to this sample size
PSI_EPS = 1e-4
SMIRNOV_MAX_COMPUTE = 1_000_000  # SciPy's: above it scipy.special.smirnov uses a closed-form approximation


def auto_method(kind: str, n_ref: int) -> str:
    if kind == "numeric":
        return "ks" if n_ref <= AUTO_SMALL else "wasserstein"
    return "chisquare" if n_ref <= AUTO_SMALL else "jensenshannon"


def ks_pvalues(d_greater, d_less, n1, n2, alternative: str, method: str):
    """(statistic, p-value) per column from the one-sided statistics, as ``scipy.stats.ks_2samp``:
    exact (the lattice-path tail in C++) or Smirnov's asymptotic law."""
    from scipy.stats import distributions

    d_greater, d_less = np.asarray(d_greater, float), np.asarray(d_less, float)
    n1, n2 = np.asarray(n1, np.int64), np.asarray(n2, np.int64)
    if alternative == "greater":
        d = d_greater.copy()
    elif alternative == "less":
        d = d_less.copy()
    else:
        d = np.maximum(d_greater, d_less)
    p = np.full(d.shape, np.nan)
    ok = (n1 > 0) & (n2 > 0)
    g = np.gcd(np.where(ok, n1, 1), np.where(ok, n2, 1))
    if method == "auto":
        exact = ok & (np.maximum(n1, n2) <= MAX_AUTO_N)
    elif method == "exact":
        # as SciPy: the lcm must stay below 2**31 (else the asymptotic law)
        exact = ok & ((n1 // g) < np.iinfo(np.int32).max / np.maximum(n2 // g, 1))
    else:
        exact = np.zeros(d.shape, bool)
    if exact.any():
        lcm = (n1[exact] // g[exact]) * n2[exact]
        h = np.round(d[exact] * lcm).astype(np.int64)
        d[exact] = h / lcm
        p[exact] = _core.monitoring.ks_exact_sf(np.ascontiguousarray(n1[exact]), np.ascontiguousarray(n2[exact]),
                                                np.ascontiguousarray(h), alternative == "two-sided")
    asymp = ok & ~exact
    if asymp.any():
        m = np.maximum(n1[asymp], n2[asymp]).astype(float)
        n = np.minimum(n1[asymp], n2[asymp]).astype(float)
        en = m * n / (m + n)
        if alternative == "two-sided":
            p[asymp] = kolmogorov_sf(d[asymp], np.round(en))
        else:
            z = np.sqrt(en) * d[asymp]
            p[asymp] = np.exp(-2 * z**2 - 2 * z * (m + 2 * n) / np.sqrt(m * n * (m + n)) / 3.0)
    return d, np.clip(p, 0, 1)


def kolmogorov_sf(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``scipy.stats.kstwo.sf(x, n)``, with its one costly branch -- 2 x Smirnov's exact sum of
    about n terms, taken where n > 140, 1 < n x < n - 1 and (n x^2 >= 2.2 or x >= 0.5), which SciPy
    evaluates one scalar at a time -- computed in C++ in parallel (equal to SciPy's to ~1e-13) for
    n up to 1e6; above, SciPy's own closed form (which the exact sum would differ from)."""
    from scipy.stats import distributions

    x, n = np.asarray(x, float), np.asarray(n, float)
    t, nx2 = n * x, n * x * x
    # above SMIRNOV_MAX_COMPUTE (1e6) SciPy's smirnov is the closed form exp(-(6 n x + 1)^2 / (18 n)),
    # O(1) and up to ~1e-3 relative from the exact sum: SciPy evaluates it there, to stay equal to it
    costly = ((n > 140) & (n <= SMIRNOV_MAX_COMPUTE) & (t > 1) & (t < n - 1)
              & (((nx2 >= 2.2) & (nx2 < 370)) | ((x >= 0.5) & (x < 1))))
    out = np.empty(x.shape)
    if (~costly).any():
        out[~costly] = distributions.kstwo.sf(x[~costly], n[~costly])
    if costly.any():
        sf = _core.monitoring.smirnov_sf(np.ascontiguousarray(n[costly], dtype=np.int64),
                                         np.ascontiguousarray(x[costly]))
        out[costly] = np.clip(2 * sf, 0, 1)
    return out


def binned(p_counts: np.ndarray, q_counts: np.ndarray, eps: float = PSI_EPS) -> tuple[float, float, float]:
    """(PSI, Jensen-Shannon distance, Hellinger distance) of two count vectors on the same bins.

    PSI = sum (q - p) ln(q / p) on the shares, each zero share replaced by ``eps`` (Evidently's
    1e-4); Jensen-Shannon as ``scipy.spatial.distance.jensenshannon`` (natural log, shares
    normalised, no epsilon); Hellinger = sqrt(sum (sqrt p - sqrt q)^2 / 2), in [0, 1]."""
    from scipy.special import rel_entr

    p = p_counts / p_counts.sum()
    q = q_counts / q_counts.sum()
    pe, qe = np.where(p == 0, eps, p), np.where(q == 0, eps, q)
    psi = float(np.sum((qe - pe) * np.log(qe / pe)))
    m = (p + q) / 2.0
    js = float(np.sqrt(max(np.sum(rel_entr(p, m) + rel_entr(q, m)) / 2.0, 0.0)))
    hel = float(np.sqrt(np.sum((np.sqrt(p) - np.sqrt(q)) ** 2) / 2.0))
    return psi, js, hel


def chi_square(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float, float]:
    """(statistic, p-value, Cramér's V) of the 2 x k table of counts, by mlsd.abtest's
    chi2_contingency (SciPy's, Yates' correction for one degree of freedom); V uses the
    uncorrected statistic (``scipy.stats.contingency.association``)."""
    from ..abtest import chi2_contingency

    if len(ref_counts) < 2:
        return 0.0, 1.0, 0.0
    table = np.vstack([ref_counts, cur_counts]).astype(np.float64)
    stat, p, _, _ = chi2_contingency(table)
    raw = chi2_contingency(table, correction=False)[0]
    v = math.sqrt(raw / table.sum())  # min(2, k) - 1 = 1
    return float(stat), float(p), v
