#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "mlsd/common/parallel.hpp"
#include "mlsd/metrics.hpp"

namespace mm = mlsd::metrics;
using u8v = std::vector<std::uint8_t>;
using dv = std::vector<double>;

namespace {

const dv kNoWeight;

// O(n^2) definition: P(s+ > s-) + P(s+ == s-)/2 with weights.
double brute_auc(const u8v& y, const dv& s, const dv& w) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < y.size(); ++i)
    for (std::size_t j = 0; j < y.size(); ++j) {
      if (!(y[i] == 1 && y[j] == 0)) continue;
      const double ww = (w.empty() ? 1.0 : w[i] * w[j]);
      den += ww;
      num += ww * (s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0));
    }
  return num / den;
}

struct Data {
  u8v y;
  dv s, w;
};
Data random_data(std::size_t n, unsigned seed, int distinct_scores) {
  std::mt19937 rng(seed);
  Data d;
  for (std::size_t i = 0; i < n; ++i) {
    d.y.push_back(rng() % 3 == 0);
    d.s.push_back(static_cast<double>(rng() % distinct_scores) / distinct_scores - 0.3);
    d.w.push_back(static_cast<double>(rng() % 4));  // zeros included
  }
  return d;
}

TEST(RocAuc, HandExamples) {
  // Positives at 0.35 and 0.8, negatives at 0.1 and 0.4: 3 of 4 pairs ordered.
  EXPECT_DOUBLE_EQ(mm::roc_auc(u8v{0, 0, 1, 1}, dv{0.1, 0.4, 0.35, 0.8}, kNoWeight), 0.75);
  EXPECT_DOUBLE_EQ(mm::roc_auc(u8v{0, 1, 0, 1}, dv{0.5, 0.5, 0.5, 0.5}, kNoWeight), 0.5);  // all tied
  EXPECT_DOUBLE_EQ(mm::roc_auc(u8v{0, 1}, dv{-0.0, 0.0}, kNoWeight), 0.5);  // -0 ties +0
  EXPECT_DOUBLE_EQ(mm::roc_auc(u8v{1, 0, 1}, dv{3, 2, 2}, kNoWeight), 0.75);
}

TEST(RocAuc, MatchesPairCountingWithTiesAndWeights) {
  for (unsigned seed = 0; seed < 20; ++seed) {
    const auto d = random_data(300 + seed * 37, seed, 1 + seed * 3);
    EXPECT_NEAR(mm::roc_auc(d.y, d.s, kNoWeight), brute_auc(d.y, d.s, {}), 1e-12) << seed;
    EXPECT_NEAR(mm::roc_auc(d.y, d.s, d.w), brute_auc(d.y, d.s, d.w), 1e-12) << seed;
  }
}

TEST(RocAuc, RadixPathOnLargeInputAndThreadIndependence) {
  const auto d = random_data(200000, 7, 1000);
  mlsd::set_num_threads(1);
  const double one = mm::roc_auc(d.y, d.s, d.w);
  mlsd::set_num_threads(2);
  EXPECT_EQ(mm::roc_auc(d.y, d.s, d.w), one);
  mlsd::set_num_threads(0);
  // Sub-sample for the O(n^2) reference: the kernel on a prefix vs brute force on it.
  const std::size_t m = 3000;
  u8v y(d.y.begin(), d.y.begin() + m);
  dv s(d.s.begin(), d.s.begin() + m), w(d.w.begin(), d.w.begin() + m);
  EXPECT_NEAR(mm::roc_auc(y, s, w), brute_auc(y, s, w), 1e-12);
}

TEST(RocAuc, PartialAucOfPerfectRankingIsOne) {
  EXPECT_DOUBLE_EQ(mm::roc_auc(u8v{0, 0, 1, 1}, dv{0.1, 0.2, 0.8, 0.9}, kNoWeight, 0.5), 1.0);
  // A max_fpr of 1 is the full AUC.
  EXPECT_DOUBLE_EQ(mm::roc_auc(u8v{0, 0, 1, 1}, dv{0.1, 0.4, 0.35, 0.8}, kNoWeight, 1.0), 0.75);
}

