// Parallel stable LSD radix sort on 64-bit keys with an optional payload.
//
// Each pass handles an 11-bit digit (six passes for 64 bits; measured ~25% faster than 8-bit
// digits on 10M keys); digits that are identical across all keys (group ids below 2^22, say) are
// skipped.  Blocks count and scatter in parallel; the
// output is the unique stable order, so it does not depend on the number of blocks or threads.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include <tbb/parallel_for.h>

#include "mlsd/common/parallel.hpp"
#include "mlsd/common/views.hpp"

namespace mlsd::detail {

// Order-preserving map from double to uint64: a < b  <=>  key(a) < key(b).  -0.0 and +0.0 map to
// the same key, as they compare equal.  NaN must be rejected before.
inline std::uint64_t double_key(double x) {
  const std::uint64_t u = std::bit_cast<std::uint64_t>(x + 0.0);
  return (u >> 63) ? ~u : (u | 0x8000000000000000ULL);
}
inline double key_double(std::uint64_t k) {
  const std::uint64_t u = (k >> 63) ? (k & 0x7FFFFFFFFFFFFFFFULL) : ~k;
  return std::bit_cast<double>(u);
}
inline std::uint64_t int64_key(std::int64_t x) {
  return static_cast<std::uint64_t>(x) ^ 0x8000000000000000ULL;
}

struct NoPayload {};

// Keys and payload may be std::vector or mlsd::buffer (whose scratch copies are then left
// uninitialised instead of zero-filled before every sort).
// Scratch vectors, when given, hold the passes' second buffers (and are left holding one of the two
// buffers): a caller sorting many arrays in turn allocates them once.
// `low_bits` > 0: only the bits above the lowest `low_bits` are compared (the sort is stable, so a
// row number packed into the low bits of keys given in row order stays the tie-break without
// passes of its own).
template <class Payload = NoPayload, class KeyAlloc = std::allocator<std::uint64_t>,
          class PayloadAlloc = std::allocator<Payload>>
void radix_sort(std::vector<std::uint64_t, KeyAlloc>& keys, std::vector<Payload, PayloadAlloc>* payload = nullptr,
                std::vector<std::uint64_t, KeyAlloc>* key_scratch = nullptr,
                std::vector<Payload, PayloadAlloc>* payload_scratch = nullptr, int low_bits = 0) {
  constexpr bool kHasPayload = !std::is_same_v<Payload, NoPayload>;
  const std::size_t n = keys.size();
  if (n < 2 || low_bits >= 64) return;
  if (n < 4096) {  // small inputs: one comparison sort beats up to six passes
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return (keys[a] >> low_bits) < (keys[b] >> low_bits); });
    std::vector<std::uint64_t, KeyAlloc> k2(n);
    for (std::size_t i = 0; i < n; ++i) k2[i] = keys[order[i]];
    keys.swap(k2);
    if constexpr (kHasPayload) {
      std::vector<Payload, PayloadAlloc> p2(n);
      for (std::size_t i = 0; i < n; ++i) p2[i] = (*payload)[order[i]];
      payload->swap(p2);
    }
    return;
  }

  constexpr std::size_t kBlock = 1 << 16;
  constexpr int kBits = 11;
  constexpr std::size_t kRadix = std::size_t{1} << kBits;
  constexpr std::uint64_t kMask = kRadix - 1;
  const std::size_t n_blocks = (n + kBlock - 1) / kBlock;
  using Hist = std::array<std::size_t, kRadix>;

  // Which digits vary?  OR of (key XOR first key) shows every bit that is not constant.
  const std::uint64_t first = keys[0];
  std::vector<std::uint64_t> diff(n_blocks, 0);
  tbb::parallel_for(std::size_t{0}, n_blocks, [&](std::size_t b) {
    std::uint64_t d = 0;
    const std::size_t e = std::min(n, (b + 1) * kBlock);
    for (std::size_t i = b * kBlock; i < e; ++i) d |= keys[i] ^ first;
    diff[b] = d;
  });
  std::uint64_t varying = 0;
  for (auto d : diff) varying |= d;
  varying &= ~std::uint64_t{0} << low_bits;
  if (varying == 0) return;

  std::vector<std::uint64_t, KeyAlloc> own_keys;
  std::vector<Payload, PayloadAlloc> own_payload;
  auto& tmp_keys = key_scratch ? *key_scratch : own_keys;
  auto& tmp_payload = payload_scratch ? *payload_scratch : own_payload;
  tmp_keys.resize(n);
  tmp_payload.resize(kHasPayload ? n : 0);
  advise_huge_pages(tmp_keys.data(), n * sizeof(std::uint64_t));
  if constexpr (kHasPayload) advise_huge_pages(tmp_payload.data(), n * sizeof(Payload));
  std::vector<Hist> hist(n_blocks);

  for (int shift = low_bits; shift < 64; shift += kBits) {
    if (((varying >> shift) & kMask) == 0) continue;
    tbb::parallel_for(std::size_t{0}, n_blocks, [&](std::size_t b) {
      check_interrupt();
      Hist& h = hist[b];
      h.fill(0);
      const std::size_t e = std::min(n, (b + 1) * kBlock);
      for (std::size_t i = b * kBlock; i < e; ++i) ++h[(keys[i] >> shift) & kMask];
    });
    // Exclusive prefix over (digit, block) order gives each block its write offsets.
    std::size_t offset = 0;
    for (std::size_t v = 0; v < kRadix; ++v) {
      for (std::size_t b = 0; b < n_blocks; ++b) {
        const std::size_t c = hist[b][v];
        hist[b][v] = offset;
        offset += c;
      }
    }
    tbb::parallel_for(std::size_t{0}, n_blocks, [&](std::size_t b) {
      Hist& h = hist[b];
      const std::size_t e = std::min(n, (b + 1) * kBlock);
      for (std::size_t i = b * kBlock; i < e; ++i) {
        const std::size_t dst = h[(keys[i] >> shift) & kMask]++;
        tmp_keys[dst] = keys[i];
        if constexpr (kHasPayload) tmp_payload[dst] = (*payload)[i];
      }
    });
    keys.swap(tmp_keys);
    if constexpr (kHasPayload) payload->swap(tmp_payload);
  }
}

}  // namespace mlsd::detail
