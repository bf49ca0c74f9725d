// Score tables: the exact (or binned) mergeable summary of binary scores, their merge, and the
// threshold metrics and curves of a table.
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

namespace {


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
               "score, positive and negative must have one length; got ", t.score.size(), ", ",
               t.positive.size(), " and ", t.negative.size());
  for (std::size_t i = 0; i < t.score.size(); ++i) {
    MLSD_REQUIRE(std::isfinite(t.score[i]) && (i == 0 || t.score[i] < t.score[i - 1]), fn,
                 "score must be finite and strictly decreasing; score[", i, "] is ", t.score[i]);
    MLSD_REQUIRE(std::isfinite(t.positive[i]) && std::isfinite(t.negative[i]) && t.positive[i] >= 0 &&
                     t.negative[i] >= 0 && t.positive[i] + t.negative[i] > 0,
                 fn, "positive and negative must be finite, >= 0 and not both 0 in a row; row ", i, " holds ",
                 t.positive[i], " and ", t.negative[i]);
  }
}

}  // namespace

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
}  // namespace mlsd::metrics
