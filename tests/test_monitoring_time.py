"""Monitoring over time: each window's numbers equal those computed on that window alone (with
scikit-learn as the reference for AUC and log loss)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss, roc_auc_score

import mlsd.metrics as M
import mlsd.monitoring as MO


def decaying_model(n=6000, days=6, seed=0):
    """Scores whose link to the outcome weakens day by day, rows in random time order."""
    rng = np.random.default_rng(seed)
    t = np.datetime64("2024-03-01T00:00", "ns") + rng.integers(0, days * 86400, n).astype("timedelta64[s]")
    day = (t - t.min()).astype("timedelta64[D]").astype(int)
    logit = rng.standard_normal(n)
    p_true = 1 / (1 + np.exp(-(logit * (1.5 - 0.25 * day) - 1.0)))
    y = (rng.random(n) < p_true).astype(np.int64)
    score = 1 / (1 + np.exp(-(1.5 * logit - 1.0)))
    return y, score, t


def test_each_window_equals_the_window_alone():
    y, s, t = decaying_model()
    r = MO.performance_over_time(y, s, t, "1D")
    days = pd.DatetimeIndex(t).floor("1D")
    expected_windows = np.unique(days)
    np.testing.assert_array_equal(r.window, expected_windows)
    for i, w in enumerate(expected_windows):
        m = days == w
        yw, sw = y[m], s[m]
        assert r.rows[i] == m.sum()
        assert r.positive_rate[i] == pytest.approx(yw.mean(), rel=1e-12)
        assert r.auc[i] == pytest.approx(roc_auc_score(yw, sw), rel=1e-12)
        p = yw.mean()
        assert r.normalized_entropy[i] == pytest.approx(log_loss(yw, sw) / -(p * np.log(p) + (1 - p) * np.log(1 - p)),
                                                        rel=1e-10)
        assert r.calibration[i] == pytest.approx(sw.mean() / yw.mean(), rel=1e-12)
        assert r.ece[i] == pytest.approx(M.expected_calibration_error(yw, sw, n_bins=10), rel=1e-12)
    # the decay is visible: AUC falls and NE rises from the first day to the last
    assert r.auc[0] > r.auc[-1] + 0.1
    assert r.normalized_entropy[-1] > r.normalized_entropy[0]


def test_frequencies_and_single_class_windows():
    t = np.array(["2024-01-01T01", "2024-01-01T05", "2024-01-01T13", "2024-01-01T14", "2024-01-08T00",
                  "2024-01-09T00"], dtype="datetime64[ns]")
    y = np.array([0, 1, 1, 1, 0, 1])
    s = np.array([0.2, 0.8, 0.6, 0.9, 0.3, 0.4])
    r = MO.performance_over_time(y, s, t, "12h")
    assert r.rows.tolist() == [2, 2, 1, 1]
    assert r.auc[0] == 1.0 and np.isnan(r.auc[1:]).all()  # windows 2-4 hold one class
    assert np.isnan(r.normalized_entropy[1:]).all()
    assert np.isnan(r.calibration[2])  # no positives
    weekly = MO.performance_over_time(y, s, t, "W")  # calendar weeks (ending Sunday)
    assert weekly.rows.tolist() == [4, 2]
    assert weekly.auc[1] == 1.0
    frame = weekly.to_frame()
    assert list(frame.columns) == ["window", "rows", "positive_rate", "auc", "normalized_entropy", "calibration",
                                   "ece"]
    none = MO.performance_over_time([1, 1], [0.5, 0.7], t[:2], "1D")
    assert np.isnan(none.auc).all()


def test_plot_and_repr():
    y, s, t = decaying_model(n=600)
    r = MO.performance_over_time(y, s, t, "1D")
    assert repr(r).startswith("PerformanceOverTime(")
    assert "<table" in r._repr_html_()
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    ax = r.plot()
    assert len(ax.lines) == 4


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(y_true=[0, 2], y_score=[0.1, 0.2]), ValueError, "y_true"),
    (dict(y_true=[0, 1], y_score=[0.1, 1.2]), ValueError, r"y_score must be probabilities"),
    (dict(y_true=[0, 1, 1], y_score=[0.1, 0.2]), ValueError, "y_score"),
    (dict(time=np.array(["2024-01-01", "NaT"], dtype="datetime64[ns]")), ValueError, "NaT"),
    (dict(time=np.array(["2024-01-01"], dtype="datetime64[ns]")), ValueError, "time has 1 elements"),
    (dict(freq="fortnightly"), ValueError, "'freq' parameter of performance_over_time"),
    (dict(time=["2024-01-01", "2024-01-02"]), TypeError, "'time' parameter of performance_over_time"),
])
def test_bad_input(kwargs, exc, match):
    args = dict(y_true=[0, 1], y_score=[0.1, 0.2], time=np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[ns]"))
    args.update(kwargs)
    with pytest.raises(exc, match=match) as e:
        MO.performance_over_time(**args)
    assert "performance_over_time" in str(e.value)


# -- drift per window -----------------------------------------------------------------------------

def live_table(n=4000, seed=1):
    """Three days of rows, out of time order: x shifts on the third day, c's mix on the second."""
    rng = np.random.default_rng(seed)
    t = np.datetime64("2024-05-01", "ns") + rng.integers(0, 3 * 86400, n).astype("timedelta64[s]")
    day = (t - np.datetime64("2024-05-01", "ns")).astype("timedelta64[D]").astype(int)
    x = rng.normal(size=n) + 0.8 * (day == 2)
    c = np.where(rng.random(n) < np.where(day == 1, 0.8, 0.5), "a", "b")
    y = rng.exponential(size=n)
    y[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({"t": t, "x": x, "c": c, "y": y})


def reference_table(n=3000, seed=2):
    rng = np.random.default_rng(seed)
    y = rng.exponential(size=n)
    y[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({"x": rng.normal(size=n), "c": np.where(rng.random(n) < 0.5, "a", "b"), "y": y})


def assert_same_report(a, b):
    fa, fb = a.to_frame(), b.to_frame()
    assert list(fa.columns) == list(fb.columns)
    for col in fa.columns:
        if fa[col].dtype.kind == "f":
            np.testing.assert_array_equal(fa[col].to_numpy(), fb[col].to_numpy())  # NaN == NaN here
        else:
            assert fa[col].tolist() == fb[col].tolist(), col


def test_drift_over_time_equals_drift_per_window():
    ref, live = reference_table(), live_table()
    r = MO.drift_over_time(ref, live, "t", "1D")
    days = pd.DatetimeIndex(live["t"]).floor("1D")
    np.testing.assert_array_equal(r.window, np.unique(days))
    assert r.columns.tolist() == ["x", "c", "y"]
    for i, w in enumerate(r.window):
        window = live.loc[days == w, ["x", "c", "y"]]
        expected = MO.drift(ref, window)
        assert r.rows[i] == len(window)
        assert_same_report(r.reports[i], expected)
        np.testing.assert_array_equal(r.score[i], expected.score)
        np.testing.assert_array_equal(r.drifted[i], expected.drifted)
        assert r.share_drifted[i] == expected.share_drifted
    # the shifts are found where they were made, and only there
    assert r.drifted[:, 0].tolist() == [False, False, True]
    assert r.drifted[:, 1].tolist() == [False, True, False]
    frame = r.to_frame()
    assert len(frame) == 3 * 3 and list(frame.columns[:4]) == ["window", "rows", "column", "type"]


def test_drift_over_time_from_a_profile_and_other_tables(tmp_path):
    ref, live = reference_table(), live_table(n=1500)
    direct = MO.drift_over_time(ref, live, "t", "12h", method="psi")
    path = tmp_path / "ref.mlsdprof"
    MO.Profile.from_data(ref).save(path)
    from_file = MO.drift_over_time(MO.Profile.load(path), live, "t", "12h", method="psi")
    np.testing.assert_array_equal(direct.score, from_file.score)
    pa = pytest.importorskip("pyarrow")
    arrow = MO.drift_over_time(pa.Table.from_pandas(ref), pa.Table.from_pandas(live), "t", "12h", method="psi")
    np.testing.assert_array_equal(direct.score, arrow.score)
    as_dict = MO.drift_over_time({k: ref[k].to_numpy() for k in ref}, {k: live[k].to_numpy() for k in live}, "t",
                                 "12h", method="psi")
    np.testing.assert_array_equal(direct.statistic, as_dict.statistic)
    only_x = MO.drift_over_time(ref.assign(t=np.datetime64("2024-04-01", "ns")), live, "t", "1D", columns=["x"])
    assert only_x.columns.tolist() == ["x"] and only_x.score.shape == (3, 1)


def test_drift_over_time_plot_and_repr():
    r = MO.drift_over_time(reference_table(600), live_table(900), "t", "1D")
    assert repr(r).startswith("DriftOverTime(") and "<tuple of 3>" in repr(r)
    assert "<table" in r._repr_html_()
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    ax = r.plot()
    assert ax.images[0].get_array().shape == (3, 3)  # columns x windows
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "c", "y"]


@pytest.mark.parametrize("kwargs,match", [
    (dict(time_column="when"), "time_column 'when' is not a column of data"),
    (dict(columns=["x", "t"]), "must not include the time_column"),
    (dict(freq="nonsense"), "'freq' parameter of drift_over_time"),
    (dict(data=pd.DataFrame({"t": np.array(["2024-01-01"], dtype="datetime64[ns]"), "x": [1.0]})),
     r"'data' parameter of drift_over_time has no column\(s\)"),
    (dict(data=pd.DataFrame({"t": [1.5, 2.5], "x": [1.0, 2.0], "c": ["a", "b"], "y": [1.0, 2.0]})), "datetime64"),
])
def test_drift_over_time_bad_input(kwargs, match):
    args = dict(reference=reference_table(50), data=live_table(60), time_column="t")
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match) as e:
        MO.drift_over_time(**args)
    assert "drift_over_time" in str(e.value)
