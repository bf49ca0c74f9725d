#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "mlsd/common/parallel.hpp"
#include "mlsd/monitoring.hpp"

namespace mm = mlsd::monitoring;

namespace {

std::vector<double> normal(std::size_t n, double mu, unsigned seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> d(mu, 1.0);
  std::vector<double> x(n);
  for (auto& v : x) v = d(g);
  return x;
}

// The KS statistic by brute force: F_ref(x) - F_cur(x) at every pooled value.
std::pair<double, double> ks_brute(const std::vector<double>& a, const std::vector<double>& b) {
  double hi = 0, lo = 0;
  std::vector<double> all(a);
  all.insert(all.end(), b.begin(), b.end());
  for (double x : all) {
    const double fa = std::count_if(a.begin(), a.end(), [&](double v) { return v <= x; }) / double(a.size());
    const double fb = std::count_if(b.begin(), b.end(), [&](double v) { return v <= x; }) / double(b.size());
    hi = std::max(hi, fa - fb);
    lo = std::max(lo, fb - fa);
  }
  return {hi, lo};
}

}  // namespace

TEST(Monitoring, KsAndCountsMatchBruteForceWithTiesAndMissing) {
  auto a = normal(300, 0.0, 1), b = normal(257, 0.3, 2);
  for (auto& v : a) v = std::round(v * 4) / 4;  // ties
  for (auto& v : b) v = std::round(v * 4) / 4;
  auto with_nan = b;
  with_nan.push_back(std::numeric_limits<double>::quiet_NaN());
  std::vector<std::span<const double>> ref{a}, cur{with_nan};
  auto r = mm::drift_columns(ref, cur, false, {}, 10);
  ASSERT_EQ(r.size(), 1u);
  auto [hi, lo] = ks_brute(a, b);
  EXPECT_DOUBLE_EQ(r[0].ks_greater, hi);
  EXPECT_DOUBLE_EQ(r[0].ks_less, lo);
  EXPECT_EQ(r[0].missing_cur, 1);
  EXPECT_EQ(r[0].n_cur, 257);
  EXPECT_EQ(std::accumulate(r[0].ref_counts.begin(), r[0].ref_counts.end(), mlsd::index_t{0}), 300);
  EXPECT_EQ(std::accumulate(r[0].cur_counts.begin(), r[0].cur_counts.end(), mlsd::index_t{0}), 257);
}

TEST(Monitoring, ResultsDoNotDependOnThreadCount) {
  auto a = normal(200000, 0.0, 3), b = normal(150001, 0.1, 4);
  std::vector<std::span<const double>> ref{a, b}, cur{b, a};
  mlsd::set_num_threads(1);
  auto one = mm::drift_columns(ref, cur, false, {}, 10);
  mlsd::set_num_threads(0);
  auto all = mm::drift_columns(ref, cur, false, {}, 10);
  for (std::size_t c = 0; c < 2; ++c) {
    EXPECT_EQ(one[c].ks_greater, all[c].ks_greater);
    EXPECT_EQ(one[c].wasserstein, all[c].wasserstein);
    EXPECT_EQ(one[c].cur_counts, all[c].cur_counts);
  }
}

TEST(Monitoring, ExactKsTailEqualsClosedFormForEqualSizes) {
  // Pr(D_{n,n} >= h/n), one-sided: C(2n, n - h) / C(2n, n) = prod_{j<h} (n - j) / (n + j + 1)
  const mlsd::index_t n = 40, h = 7;
  double want = 1.0;
  for (int j = 0; j < h; ++j) want *= double(n - j) / double(n + j + 1);
  EXPECT_NEAR(mm::ks_exact_sf(n, n, h, false) / want, 1.0, 1e-12);
  EXPECT_EQ(mm::ks_exact_sf(n, n, 0, true), 1.0);
}

TEST(Monitoring, InfiniteValueInAWorkerThrowsToTheCaller) {
  std::vector<double> a = normal(100000, 0, 5), b = normal(100000, 0, 6);
  b[77777] = std::numeric_limits<double>::infinity();
  std::vector<std::span<const double>> ref{a, a, a}, cur{a, b, a};
  EXPECT_THROW(mm::drift_columns(ref, cur, false, {}, 10), std::invalid_argument);
}

