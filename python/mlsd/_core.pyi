"""Type stubs for the compiled module mlsd._core (private: use mlsd.metrics and mlsd.hashing)."""

from typing import Any, Iterable, Optional, Sequence

import numpy as np
import numpy.typing as npt

__version__: str

def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def default_num_threads() -> int: ...

class metrics:
    class RankingMetric:
        dcg: "metrics.RankingMetric"
        ndcg: "metrics.RankingMetric"
        precision: "metrics.RankingMetric"
        recall: "metrics.RankingMetric"
        hit_rate: "metrics.RankingMetric"
        reciprocal_rank: "metrics.RankingMetric"
        average_precision: "metrics.RankingMetric"

    class Gain:
        linear: "metrics.Gain"
        exponential: "metrics.Gain"

    class EmptyAction:
        zero: "metrics.EmptyAction"
        one: "metrics.EmptyAction"
        skip: "metrics.EmptyAction"
        error: "metrics.EmptyAction"

    U8 = npt.NDArray[np.uint8]
    F64 = npt.NDArray[np.float64]
    I64 = npt.NDArray[np.int64]

    @staticmethod
    def check_binary_labels(y: U8) -> int: ...
    @staticmethod
    def to_binary_labels(y: npt.NDArray[np.generic]) -> U8: ...
    @staticmethod
    def roc_curve(y_true: U8, y_score: F64, sample_weight: Optional[F64], drop_intermediate: bool) -> tuple[F64, F64, F64]: ...
    @staticmethod
    def precision_recall_curve(y_true: U8, y_score: F64, sample_weight: Optional[F64], drop_intermediate: bool) -> tuple[F64, F64, F64]: ...
    @staticmethod
    def roc_auc(y_true: U8, y_score: F64, sample_weight: Optional[F64], max_fpr: float) -> float: ...
    @staticmethod
    def average_precision(y_true: U8, y_score: F64, sample_weight: Optional[F64]) -> float: ...
    @staticmethod
    def log_loss_sums(y_true: U8, y_prob: F64, sample_weight: Optional[F64], eps: float) -> tuple[float, float, float]: ...
    @staticmethod
    def brier_sums(y_true: U8, y_prob: F64, sample_weight: Optional[F64]) -> tuple[float, float, float]: ...
    @staticmethod
    def calibration_bins(y_true: U8, y_prob: F64, sample_weight: Optional[F64], inner_edges: F64) -> tuple[F64, F64, F64]: ...
    @staticmethod
    def group_auc(groups: I64, y_true: U8, y_score: F64, sample_weight: Optional[F64]) -> tuple[I64, F64, F64]: ...
    @staticmethod
    def ranking_metric(metric: "metrics.RankingMetric", indptr: I64, relevance: F64, score: F64, k: int,
                       gain: "metrics.Gain", ignore_ties: bool, empty: "metrics.EmptyAction") -> F64: ...

class hashing:
    I8 = npt.NDArray[np.int8]
    I32 = npt.NDArray[np.int32]
    I64 = npt.NDArray[np.int64]
    U8 = npt.NDArray[np.uint8]
    U32 = npt.NDArray[np.uint32]
    F64 = npt.NDArray[np.float64]

    @staticmethod
    def murmurhash3_32_bytes(key: bytes, seed: int) -> int: ...
    @staticmethod
    def murmurhash3_32_int32(keys: npt.NDArray[np.int32], seed: int) -> U32: ...
    @staticmethod
    def flatten_features(raw_X: Iterable[Any], input_type: str) -> tuple[I8, I64, F64, I64]: ...
    @staticmethod
    def hash_features(data: I8, offsets: I64, values: F64, row_indptr: I64, n_features: int, seed: int,
                      alternate_sign: bool) -> tuple[I32, F64, I64]: ...
    @staticmethod
    def hash_features_summed(data: I8, offsets: I64, row_indptr: I64, n_features: int, seed: int,
                             alternate_sign: bool) -> tuple[I32, F64, I64]: ...
    @staticmethod
    def hash_ascii_string_rows(raw_X: Any, n_features: int, seed: int,
                               alternate_sign: bool) -> tuple[I32, F64, I64] | None: ...
    @staticmethod
    def strings_from_objects(values: Sequence[Any], column: str) -> tuple[I8, I64, U8]: ...
    @staticmethod
    def hash_columns(specs: list[tuple[Any, ...]], n_single: int, crosses: list[list[int]], n_rows: int,
                     n_features: int, seed: int, alternate_sign: bool) -> tuple[I32, F64, I64]: ...
    @staticmethod
    def sum_duplicates(indices: I32, values: F64, indptr: I64) -> tuple[I32, F64, I64]: ...
