#!/usr/bin/env bash
# Creates the separate environment that bench_monitoring.py runs Evidently in: Evidently 0.7 does
# not import with pandas 3, which mlsd's own environment may have.  Usage:
#   benchmarks/setup_evidently.sh [VENV_DIR]      (default: benchmarks/.venv-evidently)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${1:-$here/.venv-evidently}"
python3 -m venv "$venv"
"$venv/bin/pip" install -q evidently 'pandas<3' numpy
"$venv/bin/python" -c "import evidently, pandas; print('Evidently', evidently.__version__, 'pandas', pandas.__version__, 'in', '$venv')"
