#include "mlsd/detail/canonical_rows.hpp"

#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace mlsd::hashing::detail {

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

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
namespace {

__attribute__((target("avx2"))) void write_full_lanes_avx2(const std::uint32_t* base, std::int64_t width,
                                                            std::int32_t* indices, double* values) {
  static_assert(kSortLanes == 8);
  const __m256i one_bits = _mm256_set1_epi64x(0x3FF0000000000000);  // 1.0; the code's low bit becomes the sign
  for (std::int64_t k0 = 0; k0 < width; k0 += 8) {
    const std::int64_t m = std::min<std::int64_t>(8, width - k0);  // wires in this tile
    __m256i w[8];
    for (int i = 0; i < 8; ++i)
      w[i] = i < m ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + (k0 + i) * 8)) : _mm256_setzero_si256();
    // 8 x 8 transpose: afterwards w[l] holds wires k0 .. k0 + 7 of lane (row) l.
    __m256i t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_epi32(w[i], w[i + 1]);
      t[i + 1] = _mm256_unpackhi_epi32(w[i], w[i + 1]);
    }
    for (int i = 0; i < 8; i += 4)
      for (int j = 0; j < 2; ++j) {
        u[i + j] = _mm256_unpacklo_epi64(t[i + j], t[i + j + 2]);
        u[i + j + 2] = _mm256_unpackhi_epi64(t[i + j], t[i + j + 2]);
      }
    for (int i = 0; i < 4; ++i) {
      w[i] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x20);
      w[i + 4] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x31);
    }
    // The unpacks leave lanes 1 and 2 (and 5 and 6) swapped: the row of lane l is w[kRow[l]].
    constexpr int kRow[8] = {0, 2, 1, 3, 4, 6, 5, 7};
    const __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(m)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256i keep_lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(keep));
    const __m256i keep_hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(keep, 1));
    for (int l = 0; l < 8; ++l) {
      const __m256i codes = w[kRow[l]];
      std::int32_t* idx = indices + l * width + k0;
      double* val = values + l * width + k0;
      _mm256_maskstore_epi32(idx, keep, _mm256_srli_epi32(codes, 1));
      const __m256i sign_lo = _mm256_slli_epi64(_mm256_cvtepu32_epi64(_mm256_castsi256_si128(codes)), 63);
      const __m256i sign_hi = _mm256_slli_epi64(_mm256_cvtepu32_epi64(_mm256_extracti128_si256(codes, 1)), 63);
      _mm256_maskstore_pd(val, keep_lo, _mm256_castsi256_pd(_mm256_or_si256(one_bits, sign_lo)));
      _mm256_maskstore_pd(val + 4, keep_hi, _mm256_castsi256_pd(_mm256_or_si256(one_bits, sign_hi)));
    }
  }
}

}  // namespace
#endif

bool write_full_lanes(const std::uint32_t* base, std::int64_t width, std::int32_t* indices, double* values) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (!avx2) return false;
  write_full_lanes_avx2(base, width, indices, values);
  return true;
#else
  (void)base, (void)width, (void)indices, (void)values;
  return false;
#endif
}

}  // namespace mlsd::hashing::detail