TEST(Monitoring, BadEdgesAndSizesThrow) {
  std::vector<double> a{1, 2, 3}, e{1, 1};
  std::vector<std::span<const double>> ref{a}, cur{a}, edges{e}, none{};
  EXPECT_THROW(mm::drift_columns(ref, cur, false, edges, 10), std::invalid_argument);
  EXPECT_THROW(mm::drift_columns(ref, none, false, {}, 10), std::invalid_argument);
  EXPECT_THROW(mm::ks_exact_sf(0, 3, 1, true), std::invalid_argument);
  EXPECT_THROW(mm::wasserstein_distance(a, {}, {}, {}), std::invalid_argument);
}

TEST(Monitoring, WassersteinOfShiftedSampleIsTheShift) {
  std::vector<double> a = normal(1000, 0, 7), b(a);
  for (auto& v : b) v += 0.25;
  EXPECT_NEAR(mm::wasserstein_distance(a, b, {}, {}), 0.25, 1e-12);
}

TEST(Monitoring, SmirnovTailOfOneObservationIsOneMinusX) {
  // n = 1: D+ = 1 - U for a uniform U, so P(D+ >= x) = 1 - x
  for (double x : {0.1, 0.25, 0.5, 0.9}) EXPECT_NEAR(mm::smirnov_sf(1, x), 1.0 - x, 1e-15);
  EXPECT_EQ(mm::smirnov_sf(10, 0.0), 1.0);
  EXPECT_EQ(mm::smirnov_sf(10, 1.0), 0.0);
}

TEST(Monitoring, SmirnovTailDoesNotDependOnThreadCount) {
  mlsd::set_num_threads(1);
  const double one = mm::smirnov_sf(400000, 0.003);
  mlsd::set_num_threads(0);
  EXPECT_EQ(one, mm::smirnov_sf(400000, 0.003));
  EXPECT_GT(one, 0.0);
  EXPECT_LT(one, 1e-3);
}

TEST(Monitoring, ExactKsTailTwoSidedEqualsClosedFormForEqualSizes) {
  // Pr(D_{n,n} >= h/n) = 2 sum_{k>=1} (-1)^(k+1) C(2n, n - k h) / C(2n, n)
  const mlsd::index_t n = 50;
  for (mlsd::index_t h : {3, 8, 20}) {
    double want = 0.0;
    for (mlsd::index_t k = 1; k * h <= n; ++k) {
      double ratio = 1.0;  // C(2n, n - kh) / C(2n, n) = prod_{j<kh} (n - j) / (n + j + 1)
      for (mlsd::index_t j = 0; j < k * h; ++j) ratio *= double(n - j) / double(n + j + 1);
      want += (k % 2 ? 2.0 : -2.0) * ratio;
    }
    EXPECT_NEAR(mm::ks_exact_sf(n, n, h, true) / want, 1.0, 1e-12) << h;
  }
}

namespace {
// The full-lattice version of the exact tail (every cell visited), against which the banded
// kernel is checked: same recursion, no band.
double full_lattice_tail(mlsd::index_t n1, mlsd::index_t n2, mlsd::index_t h, bool two_sided) {
  const mlsd::index_t g = std::gcd(n1, n2), bound = h * g;
  auto outside = [&](mlsd::index_t i, mlsd::index_t j) {
    const mlsd::index_t d = i * n2 - j * n1;
    return d >= bound || (two_sided && -d >= bound);
  };
  std::vector<double> row(n2 + 1, 0.0), next(n2 + 1, 0.0);
  row[0] = 1.0;
  double absorbed = 0.0;
  for (mlsd::index_t i = 0; i <= n1; ++i) {
    std::fill(next.begin(), next.end(), 0.0);
    for (mlsd::index_t j = 0; j <= n2; ++j) {
      const double p = row[j];
      const mlsd::index_t left = (n1 - i) + (n2 - j);
      if (p == 0.0 || left == 0) continue;
      if (i < n1) {
        const double q = p * double(n1 - i) / double(left);
        (outside(i + 1, j) ? absorbed : next[j]) += q;
      }
      if (j < n2) {
        const double q = p * double(n2 - j) / double(left);
        (outside(i, j + 1) ? absorbed : row[j + 1]) += q;
      }
    }
    row.swap(next);
  }
  return absorbed;
}
}  // namespace

TEST(Monitoring, BandedExactKsTailEqualsTheFullLattice) {
  for (auto [n1, n2] : {std::pair<mlsd::index_t, mlsd::index_t>{3, 97}, {37, 53}, {64, 48}, {200, 150}, {1, 5}}) {
    const mlsd::index_t lcm = n1 / std::gcd(n1, n2) * n2;
    for (mlsd::index_t h : {mlsd::index_t{1}, lcm / 10 + 1, lcm / 3 + 1, lcm}) {
      for (bool two : {true, false}) {
        const double want = full_lattice_tail(n1, n2, h, two);
        EXPECT_NEAR(mm::ks_exact_sf(n1, n2, h, two), want, 1e-14 * want + 1e-300) << n1 << " " << n2 << " " << h;
      }
    }
  }
}

