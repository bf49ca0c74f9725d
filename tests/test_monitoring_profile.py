"""Profiles: profile.compare(current) is drift(reference, current) number for number; profiles of
partitions merge into the profile of the whole; save/load round-trips through a checksummed file
and rejects corrupted, truncated and foreign files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlsd._validation import InvalidParameterError
from mlsd.monitoring import DriftReport, Profile, drift

FIELDS = ["ks", "ks_pvalue", "wasserstein", "wasserstein_norm", "psi", "jensenshannon", "hellinger", "chi2",
          "chi2_pvalue", "cramers_v", "statistic", "pvalue", "threshold", "score", "missing_ref", "missing_cur"]


def _tables(seed, n1=4000, n2=3000):
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"x": rng.normal(size=n1), "y": np.round(rng.exponential(size=n1), 1),
                        "c": rng.choice(["a", "b", "c"], n1), "k": rng.integers(0, 5, n1)})
    cur = pd.DataFrame({"x": rng.normal(0.1, 1, size=n2), "y": np.round(rng.exponential(1.2, size=n2), 1),
                        "c": rng.choice(["a", "b", "d"], n2), "k": rng.integers(0, 6, n2)})
    ref.loc[rng.random(n1) < 0.05, "x"] = np.nan
    cur.loc[rng.random(n2) < 0.1, "c"] = None
    return ref, cur


def assert_same_report(a: DriftReport, b: DriftReport):
    assert list(a.column) == list(b.column) and list(a.method) == list(b.method)
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    np.testing.assert_array_equal(a.drifted, b.drifted)
    assert list(a.new_categories) == list(b.new_categories)
    assert list(a.vanished_categories) == list(b.vanished_categories)
    assert a.share_drifted == b.share_drifted


@pytest.mark.parametrize("options", [{}, {"ks_method": "asymp", "n_bins": 7}, {"bins": {"x": [-1.0, 0.0, 1.0]}},
                                     {"method": "psi", "alternative": "less"}])
def test_compare_equals_drift_exactly(options):
    ref, cur = _tables(0)
    prof = Profile.from_data(ref, categorical=["k"])
    assert_same_report(prof.compare(cur, **options), drift(ref, cur, categorical=["k"], **options))


def test_profile_of_partitions_merges_into_the_whole(tmp_path):
    ref, cur = _tables(1)
    whole = Profile.from_data(ref)
    parts = [Profile.from_data(ref.iloc[a:b]) for a, b in [(0, 0), (0, 1), (1, 1500), (1500, 4000)]]
    merged = parts[3].merge(parts[1], parts[0], parts[2])
    assert merged.to_dict() == whole.to_dict()
    streamed = Profile.from_data(ref.iloc[:0])
    for a in range(0, 4000, 900):
        streamed.update(ref.iloc[a:a + 900])
    assert streamed.to_dict() == whole.to_dict()
    assert_same_report(merged.compare(cur), drift(ref, cur))


def test_save_and_load_round_trip(tmp_path):
    ref, cur = _tables(2)
    prof = Profile.from_data(ref)
    path = tmp_path / "ref.mlsdprof"
    prof.save(path)
    again = Profile.load(path)
    assert again.to_dict() == prof.to_dict()
    assert again.merge(prof).to_dict() == Profile.from_data(pd.concat([ref, ref])).to_dict()  # loaded views merge
    assert_same_report(again.compare(cur), drift(ref, cur))
    assert Profile.from_dict(json.loads(json.dumps(prof.to_dict()))).to_dict() == prof.to_dict()


@pytest.mark.parametrize("damage", ["flip", "truncate", "magic", "version", "empty"])
def test_corrupted_profile_files_raise_a_clear_error(tmp_path, damage):
    ref, _ = _tables(3, 300, 10)
    path = tmp_path / "p.bin"
    Profile.from_data(ref).save(path)
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x10
    elif damage == "truncate":
        data = data[:-9]
    elif damage == "magic":
        data[0:8] = b"NOTAPROF"
    elif damage == "version":
        data[8] = 99
    else:
        data = data[:5]
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidParameterError, match=r"'path' parameter of Profile.load.*"):
        Profile.load(path)


def test_profile_of_another_schema_is_rejected():
    ref, cur = _tables(4)
    prof = Profile.from_data(ref)
    with pytest.raises(InvalidParameterError, match="Profile.compare.*no column"):
        prof.compare(cur.drop(columns=["y"]))
    with pytest.raises(InvalidParameterError, match="Profile.compare.*categorical column 'x'"):
        prof.compare(cur.assign(x=cur["x"].astype(str)))
    with pytest.raises(InvalidParameterError, match="Profile.merge"):
        prof.merge(Profile.from_data(ref[["x", "y"]]))


def test_profile_summary_holds_exact_moments():
    ref, _ = _tables(5)
    s = Profile.from_data(ref).result().to_frame().set_index("column")
    x = ref["x"].dropna().to_numpy()
    assert s.loc["x", "n"] == len(x)
    assert s.loc["x", "mean"] == pytest.approx(x.mean(), rel=1e-13)
    assert s.loc["x", "std"] == pytest.approx(x.std(), rel=1e-12)
    assert s.loc["x", "missing"] == pytest.approx(ref["x"].isna().mean())
    assert s.loc["c", "n_categories"] == 3


def test_columns_without_any_value_take_the_other_sides_kind():
    # an all-None object column reads as numeric and a CSV's empty string column as float NaN: with no
    # value they have no kind, so they are "not testable" rows (drift and compare alike), and a
    # partition holding none of a string column's values still merges into the profile of the whole
    ref = pd.DataFrame({"c": ["a", "b", "a", "b"], "x": [1.0, 2.0, 3.0, 4.0]})
    for empty in (pd.Series([None, None, None], dtype=object), pd.Series([np.nan] * 3)):
        cur = pd.DataFrame({"c": empty, "x": [1.0, 2.0, 5.0]})
        report = drift(ref, cur)
        assert list(report.method) == ["not testable", "ks"]
        assert report.note[0] == "every value of the current column is missing"
        assert_same_report(Profile.from_data(ref).compare(cur), report)
        back = drift(cur.rename(columns={"x": "y"}).assign(x=cur["x"]), ref, columns=["c", "x"])
        assert list(back.method) == ["not testable", "ks"] and list(back.type) == ["categorical", "numeric"]
    whole = pd.DataFrame({"c": ["a", "b", None, None, "a"], "x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    parts = [Profile.from_data(whole.iloc[a:b]) for a, b in [(0, 2), (2, 4), (4, 5)]]
    assert parts[1].kinds["c"] == "numeric"  # all None: no kind of its own
    merged = parts[1].merge(parts[0], parts[2])
    assert merged.kinds == {"c": "categorical", "x": "numeric"}
    assert merged.to_dict() == Profile.from_data(whole).to_dict()
    streamed = Profile.from_data(whole.iloc[2:4]).update(whole.iloc[:2]).update(whole.iloc[4:])
    assert streamed.to_dict() == Profile.from_data(whole).to_dict()
    empty_profile = Profile.from_data(pd.DataFrame({"c": [None, None], "x": [1.0, 2.0]}))
    assert_same_report(empty_profile.compare(ref), drift(pd.DataFrame({"c": [None, None], "x": [1.0, 2.0]}), ref))


@pytest.mark.parametrize("name", ["x", "xy", "xyz", "wxyz", "a_longer_name"])
def test_loaded_columns_are_aligned_for_the_kernels(tmp_path, name):
    # the loaded values are views of the file's bytes, passed to C++ as double*: they must be aligned
    rng = np.random.default_rng(6)
    ref = {name: rng.normal(size=50), "y": rng.normal(size=50)}
    Profile.from_data(ref).save(tmp_path / "p.bin")
    loaded = Profile.load(tmp_path / "p.bin")
    for c in loaded.columns:
        assert loaded.sorted_values(c).flags.aligned and loaded.sorted_values(c).ctypes.data % 8 == 0
    cur = {name: rng.normal(size=40), "y": rng.normal(size=40)}
    assert_same_report(loaded.compare(cur), drift(ref, cur))


@pytest.mark.parametrize("damage", ["zero count", "repeated category", "bool count", "float missing", "str missing"])
def test_from_dict_rejects_counts_a_profile_cannot_hold(damage):
    d = Profile.from_data({"c": np.array(["a", "b", "a"]), "x": np.array([1.0, np.nan, 2.0])}).to_dict()
    cats = d["columns"][0]["categories"]
    if damage == "zero count":  # compare would report a vanished category and fail in chi2_contingency
        cats.append(["z", 0])
    elif damage == "repeated category":  # the second count silently replaced the first
        cats.append(["a", 1])
    elif damage == "bool count":
        cats[0][1] = True
    elif damage == "float missing":  # int() truncated it
        d["columns"][1]["missing"] = 1.5
    else:
        d["columns"][1]["missing"] = "1"
    with pytest.raises(InvalidParameterError, match="'d' parameter of Profile.from_dict"):
        Profile.from_dict(d)


def test_code_columns_merge_whether_or_not_a_partition_has_missing_values():
    # a code column is float in a batch with NaN and int in one without: one category either way,
    # in one order, so the merge is the whole and compare is drift bit for bit
    whole = pd.DataFrame({"k": [1, 2, np.nan, 3, 1, 2]})
    part = pd.DataFrame({"k": np.array([1, 2], dtype=np.int64)})
    merged = Profile.from_data(part, categorical=["k"]).merge(Profile.from_data(whole.iloc[2:], categorical=["k"]))
    assert merged.to_dict() == Profile.from_data(whole, categorical=["k"]).to_dict()
    cur = pd.DataFrame({"k": np.array([1, 1, 3, 4])})
    report = drift(whole, cur, categorical=["k"])
    assert_same_report(merged.compare(cur), report)
    assert report.new_categories[0] == (4,) and report.vanished_categories[0] == (2,)


@pytest.mark.parametrize("scale", [1e160, 1e300, 1e307])
def test_profile_summary_of_huge_values_is_finite(scale):
    # the exact profile keeps the sketched one's moments rule (values scaled by a power of two
    # beyond 2**400): NumPy's std of such values overflows in the squares and its mean in the sum
    x = np.random.default_rng(4).normal(1, 1, 1_000) * scale
    k, v = 2.0 ** (int(np.frexp(np.max(np.abs(x)))[1]) - 400), np.sort(x)  # (the profile sums the sorted values)
    s = Profile.from_data({"x": x}).result()
    assert s.mean[0] == np.mean(v / k) * k and s.std[0] == np.std(v / k) * k
    sk = Profile.from_data({"x": x}, sketch=64).result()
    assert (sk.mean[0], sk.std[0]) == (s.mean[0], s.std[0])
