#!/usr/bin/env bash
# Runs the whole test suite: the C++ GoogleTest suite through ctest, then pytest against the
# installed mlsd package (run ./setup.sh first, and again after changing the C++ code).
# Extra arguments go to pytest.  Exits non-zero if any test fails.
set -uo pipefail
cd "$(dirname "$0")"
PY="${PYTHON:-python3}"
status=0

cmake -S . -B build/tests -G Ninja -DMLSD_BUILD_TESTS=ON -DMLSD_BUILD_PYTHON=OFF >/dev/null || exit 1
cmake --build build/tests -j "$(nproc)" || exit 1
ctest --test-dir build/tests --output-on-failure -j "$(nproc)" || status=1

# Run from outside the source tree so that `import mlsd` is the installed package.
(cd tests && "$PY" -m pytest -c ../pyproject.toml --rootdir .. "$@") || status=1
exit $status
