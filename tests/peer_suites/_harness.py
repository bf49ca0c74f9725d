"""Run a peer library's own test module against mlsd.

A *peer suite* is one test module that scikit-learn, SciPy or statsmodels installs with the library
(``sklearn/metrics/tests/test_ranking.py``, ``scipy/stats/tests/test_stats.py``, ...).  The harness
loads a fresh copy of that file under a private module name (the peer's own module is not
touched), rebinds the peer's function names in the copy's namespace to mlsd's, and hands its tests
and fixtures to pytest through a small ``test_peer_<peer>_<topic>.py`` file in this folder::

    SUITE = PeerSuite(
        name="sklearn_ranking",
        module="sklearn.metrics.tests.test_ranking",
        rebind={"roc_auc_score": M.roc_auc_score, ...},  # peer name -> mlsd callable
        deselect=[Rule("multiclass", "mlsd's metrics are binary"), ...],
        expected_failures={"test_x[case]": "why mlsd differs", ...},
    )
    SUITE.install(globals())

Rules of the harness (so that a pass means "mlsd gives the peer's answer"):

* ``rebind`` maps a peer name to an mlsd callable.  Where the calling conventions differ, the
  translation is an :func:`adapter` written in ``CONVENTIONS`` below, never in a suite file, and it
  may only move or rename arguments and unwrap a result container (e.g. ``RankingResult.mean``):
  it never changes a number, catches an error, or filters a warning.
* ``namespaces`` replaces a module-level object the tests call through (SciPy's tests call
  ``stats.mannwhitneyu``) with a proxy whose listed attributes are mlsd's and whose others are
  the peer's.
* ``deselect`` lists :class:`Rule` s: a test is left out only when its *subject* is a feature mlsd
  does not offer (multiclass, multilabel, a function mlsd has no counterpart of); every rule
  carries its reason.  Deselected tests are reported by pytest as deselected.
* ``expected_failures`` lists, by test id, each selected test that fails, with the reason.  They
  run as strict xfails (``xfail_strict = true``), so an unexpected pass and an unexpected failure
  both fail the run: the list stays exact.
* ``filterwarnings`` are the peer's own warning filters: its tests run as the peer runs them.
* ``test_pass_rate`` (added to every suite) checks that at least ``min_pass_rate`` of the selected
  tests are expected to pass; the terminal summary prints each suite's counts.
"""

from __future__ import annotations

import functools
import importlib
import importlib.machinery
import importlib.util
import re
import sys
import types
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

__all__ = ["PeerSuite", "Rule", "adapter", "proxy", "CONVENTIONS", "SUITES"]

# Every suite installed in this session, by name (the conftest reads them to deselect, mark and report).
SUITES: dict[str, "PeerSuite"] = {}


@dataclass(frozen=True)
class Rule:
    """Deselect the tests whose id matches ``pattern`` (a regular expression searched in the test
    id, e.g. ``"multiclass"`` or ``r"^test_auc\\b"``) because of ``reason``."""

    pattern: str
    reason: str

    def matches(self, test_id: str) -> bool:
        return re.search(self.pattern, test_id) is not None


# --- call conventions ------------------------------------------------------------------------------
# The one place where a peer's calling convention is translated to mlsd's.  Each entry documents what
# it translates; none changes a result.  (scikit-learn's and most of SciPy's suites need none: mlsd's
# functions take those peers' argument names, defaults and input kinds.)

CONVENTIONS: dict[str, str] = {}


def adapter(peer_name: str, doc: str):
    """Register a convention translation for ``peer_name`` (documented in ``CONVENTIONS``)."""

    def wrap(fn: Callable) -> Callable:
        CONVENTIONS[peer_name] = doc
        fn.__mlsd_peer_adapter__ = peer_name
        return fn

    return wrap


_PEARSON = (None, "pearson", 1)


@adapter("scipy.stats.power_divergence",
         "power_divergence(f_obs, f_exp, ddof, axis, lambda_) with Pearson's lambda_ (None, 'pearson' or 1) "
         "is chisquare(f_obs, f_exp, ddof, axis), SciPy's own definition of chisquare; the other lambdas "
         "are not offered (NotImplementedError)")
def scipy_power_divergence(f_obs, f_exp=None, ddof=0, axis=0, lambda_=None):
    from mlsd.abtest import chisquare

    if not any(lambda_ is v or (isinstance(lambda_, (str, int)) and lambda_ == v) for v in _PEARSON):
        raise NotImplementedError(f"power_divergence with lambda_={lambda_!r}: mlsd offers Pearson's statistic only")
    return chisquare(f_obs, f_exp, ddof, axis)


# --- loading ---------------------------------------------------------------------------------------

class _Proxy(types.ModuleType):
    """A stand-in for a module the tests call through: listed names are mlsd's, others the peer's."""

    def __init__(self, base: types.ModuleType, overrides: dict[str, Any]):
        super().__init__(base.__name__)
        self.__dict__["_base"] = base
        self.__dict__.update(overrides)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_base"], name)


