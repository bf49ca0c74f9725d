// Sorting one column of doubles, single-threaded and cache-aware (internal to drift.cpp).
//
// The order-preserving 64-bit keys of the values are first split by their top (up to) 16 varying
// bits (one scatter pass over the column), which leaves buckets of a few thousand keys for a
// million values; each bucket is then sorted while it sits in cache (split_bucket): split once more
// on bit_width(m) - 1 bits, then one branch-light insertion sort over each run of parts of at most
// 32 keys and one decode pass; a part of more than 32 keys, or a bucket of more than kSplitMax,
// goes to an LSD radix sort on 8-bit digits (digits constant within the bucket are skipped), whose
// last pass writes the doubles themselves.  Measured on 1M normal values: ~8 ms against ~30 ms for
// the parallel 11-bit LSD sort over the whole column (detail::radix_sort), whose passes run out of
// cache.  Buffers come from the caller, so a thread sorting many columns allocates them once.
// The sorted order is unique, so the result never depends on how the work was split.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include "mlsd/common/parallel.hpp"
#include "mlsd/common/views.hpp"
#include "mlsd/detail/radix_sort.hpp"  // double_key / key_double

namespace mlsd::monitoring::sorting {

using mlsd::detail::double_key;
using mlsd::detail::key_double;

// One thread's buffers: the keys of a column and the scratch of its passes.
struct SortScratch {
  buffer<std::uint64_t> keys, tmp;
  // counts of the keys' top 16 bits, taken while the keys are written (saves sort_keys a pass
  // over them when those bits are the ones it splits on)
  std::vector<std::uint32_t> top16;
  // sort_keys' bucket starts and write positions, and split_bucket's counters
  std::vector<std::size_t> start, pos;
  std::vector<std::uint32_t> end;
};

inline void insertion_sort(std::uint64_t* x, std::size_t m) {
  for (std::size_t i = 1; i < m; ++i) {
    const std::uint64_t k = x[i];
    std::size_t j = i;
    for (; j > 0 && x[j - 1] > k; --j) x[j] = x[j - 1];
    x[j] = k;
  }
}

// Sorts the m >= 2 keys at x, which are nearly sorted: an insertion sort whose common step, a key
// that moves by at most one place, is branch-free.  x[i - 1] and x[i] become the smaller and the
// larger of x[i] and the largest key before it (kept in a register, so the loop carries no store
// and reload); only a key that belongs further down takes the branch and the usual inner loop.
//
// The keys are then written to out as doubles in the same loop: with parts of at most kPart keys, a
// key moves only within its part, so position i - kPart is final once key i is placed.
constexpr std::size_t kPart = 32;
inline void sort_nearly_sorted(std::uint64_t* x, std::size_t m, double* out) {
  std::uint64_t last = std::max(x[0], x[1]);
  x[0] = std::min(x[0], x[1]);
  x[1] = last;
  for (std::size_t i = 2; i < m; ++i) {
    const std::uint64_t k = x[i];
    // lo = min(last, k), last = max(last, k) by masks: GCC turned std::min / std::max into a branch
    const std::uint64_t below = std::uint64_t{0} - static_cast<std::uint64_t>(k < last);  // all ones if k < last
    const std::uint64_t lo = (k & below) | (last & ~below);
    last ^= k ^ lo;
    x[i - 1] = lo;
    x[i] = last;
    if (lo < x[i - 2]) [[unlikely]] {
      std::size_t j = i - 1;
      for (; j > 0 && x[j - 1] > lo; --j) x[j] = x[j - 1];
      x[j] = lo;
    }
    if (i >= kPart) out[i - kPart] = key_double(x[i - kPart]);
  }
  for (std::size_t i = m > kPart ? m - kPart : 0; i < m; ++i) out[i] = key_double(x[i]);
}

// Sorts the m keys at x (x and y: two regions of m keys, either may be overwritten) and writes the
// doubles, ascending, to out.  Only the low `bits` bits of the keys may differ.
inline void sort_bucket(std::uint64_t* x, std::uint64_t* y, std::size_t m, int bits, double* out) {
  if (m <= 48) {
    insertion_sort(x, m);
    for (std::size_t i = 0; i < m; ++i) out[i] = key_double(x[i]);
    return;
  }
  constexpr int kDigit = 8;
  constexpr std::size_t kRadix = std::size_t{1} << kDigit;
  const int n_digits = (bits + kDigit - 1) / kDigit;
  std::array<std::array<std::uint32_t, kRadix>, 8> hist;
  for (int d = 0; d < n_digits; ++d) hist[d].fill(0);
  for (std::size_t i = 0; i < m; ++i) {
    const std::uint64_t k = x[i];
    for (int d = 0; d < n_digits; ++d) ++hist[d][(k >> (kDigit * d)) & (kRadix - 1)];
  }
  int pass[8], n_pass = 0;
  for (int d = 0; d < n_digits; ++d)
    if (hist[d][(x[0] >> (kDigit * d)) & (kRadix - 1)] != m) pass[n_pass++] = d;  // else constant
  std::uint64_t *src = x, *dst = y;
  for (int p = 0; p < n_pass; ++p) {
    const int shift = kDigit * pass[p];
    auto& h = hist[pass[p]];
    std::uint32_t offset = 0;
    for (auto& c : h) {
      const std::uint32_t count = c;
      c = offset;
      offset += count;
    }
    if (p + 1 == n_pass) {  // the last pass writes the doubles
      for (std::size_t i = 0; i < m; ++i) {
        const std::uint64_t k = src[i];
        out[h[(k >> shift) & (kRadix - 1)]++] = key_double(k);
      }
      return;
    }
    for (std::size_t i = 0; i < m; ++i) {
      const std::uint64_t k = src[i];
      dst[h[(k >> shift) & (kRadix - 1)]++] = k;
    }
    std::swap(src, dst);
  }
  for (std::size_t i = 0; i < m; ++i) out[i] = key_double(src[i]);  // every digit constant: all equal
}

// The same for a bucket of up to kSplitMax keys: one more split, on its next bit_width(m) - 1 varying
// bits (parts of 1 to 2 keys on average when the keys spread evenly), then one insertion sort over
// the runs of parts of at most 32 keys; a part that holds more than 32 keys (keys clustered below
// that split, or repeated) is sorted by sort_bucket.  Three passes over the keys instead of one per 8-bit digit.  `end`:
// scratch for kSplitMax counters.
//
// Measured on 1M normal values (the bucket phase of two sorts, one thread): 20 ms with the split on
// bit_width(m) - 2 bits and an insertion sort and decode loop per part, ~13 ms now.  The finer
// split leaves fewer keys out of order, and the single loops have no exit per part of a few keys,
// which the branch predictor cannot guess.  One bit finer still (bit_width(m), up to 2^16 counters,
// more than L1 holds) was as fast on spread values but 30% slower on 1000 repeated integers.
constexpr std::size_t kSplitMax = std::size_t{1} << 15;
constexpr std::size_t kSplitCounters = kSplitMax;  // 2^(bit_width(m) - 1) for m <= kSplitMax
inline void split_bucket(std::uint64_t* x, std::uint64_t* y, std::size_t m, int bits, double* out,
                         std::uint32_t* end) {
  if (m <= 48 || m > kSplitMax || bits <= 8) {
    sort_bucket(x, y, m, bits, out);
    return;
  }
  const int d = std::min(bits, static_cast<int>(std::bit_width(m)) - 1);
  const int shift = bits - d;
  const std::size_t n_parts = std::size_t{1} << d;
  const std::uint64_t mask = n_parts - 1;
  std::fill(end, end + n_parts, 0u);
  for (std::size_t i = 0; i < m; ++i) ++end[(x[i] >> shift) & mask];
  std::uint32_t offset = 0, largest = 0;
  for (std::size_t b = 0; b < n_parts; ++b) {
    const std::uint32_t count = end[b];
    end[b] = offset;
    offset += count;
    largest = std::max(largest, count);
  }
  for (std::size_t i = 0; i < m; ++i) {
    const std::uint64_t k = x[i];
    y[end[(k >> shift) & mask]++] = k;
  }
  // end[b] is now where part b ends.  Every key of a part is above those of the parts before it, so
  // an insertion sort over a run of parts moves each key only within its part.
  // small_parts: keys [a, b) of y, in parts of at most 32 keys, sorted and written to out as doubles
  auto small_parts = [&](std::size_t a, std::size_t b) {
    if (b - a >= 2) {
      sort_nearly_sorted(y + a, b - a, out + a);
    } else if (b > a) {
      out[a] = key_double(y[a]);
    }
  };
  if (largest <= kPart) [[likely]] {
    small_parts(0, m);
    return;
  }
  // a part of more than 32 keys (keys clustered below this split, or repeated) is sorted on its own,
  // straight to out; the runs of small parts between them as above
  std::size_t s = 0, run = 0;
  for (std::size_t b = 0; b < n_parts; ++b) {
    const std::size_t e = end[b];
    if (e - s > kPart) {
      small_parts(run, s);
      sort_bucket(y + s, x + s, e - s, shift, out + s);
      run = e;
    }
    s = e;
  }
  small_parts(run, m);
}

// Sorts s.keys[0, n) (whose minimum and maximum are lo and hi) into out[0, n) as doubles, with
// s.tmp (n keys) as scratch; s.keys is overwritten.  With `parallel`, the buckets are sorted by a
// oneTBB loop (for a column sorted on its own); otherwise everything runs on the calling thread.
// top16: null, or the counts of the keys' top 16 bits (65536 of them).
inline void sort_keys(SortScratch& s, std::size_t n, std::uint64_t lo, std::uint64_t hi, double* out, bool parallel,
                      const std::uint32_t* top16 = nullptr) {
  if (n == 0) return;
  if (lo == hi) {
    std::fill(out, out + n, key_double(lo));
    return;
  }
  std::uint64_t* keys = s.keys.data();
  std::uint64_t* tmp = s.tmp.data();
  const int top = 64 - std::countl_zero(lo ^ hi);  // bits [0, top) vary, the ones above do not
  // 16 bits for a million keys (measured best), fewer for fewer keys
  const int msd = std::clamp(static_cast<int>(std::bit_width(n)) - 4, 1, std::min(top, 16));
  const int shift = top - msd;
  const std::size_t n_buckets = std::size_t{1} << msd;
  std::vector<std::size_t>& start = s.start;
  start.assign(n_buckets + 1, 0);
  if (top16 != nullptr && shift == 48 && msd == 16) {  // the buckets are the counted top 16 bits
    std::copy(top16, top16 + n_buckets, start.begin() + 1);
  } else {
    for (std::size_t i = 0; i < n; ++i) ++start[((keys[i] >> shift) & (n_buckets - 1)) + 1];
  }
  for (std::size_t b = 0; b < n_buckets; ++b) start[b + 1] += start[b];
  {
    std::vector<std::size_t>& pos = s.pos;
    pos.assign(start.begin(), start.end() - 1);
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t k = keys[i];
      tmp[pos[(k >> shift) & (n_buckets - 1)]++] = k;
    }
  }
  auto bucket = [&](std::size_t b, std::uint32_t* end) {
    const std::size_t s = start[b], m = start[b + 1] - s;
    if (m == 0) return;
    if (m > std::numeric_limits<std::uint32_t>::max()) {  // beyond the 32-bit counters: a comparison sort
      std::sort(tmp + s, tmp + s + m);
      for (std::size_t i = 0; i < m; ++i) out[s + i] = key_double(tmp[s + i]);
      return;
    }
    split_bucket(tmp + s, keys + s, m, shift, out + s, end);
  };
  if (parallel) {
    tbb::enumerable_thread_specific<std::vector<std::uint32_t>> ends(kSplitCounters);
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n_buckets, 64), [&](const tbb::blocked_range<std::size_t>& r) {
      check_interrupt();
      std::uint32_t* end = ends.local().data();
      for (std::size_t b = r.begin(); b != r.end(); ++b) bucket(b, end);
    });
  } else {
    s.end.resize(kSplitCounters);
    for (std::size_t b = 0; b < n_buckets; ++b) bucket(b, s.end.data());
  }
}

}  // namespace mlsd::monitoring::sorting
