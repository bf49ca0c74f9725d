"""The one state test of the contract (issue 13): for EVERY mergeable state of mlsd (``ScoreTable``
exact, with ties, weighted and binned; ``LogLossSums`` plain and weighted; ``abtest.Stats`` with
each set of roles, unbatched and batched), random uneven partitions -- empty and one-row parts
included -- merged in a random order with ``merge(*others)``, ``+`` and ``sum()``, and updated
batch by batch, equal the state of the whole; and ``from_dict(json.loads(json.dumps(s.to_dict())))``
gives back the same state exactly.  A state reachable from the public API without a spec here
fails ``test_every_public_state_has_a_spec``.

Each state is described by a :class:`StateSpec` (how to draw rows, build a state from rows,
update it, compare two states); the checks are written once, against the spec."""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np
import pandas as pd
import pytest

import mlsd
import mlsd.abtest as ab
import mlsd.features
import mlsd.hashing
import mlsd.metrics as M
import mlsd.monitoring as MON
import mlsd.retrieval
from mlsd._state import MergeableState


@dataclass
class StateSpec:
    """How the common state checks build and compare one kind of state.

    ``rows(rng)`` draws a data set (a dict of arrays with the same first axis, the rows);
    ``build(**rows)`` is the state's ``from_arrays``; ``update(state, **rows)`` its ``update``
    (None where the state takes no rows, as a batched Stats); ``same(a, b, exact)`` asserts two
    states hold the same summary (exactly when ``exact``, else to rounding).  ``exact`` says
    whether a merge is exact; ``empty_start`` whether streaming may start from the state of no
    rows (a binned table takes its bins from its first rows)."""

    name: str
    cls: type
    rows: Callable[[np.random.Generator], dict]
    build: Callable[..., Any]
    update: Optional[Callable[..., Any]]
    same: Callable[[Any, Any, bool], None]
    exact: bool
    empty_start: bool = True


# ---- ScoreTable, LogLossSums ------------------------------------------------------------------

def _same_table(a, b, exact):
    np.testing.assert_array_equal(a.score, b.score)
    tol = dict(rtol=0, atol=0) if exact else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.positive, b.positive, **tol)
    np.testing.assert_allclose(a.negative, b.negative, **tol)
    assert a.bins == b.bins
    if exact and a.positive.sum() > 0 and a.negative.sum() > 0:
        assert a.roc_auc_score() == b.roc_auc_score()
        assert a.average_precision_score() == b.average_precision_score()


def _same_sums(a, b, exact):
    assert a.eps == b.eps
    for f in ("loss", "weight", "positive"):
        assert getattr(a, f) == (getattr(b, f) if exact else pytest.approx(getattr(b, f), rel=1e-12, abs=1e-12))


def _binary_rows(weighted, discrete=False):
    def rows(rng):
        n = int(rng.integers(200, 2000))
        y = rng.random(n) < 0.3
        s = rng.normal(size=n) + y
        s = np.round(s, 1) if discrete else s
        out = {"y_true": y, "y_score": s}
        if weighted:
            out["sample_weight"] = rng.uniform(0, 2, n)
        return out
    return rows


def _prob_rows(weighted):
    def rows(rng):
        r = _binary_rows(weighted)(rng)
        r["y_prob"] = 1 / (1 + np.exp(-r.pop("y_score")))
        return r
    return rows


# ---- Stats ------------------------------------------------------------------------------------

ROLES = [("y",), ("y", "denominator"), ("y", "covariate"), ("y", "denominator", "covariate", "covariate_denominator")]


def _same_stats(got, want, exact):
    assert got.columns == want.columns and got.shape == want.shape
    np.testing.assert_array_equal(got.n, want.n)
    if exact:
        np.testing.assert_array_equal(got.mean, want.mean)
        np.testing.assert_array_equal(got.comoment, want.comoment)
        return
    np.testing.assert_allclose(got.mean, want.mean, rtol=1e-12, atol=1e-12)
    scale = np.sqrt(np.abs(np.einsum("...ii->...i", want.comoment)))
    np.testing.assert_allclose(got.comoment, want.comoment, rtol=1e-10,
                               atol=1e-10 * (1 + float(np.max(scale, initial=0)) ** 2))


