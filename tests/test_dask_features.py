"""mlsd.dask.point_in_time_join equals the single-machine join on uneven partitions (empty and
one-row ones included): on Dask's synchronous scheduler, on a LocalCluster of threads and on the
session's LocalCluster of processes.

On a distributed cluster the join used to stall for ever: set_index computed the divisions of the
sort back into spine order while Dask's optimizer held the (per-class, Python < 3.12) lock of
functools.cached_property, and the scheduler, materialising that graph on a thread of the client's
process, waited for the same lock.  The cluster tests run the join under a watchdog so that such a
deadlock fails the test instead of hanging the suite."""

import numpy as np
import pandas as pd
import pytest

from mlsd.features import FeatureTable, point_in_time_join

dd = pytest.importorskip("dask.dataframe")
md = pytest.importorskip("mlsd.dask")

from conftest import local_client, uneven_split  # noqa: E402
from test_dask_hashing import partitioned  # noqa: E402


def _uneven(df, cuts):
    """A Dask DataFrame whose partitions are df split at the given row positions."""
    import dask

    parts = np.split(np.arange(len(df)), cuts)
    return dd.from_delayed([dask.delayed(df.iloc[p].copy)() for p in parts], meta=df.iloc[:0])


@pytest.mark.parametrize("seed", range(3))
def test_equals_single_machine_on_uneven_partitions(seed):
    import dask

    with dask.config.set(scheduler="sync"):
        _check_equal(seed)


def _tables(seed, n=500, m=700):
    rng = np.random.default_rng(seed)
    spine = pd.DataFrame({"user": rng.integers(0, 40, n), "site": rng.choice(["a", "b", None], n),
                          "t": pd.to_datetime(rng.integers(0, 10**6, n), unit="s"), "label": rng.integers(0, 2, n)})
    f1 = pd.DataFrame({"user": rng.integers(0, 45, m), "site": rng.choice(["a", "b"], m),
                       "t": pd.to_datetime(rng.integers(0, 10**6, m), unit="s"), "x": rng.standard_normal(m),
                       "c": pd.to_datetime(rng.integers(0, 10**6, m), unit="s")})
    f2 = f1.sample(frac=0.5, random_state=seed).rename(columns={"x": "y"}).drop(columns="c")
    return spine, f1, f2


def _check_equal(seed):
    spine, f1, f2 = _tables(seed)
    n = len(spine)
    kwargs = dict(by=["user", "site"], on="t", ttl="3D", time_column="ft")
    want = point_in_time_join(spine, [FeatureTable(f1, prefix="a_"), FeatureTable(f2, prefix="b_")], **kwargs)
    got = md.point_in_time_join(_uneven(spine, [3, 200, 201, 450]), [_uneven(f1, [100, 650]), _uneven(f2, [1])],
                                prefix=["a_", "b_"], npartitions=3, **kwargs).compute()
    assert list(got.index) == list(range(n))
    pd.testing.assert_frame_equal(got, want.reset_index(drop=True), check_index_type=False)


def test_bad_input_is_checked_on_the_meta():
    spine = dd.from_pandas(pd.DataFrame({"k": [1, 2], "t": [1, 2]}), npartitions=1)
    feats = dd.from_pandas(pd.DataFrame({"k": ["a"], "t": [1], "v": [1.0]}), npartitions=1)
    with pytest.raises(TypeError, match="mlsd.dask.point_in_time_join: by column 'k' holds keys of different types"):
        md.point_in_time_join(spine, feats, by="k", on="t")
    with pytest.raises(ValueError, match="prefix has 1 entries for 2 feature tables"):
        md.point_in_time_join(spine, [feats, feats], by="k", on="t", prefix=["a_"])
    with pytest.raises(TypeError, match="'spine' parameter of point_in_time_join must be a Dask DataFrame"):
        md.point_in_time_join(spine.compute(), feats, by="k", on="t")


@pytest.mark.parametrize("n", [0, 1, 2])
def test_tiny_spines(n):
    """The sort back into spine order gets its divisions from the row count: none, one or two rows."""
    import dask

    spine, f1, _ = _tables(5, n=n, m=50)
    spine, f1 = spine.drop(columns="site"), f1.drop(columns="site")
    want = point_in_time_join(spine, f1, by="user", on="t", created_at="c")
    with dask.config.set(scheduler="sync"):
        got = md.point_in_time_join(_uneven(spine, []), _uneven(f1, [10, 10, 30]), by="user", on="t",
                                    created_at="c", npartitions=4).compute()
    assert list(got.index) == list(range(n))
    pd.testing.assert_frame_equal(got, want.reset_index(drop=True), check_index_type=False)


def _within(seconds, fn):
    """fn() run on a daemon thread: its result, or a failure (not a hang) after `seconds`."""
    import threading

    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # re-raised on the test's thread
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"mlsd.dask.point_in_time_join did not finish within {seconds} s on the cluster"
    if "error" in box:
        raise box["error"]
    return box["value"]


def _check_on_cluster(client, seed, n=500, m=700, n_parts=(7, 5, 4), npartitions=4):
    """Uneven spine and feature partitions (empty and one-row ones), a created_at column, two
    tables with their own prefixes, entity partitions fewer than the spine's: the single-machine
    join row for row, with the spine's row number as index."""
    import dask

    spine, f1, f2 = _tables(seed, n, m)
    kwargs = dict(by=["user", "site"], on="t", ttl="2D", created_at="c", allow_exact_matches=seed % 2 == 0)
    f2 = f2.assign(c=f2["t"] + pd.to_timedelta(np.arange(len(f2)) % 3, unit="h"))  # some written late
    dspine = partitioned(spine, uneven_split(len(spine), seed, n_parts=n_parts[0]))
    df1 = partitioned(f1, uneven_split(len(f1), seed + 1, n_parts=n_parts[1], empty=1))
    df2 = partitioned(f2, uneven_split(len(f2), seed + 2, n_parts=n_parts[2], empty=1))
    # the concatenated frames as Dask holds them (Dask turns object columns of text into strings)
    want = point_in_time_join(dspine.compute(scheduler="sync"),
                              [FeatureTable(df1.compute(scheduler="sync"), prefix="a_"),
                               FeatureTable(df2.compute(scheduler="sync"), prefix="b_")], **kwargs)

    def run():
        with dask.config.set(scheduler=client):
            return md.point_in_time_join(dspine, [df1, df2], prefix=["a_", "b_"], npartitions=npartitions, **kwargs).compute()

    got = _within(60, run)
    assert list(got.index) == list(range(len(spine)))
    pd.testing.assert_frame_equal(got, want.reset_index(drop=True), check_index_type=False)


@pytest.fixture(scope="module")
def thread_cluster():
    """A LocalCluster of two one-thread workers in this process (its own client, not made the
    default one, so that the session's client stays the default for the other tests)."""
    yield from local_client(n_workers=2, threads_per_worker=1, processes=False, set_as_default=False)


@pytest.mark.parametrize("seed", range(2))
def test_equals_single_machine_on_a_thread_cluster(thread_cluster, seed):
    _check_on_cluster(thread_cluster, seed)


def test_equals_single_machine_on_a_process_cluster(dask_client):
    """Fewer partitions (fewer tasks): each task crosses processes."""
    _check_on_cluster(dask_client, 2, n=200, m=250, n_parts=(5, 4, 3), npartitions=2)
