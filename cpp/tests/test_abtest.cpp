#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "mlsd/abtest.hpp"
#include "mlsd/common/parallel.hpp"

namespace ma = mlsd::abtest;
using dv = std::vector<double>;
using cols = std::vector<std::span<const double>>;

namespace {

dv normal(std::size_t n, unsigned seed, double mu, double sd) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(mu, sd);
  dv x(n);
  for (auto& v : x) v = d(rng);
  return x;
}

// Textbook two-pass moments in long double, as the reference.
void expect_matches_two_pass(const ma::Moments& m, const std::vector<dv>& c, double rtol) {
  const std::size_t n = c[0].size();
  ASSERT_EQ(m.n, static_cast<double>(n));
  std::vector<long double> mean(c.size());
  for (std::size_t j = 0; j < c.size(); ++j) {
    long double s = 0;
    for (double v : c[j]) s += v;
    mean[j] = s / n;
    EXPECT_NEAR(m.mean[j], static_cast<double>(mean[j]), rtol * std::abs(static_cast<double>(mean[j])) + 1e-300);
  }
  std::vector<std::vector<long double>> com(c.size(), std::vector<long double>(c.size()));
  for (std::size_t i = 0; i < c.size(); ++i)
    for (std::size_t j = 0; j < c.size(); ++j)
      for (std::size_t r = 0; r < n; ++r) com[i][j] += (c[i][r] - mean[i]) * (c[j][r] - mean[j]);
  // Cross-moments are compared on the scale of sqrt(C_ii C_jj): a near-zero covariance is only
  // known to that absolute precision.
  for (std::size_t i = 0; i < c.size(); ++i)
    for (std::size_t j = 0; j < c.size(); ++j)
      EXPECT_NEAR(m.comoment[i][j], static_cast<double>(com[i][j]),
                  rtol * std::sqrt(static_cast<double>(com[i][i] * com[j][j])));
}

}  // namespace

TEST(AbtestMoments, MatchesTwoPassWithLargeOffset) {
  // A mean of 1e9 with unit spread: the naive sum-of-squares formula loses every digit here.
  const std::size_t n = 100003;
  std::vector<dv> c = {normal(n, 1, 1e9, 1.0), normal(n, 2, -3.0, 2.0), normal(n, 3, 0.0, 1e-3)};
  for (std::size_t r = 0; r < n; ++r) c[1][r] += 0.5 * (c[0][r] - 1e9);  // correlated columns
  const cols views = {c[0], c[1], c[2]};
  const auto m = ma::moments(views);
  expect_matches_two_pass(m, c, 1e-9);
  EXPECT_NEAR(m.comoment[0][0] / (n - 1), 1.0, 0.02);
}

TEST(AbtestMoments, MergeEqualsConcatenation) {
  const dv a = normal(70001, 4, 5.0, 3.0), b = normal(12345, 5, -1.0, 0.5);
  dv ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  const cols va = {a}, vb = {b}, vab = {ab};
  const auto merged = ma::merge(ma::moments(va), ma::moments(vb));
  const auto whole = ma::moments(vab);
  EXPECT_EQ(merged.n, whole.n);
  EXPECT_NEAR(merged.mean[0], whole.mean[0], 1e-12 * std::abs(whole.mean[0]));
  EXPECT_NEAR(merged.comoment[0][0], whole.comoment[0][0], 1e-10 * whole.comoment[0][0]);
  // Merging with an empty state is the identity.
  ma::Moments empty;
  empty.k = 1;
  EXPECT_EQ(ma::merge(empty, merged).comoment[0][0], merged.comoment[0][0]);
  ma::Moments two;
  two.k = 2;
  EXPECT_THROW(ma::merge(merged, two), std::invalid_argument);
}