TEST(RocAuc, Errors) {
  EXPECT_THROW(mm::roc_auc(u8v{1, 1}, dv{0.1, 0.2}, kNoWeight), std::invalid_argument);          // one class
  EXPECT_THROW(mm::roc_auc(u8v{0, 1}, dv{0.1}, kNoWeight), std::invalid_argument);               // length
  EXPECT_THROW(mm::roc_auc(u8v{0, 2}, dv{0.1, 0.2}, kNoWeight), std::invalid_argument);          // label
  EXPECT_THROW(mm::roc_auc(u8v{0, 1}, dv{0.1, NAN}, kNoWeight), std::invalid_argument);          // NaN
  EXPECT_THROW(mm::roc_auc(u8v{0, 1}, dv{0.1, 0.2}, dv{1.0, -1.0}), std::invalid_argument);      // weight
  EXPECT_THROW(mm::roc_auc(u8v{0, 1}, dv{0.1, 0.2}, dv{0.0, 1.0}), std::invalid_argument);       // class gone
  EXPECT_THROW(mm::roc_auc(u8v{0, 1}, dv{0.1, 0.2}, kNoWeight, 0.0), std::invalid_argument);     // max_fpr
}

TEST(Curves, RocCurveHandExample) {
  const auto r = mm::roc_curve(u8v{0, 0, 1, 1}, dv{0.1, 0.4, 0.35, 0.8}, kNoWeight, false);
  EXPECT_EQ(r.thresholds, (dv{INFINITY, 0.8, 0.4, 0.35, 0.1}));
  EXPECT_EQ(r.fpr, (dv{0, 0, 0.5, 0.5, 1}));
  EXPECT_EQ(r.tpr, (dv{0, 0.5, 0.5, 1, 1}));
}

TEST(Curves, ThresholdCurveCountsWeightsAtEachDistinctScore) {
  // Scores 0.8(+,w2) 0.4(-,w1) 0.4(+,w3) 0.1(-,w0: dropped): tps 2, 5; fps 0, 1.
  const auto c = mm::threshold_curve(u8v{1, 0, 1, 0}, dv{0.8, 0.4, 0.4, 0.1}, dv{2, 1, 3, 0});
  EXPECT_EQ(c.thresholds, (dv{0.8, 0.4}));
  EXPECT_EQ(c.tps, (dv{2, 5}));
  EXPECT_EQ(c.fps, (dv{0, 1}));
  EXPECT_THROW(mm::threshold_curve(u8v{1, 0}, dv{0.8}, kNoWeight), std::invalid_argument);
}

TEST(Curves, PrCurveAndAveragePrecision) {
  // Ranked: 0.8(+) 0.4(-) 0.35(+) 0.1(-): precision 1, 1/2, 2/3, 1/2 at recall .5, .5, 1, 1.
  const auto r = mm::precision_recall_curve(u8v{0, 0, 1, 1}, dv{0.1, 0.4, 0.35, 0.8}, kNoWeight, false);
  EXPECT_EQ(r.thresholds, (dv{0.1, 0.35, 0.4, 0.8}));
  EXPECT_EQ(r.recall, (dv{1, 1, 0.5, 0.5, 0}));
  EXPECT_EQ(r.precision, (dv{0.5, 2.0 / 3.0, 0.5, 1, 1}));
  EXPECT_NEAR(mm::average_precision(u8v{0, 0, 1, 1}, dv{0.1, 0.4, 0.35, 0.8}, kNoWeight), 0.5 * 1 + 0.5 * 2.0 / 3, 1e-15);
  EXPECT_THROW(mm::average_precision(u8v{0, 0}, dv{0.1, 0.4}, kNoWeight), std::invalid_argument);
}

