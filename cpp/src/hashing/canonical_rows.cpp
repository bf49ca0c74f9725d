#include "mlsd/detail/canonical_rows.hpp"

#include <cstring>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace mlsd::hashing::detail {

void advise_huge_pages(void* p, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::uintptr_t kHuge = std::uintptr_t{1} << 21;
  const auto begin = (reinterpret_cast<std::uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(kHuge - 1);
  // Advice only: when it is refused (THP disabled, an old kernel) the pages are just small.
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

// The compare-exchanges are min/max over lanes: SSE2 has no 32-bit min/max, AVX2 does, on 8 lanes.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void sort_lanes_by_network(std::uint32_t* base, std::int64_t stride, std::int64_t width,
                           const std::vector<std::pair<std::uint32_t, std::uint32_t>>& network) {
  // Compared as signed integers after flipping the top bit (the same order): x86 compares 32-bit
  // lanes as signed.
  auto flip = [&] {
    for (std::int64_t k = 0; k < width; ++k)
      for (std::int64_t l = 0; l < kSortLanes; ++l) base[k * stride + l] ^= 0x80000000u;
  };
  flip();
  for (const auto& [i, j] : network) {
    std::uint32_t* a = base + i * stride;
    std::uint32_t* b = base + j * stride;
#if defined(__GNUC__)
    // One vector of lanes (GCC/Clang vector extension): one min and one max instruction with AVX2.
    using Lanes = std::int32_t __attribute__((vector_size(4 * kSortLanes)));
    Lanes x, y;
    std::memcpy(&x, a, sizeof x);
    std::memcpy(&y, b, sizeof y);
    const Lanes lo = x < y ? x : y, hi = x < y ? y : x;
    std::memcpy(a, &lo, sizeof lo);
    std::memcpy(b, &hi, sizeof hi);
#else
    std::int32_t x[kSortLanes], y[kSortLanes];
    std::memcpy(x, a, sizeof x);
    std::memcpy(y, b, sizeof y);
    for (std::int64_t l = 0; l < kSortLanes; ++l) {
      const std::int32_t lo = x[l] < y[l] ? x[l] : y[l];
      y[l] = x[l] < y[l] ? y[l] : x[l];
      x[l] = lo;
    }
    std::memcpy(a, x, sizeof x);
    std::memcpy(b, y, sizeof y);
#endif
  }
  flip();
}

}  // namespace mlsd::hashing::detail
