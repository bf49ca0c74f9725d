"""mlsd.features on the bad inputs the issue lists: unsortable or mixed-type keys, times of different
units or time zones across tables, duplicate column names (after prefixing, and in the tables
themselves), an ``at`` table missing key columns, negative or unparseable windows -- through every
public function that reads them (point_in_time_join, window_aggregate, leakage_report and the
mlsd.dask twins), pandas and pyarrow.  Each raises ValueError/TypeError whose message names the
function, the argument and the table, never another exception; where a variation is accepted on
purpose (datetimes of different units), the result equals that of the same tables in one unit."""

import datetime as dt
import decimal
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlsd.features import FeatureTable, leakage_report, point_in_time_join, window_aggregate

PIT, WA, LEAK = "point_in_time_join", "window_aggregate", "leakage_report"


def _raises(call, func, *needles, exc=(ValueError, TypeError)):
    """call() raises exc with a message starting with 'func:' (or naming func in the parameter
    check's words) and holding every needle."""
    with pytest.raises(exc) as info:
        call()
    msg = str(info.value)
    assert msg.startswith(f"{func}:") or f"of {func} must" in msg, msg
    for needle in needles:
        assert needle in msg, (needle, msg)
    return msg


def _spine(**cols):
    return pd.DataFrame({"k": [1, 2], "t": [5, 6], **cols})


def _feats(**cols):
    return pd.DataFrame({"k": [1, 2], "t": [1, 2], "v": [1.0, 2.0], **cols})


def _events(**cols):
    return pd.DataFrame({"k": [1, 1, 2], "t": [1, 2, 3], "v": [1.0, 2.0, 3.0], **cols})


# -- keys ------------------------------------------------------------------------------------------

# key columns of two rows that no kernel can order or compare with integers: (label, column, message)
MIXED = "holds values of mixed or unsortable types"
NOT_A_KEY = "keys must be integers, booleans, strings or"
BAD_KEYS = [
    ("integers and strings", pd.Series([1, "a"], dtype=object), MIXED),
    ("integers and floats in objects", pd.Series([1, 2.5], dtype=object), MIXED),
    ("strings and bytes", pd.Series(["a", b"b"], dtype=object), MIXED),
    ("strings and bools", pd.Series(["a", True], dtype=object), MIXED),
    ("integers and bools", pd.Series([1, True], dtype=object), MIXED),
    ("tuples", pd.Series([(1,), (2,)], dtype=object), MIXED),
    ("dicts", pd.Series([{}, {"a": 1}], dtype=object), MIXED),
    ("decimals", pd.Series([decimal.Decimal(1), decimal.Decimal(2)], dtype=object), MIXED),
    ("bytes", pd.Series([b"a", b"b"], dtype=object), MIXED),
    ("dates", pd.Series([dt.date(2024, 1, 1), dt.date(2024, 1, 2)], dtype=object), MIXED),
    ("a categorical of integers and strings", pd.Series(pd.Categorical([1, "a"])), MIXED),
    ("datetime64", pd.Series(pd.to_datetime(["2024-01-01", "2024-01-02"])), NOT_A_KEY),
    ("timedelta64", pd.Series(pd.to_timedelta([1, 2], unit="s")), NOT_A_KEY),
    ("complex", pd.Series([1j, 2j]), NOT_A_KEY),
    ("periods", pd.Series(pd.period_range("2024-01-01", periods=2, freq="D")), NOT_A_KEY),
    ("intervals", pd.Series(pd.interval_range(0, 2)), NOT_A_KEY),
]
BAD_ARROW_KEYS = [
    ("lists", pa.array([[1], [2]])), ("structs", pa.array([{"a": 1}, {"a": 2}])),
    ("decimals", pa.array([decimal.Decimal(1), decimal.Decimal(2)])), ("binary", pa.array([b"a", b"b"])),
    ("timestamps", pa.array([1, 2], pa.timestamp("s"))), ("durations", pa.array([1, 2], pa.duration("s"))),
]


