"""Type stubs for the compiled module mlsd._core (private: use mlsd.metrics, mlsd.hashing, mlsd.retrieval,
mlsd.abtest and mlsd.monitoring).

The compiled module has one submodule per family (pybind11 ``def_submodule``), so the stubs are a stub package:
one file per family, ``_core/<family>.pyi``, checked against the built module by mypy's stubtest
(``python -m mypy.stubtest mlsd._core``, see tests/test_core_stub.py).  Array aliases are private (``_F64``) so
that stubtest does not look for them at runtime.
"""

from typing import Any, Callable, ClassVar, type_check_only

from . import abtest as abtest
from . import features as features
from . import hashing as hashing
from . import metrics as metrics
from . import monitoring as monitoring
from . import retrieval as retrieval

__version__: str

def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def default_num_threads() -> int: ...
def _set_cancel_probe(probe: Callable[[], object] | None) -> Callable[[], object] | None: ...

# What pybind11 gives every bound class (pybind11_builtins.pybind11_object, whose metaclass is
# pybind11_builtins.pybind11_type) and every py::enum_; private, so that stubtest does not look for them.
@type_check_only
class _Type(type): ...

@type_check_only
class _Object(metaclass=_Type): ...

@type_check_only
class _Enum(_Object):
    __members__: ClassVar[dict[str, Any]]
    def __init__(self, value: int) -> None: ...
    def __int__(self) -> int: ...
    def __index__(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...
