"""mlsd.abtest (and its Dask twins) on the one contract: every public function and method declares
its parameters and rejects bad values with a ValueError/TypeError naming the function and the
argument; every result is immutable, tidy and renders; Stats's own merge checks (batches
broadcast, inputs unchanged) and dict refusals.  Merge == whole and the JSON round trip of every
state are in test_contract_states.py; mlsd.dask's internal API in test_contract_internal_api.py."""

import inspect
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from mlsd import abtest as ab  # noqa: E402
from mlsd._results import ResultMixin  # noqa: E402
from test_contract_bad_input import CASES as COMMON_CASES  # noqa: E402
from test_contract_states import _same_stats  # noqa: E402

A = np.array([1.0, 2.0, 4.0, 7.0, 3.0])
B = np.array([2.0, 3.0, 3.5, 9.0, 1.0, 2.5])
S = ab.Stats.from_arrays(A)

# ---------------------------------------------------------------------------------------------
# Bad input: a valid call per public function and method, and per-function content errors (NaN,
# inf, empty...).  Every declared parameter fed every value its declaration rejects: the common
# test, test_contract_bad_input.py.
# ---------------------------------------------------------------------------------------------


def _analyze():
    return ab.analyze({"A": A, "B": B}, control="A")


VALID = {
    "ttest_ind": (ab.ttest_ind, dict(a=A, b=B)),
    "proportions_ztest": (ab.proportions_ztest, dict(a=(30, 100), b=(20, 100))),
    "compare": (ab.compare, dict(treatment=A, control=B)),
    "mannwhitneyu": (ab.mannwhitneyu, dict(x=A, y=B)),
    "ttest_rel": (ab.ttest_rel, dict(a=A, b=B[:5])),
    "wilcoxon": (ab.wilcoxon, dict(x=A, y=B[:5])),
    "chisquare": (ab.chisquare, dict(f_obs=[10, 12, 14])),
    "chi2_contingency": (ab.chi2_contingency, dict(observed=[[10, 20], [30, 40]])),
    "srm_test": (ab.srm_test, dict(counts=[100, 110])),
    "multipletests": (ab.multipletests, dict(pvals=[0.01, 0.2])),
    "bootstrap": (ab.bootstrap, dict(data=A, n_resamples=50)),
    "power": (ab.power, dict(effect_size=0.2, nobs1=100)),
    "power_curve": (ab.power_curve, dict(effect_size=0.2, nobs1=[50, 100])),
    "solve_power": (ab.solve_power, dict(effect_size=0.2, power=0.8)),
    "sample_size_proportions": (ab.sample_size_proportions, dict(p_control=0.1, mde=0.01)),
    "sample_size_means": (ab.sample_size_means, dict(mde=0.1, std=1.0)),
    "mde_proportions": (ab.mde_proportions, dict(p_control=0.1, nobs1=1000)),
    "mde_means": (ab.mde_means, dict(std=1.0, nobs1=1000)),
    "msprt": (ab.msprt, dict(treatment=[A, A], control=[B, B], tau=0.5)),
    "group_sequential_boundaries": (ab.group_sequential_boundaries, dict(information=[0.5, 1.0])),
    "analyze": (ab.analyze, dict(variants={"A": A, "B": B}, control="A")),
    "combine": (ab.combine, dict(results=[_analyze()])),
    "Stats": (ab.Stats, dict(n=4, mean=[1.0], comoment=[[2.0]])),
    "Stats.from_arrays": (ab.Stats.from_arrays, dict(y=A)),
    "Stats.from_mapping": (ab.Stats.from_mapping, dict(data={"y": A})),
    "Stats.from_counts": (ab.Stats.from_counts, dict(successes=[1, 2], trials=[10, 10])),
    "Stats.from_summary": (ab.Stats.from_summary, dict(nobs=10, mean=1.0, std=0.5)),
    "Stats.stack": (ab.Stats.stack, dict(items=[S, S])),
    "Stats.update": (lambda **kw: ab.Stats.from_arrays(A).update(**kw), dict(y=B)),
    "Stats.column": (S.column, dict(role="y")),
    "Stats.sum": (S.sum, dict(role="y")),
    "Stats.sum_of_squares": (S.sum_of_squares, dict(role="y")),
    "Stats.var": (S.var, dict(role="y", ddof=1)),
}

