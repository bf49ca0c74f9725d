"""mlsd.dask.point_in_time_join and window_aggregate shuffle rows by entity: keys that the
single-machine kernels treat as one key must reach one partition even when the tables hold them in
different representations (-0.0 and 0.0, bool and a bool categorical or Python bools, int32 and
int64, a categorical and its values, str and pyarrow strings).  Otherwise an entity's spine rows
and feature rows (or its events) are split apart and the joins silently miss matches.

Each case compares the Dask result on uneven partitions (empty and one-row ones) with the
single-machine result of the same frames; the single-machine result is also checked to have
matches at all, so a case cannot pass by both sides matching nothing."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlsd.features import FeatureTable, point_in_time_join, window_aggregate

dd = pytest.importorskip("dask.dataframe")
import dask  # noqa: E402

import mlsd.dask as md  # noqa: E402
from conftest import uneven_split  # noqa: E402
from test_dask_hashing import partitioned  # noqa: E402


def _signed_zero(k):
    """Floats with -0.0 for key 0."""
    return np.where(k == 0, -0.0, k.astype(np.float64))


# name -> (spine/at representation, feature/events representation) of integer keys 0..5
CASES = {
    "-0.0 vs 0.0": (_signed_zero, lambda k: k.astype(np.float64)),
    "0.0 vs -0.0": (lambda k: k.astype(np.float64), _signed_zero),
    "Float64 -0.0 vs float64 0.0": (lambda k: pd.array(_signed_zero(k), dtype="Float64"),
                                    lambda k: k.astype(np.float64)),
    "float categorical -0.0 vs float 0.0": (lambda k: pd.Categorical(_signed_zero(k)), lambda k: k.astype(np.float64)),
    "float32 vs float64": (lambda k: (k / 3).astype(np.float32), lambda k: (k / 3).astype(np.float32).astype(np.float64)),
    "bool vs bool categorical": (lambda k: k % 2 == 0, lambda k: pd.Categorical(k % 2 == 0)),
    "Python bools vs bool": (lambda k: np.array([bool(v) for v in k % 2 == 0], dtype=object), lambda k: k % 2 == 0),
    "bool vs int": (lambda k: k % 2 == 0, lambda k: (k % 2 == 0).astype(np.int64)),
    "boolean vs pyarrow bool": (lambda k: pd.array(k % 2 == 0, dtype="boolean"),
                                lambda k: pd.array(k % 2 == 0, dtype=pd.ArrowDtype(pa.bool_()))),
    "int32 vs int64": (lambda k: (k - 3).astype(np.int32), lambda k: (k - 3).astype(np.int64)),
    "Int16 vs uint8": (lambda k: pd.array(k, dtype="Int16"), lambda k: k.astype(np.uint8)),
    "int categorical vs int": (lambda k: pd.Categorical(k - 3), lambda k: (k - 3).astype(np.int64)),
    "str vs pyarrow str": (lambda k: np.array([f"u{v}" for v in k], dtype=object),
                           lambda k: pd.array([f"u{v}" for v in k], dtype=pd.ArrowDtype(pa.string()))),
    "str categorical vs string": (lambda k: pd.Categorical([f"u{v}" for v in k]),
                                  lambda k: pd.array([f"u{v}" for v in k], dtype="string")),
}


def _frames(case, seed, n=240, m=300):
    left, right = CASES[case]
    rng = np.random.default_rng(seed)
    ks, kf = rng.integers(0, 6, n), rng.integers(0, 6, m)
    spine = pd.DataFrame({"k": left(ks), "g": rng.integers(0, 2, n), "t": rng.integers(0, 1000, n)})
    feats = pd.DataFrame({"k": right(kf), "g": rng.integers(0, 2, m), "t": rng.integers(0, 1000, m),
                          "x": rng.standard_normal(m)})
    return spine, feats


def _dask(df, seed, n_parts):
    return partitioned(df, uneven_split(len(df), seed, n_parts=n_parts, empty=1))


@pytest.fixture(autouse=True)
def _sync_and_object_columns_kept():
    """Dask's synchronous scheduler (with the task-based shuffle: with a distributed client alive,
    Dask would pick its p2p shuffle, which needs workers), and object columns kept as they are (Dask
    turns them into pyarrow strings by default, Python bools included: another representation)."""
    with dask.config.set({"dataframe.convert-string": False, "scheduler": "sync", "dataframe.shuffle.method": "tasks"}):
        yield


@pytest.mark.parametrize("by", [["k"], ["g", "k"]], ids=["one column", "two columns"])
@pytest.mark.parametrize("case", list(CASES))
def test_point_in_time_join_equal_keys_meet(case, by):
    spine, feats = _frames(case, 1)
    want = point_in_time_join(spine, FeatureTable(feats, prefix="f_"), by=by, on="t")
    assert want["f_x"].notna().sum() > len(spine) // 2  # the representations do match on one machine
    dspine, dfeats = _dask(spine, 2, 6), _dask(feats, 3, 5)
    got = md.point_in_time_join(dspine, dfeats, by=by, on="t", prefix="f_", npartitions=7).compute()
    pd.testing.assert_frame_equal(got, want.reset_index(drop=True), check_index_type=False)


@pytest.mark.parametrize("case", list(CASES))
def test_window_aggregate_spine_keys_meet_event_keys(case):
    at, events = _frames(case, 4)
    want = window_aggregate(events, by="k", on="t", values="x", windows=[200], aggs=["count", "sum"], at=at)
    assert (want["x_count_200"] > 0).sum() > len(at) // 2
    dat, dev = _dask(at, 5, 6), _dask(events, 6, 5)
    got = md.window_aggregate(dev, by="k", on="t", values="x", windows=[200], aggs=["count", "sum"], at=dat).compute()
    got = got.sort_index()
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_exact=True)


def test_window_aggregate_signed_zeros_in_one_table():
    """-0.0 and 0.0 in the events themselves: one entity."""
    rng = np.random.default_rng(7)
    n = 300
    k = rng.integers(0, 4, n).astype(np.float64)
    k[(k == 0) & (rng.random(n) < 0.5)] = -0.0
    events = pd.DataFrame({"k": k, "t": rng.integers(0, 1000, n), "x": rng.standard_normal(n)})
    want = window_aggregate(events, by="k", on="t", values="x", windows=[300], aggs=["count", "sum"])
    dev = _dask(events, 8, 6)
    got = md.window_aggregate(dev, by="k", on="t", values="x", windows=[300], aggs=["count", "sum"]).compute()
    pd.testing.assert_frame_equal(got.sort_index().reset_index(drop=True), want, check_exact=True)


@pytest.mark.parametrize("case", list(CASES))
def test_key_hash_follows_the_kernels_rule(case):
    """The rule itself (mlsd.features._partials.key_hash, what both shuffles use), independent of
    how hashes fall into partitions: equal keys hash alike across representations and from pandas
    or pyarrow, different keys do not, and a categorical with unused categories changes nothing."""
    from mlsd.features._partials import key_hash

    left, right = CASES[case]
    k = np.arange(6)
    a = key_hash(pd.DataFrame({"k": left(k)}), ["k"], "spine", "f")
    b = key_hash(pd.DataFrame({"k": right(k)}), ["k"], "features", "f")
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a)) == len(np.unique(right(k)))  # bool keys: two
    c = key_hash(pa.Table.from_pandas(pd.DataFrame({"k": right(k)})), ["k"], "features", "f")
    np.testing.assert_array_equal(c, b)
    two = key_hash(pd.DataFrame({"g": k % 2, "k": left(k)}), ["g", "k"], "spine", "f")
    np.testing.assert_array_equal(two, key_hash(pd.DataFrame({"g": k % 2, "k": right(k)}), ["g", "k"], "features", "f"))
    assert not np.array_equal(two, a)  # the second column enters the hash


def test_key_hash_of_missing_keys_and_unused_categories():
    from mlsd.features._partials import key_hash

    cat = pd.Categorical(["b", None, "a"], categories=["z", "a", "b"])
    plain = pd.Series(["b", None, "a"], dtype=object)
    np.testing.assert_array_equal(key_hash(pd.DataFrame({"k": cat}), ["k"], "t", "f"),
                                  key_hash(pd.DataFrame({"k": plain}), ["k"], "t", "f"))
    floats = key_hash(pd.DataFrame({"k": [np.nan, 1.0, -0.0]}), ["k"], "t", "f")
    ints = key_hash(pd.DataFrame({"k": pd.array([None, 1, 0], dtype="Int64")}), ["k"], "t", "f")
    assert floats[0] == ints[0] == 0 and floats[1] != floats[2]
    with pytest.raises(TypeError, match="f: by column 'k' of t holds values of mixed or unsortable types"):
        key_hash(pd.DataFrame({"k": pd.Series([1, "a"], dtype=object)}), ["k"], "t", "f")


def _object_keys(values):
    return pd.Series(values, dtype=object)


@pytest.mark.parametrize("n_parts", [2, 16])
def test_keys_of_different_kinds_in_object_columns_raise_as_on_one_machine(n_parts):
    """Object columns have empty metas, so the kinds are compared over the partitions: integers in
    the spine and strings in the features used to land in partitions that never met (with many
    partitions) and match nothing, silently, where one machine raises."""
    spine = pd.DataFrame({"k": _object_keys([1, 2, 3, 4]), "t": [5, 6, 7, 8]})
    feats = pd.DataFrame({"k": _object_keys(["1", "2", "x", "y"]), "t": [1, 2, 3, 4], "v": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(TypeError, match="point_in_time_join: by column 'k' holds keys of different types"):
        point_in_time_join(spine, feats, by="k", on="t")
    dspine, dfeats = dd.from_pandas(spine, npartitions=2), dd.from_pandas(feats, npartitions=2)
    with pytest.raises(TypeError, match=r"mlsd.dask.point_in_time_join: by column 'k' holds keys of different types "
                                        r"across the tables \(integer in spine, string in features\)"):
        md.point_in_time_join(dspine, dfeats, by="k", on="t", npartitions=n_parts).compute()
    events = feats.assign(t=[1, 2, 3, 4])
    with pytest.raises(TypeError, match=r"mlsd.dask.window_aggregate: by column 'k' holds keys of different types "
                                        r"across the tables \(string in events, integer in at\)"):
        md.window_aggregate(dd.from_pandas(events, npartitions=n_parts // 2), by="k", on="t", values="v", windows=[3],
                            at=dspine).compute()


def test_partitions_of_one_table_with_different_kinds_raise():
    events = pd.DataFrame({"k": _object_keys([1, 2, "a", "b"]), "t": [1, 2, 3, 4], "v": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(TypeError, match="window_aggregate: by column 'k' of events holds values of mixed"):
        window_aggregate(events, by="k", on="t", values="v", windows=[3])
    with pytest.raises(TypeError, match=r"mlsd.dask.window_aggregate: by column 'k' holds keys of different types "
                                        r"across the tables \(integer in events, string in events\)"):
        md.window_aggregate(dd.from_pandas(events, npartitions=2), by="k", on="t", values="v", windows=[3]).compute()


def test_object_keys_of_one_kind_are_read_once():
    """The kinds check reads each input partition's keys where the shuffle hashes them (one task),
    not in a second pass over the inputs."""
    import mlsd.features._partials as P

    calls = []
    real = P.key_hash

    def counting(table, by, where, func):
        calls.append((where, len(table)))
        return real(table, by, where, func)

    spine = pd.DataFrame({"k": _object_keys(list(range(40))), "t": np.arange(40)})
    feats = pd.DataFrame({"k": _object_keys(list(range(50))), "t": np.arange(50), "v": np.arange(50.0)})
    P.key_hash = counting
    try:
        got = md.point_in_time_join(dd.from_pandas(spine, npartitions=3), dd.from_pandas(feats, npartitions=4), by="k",
                                    on="t", npartitions=5).compute()
    finally:
        P.key_hash = real
    pd.testing.assert_frame_equal(got, point_in_time_join(spine, feats, by="k", on="t"), check_index_type=False)
    assert sorted(n for _, n in calls if n) == sorted([14, 13, 13, 13, 13, 12, 12]), calls


def test_kinds_check_on_a_process_cluster(dask_client):
    """The check is a task of the graph: it runs (and raises) on a distributed cluster as well."""
    spine = pd.DataFrame({"k": _object_keys([1, 2, 3, 4] * 5), "t": np.arange(20)})
    feats = pd.DataFrame({"k": _object_keys([1, 2, 3, 4, 5] * 4), "t": np.arange(20) - 3, "v": np.arange(20.0)})
    with dask.config.set(scheduler=dask_client):
        got = md.point_in_time_join(dd.from_pandas(spine, npartitions=3), dd.from_pandas(feats, npartitions=2),
                                    by="k", on="t", npartitions=4).compute()
        pd.testing.assert_frame_equal(got, point_in_time_join(spine, feats, by="k", on="t"), check_index_type=False)
        with pytest.raises(TypeError, match="holds keys of different types across the tables"):
            md.point_in_time_join(dd.from_pandas(spine, npartitions=3), dd.from_pandas(feats.assign(k=feats["k"].map(str)),
                                  npartitions=2), by="k", on="t", npartitions=4).compute()


@pytest.mark.parametrize("kind", ["integer", "string"])
def test_categoricals_of_unknown_categories(kind):
    """Dask's categorical of unknown categories (``astype("category")`` on a Dask column) has a
    placeholder string category in its meta: the client-side check read it as string keys and
    refused integer ones; the kinds are now compared over the partitions."""
    rng = np.random.default_rng(9)
    n, m = 240, 300

    def keys(k):
        return k if kind == "integer" else np.array([f"u{v}" for v in k], dtype=object)

    spine = pd.DataFrame({"k": keys(rng.integers(0, 6, n)), "g": rng.integers(0, 2, n), "t": rng.integers(0, 1000, n)})
    feats = pd.DataFrame({"k": keys(rng.integers(0, 6, m)), "g": rng.integers(0, 2, m), "t": rng.integers(0, 1000, m),
                          "x": rng.standard_normal(m)})
    dspine = _dask(spine, 10, 5)
    dspine = dspine.assign(k=dspine["k"].astype("category"))
    assert not dd.utils.has_known_categories(dspine["k"])
    cat_spine = dspine.compute().reset_index(drop=True)  # the categories Dask makes, per partition
    want = point_in_time_join(cat_spine, feats, by=["g", "k"], on="t")
    assert want["x"].notna().sum() > n // 2
    got = md.point_in_time_join(dspine, _dask(feats, 11, 4), by=["g", "k"], on="t", npartitions=6).compute()
    assert isinstance(got["k"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(got.astype({"k": object}), want.astype({"k": object}), check_index_type=False)
    counts = md.window_aggregate(_dask(feats, 12, 4), by="k", on="t", values="x", windows=[200], aggs="count",
                                 at=dspine).compute().sort_index()
    want = window_aggregate(feats, by="k", on="t", values="x", windows=[200], aggs="count", at=spine)
    np.testing.assert_array_equal(counts["x_count_200"].to_numpy(), want["x_count_200"].to_numpy())
    other = feats.assign(k=[str(v) for v in feats["k"]] if kind == "integer" else np.arange(m))
    with pytest.raises(TypeError, match="holds keys of different types across the tables"):
        md.point_in_time_join(dspine, _dask(other, 11, 4), by=["g", "k"], on="t", npartitions=6).compute()


@pytest.mark.parametrize("keys", ["integer", "object"])
def test_parquet_partitions_are_read_and_hashed_once(tmp_path, keys):
    """The kinds check is part of the join's own expression: Dask computes each input partition once
    for the check and the shuffle.  It was a Delayed made with to_delayed(), optimised apart, so
    with inputs Dask fuses differently alone (read_parquet, a projection) every partition was read
    and hashed twice."""
    import mlsd.features._partials as P

    rng = np.random.default_rng(12)
    for i in range(3):
        k = rng.integers(0, 7, 20)
        pd.DataFrame({"k": _object_keys([f"u{v}" for v in k]) if keys == "object" else k, "t": rng.integers(0, 50, 20),
                      "x": rng.standard_normal(20), "junk": 1.0}).to_parquet(tmp_path / f"part{i}.parquet")
    whole = pd.read_parquet(tmp_path)
    spine = whole[["k"]].assign(t=whole["t"] + 3).iloc[::2].reset_index(drop=True)
    calls = []
    real = P.key_hash

    def counting(table, by, where, func):
        if len(table):
            calls.append(where)
        return real(table, by, where, func)

    P.key_hash = counting
    try:
        events = dd.read_parquet(tmp_path)[["k", "t", "x"]]
        got = md.window_aggregate(events, by="k", on="t", values="x", windows=[10], aggs=["count", "sum"]).compute()
        assert sorted(calls) == ["events"] * 3
        want = window_aggregate(whole[["k", "t", "x"]], by="k", on="t", values="x", windows=[10], aggs=["count", "sum"])
        cols = list(want.columns)  # each file's index starts at 0: compare the rows as a set
        pd.testing.assert_frame_equal(got.sort_values(cols).reset_index(drop=True),
                                      want.sort_values(cols).reset_index(drop=True), check_exact=True)
        calls.clear()
        got = md.point_in_time_join(dd.from_pandas(spine, npartitions=2), dd.read_parquet(tmp_path)[["k", "t", "x"]],
                                    by="k", on="t", npartitions=3).compute()
        assert sorted(calls) == ["features"] * 3 + ["spine"] * 2
        pd.testing.assert_frame_equal(got, point_in_time_join(spine, whole[["k", "t", "x"]], by="k", on="t"),
                                      check_index_type=False)
    finally:
        P.key_hash = real