def _key_calls(k):
    """(function, table named in the message, call) for a bad key column ``k`` of two rows in each
    table that reads keys."""
    ev = _events().iloc[:2].assign(k=k.to_numpy() if isinstance(k, pd.Series) else k)
    return [
        (PIT, "spine", lambda: point_in_time_join(_spine(k=k), _feats(), by="k", on="t")),
        (PIT, "features", lambda: point_in_time_join(_spine(), _feats(k=k), by="k", on="t")),
        (PIT, "features[1]", lambda: point_in_time_join(_spine(), [FeatureTable(_feats(), prefix="a_"),
                                                                   FeatureTable(_feats(k=k), prefix="b_")],
                                                        by="k", on="t")),
        (PIT, "features", lambda: point_in_time_join(_spine(g=[1, 2]), FeatureTable(_feats(g=k), by=["k", "g"]),
                                                     by=["k", "g"], on="t")),  # the second of two key columns
        (WA, "events", lambda: window_aggregate(ev, by="k", on="t", values="v", windows=[2])),
        (WA, "at", lambda: window_aggregate(_events(), by="k", on="t", values="v", windows=[2], at=_spine(k=k))),
    ]


@pytest.mark.parametrize("label, k, message", BAD_KEYS, ids=[b[0] for b in BAD_KEYS])
def test_unsortable_or_mixed_keys_name_the_function_column_and_table(label, k, message):
    for func, where, call in _key_calls(k):
        msg = _raises(call, func, message, exc=TypeError)
        assert re.search(rf"by column '[kg]' of {re.escape(where)}", msg), msg


@pytest.mark.parametrize("label, k", BAD_ARROW_KEYS, ids=[b[0] for b in BAD_ARROW_KEYS])
def test_unsortable_arrow_keys_name_the_function_column_and_table(label, k):
    spine = pa.table({"k": k, "t": [5, 6]})
    feats = pa.Table.from_pandas(_feats(), preserve_index=False)
    _raises(lambda: point_in_time_join(spine, feats, by="k", on="t"), PIT, "by column 'k' of spine has type",
            NOT_A_KEY, exc=TypeError)
    _raises(lambda: point_in_time_join(pa.Table.from_pandas(_spine(), preserve_index=False),
                                       feats.set_column(0, "k", k), by="k", on="t"),
            PIT, "by column 'k' of features has type", exc=TypeError)
    events = pa.table({"k": k, "t": [1, 2], "v": [1.0, 2.0]})
    _raises(lambda: window_aggregate(events, by="k", on="t", values="v", windows=[2]), WA,
            "by column 'k' of events has type", exc=TypeError)
    at = pa.table({"k": k, "t": [5, 6]})
    _raises(lambda: window_aggregate(pa.Table.from_pandas(_events(), preserve_index=False), by="k", on="t",
                                     values="v", windows=[2], at=at), WA, "by column 'k' of at has type", exc=TypeError)


def test_keys_beyond_int64_are_refused_not_wrapped():
    big = pa.array([2**64 - 1, 2], pa.uint64())  # as int64: -1, a different key
    _raises(lambda: point_in_time_join(pa.table({"k": big, "t": [5, 6]}),
                                       pa.Table.from_pandas(_feats(), preserve_index=False), by="k", on="t"),
            PIT, "by column 'k' of spine has keys above 2**63 - 1", exc=ValueError)
    _raises(lambda: window_aggregate(_events(), by="k", on="t", values="v", windows=[2],
                                     at=_spine(k=np.array([2**64 - 1, 1], dtype=np.uint64))),
            WA, "by column 'k' of at has keys above 2**63 - 1", exc=ValueError)


