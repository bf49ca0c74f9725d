"""Applies each peer suite's rules to the collected tests (see ``_harness.py``), provides the
fixtures the peers' own conftest files would, and prints the pass rates."""

from __future__ import annotations

import pytest

from ._harness import SUITES


def pytest_configure(config):
    # Marks the peers register in their own configuration (scikit-learn: pytest-run-parallel's).
    config.addinivalue_line("markers", "thread_unsafe: a peer's test that must not run in parallel threads")


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
        rate = outcome["passed"] / selected if selected else float("nan")
        terminalreporter.write_line(
            f"{name:28s} {suite.module}: selected {selected}, deselected {suite.counts.get('deselected', 0)}; "
            f"passed {outcome['passed']}, expected failures {outcome['xfailed']}, skipped {outcome['skipped']}, "
            f"failed {outcome['failed'] + outcome['error']}, unexpected passes {outcome['xpassed']}; "
            f"{rate:.1%} of the selected passed")
