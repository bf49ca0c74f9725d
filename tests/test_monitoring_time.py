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