def test_keys_of_different_kinds_across_tables():
    for call, func, desc in [
        (lambda: point_in_time_join(_spine(), [FeatureTable(_feats(), prefix="a_"),
                                               FeatureTable(_feats(k=["a", "b"]), prefix="b_")], by="k", on="t"),
         PIT, "integer in spine, string in features[1]"),
        (lambda: window_aggregate(_events(), by="k", on="t", values="v", windows=[2], at=_spine(k=["a", "b"])),
         WA, "integer in events, string in at"),
        (lambda: window_aggregate(_events(), by="k", on="t", values="v", windows=[2], at=_spine(k=[1.0, 2.0])),
         WA, "integer in events, float in at"),
    ]:
        _raises(call, func, "by column 'k' holds keys of different types across the tables", desc, exc=TypeError)


# -- times: units, zones, kinds -----------------------------------------------------------------------

def _at(unit, seconds, tz=None):
    s = pd.Series(pd.to_datetime(np.asarray(seconds), unit="s")).astype(f"datetime64[{unit}]")
    return s.dt.tz_localize(tz) if tz else s


def test_datetimes_of_different_units_are_compared_exactly():
    """Each table in its own unit gives the result of all tables in ns (sub-second steps that the
    coarser unit cannot hold are not made up: the tables hold what their unit can)."""
    rng = np.random.default_rng(3)
    n, m = 60, 80
    sk, fk = rng.integers(0, 5, n), rng.integers(0, 5, m)
    st, ft, ct = rng.integers(0, 200, n), rng.integers(0, 200, m), rng.integers(0, 200, m)
    spine_s = pd.DataFrame({"k": sk, "t": _at("s", st)})
    feats_ms = pd.DataFrame({"k": fk, "t": _at("ms", ft), "c": _at("us", ct), "v": rng.standard_normal(m)})
    in_ns = dict(spine=spine_s.assign(t=spine_s["t"].astype("datetime64[ns]")),
                 feats=feats_ms.assign(t=feats_ms["t"].astype("datetime64[ns]"), c=feats_ms["c"].astype("datetime64[ns]")))
    got = point_in_time_join(spine_s, FeatureTable(feats_ms, prefix="f_", time_column="t"), by="k", on="t",
                             created_at="c", ttl="30s")
    want = point_in_time_join(in_ns["spine"], FeatureTable(in_ns["feats"], prefix="f_", time_column="t"), by="k",
                              on="t", created_at="c", ttl="30s")
    assert got["f_v"].notna().sum() > 5
    pd.testing.assert_series_equal(got["f_v"], want["f_v"])
    pd.testing.assert_series_equal(got["f_t"].astype("datetime64[ns]"), want["f_t"])  # got: in us, created_at's unit
    ev = pd.DataFrame({"k": fk, "t": _at("ms", ft), "v": rng.standard_normal(m)})
    got = window_aggregate(ev, by="k", on="t", values="v", windows="40s", aggs=["count", "sum"], at=spine_s)
    want = window_aggregate(ev.assign(t=ev["t"].astype("datetime64[ns]")), by="k", on="t", values="v",
                            windows="40s", aggs=["count", "sum"], at=in_ns["spine"])
    assert got["v_count_40s"].sum() > 5
    pd.testing.assert_frame_equal(got.drop(columns="t"), want.drop(columns="t"))
    data = pd.DataFrame({"label": rng.integers(0, 2, m), "lt": _at("s", ct), "ft": _at("ns", ft), "x": ft / 1.0})
    late = leakage_report(data, label="label", label_time="lt", feature_times="ft").to_frame()
    assert int(late["n_late"].dropna().iloc[0]) == int(np.sum(ft > ct))


OVERFLOW = np.array(["2300-01-01", "2300-01-02"], dtype="datetime64[s]")  # beyond int64 nanoseconds


