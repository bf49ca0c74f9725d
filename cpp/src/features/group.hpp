// Internal helper of mlsd::features: rows grouped by dense entity code, each group ordered by time,
// without sorting the whole table (the as-of join and the windowed aggregations share it).
//
// A two-level counting sort: a stable scatter of (time, row) entries by the top bits of their code
// (one pass through memory; 2^kTopBits write streams stay in cache), then, inside each top bucket
// (a few thousand rows: in cache), a counting scatter on the low code bits and a small sort of each
// group by (time, row).  The order is unique, whatever the blocking or the thread count.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_sort.h>

#include "keys.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/common/views.hpp"

namespace mlsd::features::detail {

// A row in a bucket or group: a time, and a row number (with, in a bucket, the low bits of its code
// packed below it).  The functions below take any entry type with these two fields first, so that
// a caller may carry more of each row through the scatter (read sequentially there, not at random
// later).
struct Entry {
  std::int64_t time;
  index_t row;
};

// Codes lo .. lo + n_codes - 1 split into top buckets of 2^shift consecutive codes.
struct CodeSplit {
  std::int64_t lo = 0;
  std::uint64_t n_codes = 0;
  int shift = 0;
  std::uint64_t low_mask() const { return (std::uint64_t{1} << shift) - 1; }
  std::int64_t n_top() const { return static_cast<std::int64_t>(((n_codes - 1) >> shift) + 1); }
  // code - lo, or n_codes for a code outside the range (negative codes included)
  std::uint64_t key(std::int64_t code) const {
    const std::uint64_t k = static_cast<std::uint64_t>(code) - static_cast<std::uint64_t>(lo);
    return code < 0 || k >= n_codes ? n_codes : k;
  }
};

// Rows stably scattered by the top bits of their code: bucket t is entries[top[t], top[t + 1]),
// each the row's entry with row << shift | the low bits of code - lo, rows increasing.  `entries`
// lies in `records`, or in storage the caller lent.
template <class E = Entry>
struct Buckets {
  buffer<E> records;
  std::span<E> entries;
  buffer<index_t> top;
};

inline constexpr int kTopBits = 11;               // 2048 buckets: their write streams stay in cache
inline constexpr std::int64_t kMaxBlocks = 1024;  // bounds the per-block histograms
inline constexpr std::int64_t kSmallGroup = 32;   // insertion sort up to here
inline constexpr std::int64_t kParallelSortGroup = std::int64_t{1} << 16;  // tbb::parallel_sort from here
inline constexpr std::int64_t kLargeGroup = std::int64_t{1} << 16;  // 1 MiB of entries: beyond, sort instead

// The range of the codes >= 0 (empty when there is none).
inline Range range_of_present(std::span<const std::int64_t> x) {
  return mlsd::detail::ordered_reduce<Range>(
      static_cast<std::int64_t>(x.size()), Range{},
      [&](std::int64_t b, std::int64_t e) {
        Range r;
        for (std::int64_t i = b; i < e; ++i) {
          if (x[i] < 0) continue;
          r.lo = std::min(r.lo, x[i]);
          r.hi = std::max(r.hi, x[i]);
        }
        return r;
      },
      [](Range a, const Range& b) { return a | b; });
}

// Codes spanning more than this for tables of `rows` rows leave no table of group starts
// (plan_split); plan_grouping then numbers them densely.  `range`: not empty.
inline bool too_sparse(const Range& range, std::uint64_t rows) { return span_of(range) >= 4 * rows + 1024; }

// The split of the present codes `range` for grouping tables of `rows` rows in all (the largest
// `max_rows`), when the codes are dense enough for a table of group starts and a row and the low
// code bits pack in one word; else none (sort instead).
inline std::optional<CodeSplit> plan_split(const Range& range, std::uint64_t rows, std::uint64_t max_rows) {
  if (range.empty()) return std::nullopt;
  CodeSplit split;
  split.lo = range.lo;
  if (too_sparse(range, rows)) return std::nullopt;
  split.n_codes = span_of(range) + 1;  // span_of < 2^63: no wrap
  split.shift = std::max(0, bits_for(split.n_codes - 1) - kTopBits);
  if (bits_for(max_rows) + split.shift > 62) return std::nullopt;
  return split;
}

// ---- the blocked stable counting scatter ---------------------------------------------------------
//
// Rows 0 .. n - 1 cut into at most kMaxBlocks blocks of at least kChunk rows; each block counts the
// rows it sends to each bucket (in parallel), and the counts, added up bucket by bucket and, within
// a bucket, block by block, give where each block writes its rows of each bucket: a scatter pass
// over the blocks then puts every row in its bucket, rows in their order (stable), without locks.
// The layout depends on the rows' buckets only, never on the thread count.
//
// A row's bucket comes in two steps, key_of(i), then bucket_of(key) in [0, n_buckets); a row whose
// key is < 0 goes to none.  (The scatter pass hands the writer the key: the bits the bucket drops.)
struct BlockOffsets {
  std::int64_t n = 0, block = 0, n_blocks = 0, n_buckets = 0;
  buffer<index_t> offsets;  // offsets[b * n_buckets + t]: where block b writes its next row of bucket t
  buffer<index_t> top;      // bucket t is [top[t], top[t + 1]); top[n_buckets]: the rows in a bucket
};

template <class KeyOf, class BucketOf>
BlockOffsets block_offsets(std::int64_t n, std::int64_t n_buckets, KeyOf&& key_of, BucketOf&& bucket_of) {
  BlockOffsets l;
  l.n = n;
  l.n_buckets = n_buckets;
  l.block = std::max(kChunk, (n + kMaxBlocks - 1) / kMaxBlocks);
  l.n_blocks = (n + l.block - 1) / l.block;
  l.offsets.resize(static_cast<std::size_t>(l.n_blocks * n_buckets));
  tbb::parallel_for(std::int64_t{0}, l.n_blocks, [&](std::int64_t b) {
    check_interrupt();
    index_t* h = l.offsets.data() + b * n_buckets;
    std::fill(h, h + n_buckets, index_t{0});
    for (std::int64_t i = b * l.block, e = std::min(n, i + l.block); i < e; ++i) {
      const std::int64_t k = key_of(i);
      if (k >= 0) ++h[bucket_of(k)];
    }
  });
  l.top.resize(static_cast<std::size_t>(n_buckets + 1));
  index_t total = 0;
  for (std::int64_t t = 0; t < n_buckets; ++t) {
    l.top[t] = total;
    for (std::int64_t b = 0; b < l.n_blocks; ++b) {
      const index_t c = l.offsets[b * n_buckets + t];
      l.offsets[b * n_buckets + t] = total;
      total += c;
    }
  }
  l.top[n_buckets] = total;
  return l;
}

// One pass over the rows of `l`'s blocks (blocks in parallel, rows in order within a block), with
// the key_of and bucket_of that made the layout: put(i, key, slot) for row i of that key, slot its
// position in the scattered order; skip(i) for a row in no bucket.  Consumes l.offsets (a second
// pass over the same positions takes a copy of the layout made before the first).
template <class KeyOf, class BucketOf, class Put, class Skip>
void scatter_blocks(BlockOffsets& l, KeyOf&& key_of, BucketOf&& bucket_of, Put&& put, Skip&& skip) {
  tbb::parallel_for(std::int64_t{0}, l.n_blocks, [&](std::int64_t b) {
    check_interrupt();
    index_t* h = l.offsets.data() + b * l.n_buckets;
    for (std::int64_t i = b * l.block, e = std::min(l.n, i + l.block); i < e; ++i) {
      const std::int64_t k = key_of(i);
      if (k < 0) {
        skip(i);
        continue;
      }
      put(i, k, h[bucket_of(k)]++);
    }
  });
}

// ---- sparse codes renumbered ------------------------------------------------------------------
//
// Codes spread far wider than the tables have rows (ids * 10^12, snowflake or hashed 63-bit ids)
// leave plan_split no table of group starts: they are renumbered 0 .. n_distinct - 1 first.  The
// rows of the table that makes the dictionary are scattered stably by the top bits of a hash of
// their code (one pass; 2^kTopBits write streams stay in cache), then each hash bucket (a few
// thousand rows: in cache) numbers its distinct codes in order of first appearance with a small
// open-addressing table, and the buckets' counts, added up in bucket order, give each bucket's
// first number.  The numbers depend on the codes and their row order only, never on the blocking
// or the thread count.  Measured on 5M rows of 500k ids (k * 10^12 and random 62-bit ids, 1 and 2
// threads of a loaded 2-core VM): 180 ms; a global concurrent hash table took 290 ms with a
// layout independent of the threads (ordered linear probing: a second pass of probes to number
// the slots) and 140 ms with numbers following the threads' races; a radix sort of (code, row)
// and a scatter of the ranks 320-370 ms.
inline std::uint64_t code_hash(std::int64_t code) {  // MurmurHash3's finaliser: every bit mixed
  auto x = static_cast<std::uint64_t>(code);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

class Dictionary {
 public:
  // Numbers the codes >= 0 of `codes`: out[i] = the number of codes[i], -1 for a missing key.
  Dictionary(std::span<const std::int64_t> codes, std::span<std::int64_t> out) : tables_(kBuckets), base_(kBuckets + 1) {
    MLSD_REQUIRE(out.size() == codes.size(), "Dictionary", "out has ", out.size(), " elements, codes have ", codes.size());
    // a code's key is its bucket
    auto key_of = [&](std::int64_t i) { return codes[i] < 0 ? std::int64_t{-1} : bucket(code_hash(codes[i])); };
    auto same = [](std::int64_t t) { return t; };
    BlockOffsets layout = block_offsets(static_cast<std::int64_t>(codes.size()), kBuckets, key_of, same);
    BlockOffsets gather = layout;  // the same streams again, to bring the numbers back in row order
    const buffer<index_t>& top = layout.top;
    buffer<std::int64_t> rows(static_cast<std::size_t>(top[kBuckets]));  // codes, then their numbers
    mlsd::detail::advise_huge_pages(rows.data(), rows.size() * sizeof(std::int64_t));
    scatter_blocks(layout, key_of, same, [&](std::int64_t i, std::int64_t, index_t slot) { rows[slot] = codes[i]; },
                   [](std::int64_t) {});
    std::atomic<bool> failed{false};
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, kBuckets), [&](const tbb::blocked_range<std::int64_t>& r) {
      for (std::int64_t t = r.begin(); t != r.end(); ++t) {
        check_interrupt();
        if (failed.load(std::memory_order_relaxed)) return;
        Table& table = tables_[t];
        for (index_t j = top[t]; j < top[t + 1]; ++j) {
          rows[j] = table.number(code_hash(rows[j]));
          if (rows[j] < 0) {  // a probe longer than kMaxProbe: give up (the caller sorts instead)
            failed.store(true, std::memory_order_relaxed);
            return;
          }
        }
        base_[t] = table.size;
      }
    });
    if (failed.load()) {
      std::fill(base_.begin(), base_.end(), std::int64_t{0});
      tables_.clear();
      tables_.resize(kBuckets);
      ok_ = false;
      return;
    }
    std::int64_t sum = 0;  // base_[t]: the first number of bucket t
    for (std::int64_t t = 0; t <= kBuckets; ++t) {
      const std::int64_t c = t < kBuckets ? base_[t] : 0;
      base_[t] = sum;
      sum += c;
    }
    // The numbers gathered back in row order by the scatter's own streams (no random stores).
    scatter_blocks(
        gather, key_of, same, [&](std::int64_t i, std::int64_t t, index_t slot) { out[i] = base_[t] + rows[slot]; },
        [&](std::int64_t i) { out[i] = -1; });
  }

