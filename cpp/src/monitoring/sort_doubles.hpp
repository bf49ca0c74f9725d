// Sorting one column of doubles, single-threaded and cache-aware (internal to drift.cpp).
//
// The order-preserving 64-bit keys of the values are first split by their top (up to) 16 varying
// bits (one scatter pass over the column), which leaves buckets of a few thousand keys for a
// million values; each bucket is then sorted while it sits in cache: split once more and
// insertion-sorted per part (split_bucket), or, for a part of more than 32 keys or a bucket of more
// than kSplitMax, by an LSD radix sort on 8-bit digits (digits constant within the bucket are
// skipped), whose last pass writes the doubles themselves.  Measured on 1M normal values: ~10 ms against ~30 ms for the
// parallel 11-bit LSD sort over the whole column (detail::radix_sort), whose passes run out of
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
};

inline void insertion_sort(std::uint64_t* x, std::size_t m) {
  for (std::size_t i = 1; i < m; ++i) {
    const std::uint64_t k = x[i];
    std::size_t j = i;
    for (; j > 0 && x[j - 1] > k; --j) x[j] = x[j - 1];
    x[j] = k;
  }
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

// The same for a bucket of up to kSplitMax keys: one more split, on its next bit_width(m) varying
// bits less 2 (about 2 to 4 keys per part when the keys spread evenly), then an insertion sort per part; a
// part that still holds more than 32 keys (keys clustered below that split) is sorted by
// sort_bucket.  Three passes over the keys instead of one per 8-bit digit.
constexpr std::size_t kSplitMax = std::size_t{1} << 15;
inline void split_bucket(std::uint64_t* x, std::uint64_t* y, std::size_t m, int bits, double* out) {
  if (m <= 48 || m > kSplitMax || bits <= 8) {
    sort_bucket(x, y, m, bits, out);
    return;
  }
  const int d = std::min(bits, static_cast<int>(std::bit_width(m)) - 2);
  const int shift = bits - d;
  const std::uint64_t mask = (std::uint64_t{1} << d) - 1;
  std::array<std::uint32_t, (kSplitMax >> 1)> end;  // bit_width(kSplitMax) - 2 bits at most
  std::fill(end.begin(), end.begin() + (std::size_t{1} << d), 0u);
  for (std::size_t i = 0; i < m; ++i) ++end[(x[i] >> shift) & mask];
  std::uint32_t offset = 0;
  for (std::size_t b = 0; b < (std::size_t{1} << d); ++b) {
    const std::uint32_t count = end[b];
    end[b] = offset;
    offset += count;
  }
  for (std::size_t i = 0; i < m; ++i) {
    const std::uint64_t k = x[i];
    y[end[(k >> shift) & mask]++] = k;
  }
  // end[b] is now where part b ends
  std::size_t s = 0;
  for (std::size_t b = 0; b < (std::size_t{1} << d); ++b) {
    const std::size_t e = end[b], size = e - s;
    if (size > 32) {
      sort_bucket(y + s, x + s, size, shift, out + s);
    } else if (size > 0) {
      insertion_sort(y + s, size);
      for (std::size_t i = s; i < e; ++i) out[i] = key_double(y[i]);
    }
    s = e;
  }
}

// Sorts keys[0, n) (whose minimum and maximum are lo and hi) into out[0, n) as doubles; tmp holds
// n keys of scratch.  keys is overwritten.  With `parallel`, the buckets are sorted by a oneTBB
// loop (for a column sorted on its own); otherwise everything runs on the calling thread.
// top16: null, or the counts of the keys' top 16 bits (65536 of them).
inline void sort_keys(std::uint64_t* keys, std::uint64_t* tmp, std::size_t n, std::uint64_t lo, std::uint64_t hi,
                      double* out, bool parallel, const std::uint32_t* top16 = nullptr) {
  if (n == 0) return;
  if (lo == hi) {
    std::fill(out, out + n, key_double(lo));
    return;
  }
  const int top = 64 - std::countl_zero(lo ^ hi);  // bits [0, top) vary, the ones above do not
  // 16 bits for a million keys (measured best), fewer for fewer keys
  const int msd = std::clamp(static_cast<int>(std::bit_width(n)) - 4, 1, std::min(top, 16));
  const int shift = top - msd;
  const std::size_t n_buckets = std::size_t{1} << msd;
  std::vector<std::size_t> start(n_buckets + 1, 0);
  if (top16 != nullptr && shift == 48 && msd == 16) {  // the buckets are the counted top 16 bits
    std::copy(top16, top16 + n_buckets, start.begin() + 1);
  } else {
    for (std::size_t i = 0; i < n; ++i) ++start[((keys[i] >> shift) & (n_buckets - 1)) + 1];
  }
  for (std::size_t b = 0; b < n_buckets; ++b) start[b + 1] += start[b];
  {
    std::vector<std::size_t> pos(start.begin(), start.end() - 1);
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t k = keys[i];
      tmp[pos[(k >> shift) & (n_buckets - 1)]++] = k;
    }
  }
  auto bucket = [&](std::size_t b) {
    const std::size_t s = start[b], m = start[b + 1] - s;
    if (m == 0) return;
    if (m > std::numeric_limits<std::uint32_t>::max()) {  // beyond the 32-bit counters: a comparison sort
      std::sort(tmp + s, tmp + s + m);
      for (std::size_t i = 0; i < m; ++i) out[s + i] = key_double(tmp[s + i]);
      return;
    }
    split_bucket(tmp + s, keys + s, m, shift, out + s);
  };
  if (parallel) {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n_buckets, 64), [&](const tbb::blocked_range<std::size_t>& r) {
      check_interrupt();
      for (std::size_t b = r.begin(); b != r.end(); ++b) bucket(b);
    });
  } else {
    for (std::size_t b = 0; b < n_buckets; ++b) bucket(b);
  }
}

}  // namespace mlsd::monitoring::sorting
