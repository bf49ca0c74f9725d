"""mlsd.dask.point_in_time_join equals the single-machine join on uneven partitions.

Run on Dask's synchronous scheduler: on the session's distributed LocalCluster the shuffle + sort
graph did not finish on the loaded test machine (an open issue, see the features-join report)."""

import numpy as np
import pandas as pd
import pytest

from mlsd.features import FeatureTable, point_in_time_join

dd = pytest.importorskip("dask.dataframe")
md = pytest.importorskip("mlsd.dask")


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


def _check_equal(seed):
    rng = np.random.default_rng(seed)
    n, m = 500, 700
    spine = pd.DataFrame({"user": rng.integers(0, 40, n), "site": rng.choice(["a", "b", None], n),
                          "t": pd.to_datetime(rng.integers(0, 10**6, n), unit="s"), "label": rng.integers(0, 2, n)})
    f1 = pd.DataFrame({"user": rng.integers(0, 45, m), "site": rng.choice(["a", "b"], m),
                       "t": pd.to_datetime(rng.integers(0, 10**6, m), unit="s"), "x": rng.standard_normal(m),
                       "c": pd.to_datetime(rng.integers(0, 10**6, m), unit="s")})
    f2 = f1.sample(frac=0.5, random_state=seed).rename(columns={"x": "y"}).drop(columns="c")
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
