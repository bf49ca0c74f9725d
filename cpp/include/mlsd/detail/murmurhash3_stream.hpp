// MurmurHash3_x86_32 fed in pieces: the hash of the concatenated pieces equals the one-shot
// mlsd::hashing::murmurhash3_32 of the whole.  hash_columns starts each key from a state saved
// after the column's constant "name=" prefix and feeds the value's bytes straight from the input
// buffers, so no key is ever built.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "mlsd/hashing.hpp"

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

// The mixing steps are written for any U with 32-bit unsigned arithmetic: std::uint32_t, or a
// vector of them (hash_strings_x8).
template <class U>
inline U rotl32(U x, int r) {
  return (x << r) | (x >> (32 - r));
}

template <class U>
inline U mix_k1(U k1) {
  k1 *= 0xcc9e2d51U;
  k1 = rotl32(k1, 15);
  return k1 * 0x1b873593U;
}

template <class U>
inline U mix_block(U h1, U k1) {
  h1 ^= mix_k1(k1);
  h1 = rotl32(h1, 13);
  return h1 * 5 + 0xe6546b64U;
}

template <class U>
inline U fmix(U h1) {
  h1 ^= h1 >> 16;
  h1 *= 0x85ebca6bU;
  h1 ^= h1 >> 13;
  h1 *= 0xc2b2ae35U;
  h1 ^= h1 >> 16;
  return h1;
}

// The reference takes the length as int: only its low 32 bits enter the hash.
inline std::uint32_t finalize(std::uint32_t h1, std::uint32_t tail, bool has_tail, std::uint32_t len) {
  if (has_tail) h1 ^= mix_k1(tail);
  return fmix(h1 ^ len);
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

  // What finish() reads, for code that continues the stream elsewhere (hash_strings_x8).
  struct State {
    std::uint32_t h, tail, n_tail, len;
  };
  State state() const { return {h_, static_cast<std::uint32_t>(tail_), n_tail_, len_}; }

 private:
  std::uint32_t h_;
  std::uint64_t tail_ = 0;  // the n_tail_ pending bytes, little-endian; higher bits are zero
  unsigned n_tail_ = 0;
  std::uint32_t len_ = 0;
};

// The hashes of the 8 strings s[first], ..., s[first + 7], each fed to a copy of `start`: the
// same as MurmurStream(start).update(s[first + l]).finish() for each l, computed 8 at a time with
// AVX2 (gathered loads, no branch on the strings' lengths, which vary from row to row in
// categorical data).  Returns false, having written nothing, when the CPU has no AVX2 or the
// strings do not suit the vector code (a buffer under 4 bytes, or 8 strings spanning 2 GB);
// the caller then hashes them one at a time.
bool hash_strings_x8(const MurmurStream& start, const StringsView& s, std::int64_t first, std::uint32_t* out);

}  // namespace mlsd::hashing::detail
