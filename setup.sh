#!/usr/bin/env bash
# Installs everything mlsd needs on a fresh Debian/Ubuntu machine: the C++ libraries from apt and
# the Python package (with test and benchmark extras) from this checkout.
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  g++ libfaiss-dev libtbb-dev libeigen3-dev libgtest-dev libopenblas-dev >/dev/null

PY="${PYTHON:-python3}"
# cmake and ninja also build the GoogleTest suite (run_tests.sh).
"$PY" -m pip install -q "cmake>=3.20" ninja
"$PY" -m pip install -q ".[test,bench]"
echo "mlsd $("$PY" -c 'import mlsd; print(mlsd.__version__)') installed."