def _stats_rows(roles, batch=None):
    """Rows of each role, in (n,) or, for a batch of ``batch`` Stats, (n, batch); n may be 0."""
    def rows(rng):
        n = int(rng.integers(0, 400))
        shape = (n,) if batch is None else (n, batch)
        return {r: rng.normal(rng.uniform(-5, 5), rng.uniform(0.1, 3), shape) for r in roles}
    return rows


def _stats_batch(**rows):
    """A batch of Stats, one per column of the rows."""
    width = next(iter(rows.values())).shape[1]
    return ab.Stats.stack([ab.Stats.from_arrays(**{r: v[:, j] for r, v in rows.items()}) for j in range(width)])


# ---- WindowState ------------------------------------------------------------------------------

def _window_rows(rng):
    """Events with distinct times (so that ``last`` has no ties across parts), in random order,
    with NaN values; any lateness is allowed, as the parts arrive in any order."""
    n = int(rng.integers(0, 300))
    v = rng.normal(size=(n, 2))
    v[rng.random((n, 2)) < 0.1] = np.nan
    return {"keys": rng.integers(0, 12, n), "times": rng.permutation(4 * n)[:n], "values": v}


def _window_state(**rows):
    return mlsd.features.WindowState.from_arrays(**rows, windows=[5, 60], allowed_lateness=None)


def _window_rows_two_keys(rng):
    """As _window_rows, with entities of two key columns (integers and strings) in a DataFrame."""
    rows = _window_rows(rng)
    n = len(rows["keys"])
    rows["keys"] = pd.DataFrame({"user": rows["keys"],
                                 "ad": np.array([f"a{i}" for i in rng.integers(0, 3, n)], dtype=object)})
    return rows


def _same_window_state(a, b, exact):
    da, db = a.to_dict(), b.to_dict()
    events = []
    for d in (da, db):
        cols = {f"k{j}": c for j, c in enumerate(d.pop("keys"))}  # one list per key column
        cols["t"] = d.pop("times")
        cols.update({f"v{j}": c for j, c in enumerate(d.pop("values"))})
        events.append(pd.DataFrame(cols).sort_values(list(cols)).reset_index(drop=True))
    assert da == db  # configuration, latest time, late count
    pd.testing.assert_frame_equal(events[0], events[1], check_exact=True)  # the same events kept
    q = np.arange(12) if len(da["key_names"]) < 2 else pd.DataFrame(
        {"user": np.repeat(np.arange(12), 3), "ad": np.tile(["a0", "a1", "a2"], 12)})
    t = (a.result().max_time or 0) + 1
    pd.testing.assert_frame_equal(a.lookup(q, t), b.lookup(q, t), check_exact=exact, rtol=1e-12)


STATES = [
    # exact: without weights a table's weights are integer counts, added exactly in any order
    StateSpec("ScoreTable", M.ScoreTable, _binary_rows(False), M.ScoreTable.from_arrays, M.ScoreTable.update,
              _same_table, True),
    StateSpec("ScoreTable ties", M.ScoreTable, _binary_rows(False, discrete=True), M.ScoreTable.from_arrays,
              M.ScoreTable.update, _same_table, True),
    StateSpec("ScoreTable weighted", M.ScoreTable, _binary_rows(True), M.ScoreTable.from_arrays, M.ScoreTable.update,
              _same_table, False),
    StateSpec("ScoreTable binned", M.ScoreTable, _binary_rows(True),
              lambda **r: M.ScoreTable.from_arrays(**r, n_bins=32, range=(-3.0, 4.0)), M.ScoreTable.update,
              _same_table, False, empty_start=False),
    StateSpec("LogLossSums", M.LogLossSums, _prob_rows(False), M.LogLossSums.from_arrays, M.LogLossSums.update,
              _same_sums, False),
    StateSpec("LogLossSums weighted", M.LogLossSums, _prob_rows(True), M.LogLossSums.from_arrays,
              M.LogLossSums.update, _same_sums, False),
    *[StateSpec(f"Stats {'+'.join(roles)}", ab.Stats, _stats_rows(roles), ab.Stats.from_arrays, ab.Stats.update,
                _same_stats, False) for roles in ROLES],
    *[StateSpec(f"Stats batch {'+'.join(roles)}", ab.Stats, _stats_rows(roles, batch=3), _stats_batch, None,
                _same_stats, False) for roles in (ROLES[0], ROLES[-1])],
    # exact: a merge keeps the parts' events (sums are recomputed from them at lookup, in time order)
    StateSpec("WindowState", mlsd.features.WindowState, _window_rows, _window_state,
              mlsd.features.WindowState.update, _same_window_state, True),
    StateSpec("WindowState two keys", mlsd.features.WindowState, _window_rows_two_keys, _window_state,
              mlsd.features.WindowState.update, _same_window_state, True),
]