  std::int64_t size() const { return base_[kBuckets]; }

  // False when the codes could not be numbered: some code's probe would have run longer than
  // kMaxProbe slots (codes crafted to share their hash's bits; never seen on real ids), which would
  // make the numbering quadratic.  Then size() is 0, find() gives -1 and `out` is unspecified.
  bool ok() const { return ok_; }

  // The number of `code`; -1 for a missing key or a code the dictionary does not hold.
  std::int64_t find(std::int64_t code) const {
    if (code < 0) return -1;
    const std::uint64_t h = code_hash(code);
    const std::int64_t t = bucket(h);
    const std::int64_t local = tables_[t].find(h);
    return local < 0 ? -1 : base_[t] + local;
  }

  // out[i] = find(codes[i]), in parallel; the probes are random loads: prefetched.
  void find_all(std::span<const std::int64_t> codes, std::span<std::int64_t> out) const {
    const auto n = static_cast<std::int64_t>(codes.size());
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, kChunk), [&](const tbb::blocked_range<std::int64_t>& r) {
      check_interrupt();
      constexpr std::int64_t kAhead = 16;
      for (std::int64_t i = r.begin(); i != r.end(); ++i) {
        if (i + kAhead < r.end() && codes[i + kAhead] >= 0) {
          const std::uint64_t h = code_hash(codes[i + kAhead]);
          const Table& table = tables_[bucket(h)];
          if (!table.slots.empty()) __builtin_prefetch(table.slots.data() + (h & (table.slots.size() - 1)));
        }
        out[i] = find(codes[i]);
      }
    });
  }

 private:
  static constexpr std::int64_t kBuckets = std::int64_t{1} << kTopBits;
  static std::int64_t bucket(std::uint64_t h) { return static_cast<std::int64_t>(h >> (64 - kTopBits)); }

  // Open addressing with linear probing on the hash's low bits, at most 70% full.  No code lies more
  // than kMaxProbe slots past its home slot (random codes in tables 70% full, 2^12 to 2^27 slots:
  // at most 112-178; codes crafted from the hash's inverse would make one run hold them all, a
  // quadratic numbering), so a lookup stops after max_probe + 1 slots, and numbering fails rather
  // than probe further.
  //
  // A slot is one word (8 bytes: 11-23 bytes per distinct code, 64 MB for 5M codes all distinct;
  // code and number took 16).  code_hash is a bijection, so the hash's bits stand for the code; of
  // them, the top kTopBits are the table's bucket and the low `bits` the home slot, which the
  // slot's position less its distance d from home gives back.  The word keeps the rest of the hash
  // (kHashBits - bits bits), the number (below 0.7 * 2^bits: `bits` bits, whatever the rows) and
  // d + 1 (0: an empty slot), 64 bits in all.  Two codes agree on all three only when they are one.
  static constexpr std::int64_t kMaxProbe = 1024;
  static constexpr int kDistBits = 11;            // d + 1 <= kMaxProbe + 1 < 2^11
  static constexpr int kHashBits = 64 - kTopBits;  // the hash bits below the bucket's
  static constexpr std::uint64_t kLowHash = (std::uint64_t{1} << kHashBits) - 1;
  static_assert(kMaxProbe + 1 < (std::int64_t{1} << kDistBits) && kDistBits + kHashBits == 64);
  struct Table {
    std::vector<std::uint64_t> slots;  // 2^bits words, or none
    int bits = 0;
    std::int64_t size = 0;
    std::int64_t max_probe = 0;  // the farthest any code lies from its home slot

    // The word of a code whose hash's low kHashBits are `low`, at distance d, less its number.
    std::uint64_t key_word(std::uint64_t low, std::int64_t d) const {
      return (low >> bits << (bits + kDistBits)) | static_cast<std::uint64_t>(d + 1);
    }
    std::uint64_t number_bits() const { return (slots.size() - 1) << kDistBits; }
    std::int64_t at(std::uint64_t w) const { return static_cast<std::int64_t>((w & number_bits()) >> kDistBits); }

    std::int64_t find(std::uint64_t h) const {
      if (slots.empty()) return -1;
      const std::uint64_t mask = slots.size() - 1, numbers = number_bits();
      std::uint64_t s = h & mask;
      const std::uint64_t want = key_word(h & kLowHash, 0);
      for (std::int64_t d = 0; d <= max_probe; ++d, s = (s + 1) & mask) {
        const std::uint64_t w = slots[s];
        if (w == 0) return -1;
        if ((w & ~numbers) == want + static_cast<std::uint64_t>(d)) return at(w);
      }
      return -1;
    }
    // The number of the code whose hash is h, the next one when it is new; -1 when it would lie
    // beyond kMaxProbe.
    std::int64_t number(std::uint64_t h) {
      if (10 * (size + 1) > 7 * static_cast<std::int64_t>(slots.size()) && !grow()) return -1;
      const std::uint64_t mask = slots.size() - 1, numbers = number_bits();
      std::uint64_t s = h & mask;
      const std::uint64_t want = key_word(h & kLowHash, 0);
      std::int64_t d = 0;
      for (std::uint64_t w; (w = slots[s]) != 0; s = (s + 1) & mask, ++d) {
        if ((w & ~numbers) == want + static_cast<std::uint64_t>(d)) return at(w);
        if (d >= kMaxProbe) return -1;
      }
      slots[s] = want + static_cast<std::uint64_t>(d) + (static_cast<std::uint64_t>(size) << kDistBits);
      max_probe = std::max(max_probe, d);
      return size++;
    }
    // Twice the slots, the codes placed again in the order of their old slots.
    bool grow() {
      if (2 * slots.size() >= (std::uint64_t{1} << kHashBits)) return false;  // 2^52 slots: never reached
      std::vector<std::uint64_t> old(std::max<std::size_t>(16, 2 * slots.size()), 0);
      old.swap(slots);
      const int old_bits = bits;
      const std::uint64_t old_mask = old.size() - 1;
      bits = std::countr_zero(slots.size());
      const std::uint64_t mask = slots.size() - 1;
      max_probe = 0;
      for (std::uint64_t p = 0; p < old.size(); ++p) {
        const std::uint64_t w = old[p];
        if (w == 0) continue;
        const std::uint64_t d_old = (w & ((std::uint64_t{1} << kDistBits) - 1)) - 1;
        const std::uint64_t low = (w >> (old_bits + kDistBits) << old_bits) | ((p - d_old) & old_mask);
        const std::uint64_t number = (w >> kDistBits) & old_mask;
        std::uint64_t s = low & mask;
        std::int64_t d = 0;
        for (; slots[s] != 0; s = (s + 1) & mask, ++d)
          if (d >= kMaxProbe) return false;
        slots[s] = key_word(low, d) + (number << kDistBits);
        max_probe = std::max(max_probe, d);
      }
      return true;
    }
  };
  std::vector<Table> tables_;
  std::vector<std::int64_t> base_;
  bool ok_ = true;
};

