// Internal helpers of mlsd::features: ranges and packing of (code, time) into one radix key.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "mlsd/common/parallel.hpp"

namespace mlsd::features::detail {

inline constexpr std::int64_t kChunk = 1 << 16;

template <class F>
void parallel_rows(std::int64_t n, F&& f) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, kChunk), [&](const tbb::blocked_range<std::int64_t>& r) {
    for (std::int64_t i = r.begin(); i != r.end(); ++i) f(i);
  });
}

struct Range {
  std::int64_t lo = std::numeric_limits<std::int64_t>::max();
  std::int64_t hi = std::numeric_limits<std::int64_t>::min();
  Range operator|(const Range& o) const { return Range{std::min(lo, o.lo), std::max(hi, o.hi)}; }
  bool empty() const { return lo > hi; }
};

inline Range range_of(std::span<const std::int64_t> x) {
  return mlsd::detail::ordered_reduce<Range>(
      static_cast<std::int64_t>(x.size()), Range{},
      [&](std::int64_t b, std::int64_t e) {
        Range r;
        for (std::int64_t i = b; i < e; ++i) {
          r.lo = std::min(r.lo, x[i]);
          r.hi = std::max(r.hi, x[i]);
        }
        return r;
      },
      [](Range a, const Range& b) { return a | b; });
}

inline std::uint64_t span_of(const Range& r) {
  return r.empty() ? 0 : static_cast<std::uint64_t>(r.hi) - static_cast<std::uint64_t>(r.lo);
}

// Bits needed to hold any value in [0, span].
inline int bits_for(std::uint64_t span) { return span == 0 ? 0 : 64 - std::countl_zero(span); }

// gcd of every x - lo (0 when all equal lo): times stored in ns but recorded to the second pack
// into 30 fewer bits once divided by it.  One modulo per row while the divisor holds.
inline std::uint64_t gcd_of(std::span<const std::int64_t> x, std::int64_t lo) {
  return mlsd::detail::ordered_reduce<std::uint64_t>(
      static_cast<std::int64_t>(x.size()), 0,
      [&](std::int64_t b, std::int64_t e) {
        std::uint64_t g = 0;
        for (std::int64_t i = b; i < e && g != 1; ++i) {
          const std::uint64_t d = static_cast<std::uint64_t>(x[i]) - static_cast<std::uint64_t>(lo);
          if (g == 0 ? d != 0 : d % g != 0) g = std::gcd(g, d);
        }
        return g;
      },
      [](std::uint64_t a, std::uint64_t b) { return std::gcd(a, b); });
}

// key = (code - code_lo) << time_bits | (time - time_lo) / divisor, when that fits in 64 bits:
// one unsigned comparison then orders rows by (code, time).
struct Packing {
  bool fits = false;
  std::int64_t code_lo = 0, time_lo = 0;
  std::uint64_t divisor = 1;
  int time_bits = 0;

  std::uint64_t key(std::int64_t code, std::int64_t time) const {
    const std::uint64_t c = static_cast<std::uint64_t>(code) - static_cast<std::uint64_t>(code_lo);
    const std::uint64_t t = (static_cast<std::uint64_t>(time) - static_cast<std::uint64_t>(time_lo)) / divisor;
    return time_bits == 64 ? t : (c << time_bits) | t;
  }
  std::uint64_t entity(std::uint64_t key) const { return time_bits == 64 ? 0 : key >> time_bits; }
  std::int64_t code(std::uint64_t key) const {
    return static_cast<std::int64_t>(entity(key) + static_cast<std::uint64_t>(code_lo));
  }
};

inline Packing plan_packing(const Range& codes, const Range& times, std::span<const std::span<const std::int64_t>> time_columns) {
  Packing p;
  if (codes.empty() || times.empty()) return p;
  p.code_lo = codes.lo;
  p.time_lo = times.lo;
  const int code_bits = bits_for(span_of(codes));
  std::uint64_t tspan = span_of(times);
  if (code_bits + bits_for(tspan) > 64) {
    std::uint64_t g = 0;
    for (auto col : time_columns) {
      g = std::gcd(g, gcd_of(col, times.lo));
      if (g == 1) break;
    }
    if (g > 1) {
      p.divisor = g;
      tspan /= g;
    }
  }
  p.time_bits = bits_for(tspan);
  p.fits = code_bits + p.time_bits <= 64;
  return p;
}

}  // namespace mlsd::features::detail
