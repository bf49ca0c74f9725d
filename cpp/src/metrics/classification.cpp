#include <algorithm>
#include <cmath>
#include <limits>

#include "mlsd/common/checks.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/detail/class_walk.hpp"
#include "mlsd/metrics.hpp"

namespace mlsd::metrics {

using detail::SortedByClass;

double standardized_partial_auc(double area, double max_fpr) {
  if (max_fpr >= 1.0) return area;
  const double min_area = 0.5 * max_fpr * max_fpr;
  const double max_area = max_fpr;
  return 0.5 * (1.0 + (area - min_area) / (max_area - min_area));
}

namespace {

void check_inputs(const char* fn, std::span<const std::uint8_t> y, std::span<const double> s,
                  std::span<const double> w, const char* score_name = "y_score") {
  check_binary_labels(y);
  MLSD_REQUIRE(s.size() == y.size(), fn, score_name, " has ", s.size(), " elements but y_true has ", y.size());
  MLSD_REQUIRE(w.empty() || w.size() == y.size(), fn, "sample_weight has ", w.size(), " elements but y_true has ",
               y.size());
  detail::check_finite(s, fn, score_name);
  if (!w.empty()) detail::check_nonnegative(w, fn, "sample_weight");
}

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

// Confusion matrix at every distinct score, for the public function `fn` (named in errors).
ThresholdCurve curve_of(const char* fn, std::span<const std::uint8_t> y, std::span<const double> s,
                        std::span<const double> w) {
  check_inputs(fn, y, s, w);
  const SortedByClass sorted = run_in_arena([&] { return detail::sort_by_class(y, s, w); });
  return curve_of_walk([&](auto&& visit) { detail::walk_distinct_scores(sorted, visit); });
}

// The walk over a score table's rows, and its class totals (summed in a fixed order).
auto table_walk(const ScoreTableView& t) {
  return [&t](auto&& visit) {
    for (std::size_t i = 0; i < t.score.size(); ++i) visit(t.score[i], t.positive[i], t.negative[i]);
  };
}
std::pair<double, double> table_totals(const ScoreTableView& t) {
  detail::KahanSum p, n;
  for (std::size_t i = 0; i < t.score.size(); ++i) {
    p.add(t.positive[i]);
    n.add(t.negative[i]);
  }
  return {p.value(), n.value()};
}

void check_table(const ScoreTableView& t, const char* fn) {
  MLSD_REQUIRE(t.positive.size() == t.score.size() && t.negative.size() == t.score.size(), fn,
               "a score table's score, positive and negative arrays must have one length; got ", t.score.size(), ", ",
               t.positive.size(), " and ", t.negative.size());
  for (std::size_t i = 0; i < t.score.size(); ++i) {
    MLSD_REQUIRE(std::isfinite(t.score[i]) && (i == 0 || t.score[i] < t.score[i - 1]), fn,
                 "a score table's scores must be finite and strictly decreasing; row ", i, " holds ", t.score[i]);
    MLSD_REQUIRE(std::isfinite(t.positive[i]) && std::isfinite(t.negative[i]) && t.positive[i] >= 0 &&
                     t.negative[i] >= 0 && t.positive[i] + t.negative[i] > 0,
                 fn, "a score table's weights must be finite, >= 0 and not both 0; row ", i, " holds ",
                 t.positive[i], " and ", t.negative[i]);
  }
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

namespace {

RocCurve roc_of_curve(ThresholdCurve c, bool drop_intermediate) {
  MLSD_REQUIRE(!c.thresholds.empty(), "roc_curve", "no sample has a non-zero weight");
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
  MLSD_REQUIRE(!c.thresholds.empty(), "precision_recall_curve", "no sample has a non-zero weight");
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

}  // namespace

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

// ---- score tables -------------------------------------------------------------------------------

namespace {

ScoreTable table_of_sorted(const SortedByClass& sorted) {
  ScoreTable t;
  // At most one row per sample: reserving that much only reserves address space, the pages a
  // smaller table never touches are never committed.
  const std::size_t cap = sorted.weighted ? sorted.keys.size() : sorted.pos.size() + sorted.neg.size();
  t.score.reserve(cap);
  t.positive.reserve(cap);
  t.negative.reserve(cap);
  detail::walk_distinct_scores(sorted, [&](double score, double wp, double wn) {
    t.score.push_back(score);
    t.positive.push_back(wp);
    t.negative.push_back(wn);
  });
  return t;
}

}  // namespace

ScoreTable score_table(std::span<const std::uint8_t> y, std::span<const double> s, std::span<const double> w) {
  check_inputs("score_table", y, s, w);
  return run_in_arena([&] { return table_of_sorted(detail::sort_by_class(y, s, w)); });
}

ScoreTable binned_score_table(std::span<const std::uint8_t> y, std::span<const double> s, std::span<const double> w,
                              double lo, double hi, index_t n_bins) {
  const char* fn = "binned_score_table";
  check_inputs(fn, y, s, w);
  MLSD_REQUIRE(std::isfinite(lo) && std::isfinite(hi) && lo < hi, fn, "range must be finite with lo < hi; got [", lo,
               ", ", hi, "]");
  MLSD_REQUIRE(n_bins >= 1 && n_bins <= (index_t{1} << 40), fn, "n_bins must be in [1, 2^40]; got ", n_bins);
  std::vector<double> edge_of(s.size());
  run_in_arena([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, s.size(), 1 << 14), [&](const auto& r) {
      for (std::size_t i = r.begin(); i != r.end(); ++i) edge_of[i] = bin_lower_edge(s[i], lo, hi, n_bins);
    });
  });
  return score_table(y, edge_of, w);
}

double bin_lower_edge(double score, double lo, double hi, index_t n_bins) {
  const double width = (hi - lo) / static_cast<double>(n_bins);
  double b = std::floor((score - lo) / width);
  b = std::clamp(b, 0.0, static_cast<double>(n_bins - 1));
  return lo + b * width;
}

namespace {

// Two-way merge summing the weights of equal scores; branch-free in the loop body, because which
// table holds the next score is as unpredictable as the scores.
ScoreTable merge2(const ScoreTableView& a, const ScoreTableView& b) {
  const std::size_t na = a.score.size(), nb = b.score.size();
  ScoreTable out;
  for (auto* v : {&out.score, &out.positive, &out.negative}) {
    v->resize(na + nb);  // uninitialised (buffer), so the huge-page advice precedes the first touch
    detail::advise_huge_pages(v->data(), v->size() * sizeof(double));
  }
  double* os = out.score.data();
  double* op = out.positive.data();
  double* on = out.negative.data();
  std::size_t i = 0, j = 0, o = 0;
  while (i < na && j < nb) {
    const double x = a.score[i], z = b.score[j];
    const bool ta = x >= z, tb = z >= x;
    os[o] = ta ? x : z;
    op[o] = (ta ? a.positive[i] : 0.0) + (tb ? b.positive[j] : 0.0);
    on[o] = (ta ? a.negative[i] : 0.0) + (tb ? b.negative[j] : 0.0);
    i += ta;
    j += tb;
    ++o;
  }
  for (; i < na; ++i, ++o) os[o] = a.score[i], op[o] = a.positive[i], on[o] = a.negative[i];
  for (; j < nb; ++j, ++o) os[o] = b.score[j], op[o] = b.positive[j], on[o] = b.negative[j];
  out.score.resize(o);
  out.positive.resize(o);
  out.negative.resize(o);
  return out;
}

ScoreTableView view_of(const ScoreTable& t) { return {t.score, t.positive, t.negative}; }

// Balanced tree of two-way merges over the views, on the calling thread.
ScoreTable merge_views(std::vector<ScoreTableView> views) {
  if (views.size() == 1) return merge2(views[0], ScoreTableView{});
  std::vector<ScoreTable> level;
  for (std::size_t i = 0; i < views.size(); i += 2)
    level.push_back(merge2(views[i], i + 1 < views.size() ? views[i + 1] : ScoreTableView{}));
  while (level.size() > 1) {
    std::vector<ScoreTable> next;
    for (std::size_t i = 0; i < level.size(); i += 2)
      next.push_back(i + 1 < level.size() ? merge2(view_of(level[i]), view_of(level[i + 1])) : std::move(level[i]));
    level = std::move(next);
  }
  return std::move(level.front());
}

// Rows of a descending table with score >= c.
std::size_t rows_at_least(std::span<const double> score, double c) {
  return static_cast<std::size_t>(
      std::partition_point(score.begin(), score.end(), [c](double x) { return x >= c; }) - score.begin());
}

}  // namespace

ScoreTable merge_score_tables(std::span<const ScoreTableView> tables) {
  const char* fn = "merge_score_tables";
  for (const auto& t : tables) check_table(t, fn);
  if (tables.empty()) return {};
  std::size_t total = 0, largest = 0;
  for (std::size_t t = 0; t < tables.size(); ++t) {
    total += tables[t].score.size();
    if (tables[t].score.size() > tables[largest].score.size()) largest = t;
  }
  // Score ranges [cut[s+1], cut[s]), cut[0] = +inf, cut[S] = -inf, from evenly spaced rows of the
  // largest table: every range is merged on its own (in parallel), and equal scores of different
  // tables always fall in the same range.  The ranges' results are then concatenated.
  const auto& big = tables[largest].score;
  const std::size_t n_ranges = std::clamp<std::size_t>(total >> 17, 1, 256);
  std::vector<double> cut{std::numeric_limits<double>::infinity()};
  for (std::size_t s = 1; s < n_ranges; ++s) {
    const double c = big[s * big.size() / n_ranges];
    if (c < cut.back()) cut.push_back(c);
  }
  cut.push_back(-std::numeric_limits<double>::infinity());
  const std::size_t n_parts = cut.size() - 1;
  return run_in_arena([&] {
    std::vector<ScoreTable> part(n_parts);
    tbb::parallel_for(std::size_t{0}, n_parts, [&](std::size_t s) {
      std::vector<ScoreTableView> views;
      for (const auto& t : tables) {
        const std::size_t lo = s == 0 ? 0 : rows_at_least(t.score, cut[s]);
        const std::size_t hi = s + 1 == n_parts ? t.score.size() : rows_at_least(t.score, cut[s + 1]);
        views.push_back({t.score.subspan(lo, hi - lo), t.positive.subspan(lo, hi - lo), t.negative.subspan(lo, hi - lo)});
      }
      part[s] = merge_views(std::move(views));
    });
    if (n_parts == 1) return std::move(part[0]);
    std::vector<std::size_t> at(n_parts + 1, 0);
    for (std::size_t s = 0; s < n_parts; ++s) at[s + 1] = at[s] + part[s].score.size();
    ScoreTable out;
    for (auto* v : {&out.score, &out.positive, &out.negative}) {
      v->resize(at[n_parts]);
      detail::advise_huge_pages(v->data(), v->size() * sizeof(double));
    }
    tbb::parallel_for(std::size_t{0}, n_parts, [&](std::size_t s) {
      std::copy(part[s].score.begin(), part[s].score.end(), out.score.begin() + at[s]);
      std::copy(part[s].positive.begin(), part[s].positive.end(), out.positive.begin() + at[s]);
      std::copy(part[s].negative.begin(), part[s].negative.end(), out.negative.begin() + at[s]);
    });
    return out;
  });
}

double roc_auc(const ScoreTableView& t, double max_fpr) {
  const char* fn = "roc_auc_score";
  check_table(t, fn);
  const auto [n_pos, n_neg] = table_totals(t);
  return roc_auc_of(table_walk(t), n_pos, n_neg, max_fpr, fn);
}

double average_precision(const ScoreTableView& t) {
  const char* fn = "average_precision_score";
  check_table(t, fn);
  return average_precision_of(table_walk(t), table_totals(t).first, fn);
}

RocCurve roc_curve(const ScoreTableView& t, bool drop_intermediate) {
  check_table(t, "roc_curve");
  return roc_of_curve(curve_of_walk(table_walk(t)), drop_intermediate);
}

PrCurve precision_recall_curve(const ScoreTableView& t, bool drop_intermediate) {
  check_table(t, "precision_recall_curve");
  return pr_of_curve(curve_of_walk(table_walk(t)), drop_intermediate);
}

// ---- threshold metrics by score range --------------------------------------------------------

namespace {

// #{cuts <= s}: a branch-free binary search (the comparison feeds a conditional move), since which
// range a score falls in is as unpredictable as the score.  NaN falls in range 0.
std::size_t range_of(std::span<const double> cuts, double s) {
  if (cuts.empty()) return 0;
  const double* base = cuts.data();
  std::size_t len = cuts.size();
  while (len > 1) {
    const std::size_t half = len / 2;
    base = base[half] <= s ? base + half : base;
    len -= half;
  }
  return static_cast<std::size_t>(base - cuts.data()) + (*base <= s);
}

// Ranges of s[0, n) into ids: with few cuts, one comparison per cut and row (counted in doubles,
// so that comparison, mask and sum stay in the same lanes and the compiler vectorises them); with
// many, a binary search per row.
constexpr std::size_t kIdChunk = 2048;
void range_ids(std::span<const double> cuts, const double* __restrict s, std::size_t n,
               std::uint32_t* __restrict ids) {
  if (cuts.size() > 24) {
    for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::uint32_t>(range_of(cuts, s[i]));
    return;
  }
  double count[kIdChunk];
  for (std::size_t i = 0; i < n; ++i) count[i] = 0.0;
  for (const double c : cuts)
    for (std::size_t i = 0; i < n; ++i) count[i] += c <= s[i] ? 1.0 : 0.0;
  for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::uint32_t>(count[i]);
}

}  // namespace

ScoreRanges split_score_ranges(std::span<const std::uint8_t> y, std::span<const double> s,
                               std::span<const double> w, std::span<const double> cuts) {
  const char* fn = "split_score_ranges";
  check_inputs(fn, y, s, w);
  MLSD_REQUIRE(cuts.size() < (std::size_t{1} << 16), fn, "at most 65535 cuts; got ", cuts.size());
  for (std::size_t c = 0; c < cuts.size(); ++c)
    MLSD_REQUIRE(!std::isnan(cuts[c]) && (c == 0 || cuts[c - 1] <= cuts[c]), fn,
                 "cuts must be non-decreasing and not NaN; cut ", c, " is ", cuts[c]);
  const std::size_t n_ranges = cuts.size() + 1;
  const auto n = static_cast<std::int64_t>(y.size());
  const std::int64_t block = std::max<std::int64_t>(detail::kReduceChunk, 16 * static_cast<std::int64_t>(n_ranges));
  const std::int64_t n_blocks = (n + block - 1) / block;
  ScoreRanges out;
  out.y_true.resize(y.size());
  out.y_score.resize(y.size());
  out.sample_weight.resize(w.size());
  detail::advise_huge_pages(out.y_true.data(), out.y_true.size());
  detail::advise_huge_pages(out.y_score.data(), out.y_score.size() * sizeof(double));
  detail::advise_huge_pages(out.sample_weight.data(), out.sample_weight.size() * sizeof(double));
  // Per block and range: the row count, then (after the prefix sum) where the block's rows go.
  // Unweighted, class weights are counts: positives per block and range, negatives by difference.
  std::vector<std::int64_t> at(static_cast<std::size_t>(n_blocks) * n_ranges, 0), n_pos(at.size(), 0);
  std::vector<detail::KahanSum> pos(w.empty() ? 0 : at.size()), neg(pos.size());
  run_in_arena([&] {
    tbb::parallel_for(std::int64_t{0}, n_blocks, [&](std::int64_t b) {
      std::int64_t* __restrict count = at.data() + b * n_ranges;
      std::int64_t* __restrict positives = n_pos.data() + b * n_ranges;
      detail::KahanSum* p = w.empty() ? nullptr : pos.data() + b * n_ranges;
      detail::KahanSum* q = w.empty() ? nullptr : neg.data() + b * n_ranges;
      std::uint32_t ids[kIdChunk];
      for (auto lo = b * block, hi = std::min(n, (b + 1) * block); lo < hi; lo += kIdChunk) {
        const auto m = static_cast<std::size_t>(std::min<std::int64_t>(kIdChunk, hi - lo));
        range_ids(cuts, s.data() + lo, m, ids);
        if (w.empty()) {
          for (std::size_t i = 0; i < m; ++i) {
            ++count[ids[i]];
            positives[ids[i]] += y[lo + i];
          }
        } else {
          for (std::size_t i = 0; i < m; ++i) {
            ++count[ids[i]];
            (y[lo + i] ? p : q)[ids[i]].add(w[lo + i]);
          }
        }
      }
    });
    if (w.empty()) {  // before `at` turns into write positions
      out.positive.assign(n_ranges, 0.0);
      out.negative.assign(n_ranges, 0.0);
      for (std::size_t r = 0; r < n_ranges; ++r) {
        std::int64_t p = 0, c = 0;
        for (std::int64_t b = 0; b < n_blocks; ++b) p += n_pos[b * n_ranges + r], c += at[b * n_ranges + r];
        out.positive[r] = static_cast<double>(p);
        out.negative[r] = static_cast<double>(c - p);
      }
    }
    out.offsets.assign(n_ranges + 1, 0);
    std::int64_t next = 0;
    for (std::size_t r = 0; r < n_ranges; ++r) {
      out.offsets[r] = next;
      for (std::int64_t b = 0; b < n_blocks; ++b) {
        const std::int64_t count = at[b * n_ranges + r];
        at[b * n_ranges + r] = next;
        next += count;
      }
    }
    out.offsets[n_ranges] = next;
    tbb::parallel_for(std::int64_t{0}, n_blocks, [&](std::int64_t b) {
      // restrict: the byte stores to the labels could otherwise alias the positions, which the
      // compiler would then reload from memory after every row.
      std::int64_t* __restrict dst = at.data() + b * n_ranges;
      std::uint8_t* __restrict oy = out.y_true.data();
      double* __restrict os = out.y_score.data();
      double* __restrict ow = out.sample_weight.data();
      std::uint32_t ids[kIdChunk];
      for (auto lo = b * block, hi = std::min(n, (b + 1) * block); lo < hi; lo += kIdChunk) {
        const auto m = static_cast<std::size_t>(std::min<std::int64_t>(kIdChunk, hi - lo));
        range_ids(cuts, s.data() + lo, m, ids);
        for (std::size_t i = 0; i < m; ++i) {
          const std::int64_t o = dst[ids[i]]++;
          oy[o] = y[lo + i];
          os[o] = s[lo + i];
          if (!w.empty()) ow[o] = w[lo + i];
        }
      }
    });
  });
  if (w.empty()) return out;
  out.positive.assign(n_ranges, 0.0);
  out.negative.assign(n_ranges, 0.0);
  for (std::size_t r = 0; r < n_ranges; ++r) {
    detail::KahanSum p, q;
    for (std::int64_t b = 0; b < n_blocks; ++b) {
      p.add(pos[b * n_ranges + r]);
      q.add(neg[b * n_ranges + r]);
    }
    out.positive[r] = p.value();
    out.negative[r] = q.value();
  }
  return out;
}

namespace {

// Validates a block's pieces; returns whether they carry sample weights.
bool check_pieces(std::span<const RangePiece> pieces, const char* fn) {
  MLSD_REQUIRE(!pieces.empty(), fn, "at least one piece is required");
  const std::size_t n_offsets = pieces[0].offsets.size();
  bool weighted = false;
  for (const auto& p : pieces) weighted = weighted || !p.sample_weight.empty();
  for (const auto& p : pieces) {
    check_inputs(fn, p.y_true, p.y_score, p.sample_weight);
    MLSD_REQUIRE(!weighted || p.sample_weight.size() == p.y_true.size(), fn,
                 "every piece needs sample weights when one has them");
    MLSD_REQUIRE(p.offsets.size() == n_offsets && n_offsets >= 1 && p.offsets.front() == 0 &&
                     p.offsets.back() == static_cast<index_t>(p.y_true.size()) &&
                     std::is_sorted(p.offsets.begin(), p.offsets.end()),
                 fn, "each piece's offsets must run from 0 to its length, non-decreasing, as many in every piece");
  }
  return weighted;
}

// Range j of the pieces, as sort keys split by class (or keys with signed weights), written into
// `out`'s buffers (kept from the previous range) in piece order, in parallel over the pieces.
void gather_range(std::span<const RangePiece> pieces, std::size_t j, bool weighted, SortedByClass& out) {
  const std::size_t n = pieces.size();
  std::vector<std::int64_t> first_pos(n + 1, 0), first_neg(n + 1, 0);
  auto rows = [&](std::size_t k) { return std::pair{pieces[k].offsets[j], pieces[k].offsets[j + 1]}; };
  tbb::parallel_for(std::size_t{0}, n, [&](std::size_t k) {
    const auto [a, b] = rows(k);
    std::int64_t pos = 0, kept = 0;
    for (auto i = a; i < b; ++i) {
      pos += pieces[k].y_true[i];
      kept += !weighted || pieces[k].sample_weight[i] != 0.0;
    }
    first_pos[k + 1] = weighted ? kept : pos;
    first_neg[k + 1] = (b - a) - pos;
  });
  for (std::size_t k = 0; k < n; ++k) first_pos[k + 1] += first_pos[k], first_neg[k + 1] += first_neg[k];
  out.weighted = weighted;
  if (weighted) {
    out.keys.resize(static_cast<std::size_t>(first_pos[n]));
    out.signed_weight.resize(out.keys.size());
  } else {
    out.pos.resize(static_cast<std::size_t>(first_pos[n]));
    out.neg.resize(static_cast<std::size_t>(first_neg[n]));
  }
  tbb::parallel_for(std::size_t{0}, n, [&](std::size_t k) {
    const auto [a, b] = rows(k);
    const auto& pc = pieces[k];
    std::int64_t p = first_pos[k], q = first_neg[k];
    for (auto i = a; i < b; ++i) {
      const std::uint64_t key = detail::double_key(pc.y_score[i]);
      if (weighted) {
        if (pc.sample_weight[i] == 0.0) continue;
        out.keys[p] = key;
        out.signed_weight[p++] = pc.y_true[i] ? pc.sample_weight[i] : -pc.sample_weight[i];
      } else if (pc.y_true[i]) {
        out.pos[p++] = key;
      } else {
        out.neg[q++] = key;
      }
    }
  });
}

// Sorts each range of the pieces in turn with one set of buffers and calls visit(j, sorted).
template <class Visit>
void for_each_sorted_range(std::span<const RangePiece> pieces, bool weighted, Visit&& visit) {
  SortedByClass sorted;
  buffer<std::uint64_t> key_scratch;
  buffer<double> weight_scratch;
  for (std::size_t j = 0; j + 1 < pieces[0].offsets.size(); ++j) {
    gather_range(pieces, j, weighted, sorted);
    if (weighted) {
      detail::radix_sort(sorted.keys, &sorted.signed_weight, &key_scratch, &weight_scratch);
    } else {
      std::vector<detail::NoPayload>* no_payload = nullptr;
      detail::radix_sort(sorted.pos, no_payload, &key_scratch);
      detail::radix_sort(sorted.neg, no_payload, &key_scratch);
    }
    visit(j, sorted);
  }
}

}  // namespace

std::vector<ThresholdRangeSums> threshold_range_sums(std::span<const RangePiece> pieces,
                                                     std::span<const double> positive_above,
                                                     std::span<const double> negative_above, double total_positive,
                                                     double total_negative, double max_fpr) {
  const char* fn = "threshold_range_sums";
  const bool weighted = check_pieces(pieces, fn);
  const std::size_t n_ranges = pieces[0].offsets.size() - 1;
  MLSD_REQUIRE(max_fpr > 0.0 && max_fpr <= 1.0, fn, "max_fpr must be in (0, 1]; got ", max_fpr);
  MLSD_REQUIRE(positive_above.size() == n_ranges && negative_above.size() == n_ranges, fn,
               "one class weight above each range is required; got ", positive_above.size(), " and ",
               negative_above.size(), " for ", n_ranges, " ranges");
  auto valid = [](double v) { return std::isfinite(v) && v >= 0.0; };
  MLSD_REQUIRE(valid(total_positive) && valid(total_negative) && std::all_of(positive_above.begin(), positive_above.end(), valid) &&
                   std::all_of(negative_above.begin(), negative_above.end(), valid),
               fn, "class weights must be finite and >= 0");
  std::vector<ThresholdRangeSums> out(n_ranges);
  run_in_arena([&] {
    for_each_sorted_range(pieces, weighted, [&](std::size_t j, const SortedByClass& sorted) {
      auto walk = [&](auto&& visit) { detail::walk_distinct_scores(sorted, visit); };
      if (total_positive > 0 && total_negative > 0)
        out[j].roc_area = roc_area_of(walk, positive_above[j], negative_above[j], total_positive, total_negative, max_fpr);
      if (total_positive > 0)
        out[j].average_precision = average_precision_sum(walk, positive_above[j], negative_above[j], total_positive);
    });
  });
  return out;
}

std::vector<ScoreTable> range_score_tables(std::span<const RangePiece> pieces) {
  const bool weighted = check_pieces(pieces, "range_score_tables");
  std::vector<ScoreTable> out(pieces[0].offsets.size() - 1);
  run_in_arena([&] {
    for_each_sorted_range(pieces, weighted, [&](std::size_t j, const SortedByClass& sorted) {
      out[j] = table_of_sorted(sorted);
    });
  });
  return out;
}

LossSums log_loss_sums(std::span<const std::uint8_t> y, std::span<const double> p, std::span<const double> w,
                       double eps) {
  const char* fn = "log_loss";
  check_inputs(fn, y, p, w, "y_prob");
  detail::check_in_range(p, 0.0, 1.0, fn, "y_prob");
  return run_in_arena([&] {
    return detail::loss_sums_impl<LossSums>(y, p, w, [eps](std::uint8_t yi, double pi) {
      const double q = std::clamp(yi ? pi : 1.0 - pi, eps, 1.0 - eps);
      return -std::log(q);
    });
  });
}

LossSums brier_sums(std::span<const std::uint8_t> y, std::span<const double> p, std::span<const double> w) {
  const char* fn = "brier_score_loss";
  check_inputs(fn, y, p, w, "y_prob");
  detail::check_in_range(p, 0.0, 1.0, fn, "y_prob");
  return run_in_arena([&] {
    return detail::loss_sums_impl<LossSums>(y, p, w, [](std::uint8_t yi, double pi) {
      const double d = static_cast<double>(yi) - pi;
      return d * d;
    });
  });
}

BinnedStats calibration_bins(std::span<const std::uint8_t> y, std::span<const double> p, std::span<const double> w,
                             std::span<const double> edges) {
  const char* fn = "calibration_curve";
  check_inputs(fn, y, p, w, "y_prob");
  detail::check_in_range(p, 0.0, 1.0, fn, "y_prob");
  MLSD_REQUIRE(std::is_sorted(edges.begin(), edges.end()), fn, "bin edges must be non-decreasing");
  const std::size_t n_bins = edges.size() + 1;
  struct Acc {
    std::vector<detail::KahanSum> weight, prob, truth;
  };
  // Chunks hold one histogram each: make them large enough that histograms stay a small overhead.
  const std::int64_t chunk = std::max<std::int64_t>(detail::kReduceChunk, 8 * static_cast<std::int64_t>(n_bins));
  Acc acc = run_in_arena([&] {
    return detail::ordered_reduce(
        static_cast<std::int64_t>(y.size()), Acc{},
        [&](std::int64_t b, std::int64_t e) {
          Acc a{std::vector<detail::KahanSum>(n_bins), std::vector<detail::KahanSum>(n_bins),
                std::vector<detail::KahanSum>(n_bins)};
          for (std::int64_t i = b; i < e; ++i) {
            const auto bin = static_cast<std::size_t>(std::lower_bound(edges.begin(), edges.end(), p[i]) - edges.begin());
            const double wi = w.empty() ? 1.0 : w[i];
            a.weight[bin].add(wi);
            a.prob[bin].add(wi * p[i]);
            a.truth[bin].add(wi * y[i]);
          }
          return a;
        },
        [n_bins](Acc a, const Acc& b) {
          if (a.weight.empty()) return b;
          for (std::size_t k = 0; k < n_bins; ++k) {
            a.weight[k].add(b.weight[k]);
            a.prob[k].add(b.prob[k]);
            a.truth[k].add(b.truth[k]);
          }
          return a;
        },
        chunk);
  });
  BinnedStats out;
  out.weight.assign(n_bins, 0.0);
  out.sum_prob.assign(n_bins, 0.0);
  out.sum_true.assign(n_bins, 0.0);
  if (!acc.weight.empty()) {
    for (std::size_t k = 0; k < n_bins; ++k) {
      out.weight[k] = acc.weight[k].value();
      out.sum_prob[k] = acc.prob[k].value();
      out.sum_true[k] = acc.truth[k].value();
    }
  }
  return out;
}

}  // namespace mlsd::metrics
