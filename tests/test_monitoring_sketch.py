"""Profiles with quantile sketches (``Profile.from_data(..., sketch=k)``): KS and Wasserstein of
``compare`` within the stated bound of the exact ``drift``, after merging partition profiles and
after save/load and to_dict/from_dict; exact while the sketch holds every value; corrupted sketches
refused before DataSketches reads them."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import numpy as np
import pytest
import scipy.stats

datasketches = pytest.importorskip("datasketches")

from mlsd import _core  # noqa: E402
from mlsd.monitoring import Profile, drift  # noqa: E402
from mlsd.monitoring import _sketch  # noqa: E402

FIELDS = ("ks", "ks_pvalue", "wasserstein", "wasserstein_norm", "psi", "jensenshannon", "hellinger", "chi2",
          "chi2_pvalue", "n_ref", "n_cur", "missing_ref", "missing_cur")


def _data(rng, n, shift=0.0):
    x = rng.normal(shift, 1, n)
    x[rng.random(n) < 0.05] = np.nan
    return {"x": x, "heavy": rng.standard_t(3, n) * 10 + shift, "ties": np.round(rng.exponential(2 + shift, n), 1),
            "c": rng.choice(np.array(["a", "b", "c"]), n, p=[0.5, 0.3, 0.2])}


def _check_within_bound(profile, reference, current):
    """compare's KS and Wasserstein within the stated bound of drift's (and of SciPy's); the rest
    of the report (categorical tests, counts, missing shares) equal."""
    got, exact = profile.compare(current), drift(reference, current)
    eps = profile.rank_error
    assert 0 < eps < 0.05
    for j, name in enumerate(got.column):
        if name == "c":
            continue
        r = reference[name][~np.isnan(reference[name])]
        c = current[name][~np.isnan(current[name])]
        assert exact.ks[j] == pytest.approx(scipy.stats.ks_2samp(r, c).statistic, abs=1e-12)
        assert exact.wasserstein[j] == pytest.approx(scipy.stats.wasserstein_distance(r, c), rel=1e-9)
        assert abs(got.ks[j] - exact.ks[j]) <= eps
        assert abs(got.wasserstein[j] - exact.wasserstein[j]) <= eps * (r.max() - r.min())
        assert got.wasserstein[j] != exact.wasserstein[j]  # really from the sketch
        # the moments are exact: the normalised distance moves only with the distance
        sd = r.std()
        assert abs(got.wasserstein_norm[j] - exact.wasserstein_norm[j]) <= eps * (r.max() - r.min()) / sd * (1 + 1e-9)
        # binned tests: edges from the sketch, close to the exact ones
        assert abs(got.psi[j] - exact.psi[j]) < 0.05 and abs(got.jensenshannon[j] - exact.jensenshannon[j]) < 0.05
    for f in ("chi2", "chi2_pvalue", "cramers_v", "n_ref", "n_cur", "missing_ref", "missing_cur", "jensenshannon"):
        k = list(got.column).index("c")
        assert np.array_equal(np.asarray(getattr(got, f))[k:k + 1], np.asarray(getattr(exact, f))[k:k + 1],
                              equal_nan=True), f
    np.testing.assert_array_equal(got.n_ref, exact.n_ref)
    np.testing.assert_array_equal(got.missing_cur, exact.missing_cur)
    return got, exact


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("k", [200, 1000])
def test_compare_within_the_rank_error_bound(seed, k):
    rng = np.random.default_rng(seed)
    ref, cur = _data(rng, 60_000), _data(rng, 20_000, shift=0.05 * seed)
    profile = Profile.from_data(ref, sketch=k)
    assert profile.sketch == k and profile.rank_error == pytest.approx(
        datasketches.kll_doubles_sketch.get_normalized_rank_error(k, True))
    _check_within_bound(profile, ref, cur)


def test_merged_partition_profiles_saved_and_loaded_stay_within_the_bound(tmp_path):
    rng = np.random.default_rng(7)
    ref, cur = _data(rng, 40_000), _data(rng, 10_000, shift=0.1)
    cuts = [0, 1, 9_000, 9_000, 25_000, 40_000]
    parts = [Profile.from_data({c: v[a:b] for c, v in ref.items()}, sketch=200) for a, b in zip(cuts, cuts[1:])]
    merged = parts[3].merge(parts[0], parts[4], parts[1], parts[2])
    assert merged.n_rows == 40_000 and merged.missing("x") == int(np.isnan(ref["x"]).sum())
    _check_within_bound(merged, ref, cur)
    path = tmp_path / "sketched.mlsdprof"
    merged.save(path)
    loaded = Profile.load(path)
    assert loaded.to_dict() == merged.to_dict() and loaded.sketch == 200
    a, b = loaded.compare(cur), merged.compare(cur)
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    again = Profile.from_dict(json.loads(json.dumps(merged.to_dict())))
    np.testing.assert_array_equal(again.compare(cur).ks, b.ks)
    # streaming: update batch by batch
    streamed = Profile.from_data({c: v[:10] for c, v in ref.items()}, sketch=200)
    for a0 in range(10, 40_000, 15_000):
        streamed.update({c: v[a0:a0 + 15_000] for c, v in ref.items()})
    assert streamed.n_rows == 40_000
    _check_within_bound(streamed, ref, cur)
    # the summary's moments are exact (to rounding), min and max exact
    s, e = merged.result(), Profile.from_data(ref).result()
    np.testing.assert_allclose(s.mean[:3], e.mean[:3], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s.std[:3], e.std[:3], rtol=1e-12)
    np.testing.assert_array_equal(s.min[:3], e.min[:3])
    np.testing.assert_array_equal(s.max[:3], e.max[:3])


def test_a_sketch_holding_every_value_gives_drifts_numbers():
    rng = np.random.default_rng(3)
    ref, cur = _data(rng, 150), _data(rng, 5_000, shift=0.3)
    profile = Profile.from_data(ref, sketch=200)
    assert profile.rank_error == 0.0
    got, exact = profile.compare(cur, n_bins=7), drift(ref, cur, n_bins=7)
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(got, f), getattr(exact, f), err_msg=f)
    edges = np.linspace(-3, 3, 9)
    got, exact = profile.compare(cur, bins=edges), drift(ref, cur, bins=edges)
    np.testing.assert_array_equal(got.psi, exact.psi)


def test_constant_and_empty_columns():
    ref = {"k": np.full(5_000, 2.0), "e": np.full(5_000, np.nan)}
    cur = {"k": np.r_[np.full(4_000, 2.0), np.full(1_000, 3.0)], "e": np.full(5_000, np.nan)}
    profile = Profile.from_data(ref, sketch=64)
    got, exact = profile.compare(cur), drift(ref, cur)
    for f in ("ks", "wasserstein", "wasserstein_norm", "psi", "method", "note"):
        np.testing.assert_array_equal(getattr(got, f), getattr(exact, f), err_msg=f)


def test_exact_is_the_default_and_forms_do_not_mix():
    ref = _data(np.random.default_rng(0), 3_000)
    exact, sketched = Profile.from_data(ref), Profile.from_data(ref, sketch=100)
    assert exact.sketch is None and exact.rank_error == 0.0 and "sketch" not in exact.to_dict()
    assert "sketch=100" in repr(sketched)
    with pytest.raises(ValueError, match="'others' parameter of Profile.merge.*same form"):
        exact.merge(sketched)
    with pytest.raises(ValueError, match="Profile.sorted_values needs an exact profile"):
        sketched.sorted_values("x")
    for bad in (0, 7, 65536, 1.5, True, "200"):
        with pytest.raises((ValueError, TypeError), match="'sketch' parameter of Profile.from_data"):
            Profile.from_data(ref, sketch=bad)


def _corruptions(d):
    raw = base64.b64decode(d["columns"][0]["sketch"])
    flip = bytearray(raw)
    flip[20] ^= 0xFF  # the first level offset
    grow = bytearray(raw)
    grow[8] ^= 0x01  # n
    yield "truncated", base64.b64encode(raw[:-8]).decode()
    yield "level offset", base64.b64encode(bytes(flip)).decode()
    yield "n", base64.b64encode(bytes(grow)).decode()
    yield "not base64", "%%%"
    yield "a number", 12


def test_corrupted_sketches_are_refused_by_name():
    d = Profile.from_data(_data(np.random.default_rng(1), 5_000), sketch=50).to_dict()
    for what, value in _corruptions(d):
        bad = json.loads(json.dumps(d))
        bad["columns"][0]["sketch"] = value
        with pytest.raises(ValueError, match="'d' parameter of Profile.from_dict"):
            Profile.from_dict(bad)
    bad = json.loads(json.dumps(d))
    bad["columns"][0]["moments"][0] += 1  # a count that is not the sketch's
    with pytest.raises(ValueError, match="'d' parameter of Profile.from_dict"):
        Profile.from_dict(bad)
    bad = json.loads(json.dumps(d))
    bad["sketch"] = 3
    with pytest.raises(ValueError, match="'d' parameter of Profile.from_dict"):
        Profile.from_dict(bad)


def test_check_accepts_every_real_sketch_and_reads_its_weights():
    ds = datasketches
    rng = np.random.default_rng(5)
    for k in (8, 9, 200):
        for n in (0, 1, 2, 7, 500, 20_000):
            a = ds.kll_doubles_sketch(k)
            a.update(rng.normal(size=n)) if n else None
            b = ds.kll_doubles_sketch(max(8, k // 3))
            b.update(rng.normal(size=n + 3))
            b.merge(a)
            for s in (a, b):
                items, weights = _sketch.check_serialized(s.serialize())
                assert weights.sum() == s.n
                values, w = _sketch.weighted_items(s)
                # the sketch's own CDF at its values
                if len(values):
                    np.testing.assert_allclose(np.cumsum(w) / s.n, s.get_cdf(list(values), inclusive=True)[:-1],
                                               atol=1e-12)
                _sketch.deserialize(s.serialize())


FUZZ = """
import importlib.util, random, sys
import numpy as np, datasketches as ds
spec = importlib.util.spec_from_file_location("_sketch", sys.argv[1])  # alone: mlsd's import is slow
S = importlib.util.module_from_spec(spec); spec.loader.exec_module(S)
random.seed(0); rng = np.random.default_rng(0)
bases = []
for k, n in ((8, 1000), (200, 5), (200, 1000), (50, 20000)):
    s = ds.kll_doubles_sketch(k); s.update(rng.normal(size=n)); bases.append(s.serialize())
accepted = 0
for t in range(300):
    bb = bytearray(random.choice(bases))
    for _ in range(random.randint(1, 4)):
        if not bb: break
        r = random.random()
        if r < 0.5: bb[random.randrange(len(bb))] = random.randrange(256)
        elif r < 0.7 and len(bb) > 24:
            i = random.randrange(20, len(bb) - 3); bb[i:i + 4] = random.randrange(2**32).to_bytes(4, "little")
        elif r < 0.85: bb = bb[:random.randrange(len(bb) + 1)]
        else: bb += bytes(random.randrange(256) for _ in range(random.choice([4, 8, 16])))
    try:
        sk = S.deserialize(bytes(bb))
    except ValueError:
        continue
    accepted += 1
    sk.get_quantiles([0.1, 0.5]); S.weighted_items(sk); sk.update(rng.normal(size=300))
    m = ds.kll_doubles_sketch(200); m.merge(sk); m.get_cdf([0.0])
print(accepted)
"""


def test_fuzzed_sketch_bytes_never_crash_the_interpreter():
    """DataSketches' deserialize crashes on some corrupted buffers; the check in front of it must
    let through only buffers that read, update and merge without harm (run in a child process, so
    that a crash fails the test instead of killing the suite)."""
    out = subprocess.run([sys.executable, "-c", FUZZ, _sketch.__file__], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert 0 < int(out.stdout.strip()) < 300


def test_dask_drift_takes_a_sketched_reference_profile():
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    import mlsd.dask as md

    rng = np.random.default_rng(4)
    ref = pd.DataFrame(_data(rng, 20_000))
    cur = pd.DataFrame(_data(rng, 6_000, shift=0.2))
    profile = Profile.from_data(ref, sketch=100)
    got, local = md.drift(profile, dd.from_pandas(cur, npartitions=3)), profile.compare(cur)
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(got, f), getattr(local, f), err_msg=f)


@pytest.mark.parametrize("scale", [1e120, 1e200, 1e300, 1e307])
def test_moments_of_huge_values_stay_finite_and_exact(scale):
    # beyond about 1e154 the squared deviations overflow float64: the moments are kept scaled by a
    # power of two, so the summary's std, compare's normalised Wasserstein and the JSON form are
    # right where they were inf (a drifted column then read 0 standard deviations) or refused
    rng = np.random.default_rng(7)
    a, b = rng.normal(0, 1, 3_000) * scale, rng.normal(0.5, 2, 2_000) * scale
    whole = np.r_[a, b]
    want_mean, want_std = np.mean(whole / scale) * scale, np.std(whole / scale) * scale
    merged = Profile.from_data({"x": a}, sketch=64).merge(Profile.from_data({"x": b}, sketch=64))
    for p in (Profile.from_data({"x": whole}, sketch=64), merged):
        for q in (p, Profile.from_dict(json.loads(json.dumps(p.to_dict())))):
            s = q.result()
            assert s.mean[0] == pytest.approx(want_mean, rel=1e-9, abs=1e-9 * want_std)
            assert s.std[0] == pytest.approx(want_std, rel=1e-12)
            cur = {"x": rng.normal(1, 1, 2_000) * scale}
            got = q.compare(cur)
            assert got.wasserstein_norm[0] == pytest.approx(got.wasserstein[0] / want_std, rel=1e-12)
            assert 0.1 < got.wasserstein_norm[0] < 10


@pytest.mark.parametrize("n", [1, 2, 7, 40, 150])
def test_a_sketch_holding_every_value_gives_drifts_moments_and_wasserstein_norm_exactly(n):
    # the sketched moments were NumPy's sums and drift's its own compensated sums: seed 0, n = 40
    # gave wasserstein_norm 1.690126000159144 against drift's 1.6901260001591443.  One rule now
    # (the kernel's moments), so the numbers the Profile docstring says are drift's are drift's.
    for seed in range(25):
        rng = np.random.default_rng(seed)
        ref, cur = {"x": rng.normal(0, 1, n) * 10.0 ** rng.integers(-3, 4)}, {"x": rng.normal(0.5, 1, 30)}
        want = drift(ref, cur)
        kernel = _core.monitoring.drift_columns([np.sort(ref["x"])], [cur["x"]], True, [], 10)
        for p in (Profile.from_data(ref, sketch=200), Profile.from_data(ref)):
            got = p.compare(cur)
            assert got.wasserstein_norm[0] == want.wasserstein_norm[0], (seed, p.sketch)
            s = p.result()
            assert (s.mean[0], s.std[0]) == (kernel["ref_mean"][0], kernel["ref_std"][0]), (seed, p.sketch)


def test_moments_reach_the_largest_double():
    # scaled by 2**-e before the sums: no overflow up to +-DBL_MAX (mean, m2 and std finite)
    big = np.finfo(np.float64).max
    x = np.r_[np.full(50, -big), np.full(51, big)]
    for p in (Profile.from_data({"x": x}, sketch=64), Profile.from_data({"x": x})):
        s = p.result()
        assert np.isfinite(s.std[0]) and s.std[0] == pytest.approx(np.std(x * 2.0**-600) * 2.0**600, rel=1e-12)
        assert s.mean[0] == pytest.approx(big / 101, rel=1e-12)
    d = Profile.from_data({"x": x}, sketch=64).to_dict()
    assert Profile.from_dict(json.loads(json.dumps(d))).result().std[0] == s.std[0]


def test_moments_merge_across_scales_and_old_three_number_moments_load():
    rng = np.random.default_rng(8)
    small, huge = rng.normal(0, 1, 1_000), rng.normal(0, 1, 1_000) * 1e250
    merged = Profile.from_data({"x": small}, sketch=64) + Profile.from_data({"x": huge}, sketch=64)
    assert merged.result().std[0] == pytest.approx(np.std(np.r_[small / 1e250, huge / 1e250]) * 1e250, rel=1e-12)
    d = Profile.from_data({"x": small}, sketch=64).to_dict()
    assert len(d["columns"][0]["moments"]) == 3  # ordinary values keep the three-number form, bit for bit
    n, mean, m2 = d["columns"][0]["moments"]
    v = np.sort(small)  # (the profile sums the sorted values)
    # the kernel's moments, drift's reference mean and std bit for bit (its compensated sums)
    kernel = _core.monitoring.drift_columns([v], [v], True, [], 10)
    assert (n, mean, np.sqrt(m2 / n)) == (1_000, kernel["ref_mean"][0], kernel["ref_std"][0])
    assert (mean, m2) == pytest.approx((np.mean(v), np.sum((v - np.mean(v)) ** 2)), rel=1e-13)
    assert Profile.from_dict(d).result().std[0] == np.sqrt(m2 / n)
    d4 = Profile.from_data({"x": huge}, sketch=64).to_dict()
    assert len(d4["columns"][0]["moments"]) == 4
    for bad_e in (0, -1, 1.5, True, 10_000):
        bad = json.loads(json.dumps(d4))
        bad["columns"][0]["moments"][3] = bad_e
        with pytest.raises(ValueError, match="'d' parameter of Profile.from_dict"):
            Profile.from_dict(bad)


def test_moments_that_do_not_fit_the_sketch_are_refused():
    # the moments must be those the sketch's values could have: the count is the sketch's, the
    # scale the one of its largest magnitude, the mean within [min, max] and the squared deviations
    # between (max - min)**2 / 2 and n ((max - min) / 2)**2 (up to rounding); else the summary's std
    # and compare's normalised Wasserstein read a scale off by a power of two, or inf (norm 0)
    rng = np.random.default_rng(9)
    huge = Profile.from_data({"x": rng.normal(0, 1, 500) * 1e300}, sketch=64).to_dict()
    small = Profile.from_data({"x": rng.normal(0, 1, 500)}, sketch=64).to_dict()
    n, mean, m2, e = huge["columns"][0]["moments"]
    ns, means, m2s = small["columns"][0]["moments"]
    for d, moments in [(huge, [n, mean, m2, e + 1]), (huge, [n, mean, m2, e - 1]), (huge, [n, mean, m2, 624]),
                       (huge, [n, mean, 1e300, e]), (huge, [n, mean, m2]), (huge, [n, 1e308, m2, e]),
                       (small, [ns, means, m2s, 300]), (small, [ns, means, m2s, 1]), (small, [ns, 1e300, m2s]),
                       (small, [ns, means, 1e300]), (small, [ns, means, m2s / 1e6])]:
        bad = json.loads(json.dumps(d))
        bad["columns"][0]["moments"] = moments
        with pytest.raises(ValueError, match="'d' parameter of Profile.from_dict"):
            Profile.from_dict(bad)
    empty = Profile.from_data({"x": [np.nan, 1.0]}, sketch=64).to_dict()
    empty["columns"][0]["moments"], empty["columns"][0]["sketch"] = [0, 5.0, 1.0], Profile.from_data(
        {"x": [np.nan]}, sketch=64).to_dict()["columns"][0]["sketch"]
    with pytest.raises(ValueError, match="'d' parameter of Profile.from_dict"):
        Profile.from_dict(empty)
    for d in (huge, small):  # the real ones load and read back as written
        assert Profile.from_dict(json.loads(json.dumps(d))).to_dict() == d


def test_three_number_moments_of_values_beyond_the_scale_load_rescaled():
    # files written before the scale existed hold [n, mean, m2] for values up to ~1e154: they load,
    # merge with new profiles of such values into the moments of the whole, and round-trip
    rng = np.random.default_rng(10)
    a, b = rng.normal(0, 1, 300) * 1e130, rng.normal(1, 2, 200) * 1e140
    old = Profile.from_data({"x": a}, sketch=64).to_dict()
    n, mean, m2, e = old["columns"][0]["moments"]
    old["columns"][0]["moments"] = [n, mean, float(np.ldexp(m2, 2 * e))]  # main's form of the same moments
    loaded = Profile.from_dict(old)
    assert loaded.result().std[0] == Profile.from_data({"x": a}, sketch=64).result().std[0]
    merged = loaded + Profile.from_data({"x": b}, sketch=64)
    whole = np.r_[a, b] / 2.0**100
    assert merged.result().std[0] == pytest.approx(np.std(whole) * 2.0**100, rel=1e-12)
    d = json.loads(json.dumps(merged.to_dict()))
    assert Profile.from_dict(d).to_dict() == d
