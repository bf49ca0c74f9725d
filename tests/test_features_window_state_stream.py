"""WindowState fed many small batches: every lookup equals window_aggregate offline over the events
accepted so far, its dict equals that of a state built in one batch, through lateness, ties, evictions,
merges and reloads; and the upkeep of a small batch does not grow with the events held."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from mlsd.features import WindowState, window_aggregate

NAMES = ["a", "b", "c"]
LATENESS = 6


def _keys(ent: np.ndarray, form: str):
    """Entity numbers as the key form under test: integers, strings, or two columns in a DataFrame."""
    if form == "int":
        return ent
    if form == "str":
        return np.array([f"user-{e}" for e in ent], dtype=object)
    return pd.DataFrame({"user": ent % 7, "ad": np.array([f"ad{e // 7}" for e in ent], dtype=object)})


def _rows(keys, rows):
    return keys.iloc[rows].reset_index(drop=True) if isinstance(keys, pd.DataFrame) else keys[rows]


def _table(keys) -> pd.DataFrame:
    return keys.reset_index(drop=True) if isinstance(keys, pd.DataFrame) else pd.DataFrame({"k": keys})


def _offline(keys, t, v, q_keys, q_t, windows, closed):
    """window_aggregate over events given in arrival order (``last`` takes the last of a tie in row order)."""
    ev, spine = _table(keys), _table(q_keys)
    by = list(ev.columns)
    ev = ev.assign(t=t, **{n: v[:, j] for j, n in enumerate(NAMES)})
    out = window_aggregate(ev, by=by, on="t", values=NAMES, windows=windows, at=spine.assign(t=q_t), closed=closed)
    return out.drop(columns=[*by, "t"]).reset_index(drop=True)


def _dict_without_late(state: WindowState) -> tuple[dict, int]:
    d = state.to_dict()
    return d, d.pop("n_late")


@pytest.mark.parametrize("closed", ["left", "right", "both", "neither"])
@pytest.mark.parametrize("form", ["int", "str", "multi"])
@pytest.mark.parametrize("seed", range(2))
def test_many_small_batches_equal_offline_and_one_batch(seed, form, closed):
    rng = np.random.default_rng(1000 * seed + 17 * len(form) + len(closed))
    n = 2500
    t = np.cumsum(rng.integers(0, 3, n))  # many events at one time
    # Two busy entities (more than 32 events in their frames: the kernel walks them with running
    # sums) and others that move on with time (old ones are forgotten).
    ent = np.where(rng.random(n) < 0.5, rng.integers(0, 2, n), 2 + rng.integers(0, 40, n) + (t // 300) * 40)
    # Arrival: out of time order by up to twice the allowed lateness, so some events come late.
    arrival = np.argsort(t + rng.uniform(0, 2 * LATENESS, n), kind="stable")
    t, ent = t[arrival], ent[arrival]
    v = np.round(rng.normal(size=(n, 3)), 2)
    v[:, 2] = rng.choice([-1.0, 1.0], n) * np.exp(rng.normal(0.0, 12.0, n))  # of every magnitude
    v[rng.random((n, 3)) < 0.1] = np.nan
    keys = _keys(ent, form)
    windows = [4, 30, 200]
    kw = dict(windows=windows, closed=closed, names=NAMES, allowed_lateness=LATENESS, on_late="count")
    state = WindowState.from_arrays(_rows(keys, np.arange(0)), t[:0], v[:0], **kw)
    accepted = np.zeros(n, dtype=bool)
    top, n_late, seen_lazy = None, 0, False
    cuts = np.unique(np.concatenate([[0, n], np.cumsum(rng.integers(1, 20, n))]))
    cuts = cuts[cuts <= n]
    i = 0
    while i < len(cuts) - 1:
        merge_part = rng.random() < 0.04
        j = min(i + (int(rng.integers(2, 8)) if merge_part else 1), len(cuts) - 1)
        part = WindowState.from_arrays(_rows(keys, np.arange(0)), t[:0], v[:0], **kw) if merge_part else state
        for a, b in zip(cuts[i:j], cuts[i + 1:j + 1]):
            rows = np.arange(a, b)
            wm = None if top is None else top - LATENESS
            late = np.zeros(rows.size, dtype=bool) if wm is None else t[rows] < wm
            if merge_part:  # a consecutive stretch of the stream in a state of its own: only what the whole accepts
                rows = rows[~late]
            else:
                n_late += int(late.sum())
            part.update(_rows(keys, rows), t[rows], v[rows])
            kept = rows if merge_part else rows[~late]
            accepted[kept] = True
            if kept.size:
                top = int(t[kept].max()) if top is None else max(top, int(t[kept].max()))
        if merge_part:
            state = state.merge(part)
        i = j
        done = np.flatnonzero(accepted)  # in arrival order
        if top is None:
            continue
        wm = top - LATENESS
        assert state.watermark == wm
        horizon = wm - max(windows)
        live = done[t[done] >= horizon]
        res = state.result()
        assert (res.n_events, res.n_late, res.max_time) == (live.size, n_late, top)
        assert res.n_entities == len(_table(_rows(keys, live)).drop_duplicates())
        seen_lazy |= state._n_held > res.n_events  # evicted events still held, unseen
        if rng.random() < 0.3:
            q = np.concatenate([ent[rng.choice(done, 12)], [-3, 10**6]])  # and entities never seen
            q_t = wm + rng.integers(0, 40, q.size)
            got = state.lookup(_keys(q, form), q_t)
            want = _offline(_rows(keys, done), t[done], v[done], _keys(q, form), q_t, windows, closed)
            benign = [c for c in got.columns if not c.startswith("c_")]
            pd.testing.assert_frame_equal(got[benign], want[benign], check_exact=True)
            # Bit for bit what the events an eager eviction keeps give: a busy entity's running
            # sums start from its first event kept (over values of every magnitude, the sums of
            # all its events would round differently: the class docstring's one exception).
            want = _offline(_rows(keys, live), t[live], v[live], _keys(q, form), q_t, windows, closed)
            pd.testing.assert_frame_equal(got, want, check_exact=True)
        if rng.random() < 0.1:
            whole = WindowState.from_arrays(_rows(keys, done), t[done], v[done], **kw)
            d, late_count = _dict_without_late(state)
            assert d == _dict_without_late(whole)[0] and late_count == n_late
        if rng.random() < 0.05:
            state = WindowState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert seen_lazy and n_late > 0 and accepted.sum() > n // 2
    done = np.flatnonzero(accepted)
    d, late_count = _dict_without_late(state)
    assert d == _dict_without_late(WindowState.from_arrays(_rows(keys, done), t[done], v[done], **kw))[0]
    assert late_count == n_late


def test_ties_across_batches_take_the_last_arrival():
    """Events of one entity at one time that arrive in different batches sit in different runs
    of the state: ``last`` must still take the last to arrive, and the sums see them all."""
    rng = np.random.default_rng(3)
    n = 400
    t = np.repeat(np.arange(n // 20), 20)
    ent = rng.integers(0, 4, n)
    v = rng.normal(size=n).round(3)
    aggs = ["last", "sum", "count"]
    state = WindowState.from_arrays(ent[:200], t[:200], v[:200], windows=[3, 12], aggs=aggs, closed="both")
    runs = []
    for a in range(200, n, 3):
        state.update(ent[a:a + 3], t[a:a + 3], v[a:a + 3])
        runs.append(1 + len(state._recent))
        q, now = np.arange(5), t[min(a + 2, n - 1)]  # frames up to and including the latest time
        ev = pd.DataFrame({"k": ent[:a + 3], "t": t[:a + 3], "value": v[:a + 3]})
        want = window_aggregate(ev, by="k", on="t", values="value", windows=[3, 12], aggs=aggs,
                                at=pd.DataFrame({"k": q, "t": now}), closed="both")
        pd.testing.assert_frame_equal(state.lookup(q, now), want[state.feature_names], check_exact=True)
    assert max(runs) >= 3  # the lookups did read several runs


def _upkeep_per_event(n_held: int, n_batches: int, batch: int) -> tuple[float, WindowState, tuple]:
    """Rows read or written by the state's upkeep per event streamed, for a state holding
    ``n_held`` events fed ``n_batches`` batches of ``batch`` events in time order (each batch
    moves the horizon past about as many events as it brings)."""
    rng = np.random.default_rng(n_held)
    n = n_held + n_batches * batch
    t = np.arange(n, dtype=np.int64) // 2
    ent = rng.integers(0, n_held // 8, n)
    v = rng.normal(size=n)
    state = WindowState.from_arrays(ent[:n_held], t[:n_held], v[:n_held], windows=[n_held // 2])
    before = state._n_touched
    for a in range(n_held, n, batch):
        state.update(ent[a:a + batch], t[a:a + batch], v[a:a + batch])
    return (state._n_touched - before) / (n_batches * batch), state, (ent, t, v)


def test_upkeep_of_small_batches_does_not_grow_with_the_events_held():
    """Counted, not timed: the rows that merging runs, checking for expired events and evicting
    them read or write per streamed event stay a small multiple of log2(batches), whether the
    state holds 2,000 or 64,000 events (slotting each batch into one sorted array, and evicting
    at every batch, touched every held event per batch: 6,400 rows per event here at 64,000)."""
    n_batches, batch = 300, 10
    small, s_state, (ent, t, v) = _upkeep_per_event(2_000, n_batches, batch)
    large, l_state, _ = _upkeep_per_event(64_000, n_batches, batch)
    bound = 2 * math.log2(n_batches) + 16
    assert small < bound and large < bound and large < 2 * small
    # the small state did evict on the way (its held events stay near its live ones) ...
    res = s_state.result()
    assert res.n_events == int((t >= t[-1] - 1_000).sum()) and s_state._n_held < 1.5 * res.n_events
    # ... and answers as before
    q = np.arange(0, 250, 7)
    ev = pd.DataFrame({"k": ent, "t": t, "value": v})
    want = window_aggregate(ev, by="k", on="t", values="value", windows=[1_000], at=pd.DataFrame({"k": q, "t": t[-1]}))
    pd.testing.assert_frame_equal(s_state.lookup(q, t[-1]), want[s_state.feature_names], check_exact=True)


def test_integer_times_and_keys_of_every_width_read_alike():
    """Signed integer times and keys (a 1-D array) of any width are read as int64 directly (not
    through pandas tables, a fixed cost per batch): the same state as int64 ones, and lookups equal
    offline; unsigned ones, and times of the other kind, still go through the family's rules."""
    rng = np.random.default_rng(9)
    n = 600
    t = np.cumsum(rng.integers(0, 2, n))
    ent = rng.integers(0, 9, n)
    v = rng.normal(size=n)
    ref = WindowState.from_arrays(ent, t, v, windows=[5, 40])
    for dtype in (np.int16, np.int32, np.uint16):
        s = WindowState.from_arrays(ent[:100].astype(dtype), t[:100].astype(dtype), v[:100], windows=[5, 40])
        for a in range(100, n, 50):
            s.update(ent[a:a + 50].astype(dtype), t[a:a + 50].astype(dtype), v[a:a + 50])
        assert s.to_dict() == ref.to_dict()
        q = np.arange(10)
        got = s.lookup(q.astype(dtype), np.full(q.size, t[-1], dtype=dtype))
        want = window_aggregate(pd.DataFrame({"k": ent, "t": t, "value": v}), by="k", on="t", values="value",
                                windows=[5, 40], at=pd.DataFrame({"k": q, "t": t[-1]}))
        pd.testing.assert_frame_equal(got, want[s.feature_names], check_exact=True)
    with pytest.raises(ValueError, match="WindowState.update: times column 't' of times has times above"):
        s.update(ent[:1], np.array([2**63], dtype=np.uint64), v[:1])
    with pytest.raises((TypeError, ValueError), match="WindowState.update: times"):
        s.update(ent[:1], np.array(["2024-01-01"], dtype="datetime64[s]"), v[:1])
    with pytest.raises(ValueError, match="WindowState.update: by column 'keys' of keys has keys above 2"):
        s.update(np.array([2**63], dtype=np.uint64), t[-1:], v[:1])
    with pytest.raises(ValueError, match="WindowState.update: keys must be of the kind the state holds"):
        s.update(np.array(["a"], dtype=object), t[-1:], v[:1])


