"""Stub of mlsd._core.hashing: the mlsd::hashing kernels (private: use mlsd.hashing)."""

import builtins
from typing import Any, ClassVar, Iterable, Optional, Sequence

import numpy as np
import numpy.typing as npt

from . import _Enum, _Object

_I8 = npt.NDArray[np.int8]
_I32 = npt.NDArray[np.int32]
_I64 = npt.NDArray[np.int64]
_U8 = npt.NDArray[np.uint8]
_U32 = npt.NDArray[np.uint32]
_F64 = npt.NDArray[np.float64]

class FeatureInput(_Enum):
    dict: FeatureInput
    pair: FeatureInput
    string: FeatureInput
    __members__: ClassVar[builtins.dict[str, FeatureInput]]  # "dict" is a member here

class ColumnKind(_Enum):
    strings: ColumnKind
    ints: ColumnKind
    dictionary: ColumnKind

class ColumnSpec(_Object):
    def __init__(self, kind: ColumnKind, name: str, *, data: Optional[_I8] = None,
                 offsets: Optional[_I64] = None, offsets32: Optional[_I32] = None, ints: Optional[_I64] = None,
                 valid: Optional[_U8] = None) -> None: ...
    @property
    def kind(self) -> ColumnKind: ...
    @property
    def name(self) -> str: ...

def murmurhash3_32_bytes(key: bytes, seed: int) -> int: ...
def murmurhash3_32_int32(keys: npt.NDArray[np.int32], seed: int) -> _U32: ...
def hash_feature_input(raw_X: Iterable[Any], input_type: FeatureInput, n_features: int, seed: int,
                       alternate_sign: bool) -> tuple[tuple[_I32, _F64, _I64], bool]: ...
def strings_from_objects(values: Sequence[Any], column: str) -> tuple[_I8, _I64, _U8]: ...
def hash_columns(specs: list[ColumnSpec], n_single: int, crosses: list[list[int]], n_rows: int,
                 n_features: int, seed: int, alternate_sign: bool) -> tuple[_I32, _F64, _I64]: ...
def sum_duplicates(indices: _I32, values: _F64, indptr: _I64) -> tuple[_I32, _F64, _I64]: ...