TEST(AbtestMoments, MergeBatchIsMergePerElement) {
  const dv a = normal(501, 11, 2.0, 1.0), b = normal(501, 12, -3.0, 2.0), c = normal(77, 13, 0.5, 0.1);
  const dv c_reversed(c.rbegin(), c.rend());
  const cols va = {a, b}, vb = {c, c_reversed};
  const ma::Moments x = ma::moments(va), y = ma::moments(vb);
  ma::Moments empty;
  empty.k = 2;
  // Batch of three pairs: (x, y), (empty, y), (x, empty).
  const ma::Moments lhs[3] = {x, empty, x}, rhs[3] = {y, y, empty};
  dv n_a, n_b, m_a, m_b, c_a, c_b;
  for (int r = 0; r < 3; ++r) {
    n_a.push_back(lhs[r].n);
    n_b.push_back(rhs[r].n);
    for (int i = 0; i < 2; ++i) {
      m_a.push_back(lhs[r].mean[i]);
      m_b.push_back(rhs[r].mean[i]);
      for (int j = 0; j < 2; ++j) {
        c_a.push_back(lhs[r].comoment[i][j]);
        c_b.push_back(rhs[r].comoment[i][j]);
      }
    }
  }
  dv n(3), m(6), co(12);
  ma::merge_batch(2, n_a, m_a, c_a, n_b, m_b, c_b, n, m, co);
  for (int r = 0; r < 3; ++r) {
    const ma::Moments want = ma::merge(lhs[r], rhs[r]);
    EXPECT_EQ(n[r], want.n);
    for (int i = 0; i < 2; ++i) {
      EXPECT_EQ(m[r * 2 + i], want.mean[i]);
      for (int j = 0; j < 2; ++j) EXPECT_EQ(co[(r * 2 + i) * 2 + j], want.comoment[i][j]);
    }
  }
  dv short_n(2);
  EXPECT_THROW(ma::merge_batch(2, n_a, m_a, c_a, n_b, m_b, c_b, short_n, m, co), std::invalid_argument);
}

TEST(AbtestMoments, IndependentOfThreadCount) {
  const dv x = normal(300000, 6, 1.0, 1.0), y = normal(300000, 7, 2.0, 1.0);
  const cols v = {x, y};
  mlsd::set_num_threads(1);
  const auto one = ma::moments(v);
  mlsd::set_num_threads(0);
  const auto all = ma::moments(v);
  EXPECT_EQ(one.mean, all.mean);
  EXPECT_EQ(one.comoment, all.comoment);
}

TEST(AbtestMoments, RejectsBadInput) {
  dv x = {1, 2, 3, 4}, y = {1, 2, 3};
  const std::vector<std::string> names = {"y", "denominator"};
  try {
    ma::moments(cols{x, y}, names);
    FAIL() << "length mismatch accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "moments: denominator has 3 elements but y has 4");
  }
  x[2] = std::numeric_limits<double>::quiet_NaN();
  try {
    ma::moments(cols{x}, names);
    FAIL() << "NaN accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "moments: y must be finite; found nan at index 2");
  }
  dv big = {1e300, -1e300, 1e300};
  EXPECT_THROW(ma::moments(cols{big}), std::invalid_argument);
  EXPECT_THROW(ma::moments(cols{}), std::invalid_argument);
}

TEST(AbtestMannWhitney, MatchesBruteForceWithTies) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> d(0, 30);
  for (std::size_t nx : {1, 7, 500, 5000}) {
    dv x(nx), y(nx / 2 + 3);
    for (auto& v : x) v = d(rng) * 0.5;
    for (auto& v : y) v = d(rng) * 0.5 + 1.0;
    double u = 0;
    for (double a : x)
      for (double b : y) u += a > b ? 1.0 : (a == b ? 0.5 : 0.0);
    // Tie term by counting each value's multiplicity in the pooled sample.
    std::map<double, double> count;
    for (double a : x) count[a] += 1;
    for (double b : y) count[b] += 1;
    double ties = 0;
    for (auto [v, t] : count) ties += t * t * t - t;
    const auto r = ma::mann_whitney_u(x, y);
    EXPECT_EQ(r.u_x, u) << nx;
    EXPECT_EQ(r.tie_term, ties) << nx;
  }
  const dv empty, one = {1.0}, nan = {std::nan("")};
  EXPECT_THROW(ma::mann_whitney_u(empty, one), std::invalid_argument);
  EXPECT_THROW(ma::mann_whitney_u(one, nan), std::invalid_argument);
}