// The codes to group a table by, and the split that groups them: the table's codes as given when
// plan_split takes them, else -- codes too sparse for a table of group starts -- numbered by a
// Dictionary of the table's codes, and `other`'s codes (the spine of a join) mapped by the same
// dictionary (-1, no match, for a code the table does not hold).  No split: sort instead.
// `range`: the table's present codes (range_of_present), not empty; rows, max_rows: as plan_split.
struct GroupingPlan {
  std::optional<CodeSplit> split;
  std::span<const std::int64_t> codes, other;
  buffer<std::int64_t> own_numbers, other_numbers;  // the renumbered codes' storage
  bool renumbered = false;
};

inline GroupingPlan plan_grouping(const Range& range, std::span<const std::int64_t> codes,
                                  std::span<const std::int64_t> other, std::uint64_t rows, std::uint64_t max_rows) {
  GroupingPlan plan;
  plan.codes = codes;
  plan.other = other;
  plan.split = plan_split(range, rows, max_rows);
  if (plan.split || range.empty() || !too_sparse(range, rows)) return plan;
  plan.own_numbers = buffer<std::int64_t>(codes.size());
  mlsd::detail::advise_huge_pages(plan.own_numbers.data(), plan.own_numbers.size() * sizeof(std::int64_t));
  const Dictionary dict(codes, plan.own_numbers);
  if (!dict.ok()) {  // codes the dictionary cannot number in linear time: sort instead
    plan.own_numbers = buffer<std::int64_t>();
    return plan;
  }
  if (!other.empty()) {
    plan.other_numbers = buffer<std::int64_t>(other.size());
    mlsd::detail::advise_huge_pages(plan.other_numbers.data(), plan.other_numbers.size() * sizeof(std::int64_t));
    dict.find_all(other, plan.other_numbers);
  }
  plan.codes = plan.own_numbers;
  plan.other = plan.other_numbers;
  plan.renumbered = true;
  plan.split = plan_split(Range{0, dict.size() - 1}, rows, max_rows);
  return plan;
}

