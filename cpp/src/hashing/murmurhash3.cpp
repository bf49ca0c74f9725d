#include <algorithm>
#include <bit>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#if defined(__GNUC__) && !defined(__clang__)
// The mixing templates are instantiated for 32-byte vectors here and inlined into AVX2 code only;
// GCC's note about how such vectors would be passed to an out-of-line call does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#include <tbb/parallel_reduce.h>

#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/detail/murmurhash3_stream.hpp"
#include "mlsd/hashing.hpp"

namespace mlsd::hashing {

namespace detail {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
namespace {

using Lanes = std::uint32_t __attribute__((vector_size(32)));

// (Lambdas would not inherit the target attribute: the AVX2 steps are functions of their own.)
__attribute__((target("avx2"))) inline Lanes gather(const char* p0, Lanes at, Lanes mask) {
  return (Lanes)_mm256_mask_i32gather_epi32(_mm256_setzero_si256(), reinterpret_cast<const int*>(p0), (__m256i)at,
                                            (__m256i)mask, 1);
}

// The bytes of word w that do not fit beside `shift` / 8 pending bytes.
__attribute__((target("avx2"))) inline Lanes carry(Lanes w, std::uint32_t shift) {
  return shift == 0 ? Lanes{} : w >> (32 - shift);
}

template <class Offset>
__attribute__((target("avx2"))) bool hash_x8_avx2(const MurmurStream::State& start, const char* data, std::size_t data_size,
                                                  const Offset* offsets, std::uint32_t* out) {
  // Positions are 32-bit, relative to the first string's start.
  const std::int64_t base = offsets[0];
  if (offsets[8] - base > INT32_MAX) return false;
  std::int32_t begin[8], size[8];
  for (int l = 0; l < 8; ++l) {
    begin[l] = static_cast<std::int32_t>(offsets[l] - base);
    size[l] = static_cast<std::int32_t>(offsets[l + 1] - offsets[l]);
  }
  const auto most = static_cast<std::uint32_t>(*std::max_element(size, size + 8));
  // The last 4-byte window inside the buffer, relative to base (saturated).
  const auto last_window = static_cast<std::int32_t>(
      std::min<std::int64_t>(static_cast<std::int64_t>(data_size) - 4 - base, INT32_MAX));
  const char* p0 = data + base;
  const auto shift = static_cast<std::uint32_t>(8 * start.n_tail);  // the same pending bytes in every lane
  Lanes b, n;
  std::memcpy(&b, begin, sizeof b);
  std::memcpy(&n, size, sizeof n);
  Lanes h = Lanes{} + start.h, tail = Lanes{} + start.tail;
  const Lanes words = n >> 2;
  for (std::uint32_t i = 0; 4 * i + 4 <= most; ++i) {
    const Lanes active = words > i ? ~Lanes{} : Lanes{};
    const Lanes w = gather(p0, b + 4 * i, active);
    h = active ? mix_block(h, tail | (w << shift)) : h;
    tail = active ? carry(w, shift) : tail;
  }
  // The last size % 4 bytes, read from the 4-byte window where they start, or from the window
  // ending at the buffer's end when that one would leave the buffer.
  const Lanes rem = n & 3u, from = b + (n - rem);
  const Lanes at = (Lanes)_mm256_min_epi32((__m256i)from, _mm256_set1_epi32(last_window));
  const Lanes w = (gather(p0, at, ~Lanes{}) >> (((from - at) & 3u) * 8)) & (((Lanes{} + 1u) << (rem * 8)) - 1u);
  const Lanes pending = (Lanes{} + start.n_tail) + rem;
  const Lanes low = tail | (w << shift);
  const Lanes full = pending > 3u ? ~Lanes{} : Lanes{};
  h = full ? mix_block(h, low) : h;
  tail = full ? carry(w, shift) : low;
  h ^= (pending & 3u) != 0 ? mix_k1(tail) : Lanes{};
  h ^= (Lanes{} + start.len) + n;
  const Lanes hashes = fmix(h);
  std::memcpy(out, &hashes, sizeof hashes);
  return true;
}

}  // namespace
#endif

bool hash_strings_x8(const MurmurStream& start, const StringsView& s, std::int64_t first, std::uint32_t* out) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (!avx2 || s.data.size() < 4) return false;
  return s.offsets.empty() ? hash_x8_avx2(start.state(), s.data.data(), s.data.size(), s.offsets32.data() + first, out)
                           : hash_x8_avx2(start.state(), s.data.data(), s.data.size(), s.offsets.data() + first, out);
#else
  (void)start, (void)s, (void)first, (void)out;
  return false;
#endif
}

}  // namespace detail

std::uint32_t murmurhash3_32(const void* key, std::size_t len, std::uint32_t seed) {
  using namespace detail;
  const auto* data = static_cast<const unsigned char*>(key);
  const std::size_t n_blocks = len / 4;
  std::uint32_t h1 = seed;
  for (std::size_t i = 0; i < n_blocks; ++i) h1 = mix_block(h1, load_le32(data + 4 * i));
  const std::size_t rest = len & 3;
  const std::uint32_t tail = rest ? load_le_partial(data + 4 * n_blocks, rest) : 0;
  return finalize(h1, tail, rest != 0, static_cast<std::uint32_t>(len));
}

void murmurhash3_32_int32(std::span<const std::int32_t> keys, std::uint32_t seed, std::span<std::uint32_t> out) {
  MLSD_REQUIRE(out.size() == keys.size(), "murmurhash3_32", "output has ", out.size(), " elements, expected ", keys.size());
  run_in_arena([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, keys.size()), [&](const tbb::blocked_range<std::size_t>& r) {
      for (auto i = r.begin(); i != r.end(); ++i) {
        std::uint32_t le = static_cast<std::uint32_t>(keys[i]);
        if constexpr (std::endian::native == std::endian::big) le = __builtin_bswap32(le);
        out[i] = murmurhash3_32(&le, 4, seed);
      }
    });
  });
}

void check_strings(const StringsView& s, const char* fn, const char* what) {
  auto check = [&](auto offsets) {
    if (offsets.empty()) return;
    MLSD_REQUIRE(offsets.front() >= 0 && offsets.back() >= 0 && static_cast<std::size_t>(offsets.back()) <= s.data.size(),
                 fn, what, ": string offsets out of range");
    // One pass over millions of offsets per column: in parallel, in the arena of the kernel.
    const bool ordered = run_in_arena([&] {
      return tbb::parallel_reduce(
          tbb::blocked_range<std::size_t>(1, offsets.size()), true,
          [&](const tbb::blocked_range<std::size_t>& r, bool ok) {
            for (auto i = r.begin(); i != r.end(); ++i) ok &= offsets[i] >= offsets[i - 1];
            return ok;
          },
          [](bool a, bool b) { return a && b; });
    });
    MLSD_REQUIRE(ordered, fn, what, ": string offsets must be non-decreasing");
  };
  if (s.offsets.empty()) check(s.offsets32);
  else check(s.offsets);
}

void check_n_features(std::int64_t n_features, const char* fn) {
  MLSD_REQUIRE(n_features >= 1 && n_features <= INT32_MAX, fn, "n_features must be in [1, 2**31 - 1]; got ", n_features);
}

}  // namespace mlsd::hashing
