// Canonical CSR (what scipy's sum_duplicates leaves) built straight from hashed keys whose values
// are all 1 before signing: hash_columns, and FeatureHasher's string input.  Each entry is held as
// a 32-bit code, bucket << 1 | negative, so a row sorts as plain integers; equal buckets become one
// entry whose value is the sum of their signs.  Those sums are small integers, exact in any order,
// so the result equals scipy's sort-then-sum of the same entries bit for bit.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "mlsd/common/parallel.hpp"
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
      : n_(static_cast<std::uint64_t>(n_features)),
        m_(~std::uint64_t{0} / n_ + 1),
        mask_(std::has_single_bit(n_) ? static_cast<std::uint32_t>(n_ - 1) : 0),
        sign_(alternate_sign) {}

  std::uint32_t operator()(std::uint32_t hash) const {
    const bool negative = static_cast<std::int32_t>(hash) < 0;
    const std::uint32_t magnitude = negative ? 0u - hash : hash;
    std::uint32_t bucket;
    if (mask_ != 0 || n_ == 1) {  // a power of two (the usual n_features): a mask
      bucket = magnitude & mask_;
    } else {  // the high 64 bits of low * n_ (n_ < 2^32), in 64-bit arithmetic
      const std::uint64_t low = m_ * magnitude;
      bucket = static_cast<std::uint32_t>(((low >> 32) * n_ + (((low & 0xFFFFFFFFu) * n_) >> 32)) >> 32);
    }
    return bucket << 1 | static_cast<std::uint32_t>(sign_ && negative);
  }

 private:
  std::uint64_t n_, m_;
  std::uint32_t mask_;
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

// Writes a sorted row (n codes, `stride` apart) as its `count` distinct buckets with summed signs.
inline void write_row(const std::uint32_t* first, std::int64_t n, std::ptrdiff_t stride, std::int64_t count,
                      std::int32_t* indices, double* values) {
  auto value = [](std::uint32_t code) { return (code & 1) ? -1.0 : 1.0; };
  if (count == n || first[count * stride] == kNoEntry) {  // no duplicates: the first `count` codes are the entries
    for (std::int64_t i = 0; i < count; ++i) {
      indices[i] = static_cast<std::int32_t>(first[i * stride] >> 1);
      values[i] = value(first[i * stride]);
    }
    return;
  }
  std::int64_t k = -1;
  for (std::int64_t i = 0; i < n && first[i * stride] != kNoEntry; ++i) {
    const std::uint32_t c = first[i * stride];
    if (i > 0 && (c >> 1) == (first[(i - 1) * stride] >> 1)) {
      values[k] += value(c);
    } else {
      indices[++k] = static_cast<std::int32_t>(c >> 1);
      values[k] = value(c);
    }
  }
}

// Rows are hashed and sorted in blocks of rows, and blocks in chunks of kChunkBlocks: a chunk's
// codes are sorted, counted and written out while they are still in cache, and the codes buffer
// holds one chunk, not the whole input.
inline constexpr std::int64_t kChunkBlocks = 16;

using mlsd::detail::advise_huge_pages;  // common/views.hpp

// The skeleton shared by both layouts: for each block of `block` rows, sort_block(lo, hi, counts)
// fills and sorts rows [lo, hi) and stores each row's distinct count at counts[r]; once a chunk's
// counts are summed into the indptr, write(lo, hi, out) writes rows [lo, hi) at their final
// offsets (out.indptr is final up to hi).  `bound` is at least the number of entries (pages of the output past the actual number
// are never touched).  Each row is independent, so the result is the same for any thread count.
// Runs in the caller's task arena.
template <class SortBlock, class Write>
HashedEntries canonical_rows(std::int64_t n_rows, std::int64_t block, std::int64_t bound, SortBlock&& sort_block,
                             Write&& write) {
  HashedEntries out;
  out.indptr.resize(static_cast<std::size_t>(n_rows) + 1);
  out.indptr[0] = 0;
  out.indices.resize(static_cast<std::size_t>(bound));
  out.values.resize(static_cast<std::size_t>(bound));
  advise_huge_pages(out.indices.data(), out.indices.size() * sizeof(std::int32_t));
  advise_huge_pages(out.values.data(), out.values.size() * sizeof(double));
  const std::int64_t n_blocks = (n_rows + block - 1) / block;
  for (std::int64_t c0 = 0; c0 < n_blocks; c0 += kChunkBlocks) {
    const std::int64_t c1 = std::min(n_blocks, c0 + kChunkBlocks);
    auto for_blocks = [&](auto&& body) {
      tbb::parallel_for(c0, c1, [&](std::int64_t b) {
        check_interrupt();  // Ctrl-C, between blocks (acts on the calling thread only)
        body(b * block, std::min(n_rows, (b + 1) * block));
      });
    };
    for_blocks([&](std::int64_t lo, std::int64_t hi) { sort_block(lo, hi, out.indptr.data() + 1); });
    for (auto r = c0 * block; r < std::min(n_rows, c1 * block); ++r) out.indptr[r + 1] += out.indptr[r];
    for_blocks([&](std::int64_t lo, std::int64_t hi) { write(lo, hi, out); });
  }
  out.indices.resize(static_cast<std::size_t>(out.indptr[n_rows]));
  out.values.resize(static_cast<std::size_t>(out.indptr[n_rows]));
  return out;
}