# Values that pass the declarations but not the data checks: (function, argument, value).
CONTENT = [
    # raw samples take SciPy's conventions (NaN propagates, empty gives NaN): bad content is a shape
    ("ttest_ind", "a", np.ones((2, 3))), ("ttest_ind", "b", np.ones((2, 3))),
    ("ttest_rel", "a", np.ones(3)), ("wilcoxon", "y", np.ones(3)),
    ("ttest_ind", "a", ab.Stats.from_arrays([1.0])), ("compare", "treatment", {"y": A, "covariate": A[:3]}),
    ("compare", "control", {"y": B, "pre": B}), ("proportions_ztest", "a", (11, 10)),
    ("proportions_ztest", "b", (np.nan, 10)), ("mannwhitneyu", "x", np.ones((2, 3))),
    ("mannwhitneyu", "y", np.ones((2, 4))), ("chisquare", "f_obs", np.array([1.0, np.inf, 2.0])),
    ("chisquare", "f_obs", np.array([3.0, -1.0, 2.0])), ("chisquare", "f_exp", np.array([1.0, 2.0])),
    ("chi2_contingency", "observed", np.array([[0.0, 0.0], [1.0, 2.0]])),
    ("chi2_contingency", "observed", np.array([[np.inf, 1.0], [1.0, 2.0]])),
    ("srm_test", "counts", np.array([100.0, -3.0])), ("srm_test", "weights", np.array([1.0, 1.0, 1.0])),
    ("srm_test", "weights", np.array([1.0, np.nan])), ("multipletests", "pvals", np.array([0.1, np.nan])),
    ("bootstrap", "data", np.array([1.0, np.inf, 2.0])),
    ("bootstrap", "data", np.array([1.0])), ("bootstrap", "data", {"y": A, "key": A}),
    ("power_curve", "nobs1", np.array([np.nan, 100.0])), ("power_curve", "nobs1", np.array([0.5])),
    ("msprt", "treatment", [np.array([1.0, np.nan, 2.0])] * 2), ("msprt", "control", [B]),
    ("group_sequential_boundaries", "information", np.array([0.5, np.nan])),
    ("group_sequential_boundaries", "information", np.array([])),
    ("group_sequential_boundaries", "information", np.array([0.5, 0.4])),
    ("analyze", "variants", {"A": A}), ("analyze", "control", "Z"),
    ("analyze", "metrics", ["m1", "m2"]), ("combine", "results", []),
    ("Stats", "n", np.array(np.nan)), ("Stats", "n", -1), ("Stats", "mean", [1.0, 2.0]),
    ("Stats", "comoment", [[-1.0]]), ("Stats", "columns", ("y", "y")),
    ("Stats.from_arrays", "y", np.array([1.0, np.nan])), ("Stats.from_arrays", "denominator", A[:2]),
    ("Stats.from_mapping", "data", {"x": A}), ("Stats.from_counts", "successes", [11, 2]),
    ("Stats.from_counts", "trials", [10, np.nan]), ("Stats.from_summary", "std", -1.0),
    ("Stats.from_summary", "nobs", 1), ("Stats.stack", "items", []), ("Stats.stack", "items", [S, 3]),
    ("Stats.update", "y", np.array([np.inf])), ("Stats.update", "covariate", A),
    ("Stats.column", "role", "covariate"), ("Stats.var", "role", "denominator"),
]

def _short(name):
    return name.rsplit(".", 1)[-1] if name != "Stats" else "Stats"


def _declared(fn):
    params = getattr(fn, "__mlsd_params__", None)
    if params is None and hasattr(fn, "__func__"):
        params = getattr(fn.__func__, "__mlsd_params__", None)
    if params is None and isinstance(fn, type):
        params = getattr(fn.__init__, "__mlsd_params__", None)
    return params


def _public_functions():
    names = set()
    for name in ab.__all__:
        obj = getattr(ab, name)
        if inspect.isfunction(obj):
            names.add(name)
    for name, member in vars(ab.Stats).items():
        fn = member.__func__ if isinstance(member, classmethod) else member
        if callable(fn) and not name.startswith("_") and inspect.signature(fn).parameters.keys() - {"self", "cls"}:
            if _declared(fn) is not None or name in ("merge",):
                names.add(f"Stats.{name}")
    names.add("Stats")
    return names