def test_unit_conversions_that_overflow_name_the_argument():
    big = pd.Series(OVERFLOW)
    ns = _at("ns", [1, 2])
    _raises(lambda: point_in_time_join(_spine(t=ns), _feats(t=big), by="k", on="t"), PIT,
            "on column 't' of features cannot be converted from s to ns", exc=ValueError)
    _raises(lambda: point_in_time_join(_spine(t=big), _feats(t=ns), by="k", on="t"), PIT,
            "on column 't' of spine cannot be converted from s to ns", exc=ValueError)
    _raises(lambda: point_in_time_join(_spine(t=ns), _feats(t=ns, c=big), by="k", on="t", created_at="c"), PIT,
            "created_at column 'c' of features cannot be converted from s to ns", exc=ValueError)
    _raises(lambda: window_aggregate(_events(t=_at("ns", [1, 2, 3])), by="k", on="t", values="v", windows="1s",
                                     at=_spine(t=big)), WA, "on column 't' of at cannot be converted", exc=ValueError)
    data = pd.DataFrame({"label": [0, 1], "lt": big, "ft": ns, "x": [0.0, 1.0]})
    _raises(lambda: leakage_report(data, label="label", label_time="lt", feature_times="ft"), LEAK,
            "label_time column 'lt' of data cannot be converted from s to ns", exc=ValueError)
    _raises(lambda: leakage_report(data.assign(lt=ns, ft=big), label="label", label_time="lt", feature_times="ft"),
            LEAK, "feature_times column 'ft' of data cannot be converted from s to ns", exc=ValueError)


ZONE = "different time zones"


def test_time_zones_across_tables_name_the_arguments_and_tables():
    naive, utc, paris = _at("s", [1, 2]), _at("s", [1, 2], "UTC"), _at("ms", [1, 2], "Europe/Paris")
    cases = [
        (lambda: point_in_time_join(_spine(t=utc), _feats(t=naive), by="k", on="t"), PIT,
         ["on columns have " + ZONE, "UTC in spine, naive in features"]),
        (lambda: point_in_time_join(_spine(t=utc), [FeatureTable(_feats(t=utc), prefix="a_"),
                                                    FeatureTable(_feats(t=paris), prefix="b_")], by="k", on="t"), PIT,
         ["UTC in spine, Europe/Paris in features[1]"]),
        (lambda: point_in_time_join(_spine(t=naive), _feats(t=naive, c=utc), by="k", on="t", created_at="c"), PIT,
         ["on and created_at columns have " + ZONE, "UTC in features (created_at 'c')"]),
        (lambda: point_in_time_join(pa.Table.from_pandas(_spine(t=utc), preserve_index=False),
                                    pa.Table.from_pandas(_feats(t=paris), preserve_index=False), by="k", on="t"), PIT,
         ["UTC in spine, Europe/Paris in features"]),
        (lambda: window_aggregate(_events(t=_at("s", [1, 2, 3])), by="k", on="t", values="v", windows="1s",
                                  at=_spine(t=paris)), WA, ["on columns have " + ZONE, "naive in events, Europe/Paris in at"]),
        (lambda: leakage_report(pd.DataFrame({"label": [0, 1], "lt": naive, "ft": utc}), label="label", label_time="lt",
                                feature_times="ft"), LEAK,
         ["label_time and feature_times columns have " + ZONE, "naive in data (label_time 'lt'), UTC in data (feature_times 'ft')"]),
    ]
    for call, func, needles in cases:
        _raises(call, func, *needles, exc=ValueError)
    # one zone in several units: accepted
    got = point_in_time_join(_spine(t=utc), _feats(t=_at("ns", [1, 2], "UTC")), by="k", on="t")
    assert got["v"].tolist() == [1.0, 2.0]


def test_datetimes_against_integers_name_the_arguments():
    naive = _at("s", [1, 2])
    _raises(lambda: point_in_time_join(_spine(), _feats(t=naive), by="k", on="t"), PIT,
            "on columns hold datetimes in some tables and integers in others", "integer in spine, datetime in features",
            exc=TypeError)
    _raises(lambda: point_in_time_join(_spine(t=naive), _feats(t=naive, c=[1, 2]), by="k", on="t", created_at="c"),
            PIT, "on and created_at columns hold datetimes", "integer in features (created_at 'c')", exc=TypeError)
    _raises(lambda: window_aggregate(_events(), by="k", on="t", values="v", windows=[2], at=_spine(t=naive)), WA,
            "on columns hold datetimes", "integer in events, datetime in at", exc=TypeError)
    _raises(lambda: leakage_report(pd.DataFrame({"label": [0, 1], "lt": naive, "ft": [1, 2]}), label="label",
                                   label_time="lt", feature_times="ft"), LEAK,
            "integer in data (feature_times 'ft')", exc=TypeError)


