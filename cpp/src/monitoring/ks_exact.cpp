#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include <tbb/parallel_for.h>

#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/monitoring.hpp"

namespace mlsd::monitoring {

namespace {

// Under the null every ordering of the pooled sample is equally likely, so the sequence of
// "reference"/"current" labels read in sorted order is a uniformly random lattice path from (0, 0)
// to (n1, n2): from (i, j) it steps to (i + 1, j) with probability (n1 - i) / (n1 - i + n2 - j).
// D >= h / lcm exactly when the path reaches a point with i n2 - j n1 >= h g (or <= -h g for the
// two-sided test).  The mass of the paths still inside is pushed forward row by row; the mass
// entering the boundary is absorbed and summed.
double outside_probability(index_t n1, index_t n2, index_t h, bool two_sided) {
  const index_t g = std::gcd(n1, n2);
  const index_t bound = h * g;  // in units of i n2 - j n1
  auto outside = [&](index_t i, index_t j) {
    const index_t diff = i * n2 - j * n1;
    return diff >= bound || (two_sided && -diff >= bound);
  };
  auto floor_div = [](index_t a, index_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); };
  // Row i holds mass only inside the band: j > (i n2 - bound) / n1 and, two-sided, j < (i n2 + bound) / n1.
  // Only the band is visited (O(n1 x band) instead of O(n1 n2): a small statistic is a narrow band),
  // and cleared after use, so that both rows are zero outside their band.
  std::vector<double> row(static_cast<std::size_t>(n2) + 2, 0.0), next(row.size(), 0.0);
  row[0] = 1.0;
  double absorbed = 0.0;
  for (index_t i = 0; i <= n1; ++i) {
    // O(n1 x band): minutes for large samples with a large statistic.  Ctrl-C every 256 rows.
    if ((i & 255) == 0) check_interrupt();
    const index_t lo = std::max<index_t>(0, floor_div(i * n2 - bound, n1) + 1);
    const index_t hi = two_sided ? std::min<index_t>(n2, -floor_div(-(i * n2 + bound), n1) - 1) : n2;
    for (index_t j = lo; j <= hi; ++j) {
      const double p = row[static_cast<std::size_t>(j)];
      if (p == 0.0) continue;
      const index_t left = (n1 - i) + (n2 - j);
      if (left == 0) continue;
      const double inv = 1.0 / static_cast<double>(left);
      if (i < n1) {  // a reference value next
        const double q = p * static_cast<double>(n1 - i) * inv;
        if (outside(i + 1, j)) {
          absorbed += q;
        } else {
          next[static_cast<std::size_t>(j)] += q;
        }
      }
      if (j < n2) {  // a current value next
        const double q = p * static_cast<double>(n2 - j) * inv;
        if (outside(i, j + 1)) {
          absorbed += q;
        } else {
          row[static_cast<std::size_t>(j) + 1] += q;
        }
      }
    }
    if (lo <= hi) std::fill(row.begin() + lo, row.begin() + hi + 1, 0.0);
    row.swap(next);
  }
  return std::min(1.0, absorbed);
}

}  // namespace

double ks_exact_sf(index_t n1, index_t n2, index_t h, bool two_sided) {
  constexpr const char* fn = "ks_exact_sf";
  MLSD_REQUIRE(n1 >= 1 && n2 >= 1, fn, "both samples must be non-empty, got sizes ", n1, " and ", n2);
  MLSD_REQUIRE(h >= 0, fn, "h must be >= 0, got ", h);
  // i n2 - j n1 and h g must fit in 64 bits
  MLSD_REQUIRE(n1 <= (index_t{1} << 31) && n2 <= (index_t{1} << 31), fn, "sample sizes too large for the exact test");
  if (h == 0) return 1.0;
  return outside_probability(n1, n2, h, two_sided);
}

std::vector<double> ks_exact_sf_batch(std::span<const index_t> n1, std::span<const index_t> n2,
                                      std::span<const index_t> h, bool two_sided) {
  constexpr const char* fn = "ks_exact_sf_batch";
  MLSD_REQUIRE(n1.size() == n2.size() && n1.size() == h.size(), fn, "n1, n2 and h must have the same length");
  return run_in_arena([&] {
    std::vector<double> out(n1.size());
    tbb::parallel_for(std::size_t{0}, n1.size(), [&](std::size_t c) { out[c] = ks_exact_sf(n1[c], n2[c], h[c], two_sided); });
    return out;
  });
}

}  // namespace mlsd::monitoring