namespace {

// The non-missing values of x, ascending, by std::sort.
std::vector<double> sorted_finite(std::vector<double> x) {
  x.erase(std::remove_if(x.begin(), x.end(), [](double v) { return std::isnan(v); }), x.end());
  std::sort(x.begin(), x.end());
  return x;
}

// Wasserstein-1 and the one-sided KS statistics by the definitions, over the pooled distinct values.
struct Brute {
  double greater = 0, less = 0, w = 0;
};
Brute brute_walk(std::vector<double> a, std::vector<double> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::vector<double> all(a);
  all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  Brute r;
  long double w = 0;
  for (std::size_t k = 0; k < all.size(); ++k) {
    const auto i = std::upper_bound(a.begin(), a.end(), all[k]) - a.begin();
    const auto j = std::upper_bound(b.begin(), b.end(), all[k]) - b.begin();
    const double d = double(i) / double(a.size()) - double(j) / double(b.size());
    r.greater = std::max(r.greater, d);
    r.less = std::max(r.less, -d);
    if (k + 1 < all.size()) w += std::abs((long double)i * b.size() - (long double)j * a.size()) * (all[k + 1] - all[k]);
  }
  r.w = double(w / ((long double)a.size() * b.size()));
  return r;
}

}  // namespace

// The column sort (a split on the top varying key bits, then a radix sort per bucket) against
// std::sort, on the shapes that stress it: ties, signed zeros, subnormals, extreme magnitudes, one
// huge bucket, keys clustered inside a bucket, columns of >= 2^19 values, constant columns and every small size; one column per task (one thread) and one
// column split over the threads give the same values.
TEST(Monitoring, SortColumnsEqualsStdSortOnAwkwardColumns) {
  std::mt19937_64 g(11);
  std::normal_distribution<double> nd(0, 1);
  std::uniform_real_distribution<double> ud(0, 1);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::vector<double>> cols;
  for (std::size_t n : {0, 1, 2, 5, 47, 48, 49, 300, 4095, 70000}) {
    std::vector<double> x(n);
    for (auto& v : x) v = nd(g);
    cols.push_back(x);
  }
  std::vector<double> ties(200000), zeros(50000), tiny(50000), wide(100000), skew(200000), mixed(100000);
  for (auto& v : ties) v = std::round(nd(g) * 8) / 8;
  for (std::size_t i = 0; i < zeros.size(); ++i) zeros[i] = i % 3 == 0 ? -0.0 : i % 3 == 1 ? 0.0 : nd(g) * 1e-300;
  for (auto& v : tiny) v = nd(g) * 4.9e-324 * 1000;  // subnormals
  for (auto& v : wide) v = std::ldexp(nd(g), static_cast<int>(ud(g) * 2000) - 1000);
  for (std::size_t i = 0; i < skew.size(); ++i) skew[i] = i % 1000 == 0 ? nd(g) * 1e6 : 1.0 + ud(g) * 1e-12;
  for (std::size_t i = 0; i < mixed.size(); ++i) mixed[i] = i % 7 == 0 ? nan : nd(g) + 1e3;
  for (auto* c : {&ties, &zeros, &tiny, &wide, &skew, &mixed}) cols.push_back(*c);
  // >= 2^19 values (the top-16-bit split counted while the keys are read), with missing values,
  // keys clustered in the last bits of one bucket and ties; and positive values only (their top
  // key bits constant: the split counts its own bits)
  std::vector<double> big(600000), positive(600000);
  for (std::size_t i = 0; i < big.size(); ++i) {
    big[i] = i % 11 == 0 ? nan : i % 200 == 1 ? 1.0 + std::ldexp(static_cast<double>(i % 3000), -52)
                                 : i % 200 == 2 ? -0.5 : nd(g);
  }
  for (auto& v : positive) v = ud(g);
  cols.push_back(big);
  cols.push_back(positive);
  cols.push_back(std::vector<double>(5000, 3.25));
  cols.push_back(std::vector<double>(100, nan));
  std::vector<std::span<const double>> views(cols.begin(), cols.end());
  mlsd::set_num_threads(1);
  auto one = mm::sort_columns(views);
  mlsd::set_num_threads(0);
  std::vector<std::vector<mm::SortedColumn>> alone;
  for (const auto& c : views) alone.push_back(mm::sort_columns(std::span(&c, 1)));  // split over threads
  for (std::size_t c = 0; c < cols.size(); ++c) {
    const auto want = sorted_finite(cols[c]);
    ASSERT_EQ(one[c].values.size(), want.size()) << "column " << c;
    EXPECT_TRUE(std::equal(want.begin(), want.end(), one[c].values.begin())) << "column " << c;
    EXPECT_EQ(one[c].n_missing, static_cast<mlsd::index_t>(cols[c].size() - want.size()));
    EXPECT_TRUE(std::equal(want.begin(), want.end(), alone[c][0].values.begin(), alone[c][0].values.end()))
        << "column " << c;
  }
}

