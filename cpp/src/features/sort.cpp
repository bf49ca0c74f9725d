// Ordering rows by (entity code, time[, tie]) with the shared LSD radix sort.
#include <algorithm>
#include <array>
#include <bit>
#include <limits>
#include <numeric>

#include <tbb/parallel_for.h>

#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/detail/radix_sort.hpp"
#include "mlsd/features.hpp"

namespace mlsd::features {
namespace {

constexpr std::int64_t kChunk = 1 << 16;

struct Range {
  std::int64_t lo = std::numeric_limits<std::int64_t>::max();
  std::int64_t hi = std::numeric_limits<std::int64_t>::min();
};

Range range_of(std::span<const std::int64_t> x) {
  return detail::ordered_reduce<Range>(
      static_cast<std::int64_t>(x.size()), Range{},
      [&](std::int64_t b, std::int64_t e) {
        Range r;
        for (std::int64_t i = b; i < e; ++i) {
          r.lo = std::min(r.lo, x[i]);
          r.hi = std::max(r.hi, x[i]);
        }
        return r;
      },
      [](Range a, const Range& b) { return Range{std::min(a.lo, b.lo), std::max(a.hi, b.hi)}; });
}

// Bits needed to hold x - lo for every x in the range (0 for a constant field).
int bits_of(const Range& r) {
  const auto span = static_cast<std::uint64_t>(r.hi) - static_cast<std::uint64_t>(r.lo);
  return span == 0 ? 0 : 64 - std::countl_zero(span);
}

template <class F>
void parallel_rows(std::int64_t n, F&& f) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, kChunk), [&](const tbb::blocked_range<std::int64_t>& r) {
    for (std::int64_t i = r.begin(); i != r.end(); ++i) f(i);
  });
}

}  // namespace

buffer<index_t> sort_order(std::span<const std::int64_t> codes, std::span<const std::int64_t> times,
                           std::span<const std::int64_t> tie) {
  const auto n = static_cast<std::int64_t>(codes.size());
  MLSD_REQUIRE(times.size() == codes.size(), "sort_order", "times has ", times.size(), " elements, codes has ", n);
  MLSD_REQUIRE(tie.empty() || tie.size() == codes.size(), "sort_order", "tie has ", tie.size(),
               " elements, codes has ", n);
  buffer<index_t> perm(static_cast<std::size_t>(n));
  parallel_rows(n, [&](std::int64_t i) { perm[i] = i; });
  if (n < 2) return perm;

  // Fields from the most to the least significant.
  std::array<std::span<const std::int64_t>, 3> fields{codes, times, tie};
  const int n_fields = tie.empty() ? 2 : 3;
  std::array<Range, 3> ranges{};
  std::array<int, 3> bits{};
  int total = 0;
  for (int f = 0; f < n_fields; ++f) {
    ranges[f] = range_of(fields[f]);
    bits[f] = bits_of(ranges[f]);
    total += bits[f];
  }
  buffer<std::uint64_t> keys(static_cast<std::size_t>(n));
  auto offset = [&](int f, std::int64_t row) {
    return static_cast<std::uint64_t>(fields[f][row]) - static_cast<std::uint64_t>(ranges[f].lo);
  };
  if (total <= 64) {  // one key: (code - min, time - min, tie - min) side by side
    parallel_rows(n, [&](std::int64_t i) {
      std::uint64_t k = 0;
      for (int f = 0; f < n_fields; ++f) k = bits[f] == 0 ? k : (k << bits[f]) | offset(f, i);
      keys[i] = k;
    });
    detail::radix_sort(keys, &perm);
    return perm;
  }
  // One stable pass per field, least significant first; each reads its field in the current order.
  buffer<std::uint64_t> key_scratch;
  buffer<index_t> perm_scratch;
  for (int f = n_fields - 1; f >= 0; --f) {
    if (bits[f] == 0) continue;
    parallel_rows(n, [&](std::int64_t i) { keys[i] = offset(f, perm[i]); });
    detail::radix_sort(keys, &perm, &key_scratch, &perm_scratch);
  }
  return perm;
}

buffer<index_t> sort_order_in_arena(std::span<const std::int64_t> codes, std::span<const std::int64_t> times,
                                    std::span<const std::int64_t> tie) {
  return run_in_arena([&] { return sort_order(codes, times, tie); });
}

}  // namespace mlsd::features
