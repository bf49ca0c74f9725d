#include <bit>
#include <cstring>

#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/hashing.hpp"

namespace mlsd::hashing {
namespace {

inline std::uint32_t load_le32(const unsigned char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

inline std::uint32_t fmix32(std::uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bU;
  h ^= h >> 13;
  h *= 0xc2b2ae35U;
  h ^= h >> 16;
  return h;
}

}  // namespace

std::uint32_t murmurhash3_32(const void* key, std::size_t len, std::uint32_t seed) {
  constexpr std::uint32_t c1 = 0xcc9e2d51U, c2 = 0x1b873593U;
  const auto* data = static_cast<const unsigned char*>(key);
  const std::size_t n_blocks = len / 4;
  std::uint32_t h1 = seed;
  for (std::size_t i = 0; i < n_blocks; ++i) {
    std::uint32_t k1 = load_le32(data + 4 * i);
    k1 *= c1;
    k1 = std::rotl(k1, 15);
    k1 *= c2;
    h1 ^= k1;
    h1 = std::rotl(h1, 13);
    h1 = h1 * 5 + 0xe6546b64U;
  }
  const unsigned char* tail = data + 4 * n_blocks;
  std::uint32_t k1 = 0;
  switch (len & 3) {
    case 3: k1 ^= static_cast<std::uint32_t>(tail[2]) << 16; [[fallthrough]];
    case 2: k1 ^= static_cast<std::uint32_t>(tail[1]) << 8; [[fallthrough]];
    case 1:
      k1 ^= tail[0];
      k1 *= c1;
      k1 = std::rotl(k1, 15);
      k1 *= c2;
      h1 ^= k1;
  }
  h1 ^= static_cast<std::uint32_t>(len);  // the reference takes the length as int: low 32 bits
  return fmix32(h1);
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
  if (s.offsets.empty()) return;
  MLSD_REQUIRE(s.offsets.front() == 0 && s.offsets.back() >= 0 && static_cast<std::size_t>(s.offsets.back()) <= s.data.size(),
               fn, what, ": string offsets out of range");
  for (std::size_t i = 1; i < s.offsets.size(); ++i)
    MLSD_REQUIRE(s.offsets[i] >= s.offsets[i - 1], fn, what, ": string offsets must be non-decreasing");
}

void check_n_features(std::int64_t n_features, const char* fn) {
  MLSD_REQUIRE(n_features >= 1 && n_features <= INT32_MAX, fn, "n_features must be in [1, 2**31 - 1]; got ", n_features);
}

}  // namespace mlsd::hashing
