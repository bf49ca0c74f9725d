// MurmurHash3_x86_32 fed in pieces: the hash of the concatenated pieces equals the one-shot
// mlsd::hashing::murmurhash3_32 of the whole.  hash_columns starts each key from a state saved
// after the column's constant "name=" prefix and feeds the value's bytes straight from the input
// buffers, so no key is ever built.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace mlsd::hashing::detail {

inline std::uint32_t load_le32(const unsigned char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

// The first n (1..3) bytes at p as a little-endian integer.
inline std::uint32_t load_le_partial(const unsigned char* p, std::size_t n) {
  std::uint32_t v = p[0];
  if (n > 1) v |= static_cast<std::uint32_t>(p[1]) << 8;
  if (n > 2) v |= static_cast<std::uint32_t>(p[2]) << 16;
  return v;
}

inline std::uint32_t mix_k1(std::uint32_t k1) {
  k1 *= 0xcc9e2d51U;
  k1 = std::rotl(k1, 15);
  return k1 * 0x1b873593U;
}

inline std::uint32_t mix_block(std::uint32_t h1, std::uint32_t k1) {
  h1 ^= mix_k1(k1);
  h1 = std::rotl(h1, 13);
  return h1 * 5 + 0xe6546b64U;
}

// The reference takes the length as int: only its low 32 bits enter the hash.
inline std::uint32_t finalize(std::uint32_t h1, std::uint32_t tail, bool has_tail, std::uint32_t len) {
  if (has_tail) h1 ^= mix_k1(tail);
  h1 ^= len;
  h1 ^= h1 >> 16;
  h1 *= 0x85ebca6bU;
  h1 ^= h1 >> 13;
  h1 *= 0xc2b2ae35U;
  h1 ^= h1 >> 16;
  return h1;
}

class MurmurStream {
 public:
  explicit MurmurStream(std::uint32_t seed) : h_(seed) {}

  void update(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    len_ += static_cast<std::uint32_t>(n);
    // The pending 0..3 bytes stay pending across whole input words: each block is the pending
    // bytes followed by the first bytes of the next word, and that word's last bytes are pending.
    const unsigned shift = 8 * n_tail_;
    for (; n >= 4; p += 4, n -= 4) {
      const std::uint64_t c = tail_ | (static_cast<std::uint64_t>(load_le32(p)) << shift);
      h_ = mix_block(h_, static_cast<std::uint32_t>(c));
      tail_ = c >> 32;
    }
    if (n == 0) return;
    std::uint64_t c = tail_ | (static_cast<std::uint64_t>(load_le_partial(p, n)) << shift);
    n_tail_ += static_cast<unsigned>(n);
    if (n_tail_ >= 4) {
      h_ = mix_block(h_, static_cast<std::uint32_t>(c));
      c >>= 32;
      n_tail_ -= 4;
    }
    tail_ = c;
  }

  void update(char c) { update(&c, 1); }

  std::uint32_t finish() const { return finalize(h_, static_cast<std::uint32_t>(tail_), n_tail_ != 0, len_); }

 private:
  std::uint32_t h_;
  std::uint64_t tail_ = 0;  // the n_tail_ pending bytes, little-endian; higher bits are zero
  unsigned n_tail_ = 0;
  std::uint32_t len_ = 0;
};

}  // namespace mlsd::hashing::detail
