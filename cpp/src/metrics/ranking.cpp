#include <algorithm>
#include <cmath>
#include <limits>

#include "mlsd/common/checks.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/metrics.hpp"

namespace mlsd::metrics {
namespace {

constexpr const char* kFn = "ranking_metric";

// Positions [0, kk) of the top documents of one query, best first: score descending; among ties
// the earlier position first, or with `later_first` the later one (scikit-learn's (N)DCG with
// ignore_ties=True ranks by np.argsort(score)[::-1], which puts the last of equal scores first).
// `top` holds offsets into the query's slice.
void select_top(std::span<const double> score, std::size_t kk, bool later_first, std::vector<std::size_t>& top) {
  const std::size_t m = score.size();
  top.clear();
  if (kk * 8 >= m || kk > 64) {  // large cut-off: a partial sort is cheaper than insertion
    top.resize(m);
    for (std::size_t j = 0; j < m; ++j) top[j] = j;
    auto ranks_before = [&](std::size_t a, std::size_t b) {
      return score[a] > score[b] || (score[a] == score[b] && (later_first ? a > b : a < b));
    };
    std::partial_sort(top.begin(), top.begin() + static_cast<std::ptrdiff_t>(kk), top.end(), ranks_before);
    top.resize(kk);
    return;
  }
  // Small cut-off: keep a sorted buffer.  Documents come in list order, so a later document
  // displaces a strictly better one, or (later_first) an equal one too.
  for (std::size_t j = 0; j < m; ++j) {
    const double v = score[j];
    if (top.size() == kk) {
      const double worst = score[top.back()];
      if (!(v > worst || (later_first && v == worst))) continue;
      top.pop_back();
    }
    std::size_t p = top.size();
    while (p > 0 && (score[top[p - 1]] < v || (later_first && score[top[p - 1]] == v))) --p;
    top.insert(top.begin() + static_cast<std::ptrdiff_t>(p), j);
  }
}

struct QueryContext {
  std::vector<std::size_t> top;
  std::vector<double> gains;
};

double gain_of(double rel, Gain g) { return g == Gain::linear ? rel : std::exp2(rel) - 1.0; }

// DCG@kk of one query; ties in score share their average gain when !ignore_ties (sklearn).
double dcg(std::span<const double> rel, std::span<const double> score, const std::vector<std::size_t>& top,
           const std::vector<double>& discount, const RankingOptions& o) {
  const std::size_t kk = top.size();
  double total = 0.0;
  if (o.ignore_ties) {
    for (std::size_t p = 0; p < kk; ++p) total += gain_of(rel[top[p]], o.gain) * discount[p];
    return total;
  }
  std::size_t a = 0;
  while (a < kk) {
    const double t = score[top[a]];
    std::size_t b = a;
    double disc = 0.0, gain_sum = 0.0;
    for (; b < kk && score[top[b]] == t; ++b) {
      disc += discount[b];
      gain_sum += gain_of(rel[top[b]], o.gain);
    }
    double count = static_cast<double>(b - a);
    if (b == kk && kk < score.size()) {
      // The tie group at the cut-off may extend past it: average over the whole group.
      gain_sum = 0.0;
      count = 0.0;
      for (std::size_t j = 0; j < score.size(); ++j)
        if (score[j] == t) {
          gain_sum += gain_of(rel[j], o.gain);
          count += 1.0;
        }
    }
    total += gain_sum / count * disc;
    a = b;
  }
  return total;
}

double ideal_dcg(std::span<const double> rel, std::size_t kk, const std::vector<double>& discount, Gain g,
                 std::vector<double>& gains) {
  gains.resize(rel.size());
  for (std::size_t j = 0; j < rel.size(); ++j) gains[j] = gain_of(rel[j], g);
  std::partial_sort(gains.begin(), gains.begin() + static_cast<std::ptrdiff_t>(kk), gains.end(), std::greater<>());
  double total = 0.0;
  for (std::size_t p = 0; p < kk; ++p) total += gains[p] * discount[p];
  return total;
}

double query_metric(RankingMetric metric, std::span<const double> rel, std::span<const double> score,
                    const std::vector<double>& discount, const RankingOptions& o, QueryContext& ctx,
                    std::int64_t query) {
  const std::size_t m = rel.size();
  const std::size_t kk = std::min<std::size_t>(static_cast<std::size_t>(o.k), m);
  std::size_t n_relevant = 0;
  for (double r : rel) n_relevant += r > 0.0;

  auto empty_value = [&]() -> double {
    switch (o.empty) {
      case EmptyAction::zero: return 0.0;
      case EmptyAction::one: return 1.0;
      case EmptyAction::skip: return std::numeric_limits<double>::quiet_NaN();
      case EmptyAction::error: break;
    }
    detail::throw_invalid(kFn, "query ", query, " has no relevant document (empty_target_action='error')");
  };
  if (metric != RankingMetric::dcg && n_relevant == 0) return empty_value();
  if (metric == RankingMetric::reciprocal_rank) {
    // Only the best-ranked relevant document matters: one scan finds it, a second gives its rank
    // (documents with a higher score, or the same score earlier in the list, rank before it).
    std::size_t best = m;
    for (std::size_t j = 0; j < m; ++j)
      if (rel[j] > 0.0 && (best == m || score[j] > score[best])) best = j;
    std::size_t rank = 1;
    for (std::size_t j = 0; j < m; ++j) rank += score[j] > score[best] || (score[j] == score[best] && j < best);
    return rank <= kk ? 1.0 / static_cast<double>(rank) : 0.0;
  }
  const bool dcg_like = metric == RankingMetric::dcg || metric == RankingMetric::ndcg;
  select_top(score, kk, dcg_like && o.ignore_ties, ctx.top);
  const auto& top = ctx.top;

  switch (metric) {
    case RankingMetric::dcg: return dcg(rel, score, top, discount, o);
    case RankingMetric::ndcg: {
      // With exponential gain a tiny relevance has 2^rel - 1 == 0: no gain to normalise by.
      const double ideal = ideal_dcg(rel, kk, discount, o.gain, ctx.gains);
      return ideal > 0.0 ? dcg(rel, score, top, discount, o) / ideal : empty_value();
    }
    default: break;
  }
  std::size_t hits = 0;
  double precision_sum = 0.0;
  for (std::size_t p = 0; p < kk; ++p) {
    if (rel[top[p]] > 0.0) {
      ++hits;
      precision_sum += static_cast<double>(hits) / static_cast<double>(p + 1);
    }
  }
  switch (metric) {
    case RankingMetric::precision: return static_cast<double>(hits) / static_cast<double>(o.k);
    case RankingMetric::recall: return static_cast<double>(hits) / static_cast<double>(n_relevant);
    case RankingMetric::hit_rate: return hits > 0 ? 1.0 : 0.0;
    case RankingMetric::average_precision: return precision_sum / static_cast<double>(n_relevant);
    default: return std::numeric_limits<double>::quiet_NaN();  // unreachable
  }
}

}  // namespace

void ranking_metric(RankingMetric metric, CsrView q, std::span<const double> rel, std::span<const double> score,
                    const RankingOptions& o, std::span<double> out) {
  const auto& ip = q.indptr;
  MLSD_REQUIRE(!ip.empty(), kFn, "indptr must have at least one element");
  MLSD_REQUIRE(ip.front() == 0, kFn, "indptr must start at 0; got ", ip.front());
  MLSD_REQUIRE(static_cast<std::size_t>(ip.back()) == rel.size() && ip.back() >= 0, kFn, "indptr ends at ", ip.back(),
               " but y_true has ", rel.size(), " elements");
  MLSD_REQUIRE(score.size() == rel.size(), kFn, "y_score has ", score.size(), " elements but y_true has ", rel.size());
  MLSD_REQUIRE(out.size() == static_cast<std::size_t>(q.n_groups()), kFn, "output has ", out.size(),
               " elements, expected ", q.n_groups());
  MLSD_REQUIRE(o.k >= 1, kFn, "k must be >= 1; got ", o.k);
  std::int64_t longest = 0;
  for (std::size_t i = 1; i < ip.size(); ++i) {
    MLSD_REQUIRE(ip[i] >= ip[i - 1], kFn, "indptr must be non-decreasing; indptr[", i, "] = ", ip[i], " < indptr[",
                 i - 1, "] = ", ip[i - 1]);
    longest = std::max(longest, ip[i] - ip[i - 1]);
  }
  detail::check_nonnegative(rel, kFn, "y_true (relevance)");
  if (o.gain == Gain::exponential)  // 2^rel overflows double above 1023
    detail::check_in_range(rel, 0.0, 1023.0, kFn, "y_true (relevance, with exponential gain)");
  detail::check_finite(score, kFn, "y_score");

  // Discount 1 / log2(rank + 1), written as sklearn writes it so that the digits agree.
  std::vector<double> discount(static_cast<std::size_t>(std::min<std::int64_t>(o.k, longest)));
  for (std::size_t p = 0; p < discount.size(); ++p)
    discount[p] = 1.0 / (std::log(static_cast<double>(p) + 2.0) / std::log(2.0));

  run_in_arena([&] {
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, q.n_groups(), 256),
                      [&](const tbb::blocked_range<std::int64_t>& r) {
                        QueryContext ctx;
                        for (auto i = r.begin(); i != r.end(); ++i) {
                          const auto b = static_cast<std::size_t>(ip[i]);
                          const auto len = static_cast<std::size_t>(ip[i + 1] - ip[i]);
                          out[i] = query_metric(metric, rel.subspan(b, len), score.subspan(b, len), discount, o, ctx, i);
                        }
                      });
  });
}

}  // namespace mlsd::metrics
