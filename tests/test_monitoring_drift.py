"""drift() and DriftReport: inputs (pandas, pyarrow, Polars, dicts, NumPy) give the same report;
the report's frame, HTML, plots and progress bar; bad input raises clear errors or gives a
documented "not testable" row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlsd._validation import InvalidParameterError
from mlsd.monitoring import DriftReport, Profile, drift


def _frames(seed=0, n1=1500, n2=1200):
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"x": rng.normal(size=n1), "z": rng.uniform(size=n1), "c": rng.choice(["a", "b", "c"], n1)})
    cur = pd.DataFrame({"x": rng.normal(1.0, 1, size=n2), "z": rng.uniform(size=n2),
                        "c": rng.choice(["a", "b", "c"], n2, p=[0.2, 0.3, 0.5])})
    return ref, cur


def test_report_rows_and_dataset_share():
    ref, cur = _frames()
    rep = drift(ref, cur)
    assert isinstance(rep, DriftReport) and len(rep) == 3
    assert list(rep.column) == ["x", "z", "c"] and list(rep.type) == ["numeric", "numeric", "categorical"]
    assert list(rep.drifted) == [True, False, True]
    assert rep.n_drifted == 2 and rep.share_drifted == pytest.approx(2 / 3) and rep.dataset_drift
    frame = rep.to_frame()
    assert list(frame["column"]) == ["x", "z", "c"] and {"method", "statistic", "pvalue", "threshold"} <= set(frame)
    html = rep._repr_html_()
    assert "DriftReport" in html and "share_drifted" in html and "<table" in html
    assert repr(rep).startswith("DriftReport(") and len(repr(rep)) < 3000
    assert rep.row("c")["new_categories"] == ()
    with pytest.raises(AttributeError):
        rep.n_drifted = 0


@pytest.mark.parametrize("kind", ["pyarrow", "dict", "polars"])
def test_inputs_give_the_same_report(kind):
    ref, cur = _frames(1)
    want = drift(ref, cur).to_frame()
    if kind == "pyarrow":
        pa = pytest.importorskip("pyarrow")
        conv = pa.Table.from_pandas
    elif kind == "polars":
        pl = pytest.importorskip("polars")
        conv = pl.from_pandas
    else:
        conv = lambda d: {k: d[k].to_numpy() for k in d.columns}  # noqa: E731
    got = drift(conv(ref), conv(cur)).to_frame()
    pd.testing.assert_frame_equal(got, want)


def test_numpy_2d_input_names_columns_by_position():
    rng = np.random.default_rng(2)
    ref, cur = rng.normal(size=(500, 3)), rng.normal(size=(400, 3))
    rep = drift(ref, cur, columns=[2, 0])
    assert list(rep.column) == [2, 0]
    want = drift({"a": ref[:, 2]}, {"a": cur[:, 2]})
    assert rep.ks[0] == want.ks[0] and rep.psi[0] == want.psi[0]


def test_pandas_nullable_and_categorical_dtypes():
    rng = np.random.default_rng(3)
    n = 600
    ref = pd.DataFrame({"i": pd.array(rng.integers(0, 9, n), dtype="Int64"), "c": pd.Categorical(rng.choice(list("xy"), n))})
    cur = ref.copy()
    cur.loc[:49, "i"] = pd.NA
    rep = drift(ref, cur)
    assert list(rep.type) == ["numeric", "categorical"]
    assert rep.missing_cur[0] == pytest.approx(50 / n) and rep.missing_ref[0] == 0
    assert rep.chi2[1] == 0.0 and not rep.drifted[1]


def test_plots_return_axes():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    ref, cur = _frames(4)
    rep = drift(ref, cur)
    ax = rep.plot()
    assert len(ax.patches) == 3
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1].startswith("x")  # the most drifted column on top
    axs = rep.plot_histograms(top=2)
    assert len(axs) == 2 and axs[0].get_title() == "x"
    plt.close("all")


def test_default_histograms_skip_columns_that_are_not_testable():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    # the default picks the worst columns: a "not testable" one (no bins) made it raise
    rep = drift({"x": np.arange(10.0), "y": np.arange(10.0)}, {"x": np.arange(5.0), "y": np.full(5, np.nan)})
    axs = rep.plot_histograms()
    assert [ax.get_title() for ax in axs] == ["x"]
    none = drift({"y": np.arange(10.0)}, {"y": np.full(5, np.nan)})
    assert len(none.plot_histograms()) == 1
    plt.close("all")


def test_progress_bar_is_off_by_default_and_on_by_option(capsys):
    ref, cur = _frames(5)
    drift(ref, cur)
    assert capsys.readouterr().err == ""
    rep = drift(ref, cur, progress=True)
    assert "drift" in capsys.readouterr().err
    pd.testing.assert_frame_equal(rep.to_frame(), drift(ref, cur).to_frame())


# ---- bad input ------------------------------------------------------------------------------------

def test_columns_missing_on_one_side():
    ref, cur = _frames(6)
    with pytest.raises(InvalidParameterError, match=r"'current' parameter of drift has no column\(s\) \['z'\]"):
        drift(ref, cur.drop(columns=["z"]))
    with pytest.raises(InvalidParameterError, match=r"'columns' parameter of drift names column\(s\) \['q'\]"):
        drift(ref, cur, columns=["x", "q"])


def test_all_missing_and_constant_columns():
    ref, cur = _frames(7)
    ref["allnan"] = np.nan
    cur["allnan"] = np.nan
    ref["const"] = 1.0
    cur["const"] = np.r_[np.ones(600), np.full(600, 2.0)]
    ref["cnan"] = None
    cur["cnan"] = "a"
    rep = drift(ref, cur, categorical=["cnan"])
    row = rep.row("allnan")
    assert row["method"] == "not testable" and not row["drifted"] and np.isnan(row["statistic"])
    assert "missing" in row["note"]
    assert rep.row("cnan")["method"] == "not testable"
    const = rep.row("const")
    assert const["wasserstein_norm"] == np.inf and const["drifted"] and const["note"] == "constant reference column"
    same = drift({"k": np.ones(2000)}, {"k": np.ones(100)})
    assert same.wasserstein_norm[0] == 0.0 and not same.drifted[0]
    assert rep.share_drifted == rep.n_drifted / (len(rep) - 2)


def test_mixed_types_empty_current_and_wrong_kinds():
    ref, cur = _frames(8)
    mixed = cur.assign(c=cur["c"].astype(object))
    mixed.loc[3, "c"] = 3.5
    with pytest.raises(InvalidParameterError, match="'current' parameter of drift.*Column 'c' mixes"):
        drift(ref, mixed)
    with pytest.raises(InvalidParameterError, match="'current' parameter of drift must hold at least one row"):
        drift(ref, cur.iloc[:0])
    with pytest.raises(InvalidParameterError, match="'reference' parameter of drift must hold at least one row"):
        drift(ref.iloc[:0], cur)
    with pytest.raises(InvalidParameterError, match="categorical column 'x'"):
        drift(ref, cur.assign(x=cur["x"].astype(str)))
    with pytest.raises(ValueError, match="drift: column 'x' holds an infinite value"):
        drift(ref, cur.assign(x=np.r_[np.inf, cur["x"].to_numpy()[1:]]))
    with pytest.raises(InvalidParameterError, match="'method' parameter of drift must be one of .* categorical column 'c'"):
        drift(ref, cur, method="wasserstein")
    with pytest.raises(InvalidParameterError, match="'categorical' parameter of drift names column"):
        drift(ref, cur, categorical=["nope"])
    with pytest.raises(InvalidParameterError, match="'bins' parameter of drift"):
        drift(ref, cur, bins=[0.0, 0.0, 1.0])


def test_kernels_release_the_gil():
    from conftest import assert_releases_gil

    rng = np.random.default_rng(9)
    ref = {f"c{j}": rng.normal(size=400_000) for j in range(4)}
    assert_releases_gil(lambda: drift(ref, ref))


def test_benchmark_script_runs_in_quick_mode():
    import pathlib
    import subprocess
    import sys

    script = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "bench_monitoring.py"
    out = subprocess.run([sys.executable, str(script), "--quick", "--repeat", "1"], capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("values agree") == 3  # drift, profile.compare, PCADrift


@pytest.mark.parametrize("module", ["_drift", "_pairs"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"mlsd.monitoring.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_a_pandas_categorical_of_numbers_is_categorical():
    # documented: Categorical columns are categorical; one of numbers used to read as numeric
    ref = pd.DataFrame({"k": pd.Categorical([1, 2, 3, 1, 2, 3, None]), "x": np.arange(7.0)})
    cur = pd.DataFrame({"k": pd.Categorical([1, 1, 1, 2, 4]), "x": np.arange(5.0)})
    report = drift(ref, cur)
    assert list(report.type) == ["categorical", "numeric"]
    assert report.new_categories[0] == (4,) and report.vanished_categories[0] == (3,)
    assert report.missing_ref[0] == pytest.approx(1 / 7)
    assert list(drift(ref, cur, columns=["x"]).type) == ["numeric"]
    prof = Profile.from_data(ref)
    assert prof.kinds == {"k": "categorical", "x": "numeric"}
    assert prof.compare(cur).to_frame().equals(report.to_frame())


@pytest.mark.parametrize("option", [{"method": {"xx": "psi"}}, {"threshold": {"xx": 0.2}}, {"bins": {"xx": [0.0, 1.0]}},
                                    {"bins": {"c": [0.0, 1.0]}}])
def test_per_column_options_must_name_tested_columns(option):
    # a misspelt column silently kept the default method, threshold or bins
    ref = {"x": np.arange(20.0), "c": np.array(["a", "b"] * 10)}
    name = next(iter(next(iter(option.values()))))
    with pytest.raises(InvalidParameterError, match=f"'{next(iter(option))}' parameter of drift names column.*{name}"):
        drift(ref, ref, **option)
    with pytest.raises(InvalidParameterError, match=f"'{next(iter(option))}' parameter of Profile.compare names"):
        Profile.from_data(ref).compare(ref, **option)