def test_every_public_function_is_covered_and_declares_every_parameter():
    assert _public_functions() - {"Stats.merge"} <= set(VALID)
    # and fed the bad values of every kind by the common test (test_contract_bad_input.py; Stats.merge,
    # the protocol's, in its test_state_from_dict_and_merge_reject_bad_values)
    assert _public_functions() - {"Stats.merge"} <= {name for name, *_ in COMMON_CASES}
    for name, (fn, _) in VALID.items():
        if name == "Stats.update":
            fn = ab.Stats.update
        declared = _declared(fn)
        assert declared is not None, name
        target = fn.__init__ if isinstance(fn, type) else fn
        params = [p for p in inspect.signature(target).parameters if p not in ("self", "cls")]
        assert set(params) == set(declared), (name, set(params) - set(declared))


@pytest.mark.parametrize("name, param, value", [pytest.param(*c, id=f"{c[0]}-{c[1]}-{i}") for i, c in enumerate(CONTENT)])
def test_bad_content_raises_naming_function_and_argument(name, param, value):
    fn, kwargs = VALID[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises((ValueError, TypeError)) as info:
            fn(**{**kwargs, param: value})
    message = str(info.value)
    assert _short(name) in message, message
    assert param in message or (name, param) in {("analyze", "metrics"), ("msprt", "control")}, message


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_calls_work(name):
    fn, kwargs = VALID[name]
    fn(**kwargs)


@pytest.mark.parametrize("call", [
    lambda v: ab.ttest_ind(A, B, alpha=v), lambda v: ab.msprt([A], [B], tau=v), lambda v: ab.solve_power(effect_size=0.2, power=v),
    lambda v: ab.sample_size_means(v, 1.0), lambda v: ab.sample_size_proportions(0.1, v), lambda v: ab.bootstrap(A, q=v),
    lambda v: ab.power(0.2, v), lambda v: ab.group_sequential_boundaries([1.0], alpha=v),
])
@pytest.mark.parametrize("value", [2**2000, -(2**2000)])
def test_huge_ints_for_floats_raise_value_or_type_error(call, value):
    with pytest.raises((ValueError, TypeError), match="parameter of"):
        call(value)


def test_complex_input_to_stats_is_rejected_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for kwargs in (dict(n=np.array(4 + 0j)), dict(mean=np.array([1 + 1j])), dict(comoment=np.array([[2 + 0j]]))):
            with pytest.raises((ValueError, TypeError), match="parameter of Stats"):
                ab.Stats(**{**dict(n=4, mean=[1.0], comoment=[[2.0]]), **kwargs})
        for call in (lambda: S.var(ddof=1 + 0j), lambda: ab.Stats.from_summary(10, 1.0, 0.5, ddof=1j),
                     lambda: ab.chisquare([1, 2, 3], ddof=0j)):
            with pytest.raises((ValueError, TypeError), match="'ddof' parameter of"):
                call()


def test_seed_is_the_one_seed_type():
    assert ab.bootstrap(A, n_resamples=10, seed=2**32 - 1).estimate == A.mean()
    for seed in (-1, 2**32, 2**64 - 1, 1.0, "1"):
        with pytest.raises((ValueError, TypeError), match=r"'seed' parameter of bootstrap must be an int in the range \[0, 2\*\*32 - 1\]"):
            ab.bootstrap(A, seed=seed)


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------

def _results():
    rng = np.random.default_rng(0)
    looks_t = [rng.normal(0.2, 1, 300) for _ in range(5)]
    looks_c = [rng.normal(0.0, 1, 300) for _ in range(5)]
    batched = ab.Stats.stack([ab.Stats.from_arrays(A), ab.Stats.from_arrays(B)])
    return {
        "ttest_ind": ab.ttest_ind(A, B),
        "ttest_batched": ab.ttest_ind(batched, batched[::-1]),
        "compare_relative": ab.compare({"y": A, "covariate": A ** 2}, {"y": B, "covariate": B ** 2}, relative=True),
        "proportions_ztest": ab.proportions_ztest((30, 100), (20, 100)),
        "mannwhitneyu": ab.mannwhitneyu(A, B),
        "chisquare": ab.chisquare([10, 12, 14]),
        "chi2_contingency": ab.chi2_contingency([[10, 20], [30, 40]]),
        "srm_test": ab.srm_test([100, 110, 95]),
        "multipletests": ab.multipletests([0.01, 0.02, 0.5]),
        "bootstrap": ab.bootstrap(A, B, n_resamples=200, seed=3),
        "analyze": _analyze(),
        "msprt": ab.msprt(looks_t, looks_c, tau=0.2),
        "group_sequential_boundaries": ab.group_sequential_boundaries([0.25, 0.5, 0.75, 1.0]),
        "power_curve": ab.power_curve(0.2, np.arange(50, 1000, 50)),
        "stats_result": batched.result(),
        "stats_result_single": S.result(),
    }


RESULTS = _results()
PLOTS = ("bootstrap", "analyze", "msprt", "group_sequential_boundaries", "power_curve")


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_results_are_immutable_tidy_and_render(name):
    r = RESULTS[name]
    assert isinstance(r, ResultMixin)
    frame = r.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) >= 1
    html = r._repr_html_()
    assert type(r).__name__ in html and "<table" in html
    text = repr(r)
    assert text.startswith(type(r).__name__ + "(") and len(text) < 600 and "array(" not in text
    first = next(iter(r._items()))[0]
    with pytest.raises(AttributeError):
        setattr(r, first, 0)
    with pytest.raises(AttributeError):
        r.new_attribute = 1