# -- duplicate column names ---------------------------------------------------------------------------

def test_output_names_that_collide_after_prefixing():
    clash = "already exists; give the table a prefix"
    _raises(lambda: point_in_time_join(_spine(a_v=0), _feats(), by="k", on="t", prefix="a_"), PIT,
            "output column 'a_v' (from features)", clash, exc=ValueError)
    _raises(lambda: point_in_time_join(_spine(), [FeatureTable(_feats(), prefix="a_"), FeatureTable(_feats(), prefix="a_")],
                                       by="k", on="t"), PIT, "output column 'a_v' (from features[1])", exc=ValueError)
    _raises(lambda: point_in_time_join(_spine(), _feats(), by="k", on="t", prefix="f_", time_column="v"), PIT,
            "output column 'f_v' (from features)", exc=ValueError)
    _raises(lambda: point_in_time_join(_spine(), _feats(), by="k", on="t", time_column="t"), PIT,
            "output column 't' (from features)", exc=ValueError)
    _raises(lambda: point_in_time_join(_spine(), _feats(w=0.0), by="k", on="t", prefix="x", columns=["v", "v"]), PIT,
            "output column 'xv' (from features)", exc=ValueError)
    _raises(lambda: window_aggregate(_events(), by="k", on="t", values="v", windows=[2], aggs="sum",
                                     at=_spine(v_sum_2=0.0)), WA, "output column 'v_sum_2' is already a column of at",
            exc=ValueError)


def _twice(df, name):
    """df with a second column named ``name`` (pandas allows it)."""
    return pd.concat([df, df[[name]]], axis=1)


def _arrow_twice(df, name):
    t = pa.Table.from_pandas(df, preserve_index=False)
    return t.append_column(name, t.column(name))


@pytest.mark.parametrize("kind", ["pandas", "pyarrow"])
def test_duplicate_column_names_in_a_table_are_refused(kind):
    """Which of two columns of one name is meant cannot be known: the column read (a key, a time, a
    value, a label) is refused by name -- before, pandas handed back a DataFrame (AttributeError)
    and pyarrow raised KeyError."""
    twice = _twice if kind == "pandas" else _arrow_twice
    conv = (lambda df: df) if kind == "pandas" else (lambda df: pa.Table.from_pandas(df, preserve_index=False))
    distinct = "give its columns distinct names"
    _raises(lambda: point_in_time_join(twice(_spine(), "k"), conv(_feats()), by="k", on="t"), PIT,
            "spine has 2 columns named 'k' (read for by)", distinct, exc=ValueError)
    _raises(lambda: point_in_time_join(conv(_spine()), twice(_feats(), "t"), by="k", on="t"), PIT,
            "features has 2 columns named 't' (read for on)", exc=ValueError)
    _raises(lambda: point_in_time_join(conv(_spine()), twice(_feats(), "v"), by="k", on="t", prefix="f_"), PIT,
            "features has 2 columns named 'v'", exc=ValueError)
    _raises(lambda: point_in_time_join(conv(_spine()), twice(_feats(c=[0, 1]), "c"), by="k", on="t", created_at="c"),
            PIT, "features has 2 columns named 'c' (read for created_at)", exc=ValueError)
    _raises(lambda: window_aggregate(twice(_events(), "v"), by="k", on="t", values="v", windows=[2]), WA,
            "events has 2 columns named 'v' (read for values)", exc=ValueError)
    _raises(lambda: window_aggregate(conv(_events()), by="k", on="t", values="v", windows=[2], at=twice(_spine(), "k")),
            WA, "at has 2 columns named 'k' (read for by)", exc=ValueError)
    data = pd.DataFrame({"label": [0, 1, 0, 1], "t": [1, 2, 3, 4], "x": [0.1, 0.2, 0.3, 0.4]})
    _raises(lambda: leakage_report(twice(data, "label"), label="label", label_time="t"), LEAK,
            "data has 2 columns named 'label' (read for label)", exc=ValueError)
    _raises(lambda: leakage_report(twice(data, "x"), label="label", label_time="t"), LEAK,
            "data has 2 columns named 'x' (read for features)", exc=ValueError)
    # a repeated spine column that nothing reads is kept as it is, as in the input
    out = point_in_time_join(twice(_spine(u=[7, 8]), "u"), conv(_feats()), by="k", on="t")
    names = list(out.columns) if kind == "pandas" else out.column_names
    assert names == ["k", "t", "u", "u", "v"]
    assert list(out["v"]) == [1.0, 2.0] if kind == "pandas" else out.column("v").to_pylist() == [1.0, 2.0]


