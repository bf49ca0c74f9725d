// Exact threshold metrics and curves on raw rows: ROC AUC (and McClish's partial AUC), average
// precision, the ROC and precision-recall curves.
#include <algorithm>
#include <cmath>
#include <limits>

#include "mlsd/common/checks.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/metrics.hpp"
#include "threshold_walk.hpp"

namespace mlsd::metrics {

using detail::SortedByClass;

double standardized_partial_auc(double area, double max_fpr) {
  if (max_fpr >= 1.0) return area;
  const double min_area = 0.5 * max_fpr * max_fpr;
  const double max_area = max_fpr;
  return 0.5 * (1.0 + (area - min_area) / (max_area - min_area));
}

void check_inputs(const char* fn, std::span<const std::uint8_t> y, std::span<const double> s,
                  std::span<const double> w, const char* score_name) {
  check_binary_labels(y);
  MLSD_REQUIRE(s.size() == y.size(), fn, score_name, " has ", s.size(), " elements but y_true has ", y.size());
  MLSD_REQUIRE(w.empty() || w.size() == y.size(), fn, "sample_weight has ", w.size(), " elements but y_true has ",
               y.size());
  detail::check_finite(s, fn, score_name);
  if (!w.empty()) detail::check_nonnegative(w, fn, "sample_weight");
}

namespace {

// Confusion matrix at every distinct score, for the public function `fn` (named in errors).
ThresholdCurve curve_of(const char* fn, std::span<const std::uint8_t> y, std::span<const double> s,
                        std::span<const double> w) {
  check_inputs(fn, y, s, w);
  const SortedByClass sorted = run_in_arena([&] { return detail::sort_by_class(y, s, w); });
  return curve_of_walk([&](auto&& visit) { detail::walk_distinct_scores(sorted, visit); });
}

// Interior points kept by sklearn's drop_intermediate: a "corner" in either coordinate.
std::vector<std::size_t> roc_corners(const std::vector<double>& fps, const std::vector<double>& tps) {
  const std::size_t m = fps.size();
  std::vector<std::size_t> keep;
  keep.reserve(m);
  for (std::size_t i = 0; i < m; ++i) {
    if (i == 0 || i + 1 == m) {
      keep.push_back(i);
      continue;
    }
    const double d2f = (fps[i + 1] - fps[i]) - (fps[i] - fps[i - 1]);
    const double d2t = (tps[i + 1] - tps[i]) - (tps[i] - tps[i - 1]);
    if (d2f != 0.0 || d2t != 0.0) keep.push_back(i);
  }
  return keep;
}

template <class T>
std::vector<T> take(const std::vector<T>& v, const std::vector<std::size_t>& idx) {
  std::vector<T> out;
  out.reserve(idx.size());
  for (auto i : idx) out.push_back(v[i]);
  return out;
}

}  // namespace

ThresholdCurve threshold_curve(std::span<const std::uint8_t> y, std::span<const double> s,
                               std::span<const double> w) {
  return curve_of("threshold_curve", y, s, w);
}

RocCurve roc_of_curve(ThresholdCurve c, bool drop_intermediate) {
  MLSD_REQUIRE(!c.thresholds.empty(), "roc_curve",
               "sample_weight is zero for every sample; the curve is undefined");
  if (drop_intermediate && c.fps.size() > 2) {
    const auto keep = roc_corners(c.fps, c.tps);
    c.fps = take(c.fps, keep);
    c.tps = take(c.tps, keep);
    c.thresholds = take(c.thresholds, keep);
  }
  const double n_neg = c.fps.back(), n_pos = c.tps.back();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  RocCurve r;
  const std::size_t m = c.fps.size() + 1;
  r.fpr.resize(m);
  r.tpr.resize(m);
  r.thresholds.resize(m);
  r.fpr[0] = n_neg > 0 ? 0.0 : nan;
  r.tpr[0] = n_pos > 0 ? 0.0 : nan;
  r.thresholds[0] = std::numeric_limits<double>::infinity();
  for (std::size_t i = 1; i < m; ++i) {
    r.fpr[i] = n_neg > 0 ? c.fps[i - 1] / n_neg : nan;
    r.tpr[i] = n_pos > 0 ? c.tps[i - 1] / n_pos : nan;
    r.thresholds[i] = c.thresholds[i - 1];
  }
  return r;
}

PrCurve pr_of_curve(ThresholdCurve c, bool drop_intermediate) {
  MLSD_REQUIRE(!c.thresholds.empty(), "precision_recall_curve",
               "sample_weight is zero for every sample; the curve is undefined");
  if (drop_intermediate && c.tps.size() > 2) {
    std::vector<std::size_t> keep;
    const auto& t = c.tps;
    for (std::size_t i = 0; i < t.size(); ++i)
      if (i == 0 || i + 1 == t.size() || t[i] != t[i - 1] || t[i + 1] != t[i]) keep.push_back(i);
    c.fps = take(c.fps, keep);
    c.tps = take(c.tps, keep);
    c.thresholds = take(c.thresholds, keep);
  }
  const std::size_t m = c.tps.size();
  const double n_pos = c.tps.back();
  PrCurve r;
  r.precision.resize(m + 1);
  r.recall.resize(m + 1);
  r.thresholds.resize(m);
  for (std::size_t i = 0; i < m; ++i) {  // reversed: recall decreasing, thresholds ascending
    const std::size_t j = m - 1 - i;
    const double ps = c.tps[j] + c.fps[j];
    r.precision[i] = ps != 0.0 ? c.tps[j] / ps : 0.0;
    r.recall[i] = n_pos > 0 ? c.tps[j] / n_pos : 1.0;  // sklearn: recall is 1 without positives
    r.thresholds[i] = c.thresholds[j];
  }
  r.precision[m] = 1.0;
  r.recall[m] = 0.0;
  return r;
}

RocCurve roc_curve(std::span<const std::uint8_t> y, std::span<const double> s, std::span<const double> w,
                   bool drop_intermediate) {
  return roc_of_curve(curve_of("roc_curve", y, s, w), drop_intermediate);
}

PrCurve precision_recall_curve(std::span<const std::uint8_t> y, std::span<const double> s,
                               std::span<const double> w, bool drop_intermediate) {
  return pr_of_curve(curve_of("precision_recall_curve", y, s, w), drop_intermediate);
}

double roc_auc(std::span<const std::uint8_t> y, std::span<const double> s, std::span<const double> w,
               double max_fpr) {
  const char* fn = "roc_auc_score";
  check_inputs(fn, y, s, w);
  MLSD_REQUIRE(max_fpr > 0.0 && max_fpr <= 1.0, fn, "max_fpr must be in (0, 1]; got ", max_fpr);
  return run_in_arena([&] {
    const SortedByClass sorted = detail::sort_by_class(y, s, w);
    auto walk = [&](auto&& visit) { detail::walk_distinct_scores(sorted, visit); };
    return roc_auc_of(walk, sorted.positive, sorted.negative, max_fpr, fn);
  });
}

double average_precision(std::span<const std::uint8_t> y, std::span<const double> s, std::span<const double> w) {
  const char* fn = "average_precision_score";
  check_inputs(fn, y, s, w);
  return run_in_arena([&] {
    const SortedByClass sorted = detail::sort_by_class(y, s, w);
    auto walk = [&](auto&& visit) { detail::walk_distinct_scores(sorted, visit); };
    return average_precision_of(walk, sorted.positive, fn);
  });
}
}  // namespace mlsd::metrics