TEST(Losses, LogLossAndBrier) {
  const u8v y{1, 0, 1};
  const dv p{0.9, 0.2, 1.0};
  const double eps = std::numeric_limits<double>::epsilon();
  const auto l = mm::log_loss_sums(y, p, kNoWeight, eps);
  EXPECT_NEAR(l.loss, -std::log(0.9) - std::log(0.8) - std::log(1 - eps), 1e-15);
  EXPECT_EQ(l.weight, 3.0);
  EXPECT_EQ(l.positive, 2.0);
  const auto b = mm::brier_sums(y, p, dv{1, 2, 3});
  EXPECT_NEAR(b.loss, 0.01 + 2 * 0.04 + 0.0, 1e-15);
  EXPECT_THROW(mm::log_loss_sums(y, dv{0.5, 1.5, 0.1}, kNoWeight, eps), std::invalid_argument);
}

TEST(Calibration, ValueOnEdgeFallsInLowerBin) {
  const auto r = mm::calibration_bins(u8v{0, 1, 1, 0}, dv{0.0, 0.5, 0.7, 1.0}, kNoWeight, dv{0.5});
  EXPECT_EQ(r.weight, (dv{2, 2}));
  EXPECT_EQ(r.sum_true, (dv{1, 1}));
  EXPECT_DOUBLE_EQ(r.sum_prob[1], 1.7);
}

TEST(GroupAuc, EqualsPerGroupAucAndSkipsSingleClass) {
  const auto d = random_data(5000, 3, 20);
  std::mt19937 rng(5);
  std::vector<std::int64_t> g(d.y.size());
  for (auto& v : g) v = static_cast<std::int64_t>(rng() % 40) - 20;  // negative keys too
  g[0] = 1000;  // a singleton group: one class
  const auto r = mm::group_auc(g, d.y, d.s, d.w);
  ASSERT_EQ(r.group_keys.size(), 41u);
  for (std::size_t k = 0; k < r.group_keys.size(); ++k) {
    u8v y;
    dv s, w;
    for (std::size_t i = 0; i < g.size(); ++i)
      if (g[i] == r.group_keys[k]) {
        y.push_back(d.y[i]);
        s.push_back(d.s[i]);
        w.push_back(d.w[i]);
      }
    if (r.group_keys[k] == 1000) {
      EXPECT_TRUE(std::isnan(r.auc[k]));
      continue;
    }
    EXPECT_NEAR(r.auc[k], brute_auc(y, s, w), 1e-12);
    double total = 0;
    for (double x : w) total += x;
    EXPECT_DOUBLE_EQ(r.weight[k], total);
  }
  EXPECT_TRUE(std::is_sorted(r.group_keys.begin(), r.group_keys.end()));
}

// Ranking: one query, relevance [3, 2, 0, 1], scores [0.9, 0.1, 0.8, 0.3].
// Order by score: doc0 (3), doc2 (0), doc3 (1), doc1 (2).
dv run_metric(mm::RankingMetric m, const dv& rel, const dv& score, mm::RankingOptions o) {
  const std::vector<mlsd::index_t> ip{0, static_cast<mlsd::index_t>(rel.size())};
  dv out(1);
  mm::ranking_metric(m, mlsd::CsrView{ip}, rel, score, o, out);
  return out;
}

TEST(Ranking, HandComputedValues) {
  const dv rel{3, 2, 0, 1}, sc{0.9, 0.1, 0.8, 0.3};
  mm::RankingOptions o;
  o.k = 3;
  const double d1 = 1.0, d2 = 1.0 / std::log2(3.0), d3 = 0.5;
  EXPECT_NEAR(run_metric(mm::RankingMetric::dcg, rel, sc, o)[0], 3 * d1 + 0 * d2 + 1 * d3, 1e-15);
  EXPECT_NEAR(run_metric(mm::RankingMetric::ndcg, rel, sc, o)[0], (3 + 0.5) / (3 + 2 * d2 + 1 * d3), 1e-15);
  EXPECT_NEAR(run_metric(mm::RankingMetric::precision, rel, sc, o)[0], 2.0 / 3, 1e-15);
  EXPECT_NEAR(run_metric(mm::RankingMetric::recall, rel, sc, o)[0], 2.0 / 3, 1e-15);
  EXPECT_NEAR(run_metric(mm::RankingMetric::average_precision, rel, sc, o)[0], (1.0 + 2.0 / 3) / 3, 1e-15);
  EXPECT_EQ(run_metric(mm::RankingMetric::reciprocal_rank, dv{0, 0, 1}, dv{3, 2, 1}, o)[0], 1.0 / 3);
  EXPECT_EQ(run_metric(mm::RankingMetric::hit_rate, dv{0, 0, 1}, dv{3, 2, 1}, {2})[0], 0.0);
  o.gain = mm::Gain::exponential;
  EXPECT_NEAR(run_metric(mm::RankingMetric::dcg, rel, sc, o)[0], 7 * d1 + 0 * d2 + 1 * d3, 1e-15);
}