def test_feature_columns_with_labels_that_are_not_strings():
    """A pandas column labelled 0 is picked like any other (named by its text after the prefix)."""
    got = point_in_time_join(_spine(), _feats().rename(columns={"v": 0}), by="k", on="t", prefix="f_")
    assert got["f_0"].tolist() == [1.0, 2.0]


# -- at missing key columns, windows ------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["pandas", "pyarrow"])
def test_at_missing_key_or_time_columns(kind):
    conv = (lambda df: df) if kind == "pandas" else (lambda df: pa.Table.from_pandas(df, preserve_index=False))
    ev = conv(_events(g=[1, 1, 1]))
    for at, needle in [(_spine().drop(columns="k"), "by names column 'k', which at does not have (its columns: t)"),
                       (_spine(), "by names column 'g', which at does not have (its columns: k, t)"),
                       (_spine(g=1).drop(columns="t"), "on names column 't', which at does not have (its columns: k, g)"),
                       (pd.DataFrame({"x": [1]}), "names column")]:
        _raises(lambda: window_aggregate(ev, by=["k", "g"], on="t", values="v", windows=[2], at=conv(at)), WA, needle,
                exc=ValueError)


@pytest.mark.parametrize("windows, needle", [
    ("-1h", "windows must be > 0; got '-1h'"), ("0s", "windows must be > 0"), ("soon", "could not parse 'soon'"),
    ("NaT", "windows must be a duration"), ("1ns", "is not a whole number of s"), (["1h", "-2h"], "windows[1] must be > 0"),
    (dt.timedelta(hours=-1), "windows must be > 0"), (np.timedelta64(-5, "s"), "windows must be > 0"),
])
def test_negative_or_unparseable_windows(windows, needle):
    ev = _events(t=_at("s", [1, 2, 3]))
    _raises(lambda: window_aggregate(ev, by="k", on="t", values="v", windows=windows), WA, needle, exc=ValueError)


@pytest.mark.parametrize("ttl, needle, exc", [
    ("-1h", "ttl must be >= 0; got '-1h'", ValueError), ("soon", "could not parse 'soon'", ValueError),
    (dt.timedelta(hours=-1), "ttl must be >= 0", ValueError), (pd.NaT, "'ttl' parameter of point_in_time_join", TypeError),
    (5, "ttl must be a duration", TypeError),
])
def test_negative_or_unparseable_ttls(ttl, needle, exc):
    spine, feats = _spine(t=_at("s", [5, 6])), _feats(t=_at("s", [1, 2]))
    msg = _raises(lambda: point_in_time_join(spine, feats, by="k", on="t", ttl=ttl), PIT, needle, exc=exc)
    assert "None or None" not in msg


# -- the same checks through mlsd.dask (on the frames' meta, before anything runs) ----------------------

