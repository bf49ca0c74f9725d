#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include <tbb/parallel_for.h>

#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/monitoring.hpp"

namespace mlsd::monitoring {

namespace {

// Loader's saddle-point pieces ("Fast and accurate computation of binomial probabilities", 2000):
// stirlerr(k) = log k! - log(sqrt(2 pi k) (k / e)^k), and the deviance bd0(x, m) = x log(x / m) + m - x,
// each accurate to a few ulps, so that a binomial probability keeps its relative accuracy even when
// log C(n, j) is ~1e7 (where lgamma differences lose nine digits).
double stirlerr(double k) {
  constexpr double s0 = 1.0 / 12, s1 = 1.0 / 360, s2 = 1.0 / 1260, s3 = 1.0 / 1680, s4 = 1.0 / 1188;
  if (k == 0.0) return 0.0;
  if (k <= 15.0) return std::lgamma(k + 1.0) - (k + 0.5) * std::log(k) + k - 0.5 * std::log(2 * std::numbers::pi);
  const double kk = k * k;
  if (k > 500) return (s0 - s1 / kk) / k;
  if (k > 80) return (s0 - (s1 - s2 / kk) / kk) / k;
  if (k > 35) return (s0 - (s1 - (s2 - s3 / kk) / kk) / kk) / k;
  return (s0 - (s1 - (s2 - (s3 - s4 / kk) / kk) / kk) / kk) / k;
}

double bd0(double x, double m) {
  if (std::abs(x - m) < 0.1 * (x + m)) {  // a series in v = (x - m) / (x + m): no cancellation
    double v = (x - m) / (x + m), s = (x - m) * v, ej = 2 * x * v;
    const double v2 = v * v;
    for (int j = 1; j < 1000; ++j) {
      ej *= v2;
      const double s1 = s + ej / (2 * j + 1);
      if (s1 == s) return s1;
      s = s1;
    }
    return s;
  }
  return x * std::log(x / m) + m - x;
}

// C(n, j) p^j q^(n - j) for 0 < j < n, p + q = 1 (q given separately to keep its precision).
double binomial_pmf(double j, double n, double p, double q) {
  const double lc = stirlerr(n) - stirlerr(j) - stirlerr(n - j) - bd0(j, n * p) - bd0(n - j, n * q);
  const double lf = std::log(2 * std::numbers::pi) + std::log(j) + std::log1p(-j / n);
  return std::exp(lc - 0.5 * lf);
}

double smirnov_tail(index_t n, double x) {
  constexpr const char* fn = "smirnov_sf";
  MLSD_REQUIRE(n >= 1, fn, "n must be >= 1, got ", n);
  MLSD_REQUIRE(!std::isnan(x), fn, "x must not be NaN");
  if (x <= 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  // Birnbaum and Tingey (1951): P(D+_n >= x) = sum_{j=0}^{floor(n (1 - x))} x / p_j * C(n, j) p_j^j q_j^(n - j)
  // with p_j = x + j / n, q_j = 1 - p_j: a sum of positive terms, reduced in fixed chunks (the same
  // sum for any thread count).
  const double dn = static_cast<double>(n);
  const auto j_max = static_cast<std::int64_t>(std::floor(dn * (1.0 - x)));
  auto term = [&](std::int64_t j) {
    const double dj = static_cast<double>(j);
    const double p = x + dj / dn, q = (1.0 - x) - dj / dn;
    if (j == 0) return std::exp(dn * std::log1p(-x));
    if (q <= 0.0) return 0.0;  // (1 - p)^(n - j) with n - j >= 1
    return x / p * binomial_pmf(dj, dn, p, q);
  };
  // The terms rise to one peak and fall (a binomial probability at a moving argument): a chunk whose
  // two ends (its first term and the next chunk's) are both below kNegligible times the largest end
  // of any chunk holds only such terms, unless it holds the peak, and then one of its ends is that
  // largest end.  Skipping those chunks changes the sum by less than n kNegligible of itself.
  constexpr std::int64_t kChunk = std::int64_t{1} << 14;
  constexpr double kNegligible = 1e-20;
  const std::int64_t n_chunks = j_max / kChunk + 1;
  std::vector<double> ends(static_cast<std::size_t>(n_chunks) + 1);
  for (std::int64_t c = 0; c <= n_chunks; ++c) ends[static_cast<std::size_t>(c)] = term(std::min(c * kChunk, j_max));
  const double peak = *std::max_element(ends.begin(), ends.end());
  const auto sum = detail::ordered_reduce(
      j_max + 1, detail::KahanSum{},
      [&](std::int64_t b, std::int64_t e) {
        detail::KahanSum s;
        const auto c = static_cast<std::size_t>(b / kChunk);
        if (std::max(ends[c], ends[c + 1]) < kNegligible * peak) return s;
        for (std::int64_t j = b; j < e; ++j) s.add(term(j));
        return s;
      },
      [](detail::KahanSum a, const detail::KahanSum& b) {
        a.add(b);
        return a;
      },
      kChunk);
  const double v = sum.value();
  return v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v);
}

}  // namespace

double smirnov_sf(index_t n, double x) {
  return run_in_arena([&] { return smirnov_tail(n, x); });
}

std::vector<double> smirnov_sf_batch(std::span<const index_t> n, std::span<const double> x) {
  constexpr const char* fn = "smirnov_sf_batch";
  MLSD_REQUIRE(n.size() == x.size(), fn, "n and x must have the same length");
  return run_in_arena([&] {
    std::vector<double> out(n.size());
    tbb::parallel_for(std::size_t{0}, n.size(), [&](std::size_t c) { out[c] = smirnov_tail(n[c], x[c]); });
    return out;
  });
}

}  // namespace mlsd::monitoring