// The integer walk (two halves side by side) against the definitions, with ties inside each sample,
// across the samples and at the pooled half; drift_columns and the weighted wasserstein_distance
// (the same samples as distinct values with whole weights, as a quantile sketch holds them) give
// the same distance bit for bit.
TEST(Monitoring, WalkMatchesDefinitionsAndWeightedWalkBitForBit) {
  std::mt19937_64 g(5);
  std::normal_distribution<double> nd(0, 1);
  for (auto [n1, n2, scale] : {std::tuple{1000, 1000, 4.0}, {999, 1003, 2.0}, {50, 20000, 1e6}, {3, 2, 1.0}}) {
    std::vector<double> a(n1), b(n2);
    for (auto& v : a) v = std::round(nd(g) * scale) / scale;
    for (auto& v : b) v = std::round((nd(g) + 0.2) * scale) / scale;
    std::vector<std::span<const double>> ref{a}, cur{b};
    const auto r = mm::drift_columns(ref, cur, false, {}, 10)[0];
    const auto want = brute_walk(a, b);
    EXPECT_EQ(r.ks_greater, want.greater);
    EXPECT_EQ(r.ks_less, want.less);
    EXPECT_NEAR(r.wasserstein, want.w, 1e-13 * want.w);
    // distinct values of a with their counts
    auto s = sorted_finite(a);
    std::vector<double> values, weights;
    for (double v : s) {
      if (values.empty() || values.back() != v) {
        values.push_back(v);
        weights.push_back(0.0);
      }
      weights.back() += 1.0;
    }
    EXPECT_EQ(mm::wasserstein_distance(values, b, weights, {}), r.wasserstein);
  }
}

TEST(Monitoring, MomentsAreScaledBeyond2To400AndReachTheLargestDouble) {
  namespace mm = mlsd::monitoring;
  const double big = std::numeric_limits<double>::max();
  // half at -DBL_MAX, half at +DBL_MAX: mean 0, std DBL_MAX up to rounding (the sums and squares
  // stay finite)
  std::vector<double> x(50, -big);
  x.insert(x.end(), 50, big);
  const mm::Moments m = mm::moments(x);
  EXPECT_EQ(m.n, 100);
  EXPECT_EQ(m.e, 1024 - 400);
  EXPECT_EQ(m.mean, 0.0);
  EXPECT_TRUE(std::isfinite(m.std_dev()));
  EXPECT_LE(std::abs(m.std_dev() / big - 1.0), 1e-15);  // the sums' rounding
  // ordinary values: e = 0, and compare_sorted's mean and std are the moments'
  const std::vector<double> y = {-1.5, 0.25, 2.0, 7.0};
  const mm::Moments k = mm::moments(y);
  EXPECT_EQ(k.e, 0);
  EXPECT_DOUBLE_EQ(k.mean, 1.9375);
  const mm::ColumnDrift d = mm::compare_sorted(y, y, {}, 4);
  EXPECT_EQ(d.ref_mean, k.mean);
  EXPECT_EQ(d.ref_std, k.std_dev());
  // scaling by a power of two gives the same bits, scaled
  std::vector<double> z(y);
  for (double& v : z) v = std::ldexp(v, 900);
  const mm::Moments s = mm::moments(z);
  EXPECT_EQ(s.e, 903 - 400);  // 7 * 2^900 = 0.875 * 2^903
  EXPECT_EQ(s.mean, std::ldexp(k.mean, 900));
  EXPECT_EQ(s.std_dev(), std::ldexp(k.std_dev(), 900));
  EXPECT_THROW(mm::moments(std::vector<double>{2.0, 1.0}), std::invalid_argument);
}
