#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "mlsd/abtest.hpp"
#include "mlsd/common/checks.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"

namespace mlsd::abtest {
namespace {

// SplitMix64's finaliser (Steele, Lea and Flood 2014): a bijective 64-bit mixer, used here as a
// counter-based generator (Salmon et al. 2011) on the key (seed, stream, resample) and the row.
inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

inline std::uint64_t resample_key(std::uint64_t seed, std::uint64_t stream, std::int64_t b) {
  return mix64(mix64(mix64(seed ^ 0x5851F42D4C957F2DULL) + stream * kGolden) + static_cast<std::uint64_t>(b) * kGolden);
}

// Thresholds T_k = 2^32 P(X <= k) for X ~ Poisson(1): the weight of a uniform 32-bit u is the
// number of k with u >= T_k.  P(X > 12) = 1.7e-10 is below the 2^-32 resolution, so 13 levels.
struct PoissonTable {
  std::array<std::uint32_t, 13> t{};
  PoissonTable() {
    double term = std::exp(-1.0), cdf = 0.0;
    for (int k = 0; k < 13; ++k) {
      cdf += term;
      term /= (k + 1);
      const double v = std::ldexp(cdf, 32);
      t[k] = v >= 4294967295.0 ? 0xFFFFFFFFU : static_cast<std::uint32_t>(v);
    }
  }
};
const PoissonTable kTable;

inline std::uint32_t weight_of(std::uint32_t u) {
  const auto& t = kTable.t;
  // X <= 3 with probability 0.981: four branch-free compares, the rest rarely.
  std::uint32_t w = (u >= t[0]) + (u >= t[1]) + (u >= t[2]) + (u >= t[3]);
  if (w == 4) [[unlikely]]
    for (int k = 4; k < 13 && u >= t[k]; ++k) ++w;
  return w;
}

// Weight of key k in resample `key`: keys 2m and 2m+1 share one 64-bit hash (low and high half).
inline std::uint32_t weight_at(std::uint64_t key, std::int64_t k) {
  const std::uint64_t h = mix64(key + static_cast<std::uint64_t>(k >> 1) * kGolden);
  return weight_of(static_cast<std::uint32_t>((k & 1) != 0 ? h >> 32 : h));
}

// Calls f(i, w, lane) for rows i in [b, e) of resample `key` in order, w the row's weight.  With
// consecutive keys, pairs of rows share a hash; `lane` (a compile-time 0 or 1) alternates within a
// pair, so callers can keep two accumulators in registers.
template <class F>
inline void for_each_weight(std::uint64_t key, const RowKeys& rows, std::int64_t b, std::int64_t e, F&& f) {
  if (!rows.keys.empty()) {  // lanes alternate as below, so keys 0, 1, ... give the default's sums bit for bit
    const auto* k = rows.keys.data();
    std::int64_t i = b;
    for (; i + 1 < e; i += 2) {
      f(i, weight_at(key, k[i]), std::integral_constant<int, 0>{});
      f(i + 1, weight_at(key, k[i + 1]), std::integral_constant<int, 1>{});
    }
    if (i < e) f(i, weight_at(key, k[i]), std::integral_constant<int, 0>{});
    return;
  }
  std::int64_t i = b, k = rows.first_row + b;
  if (i < e && (k & 1) != 0) f(i++, weight_at(key, k++), std::integral_constant<int, 0>{});
  for (; i + 1 < e; i += 2, k += 2) {
    const std::uint64_t h = mix64(key + static_cast<std::uint64_t>(k >> 1) * kGolden);
    f(i, weight_of(static_cast<std::uint32_t>(h)), std::integral_constant<int, 0>{});
    f(i + 1, weight_of(static_cast<std::uint32_t>(h >> 32)), std::integral_constant<int, 1>{});
  }
  if (i < e) f(i, weight_at(key, k), std::integral_constant<int, 0>{});
}

// Weights of rows [b, e) of resample `key` into out[0 .. e-b).
inline void weights(std::uint64_t key, const RowKeys& rows, std::int64_t b, std::int64_t e, std::uint32_t* out) {
  for_each_weight(key, rows, b, e, [&](std::int64_t i, std::uint32_t w, auto) { out[i - b] = w; });
}

constexpr std::int64_t kChunk = 1 << 14;  // rows per task: the chunk's data and weights stay in L1/L2

void check_resamples(std::int64_t n_resamples, std::int64_t first, const RowKeys& rows, std::size_t n,
                     const char* fn) {
  MLSD_REQUIRE(n_resamples >= 1, fn, "n_resamples must be >= 1; got ", n_resamples);
  MLSD_REQUIRE(first >= 0, fn, "first_resample must be >= 0; got ", first);
  if (!rows.keys.empty()) {
    MLSD_REQUIRE(rows.keys.size() == n, fn, "keys has ", rows.keys.size(), " elements but the data has ", n);
    MLSD_REQUIRE(rows.first_row == 0, fn, "give either keys or first_row, not both");
  }
}

}  // namespace

std::uint32_t poisson1_weight(std::uint64_t seed, std::uint64_t stream, std::int64_t b, std::int64_t key) {
  return weight_at(resample_key(seed, stream, b), key);
}

BootstrapSums bootstrap_sums(std::span<const double> y, std::span<const double> d, std::int64_t n_resamples,
                             std::uint64_t seed, std::uint64_t stream, std::int64_t first_resample, RowKeys rows) {
  constexpr const char* fn = "bootstrap_sums";
  check_resamples(n_resamples, first_resample, rows, y.size(), fn);
  const bool has_d = !d.empty();
  MLSD_REQUIRE(!has_d || d.size() == y.size(), fn, "denominator has ", d.size(), " elements but y has ", y.size());
  detail::check_finite(y, fn, "y");
  if (has_d) detail::check_finite(d, fn, "denominator");
  const auto n = static_cast<std::int64_t>(y.size());
  const auto B = static_cast<std::size_t>(n_resamples);
  const std::size_t width = has_d ? 3 : 2;
  // Each chunk produces width x B partial sums; chunks are combined in index order, so the result
  // does not depend on how chunks were scheduled.
  using Partial = std::vector<double>;
  Partial total = run_in_arena([&] {
    return detail::ordered_reduce(
        n, Partial(width * B, 0.0),
        [&](std::int64_t b0, std::int64_t e0) {
          Partial p(width * B, 0.0);
          for (std::size_t r = 0; r < B; ++r) {
            check_interrupt();
            const std::uint64_t key = resample_key(seed, stream, first_resample + static_cast<std::int64_t>(r));
            // Two accumulators per sum (one per lane) break the floating-point add chains; the
            // order is fixed, so the sums do not depend on scheduling.  The weight total is an
            // exact integer.
            std::uint64_t sw = 0;
            double wy[2] = {0.0, 0.0}, wd[2] = {0.0, 0.0};
            for_each_weight(key, rows, b0, e0, [&](std::int64_t i, std::uint32_t w, auto lane) {
              const auto u = static_cast<std::size_t>(i);
              sw += w;
              wy[lane] += w * y[u];
              if (has_d) wd[lane] += w * d[u];
            });
            p[r] = static_cast<double>(sw);
            p[B + r] = wy[0] + wy[1];
            if (has_d) p[2 * B + r] = wd[0] + wd[1];
          }
          return p;
        },
        [](Partial acc, const Partial& p) {
          for (std::size_t k = 0; k < acc.size(); ++k) acc[k] += p[k];
          return acc;
        },
        kChunk);
  });
  BootstrapSums out;
  out.weight.assign(total.begin(), total.begin() + static_cast<std::ptrdiff_t>(B));
  out.y.assign(total.begin() + static_cast<std::ptrdiff_t>(B), total.begin() + static_cast<std::ptrdiff_t>(2 * B));
  if (has_d) out.d.assign(total.begin() + static_cast<std::ptrdiff_t>(2 * B), total.end());
  return out;
}

std::vector<double> bootstrap_quantiles(std::span<const double> sorted, std::span<const double> probs,
                                        std::int64_t n_resamples, std::uint64_t seed, std::uint64_t stream,
                                        std::int64_t first_resample, RowKeys rows) {
  constexpr const char* fn = "bootstrap_quantiles";
  check_resamples(n_resamples, first_resample, rows, sorted.size(), fn);
  MLSD_REQUIRE(!sorted.empty(), fn, "the sample is empty");
  detail::check_finite(sorted, fn, "x");
  MLSD_REQUIRE(std::is_sorted(sorted.begin(), sorted.end()), fn, "x must be sorted ascending");
  detail::check_in_range(probs, 0.0, 1.0, fn, "q");
  const auto n = static_cast<std::int64_t>(sorted.size());
  const auto B = static_cast<std::size_t>(n_resamples);
  const std::int64_t n_chunks = (n + kChunk - 1) / kChunk;
  const std::size_t nq = probs.size();
  std::vector<double> out(B * nq, std::numeric_limits<double>::quiet_NaN());
  run_in_arena([&] {
    // Pass 1: integer weight totals per (chunk, resample); exact, so order cannot matter.
    std::vector<std::uint64_t> chunk_total(static_cast<std::size_t>(n_chunks) * B);
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n_chunks, 1), [&](const tbb::blocked_range<std::int64_t>& rc) {
      std::vector<std::uint32_t> w(static_cast<std::size_t>(kChunk));
      for (std::int64_t c = rc.begin(); c != rc.end(); ++c) {
        const std::int64_t b0 = c * kChunk, e0 = std::min(n, b0 + kChunk);
        for (std::size_t r = 0; r < B; ++r) {
          check_interrupt();
          weights(resample_key(seed, stream, first_resample + static_cast<std::int64_t>(r)), rows, b0, e0, w.data());
          std::uint64_t s = 0;
          for (std::int64_t i = 0; i < e0 - b0; ++i) s += w[static_cast<std::size_t>(i)];
          chunk_total[static_cast<std::size_t>(c) * B + r] = s;
        }
      }
    });
    // Pass 2, per resample: find the chunk where the cumulative weight reaches each target, then
    // regenerate that chunk's weights to find the row.
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, B, 1), [&](const tbb::blocked_range<std::size_t>& rr) {
      std::vector<std::uint32_t> w(static_cast<std::size_t>(kChunk));
      for (std::size_t r = rr.begin(); r != rr.end(); ++r) {
        check_interrupt();
        std::uint64_t total = 0;
        for (std::int64_t c = 0; c < n_chunks; ++c) total += chunk_total[static_cast<std::size_t>(c) * B + r];
        if (total == 0) continue;
        const std::uint64_t key = resample_key(seed, stream, first_resample + static_cast<std::int64_t>(r));
        for (std::size_t k = 0; k < nq; ++k) {
          // First cumulative weight >= max(q W, 1): an integer target, ceil(q W) (at least 1).
          const double qw = probs[k] * static_cast<double>(total);
          std::uint64_t target = static_cast<std::uint64_t>(std::ceil(qw));
          target = std::clamp<std::uint64_t>(target, 1, total);
          std::uint64_t cum = 0;
          std::int64_t c = 0;
          while (cum + chunk_total[static_cast<std::size_t>(c) * B + r] < target) {
            cum += chunk_total[static_cast<std::size_t>(c) * B + r];
            ++c;
          }
          const std::int64_t b0 = c * kChunk, e0 = std::min(n, b0 + kChunk);
          weights(key, rows, b0, e0, w.data());
          std::int64_t i = b0;
          for (; i < e0; ++i) {
            cum += w[static_cast<std::size_t>(i - b0)];
            if (cum >= target) break;
          }
          out[r * nq + k] = sorted[static_cast<std::size_t>(i)];
        }
      }
    });
  });
  return out;
}

}  // namespace mlsd::abtest