TEST(AbtestSignedRanks, RowsMatchBruteForceWithTiesZerosAndNaN) {
  // Brute force: the mid-rank of |d_i| among the non-zero, non-NaN |d| is
  // (#smaller) + (#equal + 1) / 2; r_plus sums it over the positive d_i.
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> dist(-6, 6);
  const std::int64_t rows = 7, width = 40;
  dv d(rows * width);
  for (auto& v : d) v = dist(rng) * 0.5;
  d[3] = std::nan("");
  d[width + 1] = std::numeric_limits<double>::infinity();
  const auto r = ma::signed_ranks_rows(d, rows);
  for (std::int64_t row = 0; row < rows; ++row) {
    double r_plus = 0, pos = 0, neg = 0, zeros = 0, ties = 0;
    std::map<double, double> count;
    for (std::int64_t i = 0; i < width; ++i) {
      const double v = d[row * width + i];
      if (std::isnan(v)) continue;
      if (v == 0) { zeros += 1; continue; }
      count[std::fabs(v)] += 1;
      (v > 0 ? pos : neg) += 1;
    }
    for (std::int64_t i = 0; i < width; ++i) {
      const double v = d[row * width + i];
      if (!(v > 0)) continue;
      double smaller = 0;
      for (auto [a, t] : count) smaller += a < v ? t : 0.0;
      r_plus += smaller + (count[v] + 1.0) / 2.0;
    }
    for (auto [a, t] : count) ties += t > 1 ? t * t * t - t : 0.0;
    EXPECT_EQ(r.r_plus[row], r_plus) << row;
    EXPECT_EQ(r.tie_term[row], ties) << row;
    EXPECT_EQ(r.n_pos[row], pos);
    EXPECT_EQ(r.n_neg[row], neg);
    EXPECT_EQ(r.n_zero[row], zeros);
  }
  // Rows of the Mann-Whitney batch equal the one-problem kernel; NaN is skipped there.
  dv x = {1, 2, 2, 5, std::numeric_limits<double>::infinity(), 0, 3, 3, 3, 1};
  dv y = {2, 0.5, 7, 2, 5, 3};
  const auto b = ma::mann_whitney_u_rows(x, y, 2);
  for (int row = 0; row < 2; ++row) {
    const auto one = ma::mann_whitney_u(std::span<const double>(x).subspan(row * 5, 5),
                                        std::span<const double>(y).subspan(row * 3, 3));
    EXPECT_EQ(b.u_x[row], one.u_x);
    EXPECT_EQ(b.tie_term[row], one.tie_term);
  }
  EXPECT_THROW(ma::signed_ranks_rows(d, 3), std::invalid_argument);  // 280 values are not 3 rows
}

TEST(AbtestBootstrap, PoissonWeightsHaveUnitMeanAndVariance) {
  const int n = 1 << 20;
  double s = 0, s2 = 0, zeros = 0;
  for (int i = 0; i < n; ++i) {
    const double w = ma::poisson1_weight(42, 0, i % 7, i);
    s += w;
    s2 += w * w;
    zeros += (w == 0);
  }
  // Standard errors: mean 1/sqrt(n) ~ 0.001, P(0) ~ 0.0005.
  EXPECT_NEAR(s / n, 1.0, 0.005);
  EXPECT_NEAR(s2 / n - (s / n) * (s / n), 1.0, 0.01);
  EXPECT_NEAR(zeros / n, std::exp(-1.0), 0.003);
  // Two streams (arms) are independent: weights differ with probability 1 - sum_k P(k)^2 = 0.69.
  double differ = 0;
  for (int i = 0; i < 100000; ++i) differ += ma::poisson1_weight(42, 0, 3, i) != ma::poisson1_weight(42, 1, 3, i);
  EXPECT_NEAR(differ / 100000, 0.6911, 0.01);
}