TEST(Ranking, TiesShareAverageGainAcrossTheCutoff) {
  // Scores [1, 1, 1, 0]: the three tied docs have gains 3, 0, 0 (mean 1); k = 2 covers two
  // positions of the group, so DCG = 1 * (d1 + d2).
  mm::RankingOptions o;
  o.k = 2;
  const double d2 = 1.0 / std::log2(3.0);
  EXPECT_NEAR(run_metric(mm::RankingMetric::dcg, dv{3, 0, 0, 5}, dv{1, 1, 1, 0}, o)[0], 1 + d2, 1e-15);
  // ignore_ties: scikit-learn's order, the later of two tied docs first (doc2, doc1, doc0), on both
  // the insertion path (small k) and the partial-sort path (k covering the list)
  o.ignore_ties = true;
  EXPECT_NEAR(run_metric(mm::RankingMetric::dcg, dv{3, 0, 0, 5}, dv{1, 1, 1, 0}, o)[0], 0.0, 1e-15);
  EXPECT_NEAR(run_metric(mm::RankingMetric::dcg, dv{0, 0, 3, 5}, dv{1, 1, 1, 0}, o)[0], 3.0, 1e-15);
  o.k = 4;
  EXPECT_NEAR(run_metric(mm::RankingMetric::dcg, dv{3, 0, 0, 5}, dv{1, 1, 1, 0}, o)[0],
              3.0 / std::log2(4.0) + 5.0 / std::log2(5.0), 1e-15);
  // the other metrics keep the earlier doc first: precision@1 sees doc0
  o.k = 1;
  EXPECT_EQ(run_metric(mm::RankingMetric::precision, dv{3, 0, 0, 5}, dv{1, 1, 1, 0}, o)[0], 1.0);
}

TEST(Ranking, EmptyQueriesFollowTheAction) {
  mm::RankingOptions o;
  const dv rel{0, 0}, sc{1, 2};
  EXPECT_EQ(run_metric(mm::RankingMetric::ndcg, rel, sc, o)[0], 0.0);
  o.empty = mm::EmptyAction::one;
  EXPECT_EQ(run_metric(mm::RankingMetric::recall, rel, sc, o)[0], 1.0);
  o.empty = mm::EmptyAction::skip;
  EXPECT_TRUE(std::isnan(run_metric(mm::RankingMetric::average_precision, rel, sc, o)[0]));
  o.empty = mm::EmptyAction::error;
  EXPECT_THROW(run_metric(mm::RankingMetric::ndcg, rel, sc, o), std::invalid_argument);
}

TEST(Ranking, BadCsrIsRejected) {
  const dv rel{1, 0, 1}, sc{0.1, 0.2, 0.3};
  dv out(2);
  const mm::RankingOptions o;
  auto call = [&](std::vector<mlsd::index_t> ip) {
    out.resize(ip.size() - 1);
    mm::ranking_metric(mm::RankingMetric::ndcg, mlsd::CsrView{ip}, rel, sc, o, out);
  };
  EXPECT_THROW(call({0, 2, 1, 3}), std::invalid_argument);  // decreasing
  EXPECT_THROW(call({1, 3}), std::invalid_argument);        // not starting at 0
  EXPECT_THROW(call({0, 2}), std::invalid_argument);        // not covering the data
  EXPECT_NO_THROW(call({0, 0, 3}));                         // an empty query is fine
}

}  // namespace

// ---- score tables ------------------------------------------------------------------------------

