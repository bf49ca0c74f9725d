"""Times Evidently's DataDriftPreset on two tables saved as .npy, in Evidently's own environment.

Evidently 0.7 does not import with pandas 3, so bench_monitoring.py runs this file with the
interpreter of a separate venv (pandas < 3)::

    benchmarks/setup_evidently.sh          # creates benchmarks/.venv-evidently
    benchmarks/.venv-evidently/bin/python benchmarks/_evidently_drift.py reference.npy current.npy

Prints one JSON line: the seconds of ``Report([DataDriftPreset()]).run(...)`` (imports and
DataFrame construction excluded), the drifted-column count, each column's drift value and the
methods Evidently chose, Evidently's and pandas' versions, and the peak resident memory of this
process.
"""

import json
import sys
import time

import numpy as np
import pandas as pd


def main(reference_path: str, current_path: str) -> None:
    import evidently
    from evidently import Report
    from evidently.presets import DataDriftPreset

    ref = np.load(reference_path)
    cur = np.load(current_path)
    names = [f"c{j}" for j in range(ref.shape[1])]
    ref_df, cur_df = pd.DataFrame(ref, columns=names), pd.DataFrame(cur, columns=names)
    t0 = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(current_data=cur_df, reference_data=ref_df)
    seconds = time.perf_counter() - t0
    drifted, values, methods = None, {}, set()
    for m in snapshot.dict()["metrics"]:
        if m["metric_name"].startswith("DriftedColumnsCount"):
            drifted = float(m["value"]["count"])
        elif m["metric_name"].startswith("ValueDrift"):
            values[m["config"]["column"]] = float(m["value"])
            methods.add(m["config"]["method"])
    print(json.dumps({"seconds": seconds, "drifted": drifted, "values": [values[c] for c in names],
                      "methods": sorted(methods), "evidently": evidently.__version__,
                      "pandas": pd.__version__, "peak_rss_mb": _peak_rss_mb()}))


def _peak_rss_mb() -> float:
    """VmHWM: this process's own peak (getrusage's ru_maxrss would include the parent's peak
    from before the exec, on Linux)."""
    with open("/proc/self/status") as f:
        for row in f:
            if row.startswith("VmHWM:"):
                return int(row.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
