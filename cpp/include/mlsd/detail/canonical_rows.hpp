// Canonical CSR (what scipy's sum_duplicates leaves) built straight from hashed keys whose values
// are all 1 before signing: hash_columns, and FeatureHasher's string input.  Each entry is held as
// a 32-bit code, bucket << 1 | negative, so a row sorts as plain integers; equal buckets become one
// entry whose value is the sum of their signs.  Those sums are small integers, exact in any order,
// so the result equals scipy's sort-then-sum of the same entries bit for bit.
#pragma once

#include <algorithm>
#include <cstdint>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "mlsd/hashing.hpp"

namespace mlsd::hashing::detail {

// Marks a slot without an entry (a missing value); buckets are < 2^31 - 1, so no code equals it.
inline constexpr std::uint32_t kNoEntry = 0xFFFFFFFFu;

// The entry code of a hash: bucket_of(h, n_features) without a division.  Since
// (INT32_MAX - (n - 1)) mod n == 2^31 mod n, bucket_of is |h| mod n with |INT32_MIN| = 2^31, and the
// remainder of 32-bit operands is computed by multiplication (Lemire, Kaser & Kurz, "Faster
// remainder by direct computation", 2019): with M = floor((2^64 - 1) / n) + 1 (mod 2^64),
// a mod n = high 64 bits of (M * a mod 2^64) * n.
class EntryCoder {
 public:
  EntryCoder(std::int64_t n_features, bool alternate_sign)
      : n_(static_cast<std::uint64_t>(n_features)), m_(~std::uint64_t{0} / n_ + 1), sign_(alternate_sign) {}

  std::uint32_t operator()(std::uint32_t hash) const {
    const bool negative = static_cast<std::int32_t>(hash) < 0;
    const std::uint32_t magnitude = negative ? 0u - hash : hash;
    const std::uint64_t low = m_ * magnitude;  // high 64 bits of low * n_ (n_ < 2^32), in 64-bit arithmetic:
    const auto bucket = static_cast<std::uint32_t>(((low >> 32) * n_ + (((low & 0xFFFFFFFFu) * n_) >> 32)) >> 32);
    return bucket << 1 | static_cast<std::uint32_t>(sign_ && negative);
  }

 private:
  std::uint64_t n_, m_;
  bool sign_;
};

// Sorts a row's codes ascending (kNoEntry slots last) and returns its number of distinct buckets.
inline std::int64_t sort_row(std::uint32_t* first, std::uint32_t* last) {
  if (last - first <= 32) {  // rows of a few dozen keys: insertion sort beats std::sort's setup
    for (auto* i = first + (first != last); i < last; ++i) {
      const std::uint32_t x = *i;
      auto* j = i;
      for (; j > first && j[-1] > x; --j) *j = j[-1];
      *j = x;
    }
  } else {
    std::sort(first, last);
  }
  // distinct = entries - adjacent pairs with equal buckets among entries.  Counting equal pairs
  // over the whole row also counts the m - 1 pairs among the m trailing kNoEntry slots (their
  // "bucket" 2^31 - 1 is never a real one), so: distinct = n - equal_pairs - (m > 0).  No branches.
  const auto n = last - first;
  std::int64_t equal_pairs = 0;
  for (std::int64_t i = 1; i < n; ++i) equal_pairs += (first[i] >> 1) == (first[i - 1] >> 1);
  return n - equal_pairs - (n > 0 && last[-1] == kNoEntry);
}

// Writes a sorted row's `count` distinct buckets with their summed signs.
inline void write_row(const std::uint32_t* first, const std::uint32_t* last, std::int64_t count, std::int32_t* indices,
                      double* values) {
  auto value = [](std::uint32_t code) { return (code & 1) ? -1.0 : 1.0; };
  if (count == last - first || first[count] == kNoEntry) {  // no duplicates: the first `count` codes are the entries
    for (std::int64_t i = 0; i < count; ++i) {
      indices[i] = static_cast<std::int32_t>(first[i] >> 1);
      values[i] = value(first[i]);
    }
    return;
  }
  std::int64_t k = -1;
  for (auto* p = first; p < last && *p != kNoEntry; ++p) {
    if (p != first && (*p >> 1) == (p[-1] >> 1)) {
      values[k] += value(*p);
    } else {
      indices[++k] = static_cast<std::int32_t>(*p >> 1);
      values[k] = value(*p);
    }
  }
}

// Row r's codes live in codes[start(r), start(r + 1)); fill(lo, hi) writes those of rows [lo, hi).
// Rows are filled and sorted in blocks of `block` rows, counted, then written once into the output
// at their final offsets.  Each row is independent, so the result is the same for any thread count.
// Runs inside the caller's task arena.
template <class Start, class Fill>
HashedEntries canonical_rows(std::int64_t n_rows, std::int64_t block, std::uint32_t* codes, Start&& start, Fill&& fill) {
  HashedEntries out;
  out.indptr.resize(static_cast<std::size_t>(n_rows) + 1);
  out.indptr[0] = 0;
  auto for_blocks = [&](auto&& body) {
    const std::int64_t n_blocks = (n_rows + block - 1) / block;
    tbb::parallel_for(std::int64_t{0}, n_blocks, [&](std::int64_t b) { body(b * block, std::min(n_rows, (b + 1) * block)); });
  };
  for_blocks([&](std::int64_t lo, std::int64_t hi) {
    fill(lo, hi);
    for (auto r = lo; r < hi; ++r) out.indptr[r + 1] = sort_row(codes + start(r), codes + start(r + 1));
  });
  for (std::int64_t r = 0; r < n_rows; ++r) out.indptr[r + 1] += out.indptr[r];
  out.indices.resize(static_cast<std::size_t>(out.indptr[n_rows]));
  out.values.resize(static_cast<std::size_t>(out.indptr[n_rows]));
  for_blocks([&](std::int64_t lo, std::int64_t hi) {
    for (auto r = lo; r < hi; ++r)
      write_row(codes + start(r), codes + start(r + 1), out.indptr[r + 1] - out.indptr[r], out.indices.data() + out.indptr[r],
                out.values.data() + out.indptr[r]);
  });
  return out;
}

}  // namespace mlsd::hashing::detail
