#include "distances.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MLSD_X86 1
#endif

namespace mlsd::retrieval::detail {
namespace {

// Four independent accumulators: without -ffast-math the compiler will not reorder one sum.
template <bool L2>
float generic(const float* a, const float* b, std::size_t d) {
  float acc[4] = {0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 4 <= d; i += 4) {
    for (int j = 0; j < 4; ++j) {
      const float t = L2 ? a[i + j] - b[i + j] : a[i + j] * b[i + j];
      acc[j] += L2 ? t * t : t;
    }
  }
  float s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  for (; i < d; ++i) {
    const float t = L2 ? a[i] - b[i] : a[i] * b[i];
    s += L2 ? t * t : t;
  }
  return s;
}

std::size_t select_generic(const float* x, std::size_t n, float threshold, std::uint32_t* out) {
  std::size_t m = 0;
  for (std::size_t i = 0; i < n; ++i) {
    out[m] = static_cast<std::uint32_t>(i);
    m += x[i] >= threshold ? 1 : 0;  // branch-free: most scores fail
  }
  return m;
}

#ifdef MLSD_X86
__attribute__((target("avx2"))) std::size_t select_avx2(const float* x, std::size_t n, float threshold,
                                                        std::uint32_t* out) {
  const __m256 t = _mm256_set1_ps(threshold);
  std::size_t m = 0, i = 0;
  for (; i + 8 <= n; i += 8) {
    unsigned mask = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), t, _CMP_GE_OQ)));
    while (mask != 0) {
      out[m++] = static_cast<std::uint32_t>(i + static_cast<std::size_t>(__builtin_ctz(mask)));
      mask &= mask - 1;
    }
  }
  for (; i < n; ++i) {
    if (x[i] >= threshold) out[m++] = static_cast<std::uint32_t>(i);
  }
  return m;
}

__attribute__((target("avx2,fma"))) inline float hsum256(__m256 v) {
  const __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  __m128 s = _mm_add_ps(lo, hi);
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <bool L2>
__attribute__((target("avx2,fma"))) float avx2(const float* a, const float* b, std::size_t d) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    const __m256 a0 = _mm256_loadu_ps(a + i), b0 = _mm256_loadu_ps(b + i);
    const __m256 a1 = _mm256_loadu_ps(a + i + 8), b1 = _mm256_loadu_ps(b + i + 8);
    if constexpr (L2) {
      const __m256 t0 = _mm256_sub_ps(a0, b0), t1 = _mm256_sub_ps(a1, b1);
      acc0 = _mm256_fmadd_ps(t0, t0, acc0);
      acc1 = _mm256_fmadd_ps(t1, t1, acc1);
    } else {
      acc0 = _mm256_fmadd_ps(a0, b0, acc0);
      acc1 = _mm256_fmadd_ps(a1, b1, acc1);
    }
  }
  for (; i + 8 <= d; i += 8) {
    const __m256 a0 = _mm256_loadu_ps(a + i), b0 = _mm256_loadu_ps(b + i);
    if constexpr (L2) {
      const __m256 t0 = _mm256_sub_ps(a0, b0);
      acc0 = _mm256_fmadd_ps(t0, t0, acc0);
    } else {
      acc0 = _mm256_fmadd_ps(a0, b0, acc0);
    }
  }
  float s = hsum256(_mm256_add_ps(acc0, acc1));
  for (; i < d; ++i) {
    const float t = L2 ? a[i] - b[i] : a[i] * b[i];
    s += L2 ? t * t : t;
  }
  return s;
}

bool has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

}  // namespace

DistanceFn inner_product_fn() {
#ifdef MLSD_X86
  static const DistanceFn fn = has_avx2() ? &avx2<false> : &generic<false>;
  return fn;
#else
  return &generic<false>;
#endif
}

SelectFn select_at_least_fn() {
#ifdef MLSD_X86
  static const SelectFn fn = has_avx2() ? &select_avx2 : &select_generic;
  return fn;
#else
  return &select_generic;
#endif
}

DistanceFn l2sqr_fn() {
#ifdef MLSD_X86
  static const DistanceFn fn = has_avx2() ? &avx2<true> : &generic<true>;
  return fn;
#else
  return &generic<true>;
#endif
}

}  // namespace mlsd::retrieval::detail