// Rows of any length: row r has start(r + 1) - start(r) codes; fill(lo, hi, codes) writes those of
// rows [lo, hi), in order, from codes[0].
template <class Start, class Fill>
HashedEntries canonical_ragged_rows(std::int64_t n_rows, std::int64_t block, Start&& start, Fill&& fill) {
  const std::int64_t chunk_rows = block * kChunkBlocks;
  std::int64_t most = 0;  // codes in the largest chunk
  for (std::int64_t c = 0; c < n_rows; c += chunk_rows) most = std::max(most, start(std::min(n_rows, c + chunk_rows)) - start(c));
  buffer<std::uint32_t> codes(static_cast<std::size_t>(most));
  auto at = [&](std::int64_t r) { return codes.data() + (start(r) - start(r / chunk_rows * chunk_rows)); };
  return canonical_rows(
      n_rows, block, start(n_rows),
      [&](std::int64_t lo, std::int64_t hi, std::int64_t* counts) {
        fill(lo, hi, at(lo));
        for (auto r = lo; r < hi; ++r) counts[r] = sort_row(at(r), at(r) + (start(r + 1) - start(r)));
      },
      [&](std::int64_t lo, std::int64_t hi, HashedEntries& out) {
        for (auto r = lo; r < hi; ++r)
          write_row(at(r), start(r + 1) - start(r), 1, out.indptr[r + 1] - out.indptr[r], out.indices.data() + out.indptr[r],
                    out.values.data() + out.indptr[r]);
      });
}

// Applies a sorting network to kSortLanes independent rows at once: wire k of lane l is
// base[k * stride + l].  Compiled for AVX2 as well as the baseline, chosen at run time.
inline constexpr std::int64_t kSortLanes = 8;
void sort_lanes_by_network(std::uint32_t* base, std::int64_t stride, std::int64_t width,
                           const std::vector<std::pair<std::uint32_t, std::uint32_t>>& network);

// Writes kSortLanes sorted rows that each have `width` distinct buckets (no kNoEntry), stored
// wire-major (wire k of lane l at base[k * kSortLanes + l]), as kSortLanes consecutive CSR rows:
// an 8 x 8 transpose at a time with AVX2.  Returns false, having written nothing, without AVX2.
bool write_full_lanes(const std::uint32_t* base, std::int64_t width, std::int32_t* indices, double* values);

// Rows of a fixed width, stored by groups of kLanes rows: slot k of row r is at
// ((r / kLanes) * width + k) * kLanes + r % kLanes (within the chunk held), so the kLanes rows a
// sorting network handles together are one contiguous run of width vectors (wire-major, a vector
// of lanes per wire), sorted in L1.  Rows are sorted kLanes at a time by one sorting network
// (Batcher's odd-even merge sort), the same compare-exchange applied to each lane: no
// data-dependent branches, and the compiler vectorises the lanes.
class FixedWidthRows {
 public:
  static constexpr std::int64_t kLanes = kSortLanes;
  static constexpr std::int64_t kBlock = 512;  // rows per block, a multiple of kLanes: a chunk's codes stay in L2

