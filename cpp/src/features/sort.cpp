// Ordering rows by (entity code, time[, tie]) with the shared LSD radix sort.
#include <array>

#include "keys.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/detail/radix_sort.hpp"
#include "mlsd/features.hpp"

namespace mlsd::features {

using detail::parallel_rows;

buffer<index_t> sort_order(std::span<const std::int64_t> codes, std::span<const std::int64_t> times,
                           std::span<const std::int64_t> tie) {
  const auto n = static_cast<std::int64_t>(codes.size());
  MLSD_REQUIRE(times.size() == codes.size(), "sort_order", "times has ", times.size(), " elements, codes has ", n);
  MLSD_REQUIRE(tie.empty() || tie.size() == codes.size(), "sort_order", "tie has ", tie.size(),
               " elements, codes has ", n);
  buffer<index_t> perm(static_cast<std::size_t>(n));
  parallel_rows(n, [&](std::int64_t i) { perm[i] = i; });
  if (n < 2) return perm;
  buffer<std::uint64_t> keys(static_cast<std::size_t>(n));

  if (tie.empty()) {  // the common case: (code, time) in one key when they fit (times divided by their gcd)
    const std::array<std::span<const std::int64_t>, 1> cols{times};
    const detail::Packing p = detail::plan_packing(detail::range_of(codes), detail::range_of(times), cols);
    if (p.fits) {
      parallel_rows(n, [&](std::int64_t i) { keys[i] = p.key(codes[i], times[i]); });
      mlsd::detail::radix_sort(keys, &perm);
      return perm;
    }
  }
  // Fields from the most to the least significant.
  std::array<std::span<const std::int64_t>, 3> fields{codes, times, tie};
  const int n_fields = tie.empty() ? 2 : 3;
  std::array<detail::Range, 3> ranges{};
  std::array<int, 3> bits{};
  int total = 0;
  for (int f = 0; f < n_fields; ++f) {
    ranges[f] = detail::range_of(fields[f]);
    bits[f] = detail::bits_for(detail::span_of(ranges[f]));
    total += bits[f];
  }
  auto offset = [&](int f, std::int64_t row) {
    return static_cast<std::uint64_t>(fields[f][row]) - static_cast<std::uint64_t>(ranges[f].lo);
  };
  if (total <= 64) {  // one key: (code - min, time - min, tie - min) side by side
    parallel_rows(n, [&](std::int64_t i) {
      std::uint64_t k = 0;
      // A 64-bit field is the only non-constant one (k is still 0): it is the key, never k << 64.
      for (int f = 0; f < n_fields; ++f)
        k = bits[f] == 0 ? k : bits[f] == 64 ? offset(f, i) : (k << bits[f]) | offset(f, i);
      keys[i] = k;
    });
    mlsd::detail::radix_sort(keys, &perm);
    return perm;
  }
  // One stable pass per field, least significant first; each reads its field in the current order.
  buffer<std::uint64_t> key_scratch;
  buffer<index_t> perm_scratch;
  for (int f = n_fields - 1; f >= 0; --f) {
    if (bits[f] == 0) continue;
    parallel_rows(n, [&](std::int64_t i) { keys[i] = offset(f, perm[i]); });
    mlsd::detail::radix_sort(keys, &perm, &key_scratch, &perm_scratch);
  }
  return perm;
}

buffer<index_t> sort_order_in_arena(std::span<const std::int64_t> codes, std::span<const std::int64_t> times,
                                    std::span<const std::int64_t> tie) {
  return run_in_arena([&] { return sort_order(codes, times, tie); });
}

}  // namespace mlsd::features
