#include <cmath>
#include <cstdint>
#include <vector>

#include <tbb/parallel_invoke.h>

#include "mlsd/abtest.hpp"
#include "mlsd/common/checks.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/detail/radix_sort.hpp"

namespace mlsd::abtest {

RankSums mann_whitney_u(std::span<const double> x, std::span<const double> y) {
  constexpr const char* fn = "mann_whitney_u";
  MLSD_REQUIRE(!x.empty(), fn, "x is empty; at least one observation is required");
  MLSD_REQUIRE(!y.empty(), fn, "y is empty; at least one observation is required");
  detail::check_finite(x, fn, "x");
  detail::check_finite(y, fn, "y");
  // Each sample is sorted on its own (order-preserving integer keys, radix sort; the two sorts run
  // concurrently), then one merge walk over both visits the tie groups of the pooled sample.
  auto sorted_keys = [](std::span<const double> v) {
    std::vector<std::uint64_t> k(v.size());
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, v.size(), 1 << 16), [&](const tbb::blocked_range<std::size_t>& r) {
      for (std::size_t i = r.begin(); i != r.end(); ++i) k[i] = detail::double_key(v[i]);
    });
    detail::radix_sort(k);
    return k;
  };
  return run_in_arena([&] {
    std::vector<std::uint64_t> kx, ky;
    tbb::parallel_invoke([&] { kx = sorted_keys(x); }, [&] { ky = sorted_keys(y); });
    // Ranks are 1-based; a tie group of t values after `below` smaller ones has mid-rank
    // below + (t + 1) / 2.  Rank sums stay exact in doubles (half-integers below 2^52).
    const std::size_t nx = kx.size(), ny = ky.size();
    double rank_sum_x = 0.0, tie_term = 0.0;
    std::size_t i = 0, j = 0;
    while (i < nx || j < ny) {
      const std::uint64_t v = (j == ny || (i < nx && kx[i] <= ky[j])) ? kx[i] : ky[j];
      const std::size_t below = i + j;
      std::size_t cx = 0, cy = 0;
      while (i < nx && kx[i] == v) ++i, ++cx;
      while (j < ny && ky[j] == v) ++j, ++cy;
      const double t = static_cast<double>(cx + cy);
      rank_sum_x += static_cast<double>(cx) * (static_cast<double>(below) + (t + 1.0) / 2.0);
      if (cx + cy > 1) tie_term += t * t * t - t;
    }
    RankSums out;
    out.n_x = static_cast<index_t>(nx);
    out.n_y = static_cast<index_t>(ny);
    const double dnx = static_cast<double>(nx);
    out.u_x = rank_sum_x - dnx * (dnx + 1.0) / 2.0;
    out.tie_term = tie_term;
    return out;
  });
}

}  // namespace mlsd::abtest
