"""Offline evaluation metrics: classification (ROC/PR AUC, log loss, normalized entropy,
calibration, group AUC) and ranking (NDCG, MAP, MRR, precision/recall/hit rate at k) over many
queries at once.

Every function matches its scikit-learn counterpart where one exists (same signature, same
numbers to ~1e-12), runs multithreaded in C++ with the GIL released, and gives the same result for
any thread count (:func:`mlsd.set_num_threads`).

Conventions
-----------
* ``y_true`` for the scikit-learn-named binary metrics holds labels of any two values (numbers,
  bools, strings, bytes) with scikit-learn's ``pos_label`` rules; mlsd's own functions
  (``group_auc``, ``normalized_entropy``, the states) take 0/1 (bool, integer or float).  NaN or
  infinity in scores, probabilities or weights is an error, and so is a negative weight.
* Samples with zero ``sample_weight`` are dropped before thresholds are formed, as in scikit-learn.
* Results follow the one contract of :mod:`mlsd._results`: scalars where scikit-learn returns a
  scalar (``roc_auc_score``, ``log_loss``, ...); curves are tuples with names and ``plot()``
  (:class:`ROCCurve`, :class:`PrecisionRecallCurve`, :class:`CalibrationCurve`); other results
  are immutable objects with ``to_frame()``, a notebook table and ``plot()``.  The states
  (:class:`ScoreTable`, :class:`LogLossSums`) follow the mergeable-state protocol of
  :mod:`mlsd._state`.  Every parameter is declared (``@validate_params``); a bad one raises
  ``InvalidParameterError`` (a ValueError and a TypeError) naming the function and the argument.
* Scores are read as float64 (a float32 array is converted once; float32 -> float64 is exact, so
  orderings and ties do not change).  All arithmetic is float64, so for float32 or float16
  probabilities the losses can differ from scikit-learn's lower-precision arithmetic in the last
  digits of that precision.
"""

from __future__ import annotations
from ._common import UndefinedMetricWarning
from ._group import GroupAUCResult, group_auc
from ._losses import (
    brier_score,
    brier_score_loss,
    CalibrationCurve,
    calibration_curve,
    expected_calibration_error,
    log_loss,
    normalized_entropy,
)
from ._ranking import (RankingResult, dcg_at_k, dcg_score, ndcg_score, hit_rate_at_k,
                       map_at_k, mrr, ndcg_at_k, precision_at_k, recall_at_k)
from ._states import ApproximateAUC, LogLossResult, LogLossSums, ScoreTable, ScoreTableResult, binned_roc_auc_score
from ._threshold import (
    PrecisionRecallCurve,
    ROCCurve,
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

__all__ = [
    "UndefinedMetricWarning",
    "roc_auc_score",
    "roc_curve",
    "precision_recall_curve",
    "average_precision_score",
    "log_loss",
    "brier_score_loss",
    "brier_score",
    "normalized_entropy",
    "calibration_curve",
    "expected_calibration_error",
    "group_auc",
    "GroupAUCResult",
    "RankingResult",
    "dcg_score",
    "ndcg_score",
    "dcg_at_k",
    "ndcg_at_k",
    "map_at_k",
    "mrr",
    "precision_at_k",
    "recall_at_k",
    "hit_rate_at_k",
    "ScoreTable",
    "LogLossSums",
    "ApproximateAUC",
    "binned_roc_auc_score",
    "ROCCurve",
    "PrecisionRecallCurve",
    "CalibrationCurve",
    "ScoreTableResult",
    "LogLossResult",
]

# The public objects live in the submodules; doctest.testmod(mlsd.metrics) finds their examples here.
__test__ = {name: globals()[name] for name in __all__}
