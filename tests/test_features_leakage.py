"""leakage_report: late feature values (0 after point_in_time_join, counted after a naive join)
and univariate AUCs equal to scikit-learn's."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.metrics import roc_auc_score

from mlsd.features import FeatureTable, LeakageReport, leakage_report, point_in_time_join


def _data(seed=0, n=400, m=600):
    rng = np.random.default_rng(seed)
    spine = pd.DataFrame({"user": rng.integers(0, 30, n), "t": rng.integers(0, 1000, n)})
    spine["label"] = rng.integers(0, 2, n)
    feats = pd.DataFrame({"user": rng.integers(0, 30, m), "t": rng.integers(0, 1000, m),
                          "clicks": rng.poisson(3.0, m).astype(float)})
    return spine, feats


def test_point_in_time_join_leaks_nothing_and_a_latest_value_join_does():
    spine, feats = _data()
    joined = point_in_time_join(spine, FeatureTable(feats, time_column="clicks_t"), by="user", on="t")
    rep = leakage_report(joined, label="label", label_time="t", feature_times="clicks_t")
    assert isinstance(rep, LeakageReport) and rep.n_late == 0 and rep.n_rows == len(spine)
    assert rep.late == (("clicks_t", int(joined["clicks_t"].notna().sum()), 0),)
    # the naive join: each user's latest row overall, whatever the event time
    latest = feats.sort_values("t", kind="stable").groupby("user").tail(1).rename(columns={"t": "clicks_t"})
    naive = spine.merge(latest, on="user", how="left")
    rep2 = leakage_report(naive, label="label", label_time="t", feature_times=["clicks_t"])
    want = int(((naive["clicks_t"] > naive["t"]) & naive["clicks_t"].notna()).sum())
    assert rep2.n_late == want > 0
    frame = rep2.to_frame()
    assert frame.loc[frame["column"] == "clicks_t", "n_late"].item() == want


def test_aucs_equal_sklearn_and_a_target_leak_is_flagged():
    spine, feats = _data(1)
    rng = np.random.default_rng(2)
    spine["leak"] = spine["label"] + 0.1 * rng.standard_normal(len(spine))   # the label in disguise
    spine["inverse_leak"] = -spine["leak"]
    spine["noise"] = rng.standard_normal(len(spine))
    spine.loc[::7, "noise"] = np.nan
    spine["flag"] = rng.random(len(spine)) < 0.5
    rep = leakage_report(spine, label="label", label_time="t", auc_threshold=0.9)
    aucs = {f: auc for f, _, auc in rep.aucs}
    assert set(aucs) == {"user", "leak", "inverse_leak", "noise", "flag"}
    ok = spine["noise"].notna()
    assert aucs["noise"] == pytest.approx(roc_auc_score(spine["label"][ok], spine["noise"][ok]), abs=1e-12)
    assert aucs["leak"] == pytest.approx(roc_auc_score(spine["label"], spine["leak"]), abs=1e-12)
    assert aucs["flag"] == pytest.approx(roc_auc_score(spine["label"], spine["flag"]), abs=1e-12)
    assert rep.suspicious == ("leak", "inverse_leak")
    assert dict((f, n) for f, n, _ in rep.aucs)["noise"] == int(ok.sum())
    frame = rep.to_frame()
    assert frame["flagged"].sum() == 2 and "LeakageReport(" in repr(rep) and "<table" in rep._repr_html_()
    ax = rep.plot()
    assert len(ax.patches) == 5
    # pyarrow in, the same report
    rep_a = leakage_report(pa.Table.from_pandas(spine, preserve_index=False), label="label", label_time="t",
                           auc_threshold=0.9, features=["leak", "noise"])
    assert [a for _, _, a in rep_a.aucs] == pytest.approx([aucs["leak"], aucs["noise"]], abs=1e-12)


def test_datetimes_of_different_units():
    df = pd.DataFrame({"label": [0, 1, 1], "t": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"]),
                       "ft": pd.to_datetime(["2024-01-01", "2024-01-05", None]).astype("datetime64[ms]"),
                       "x": [1.0, 2.0, 3.0]})
    rep = leakage_report(df, label="label", label_time="t", feature_times="ft")
    assert rep.late == (("ft", 2, 1),) and rep.n_late == 1


def test_bad_input():
    df = pd.DataFrame({"label": [0, 1, 2], "t": [1, 2, 3], "ft": [0, 1, 2], "s": ["a", "b", "c"]})
    with pytest.raises(ValueError, match="leakage_report: label column 'label' must hold only 0 and 1"):
        leakage_report(df, label="label", label_time="t")
    df["label"] = [0, 1, 1]
    with pytest.raises(ValueError, match="leakage_report: label_time names column 'time', which data does not have"):
        leakage_report(df, label="label", label_time="time")
    with pytest.raises(TypeError, match="features names column 's', which is not numeric"):
        leakage_report(df, label="label", label_time="t", features="s")
    with pytest.raises(ValueError, match="feature_times names column 'nope'"):
        leakage_report(df, label="label", label_time="t", feature_times="nope")
    with pytest.raises(TypeError, match="feature_times columns hold datetimes in some tables and integers"):
        leakage_report(df.assign(ft=pd.to_datetime(["2024-01-01"] * 3)), label="label", label_time="t",
                       feature_times="ft")
    with pytest.raises(ValueError, match="'auc_threshold' parameter of leakage_report"):
        leakage_report(df, label="label", label_time="t", auc_threshold=0.5)


def test_arrow_boolean_features_with_nulls_are_scored_as_in_pandas():
    """A boolean feature that missing matches left null (as a point_in_time_join into pyarrow
    gives) is scored over its present rows, as the same column in pandas ("boolean")."""
    rng = np.random.default_rng(5)
    n = 200
    label = rng.integers(0, 2, n)
    flag = pd.array(np.where(rng.random(n) < 0.2, None, (label + (rng.random(n) < 0.3)) % 2 == 1), dtype="boolean")
    frame = pd.DataFrame({"label": label, "t": np.zeros(n, np.int64), "flag": flag})
    want = leakage_report(frame, label="label", label_time="t")
    got = leakage_report(pa.Table.from_pandas(frame, preserve_index=False), label="label", label_time="t")
    assert [a[0] for a in want.aucs] == ["flag"] and got.aucs == want.aucs
    assert leakage_report(pa.Table.from_pandas(frame, preserve_index=False), label="label", label_time="t",
                          features="flag").aucs == want.aucs