@pytest.mark.parametrize("name", PLOTS)
def test_plot_returns_axes(name):
    ax = RESULTS[name].plot()
    assert isinstance(ax, matplotlib.axes.Axes)
    _, given = plt.subplots()
    assert RESULTS[name].plot(ax=given) is given
    plt.close("all")


def test_tuple_results_unpack_as_scipy_and_statsmodels():
    stat, p = ab.chisquare([10, 12, 14])
    assert (stat, p) == (RESULTS["chisquare"].statistic, RESULTS["chisquare"].pvalue)
    stat, p, dof, expected = ab.chi2_contingency([[10, 20], [30, 40]])
    assert dof == 1 and expected.shape == (2, 2) and RESULTS["chi2_contingency"].expected_freq.shape == (2, 2)
    reject, corrected, alpha_sidak, alpha_bonf = ab.multipletests([0.01, 0.02, 0.5])
    assert reject.dtype == bool and corrected.shape == (3,) and alpha_bonf == 0.05 / 3 and 0 < alpha_sidak < 0.05
    for r in (RESULTS["ttest_ind"], RESULTS["mannwhitneyu"], RESULTS["proportions_ztest"], RESULTS["srm_test"]):
        stat, p = r
        assert (stat, p) == (r.statistic, r.pvalue) and r[1] == r.pvalue


def test_relative_lift_is_a_new_result_not_a_mutation():
    t = {"y": A, "covariate": A ** 2}
    c = {"y": B, "covariate": B ** 2}
    absolute, relative = ab.compare(t, c), ab.compare(t, c, relative=True)
    assert relative.pvalue == absolute.pvalue and relative.estimate != absolute.estimate
    assert relative.method == absolute.method + ", relative lift (delta method)"
    changed = absolute._replace(method="x")
    assert changed.method == "x" and absolute.method != "x"


def test_power_keeps_returning_a_float_and_the_curve_matches_it():
    assert isinstance(ab.power(0.2, 394), float)
    curve = ab.power_curve(0.2, [100, 394], test="t")
    assert curve.power.tolist() == [ab.power(0.2, 100, test="t"), ab.power(0.2, 394, test="t")]


# ---------------------------------------------------------------------------------------------
# Stats: the mergeable-state protocol
# ---------------------------------------------------------------------------------------------

# merge == whole and the JSON round trip of Stats (every role set, batched too): test_contract_states.py

def test_merge_leaves_its_inputs_unchanged_and_broadcasts_batches():
    a, b = ab.Stats.from_arrays(A), ab.Stats.from_arrays(B)
    before = a.to_dict()
    merged = a.merge(b)
    assert a.to_dict() == before and merged is not a
    batch = ab.Stats.stack([a, b])
    both = batch.merge(ab.Stats.stack([b, a]))
    _same_stats(both[0], ab.Stats.from_arrays(np.r_[A, B]), False)
    _same_stats(both[1], ab.Stats.from_arrays(np.r_[B, A]), False)
    with pytest.raises(ValueError, match="must hold Stats"):
        a.merge(3)


