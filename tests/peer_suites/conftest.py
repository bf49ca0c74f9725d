"""Applies each peer suite's rules to the collected tests (see ``_harness.py``), provides the
fixtures the peers' own conftest files would, and prints the pass rates."""

from __future__ import annotations

import pytest

from ._harness import SUITES


def pytest_configure(config):
    # Marks the peers register in their own configuration (scikit-learn: pytest-run-parallel's).
    config.addinivalue_line("markers", "thread_unsafe: a peer's test that must not run in parallel threads")
    # SciPy's (scipy/conftest.py): array-API backend selection, slow tests, pytest-run-parallel's.
    for line in ("skip_xp_backends(backends, reason=None, np_only=False, cpu_only=False, eager_only=False, "
                 "exceptions=None): SciPy's backend skips (only NumPy runs here)",
                 "xfail_xp_backends(backends, reason=None, np_only=False, cpu_only=False, eager_only=False, "
                 "exceptions=None): SciPy's backend xfails (only NumPy runs here)",
                 "array_api_backends: a SciPy test that iterates over array-API backends",
                 "slow: a peer's slow test", "xslow: a SciPy test skipped unless SCIPY_XSLOW=1",
                 "xfail_on_32bit(reason): a SciPy test that fails on 32-bit platforms",
                 "fail_slow(duration): SciPy's per-test time budget (not enforced here)",
                 "timeout(seconds): a peer's per-test timeout (not enforced here)",
                 "parallel_threads_limit(n): pytest-run-parallel's (not used here)",
                 "iterations(n): pytest-run-parallel's (not used here)",
                 "matplotlib: a statsmodels test that needs matplotlib",
                 "smoke: a statsmodels smoke test"):
        config.addinivalue_line("markers", line)


def pytest_runtest_setup(item):
    # SciPy's conftest skips its very slow tests unless asked to run them.
    import os

    if item.get_closest_marker("xslow") is not None and os.environ.get("SCIPY_XSLOW", "0") in ("", "0"):
        pytest.skip("very slow SciPy test; set SCIPY_XSLOW=1 to run it")


# --- the fixtures that the peers' conftest.py files provide ------------------------------------------

@pytest.fixture
def global_random_seed():
    """scikit-learn's conftest: 42 unless SKLEARN_TESTS_GLOBAL_RANDOM_SEED asks for more seeds."""
    return 42


@pytest.fixture
def global_dtype():
    """scikit-learn's conftest: float64 (float32 only with SKLEARN_RUN_FLOAT32_TESTS)."""
    import numpy as np

    return np.float64


@pytest.fixture
def pyplot():
    """scikit-learn's conftest: matplotlib's pyplot on the Agg backend, figures closed afterwards."""
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg", force=True)
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


@pytest.fixture
def xp():
    """SciPy's conftest: the array namespace under test.  Without SCIPY_ARRAY_API (and mlsd takes
    NumPy input only) that is NumPy alone, wrapped as SciPy wraps it."""
    import numpy as np
    from scipy._lib._array_api import array_namespace

    return array_namespace(np.empty(0))


@pytest.fixture
def num_parallel_threads():
    """SciPy's conftest without pytest-run-parallel: one thread."""
    return 1


# --- selection, expected failures, report ------------------------------------------------------------

def _suite_of(item):
    return getattr(getattr(item, "module", None), "SUITE", None)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    kept, dropped = [], []
    for item in items:
        suite = _suite_of(item)
        if suite is None:
            kept.append(item)
            continue
        test_id = item.nodeid.split("::", 1)[1]
        if suite.deselected_by(test_id) is not None:
            dropped.append(item)
            suite.counts["deselected"] = suite.counts.get("deselected", 0) + 1
            continue
        kept.append(item)
        if test_id == "test_pass_rate":
            continue
        for line in suite.filterwarnings:
            item.add_marker(pytest.mark.filterwarnings(line))
        suite.counts["selected"] = suite.counts.get("selected", 0) + 1
        suite.counts_ids.add(test_id)
        reason = suite.expected_failures.get(test_id)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_terminal_summary(terminalreporter):
    if not SUITES:
        return
    stats = terminalreporter.stats
    terminalreporter.section("peer suites (the peers' own tests run on mlsd)")
    for name, suite in SUITES.items():
        outcome = {}
        for key in ("passed", "failed", "xfailed", "xpassed", "skipped", "error"):
            outcome[key] = sum(1 for r in stats.get(key, [])
                               if getattr(r, "nodeid", "").split("::")[0].endswith(f"test_peer_{name}.py")
                               and not r.nodeid.endswith("::test_pass_rate"))
        selected = suite.counts.get("selected", 0)
        # xfails that are not in expected_failures are the peer's own (pytest.xfail(...) in its test:
        # SciPy's "Discrepancy in `main`"), like its own skips: the peer does not run those either
        listed = sum(1 for r in stats.get("xfailed", [])
                     if r.nodeid.split("::")[0].endswith(f"test_peer_{name}.py")
                     and r.nodeid.split("::", 1)[1] in suite.expected_failures)
        own = outcome["xfailed"] - listed + outcome["skipped"]
        ran = selected - own
        rate = outcome["passed"] / ran if ran else float("nan")
        terminalreporter.write_line(
            f"{name:28s} {suite.module}: selected {selected}, deselected {suite.counts.get('deselected', 0)}; "
            f"passed {outcome['passed']}, expected failures {listed}, skipped or xfailed by the peer itself {own}, "
            f"failed {outcome['failed'] + outcome['error']}, unexpected passes {outcome['xpassed']}; "
            f"{rate:.1%} of the {ran} run passed")
