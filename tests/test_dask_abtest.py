"""mlsd.dask A/B tests against the single-machine mlsd.abtest on the same rows, split into uneven
partitions (empty ones, one-row ones), on the two-worker LocalCluster, one worker, and the
synchronous scheduler."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import local_client, uneven_split

pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")
import dask  # noqa: E402
import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402

import mlsd.dask as md  # noqa: E402
from mlsd import abtest as ab  # noqa: E402

RTOL = 1e-12


def as_array(x, sizes):
    return da.from_array(x, chunks=(sizes,))


def as_frame(pdf, sizes):
    """A Dask DataFrame with exactly these partition lengths (Dask does not know them)."""
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    return dd.from_map(lambda i: pdf.iloc[bounds[i]:bounds[i + 1]], list(range(len(sizes))), meta=pdf.iloc[:0],
                       enforce_metadata=False)


def close(a, b, scale=1.0):
    """Equal to RTOL relative, or to RTOL of `scale` for values that are differences near zero."""
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=RTOL * scale)


def assert_same_stats(got, want):
    assert got.columns == want.columns
    np.testing.assert_array_equal(got.n, want.n)
    close(got.mean, want.mean, scale=np.abs(want.mean).max())
    diag = np.sqrt(np.diagonal(want.comoment, axis1=-2, axis2=-1))
    close(got.comoment, want.comoment, scale=float((diag[..., :, None] * diag[..., None, :]).max()))


def experiment(seed, n):
    rng = np.random.default_rng(seed)
    pre = rng.gamma(2.0, 1.0, n)
    sessions = rng.poisson(3, n) + 1.0
    arm = rng.choice(np.array(["A", "B", "C"]), n, p=[0.5, 0.3, 0.2])
    revenue = pre * 0.8 + rng.exponential(1.0, n) + 0.05 * (arm == "B")
    return pd.DataFrame({"variant": arm, "revenue": revenue, "pre": pre, "sessions": sessions,
                         "pre_sessions": sessions + rng.poisson(1, n), "clicked": (rng.random(n) < 0.1) * 1.0,
                         "user": rng.permutation(10 * n)[:n].astype(np.int64)})


# ---- Stats ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["array", "series"])
@pytest.mark.parametrize("seed", [0, 1])
def test_stats_equal_single_machine(dask_client, kind, seed):
    pdf = experiment(seed, 4001)
    sizes = uneven_split(len(pdf), seed, n_parts=9, empty=2)
    roles = {"y": "revenue", "denominator": "sessions", "covariate": "pre", "covariate_denominator": "pre_sessions"}
    if kind == "array":
        cols = {r: as_array(pdf[c].to_numpy(), sizes) for r, c in roles.items()}
    else:
        frame = as_frame(pdf, sizes)
        cols = {r: frame[c] for r, c in roles.items()}
    want = ab.Stats.from_arrays(**{r: pdf[c].to_numpy() for r, c in roles.items()})
    assert_same_stats(md.stats(**cols, split_every=2, client=dask_client), want)
    assert_same_stats(md.stats(cols["y"], client=dask_client), ab.Stats.from_arrays(pdf.revenue.to_numpy()))


def test_every_test_on_merged_stats_equals_single_machine(dask_client):
    pdf = experiment(2, 6000)
    frame = as_frame(pdf, uneven_split(len(pdf), 2, n_parts=8, empty=2))
    got = md.stats_by(frame, "variant", ["revenue", "clicked"], covariate=["pre", "pre"], client=dask_client)
    assert list(got) == ["A", "B", "C"]
    arms = {v: pdf[pdf.variant == v] for v in "ABC"}
    want = {v: ab.Stats.stack([ab.Stats.from_arrays(g[m].to_numpy(), covariate=g.pre.to_numpy())
                               for m in ("revenue", "clicked")]) for v, g in arms.items()}
    for v in "ABC":
        assert_same_stats(got[v], want[v])
    # every test on the merged Stats against the same test on the raw rows (with the covariate:
    # the mean tests then apply CUPED)
    t, c = got["B"], got["A"]
    raw = {v: [{"y": g[m].to_numpy(), "covariate": g.pre.to_numpy()} for m in ("revenue", "clicked")]
           for v, g in arms.items()}
    pairs = [
        (ab.ttest_ind(t[0], c[0]), ab.ttest_ind(raw["B"][0], raw["A"][0])),
        (ab.ttest_ind(t[0], c[0], equal_var=True), ab.ttest_ind(raw["B"][0], raw["A"][0], equal_var=True)),
        (ab.compare(t[0], c[0], relative=True), ab.compare(raw["B"][0], raw["A"][0], relative=True)),
        (ab.compare(t[1], c[1], test="z"), ab.compare(raw["B"][1], raw["A"][1], test="z")),
        (ab.proportions_ztest(t[1], c[1]), ab.proportions_ztest(raw["B"][1], raw["A"][1])),
    ]
    for a, b in pairs:
        close(a.statistic, b.statistic)
        close(a.pvalue, b.pvalue)
        close(a.confidence_interval, b.confidence_interval, scale=abs(b.confidence_interval[1]))
    # analyze over all variants and both metrics, CUPED included
    ra = ab.analyze(got, control="A", metrics=["revenue", "clicked"]).to_frame()
    rb = ab.analyze(want, control="A", metrics=["revenue", "clicked"]).to_frame()
    assert ra.metric.tolist() == rb.metric.tolist() and ra.variant.tolist() == rb.variant.tolist()
    for col in ("estimate", "ci_low", "ci_high", "pvalue", "pvalue_corrected", "variance_reduction"):
        close(ra[col].to_numpy(), rb[col].to_numpy(), scale=1e-3)


def test_stats_by_ratio_metric_with_ratio_covariate(dask_client):
    pdf = experiment(3, 3000)
    sizes = uneven_split(len(pdf), 3, n_parts=6, empty=1)
    got = md.stats_by(as_frame(pdf, sizes), "variant", "revenue", denominator="sessions", covariate="pre",
                      covariate_denominator="pre_sessions", split_every=3, client=dask_client)
    for v, g in pdf.groupby("variant"):
        want = ab.Stats.from_arrays(g.revenue.to_numpy(), denominator=g.sessions.to_numpy(),
                                    covariate=g.pre.to_numpy(), covariate_denominator=g.pre_sessions.to_numpy())
        assert_same_stats(got[v], want)
    a = ab.compare(got["B"], got["A"])
    b = ab.compare(*({"y": g.revenue.to_numpy(), "denominator": g.sessions.to_numpy(), "covariate": g.pre.to_numpy(),
                      "covariate_denominator": g.pre_sessions.to_numpy()} for g in (pdf[pdf.variant == "B"],
                                                                                    pdf[pdf.variant == "A"])))
    close(a.pvalue, b.pvalue)
    close(a.estimate, b.estimate, scale=1e-3)


# ---- bootstrap -----------------------------------------------------------------------------------

def two_samples(seed, n_t=3001, n_c=2500):
    rng = np.random.default_rng(seed)
    return ({"y": rng.exponential(1.1, n_t), "denominator": rng.poisson(3, n_t) + 1.0,
             "key": rng.choice(10**9, n_t, replace=False).astype(np.int64)},
            {"y": rng.exponential(1.0, n_c), "denominator": rng.poisson(3, n_c) + 1.0,
             "key": rng.integers(-2**62, 2**62, n_c)})


def select(sample, statistic, keyed):
    roles = ["y"] + (["denominator"] if statistic == "ratio" else []) + (["key"] if keyed else [])
    if roles == ["y"]:
        return sample["y"]
    return {r: sample[r] for r in roles}


def on_dask(sample, sizes, kind):
    if kind == "array":
        return {r: as_array(v, sizes) for r, v in sample.items()}
    frame = as_frame(pd.DataFrame(sample), sizes)
    return {r: frame[r] for r in sample}


def assert_same_bootstrap(got, want):
    scale = max(abs(want.estimate), np.abs(want.bootstrap_distribution).max())
    assert got.n_empty == want.n_empty and (got.method, got.statistic) == (want.method, want.statistic)
    close(got.bootstrap_distribution, want.bootstrap_distribution, scale=scale)
    close(got.estimate, want.estimate, scale=scale)
    close(got.confidence_interval, want.confidence_interval, scale=scale)
    close(got.standard_error, want.standard_error)


@pytest.mark.parametrize("method", ["bca", "percentile", "basic"])
@pytest.mark.parametrize("statistic", ["mean", "ratio"])
def test_bootstrap_equals_single_machine_on_any_partitioning(dask_client, statistic, method):
    t, c = two_samples(4)
    want = ab.bootstrap(select(t, statistic, False), select(c, statistic, False), statistic=statistic, method=method,
                        n_resamples=300, seed=7)
    for split_seed, kind in ((0, "array"), (1, "series")):
        sizes_t = uneven_split(len(t["y"]), split_seed, n_parts=7, empty=2)
        sizes_c = uneven_split(len(c["y"]), split_seed + 10, n_parts=4, empty=1)
        got = md.bootstrap(select(on_dask(t, sizes_t, kind), statistic, False),
                           select(on_dask(c, sizes_c, kind), statistic, False), statistic=statistic, method=method,
                           n_resamples=300, seed=7, split_every=3, client=dask_client)
        assert_same_bootstrap(got, want)
    one = md.bootstrap(select(on_dask(c, sizes_c, "array"), statistic, True), statistic=statistic, method=method,
                       n_resamples=300, seed=8, client=dask_client)
    assert_same_bootstrap(one, ab.bootstrap(select(c, statistic, True), statistic=statistic, method=method,
                                            n_resamples=300, seed=8))


@pytest.fixture(scope="module")
def one_worker():
    yield from local_client(n_workers=1, threads_per_worker=2, processes=True, set_as_default=False)


@pytest.mark.parametrize("statistic", ["mean", "ratio"])
@pytest.mark.parametrize("keyed", [False, True], ids=["row-position", "key-column"])
def test_bootstrap_same_for_any_worker_count_and_keys(dask_client, one_worker, statistic, keyed):
    t, c = two_samples(5, 2000, 1500)
    want = ab.bootstrap(select(t, statistic, keyed), select(c, statistic, keyed), statistic=statistic,
                        n_resamples=200, seed=11)
    runs = []
    for split_seed, client in ((2, dask_client), (3, one_worker), (4, None)):
        sizes_t = uneven_split(len(t["y"]), split_seed, n_parts=6, empty=2)
        sizes_c = uneven_split(len(c["y"]), split_seed + 5, n_parts=5, empty=1)
        args = (select(on_dask(t, sizes_t, "series"), statistic, keyed),
                select(on_dask(c, sizes_c, "series"), statistic, keyed))
        if client is None:
            with dask.config.set(scheduler="sync"):
                runs.append(md.bootstrap(*args, statistic=statistic, n_resamples=200, seed=11))
        else:
            runs.append(md.bootstrap(*args, statistic=statistic, n_resamples=200, seed=11, client=client))
    for got in runs:
        assert_same_bootstrap(got, want)
    # The weight totals (integers) are the same in every run, so only rounding differs.
    if not keyed:
        assert not np.array_equal(want.bootstrap_distribution,
                                  ab.bootstrap(select(t, statistic, True), select(c, statistic, True),
                                               statistic=statistic, n_resamples=200, seed=11).bootstrap_distribution)


# ---- errors --------------------------------------------------------------------------------------

def test_bad_input_names_the_argument(dask_client):
    y = da.from_array(np.arange(10.0), chunks=4)
    with pytest.raises(TypeError, match="The 'y' parameter of mlsd.dask.stats must be a Dask array"):
        md.stats(np.arange(10.0))
    with pytest.raises(ValueError, match="split_every"):
        md.stats(y, split_every=1)
    with pytest.raises(ValueError, match="covariate_denominator needs a covariate"):
        md.stats(y, covariate_denominator=y)
    with pytest.raises(ValueError, match="mlsd.dask.stats: y must be finite"):
        md.stats(da.from_array(np.array([1.0, np.nan, 2.0]), chunks=2), client=dask_client)
    with pytest.raises(NotImplementedError, match="whole sample in sorted order"):
        md.bootstrap(y, statistic="median")
    with pytest.raises(ValueError, match="'method' parameter of mlsd.dask.bootstrap"):
        md.bootstrap(y, method="studentized")
    with pytest.raises(ValueError, match="statistic='ratio' needs data as a mapping"):
        md.bootstrap(y, statistic="ratio")
    with pytest.raises(ValueError, match="control: a 'denominator' is needed"):
        md.bootstrap({"y": y, "denominator": y}, {"y": y}, statistic="ratio")
    with pytest.raises(TypeError, match="The 'data' parameter of mlsd.dask.bootstrap must be a Dask array"):
        md.bootstrap(np.arange(10.0))
    with pytest.raises(ValueError, match="control needs at least two observations; got 1"):
        md.bootstrap(y, da.from_array(np.ones(1), chunks=1), client=dask_client)
    with pytest.raises(ValueError, match=r"data: y must be finite; found inf at row 1 of partition 1"):
        md.bootstrap(da.from_array(np.array([1.0, 2.0, 3.0, np.inf]), chunks=2), client=dask_client)
    with pytest.raises(TypeError, match="data: key must hold integers"):
        md.bootstrap({"y": y, "key": y}, client=dask_client)
    with pytest.raises(ValueError, match="data: the denominator sums to zero"):
        md.bootstrap({"y": y, "denominator": y * 0}, statistic="ratio", client=dask_client)
    pdf = pd.DataFrame({"v": ["A", None, "B"], "y": [1.0, 2.0, 3.0]})
    frame = dd.from_pandas(pdf, npartitions=2)
    with pytest.raises(KeyError, match="denominator: no column 'nope'"):
        md.stats_by(frame, "v", "y", denominator="nope")
    with pytest.raises(ValueError, match="by: column 'v' has missing values"):
        md.stats_by(frame, "v", "y", client=dask_client)
    with pytest.raises(TypeError, match="The 'df' parameter of mlsd.dask.stats_by must be a Dask DataFrame"):
        md.stats_by(pdf, "v", "y")
    with pytest.raises(ValueError, match="one column name per metric"):
        md.stats_by(frame, "v", ["y", "y"], covariate=["y"])


def test_importing_mlsd_dask_imports_no_dask():
    code = "import sys, mlsd.dask; print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
