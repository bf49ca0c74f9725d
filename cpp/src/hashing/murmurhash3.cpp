#include <bit>

#include <tbb/parallel_reduce.h>

#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/detail/murmurhash3_stream.hpp"
#include "mlsd/hashing.hpp"

namespace mlsd::hashing {

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