  explicit FixedWidthRows(std::int64_t n_rows, std::int64_t width) : n_rows_(n_rows), width_(width) {
    // Network for the next power of two; comparators that touch a wire >= width are dropped: those
    // wires would hold kNoEntry, the largest code, which no comparator moves.
    std::int64_t n = 1;
    while (n < width) n *= 2;
    for (std::int64_t p = 1; p < n; p *= 2)
      for (std::int64_t k = p; k >= 1; k /= 2)
        for (std::int64_t j = k % p; j + k < n; j += 2 * k)
          for (std::int64_t i = 0; i < std::min(k, n - j - k); ++i)
            if ((i + j) / (2 * p) == (i + j + k) / (2 * p) && i + j + k < width)
              network_.push_back({static_cast<std::uint32_t>(i + j), static_cast<std::uint32_t>(i + j + k)});
    const std::int64_t blocks_held = std::min((n_rows + kBlock - 1) / kBlock, kChunkBlocks);  // one chunk's
    codes_.resize(static_cast<std::size_t>(blocks_held * kBlock * width));
  }

  // Slot k of row r, for fill.
  std::uint32_t& at(std::int64_t r, std::int64_t k) { return codes_[slot(r, k)]; }

  // Slot k of rows [lo, hi) (within one block), one group of kLanes rows at a time:
  // codes_of(r0, n, out) writes the codes of rows r0 .. r0 + n - 1 (n <= kLanes) to out[0 .. n).
  template <class CodesOf>
  void fill_slot(std::int64_t lo, std::int64_t hi, std::int64_t k, CodesOf&& codes_of) {
    for (std::int64_t r = lo; r < hi; r += kLanes) codes_of(r, std::min(kLanes, hi - r), &codes_[slot(r, k)]);
  }

  // fill(lo, hi) writes the slots of rows [lo, hi); at most `entries` of all the slots hold one.
  template <class Fill>
  HashedEntries build(Fill&& fill, std::int64_t entries) {
    return canonical_rows(
        n_rows_, kBlock, entries,
        [&](std::int64_t lo, std::int64_t hi, std::int64_t* counts) {
          fill(lo, hi);
          for (auto r = hi; r % kLanes != 0; ++r)  // lanes past the last row sort as empty rows
            for (std::int64_t k = 0; k < width_; ++k) at(r, k) = kNoEntry;
          for (auto r = lo; r < hi; r += kLanes) sort_lanes(r, counts, hi);
        },
        [&](std::int64_t lo, std::int64_t hi, HashedEntries& out) {
          for (auto r = lo; r < hi; r += kLanes) {
            const std::int64_t at = out.indptr[r];
            // A whole group without duplicates or missing keys: kLanes rows of width entries, in one go.
            if (r + kLanes <= hi && out.indptr[r + kLanes] - at == kLanes * width_ &&
                write_full_lanes(codes_.data() + slot(r, 0), width_, out.indices.data() + at, out.values.data() + at))
              continue;
            for (auto q = r; q < std::min(hi, r + kLanes); ++q)
              write_row(codes_.data() + slot(q, 0), width_, kLanes, out.indptr[q + 1] - out.indptr[q],
                        out.indices.data() + out.indptr[q], out.values.data() + out.indptr[q]);
          }
        });
  }

 private:
  std::size_t slot(std::int64_t r, std::int64_t k) const {
    const std::int64_t in_chunk = r % (kBlock * kChunkBlocks);
    return static_cast<std::size_t>((in_chunk / kLanes * width_ + k) * kLanes + in_chunk % kLanes);
  }

  void sort_lanes(std::int64_t r0, std::int64_t* counts, std::int64_t hi) {
    std::uint32_t* base = codes_.data() + slot(r0, 0);  // codes_ is empty when width_ == 0
    sort_lanes_by_network(base, kLanes, width_, network_);
    // Distinct buckets per lane, as in sort_row: width - equal adjacent pairs - (any kNoEntry).
    std::uint32_t equal[kLanes] = {};
    for (std::int64_t k = 1; k < width_; ++k)
      for (std::int64_t l = 0; l < kLanes; ++l)
        equal[l] += (base[k * kLanes + l] >> 1) == (base[(k - 1) * kLanes + l] >> 1);
    for (std::int64_t l = 0; l < kLanes && r0 + l < hi; ++l)
      counts[r0 + l] = width_ - equal[l] - (width_ > 0 && base[(width_ - 1) * kLanes + l] == kNoEntry);
  }

  std::int64_t n_rows_, width_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> network_;
  buffer<std::uint32_t> codes_;
};

}  // namespace mlsd::hashing::detail
