#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
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
