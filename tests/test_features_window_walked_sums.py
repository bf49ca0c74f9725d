"""The sums of entities of more than 32 events, which window_aggregate walks with a running
compensated sum: every frame's sum is its exact sum rounded once (math.fsum; +-inf where that
exact sum is beyond the doubles, where math.fsum raises) and every mean that sum divided by the
count, on every path to the walk -- the events themselves, a spine (``at=``) and the sort path of
``WindowState.lookup`` (orders given) -- with values chosen to defeat a running sum: huge values
cancelling, magnitudes 10^-300 to 10^300, subnormals, sums past DBL_MAX, midpoints between
doubles, NaN.  When the running sum cannot show that its value is the exact sum rounded once,
the walk restarts it from the frame's exact sum."""

from __future__ import annotations

import math
import sys
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from mlsd.features import WindowState, window_aggregate

from test_features_window import CLOSED

MAX = sys.float_info.max
WINDOWS = [4, 25, 10**6]


def _values(kind, n, rng):
    if kind == "huge_cancel":
        v = rng.normal(size=n)
        big = rng.random(n) < 0.3
        v[big] = rng.choice([1e300, -1e300, 1.7e308, -1.7e308, 1e200], big.sum())
    elif kind == "magnitudes":
        v = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-300, 300, n)
    elif kind == "subnormal":
        v = rng.integers(-2**20, 2**20, n) * 5e-324
        m = rng.random(n) < 0.3
        v[m] = rng.choice([-1.0, 1.0], m.sum()) * 2.0 ** rng.integers(-1074, -990, m.sum())
    elif kind == "near_max":  # sums past DBL_MAX, and just below its midpoint with 2^1024
        v = rng.choice([MAX, -MAX, 1.7e308, -1.7e308, 8.98e307, 2.0**970, -(2.0**900), 1.0, -1.0], n)
    elif kind == "midpoints":  # sums of integers near 2^53 and halves: ties between doubles
        v = rng.choice([2.0**53, -(2.0**53), 1.0, -1.0, 0.5, 3.0, 2.0**54, 2.0**-1074, 1e-300], n)
    else:
        v = rng.normal(size=n)
    v[rng.random(n) < 0.05] = np.nan
    return v


def _events(kind, seed):
    """Three walked entities (40-150 events, many at one time) and a direct one, rows shuffled."""
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(40, 150)) for _ in range(3)] + [10]
    k = np.repeat(np.arange(len(sizes)), sizes)
    ev = pd.DataFrame({"k": k, "t": rng.integers(0, 60, k.size), "v": _values(kind, k.size, rng)})
    return ev.sample(frac=1, random_state=seed).reset_index(drop=True)


def _exact_sum(x):
    """The exact sum rounded once; +-inf beyond the doubles (math.fsum raises there, also for an
    intermediate sum beyond them)."""
    try:
        return math.fsum(x)
    except OverflowError:
        s = sum((Fraction(float(y)) for y in x), Fraction(0))
        try:
            return float(s)
        except OverflowError:
            return math.inf if s > 0 else -math.inf


def _check(got, ev, q_k, q_t, closed):
    k, t, v = ev["k"].to_numpy(), ev["t"].to_numpy(), ev["v"].to_numpy()
    lc, rc = closed in ("left", "both"), closed in ("right", "both")
    for w in WINDOWS:
        sums = got[f"v_sum_{w}"].to_numpy()
        means = got[f"v_mean_{w}"].to_numpy()
        counts = got[f"v_count_{w}"].to_numpy()
        for i in range(len(q_k)):
            tq = q_t[i]
            m = (k == q_k[i]) & ((t >= tq - w) if lc else (t > tq - w)) & ((t <= tq) if rc else (t < tq))
            x = v[m & ~np.isnan(v)]
            assert counts[i] == x.size, (i, w)
            if x.size == 0:
                assert math.isnan(sums[i]) and math.isnan(means[i])
                continue
            want = _exact_sum(x)
            assert sums[i] == want, (i, w, sums[i], want)
            assert means[i] == want / x.size, (i, w, means[i], want / x.size)


@pytest.mark.parametrize("closed", CLOSED)
@pytest.mark.parametrize("kind", ["huge_cancel", "magnitudes", "subnormal", "near_max", "midpoints", "normal"])
def test_every_walked_frame_sums_to_its_exact_sum_rounded_once(kind, closed):
    ev = _events(kind, seed=len(kind) + 7 * CLOSED.index(closed))
    kw = dict(by="k", on="t", values="v", windows=WINDOWS, aggs=["count", "sum", "mean"], closed=closed)
    own = window_aggregate(ev, **kw)  # the events themselves
    _check(own, ev, ev["k"].to_numpy(), ev["t"].to_numpy(), closed)
    rng = np.random.default_rng(1)
    spine = pd.DataFrame({"k": rng.integers(-1, 5, 150), "t": rng.integers(-5, 70, 150)})
    at = window_aggregate(ev, at=spine, **kw)
    _check(at, ev, spine["k"].to_numpy(), spine["t"].to_numpy(), closed)
    state = WindowState.from_arrays(ev["k"].to_numpy(), ev["t"].to_numpy(), ev[["v"]].to_numpy(), windows=WINDOWS,
                                    aggs=["count", "sum", "mean"], closed=closed, allowed_lateness=None, names=["v"])
    looked_up = state.lookup(spine["k"].to_numpy(), spine["t"].to_numpy())  # orders given: the sort path
    _check(looked_up, ev, spine["k"].to_numpy(), spine["t"].to_numpy(), closed)