namespace {

mm::ScoreTableView view_of(const mm::ScoreTable& t) { return {t.score, t.positive, t.negative}; }

// Labels correlated with scores; scores continuous (distinct == 0) or among `distinct` values; no weights.
Data table_data(std::size_t n, unsigned seed, int distinct) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  Data d;
  for (std::size_t i = 0; i < n; ++i) {
    const bool positive = rng() % 3 == 0;
    double s = normal(rng) + (positive ? 1.0 : 0.0);
    if (distinct > 0) s = std::round(s * distinct / 4.0);
    d.y.push_back(positive);
    d.s.push_back(s);
  }
  return d;
}

// Tables of consecutive slices of d (cut at the given row positions), merged.
mm::ScoreTable merged_slices(const Data& d, const std::vector<std::size_t>& cuts) {
  std::vector<mm::ScoreTable> parts;
  std::size_t begin = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t end = i < cuts.size() ? cuts[i] : d.y.size();
    const std::span<const double> w = d.w.empty() ? std::span<const double>{} : std::span<const double>(d.w).subspan(begin, end - begin);
    parts.push_back(mm::score_table(std::span<const std::uint8_t>(d.y).subspan(begin, end - begin),
                                    std::span<const double>(d.s).subspan(begin, end - begin), w));
    begin = end;
  }
  std::vector<mm::ScoreTableView> views;
  for (const auto& p : parts) views.push_back(view_of(p));
  return mm::merge_score_tables(views);
}

}  // namespace

TEST(ScoreTable, MergedSlicesEqualTheWholeTableAndItsMetrics) {
  for (unsigned seed = 0; seed < 6; ++seed) {
    Data d = table_data(2000, seed, seed % 2 ? 50 : 0);
    const mm::ScoreTable whole = mm::score_table(d.y, d.s, kNoWeight);
    const mm::ScoreTable merged = merged_slices(d, {0, 1, 700, 700, 1999});  // empty and one-row slices
    EXPECT_EQ(merged.score, whole.score);
    EXPECT_EQ(merged.positive, whole.positive);
    EXPECT_EQ(merged.negative, whole.negative);
    // Unweighted weights are integer counts, so the table's metrics are bit-identical to the raw ones.
    EXPECT_EQ(mm::roc_auc(view_of(merged)), mm::roc_auc(d.y, d.s, kNoWeight));
    EXPECT_EQ(mm::roc_auc(view_of(merged), 0.3), mm::roc_auc(d.y, d.s, kNoWeight, 0.3));
    EXPECT_EQ(mm::average_precision(view_of(merged)), mm::average_precision(d.y, d.s, kNoWeight));
    EXPECT_NEAR(mm::roc_auc(view_of(merged)), brute_auc(d.y, d.s, kNoWeight), 1e-12);
    const auto roc = mm::roc_curve(view_of(merged), true);
    const auto ref = mm::roc_curve(d.y, d.s, kNoWeight, true);
    EXPECT_EQ(roc.fpr, ref.fpr);
    EXPECT_EQ(roc.tpr, ref.tpr);
    EXPECT_EQ(roc.thresholds, ref.thresholds);
    const auto pr = mm::precision_recall_curve(view_of(merged), false);
    const auto pref = mm::precision_recall_curve(d.y, d.s, kNoWeight, false);
    EXPECT_EQ(pr.precision, pref.precision);
    EXPECT_EQ(pr.recall, pref.recall);
  }
}

TEST(ScoreTable, WeightedMergeMatchesToRounding) {
  Data d = table_data(3000, 11, 40);
  std::mt19937 rng(3);
  d.w.resize(d.y.size());
  for (auto& x : d.w) x = std::uniform_real_distribution<double>(0.0, 3.0)(rng);
  const mm::ScoreTable merged = merged_slices(d, {10, 1500, 2999});
  EXPECT_NEAR(mm::roc_auc(view_of(merged)), mm::roc_auc(d.y, d.s, d.w), 1e-13);
  EXPECT_NEAR(mm::average_precision(view_of(merged)), mm::average_precision(d.y, d.s, d.w), 1e-13);
}