def test_keys_of_late_events_do_not_pile_up():
    """Late events dropped (on_late="count") still named entities; with a window so long that
    nothing expires, their keys must be forgotten all the same (the dictionary stays within a
    small multiple of the events held), and the state keeps answering as offline."""
    rng = np.random.default_rng(12)
    state = WindowState.from_arrays(np.arange(10), np.arange(10), np.ones(10), windows=[10**9], allowed_lateness=0,
                                    on_late="count")
    ent, t, v = [np.arange(10)], [np.arange(10)], [np.ones(10)]
    most = 0
    for i in range(200):
        now = 10 + i
        k = np.concatenate([rng.integers(0, 10, 2), 10**6 + 50 * i + np.arange(50)])  # 50 late events, new keys
        tt = np.concatenate([[now, now], np.zeros(50, dtype=np.int64)])
        vv = rng.normal(size=52)
        state.update(k, tt, vv)
        ent.append(k[:2]), t.append(tt[:2]), v.append(vv[:2])
        most = max(most, len(state._entity_keys))
    assert most < 2_000  # of the 10,010 keys seen
    assert state.result().n_late == 200 * 50 and state.result().n_entities == 10
    ent, t, v = np.concatenate(ent), np.concatenate(t), np.concatenate(v)
    q = np.array([0, 3, 9, 10**6])
    want = window_aggregate(pd.DataFrame({"k": ent, "t": t, "value": v}), by="k", on="t", values="value",
                            windows=[10**9], at=pd.DataFrame({"k": q, "t": t[-1]}))
    pd.testing.assert_frame_equal(state.lookup(q, t[-1]), want[state.feature_names], check_exact=True)


