#!/usr/bin/env bash
# Builds the repaired wheel (./build_wheel.sh), installs it into a fresh virtual environment that
# does not see the system's site-packages, and runs .ci/wheel_smoke.py there: the module must load
# its bundled oneTBB/OpenBLAS/OpenMP (never the system's) and compute right answers.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
./build_wheel.sh
venv="$(mktemp -d)/venv"
"$PY" -m venv "$venv"
"$venv/bin/python" -m pip install -q wheelhouse/mlsd-*.whl
# Run from outside the checkout so that `import mlsd` can only be the installed wheel.
(cd "$(dirname "$venv")" && "$venv/bin/python" "$OLDPWD/.ci/wheel_smoke.py")
rm -rf "$(dirname "$venv")"
