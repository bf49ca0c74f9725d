// What the threshold-metric sources share (curves, score tables, score ranges, losses): the input
// check, the cumulative confusion matrix of a walk over distinct scores (highest first), the
// curves built from it, and the ROC area and average-precision sums of a walk.  Private to
// cpp/src/metrics: not part of the public header.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>

#include "class_walk.hpp"
#include "mlsd/common/checks.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/metrics.hpp"

namespace mlsd::metrics {

// Checks labels, scores (finite, one length) and weights (>= 0) for the public function fn.
void check_inputs(const char* fn, std::span<const std::uint8_t> y, std::span<const double> s,
                  std::span<const double> w, const char* score_name = "y_score");

// Cumulative confusion matrix along a walk over distinct scores (highest first).
template <class Walk>
ThresholdCurve curve_of_walk(Walk&& walk) {
  ThresholdCurve c;
  double tp = 0.0, fp = 0.0;
  walk([&](double score, double wp, double wn) {
    tp += wp;
    fp += wn;
    c.thresholds.push_back(score);
    c.tps.push_back(tp);
    c.fps.push_back(fp);
  });
  return c;
}

// The ROC and PR curves from a confusion-matrix curve, with sklearn's drop_intermediate rules.
RocCurve roc_of_curve(ThresholdCurve c, bool drop_intermediate);
PrCurve pr_of_curve(ThresholdCurve c, bool drop_intermediate);

// The score table of sorted rows (one row per distinct score).
ScoreTable table_of_sorted(const detail::SortedByClass& sorted);

// Area under the ROC curve over a walk, up to FPR max_fpr (linearly interpolated at the crossing),
// before McClish's standardisation.  The walk may cover one score range of a larger sample: it then
// starts from the class weights above that range (tp, fp) and returns that range's share, which is
// zero once FPR max_fpr lies above the range.
template <class Walk>
double roc_area_of(Walk&& walk, double tp, double fp, double n_pos, double n_neg, double max_fpr) {
  if (max_fpr >= 1.0) {
    // Trapezoids between consecutive distinct thresholds: each negative group contributes the
    // positives ranked above it plus half of those tied with it.
    return detail::auc_of_walk(walk, n_pos, n_neg, tp);
  }
  detail::KahanSum area;
  bool done = false;
  walk([&](double, double wp, double wn) {
    if (done) return;
    const double x0 = fp / n_neg, y0 = tp / n_pos;
    const double x1 = (fp + wn) / n_neg, y1 = (tp + wp) / n_pos;
    if (x0 >= max_fpr) {  // only at the start of a range that lies past max_fpr (a zero term otherwise)
      done = true;
    } else if (x1 <= max_fpr) {
      area.add((x1 - x0) * (y0 + y1) * 0.5);
    } else {
      const double y_at = y0 + (max_fpr - x0) * ((y1 - y0) / (x1 - x0));
      area.add((max_fpr - x0) * (y0 + y_at) * 0.5);
      done = true;
    }
    tp += wp;
    fp += wn;
  });
  return area.value();
}

// ROC AUC over a walk; max_fpr < 1 gives sklearn's McClish-standardised partial AUC.
template <class Walk>
double roc_auc_of(Walk&& walk, double n_pos, double n_neg, double max_fpr, const char* fn) {
  MLSD_REQUIRE(max_fpr > 0.0 && max_fpr <= 1.0, fn, "max_fpr must be in (0, 1]; got ", max_fpr);
  MLSD_REQUIRE(n_pos > 0 && n_neg > 0, fn,
               "y_true must contain both classes (ROC AUC is undefined with only one class); got ",
               n_pos > 0 ? "only positives" : (n_neg > 0 ? "only negatives" : "no sample with non-zero weight"));
  return standardized_partial_auc(roc_area_of(walk, 0.0, 0.0, n_pos, n_neg, max_fpr), max_fpr);
}

// Step-wise average precision over a walk, sum_i (R_i - R_{i-1}) P_i, before clamping at zero;
// from the class weights above the walk's score range (zero for a whole sample).
template <class Walk>
double average_precision_sum(Walk&& walk, double tp, double fp, double n_pos) {
  detail::KahanSum ap;
  walk([&](double, double wp, double wn) {
    tp += wp;
    fp += wn;
    if (wp > 0) ap.add((wp / n_pos) * (tp / (tp + fp)));
  });
  return ap.value();
}

template <class Walk>
double average_precision_of(Walk&& walk, double n_pos, const char* fn) {
  MLSD_REQUIRE(n_pos > 0, fn, "y_true has no positive sample (with non-zero weight): average precision is undefined");
  return std::max(0.0, average_precision_sum(walk, 0.0, 0.0, n_pos));
}

}  // namespace mlsd::metrics