def test_expired_events_are_dropped_when_time_moves_on_without_many_events():
    """Events expire when the watermark moves, not when events arrive: a state of 40,000 events
    then fed one event per batch far ahead in time must drop the expired ones within a batch of
    their reaching a quarter of those held (the held events stay below 1.4 times the live ones
    plus a few per run, the class docstring's bound), not after another 5,000 events."""
    n = 40_000
    state = WindowState.from_arrays(np.arange(n) % 1_000, np.zeros(n, dtype=np.int64), np.ones(n), windows=[10])
    ent, t = [np.arange(n) % 1_000], [np.zeros(n, dtype=np.int64)]
    for i in range(1, 200):
        state.update(np.array([i % 7]), np.array([100 * i]), np.ones(1))
        ent.append(np.array([i % 7])), t.append(np.array([100 * i]))
        live = state.result().n_events
        assert state._n_held < 1.4 * live + 2 * (1 + len(state._recent))
    ent, t = np.concatenate(ent), np.concatenate(t)
    q = np.arange(8)
    want = window_aggregate(pd.DataFrame({"k": ent, "t": t, "value": np.ones(t.size)}), by="k", on="t",
                            values="value", windows=[10], at=pd.DataFrame({"k": q, "t": t[-1]}))
    pd.testing.assert_frame_equal(state.lookup(q, t[-1]), want[state.feature_names], check_exact=True)
