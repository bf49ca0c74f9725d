"""Quantile sketches of numeric reference columns: Apache DataSketches' KLL sketch (``datasketches``
on PyPI), for profiles whose size must not grow with the reference.

What a sketched column keeps: the KLL sketch of its non-missing values (a weighted sample of about
``3 k`` values whose weighted ranks are within DataSketches' normalized rank error of the true ones),
the exact count, mean and sum of squared deviations (merged with Chan's formula), and the exact
minimum and maximum (KLL keeps them).  From these, against the current column's exact values:

* KS statistic: the supremum of |F_sketch - F_current| over all x, exact for the sketch's CDF; it
  differs from the exact statistic by at most the rank error ``eps`` (sup |F_sketch - F_ref| <= eps).
* Wasserstein-1: the integral of |F_sketch - F_current| (``wasserstein_distance`` of the sketch's
  weighted items against the current values); it differs from the exact one by at most
  ``eps * (max - min)`` of the reference (both CDFs are 0 below the minimum and 1 above the maximum).
* Bins: the reference quantiles are read from the sketch's weighted sample by the exact profile's
  interpolation rule, the reference's bin counts from its weighted ranks (each cumulative share
  within ``eps``), the current counts exactly.

DataSketches' bound is probabilistic (99% confidence) and the sketch draws its compaction coin
flips from a random seed, so two sketches of the same data may differ (within the bound).

A serialized sketch from a file or a dict is checked here, field by field, before DataSketches reads
it: its ``deserialize`` trusts the level offsets it is given and crashes the interpreter on some
corrupted buffers.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

K_MIN, K_MAX = 8, 65535  # DataSketches' bounds on k (its minimum level width m is 8)
_M = 8
_FAMILY = 15
_EMPTY, _LEVEL0_SORTED, _SINGLE = 1, 2, 4
_POW3 = [3**i for i in range(31)]


def _kll():
    try:
        from datasketches import kll_doubles_sketch
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("quantile sketches need Apache DataSketches: pip install datasketches") from None
    return kll_doubles_sketch


def new_sketch(k: int):
    return _kll()(int(k))


def rank_error(sketch) -> float:
    """DataSketches' normalized rank error of the sketch's CDF (99% confidence), 0 for a sketch
    that still holds every value with weight 1."""
    if not sketch.is_estimation_mode():
        return 0.0
    return float(sketch.normalized_rank_error(True))


# -- the serialized form, checked before DataSketches reads it ----------------------------------------

def _cap_aux_aux(k: int, depth: int) -> int:
    return (((2 * k) << depth) // _POW3[depth] + 1) >> 1


def _cap_aux(k: int, depth: int) -> int:
    if depth > 30:
        half = depth // 2
        return _cap_aux_aux(_cap_aux_aux(k, half), depth - half)
    return _cap_aux_aux(k, depth)


def total_capacity(k: int, m: int, num_levels: int) -> int:
    """Items a KLL sketch of parameter k with num_levels levels has room for (DataSketches' rule)."""
    return sum(max(m, _cap_aux(k, num_levels - h - 1)) for h in range(num_levels))


def check_serialized(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """ValueError unless ``data`` is exactly a KLL doubles sketch as DataSketches serializes it:
    header fields, level offsets within the capacity k and the level count imply, the byte length
    they imply, finite items within [min, max], levels above 0 sorted, and the weights summing to n.
    Returns the retained items and their weights (2**level)."""
    if len(data) < 8:
        raise ValueError("a quantile sketch shorter than its header")
    pre, ver, fam, flags, k, m = struct.unpack_from("<BBBBHB", data)
    if fam != _FAMILY or m != _M or not K_MIN <= k <= K_MAX:
        raise ValueError("not a KLL doubles sketch (family, k or m)")
    if flags & _EMPTY:
        if (pre, ver, flags & ~_LEVEL0_SORTED, len(data)) != (2, 1, _EMPTY, 8):
            raise ValueError("a malformed empty quantile sketch")
        return np.empty(0), np.empty(0, np.int64)
    if flags & _SINGLE:
        item = np.frombuffer(data, "<f8", 1, 8) if len(data) == 16 else np.empty(0)
        if (pre, ver, flags & ~_LEVEL0_SORTED, len(data)) != (2, 2, _SINGLE, 16) or not np.isfinite(item[0]):
            raise ValueError("a malformed one-item quantile sketch")
        return item.astype(np.float64), np.ones(1, np.int64)
    if (pre, ver) != (5, 1) or flags & ~_LEVEL0_SORTED or len(data) < 20:
        raise ValueError("a malformed quantile sketch header")
    n, min_k, num_levels = struct.unpack_from("<QHB", data, 8)
    if not (K_MIN <= min_k <= k and 1 <= num_levels <= 61 and n >= 2):
        raise ValueError("a quantile sketch with a bad n, min_k or number of levels")
    capacity = total_capacity(k, m, num_levels)
    if len(data) < 20 + 4 * num_levels:
        raise ValueError("a truncated quantile sketch")
    levels = list(struct.unpack_from(f"<{num_levels}I", data, 20)) + [capacity]
    if any(b < a for a, b in zip(levels, levels[1:])):
        raise ValueError("quantile sketch levels out of order or beyond the capacity")
    items_at = 20 + 4 * num_levels + 16
    if len(data) != items_at + 8 * (capacity - levels[0]):
        raise ValueError("a quantile sketch whose length does not match its levels")
    lo, hi = struct.unpack_from("<dd", data, items_at - 16)
    items = np.frombuffer(data, "<f8", capacity - levels[0], items_at).astype(np.float64)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi and np.all(np.isfinite(items))
            and np.all((items >= lo) & (items <= hi))):
        raise ValueError("quantile sketch values that are not finite or outside [min, max]")
    weights = np.empty(len(items), np.int64)
    for i in range(num_levels):
        a, b = levels[i] - levels[0], levels[i + 1] - levels[0]
        part = items[a:b]
        if (i > 0 or flags & _LEVEL0_SORTED) and np.any(part[1:] < part[:-1]):
            raise ValueError("an unsorted level in a quantile sketch")
        weights[a:b] = 1 << i
    if int(sum(int(b - a) << i for i, (a, b) in enumerate(zip(levels, levels[1:])))) != n:
        raise ValueError(f"quantile sketch weights that do not sum to its n = {n}")
    return items, weights


def deserialize(data: bytes):
    """The sketch serialized in ``data``, checked first (ValueError on anything else)."""
    data = bytes(data)
    check_serialized(data)
    sketch = _kll().deserialize(data)
    if sketch.serialize() != data:  # what DataSketches read back must be what was given
        raise ValueError("a quantile sketch that does not read back as written")
    return sketch


# -- statistics against the current column ------------------------------------------------------------

def weighted_items(sketch) -> tuple[np.ndarray, np.ndarray]:
    """The sketch's distinct retained values, ascending, and their total weights (int64), read from
    its serialized levels (the Python iterator of datasketches 5.2 misreports the weights of some
    merged sketches)."""
    items, weights = check_serialized(sketch.serialize())
    if not len(items):
        return np.empty(0), np.empty(0, np.int64)
    order = np.argsort(items, kind="stable")
    items, weights = items[order], weights[order]
    starts = np.flatnonzero(np.r_[True, items[1:] != items[:-1]])
    return items[starts], np.add.reduceat(weights, starts)


def quantile_edges(values: np.ndarray, cum: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin edges at the quantiles 0, 1/n_bins, ..., 1 of the sketch's weighted sample, by the exact
    profile's rule (``np.quantile``'s linear interpolation between the order statistics around
    (n - 1) q, the value of rank r being the retained value whose weights cover r), repeats merged;
    a constant reference c gets three bins (below c, at c, above c).  A sketch that still holds
    every value (all weights 1) gives exactly the exact profile's edges."""
    n = int(cum[-1])
    at = lambda r: values[min(int(np.searchsorted(cum, r, side="right")), len(values) - 1)]  # noqa: E731
    step = 1.0 / n_bins
    edges: list = []
    for i in range(n_bins + 1):
        q = 1.0 if i == n_bins else i * step
        vi = (n - 1) * q
        if vi >= n - 1:
            e = float(values[-1])
        else:
            lo = np.floor(vi)
            a, b, t = float(at(int(lo))), float(at(int(lo) + 1)), vi - lo
            e = b - (b - a) * (1.0 - t) if t >= 0.5 else a + (b - a) * t
        if not edges or e > edges[-1]:
            edges.append(e)
    if len(edges) == 1:
        c = edges[0]
        above = np.nextafter(c, np.inf)
        edges = [np.nextafter(c, -np.inf), c, above, np.nextafter(above, np.inf)]
    return np.array(edges, dtype=np.float64)


def column_summary(sketch, moments: tuple, cur_sorted: np.ndarray, edges: np.ndarray | None, n_bins: int,
                   wasserstein) -> dict:
    """One numeric column's statistics from the reference's sketch and the sorted current values:
    the fields drift's kernel returns (ks_greater, ks_less, wasserstein, edges, counts, std)."""
    values, weights = weighted_items(sketch)
    cum = np.cumsum(weights)
    n_ref, n_cur = int(sketch.n), len(cur_sorted)
    out = {"n_ref": n_ref, "n_cur": n_cur, "ref_std": moments_std(moments),
           "ks_greater": 0.0, "ks_less": 0.0, "wasserstein": 0.0}
    if edges is None or len(edges) == 0:
        edges = quantile_edges(values, cum, n_bins) if n_ref else np.empty(0)
    inner = edges[1:-1] if len(edges) >= 2 else np.empty(0)
    below_ref = np.r_[0, cum][np.searchsorted(values, inner, side="left")] if n_ref else np.zeros(len(inner), np.int64)
    below_cur = np.searchsorted(cur_sorted, inner, side="left")
    out["edges"] = np.asarray(edges, dtype=np.float64)
    out["ref_counts"] = np.diff(np.r_[0, below_ref, n_ref]).astype(np.int64)
    out["cur_counts"] = np.diff(np.r_[0, below_cur, n_cur]).astype(np.int64)
    if n_ref == 0 or n_cur == 0:
        return out
    # F_sketch is a step function with steps at `values`: on [v_i, v_{i+1}) it equals cum_i / n_ref,
    # so sup(F_sketch - F_cur) is reached at some v_i (F_cur is smallest there) and sup(F_cur - F_sketch)
    # just before some v_i (F_cur is largest there), with F_sketch = 0 below v_0 and 1 from the last value.
    right = np.searchsorted(cur_sorted, values, side="right") / n_cur
    left = np.searchsorted(cur_sorted, values, side="left") / n_cur
    f = cum / n_ref
    out["ks_greater"] = float(max(0.0, np.max(f - right)))
    out["ks_less"] = float(min(1.0, max(0.0, np.max(left - np.r_[0.0, f[:-1]]))))
    out["wasserstein"] = float(wasserstein(values, cur_sorted, weights.astype(np.float64)))
    return out


# Moments of values beyond 2**400 in magnitude are kept scaled by 2**-e (exact: a power of two),
# so that neither the sum nor the squared deviations can overflow; below it e = 0 and the moments
# are the plain ones.  The rule and the sums have one home, the kernel's moments (drift's
# reference mean and std come from it too, so a sketch holding every value gives drift's numbers).


def moments_of(values: np.ndarray) -> tuple[int, float, float, int]:
    """(n, mean, sum of squared deviations / 4**e, e) of sorted finite values: the moments, with the
    squared deviations scaled by a power of two for values beyond 2**400 (see ``moments_std``),
    drift's compensated sums bit for bit (the kernel's own)."""
    from .. import _core  # here, not at the top: the sketch checks load without mlsd (tests)

    n, mean, m2, e = _core.monitoring.moments(np.ascontiguousarray(values, dtype=np.float64))
    return (int(n), float(mean), float(m2), int(e))


def _exponent(top: float) -> int:
    """The scale exponent e >= 0 of moments of values whose largest magnitude is ``top`` (0 for a
    non-finite ``top``, which no moments fit: a corrupted sketch's range)."""
    return moments_of(np.array([abs(float(top))]))[3] if np.isfinite(top) else 0


def moments_std(m: tuple) -> float:
    """The standard deviation (ddof 0) of moments from :func:`moments_of` or merged ones; 0 for no
    values (the kernel's Moments::std_dev, the same operations)."""
    n, _, m2, e = m
    return float(np.ldexp(np.sqrt(m2 / n), e)) if n else 0.0


def merge_moments(parts: list) -> tuple[int, float, float, int]:
    """Chan et al.'s pairwise update, folded over the parts, on the parts' common scale (the
    largest exponent: then the means and their differences stay below 2**401 too)."""
    parts = [normalise_moments(p) for p in parts if p[0]]
    if not parts:
        return (0, 0.0, 0.0, 0)
    e = max(p[3] for p in parts)
    n, mean, m2 = 0, 0.0, 0.0
    for nb, mb, m2b, eb in parts:
        mb, m2b = float(np.ldexp(mb, -e)), float(np.ldexp(m2b, 2 * (eb - e)))
        if n == 0:
            n, mean, m2 = nb, mb, m2b
            continue
        tot = n + nb
        delta = mb - mean
        mean, m2, n = mean + delta * nb / tot, m2 + m2b + delta * delta * n * nb / tot, tot
    return (n, float(np.ldexp(mean, e)), m2, e)


def normalise_moments(m: tuple) -> tuple[int, float, float, int]:
    """Moments as stored: (n, mean, m2) with e = 0 (files written before the scale), or the four."""
    return tuple(m) if len(m) == 4 else (*m, 0)


# the rounding the checks of stored moments allow, relative to the largest magnitude (means) or to
# the bounds (squared deviations): far above float64's, far below any corruption that matters
_SLACK = 2.0**-20


def checked_moments(m: Any, sketch) -> tuple[int, float, float, int]:
    """Stored moments of the column whose sketch is ``sketch``, as :func:`moments_of` gives them;
    ValueError unless they could be the moments of the sketch's values: its count, the scale of
    its largest magnitude (moments written before the scale existed, [n, mean, m2] of values beyond
    2**400, are rescaled to it), the mean within [min, max], and the squared deviations between
    (max - min)**2 / 2 (the two extremes alone) and n ((max - min) / 2)**2 (Popoviciu), up to
    rounding.  So no corrupted moments reach the summary's std or compare's normalised distance."""
    if not is_moments(m) or not isinstance(m, list) or m[0] != sketch.n:
        raise ValueError(f"bad moments {m!r}")
    n, mean, m2, e = normalise_moments(m)
    if n == 0:
        if (mean, m2, e) != (0.0, 0.0, 0):
            raise ValueError(f"bad moments {m!r} of no values")
        return (0, 0.0, 0.0, 0)
    lo, hi = float(sketch.get_min_value()), float(sketch.get_max_value())
    top = max(abs(lo), abs(hi))
    e_top = _exponent(top)
    if len(m) == 3 and e_top:  # written before the scale: m2 is the plain sum, finite below ~1e154
        m2, e = float(np.ldexp(m2, -2 * e_top)), e_top
    tol = float(np.ldexp(top, -e_top)) * _SLACK  # on the moments' scale, as the rest below
    lo_s, hi_s, mean_s = (float(np.ldexp(x, -e_top)) for x in (lo, hi, mean))
    half = (hi_s - lo_s) / 2
    least = max(0.0, 2 * half - 2 * tol) ** 2 / 2 * (1 - _SLACK)
    most = n * (half + tol) ** 2 * (1 + _SLACK)
    if e != e_top or not lo_s - tol <= mean_s <= hi_s + tol or not least <= m2 <= most:
        raise ValueError(f"moments {m!r} that do not fit the values' range [{lo!r}, {hi!r}]")
    with np.errstate(over="ignore"):
        if not np.isfinite(moments_std((n, mean, m2, e))):
            raise ValueError(f"moments {m!r} whose standard deviation exceeds float64's range")
    return (n, mean, m2, e)


def stored_moments(m: tuple) -> list:
    """The JSON form: three numbers when unscaled (as before the scale existed), else four."""
    return list(m[:3]) if m[3] == 0 else list(m)


def is_moments(v: Any) -> bool:
    """Stored moments: [n, mean, m2] or [n, mean, m2, e] with 0 < e <= the exponent of the
    largest double's moments."""
    if not isinstance(v, (list, tuple)) or len(v) not in (3, 4):
        return False
    e_max = _exponent(np.finfo(np.float64).max)  # that of values up to +-DBL_MAX
    if len(v) == 4 and not (isinstance(v[3], int) and not isinstance(v[3], bool) and 0 < v[3] <= e_max):
        return False
    return (isinstance(v[0], int) and not isinstance(v[0], bool)
            and v[0] >= 0 and all(isinstance(x, float) and np.isfinite(x) for x in v[1:3]) and v[2] >= 0)