TEST(AbtestBootstrap, SumsEqualExplicitWeightsForAnyThreadCount) {
  const dv y = normal(40000, 21, 3.0, 1.0), d = normal(40000, 22, 5.0, 0.1);
  const std::int64_t B = 17;
  mlsd::set_num_threads(1);
  const auto one = ma::bootstrap_sums(y, d, B, 7, 1);
  mlsd::set_num_threads(0);
  const auto all = ma::bootstrap_sums(y, d, B, 7, 1);
  EXPECT_EQ(one.weight, all.weight);
  EXPECT_EQ(one.y, all.y);
  EXPECT_EQ(one.d, all.d);
  for (std::int64_t b : {0, 16}) {
    double sw = 0, swy = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
      const double w = ma::poisson1_weight(7, 1, b, static_cast<std::int64_t>(i));
      sw += w;
      swy += w * y[i];
    }
    EXPECT_EQ(one.weight[b], sw);
    EXPECT_NEAR(one.y[b], swy, 1e-9 * swy);
  }
  // A block of resamples [12, 17) is the same as those resamples of the full run.
  const auto block = ma::bootstrap_sums(y, d, 5, 7, 1, 12);
  for (int k = 0; k < 5; ++k) {
    EXPECT_EQ(block.weight[k], one.weight[12 + k]);
    EXPECT_EQ(block.y[k], one.y[12 + k]);
  }
  EXPECT_NE(ma::bootstrap_sums(y, {}, B, 8, 1).y[0], one.y[0]);  // another seed, another resample
  EXPECT_THROW(ma::bootstrap_sums(y, {}, 0, 7, 1), std::invalid_argument);
}

TEST(AbtestBootstrap, QuantilesEqualBruteForceWeightedQuantile) {
  dv x = normal(50000, 23, 0.0, 1.0);
  std::sort(x.begin(), x.end());
  const dv probs = {0.0, 0.1, 0.5, 0.9, 1.0};
  const std::int64_t B = 5;
  const auto got = ma::bootstrap_quantiles(x, probs, B, 3, 2);
  for (std::int64_t b = 0; b < B; ++b) {
    std::vector<std::uint64_t> w(x.size());
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < x.size(); ++i) total += w[i] = ma::poisson1_weight(3, 2, b, static_cast<std::int64_t>(i));
    for (std::size_t k = 0; k < probs.size(); ++k) {
      const auto target = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(probs[k] * total)));
      std::uint64_t cum = 0;
      std::size_t i = 0;
      while ((cum += w[i]) < target) ++i;
      EXPECT_EQ(got[b * probs.size() + k], x[i]) << b << " " << probs[k];
    }
  }
  const dv unsorted = {2.0, 1.0};
  EXPECT_THROW(ma::bootstrap_quantiles(unsorted, probs, 3, 1, 1), std::invalid_argument);
}