TEST(ScoreTable, BinnedTableIsTheTableOfTheBinnedScores) {
  Data d = table_data(5000, 5, 0);
  for (auto& x : d.s) x = 1.0 / (1.0 + std::exp(-x));  // probabilities
  const std::int64_t n_bins = 64;
  const mm::ScoreTable binned = mm::binned_score_table(d.y, d.s, kNoWeight, 0.0, 1.0, n_bins);
  EXPECT_LE(binned.score.size(), static_cast<std::size_t>(n_bins));
  dv edges(d.s.size());
  for (std::size_t i = 0; i < d.s.size(); ++i) edges[i] = mm::bin_lower_edge(d.s[i], 0.0, 1.0, n_bins);
  EXPECT_EQ(mm::roc_auc(view_of(binned)), mm::roc_auc(d.y, edges, kNoWeight));
  EXPECT_EQ(mm::bin_lower_edge(-5.0, 0.0, 1.0, 4), 0.0);   // below the range: first bin
  EXPECT_EQ(mm::bin_lower_edge(7.0, 0.0, 1.0, 4), 0.75);   // above the range: last bin
  EXPECT_EQ(mm::bin_lower_edge(0.5, 0.0, 1.0, 4), 0.5);    // an edge belongs to the bin above it
  EXPECT_THROW(mm::binned_score_table(d.y, d.s, kNoWeight, 1.0, 1.0, 8), std::invalid_argument);
  EXPECT_THROW(mm::binned_score_table(d.y, d.s, kNoWeight, 0.0, 1.0, 0), std::invalid_argument);
}

// ---- threshold metrics by score range -----------------------------------------------------------

namespace {

// The metrics of d from its score ranges, as mlsd.dask computes them: d cut into three partitions
// (one of them empty), each split by `cuts`, the ranges dealt to two blocks of consecutive ranges
// (one piece per partition each), each block walked from the class weights above its ranges, the
// shares summed.  Also checks that the blocks' tables, highest range first, are d's table.
std::array<double, 3> metrics_by_range(const Data& d, const dv& cuts) {
  const std::size_t n = d.y.size(), n_ranges = cuts.size() + 1;
  const std::vector<std::pair<std::size_t, std::size_t>> parts{{0, n / 3}, {n / 3, n / 3}, {n / 3, n}};
  std::vector<mm::ScoreRanges> split;
  for (const auto& [a, b] : parts) {
    const auto w = d.w.empty() ? std::span<const double>{} : std::span<const double>(d.w).subspan(a, b - a);
    split.push_back(mm::split_score_ranges(std::span<const std::uint8_t>(d.y).subspan(a, b - a),
                                           std::span<const double>(d.s).subspan(a, b - a), w, cuts));
    EXPECT_EQ(split.back().offsets.size(), n_ranges + 1);
  }
  dv pos(n_ranges, 0.0), neg(n_ranges, 0.0);
  for (const auto& r : split)
    for (std::size_t k = 0; k < n_ranges; ++k) pos[k] += r.positive[k], neg[k] += r.negative[k];
  dv pos_above(n_ranges, 0.0), neg_above(n_ranges, 0.0);
  for (std::size_t k = n_ranges - 1; k-- > 0;) pos_above[k] = pos_above[k + 1] + pos[k + 1], neg_above[k] = neg_above[k + 1] + neg[k + 1];
  const double total_pos = pos_above[0] + pos[0], total_neg = neg_above[0] + neg[0];
  double area = 0, partial = 0, ap = 0;
  std::vector<mm::ScoreTable> tables(n_ranges);
  const std::size_t mid = n_ranges / 2;
  for (const auto& [first, stop] : {std::pair{std::size_t{0}, mid}, std::pair{mid, n_ranges}}) {
    std::vector<std::vector<mlsd::index_t>> offsets;
    std::vector<mm::RangePiece> pieces;
    for (const auto& r : split) {
      const auto a = r.offsets[first], b = r.offsets[stop];
      offsets.emplace_back();
      for (std::size_t k = first; k <= stop; ++k) offsets.back().push_back(r.offsets[k] - a);
      const auto len = static_cast<std::size_t>(b - a);
      pieces.push_back({std::span<const std::uint8_t>(r.y_true.data() + a, len), std::span<const double>(r.y_score.data() + a, len),
                        d.w.empty() ? std::span<const double>{} : std::span<const double>(r.sample_weight.data() + a, len), {}});
    }
    for (std::size_t k = 0; k < pieces.size(); ++k) pieces[k].offsets = offsets[k];
    for (const auto& piece : pieces)  // every row sits in its range
      for (std::size_t j = 0; j + first < stop; ++j)
        for (auto i = piece.offsets[j]; i < piece.offsets[j + 1]; ++i) {
          if (j + first > 0) EXPECT_LE(cuts[j + first - 1], piece.y_score[i]);
          if (j + first < cuts.size()) EXPECT_LT(piece.y_score[i], cuts[j + first]);
        }
    const dv pa(pos_above.begin() + first, pos_above.begin() + stop), na(neg_above.begin() + first, neg_above.begin() + stop);
    for (const auto& x : mm::threshold_range_sums(pieces, pa, na, total_pos, total_neg)) area += x.roc_area, ap += x.average_precision;
    for (const auto& x : mm::threshold_range_sums(pieces, pa, na, total_pos, total_neg, 0.3)) partial += x.roc_area;
    auto block_tables = mm::range_score_tables(pieces);
    for (std::size_t j = 0; j < block_tables.size(); ++j) tables[first + j] = std::move(block_tables[j]);
  }
  const mm::ScoreTable whole = mm::score_table(d.y, d.s, d.w);
  dv score, positive;
  for (std::size_t k = n_ranges; k-- > 0;) {
    score.insert(score.end(), tables[k].score.begin(), tables[k].score.end());
    positive.insert(positive.end(), tables[k].positive.begin(), tables[k].positive.end());
  }
  EXPECT_EQ(score, dv(whole.score.begin(), whole.score.end()));
  EXPECT_EQ(positive.size(), whole.positive.size());
  for (std::size_t i = 0; i < std::min(positive.size(), whole.positive.size()); ++i)
    EXPECT_NEAR(positive[i], whole.positive[i], 1e-12 * whole.positive[i]);
  return {mm::standardized_partial_auc(area, 1.0), mm::standardized_partial_auc(partial, 0.3), std::max(0.0, ap)};
}

}  // namespace

