"""The type stubs of the compiled module (python/mlsd/_core/*.pyi) match it: mypy's stubtest compares
every name, signature and type they declare with the built mlsd._core, and fails on any difference."""

import pathlib
import subprocess
import sys

import pytest

import mlsd

STUBS = pathlib.Path(mlsd.__file__).parent / "_core"
ALLOWLIST = pathlib.Path(mlsd.__file__).parent / "_core_stubtest_allowlist.txt"


def test_one_stub_file_per_submodule():
    # pybind11's def_submodule makes modules: a class in the stub would not be one (stubtest: "is not a type")
    from mlsd import _core

    submodules = sorted(n for n in dir(_core) if type(getattr(_core, n)) is type(_core))
    assert submodules == sorted(p.stem for p in STUBS.glob("*.pyi") if p.stem != "__init__")


def test_stubtest_passes():
    pytest.importorskip("mypy")
    cmd = [sys.executable, "-m", "mypy.stubtest", "mlsd._core"]
    if ALLOWLIST.exists():
        cmd += ["--allowlist", str(ALLOWLIST)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