// One stable counting scatter in parallel blocks.  make(i) gives row i's entry (its row field is
// set here); outside(i) is called, in the scatter pass, for each row whose code is outside the
// split's range.  `records`: storage to reuse when it is large enough; `lent`: storage the caller
// owns, used first when it is large enough (memory it will fault in anyway).
template <class Make, class Outside, class E = std::invoke_result_t<Make&, std::int64_t>>
Buckets<E> scatter_by_top(const CodeSplit& split, std::span<const std::int64_t> codes, Make&& make, Outside&& outside,
                          buffer<E> records = {}, std::span<E> lent = {}) {
  const int shift = split.shift;
  auto key_of = [&](std::int64_t i) {  // code - lo (< 2^63), its bucket its top bits
    const std::uint64_t k = split.key(codes[i]);
    return k < split.n_codes ? static_cast<std::int64_t>(k) : std::int64_t{-1};
  };
  auto top_of = [shift](std::int64_t k) { return k >> shift; };
  BlockOffsets layout = block_offsets(static_cast<std::int64_t>(codes.size()), split.n_top(), key_of, top_of);
  const auto total = static_cast<std::size_t>(layout.top[layout.n_buckets]);
  Buckets<E> out;
  out.records = std::move(records);  // storage already faulted in, when the caller has some
  if (!lent.empty() && lent.size() >= total) {
    out.entries = lent.first(total);
  } else {
    if (out.records.capacity() < total) {
      out.records = buffer<E>(total);
      mlsd::detail::advise_huge_pages(out.records.data(), out.records.size() * sizeof(E));
    }
    out.records.resize(total);
    out.entries = out.records;
  }
  const std::uint64_t low_mask = split.low_mask();
  scatter_blocks(
      layout, key_of, top_of,
      [&](std::int64_t i, std::uint64_t k, index_t slot) {  // k >= 0 here
        E x = make(i);
        x.row = static_cast<index_t>((static_cast<std::uint64_t>(i) << shift) | (k & low_mask));
        out.entries[slot] = x;
      },
      outside);
  out.top = std::move(layout.top);
  return out;
}