TEST(ScoreRanges, SharesAddUpToTheMetricsOfTheWholeSample) {
  for (unsigned seed = 0; seed < 4; ++seed) {
    Data d = table_data(3000, seed, seed % 2 ? 20 : 0);  // odd seeds: heavy ties, cuts on tied scores
    if (seed >= 2) {
      std::mt19937 rng(seed);
      d.w.resize(d.y.size());
      for (auto& x : d.w) x = rng() % 4 == 0 ? 0.0 : std::uniform_real_distribution<double>(0.0, 3.0)(rng);
    }
    const std::vector<dv> cut_sets{
        {},                                          // one range
        {-0.5, 0.0, 0.0, 0.25, 1.0},                 // a repeated cut: an empty range
        {-100.0, 100.0},                             // empty end ranges
    };
    dv many;  // more than the vectorised comparison handles: the binary search
    for (int c = -40; c <= 40; ++c) many.push_back(c / 20.0);
    for (const dv& cuts : {cut_sets[0], cut_sets[1], cut_sets[2], many}) {
      const auto got = metrics_by_range(d, cuts);
      EXPECT_NEAR(got[0], mm::roc_auc(d.y, d.s, d.w), 1e-14) << seed << " " << cuts.size();
      EXPECT_NEAR(got[1], mm::roc_auc(d.y, d.s, d.w, 0.3), 1e-14) << seed << " " << cuts.size();
      EXPECT_NEAR(got[2], mm::average_precision(d.y, d.s, d.w), 1e-14) << seed << " " << cuts.size();
    }
  }
}