def _walked(vals, before=40):
    """One entity: `before` zeros long before, then `vals` one per time step, then a last event
    whose frame of window 100 holds exactly `vals`."""
    n = len(vals)
    t = [-10**6 + i for i in range(before)] + list(range(n + 1))
    return pd.DataFrame({"k": 3, "t": t, "v": [0.0] * before + list(vals) + [0.0]})


@pytest.mark.parametrize("vals, want", [
    # DBL_MAX + 2^970 is the midpoint to 2^1024 (which rounds to inf); 2^900 less is DBL_MAX.  The
    # running sum overflows on the way: the frame is summed again, exactly (long double's sum
    # rounded that midpoint to inf).
    ([1.0, MAX, 2.0**970, -(2.0**900)], MAX),
    ([MAX, 2.0**970], math.inf),  # the midpoint itself: ties to even, beyond the doubles
    ([-MAX, -MAX, MAX], -MAX),
    ([-MAX, -MAX, 1.0], -math.inf),
    # huge values cancelling leave a frame near the midpoint 2^53 + 1: it rounds up
    ([1e300, 2.0**53, -1e300, 1.0, 2.0**-1074], 2.0**53 + 2),
    ([1e300, 2.0**53, -1e300, 1.0, -(2.0**-1074)], 2.0**53),
])
def test_a_walked_frame_near_a_midpoint_or_past_the_doubles_is_the_exact_sum_rounded(vals, want):
    ev = _walked(vals)
    for at in (None, ev[["k", "t"]]):
        got = window_aggregate(ev, by="k", on="t", values="v", windows=100, aggs=["sum", "mean"], at=at)
        assert got["v_sum_100"].iloc[-1] == want
        assert got["v_mean_100"].iloc[-1] == want / len(vals)
    assert _exact_sum(vals) == want


_NEAR_A_MIDPOINT = """
import math, time
import numpy as np, pandas as pd
from mlsd.features import window_aggregate
n = 400_000
v = np.full(n, 2.0)
v[:3] = [2.0**53, 1.0, 1e-300]
ev = pd.DataFrame({"k": np.zeros(n, np.int64), "t": np.arange(n), "v": v})
for windows in ([10**9], [n // 3]):  # one frame growing, one also sliding
    out = window_aggregate(ev, by="k", on="t", values="v", windows=windows, aggs=["sum"])
    got = out[f"v_sum_{windows[0]}"].to_numpy()
    for i in (3, 4, 1000, n // 3 - 1, n - 1):
        x = v[max(0, i - windows[0]):i]
        assert got[i] == math.fsum(x), (windows, i, got[i], math.fsum(x))
print("ok")
"""


def test_a_walked_frame_that_stays_near_a_midpoint_takes_linear_time():
    """2^53 + 1 + 10^-300 and 2.0s after it: every frame's exact sum lies 10^-300 from a midpoint,
    so no running sum can show its rounding and the walk restarts it at every step; re-summing the
    whole frame each time made one entity of 400k events take O(n^2) (minutes).  In a child process
    with a timeout, so a regression fails instead of hanging the suite."""
    import subprocess

    res = subprocess.run([sys.executable, "-c", _NEAR_A_MIDPOINT], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr


@pytest.mark.parametrize("closed", CLOSED)
def test_sliding_frames_restarted_at_every_step_sum_to_their_exact_sums(closed):
    """Frames near a midpoint restart at every step from an exact sum that the walk brings up to
    date with the values that entered and left since: every frame, sliding or growing, with NaN
    and gaps in time, is still math.fsum's (or +-inf)."""
    rng = np.random.default_rng(CLOSED.index(closed))
    n = 300
    v = rng.choice([2.0**53, 1.0, 2.0, -2.0, 1e-300, -1e-300, 2.0**-1074, MAX, -MAX, 2.0**970], n,
                   p=[.05, .05, .3, .3, .05, .05, .05, .05, .05, .05])
    v[rng.random(n) < 0.05] = np.nan
    ev = pd.DataFrame({"k": 0, "t": np.cumsum(rng.integers(0, 3, n)), "v": v})
    kw = dict(by="k", on="t", values="v", windows=WINDOWS, aggs=["count", "sum", "mean"], closed=closed)
    _check(window_aggregate(ev, **kw), ev, ev["k"].to_numpy(), ev["t"].to_numpy(), closed)
    spine = pd.DataFrame({"k": 0, "t": np.arange(-2, ev["t"].max() + 3)})
    _check(window_aggregate(ev, at=spine, **kw), ev, spine["k"].to_numpy(), spine["t"].to_numpy(), closed)