def proxy(base: types.ModuleType, **overrides: Any) -> types.ModuleType:
    """A stand-in for the module ``base`` whose listed attributes are mlsd's (for a name the tests
    reach through a submodule, e.g. ``stats._stats_py.TtestResult``)."""
    return _Proxy(base, overrides)


_SM_ALTERNATIVE = {"two-sided": "two-sided", "2s": "two-sided", "larger": "greater", "l": "greater",
                   "smaller": "less", "s": "less"}


@adapter("statsmodels.stats.proportion.proportions_ztest",
         "proportions_ztest(count, nobs, value, alternative, prop_var): statsmodels passes the two arms as "
         "arrays count=[c1, c2], nobs=[n1, n2], mlsd as tuples (c1, n1), (c2, n2); one count and nobs "
         "(scalars or length-1 arrays) are the one-sample form both share; prop_var=None is False (statsmodels "
         "tests it for truth).  alternative passes as given: mlsd's proportions_ztest takes statsmodels' "
         "spellings ('larger', 'smaller', and the aliases '2-sided', '2s', 'l', 's' with its FutureWarning)")
def statsmodels_proportions_ztest(count, nobs, value=None, alternative="two-sided", prop_var=False):
    import numpy as np

    from mlsd.abtest import proportions_ztest

    prop_var = False if prop_var is None else prop_var
    count, nobs = np.asarray(count), np.asarray(nobs)
    if count.size == 1 and nobs.size == 1:
        return proportions_ztest(count.reshape(()).item(), nobs.reshape(()).item(), value, alternative=alternative,
                                 prop_var=prop_var)
    if count.shape == (2,) and nobs.shape == (2,):
        return proportions_ztest((count[0].item(), nobs[0].item()), (count[1].item(), nobs[1].item()), value,
                                 alternative=alternative, prop_var=prop_var)
    raise NotImplementedError("proportions_ztest: more than two samples are not implemented (statsmodels: neither)")


class _StatsmodelsIndPower:
    """statsmodels' two-sample power classes, whose methods are mlsd's functions (see CONVENTIONS)."""

    _test = "z"

    def power(self, effect_size, nobs1, alpha, ratio=1, df=None, alternative="two-sided"):
        from mlsd.abtest import power

        if df is not None:
            raise NotImplementedError("power(df=...): mlsd takes the degrees of freedom from the sample sizes")
        return power(effect_size, nobs1, alpha=alpha, ratio=ratio, alternative=_SM_ALTERNATIVE.get(alternative,
                     alternative), test=self._test)

    def solve_power(self, effect_size=None, nobs1=None, alpha=None, power=None, ratio=1.0, alternative="two-sided"):
        from mlsd.abtest import solve_power

        return solve_power(effect_size=effect_size, nobs1=nobs1, power=power, alpha=alpha, ratio=ratio,
                           alternative=_SM_ALTERNATIVE.get(alternative, alternative), test=self._test)


@adapter("statsmodels.stats.power.NormalIndPower",
         "NormalIndPower().power(effect_size, nobs1, alpha, ratio, alternative) is power(..., test='z'); "
         ".solve_power(effect_size, nobs1, alpha, power, ratio, alternative) is solve_power(..., test='z') "
         "(statsmodels' alpha=None default included); alternative 'larger'/'smaller' is 'greater'/'less'")
class StatsmodelsNormalIndPower(_StatsmodelsIndPower):
    _test = "z"


@adapter("statsmodels.stats.power.TTestIndPower",
         "TTestIndPower().power(...)/.solve_power(...) as NormalIndPower's, with test='t'; df=None only")
class StatsmodelsTTestIndPower(_StatsmodelsIndPower):
    _test = "t"


def _load_copy(dotted: str, alias: str, patches: dict[str, Any], namespaces: dict[str, dict[str, Any]]
               ) -> types.ModuleType:
    """A fresh copy of the installed module ``dotted`` named ``alias``, with the peer's names bound
    to mlsd's while its body runs, so that module-level uses (``@pytest.mark.parametrize("metric",
    [roc_auc_score, ...])``, ``partial(roc_curve, ...)``) see mlsd's too.  The peer's modules are
    patched only for that moment and restored, and the peer's test module is imported normally first
    so that nothing else gets first imported (and keeps an mlsd name) inside that window.  Relative
    imports resolve against the original package."""
    try:
        original = importlib.import_module(dotted)
    except ImportError:
        pytest.skip(f"{dotted} is not installed", allow_module_level=True)
    # Every loaded module that holds the peer's object under a rebound name gets mlsd's while the
    # copy executes (that covers `from sklearn.metrics import roc_curve` and `stats.mannwhitneyu`).
    undo: list[tuple[Any, str, Any]] = []
    targets = [(original, name, fn) for name, fn in patches.items()]
    for ns, overrides in namespaces.items():
        targets += [(getattr(original, ns), name, fn) for name, fn in overrides.items()]
    registered = _register_capabilities(targets)
    for holder, name, fn in targets:
        peer_obj = getattr(holder, name, None)
        if peer_obj is None:
            raise AttributeError(f"{dotted}: no name {name!r} to rebind")
        for mod in list(sys.modules.values()):
            if getattr(mod, "__dict__", {}).get(name) is peer_obj and mod is not original:
                undo.append((mod, name, peer_obj))
                setattr(mod, name, fn)
    try:
        copy_spec = importlib.util.spec_from_file_location(alias, original.__file__)
        module = importlib.util.module_from_spec(copy_spec)
        module.__package__ = dotted.rpartition(".")[0]
        # relative imports (`from .common_tests import ...`) resolve against the original package,
        # and the spec's parent must say so too (else Python warns ImportWarning)
        module.__spec__ = importlib.machinery.ModuleSpec(f"{module.__package__}.{alias}", copy_spec.loader,
                                                         origin=original.__file__)
        sys.modules[alias] = module
        copy_spec.loader.exec_module(module)
    finally:
        for mod, name, peer_obj in reversed(undo):
            setattr(mod, name, peer_obj)
        _unregister_capabilities(registered)
    return module