def test_stats_result_summarises_the_columns():
    s = ab.Stats.from_arrays(A, covariate=B[:5])
    r = s.result()
    assert r.columns == ("y", "covariate") and r.n == 5.0
    np.testing.assert_allclose(r.mean, [A.mean(), B[:5].mean()], rtol=1e-15)
    np.testing.assert_allclose(r.var, [A.var(ddof=1), B[:5].var(ddof=1)], rtol=1e-13)
    assert r.to_frame().column.tolist() == ["y", "covariate"]


def test_stats_from_dict_rejects_foreign_dicts():
    for bad in ({"state": "ScoreTable"}, {"n": 3}, [1, 2], {"n": 1, "mean": [0.0], "comoment": [[0.0]], "columns": ["z"]}):
        with pytest.raises((ValueError, TypeError), match="Stats.from_dict"):
            ab.Stats.from_dict(bad)


def test_stats_of_different_batch_shapes_are_rejected_by_name():
    a, b = ab.Stats.from_counts([1, 2], [5, 5]), ab.Stats.from_counts([1, 2, 3], [5, 5, 5])
    with pytest.raises(ValueError, match="Stats.merge: cannot merge batches of shapes"):
        a.merge(b)
    with pytest.raises(ValueError, match="Stats.stack: every Stats must have the same batch shape"):
        ab.Stats.stack([a, b])
    assert (a + ab.Stats.from_counts(1, 5)).shape == (2,)  # broadcasting batches still merge


def test_stats_from_dict_rejects_values_json_does_not_write():
    # to_dict writes numbers and a list of roles; strings, bools and a bare role string would be
    # read as something else ("3" as 3.0, True as 1, "y" as ("y",)).
    good = ab.Stats.from_arrays(A).to_dict()
    for bad in ({**good, "n": "5"}, {**good, "n": True}, {**good, "mean": ["1"]},
                {**good, "comoment": [[None]]}, {**good, "columns": "y"}):
        with pytest.raises((ValueError, TypeError), match="Stats.from_dict"):
            ab.Stats.from_dict(bad)
    assert ab.Stats.from_dict({**good, "n": 5}).n == 5.0  # a JSON integer is a number


# ---------------------------------------------------------------------------------------------
# mlsd.dask: the stated internal API and declared parameters
# ---------------------------------------------------------------------------------------------

DASK_BAD = [
    ("stats", dict(y=np.arange(4.0)), "y"), ("stats", dict(y=None), "y"), ("stats", dict(split_every=1), "split_every"),
    ("stats", dict(denominator=[1.0]), "denominator"), ("stats", dict(client="local"), "client"),
    ("stats_by", dict(df=None), "df"), ("stats_by", dict(y=3), "y"), ("stats_by", dict(covariate=[1]), "covariate"),
    ("stats_by", dict(split_every=1.5), "split_every"), ("bootstrap", dict(data="x"), "data"),
    ("bootstrap", dict(seed=-1), "seed"), ("bootstrap", dict(seed=2**32), "seed"), ("bootstrap", dict(alpha=2**2000), "alpha"),
    ("bootstrap", dict(n_resamples=0), "n_resamples"), ("bootstrap", dict(statistic="mode"), "statistic"),
    ("bootstrap", dict(control=np.ones(3)), "control"),
]


@pytest.mark.parametrize("name, change, param", DASK_BAD)
def test_dask_twins_declare_their_parameters(name, change, param):
    da = pytest.importorskip("dask.array")
    dd = pytest.importorskip("dask.dataframe")
    import mlsd.dask as md

    y = da.from_array(np.arange(10.0), chunks=4)
    valid = {"stats": dict(y=y), "stats_by": dict(df=dd.from_pandas(pd.DataFrame({"v": [0, 1] * 5, "y": np.arange(10.0)}),
                                                                    npartitions=2), by="v", y="y"),
             "bootstrap": dict(data=y)}[name]
    with pytest.raises((ValueError, TypeError), match=f"The '{param}' parameter of mlsd.dask.{name} must be"):
        getattr(md, name)(**{**valid, **change})
    assert getattr(md, name).__qualname__ == name
