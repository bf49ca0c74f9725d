"""scikit-learn's own ``metrics/tests/test_ranking.py`` run against mlsd.metrics (see _harness.py)."""

import mlsd.metrics as M
from ._harness import PeerSuite, Rule, sklearn_dcg_score, sklearn_ndcg_score

SUITE = PeerSuite(
    name="sklearn_ranking",
    module="sklearn.metrics.tests.test_ranking",
    rebind={
        "roc_auc_score": M.roc_auc_score,
        "roc_curve": M.roc_curve,
        "average_precision_score": M.average_precision_score,
        "precision_recall_curve": M.precision_recall_curve,
        "dcg_score": sklearn_dcg_score,
        "ndcg_score": sklearn_ndcg_score,
    },
    deselect=[
        # mlsd's threshold metrics are binary: multiclass (OvO/OvR) and multilabel AUC/AP are not offered.
        Rule(r"multiclass|multilabel|micro_averaged_ovr", "binary metrics only"),
        # scikit-learn functions mlsd has no counterpart of.
        Rule(r"^test_auc(_errors)?$", "sklearn.metrics.auc (trapezoid area of any curve): not offered"),
        Rule(r"det_curve", "det_curve: not offered"),
        Rule(r"lrap|label_ranking|coverage|ranking_loss|alternative_lrap|ranking_appropriate_input_shape",
             "label-ranking metrics (multilabel): not offered"),
        Rule(r"top_k_accuracy", "top_k_accuracy_score (multiclass): not offered"),
        Rule(r"confusion_matrix_at_thresholds|metric_at_thresholds",
             "confusion_matrix_at_thresholds / metric_at_thresholds: not offered"),
        Rule(r"sort_inputs_and_compute_classification_thresholds",
             "tests a private scikit-learn helper (_sort_inputs_and_compute_classification_thresholds)"),
    ],
    expected_failures={
        "test_roc_curve_one_label": "mlsd's UndefinedMetricWarning is not scikit-learn's; one-class AUC raises (issue 18 item 2)",
        "test_roc_curve_toydata": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_auc_score_non_binary_class": "mlsd's UndefinedMetricWarning is not scikit-learn's; one-class AUC raises (issue 18 item 2)",
        "test_precision_recall_curve[True]": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_precision_recall_curve[False]": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_precision_recall_curve_toydata[True]": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_precision_recall_curve_toydata[False]": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_precision_recall_curve_drop_intermediate": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_average_precision_score_binary_pos_label_errors": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_ndcg_negative_ndarray_error": "ndcg_score's input checks differ (issue 18 item 1)",
        "test_ndcg_error_single_document": "ndcg_score's input checks differ (issue 18 item 1)",
        "test_ranking_metric_pos_label_types[classes0-average_precision_score]": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_ranking_metric_pos_label_types[classes0-precision_recall_curve]": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_ranking_metric_pos_label_types[classes0-roc_curve]": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_ranking_metric_pos_label_types[classes1-average_precision_score]": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_ranking_metric_pos_label_types[classes1-precision_recall_curve]": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_ranking_metric_pos_label_types[classes1-roc_curve]": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_ranking_metric_pos_label_types[classes2-average_precision_score]": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_ranking_metric_pos_label_types[classes2-precision_recall_curve]": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_ranking_metric_pos_label_types[classes2-roc_curve]": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_ranking_metric_pos_label_types[classes3-average_precision_score]": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_ranking_metric_pos_label_types[classes3-precision_recall_curve]": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
        "test_ranking_metric_pos_label_types[classes3-roc_curve]": "labels other than 0/1 and pos_label are not accepted yet (issue 18 item 1)",
    },
    min_pass_rate=0.0,  # raised to the 0.95 once its items land
)
SUITE.install(globals())