TEST(AbtestBootstrap, PartitionsWithFirstRowOrKeysGetTheWholeSampleWeights) {
  // Cut the sample at odd and even rows, into an empty piece, a one-row piece and pieces longer
  // than a chunk: each piece passed with first_row = its start gets the weights its rows have in
  // the whole sample, so the weight totals add up exactly and the weighted sums to rounding.
  const dv y = normal(40000, 31, 2.0, 1.0), d = normal(40000, 32, 4.0, 0.5);
  const std::int64_t B = 9, n = static_cast<std::int64_t>(y.size());
  const auto whole = ma::bootstrap_sums(y, d, B, 5, 1);
  const std::vector<std::int64_t> cuts = {0, 0, 1, 2, 7777, 7777, 7778, 30001, n};
  std::vector<double> sw(B, 0.0), swy(B, 0.0), swd(B, 0.0);
  for (std::size_t p = 0; p + 1 < cuts.size(); ++p) {
    const auto b = static_cast<std::size_t>(cuts[p]), e = static_cast<std::size_t>(cuts[p + 1]);
    const std::span<const double> yp(y.data() + b, e - b), dp(d.data() + b, e - b);
    const auto part = ma::bootstrap_sums(yp, dp, B, 5, 1, 0, {cuts[p], {}});
    // The same piece keyed explicitly by its global row numbers gives the same sums.
    std::vector<std::int64_t> keys(e - b);
    for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = static_cast<std::int64_t>(b + i);
    const auto keyed = ma::bootstrap_sums(yp, dp, B, 5, 1, 0, {0, keys});
    for (std::int64_t r = 0; r < B; ++r) {
      EXPECT_EQ(keyed.weight[r], part.weight[r]);
      EXPECT_NEAR(keyed.y[r], part.y[r], 1e-12 * std::abs(whole.y[r]));
      sw[r] += part.weight[r];
      swy[r] += part.y[r];
      swd[r] += part.d.empty() ? 0.0 : part.d[r];  // no rows: no denominator seen
    }
  }
  for (std::int64_t r = 0; r < B; ++r) {
    EXPECT_EQ(sw[r], whole.weight[r]);
    EXPECT_NEAR(swy[r], whole.y[r], 1e-12 * std::abs(whole.y[r]));
    EXPECT_NEAR(swd[r], whole.d[r], 1e-12 * std::abs(whole.d[r]));
  }
  // Row by row: the weight of row i of a piece starting at row 7777 is poisson1_weight(..., 7777 + i).
  for (std::int64_t r = 0; r < 3; ++r) {
    const dv one = {1.0};
    for (std::int64_t g : {7777, 7778, -3, -4}) {
      const auto s = ma::bootstrap_sums(one, {}, 1, 5, 1, r, {g, {}});
      EXPECT_EQ(s.weight[0], ma::poisson1_weight(5, 1, r, g)) << g;
    }
  }
  // Rows sharing a key share their weights; a key array of the wrong length, or keys together
  // with first_row, are errors.
  const std::vector<std::int64_t> same = {42, 42, 42};
  const dv ones = {1.0, 1.0, 1.0};
  for (std::int64_t r = 0; r < 5; ++r)
    EXPECT_EQ(ma::bootstrap_sums(ones, {}, 1, 5, 1, r, {0, same}).weight[0], 3.0 * ma::poisson1_weight(5, 1, r, 42));
  const std::vector<std::int64_t> short_keys = {1, 2};
  EXPECT_THROW(ma::bootstrap_sums(ones, {}, 1, 5, 1, 0, {0, short_keys}), std::invalid_argument);
  EXPECT_THROW(ma::bootstrap_sums(ones, {}, 1, 5, 1, 0, {3, same}), std::invalid_argument);
  EXPECT_EQ(ma::bootstrap_sums(dv{}, {}, 2, 5, 1).weight, (std::vector<double>{0.0, 0.0}));
}

TEST(AbtestBootstrap, QuantilesKeyedByUnitFollowTheirKeys) {
  // Sorted values carrying the keys of their units weight each value by its unit's key.
  dv x = normal(3000, 33, 0.0, 1.0);
  std::sort(x.begin(), x.end());
  std::vector<std::int64_t> keys(x.size());
  for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = static_cast<std::int64_t>((i * 7919) % 100003);
  const dv probs = {0.25, 0.5};
  const std::int64_t B = 4;
  const auto got = ma::bootstrap_quantiles(x, probs, B, 3, 0, 0, {0, keys});
  for (std::int64_t b = 0; b < B; ++b) {
    std::vector<std::uint64_t> w(x.size());
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < x.size(); ++i) total += w[i] = ma::poisson1_weight(3, 0, b, keys[i]);
    for (std::size_t k = 0; k < probs.size(); ++k) {
      const auto target = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(probs[k] * total)));
      std::uint64_t cum = 0;
      std::size_t i = 0;
      while ((cum += w[i]) < target) ++i;
      EXPECT_EQ(got[b * probs.size() + k], x[i]);
    }
  }
}