# ---- Profile ----------------------------------------------------------------------------------

def _profile_rows(rng):
    """A numeric column with missing values and ties, a categorical one with missing values."""
    n = int(rng.integers(0, 500))
    x = np.round(rng.normal(size=n), 1)
    x[rng.random(n) < 0.1] = np.nan
    c = rng.choice(np.array(["a", "b", "c", None], dtype=object), n)
    return {"x": x, "c": c}


def _same_profile(a, b, exact):
    assert a.to_dict() == b.to_dict()  # exact either way: sorted values merge, counts add


STATES += [StateSpec("Profile", MON.Profile, _profile_rows, lambda **r: MON.Profile.from_arrays(r, categorical=["c"]),
                     lambda s, **r: s.update(r), _same_profile, True)]


def _same_sketched_profile(a, b, exact):
    """Exactly the same dict where exact (the JSON round trip); else the same counts, the moments to
    rounding and each numeric column's sketched CDFs within the sum of the two rank errors."""
    from mlsd.monitoring import _sketch

    if exact:
        assert a.to_dict() == b.to_dict()
        return
    da, db = a.to_dict(), b.to_dict()
    assert da["sketch"] == db["sketch"] and a.n_rows == b.n_rows
    for ca, cb in zip(da["columns"], db["columns"]):
        assert (ca["name"], ca["kind"], ca["missing"], ca.get("categories")) == \
            (cb["name"], cb["kind"], cb["missing"], cb.get("categories"))
        if ca["kind"] != "numeric":
            continue
        assert ca["moments"][0] == cb["moments"][0]
        np.testing.assert_allclose(ca["moments"][1:], cb["moments"][1:], rtol=1e-9, atol=1e-9)
        sa, sb = a._sketches[ca["name"]], b._sketches[ca["name"]]
        if sa.n == 0:
            continue
        (va, wa), (vb, wb) = _sketch.weighted_items(sa), _sketch.weighted_items(sb)
        grid = np.union1d(va, vb)
        fa = np.r_[0, np.cumsum(wa)][np.searchsorted(va, grid, side="right")] / sa.n
        fb = np.r_[0, np.cumsum(wb)][np.searchsorted(vb, grid, side="right")] / sb.n
        assert np.max(np.abs(fa - fb)) <= _sketch.rank_error(sa) + _sketch.rank_error(sb) + 1e-12
        assert (sa.get_min_value(), sa.get_max_value()) == (sb.get_min_value(), sb.get_max_value())


STATES += [StateSpec("Profile (quantile sketches)", MON.Profile, _profile_rows,
                     lambda **r: MON.Profile.from_arrays(r, categorical=["c"], sketch=16),
                     lambda s, **r: s.update(r), _same_sketched_profile, False)]

# States that are not built from rows, for the JSON round trip only.
OTHER_STATES = {
    "Stats from_counts": lambda: ab.Stats.from_counts([3, 5], [10, 20]),
    "Stats large values": lambda: ab.Stats.from_arrays(np.random.default_rng(1).normal(size=50) * 1e6,
                                                       covariate=np.random.default_rng(2).normal(size=50)),
}