def test_dask_twins_check_on_the_meta():
    dd = pytest.importorskip("dask.dataframe")
    md = pytest.importorskip("mlsd.dask")

    def D(df):
        return dd.from_pandas(df, npartitions=2)

    naive, utc = _at("s", [1, 2]), _at("s", [1, 2], "UTC")
    dpit, dwa = "mlsd.dask.point_in_time_join", "mlsd.dask.window_aggregate"
    for call, func, needles, exc in [
        (lambda: md.point_in_time_join(D(_spine(t=utc)), D(_feats(t=naive)), by="k", on="t"), dpit,
         ["on columns have " + ZONE, "UTC in spine, naive in features"], ValueError),
        (lambda: md.point_in_time_join(D(_spine(k=pd.to_datetime([1, 2]))), D(_feats()), by="k", on="t"), dpit,
         ["by column 'k' of spine has dtype datetime64"], TypeError),
        (lambda: md.point_in_time_join(D(_spine()), D(_twice(_feats(), "k")), by="k", on="t"), dpit,
         ["features has 2 columns named 'k'"], ValueError),
        (lambda: md.point_in_time_join(D(_spine()), [D(_feats()), D(_feats())], by="k", on="t", prefix=["a_", "a_"]),
         dpit, ["output column 'a_v' (from features[1]) already exists"], ValueError),
        (lambda: md.point_in_time_join(D(_spine().drop(columns="k")), D(_feats()), by="k", on="t"), dpit,
         ["by names column 'k', which spine does not have (its columns: t)"], ValueError),  # no internal columns
        (lambda: md.window_aggregate(D(_events()), by="k", on="t", values="v", windows=[2], at=D(_spine().drop(columns="k"))),
         dwa, ["by names column 'k', which at does not have"], ValueError),
        (lambda: md.window_aggregate(D(_events(t=_at("s", [1, 2, 3]))), by="k", on="t", values="v", windows="1s",
                                     at=D(_spine(t=utc))), dwa, ["on columns have " + ZONE, "naive in events, UTC in at"],
         ValueError),
        (lambda: md.window_aggregate(D(_events(t=_at("s", [1, 2, 3]))), by="k", on="t", values="v", windows="-1h"),
         dwa, ["windows must be > 0"], ValueError),
        (lambda: md.window_aggregate(D(_events()), by="k", on="t", values="v", windows=[2], at=D(_spine(k=[1.5, 2.5]))),
         dwa, ["by column 'k' holds keys of different types", "integer in events, float in at"], TypeError),
    ]:
        _raises(call, func, *needles, exc=exc)


# -- WindowState keys (one or more columns, as window_aggregate's by) -------------------------------

def _ws(keys=None, **kw):
    from mlsd.features import WindowState

    keys = pd.DataFrame({"user": [1, 1, 2], "ad": ["a", "b", "a"]}) if keys is None else keys
    n = len(keys)
    return WindowState.from_arrays(keys, np.arange(1, n + 1), np.arange(1.0, n + 1), windows=[5], **kw)


@pytest.mark.parametrize("label, k, message", BAD_KEYS, ids=[b[0] for b in BAD_KEYS])
def test_window_state_mixed_keys_in_any_key_column(label, k, message):
    from mlsd.features import WindowState

    t, v = np.array([1, 2]), np.array([1.0, 2.0])
    for table in (pd.DataFrame({"k": k}), pd.DataFrame({"user": [1, 2], "k": k})):
        _raises(lambda: WindowState.from_arrays(table, t, v, windows=[5]), "WindowState.from_arrays", "'k'",
                "of keys", message)
    state = _ws(pd.DataFrame({"user": [1, 2], "k": ["x", "y"]}))
    _raises(lambda: state.update(pd.DataFrame({"user": [1, 2], "k": k}), [4, 5], v), "WindowState.update", "'k'",
            "of keys", message)
    _raises(lambda: state.lookup(pd.DataFrame({"user": [1, 2], "k": k}), 6), "WindowState.lookup", "'k'",
            "of entity_keys", message)