TEST(ScoreRanges, KeepsRowsAndClassWeightsPerRange) {
  const std::vector<std::uint8_t> y{1, 0, 0, 1, 1, 0};
  const dv s{0.5, 0.1, 0.9, 0.5, 0.2, 0.7}, w{1.0, 2.0, 3.0, 4.0, 5.0, 6.0};
  const mm::ScoreRanges r = mm::split_score_ranges(y, s, w, dv{0.5});  // [.., 0.5) and [0.5, ..)
  EXPECT_EQ(r.offsets, (std::vector<mlsd::index_t>{0, 2, 6}));
  EXPECT_EQ(dv(r.y_score.begin(), r.y_score.end()), (dv{0.1, 0.2, 0.5, 0.9, 0.5, 0.7}));  // input order within a range
  EXPECT_EQ(dv(r.sample_weight.begin(), r.sample_weight.end()), (dv{2.0, 5.0, 1.0, 3.0, 4.0, 6.0}));
  EXPECT_EQ(r.positive, (dv{5.0, 5.0}));
  EXPECT_EQ(r.negative, (dv{2.0, 9.0}));
  EXPECT_THROW(mm::split_score_ranges(y, s, w, dv{0.5, 0.2}), std::invalid_argument);        // decreasing cuts
  EXPECT_THROW(mm::split_score_ranges(y, s, w, dv{std::nan("")}), std::invalid_argument);    // NaN cut
  const dv bad{0.5, std::nan(""), 0.9, 0.5, 0.2, 0.7};
  EXPECT_THROW(mm::split_score_ranges(y, bad, w, dv{0.5}), std::invalid_argument);           // NaN score
  const std::vector<mlsd::index_t> at{0, 2, 6}, short_at{0, 2};
  const std::vector<mm::RangePiece> pieces{{y, s, w, at}};
  const dv zero2{0.0, 0.0};
  EXPECT_THROW(mm::threshold_range_sums(pieces, dv{-1.0, 0.0}, zero2, 1.0, 1.0), std::invalid_argument);
  EXPECT_THROW(mm::threshold_range_sums(pieces, zero2, zero2, 1.0, 1.0, 0.0), std::invalid_argument);   // max_fpr
  EXPECT_THROW(mm::threshold_range_sums(pieces, dv{0.0}, dv{0.0}, 1.0, 1.0), std::invalid_argument);     // 1 weight, 2 ranges
  const std::vector<mm::RangePiece> uneven{{y, s, w, at}, {y, s, w, short_at}};
  EXPECT_THROW(mm::range_score_tables(uneven), std::invalid_argument);  // pieces disagree on the ranges
  const std::vector<mm::RangePiece> half_weighted{{y, s, w, at}, {y, s, {}, at}};
  EXPECT_THROW(mm::range_score_tables(half_weighted), std::invalid_argument);
  // A class missing overall: the shares are zero (the caller reports the undefined metric).
  for (const auto& x : mm::threshold_range_sums(pieces, zero2, zero2, 0.0, 21.0)) {
    EXPECT_EQ(x.roc_area, 0.0);
    EXPECT_EQ(x.average_precision, 0.0);
  }
}

TEST(ScoreTable, MalformedTablesThrow) {
  const dv s{0.9, 0.5}, p{1.0, 0.0}, n{0.0, 2.0};
  const dv unsorted{0.5, 0.9}, negative{-1.0, 1.0}, short_{1.0};
  const dv nan{std::nan(""), 0.1}, zeros{0.0, 0.0};
  EXPECT_NO_THROW(mm::roc_auc(mm::ScoreTableView{s, p, n}));
  EXPECT_THROW(mm::roc_auc(mm::ScoreTableView{unsorted, p, n}), std::invalid_argument);
  EXPECT_THROW(mm::roc_auc(mm::ScoreTableView{s, negative, n}), std::invalid_argument);
  EXPECT_THROW(mm::roc_auc(mm::ScoreTableView{s, short_, n}), std::invalid_argument);
  EXPECT_THROW(mm::roc_auc(mm::ScoreTableView{nan, p, n}), std::invalid_argument);
  EXPECT_THROW(mm::roc_auc(mm::ScoreTableView{s, zeros, zeros}), std::invalid_argument);
  EXPECT_THROW(mm::roc_auc(mm::ScoreTableView{s, p, zeros}), std::invalid_argument);  // one class
  const std::vector<mm::ScoreTableView> bad{{s, p, n}, {unsorted, p, n}};
  EXPECT_THROW(mm::merge_score_tables(bad), std::invalid_argument);
}
