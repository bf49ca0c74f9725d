"""window_aggregate with a spine (``at=``): the spine is grouped by entity like the events (the
same counting scatter; sparse ids numbered by the events' dictionary), each entity's queries are
merged against its events, and each query's aggregates are computed from its frames in the spine's
row order (walked for an entity of more than 32 events).  The kernel still takes the sort path
when it is given the tables' sort orders, and when the grouping gives up (an entity of more than
65,536 events).  Both must give the same numbers, bit for bit, and equal the brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlsd
from mlsd import _core
from mlsd.features import window_aggregate
from mlsd.features._partials import sort_order

from test_features_window import AGGS, CLOSED, _check, brute_force

_FLAGS = {a: 1 << i for i, a in enumerate(AGGS)}
_EMPTY = np.empty(0, dtype=np.int64)


def _kernel(ev_k, ev_t, values, sp_k, sp_t, windows, closed, aggs, sorted_path):
    """The kernel on encoded tables: without orders (the grouped spine path) or with both tables'
    sort orders (the sort path, which the grouped path replaces and falls back to)."""
    flags = sum(_FLAGS[a] for a in aggs)
    w = np.asarray(windows, dtype=np.int64)
    if sorted_path:
        return _core.features.window_aggregate(ev_k, ev_t, values, sort_order(ev_k, ev_t), sp_k, sp_t,
                                               sort_order(sp_k, sp_t), w, closed, flags)
    return _core.features.window_aggregate(ev_k, ev_t, values, _EMPTY, sp_k, sp_t, _EMPTY, w, closed, flags)


def _assert_same_bits(got, want):
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(got.view(np.int64), want.view(np.int64)), np.argwhere(got.view(np.int64) != want.view(np.int64))[:5]


def _random_case(rng, sparse):
    """Events of entities with 1-8 events (aggregated directly) and a few of 33-120 (walked), many
    events at one time, NaN values, rows with a missing key (negative codes); a spine with keys
    absent from the events, missing keys, times before, among and after the events', half of them
    exactly at event times."""
    n_small = int(rng.integers(1, 400))
    sizes = np.concatenate([rng.integers(1, 9, n_small), rng.integers(33, 121, int(rng.integers(0, 4)))])
    ent = np.repeat(rng.permutation(sizes.size), sizes).astype(np.int64)
    n = ent.size
    n_times = int(rng.integers(1, 60))
    t = rng.integers(0, n_times, n)
    ent[rng.random(n) < 0.03] = -1
    ent[rng.random(n) < 0.01] = np.iinfo(np.int64).min
    vals = []
    for _ in range(int(rng.integers(1, 4))):
        v = np.round(rng.normal(0, 10, n), 2)
        v[rng.random(n) < 0.15] = np.nan
        vals.append(v)
    m = int(rng.integers(1, 2 * n + 2))
    q_ent = rng.integers(-1, sizes.size + 30, m)  # up to 30 entities without events; -1: a missing key
    q_t = rng.integers(-3, n_times + 3, m)
    at_event = rng.random(m) < 0.5
    q_t[at_event] = rng.choice(t, int(at_event.sum()))
    perm = rng.permutation(n)
    ent, t, vals = ent[perm], t[perm], [v[perm] for v in vals]
    if sparse:  # spread over the int64 range: numbered by the events' dictionary
        ent = np.where(ent >= 0, ent * np.int64(1_000_000_000_000) + 7, ent)
        q_ent = np.where(q_ent >= 0, q_ent * np.int64(1_000_000_000_000) + 7, q_ent)
    return ent, t, vals, q_ent.astype(np.int64), q_t.astype(np.int64)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("sparse", [False, True])
def test_grouped_spine_equals_the_sort_path_bit_for_bit(sparse, threads):
    rng = np.random.default_rng(1000 + 7 * sparse + threads)
    aggs_choices = [AGGS, ["count"], ["sum", "last"], ["min", "max", "mean"]]  # the table lent, or not
    try:
        mlsd.set_num_threads(threads)
        for case in range(12):
            ent, t, vals, q_ent, q_t = _random_case(rng, sparse)
            windows = [int(x) for x in rng.integers(1, 40, int(rng.integers(1, 4)))]
            windows = list(dict.fromkeys(windows))  # distinct, not in size order
            aggs = aggs_choices[case % len(aggs_choices)]
            for closed in CLOSED:
                got = _kernel(ent, t, vals, q_ent, q_t, windows, closed, aggs, sorted_path=False)
                want = _kernel(ent, t, vals, q_ent, q_t, windows, closed, aggs, sorted_path=True)
                _assert_same_bits(got, want)
    finally:
        mlsd.set_num_threads(None)


def _frames(rng, n_entities=40, n=900, m=600, sparse=False):
    k = rng.integers(0, n_entities, n)
    k[:120] = 0  # one entity of more than 32 events: walked
    ev = pd.DataFrame({"k": pd.array(k).astype("Int64"), "t": rng.integers(0, 300, n),
                       "v": np.round(rng.normal(0, 5, n), 2), "w": rng.integers(-3, 3, n).astype(float)})
    ev.loc[rng.random(n) < 0.1, "v"] = np.nan
    ev.loc[rng.random(n) < 0.02, "k"] = pd.NA
    sp = pd.DataFrame({"k": pd.array(rng.integers(0, n_entities + 5, m)).astype("Int64"),
                       "t": rng.integers(-5, 305, m)}, index=rng.permutation(m) + 1000)
    sp.loc[sp.index[:m // 3], "t"] = rng.choice(ev["t"].to_numpy(), m // 3)
    sp.loc[sp.index[rng.random(m) < 0.03], "k"] = pd.NA
    if sparse:
        ev["k"] = ev["k"] * np.int64(10**12) + 7
        sp["k"] = sp["k"] * np.int64(10**12) + 7
    return ev.sample(frac=1, random_state=int(rng.integers(1 << 30))), sp


@pytest.mark.parametrize("closed", CLOSED)
@pytest.mark.parametrize("sparse", [False, True])
def test_grouped_spine_equals_brute_force_in_the_spines_row_order(sparse, closed):
    rng = np.random.default_rng(31 + sparse)
    ev, sp = _frames(rng, sparse=sparse)
    windows = [7, 1, 60]
    got = window_aggregate(ev, by="k", on="t", values=["v", "w"], windows=windows, at=sp, closed=closed)
    assert got.index.equals(sp.index) and list(got.columns[:2]) == ["k", "t"]
    keyed_ev = ev[ev["k"].notna()].astype({"k": np.int64})
    keyed = sp["k"].notna().to_numpy()
    want = brute_force(keyed_ev, sp[keyed].astype({"k": np.int64}), ["v", "w"], windows, AGGS, closed)
    _check(got[keyed], want)
    counts = [c for c in got.columns if "_count_" in c]
    assert (got.loc[~keyed, counts] == 0).all().all()
    assert got.loc[~keyed, [c for c in got.columns[2:] if c not in counts]].isna().all().all()


def test_an_entity_larger_than_the_grouping_limit_takes_the_sort_path_with_the_same_bits():
    """An entity of 70,000 events (more than the 65,536 the counting scatter groups in cache): the
    grouping gives up and the spine is sorted instead; the numbers are those of the sort path, and
    those of the grouped path once the large entity is left out."""
    rng = np.random.default_rng(4)
    n_big, n_small, m = 70_000, 3_000, 4_000
    ent = np.concatenate([np.zeros(n_big, np.int64), rng.integers(1, 500, n_small)])
    t = rng.integers(0, 5_000, ent.size)
    v = np.round(rng.normal(0, 10, ent.size), 2)
    v[rng.random(ent.size) < 0.1] = np.nan
    q_ent = rng.integers(0, 520, m)
    q_t = rng.integers(0, 5_000, m)
    windows = [10, 1, 300]
    got = _kernel(ent, t, [v], q_ent, q_t, windows, "left", AGGS, sorted_path=False)
    want = _kernel(ent, t, [v], q_ent, q_t, windows, "left", AGGS, sorted_path=True)
    _assert_same_bits(got, want)
    small = ent > 0
    rest = q_ent > 0  # the other entities' queries, through the grouped path without the large one
    grouped = _kernel(ent[small], t[small], [v[small]], q_ent[rest], q_t[rest], windows, "left", AGGS, sorted_path=False)
    _assert_same_bits(grouped, want[:, rest])


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("n_events", [20, 2_000])  # a direct entity, a walked one
def test_an_entity_with_more_spine_rows_than_the_parallel_sort_threshold_gives_the_sort_paths_bits(threads, n_events):
    """One entity holding 150,000 spine rows, many at tied times (its queries are sorted by
    tbb::parallel_sort past 65,536 rows, by one task below): the same bits as the sort path, and
    equal to the brute force on a sample of rows."""
    rng = np.random.default_rng(11)
    m = 150_000
    ent = np.concatenate([np.zeros(n_events, np.int64), rng.integers(1, 50, 500)])
    t = rng.integers(0, 2_000, ent.size)
    v = np.round(rng.normal(0, 10, ent.size), 2)
    q_ent = np.where(rng.random(m) < 0.9, 0, rng.integers(1, 60, m))
    q_t = rng.integers(0, 2_000, m)  # 2,000 times: many queries tied at each
    windows = [50, 400]
    old = mlsd.get_num_threads()
    mlsd.set_num_threads(threads)
    try:
        got = _kernel(ent, t, [v], q_ent, q_t, windows, "left", AGGS, sorted_path=False)
    finally:
        mlsd.set_num_threads(old)
    want = _kernel(ent, t, [v], q_ent, q_t, windows, "left", AGGS, sorted_path=True)
    _assert_same_bits(got, want)
    rows = rng.choice(m, 300, replace=False)
    ev = pd.DataFrame({"k": ent, "t": t, "v": v})
    sp = pd.DataFrame({"k": q_ent[rows], "t": q_t[rows]})
    _check(window_aggregate(ev, by="k", on="t", values="v", windows=windows, aggs=AGGS, at=sp),
           brute_force(ev, sp, ["v"], windows, AGGS, "left"))


@pytest.mark.parametrize("sparse", [False, True])
def test_grouped_spine_gives_the_same_bits_for_any_thread_count(sparse):
    rng = np.random.default_rng(8)
    sizes = rng.integers(1, 45, 4_000)  # some entities above 32 events: walked
    k = np.repeat(np.arange(sizes.size), sizes)
    ev = pd.DataFrame({"k": k, "t": rng.integers(0, 20_000, k.size), "v": rng.normal(0, 1, k.size)}).sample(
        frac=1, random_state=3)
    sp = pd.DataFrame({"k": rng.integers(0, sizes.size + 100, 60_000), "t": rng.integers(0, 20_000, 60_000)})
    if sparse:
        ev["k"] = ev["k"] * np.int64(10**12) + 7
        sp["k"] = sp["k"] * np.int64(10**12) + 7
    try:
        mlsd.set_num_threads(1)
        one = window_aggregate(ev, by="k", on="t", values="v", windows=[10, 1_000], at=sp)
        mlsd.set_num_threads(2)
        two = window_aggregate(ev, by="k", on="t", values="v", windows=[10, 1_000], at=sp)
    finally:
        mlsd.set_num_threads(None)
    pd.testing.assert_frame_equal(one, two, check_exact=True)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("values", ["v", ["w", "v"]])
def test_an_infinite_value_is_refused_naming_the_first_row(sparse, values):
    rng = np.random.default_rng(6)
    ev, sp = _frames(rng, sparse=sparse)
    ev = ev.reset_index(drop=True)
    ev.loc[[70, 12], "v"] = [np.inf, -np.inf]
    with pytest.raises(ValueError, match=r"window_aggregate: .*values must be finite or NaN; row 12 holds an infinite"):
        window_aggregate(ev, by="k", on="t", values=values, windows=[3, 9], at=sp)
    ev.loc[[70, 12], "v"] = 1.0
    ev.loc[5, "k"] = pd.NA  # a row without a key is checked too
    ev.loc[5, "v"] = np.inf
    with pytest.raises(ValueError, match=r"values must be finite or NaN; row 5 holds an infinite"):
        window_aggregate(ev, by="k", on="t", values=values, windows=[3, 9], at=sp)


def test_a_spine_of_events_equals_the_events_themselves():
    """at= the events' own keys and times (other arrays: the spine path) gives the self path's bits."""
    rng = np.random.default_rng(12)
    ev, _ = _frames(rng, n=3_000)
    for closed in CLOSED:
        own = window_aggregate(ev, by="k", on="t", values=["v", "w"], windows=[5, 50], closed=closed)
        spine = window_aggregate(ev, by="k", on="t", values=["v", "w"], windows=[5, 50], closed=closed,
                                 at=ev[["k", "t"]].copy())
        pd.testing.assert_frame_equal(own, spine.assign(v=ev["v"], w=ev["w"])[own.columns], check_exact=True)


def test_sums_of_values_of_every_magnitude_are_exact_to_rounding():
    """Values spanning 10**-30 to 10**30 with random signs, so that frames cancel: every spine
    row's sum is within one ulp of the exact sum (math.fsum of its frame), on the direct frames
    and on the walk (an entity of 200 events)."""
    import math

    rng = np.random.default_rng(17)
    n, m = 20_000, 3_000
    ent = rng.integers(0, 2_000, n)
    ent[:200] = 5  # walked
    t = rng.integers(0, 1_000, n)
    v = rng.choice([-1.0, 1.0], n) * np.exp(rng.normal(0.0, 12.0, n))
    q_ent = rng.integers(0, 2_000, m)
    q_ent[:100] = 5
    q_t = rng.integers(0, 1_000, m)
    windows = [50, 1_000]
    got = _kernel(ent, t, [v], q_ent, q_t, windows, "left", ["sum"], sorted_path=False)
    for wi, w in enumerate(windows):
        for q in range(m):
            frame = v[(ent == q_ent[q]) & (t >= q_t[q] - w) & (t < q_t[q])]
            if frame.size == 0:
                assert np.isnan(got[wi, q])
                continue
            exact = math.fsum(frame)
            assert abs(got[wi, q] - exact) <= math.ulp(exact), (q, w, got[wi, q], exact)


# Frames (in time order) whose compensated sum ends within its compensation's rounding of the
# midpoint between two doubles: summed left to right or right to left, Neumaier's sum rounds to the
# wrong neighbour (7215570046358548 and -7.069719215450153e26), while the sorted walk's running sum
# happened to give the exact sum of the first.
_MIDPOINT_FRAMES = [
    [-590428768727196.5, 2.991637290907816e-17, 7188129210471838.0, 617869604613907.0],
    [-8.69949090358948e-17, -6.695952603924613e-30, 4.913038915992929e+26, 9.691848181893051e-19,
     -1.1982758131443083e+27],
]


@pytest.mark.parametrize("frame", _MIDPOINT_FRAMES)
def test_a_direct_frame_whose_compensated_sum_ends_near_a_midpoint_is_the_exact_sum_rounded_once(frame):
    import math

    v = np.array(frame)
    n = v.size
    ent, t = np.zeros(n, np.int64), np.arange(n, dtype=np.int64)
    exact = math.fsum(frame)
    spine = _kernel(ent, t, [v], np.zeros(1, np.int64), np.array([n]), [100], "left", ["sum", "mean"], sorted_path=False)
    assert spine[0, 0] == exact and spine[1, 0] == exact / n
    walked = _kernel(ent, t, [v], np.zeros(1, np.int64), np.array([n]), [100], "left", ["sum"], sorted_path=True)
    assert abs(spine[0, 0] - exact) <= abs(walked[0, 0] - exact)  # never worse than the sort path
    # the events themselves: the frame of an event after them
    own = window_aggregate(pd.DataFrame({"k": np.zeros(n + 1, np.int64), "t": np.arange(n + 1), "v": np.append(v, 0.0)}),
                           by="k", on="t", values="v", windows=[100], aggs=["sum"])
    assert own["v_sum_100"].iloc[-1] == exact


@pytest.mark.parametrize("closed", CLOSED)
def test_direct_sums_of_values_of_every_magnitude_are_the_exact_sums_rounded_once(closed):
    """Values spanning 10**-30 to 10**30 with random signs, and integers of 53-54 bits (whose sums
    fall on midpoints between doubles) among values below 10**-17, in entities of at most 32 events
    (the direct frames, spine and self path): every sum is math.fsum of its frame, bit for bit, so
    never farther from it than the sort path's running sums."""
    import math

    rng = np.random.default_rng(23)
    n, m = 6_000, 3_000
    ent = rng.integers(0, 600, n)  # about 10 events per entity
    t = rng.integers(0, 200, n)
    kind = rng.integers(0, 3, n)
    v = rng.choice([-1.0, 1.0], n) * np.select([kind == 0, kind == 1], [
        np.exp(rng.normal(0.0, 16.0, n)), rng.integers(2**52, 2**54, n).astype(float)], rng.random(n) * 1e-17)
    v[rng.random(n) < 0.1] = np.nan
    q_ent = rng.integers(0, 600, m)
    q_t = rng.integers(0, 200, m)
    windows = [5, 50, 1_000]
    lo_closed, hi_closed = closed in ("left", "both"), closed in ("right", "both")
    got = _kernel(ent, t, [v], q_ent, q_t, windows, closed, ["sum"], sorted_path=False)
    own = _kernel(ent, t, [v], ent, t, windows, closed, ["sum"], sorted_path=False)
    walked = _kernel(ent, t, [v], q_ent, q_t, windows, closed, ["sum"], sorted_path=True)
    order = np.argsort(t, kind="stable")
    by_entity = {e: order[ent[order] == e] for e in range(600)}

    def frame(e, at, w):
        rows = by_entity[e]
        tt = t[rows]
        keep = ((tt >= at - w) if lo_closed else (tt > at - w)) & ((tt <= at) if hi_closed else (tt < at))
        x = v[rows[keep]]
        return x[~np.isnan(x)]

    for wi, w in enumerate(windows):
        for q in range(m):
            x = frame(q_ent[q], q_t[q], w)
            if x.size:
                exact = math.fsum(x)
                assert got[wi, q] == exact, (q, w, got[wi, q], exact)
                assert abs(got[wi, q] - exact) <= abs(walked[wi, q] - exact)
        for i in range(0, n, 3):
            x = frame(ent[i], t[i], w)
            if x.size:
                assert own[wi, i] == math.fsum(x), (i, w, own[wi, i])


