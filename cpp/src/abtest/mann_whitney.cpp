#include <cmath>
#include <cstdint>
#include <vector>

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
  const std::size_t nx = x.size(), n = x.size() + y.size();
  return run_in_arena([&] {
    std::vector<std::uint64_t> keys(n);
    std::vector<std::uint8_t> from_x(n);
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 1 << 16), [&](const tbb::blocked_range<std::size_t>& r) {
      for (std::size_t i = r.begin(); i != r.end(); ++i) {
        const bool in_x = i < nx;
        keys[i] = detail::double_key(in_x ? x[i] : y[i - nx]);
        from_x[i] = in_x;
      }
    });
    detail::radix_sort(keys, &from_x);
    // Ranks are 1-based; a tie group occupying positions [i, j) gets the mid-rank (i + 1 + j) / 2.
    // Rank sums stay exact in doubles (half-integers below 2^52); the tie term is a sum of cubes.
    RankSums out;
    out.n_x = static_cast<index_t>(nx);
    out.n_y = static_cast<index_t>(n - nx);
    double rank_sum_x = 0.0, tie_term = 0.0;
    std::size_t i = 0;
    while (i < n) {
      std::size_t j = i + 1;
      std::size_t in_x = from_x[i];
      while (j < n && keys[j] == keys[i]) in_x += from_x[j++];
      const double t = static_cast<double>(j - i);
      rank_sum_x += static_cast<double>(in_x) * (0.5 * static_cast<double>(i + 1 + j));
      if (j - i > 1) tie_term += t * t * t - t;
      i = j;
    }
    const double dnx = static_cast<double>(nx);
    out.u_x = rank_sum_x - dnx * (dnx + 1.0) / 2.0;
    out.tie_term = tie_term;
    return out;
  });
}

}  // namespace mlsd::abtest
