"""Type stubs for the compiled module mlsd._core (private: use mlsd.metrics)."""

from typing import Optional

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