def _values_of_every_magnitude(rng, n):
    """Values of 10**-30 to 10**30, integers of 53-54 bits and values below 10**-17, random signs:
    frames whose sums running sums and compensated sums round differently."""
    kind = rng.integers(0, 3, n)
    return rng.choice([-1.0, 1.0], n) * np.select([kind == 0, kind == 1], [
        np.exp(rng.normal(0.0, 16.0, n)), rng.integers(2**52, 2**54, n).astype(float)], rng.random(n) * 1e-17)


def test_an_entity_larger_than_the_grouping_limit_leaves_the_other_entities_sums_unchanged():
    """Whether some entity has more than 65,536 events (the grouping gives up and both tables are
    sorted) does not change the other entities' numbers: on values of every magnitude, the small
    entities' sums are those of the grouped path without the large entity, bit for bit, and those
    of the sort path given the orders."""
    rng = np.random.default_rng(41)
    n_big, n_small, m = 70_000, 4_000, 6_000
    ent = np.concatenate([np.zeros(n_big, np.int64), rng.integers(1, 400, n_small)])
    t = rng.integers(0, 2_000, ent.size)
    v = _values_of_every_magnitude(rng, ent.size)
    q_ent = rng.integers(1, 420, m)
    q_t = rng.integers(0, 2_000, m)
    windows = [10, 300]
    small = ent > 0
    alone = _kernel(ent[small], t[small], [v[small]], q_ent, q_t, windows, "left", AGGS, sorted_path=False)
    with_big = _kernel(ent, t, [v], q_ent, q_t, windows, "left", AGGS, sorted_path=False)
    sorted_ = _kernel(ent[small], t[small], [v[small]], q_ent, q_t, windows, "left", AGGS, sorted_path=True)
    _assert_same_bits(with_big, alone)
    _assert_same_bits(sorted_, alone)
