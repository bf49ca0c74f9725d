"""Multivariate drift by PCA reconstruction error, against scikit-learn's imputer -> scaler -> PCA
pipeline on the same data, and on a drift that only the joint distribution shows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlsd
import mlsd.monitoring as MO


def correlated(n, d, seed, flip=False):
    """d columns: pairs (2i, 2i+1) strongly correlated (sign flipped when ``flip``), distinct
    scales and means so that standardising matters; a last odd column independent."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    for j in range(0, d - 1, 2):
        rho = 0.9 - 0.07 * (j // 2)
        x[:, j + 1] = (-rho if flip else rho) * x[:, j] + np.sqrt(1 - rho**2) * x[:, j + 1]
    return x * np.arange(1, d + 1) + np.arange(d) * 10.0


def sklearn_model(x, variance):
    scaled = make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()).fit(x)
    z = scaled.transform(x)
    pca = PCA(n_components=variance, svd_solver="full").fit(z)
    return scaled, pca


def sklearn_errors(scaled, pca, x):
    z = scaled.transform(x)
    return np.linalg.norm(z - pca.inverse_transform(pca.transform(z)), axis=1)


@pytest.mark.parametrize("n,d,variance", [(500, 3, 0.65), (2000, 7, 0.5), (997, 12, 0.9), (300, 5, 0.99)])
def test_matches_sklearn_pca(n, d, variance):
    x = correlated(n, d, seed=d)
    model = MO.PCADrift(x, variance=variance)
    scaled, pca = sklearn_model(x, variance)
    assert model.n_components_ == pca.n_components_
    np.testing.assert_allclose(model.mean_, scaled[-1].mean_, rtol=1e-12)
    np.testing.assert_allclose(model.scale_, scaled[-1].scale_, rtol=1e-12)
    np.testing.assert_allclose(model.explained_variance_, pca.explained_variance_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.explained_variance_ratio_, pca.explained_variance_ratio_, rtol=1e-10,
                               atol=1e-12)
    signs = np.sign(np.sum(model.components_ * pca.components_, axis=1))  # components up to sign
    np.testing.assert_allclose(model.components_ * signs[:, None], pca.components_, atol=1e-8)
    current = correlated(n // 2, d, seed=100 + d, flip=True)
    np.testing.assert_allclose(model.errors(current), sklearn_errors(scaled, pca, current), rtol=1e-9, atol=1e-10)
    r = model.compare(current)
    assert r.reconstruction_error == pytest.approx(sklearn_errors(scaled, pca, current).mean(), rel=1e-10)
    assert r.reference_error == pytest.approx(sklearn_errors(scaled, pca, x).mean(), rel=1e-10)


def test_missing_values_and_constant_columns_as_sklearn():
    x = correlated(800, 5, seed=3)
    rng = np.random.default_rng(4)
    x[rng.random(x.shape) < 0.1] = np.nan
    x[:, 2] = 7.0  # constant: centred, not scaled
    model = MO.PCADrift(x, variance=0.8)
    scaled, pca = sklearn_model(x, 0.8)
    np.testing.assert_allclose(model.mean_, scaled[0].statistics_, rtol=1e-12)
    np.testing.assert_allclose(model.scale_, scaled[-1].scale_, rtol=1e-12)
    assert model.scale_[2] == 1.0
    np.testing.assert_allclose(model.explained_variance_, pca.explained_variance_, rtol=1e-10, atol=1e-12)
    cur = correlated(300, 5, seed=5)
    cur[rng.random(cur.shape) < 0.2] = np.nan
    np.testing.assert_allclose(model.errors(cur), sklearn_errors(scaled, pca, cur), rtol=1e-9, atol=1e-10)


def test_correlation_flip_found_while_every_column_is_unchanged():
    ref = correlated(20000, 6, seed=11)
    same = correlated(20000, 6, seed=12)
    flipped = correlated(20000, 6, seed=13, flip=True)
    # every column alone has the same distribution: no KS test rejects, even uncorrected
    for j in range(6):
        assert stats.ks_2samp(ref[:, j], flipped[:, j]).pvalue > 0.01
    model = MO.PCADrift(ref)
    no_drift = model.compare(same)
    assert not no_drift.drifted
    assert no_drift.lower <= no_drift.reconstruction_error <= no_drift.upper
    drift = model.compare(flipped)
    assert drift.drifted
    assert drift.reconstruction_error > 2 * drift.upper
    frame = drift.to_frame()
    assert list(frame["period"].unique()) == ["reference", "current"]
    assert not frame.loc[frame.period == "reference", "alert"].any()
    assert frame.loc[frame.period == "current", "alert"].all()


def test_drift_begins_mid_way_shows_in_chunks():
    ref = correlated(10000, 4, seed=1)
    cur = np.vstack([correlated(5000, 4, seed=2), correlated(5000, 4, seed=3, flip=True)])
    r = MO.multivariate_drift(ref, cur, n_chunks=10)
    alerts = r.to_frame().query("period == 'current'")["alert"].to_numpy()
    assert not alerts[:5].any() and alerts[5:].all()


def test_interval_from_reference_chunks():
    ref = correlated(1003, 4, seed=8)
    model = MO.PCADrift(ref, n_chunks=7, n_std=2.0)
    scaled, pca = sklearn_model(ref, 0.65)
    errors = sklearn_errors(scaled, pca, ref)
    chunks = np.array([c.mean() for c in np.array_split(errors, 7)])
    r = model.reference_
    np.testing.assert_allclose(r.error, chunks, rtol=1e-10)
    assert r.rows.tolist() == [len(c) for c in np.array_split(errors, 7)]
    assert r.lower == pytest.approx(max(0.0, chunks.mean() - 2 * chunks.std()), rel=1e-10)
    assert r.upper == pytest.approx(chunks.mean() + 2 * chunks.std(), rel=1e-10)


def test_frames_columns_and_inputs():
    x = correlated(600, 4, seed=21)
    df = pd.DataFrame(x, columns=list("abcd")).assign(city=["x", "y"] * 300)
    model = MO.PCADrift(df)  # the string column is left out
    assert model.columns_ == list("abcd")
    cur = pd.DataFrame(correlated(200, 4, seed=22, flip=True), columns=list("abcd"))
    ref_np = MO.PCADrift(x).compare(cur.to_numpy())
    r = model.compare(cur[list("dcba")].assign(extra=1.0))  # columns found by name
    assert r.reconstruction_error == pytest.approx(ref_np.reconstruction_error, rel=1e-12)
    pa = pytest.importorskip("pyarrow")
    r2 = MO.PCADrift(pa.Table.from_pandas(df)).compare(pa.Table.from_pandas(cur))
    assert r2.reconstruction_error == pytest.approx(ref_np.reconstruction_error, rel=1e-12)
    sub = MO.PCADrift(df, columns=["a", "b"], n_components=1)
    assert sub.n_components_ == 1 and sub.columns_ == ["a", "b"]
    pos = MO.PCADrift(x, columns=[0, 1], n_components=1)
    np.testing.assert_allclose(pos.components_, sub.components_, rtol=1e-12)


def test_same_result_for_any_thread_count():
    x = correlated(70000, 9, seed=31)
    cur = correlated(30000, 9, seed=32, flip=True)
    mlsd.set_num_threads(1)
    one = MO.PCADrift(x)
    e1 = one.errors(cur)
    mlsd.set_num_threads(0)
    many = MO.PCADrift(x)
    np.testing.assert_array_equal(one.components_, many.components_)
    np.testing.assert_array_equal(e1, many.errors(cur))


def test_result_contract():
    r = MO.multivariate_drift(correlated(400, 4, seed=41), correlated(400, 4, seed=42, flip=True))
    assert "MultivariateDriftResult(" in repr(r) and "<array" in repr(r)
    html = r._repr_html_()
    assert "reconstruction_error" in html and "<table" in html
    with pytest.raises(AttributeError):
        r.drifted = False
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    ax = r.plot()
    assert ax.get_ylabel() == "Mean reconstruction error"
    assert len(ax.lines) >= 2


@pytest.mark.parametrize("bad,match", [
    (dict(reference=np.ones((5, 2)), current=np.ones((3, 2))), "fewer than n_chunks"),
    (dict(reference=np.full((40, 2), np.nan), current=np.ones((3, 2))), "no non-missing value"),
    (dict(reference=np.r_[np.ones((39, 2)), [[np.inf, 1]]], current=np.ones((3, 2))), "infinite"),
    (dict(reference=np.arange(80.0).reshape(40, 2), current=np.ones((3, 3))), "3 columns"),
    (dict(reference=np.arange(80.0).reshape(40, 2), current=np.ones((0, 2))), "no rows"),
    (dict(reference=np.arange(80.0).reshape(40, 2), current=np.array([[1.0, np.inf]])), "infinite"),
    (dict(reference=pd.DataFrame({"a": np.arange(40.0), "b": 1.0}), current=pd.DataFrame({"a": [1.0]})),
     r"'current' parameter of multivariate_drift has no column\(s\) \['b'\]"),
    (dict(reference=pd.DataFrame({"a": list("xy") * 20})), "no numeric column"),
])
def test_bad_input_names_function_and_argument(bad, match):
    bad.setdefault("current", np.ones((3, 1)))
    with pytest.raises(ValueError, match=match) as e:
        MO.multivariate_drift(**bad)
    assert "multivariate_drift" in str(e.value)


def test_bad_columns_and_n_components():
    x = correlated(100, 3, seed=1)
    with pytest.raises(ValueError, match="PCADrift: n_components=4 is more than the 3 columns"):
        MO.PCADrift(x, n_components=4)
    with pytest.raises(ValueError, match=r"PCADrift: columns \[5\] are not column positions of reference"):
        MO.PCADrift(x, columns=[0, 5])
    df = pd.DataFrame({"a": np.arange(30.0), "s": ["u"] * 30})
    with pytest.raises(TypeError, match="PCADrift: column 's' of reference must be numeric"):
        MO.PCADrift(df, columns=["a", "s"])


def test_docstring_examples_run():
    import doctest

    from mlsd.monitoring import _multivariate, _time

    for module in (_multivariate, _time):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted >= 1 and result.failed == 0
