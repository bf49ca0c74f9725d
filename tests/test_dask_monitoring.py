"""mlsd.dask.profile and mlsd.dask.drift against the single-machine mlsd.monitoring on the same
rows, split into uneven partitions (empty ones, one-row ones), on the two-worker LocalCluster and
the synchronous scheduler."""

import numpy as np
import pytest

from conftest import uneven_split

pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")
import dask  # noqa: E402
import dask.dataframe as dd  # noqa: E402

import mlsd.dask as md  # noqa: E402
from mlsd import monitoring as mon  # noqa: E402


def as_frame(pdf, sizes):
    """A Dask DataFrame with exactly these partition lengths."""
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    return dd.from_map(lambda i: pdf.iloc[bounds[i]:bounds[i + 1]], list(range(len(sizes))), meta=pdf.iloc[:0],
                       enforce_metadata=False)


def table(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    x[rng.random(n) < 0.03] = np.nan
    return pd.DataFrame({
        "x": x,
        "k": rng.integers(0, 5, n),  # integers with ties
        "c": rng.choice(["a", "b", "c"] if shift == 0 else ["a", "b", "d"], n),
        "y": rng.exponential(1.0 + shift, n),
    })


def assert_same_report(a, b):
    fa, fb = a.to_frame(), b.to_frame()
    assert list(fa.columns) == list(fb.columns)
    for col in fa.columns:
        if fa[col].dtype.kind == "f":
            np.testing.assert_array_equal(fa[col].to_numpy(), fb[col].to_numpy())
        else:
            assert fa[col].tolist() == fb[col].tolist(), col
    assert (a.n_drifted, a.share_drifted, a.dataset_drift) == (b.n_drifted, b.share_drifted, b.dataset_drift)


def test_profile_equals_one_machine(dask_client):
    pdf = table(3000, seed=1)
    p = md.profile(as_frame(pdf, uneven_split(len(pdf), seed=2)), client=dask_client)
    whole = mon.Profile.from_data(pdf)
    assert p.columns == whole.columns and p.kinds == whole.kinds
    for c in ("x", "k", "y"):
        np.testing.assert_array_equal(p.sorted_values(c), whole.sorted_values(c))
        assert p.missing(c) == whole.missing(c)
    assert p.category_counts("c") == whole.category_counts("c")
    assert p.to_dict() == whole.to_dict()


@pytest.mark.parametrize("options", [{}, dict(method={"x": "ks", "k": "ks", "y": "ks"}), dict(method="psi", n_bins=7),
                                     dict(method={"y": "jensenshannon"}, threshold={"x": 0.01})])
def test_drift_equals_one_machine(dask_client, options):
    ref, cur = table(2500, seed=3), table(1800, seed=4, shift=0.2)
    r = md.drift(as_frame(ref, uneven_split(len(ref), seed=5)), as_frame(cur, uneven_split(len(cur), seed=6)),
                 client=dask_client, **options)
    assert_same_report(r, mon.drift(ref, cur, **options))


def test_drift_from_a_saved_profile_and_columns_synchronous(tmp_path):
    ref, cur = table(1200, seed=7), table(900, seed=8, shift=0.5)
    path = tmp_path / "ref.mlsdprof"
    mon.Profile.from_data(ref).save(path)
    with dask.config.set(scheduler="synchronous"):
        r = md.drift(mon.Profile.load(path), as_frame(cur, uneven_split(len(cur), seed=9)))
        sub = md.drift(as_frame(ref, (600, 0, 600)), as_frame(cur, (900,)), ["x", "k"], categorical=["k"])
    assert_same_report(r, mon.drift(ref, cur))
    assert_same_report(sub, mon.drift(ref, cur, ["x", "k"], categorical=["k"]))
    assert sub.type.tolist() == ["numeric", "categorical"]


def test_string_column_missing_in_a_partition_keeps_its_kind():
    ref = pd.DataFrame({"x": np.arange(6.0), "c": ["a", "b", None, None, None, "a"]}).astype({"c": object})
    parts = as_frame(ref, (2, 3, 1))  # the middle partition's "c" is all missing
    with dask.config.set(scheduler="synchronous"):
        p = md.profile(parts)
    assert p.kinds == {"x": "numeric", "c": "categorical"}
    assert p.category_counts("c") == {"a": 2, "b": 1} and p.missing("c") == 3


def test_bad_input_names_function_and_argument():
    ref = table(100, seed=1)
    with dask.config.set(scheduler="synchronous"):
        with pytest.raises(ValueError, match=r"mlsd.dask.profile: df has no column\(s\) \['zz'\]"):
            md.profile(as_frame(ref, (50, 50)), ["x", "zz"])
        with pytest.raises(ValueError, match="mlsd.dask.profile: df has no rows"):
            md.profile(as_frame(ref.iloc[:0], (0, 0)))
        with pytest.raises(ValueError, match="mlsd.dask.drift: current has no rows"):
            md.drift(as_frame(ref, (100,)), as_frame(ref.iloc[:0], (0,)))
        with pytest.raises(ValueError, match="mlsd.dask.drift: current has no column"):
            md.drift(as_frame(ref, (100,)), as_frame(ref[["x"]], (100,)))
        with pytest.raises(TypeError, match="'df' parameter of mlsd.dask.profile must be a Dask DataFrame"):
            md.profile(ref)
        with pytest.raises(ValueError, match="'method' parameter of mlsd.dask.drift"):
            md.drift(as_frame(ref, (100,)), as_frame(ref, (100,)), method="nope")