def _partition(rows: dict, rng) -> list[dict]:
    """Random uneven cuts, with empty and (when there are rows) one-row parts."""
    n = len(next(iter(rows.values())))
    cuts = np.sort(np.concatenate([[0, 0, min(n, 1)], rng.integers(0, n + 1, int(rng.integers(2, 9))), [n, n]]))
    return [{k: v[a:b] for k, v in rows.items()} for a, b in zip(cuts[:-1], cuts[1:])]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("spec", STATES, ids=lambda s: s.name)
def test_merge_of_random_partitions_equals_the_whole(spec, seed):
    rng = np.random.default_rng(seed)
    rows = spec.rows(rng)
    whole = spec.build(**rows)
    pieces = _partition(rows, rng)
    assert any(len(next(iter(p.values()))) == 0 for p in pieces)
    states = [spec.build(**p) for p in pieces]
    snapshot = [json.dumps(s.to_dict()) for s in states]
    parts = [states[i] for i in rng.permutation(len(states))]  # a random order
    spec.same(parts[0].merge(*parts[1:]), whole, spec.exact)
    spec.same(sum(parts), whole, spec.exact)
    added = parts[0]
    for p in parts[1:]:
        added = added + p
    spec.same(added, whole, spec.exact)
    assert [json.dumps(s.to_dict()) for s in states] == snapshot  # merging changed none of its inputs
    if spec.update is None:
        return
    # streaming: update in place, batch by batch, in a random order of the batches
    if spec.empty_start:
        streamed, rest = spec.build(**{k: v[:0] for k, v in pieces[0].items()}), pieces
    else:
        streamed, rest = spec.build(**pieces[0]), pieces[1:]
    for i in rng.permutation(len(rest)):
        assert spec.update(streamed, **rest[i]) is streamed
    spec.same(streamed, whole, spec.exact)


def _round_trip_cases():
    for spec in STATES:
        for seed in range(4):
            yield pytest.param(spec, seed, id=f"{spec.name}-{seed}")


@pytest.mark.parametrize("spec, seed", list(_round_trip_cases()))
def test_json_round_trip_is_exact(spec, seed):
    rng = np.random.default_rng(11 + seed)
    rows = spec.rows(rng)
    for state in (spec.build(**rows), spec.build(**{k: v[:0] for k, v in rows.items()})):
        _assert_round_trips(state, spec.same)


@pytest.mark.parametrize("name", list(OTHER_STATES))
def test_json_round_trip_is_exact_for_states_not_built_from_rows(name):
    _assert_round_trips(OTHER_STATES[name](), _same_stats)


def _assert_round_trips(state, same):
    d = state.to_dict()
    assert d["state"] == type(state).__name__
    again = type(state).from_dict(json.loads(json.dumps(d)))
    assert type(again) is type(state)
    same(again, state, True)
    assert again.to_dict() == d


def _public_states():
    """Every MergeableState subclass reachable from the public names of mlsd and its families."""
    import mlsd.dask

    found = set()
    for module in (mlsd, M, ab, mlsd.hashing, mlsd.retrieval, MON, mlsd.dask, mlsd.features):
        for name in getattr(module, "__all__", [n for n in dir(module) if not n.startswith("_")]):
            obj = getattr(module, name, None)
            if inspect.isclass(obj) and issubclass(obj, MergeableState):
                found.add(obj)
    return found


def _mlsd_subclasses(cls=MergeableState):
    """Every subclass of MergeableState defined in mlsd (the test modules' examples left out)."""
    out = set()
    for sub in cls.__subclasses__():
        if sub.__module__.split(".")[0] == "mlsd":
            out.add(sub)
        out |= _mlsd_subclasses(sub)
    return out


def test_every_public_state_has_a_spec():
    covered = {spec.cls for spec in STATES}
    public = _public_states()
    assert public >= {M.ScoreTable, M.LogLossSums, ab.Stats}
    assert public - covered == set(), f"mergeable states without a StateSpec: {public - covered}"
    missing = _mlsd_subclasses() - covered
    assert missing == set(), f"mergeable states without a StateSpec: {missing}"