def _register_capabilities(targets: list[tuple[Any, str, Any]]) -> list[Any]:
    """SciPy's test modules decorate their tests with ``make_xp_test_case(stats.f)``, which looks
    ``stats.f`` up in SciPy's array-API capabilities table (and tags it for lazy backends).  While
    the copy loads, ``stats.f`` is mlsd's, so mlsd's callable gets the peer's entry for that moment:
    the test gets the peer's backend marks (only NumPy runs here) and nothing else changes."""
    try:
        from scipy._lib._array_api import xp_capabilities_table as table
    except ImportError:
        return []
    added = []
    for holder, name, fn in targets:
        peer_obj = getattr(holder, name, None)
        if peer_obj in table and fn not in table:
            table[fn] = table[peer_obj]
            added.append((fn, "_lazy_xp_function" in getattr(fn, "__dict__", {})))
    return added


def _unregister_capabilities(added: list[Any]) -> None:
    if not added:
        return
    from scipy._lib._array_api import xp_capabilities_table as table

    for fn, had_tag in added:
        table.pop(fn, None)
        if not had_tag and "_lazy_xp_function" in getattr(fn, "__dict__", {}):
            del fn._lazy_xp_function


def _is_fixture(obj: Any) -> bool:
    return type(obj).__name__ == "FixtureFunctionDefinition" or hasattr(obj, "_pytestfixturefunction")


@dataclass
class PeerSuite:
    """One peer test module run against mlsd (see the module docstring)."""

    name: str
    module: str
    rebind: dict[str, Callable] = field(default_factory=dict)
    namespaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    select: Callable[[str], bool] | None = None
    deselect: list[Rule] = field(default_factory=list)
    expected_failures: dict[str, str] = field(default_factory=dict)
    min_pass_rate: float = 0.95
    # The peer's own warning filters, applied to its tests instead of mlsd's "error" (scikit-learn's
    # tests run with warnings shown, not raised, unless SKLEARN_WARNINGS_AS_ERRORS is set; a test
    # that expects a warning still checks it with pytest.warns).
    filterwarnings: tuple[str, ...] = ("default",)
    counts: dict[str, int] = field(default_factory=dict)

    def install(self, namespace: dict[str, Any]) -> types.ModuleType:
        """Load the peer module, rebind its names, and copy its tests, test classes and fixtures
        into ``namespace`` (the globals of the pytest file)."""
        peer = _load_copy(self.module, f"_mlsd_peer_{self.name}", self.rebind, self.namespaces)
        for name, fn in self.rebind.items():
            setattr(peer, name, fn)
        for name, overrides in self.namespaces.items():
            setattr(peer, name, _Proxy(getattr(peer, name), overrides))
        for name, obj in vars(peer).items():
            if name.startswith("test") and callable(obj) or name.startswith("Test") and isinstance(obj, type) \
                    or _is_fixture(obj) or name == "pytestmark":
                namespace[name] = obj
        namespace["test_pass_rate"] = self._pass_rate_test()
        self.peer = peer
        SUITES[self.name] = self
        return peer

    # Classification of one collected test id (the part after "file.py::").
    def deselected_by(self, test_id: str) -> Rule | None:
        if test_id == "test_pass_rate":
            return None
        if self.select is not None and not self.select(test_id):
            return Rule("<not selected>", "not in the selected subset of this peer module")
        return next((r for r in self.deselect if r.matches(test_id)), None)

    def _pass_rate_test(self):
        suite = self

        def test_pass_rate():
            selected = suite.counts.get("selected", 0)
            assert selected > 0, f"no test of {suite.module} was selected"
            unknown = set(suite.expected_failures) - suite.counts_ids
            assert not unknown, f"expected failures that are not selected tests: {sorted(unknown)}"
            rate = 1 - len(suite.expected_failures) / selected
            assert rate >= suite.min_pass_rate, (
                f"{suite.name}: {len(suite.expected_failures)} of {selected} selected tests fail "
                f"({rate:.1%} pass, below {suite.min_pass_rate:.0%})")

        test_pass_rate.__doc__ = f"At least {self.min_pass_rate:.0%} of the selected tests of {self.module} pass."
        return test_pass_rate

    counts_ids: set = field(default_factory=set)