@pytest.mark.parametrize("kind", ["pandas", "pyarrow"])
def test_window_state_key_tables_of_the_wrong_shape(kind):
    from mlsd.features import WindowState

    def tab(**cols):
        df = pd.DataFrame(cols)
        return pa.Table.from_pandas(df, preserve_index=False) if kind == "pyarrow" else df

    state = _ws()
    v = np.array([1.0, 2.0])
    _raises(lambda: state.lookup(tab(user=[1, 2]), 4), "WindowState.lookup", "entity_keys lacks the key column 'ad'")
    _raises(lambda: state.update(tab(ad=["a", "b"], t=[4, 5]), [4, 5], v), "WindowState.update",
            "keys lacks the key column 'user'")
    _raises(lambda: state.lookup(np.array([1, 2]), 4), "WindowState.lookup",
            "entity_keys has 1 key column(s) but the state has 2")
    _raises(lambda: state.update(tab(user=["x", "y"], ad=["a", "b"]), [4, 5], v), "WindowState.update",
            "keys (key column 'user') must be of the kind the state holds (integers); got strings")
    _raises(lambda: state.lookup(tab(user=[1, 2], ad=[3, 4]), 4), "WindowState.lookup",
            "entity_keys (key column 'ad') must be of the kind the state holds (strings); got integers")
    _raises(lambda: WindowState.from_arrays(tab(user=[1.0, 2.0]).drop(columns=["user"]) if kind == "pandas"
                                            else pa.table({}), np.array([1, 2])[:0], v[:0], windows=[5]),
            "WindowState.from_arrays", "keys has no columns")
    _raises(lambda: WindowState.from_arrays(tab(user=pd.to_datetime([1, 2])), [1, 2], v, windows=[5]),
            "WindowState.from_arrays", "'user' of keys has", "keys must be")
    # the columns read are the state's: a table of another key set, or unnamed columns, is refused
    if kind == "pandas":
        _raises(lambda: WindowState.from_arrays(pd.DataFrame({0: [1, 2]}), [1, 2], v, windows=[5]),
                "WindowState.from_arrays", "keys has the column label 0", "string names")
        _raises(lambda: WindowState.from_arrays(pd.DataFrame([[1, 2], [3, 4]], columns=["k", "k"]), [1, 2], v,
                                                windows=[5]), "WindowState.from_arrays", "2 columns named 'k'")


def test_window_state_merge_and_from_dict_check_the_key_columns():
    from mlsd.features import WindowState

    a = _ws()
    for other in (_ws(pd.DataFrame({"user": [1, 1, 2], "ads": ["a", "b", "a"]})), _ws(np.array([1, 1, 2])),
                  _ws(pd.DataFrame({"user": ["x", "y", "z"], "ad": ["a", "b", "a"]}))):
        _raises(lambda: a.merge(other), "WindowState.merge", "'others' parameter of WindowState.merge")
    d = a.to_dict()
    for field, bad in (("key_names", ["user"]), ("key_names", ["user", "user"]), ("key_kinds", ["integer"]),
                       ("key_kinds", ["integer", "bytes"]), ("keys", [[1, 1, 2]]), ("keys", [[1, 1, 2], [1, 2, 3]]),
                       ("key_kinds", ["integer", None])):
        _raises(lambda: WindowState.from_dict({**d, field: bad}), "WindowState.from_dict", "'d' parameter")


def test_window_state_keys_of_a_mixed_list():
    """A Python list of integers and strings: NumPy would make them all strings ("1", "a") and the
    state would hold key "1" for the integer 1; refused as mixed keys, as window_aggregate does."""
    from mlsd.features import WindowState

    t, v = np.array([1, 2]), np.array([1.0, 2.0])
    _raises(lambda: WindowState.from_arrays([1, "a"], t, v, windows=[5]), "WindowState.from_arrays", "of keys", MIXED,
            exc=TypeError)
    state = WindowState.from_arrays(["x", "y"], t, v, windows=[5])
    _raises(lambda: state.update(("y", 3), [4, 5], v), "WindowState.update", "of keys", MIXED, exc=TypeError)
    _raises(lambda: state.lookup(["x", 2.5], 6), "WindowState.lookup", "of entity_keys", MIXED, exc=TypeError)
    assert state.update(["x", "z"], [4, 5], v).lookup(("x", "z"), 6)["value_count_5"].tolist() == [2, 1]
