"""mlsd.dask.window_aggregate on a LocalCluster, on uneven partitions (empty and one-row ones
included): the single-machine result, row for row (matched by index)."""

import numpy as np
import pandas as pd
import pytest

from mlsd.features import window_aggregate

dd = pytest.importorskip("dask.dataframe")

import mlsd.dask as md  # noqa: E402
from conftest import uneven_split  # noqa: E402
from test_dask_hashing import partitioned  # noqa: E402


def _events(seed, n=900):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=n)
    v[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({"k": rng.integers(0, 30, n), "t": rng.integers(0, 100, n), "v": v})  # many ties


@pytest.mark.parametrize("closed", ["left", "both"])
@pytest.mark.parametrize("seed", range(2))
def test_events_equal_one_machine(dask_client, seed, closed):
    df = _events(seed)
    ddf = partitioned(df, uneven_split(len(df), seed))
    want = window_aggregate(ddf.compute(), by="k", on="t", values="v", windows=[3, 20], closed=closed)
    got = md.window_aggregate(ddf, by="k", on="t", values="v", windows=[3, 20], closed=closed).compute()
    pd.testing.assert_frame_equal(got.sort_index(), want, check_exact=True)


def test_spine_equals_one_machine(dask_client):
    df = _events(7)
    rng = np.random.default_rng(8)
    sp = pd.DataFrame({"k": rng.integers(0, 35, 300), "t": rng.integers(-5, 110, 300)})
    ddf = partitioned(df, uneven_split(len(df), 1))
    dsp = partitioned(sp, uneven_split(len(sp), 2, n_parts=4, empty=1))
    want = window_aggregate(ddf.compute(), by="k", on="t", values="v", windows=[5], at=dsp.compute())
    got = md.window_aggregate(ddf, by="k", on="t", values="v", windows=[5], at=dsp).compute()
    pd.testing.assert_frame_equal(got.sort_index(), want, check_exact=True)


def test_checks_run_before_anything_is_computed():
    ddf = dd.from_pandas(_events(0, 20), npartitions=2)
    with pytest.raises(ValueError, match="window_aggregate: values names column 'x'"):
        md.window_aggregate(ddf, by="k", on="t", values="x", windows=[2])
    # keys of different kinds (the shuffle would hash them apart): the single-machine check, on the meta
    sp = dd.from_pandas(pd.DataFrame({"k": pd.array(["a"], dtype="string"), "t": [3]}), npartitions=1)
    with pytest.raises(TypeError, match="window_aggregate: by column 'k' holds keys of different types"):
        md.window_aggregate(ddf, by="k", on="t", values="v", windows=[2], at=sp)
    with pytest.raises(ValueError, match="mlsd.dask.window_aggregate: events has a column named '__mlsd_key__'"):
        md.window_aggregate(ddf.assign(__mlsd_key__=1), by="k", on="t", values="v", windows=[2])