// Sorts a group of entries by (time, row); rows arrive increasing, so a stable sort on time is it.
template <class E>
void sort_group(E* first, E* last) {
  if (last - first <= kSmallGroup) {
    for (E* p = first + 1; p < last; ++p) {
      const E x = *p;
      E* q = p;
      for (; q > first && (q - 1)->time > x.time; --q) *q = *(q - 1);
      *q = x;
    }
    return;
  }
  auto by_time_row = [](const E& a, const E& b) { return a.time != b.time ? a.time < b.time : a.row < b.row; };
  // Only a spine's queries form groups this large (an entity's events past kLargeGroup take the sort
  // path): one entity holding millions of spine rows is sorted by all threads, not by one task.
  // (time, row) is a total order, so the order is the same whichever sort runs.
  if (last - first >= kParallelSortGroup) {
    tbb::parallel_sort(first, last, by_time_row);
    return;
  }
  std::sort(first, last, by_time_row);
}

// The second level: for each top bucket of `b1` (buckets in parallel), its entries stably
// scattered by the low code bits, each group sorted by (time, row) and handed to
// on_group(k, first, last, pos, bucket_last) -- code lo + k, its entries [first, last) (row numbers
// decoded), which are the positions [pos, pos + (last - first)) of the grouped order, followed by
// the bucket's next groups up to bucket_last (to prefetch from) -- for every code of the bucket in
// increasing order, empty groups included.  The entries are written to out[pos...]
// when `out` is given (the caller keeps them), else to a scratch buffer per task.  A bucket holding
// a group larger than `largest_allowed` stops there: the result is false and the grouping is
// unfinished (the caller sorts instead).
template <class E, class OnGroup>
bool group_buckets(const CodeSplit& split, const Buckets<E>& b1, E* out, std::int64_t largest_allowed,
                   OnGroup&& on_group) {
  const int shift = split.shift;
  const std::uint64_t low_mask = split.low_mask();
  std::atomic<bool> too_large{false};
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, split.n_top()), [&](const tbb::blocked_range<std::int64_t>& r) {
    std::vector<index_t> count;
    buffer<E> scratch;
    for (std::int64_t t = r.begin(); t != r.end(); ++t) {
      check_interrupt();
      if (too_large.load(std::memory_order_relaxed)) return;
      const std::uint64_t first_code = static_cast<std::uint64_t>(t) << shift;
      const auto width = static_cast<std::int64_t>(std::min<std::uint64_t>(split.n_codes - first_code, low_mask + 1));
      const index_t b = b1.top[t], e = b1.top[t + 1];
      count.assign(static_cast<std::size_t>(width) + 1, 0);
      for (index_t j = b; j < e; ++j) ++count[(static_cast<std::uint64_t>(b1.entries[j].row) & low_mask) + 1];
      for (std::int64_t l = 0; l < width; ++l) {
        if (count[l + 1] > largest_allowed) {
          too_large.store(true, std::memory_order_relaxed);
          return;
        }
        count[l + 1] += count[l];
      }
      E* dst = out;
      index_t base = b;  // dst[base + i] is grouped position b + i
      if (dst == nullptr) {
        scratch.resize(static_cast<std::size_t>(e - b));
        dst = scratch.data();
        base = 0;
      }
      std::vector<index_t>& next = count;  // count[l]: the start of group l, then its next slot
      for (index_t j = b; j < e; ++j) {
        E x = b1.entries[j];
        const auto key = static_cast<std::uint64_t>(x.row);
        x.row = static_cast<index_t>(key >> shift);
        dst[base + next[key & low_mask]++] = x;
      }
      index_t begin = 0;  // next[l] is now the end of group l
      for (std::int64_t l = 0; l < width; ++l) {
        E* first = dst + base + begin;
        E* last = dst + base + next[l];
        sort_group(first, last);
        on_group(static_cast<std::uint64_t>(first_code + l), first, last, b + begin, dst + base + (e - b));
        begin = next[l];
      }
    }
  });
  return !too_large.load();
}

}  // namespace mlsd::features::detail
