#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "exact_sum.hpp"
#include "group.hpp"
#include "keys.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/detail/radix_sort.hpp"
#include "mlsd/features.hpp"
#include "mlsd/features_window.hpp"

namespace mlsd::features {

namespace {

constexpr const char* kFn = "window_aggregate";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The tables in (entity, time) order, gathered once so that the walks read contiguous memory.
struct Sorted {
  buffer<std::int64_t> entity, time, row;
  std::vector<buffer<double>> values;
};

// Smallest bad index seen by parallel workers (n when none), so the message names the first one.
struct FirstBad {
  std::atomic<std::int64_t> at;
  explicit FirstBad(std::int64_t n) : at(n) {}
  void note(std::int64_t i) {
    std::int64_t cur = at.load(std::memory_order_relaxed);
    while (i < cur && !at.compare_exchange_weak(cur, i, std::memory_order_relaxed)) {
    }
  }
};

Sorted gather(std::span<const std::int64_t> entity, std::span<const std::int64_t> time,
              std::span<const std::span<const double>> values, std::span<const std::int64_t> order,
              const char* table) {
  const auto n = static_cast<std::int64_t>(entity.size());
  MLSD_REQUIRE(static_cast<std::int64_t>(time.size()) == n, kFn, table, " time has ", time.size(),
               " elements but its entity codes have ", n);
  MLSD_REQUIRE(static_cast<std::int64_t>(order.size()) == n, kFn, table, " order has ", order.size(),
               " elements but the table has ", n, " rows");
  for (std::size_t c = 0; c < values.size(); ++c)
    MLSD_REQUIRE(static_cast<std::int64_t>(values[c].size()) == n, kFn, "values column ", c, " has ",
                 values[c].size(), " elements but the events have ", n, " rows");
  Sorted s;
  s.entity.resize(n);
  s.time.resize(n);
  s.row.resize(n);
  s.values.resize(values.size());
  for (auto& v : s.values) v.resize(n);
  FirstBad bad_order(n), bad_value(n);
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 1 << 14), [&](const auto& r) {
    check_interrupt();
    constexpr std::int64_t kAhead = 16;  // rows are read in sort order, i.e. at random: prefetch
    for (std::int64_t i = r.begin(); i != r.end(); ++i) {
      if (i + kAhead < r.end()) {
        const std::int64_t p = order[i + kAhead];
        if (p >= 0 && p < n) {
          __builtin_prefetch(entity.data() + p);
          __builtin_prefetch(time.data() + p);
          for (std::size_t c = 0; c < values.size(); ++c) __builtin_prefetch(values[c].data() + p);
        }
      }
      const std::int64_t j = order[i];
      if (j < 0 || j >= n) {
        bad_order.note(i);
        continue;
      }
      s.entity[i] = entity[j];
      s.time[i] = time[j];
      s.row[i] = j;
      for (std::size_t c = 0; c < values.size(); ++c) {
        const double x = values[c][j];
        if (std::isinf(x)) bad_value.note(j);
        s.values[c][i] = x;
      }
    }
  });
  MLSD_REQUIRE(bad_order.at.load() == n, kFn, table, " order must hold row numbers in [0, ", n, "); position ",
               bad_order.at.load(), " does not");
  MLSD_REQUIRE(bad_value.at.load() == n, kFn, "values must be finite or NaN; row ", bad_value.at.load(),
               " holds an infinite value");
  FirstBad unsorted(n);
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(1, std::max<std::int64_t>(n, 1), 1 << 14), [&](const auto& r) {
    for (std::int64_t i = r.begin(); i != r.end(); ++i) {
      const bool ok = s.entity[i - 1] < s.entity[i] || (s.entity[i - 1] == s.entity[i] && s.time[i - 1] <= s.time[i]);
      if (!ok) unsorted.note(i);
    }
  });
  MLSD_REQUIRE(unsorted.at.load() == n, kFn, table, " order does not sort the table by (entity, time) at position ",
               unsorted.at.load());
  return s;
}

// A deque of event positions whose values are monotone (min: increasing, max: decreasing), stored
// in a vector with a moving head: every event is pushed and popped at most once per walk.
template <class Before>
struct MonotoneDeque {
  std::vector<std::int64_t> q;
  std::size_t head = 0;
  void reset() {
    q.clear();
    head = 0;
  }
  void push(std::int64_t i, const double* v, Before before) {
    while (q.size() > head && !before(v[q.back()], v[i])) q.pop_back();
    q.push_back(i);
  }
  void drop_before(std::int64_t lo) {
    while (head < q.size() && q[head] < lo) ++head;
  }
  bool empty() const { return head == q.size(); }
  std::int64_t front() const { return q[head]; }
};

// True when k.sum + k.comp, within `err` of the exact sum, rounds to the exact sum's nearest double:
// no midpoint between k.value() and a neighbour lies within err of sum + comp (err 0: sum + comp is
// the exact sum).  Not shown past +-DBL_MAX, nor when the sum lies within err of a midpoint.
inline bool rounded_once(const mlsd::detail::KahanSum& k, double err) {
  if (err == 0) return true;
  const double v = k.sum + k.comp, bb = v - k.sum;
  const double r = (k.sum - (v - bb)) + (k.comp - bb);  // sum + comp = v + r exactly
  const std::uint64_t bits = std::bit_cast<std::uint64_t>(v) & ~(std::uint64_t{1} << 63);
  const std::uint64_t e = bits >> 52;
  const bool power_of_two = (bits & ((std::uint64_t{1} << 52) - 1)) == 0;
  if (e >= 54 && e < 0x7ff) [[likely]] {
    double gap = std::bit_cast<double>((e - 52) << 52);  // ulp(v); below a power of two, half of it
    if (power_of_two) gap *= 0.5;
    return std::fabs(r) + err * 0x1.0001p0 < 0.5 * gap;  // the factor: err's own rounding
  }
  if (e >= 0x7ff) return false;
  // Below 2^-969 ulp(v) is subnormal and half of it may not be a double: twice the distances are
  // compared (the smallest normal number's lower neighbour is as far as its upper one)
  double gap = std::bit_cast<double>(std::uint64_t{1} << (e > 0 ? e - 1 : 0));
  if (power_of_two && e > 1) gap *= 0.5;
  return 2 * (std::fabs(r) + err * 0x1.0001p0) < gap;
}

// A compensated (Neumaier) sum that also adds up exactly what its compensation rounded off (each
// step's by TwoSum), so that it knows when its value is the exact sum rounded once (rounded_once).
struct TrackedSum {
  mlsd::detail::KahanSum k;
  double err = 0;
  void add(double x) {
    const double t = k.sum + x;
    const double e = std::fabs(k.sum) >= std::fabs(x) ? (k.sum - t) + x : (x - t) + k.sum;
    const double c = k.comp + e, bb = c - k.comp;
    err += std::fabs((k.comp - (c - bb)) + (e - bb));
    k.sum = t;
    k.comp = c;
  }
  double value() const { return k.value(); }
  // false also past +-DBL_MAX (then the sum and its errors are not the exact ones)
  bool rounded() const { return std::isfinite(k.sum) && std::isfinite(err) && rounded_once(k, err); }
};

// The walk's running sum of a sliding frame: a TrackedSum, which knows what its compensation rounded
// off.  Large values passing through a sliding frame leave errors of their size in the compensation,
// which then swallows the small values added meanwhile: once the large values leave, the value can
// be off by far more than rounding (-3 + -3 read as 0), and the tracked error says so.  A sum whose
// value is not shown to be the exact sum rounded once (TrackedSum::rounded; never past +-DBL_MAX)
// restarts from the frame's exact sum (FrameExactSum).
struct RunningSum {
  TrackedSum t;
  RunningSum() = default;
  // A restart from a frame's exact sum: its double and the remainder (ExactSum::split), the
  // remainder's own rounding (none when exact, else at most 2^-52 of it) as the error so far.
  explicit RunningSum(const detail::SplitSum& k) {
    t.k = k.sum;
    t.err = k.exact ? 0.0 : std::fabs(k.sum.comp) * 0x1p-52;
  }
  void add(double x) { t.add(x); }
  double value() const { return t.value(); }
  bool rounded() const { return t.rounded(); }
};

// The exact sum of the walk's sliding frame [lo, hi) of the non-NaN values v, for its running sum
// to restart from (ExactSum::split).  It is brought up to date only when read, from the values
// that entered and left the frame since (or summed again when that is more), so that each value
// enters and leaves it at most once: a frame whose sum stays near a midpoint (2^53 + 1 + 10^-300,
// then 2.0s coming and going) needs a restart at every step, which must not re-sum the frame.
class FrameExactSum {
 public:
  // Forgets the values held: the next split() sums its frame afresh.
  void reset() { lo_ = hi_ = -1; }

  [[gnu::noinline]]  // rare: kept out of the walk's loop
  detail::SplitSum split(const double* v, std::int64_t lo, std::int64_t hi) {
    if (lo_ < 0 || (lo - lo_) + (hi - hi_) > hi - lo) {
      sum_ = detail::ExactSum{};
      sum_.add([v](std::int64_t i) { return v[i]; }, lo, hi);
    } else {
      sum_.add([v](std::int64_t i) { return v[i]; }, hi_, hi);
      sum_.add([v](std::int64_t i) { return -v[i]; }, lo_, lo);
    }
    lo_ = lo;
    hi_ = hi;
    return sum_.split();
  }

 private:
  detail::ExactSum sum_;
  std::int64_t lo_ = -1, hi_ = -1;  // the frame held (lo_ < 0: none)
};

struct Less {
  bool operator()(double a, double b) const { return a < b; }
};
struct Greater {
  bool operator()(double a, double b) const { return a > b; }
};

// Rows of a result written into its column-major table (column col of row i at out[col * m + i])
// through a tile of kRows rows held in L1: each column's part of a tile then leaves as whole cache
// lines with non-temporal stores, which neither read the destination lines first nor evict the
// inputs from the cache (row-by-row stores into n_cols columns far apart did both).
class ColumnTile {
 public:
  static constexpr std::int64_t kRows = 128;
  ColumnTile(double* out, std::size_t m, std::size_t n_cols) : out_(out), m_(m), n_cols_(n_cols), tile_(kRows * n_cols) {}
  double& at(std::int64_t row_in_tile, std::size_t col) {
    return tile_[col * kRows + static_cast<std::size_t>(row_in_tile)];
  }
  // Writes rows [first, first + rows) of the table from the tile's first `rows` rows.
  void flush(std::int64_t first, std::int64_t rows) {
    for (std::size_t col = 0; col < n_cols_; ++col) {
      double* dst = out_ + col * m_ + static_cast<std::size_t>(first);
      const double* src = tile_.data() + col * kRows;
#if defined(__SSE2__)
      for (std::int64_t j = 0; j < rows; ++j)
        _mm_stream_si64(reinterpret_cast<long long*>(dst + j), std::bit_cast<long long>(src[j]));
#else
      std::copy(src, src + rows, dst);
#endif
    }
  }
  // Non-temporal stores are weakly ordered: fence them before the task ends.
  ~ColumnTile() {
#if defined(__SSE2__)
    _mm_sfence();
#endif
  }

 private:
  double* out_;
  std::size_t m_, n_cols_;
  std::vector<double> tile_;
};

// Where each aggregate's columns start within a value's block of the result (-1: not requested).
struct Layout {
  std::size_t n_cols = 0, value_block = 0;
  std::ptrdiff_t count = -1, sum = -1, mean = -1, min = -1, max = -1, last = -1;
  explicit Layout(const WindowResult& r) : n_cols(r.n_columns()), value_block(n_cols / std::max<std::size_t>(r.n_values, 1)) {
    auto at = [&](Agg a) { return (r.aggs & a) ? static_cast<std::ptrdiff_t>(r.column(0, a, 0)) : std::ptrdiff_t{-1}; };
    count = at(kCount), sum = at(kSum), mean = at(kMean), min = at(kMin), max = at(kMax), last = at(kLast);
  }
};

// A result of m queries, its table allocated (its pages advised huge, not yet faulted in).
WindowResult new_result(std::int64_t m, std::size_t k, std::size_t n_w, unsigned aggs) {
  WindowResult res;
  res.n_queries = m;
  res.n_values = k;
  res.n_windows = n_w;
  res.aggs = aggs;
  res.table.resize(res.n_columns() * static_cast<std::size_t>(m));
  mlsd::detail::advise_huge_pages(res.table.data(), res.table.size() * sizeof(double));
  return res;
}

// Entities with more events than this are walked with sliding pointers (O(1) per query and window);
// smaller ones are aggregated directly from their few events, query by query in the caller's row
// order, which writes the result columns sequentially instead of through a sorted copy (both give
// every sum as the exact sum rounded once: the same numbers on every path).
constexpr std::int64_t kDirectMax = 32;
static_assert(kDirectMax < 128, "frame offsets and lengths are stored in bytes");

// The sliding walk: the aggregates of every sorted query, written row-major in sorted order
// (table[j * n_cols + column]).  One walk per (entity, value column): the upper pointer does not
// depend on the window, so the events are added once and each window only moves its own lower pointer.
void walk(const Sorted& ev, const Sorted& qs, std::span<const std::int64_t> windows, bool left_closed,
          bool right_closed, unsigned aggs, const Layout& lay, double* table) {
  const std::int64_t m = static_cast<std::int64_t>(qs.entity.size());
  const std::size_t k = ev.values.size(), n_w = windows.size(), n_cols = lay.n_cols;
  // Runs of one entity among the sorted queries.
  std::vector<std::int64_t> group{0};
  for (std::int64_t i = 1; i < m; ++i)
    if (qs.entity[i] != qs.entity[i - 1]) group.push_back(i);
  if (m > 0) group.push_back(m);
  const auto n_groups = static_cast<std::int64_t>(group.size()) - 1;
  struct Frame {
    std::int64_t lo = 0, cnt = 0;
    RunningSum sum;
    FrameExactSum exact;
    MonotoneDeque<Less> min;
    MonotoneDeque<Greater> max;
  };
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, std::max<std::int64_t>(n_groups, 0)), [&](const auto& r) {
    std::vector<Frame> frames(n_w);
    for (std::int64_t g = r.begin(); g != r.end(); ++g) {
      if (((g - r.begin()) & 63) == 0) check_interrupt();  // Ctrl-C (asked on the calling thread only)
      const std::int64_t q0 = group[g], q1 = group[g + 1];
      const std::int64_t e = qs.entity[q0];
      std::int64_t a = std::lower_bound(ev.entity.begin(), ev.entity.end(), e) - ev.entity.begin();
      std::int64_t b = std::upper_bound(ev.entity.begin() + a, ev.entity.end(), e) - ev.entity.begin();
      if (e < 0) a = b;  // a missing key: empty frames
      const std::int64_t* ts = ev.time.data();
      for (std::size_t c = 0; c < k; ++c) {
        const double* v = ev.values[c].data();
        for (auto& f : frames) {
          f.lo = a;
          f.cnt = 0;
          f.sum = RunningSum{};
          f.exact.reset();
          f.min.reset();
          f.max.reset();
        }
        std::int64_t hi = a, last_valid = -1;
        for (std::int64_t j = q0; j < q1; ++j) {
          const std::int64_t t = qs.time[j];
          while (hi < b && (ts[hi] < t || (right_closed && ts[hi] == t))) {
            const double x = v[hi];
            if (!std::isnan(x)) {
              last_valid = hi;
              for (auto& f : frames) {
                f.sum.add(x);
                ++f.cnt;
                if (aggs & kMin) f.min.push(hi, v, Less{});
                if (aggs & kMax) f.max.push(hi, v, Greater{});
              }
            }
            ++hi;
          }
          const auto row = static_cast<std::size_t>(j);
          for (std::size_t wi = 0; wi < n_w; ++wi) {
            Frame& f = frames[wi];
            std::int64_t lower;
            // A window reaching below the smallest int64 keeps every earlier event.
            if (!__builtin_sub_overflow(t, windows[wi], &lower)) {
              while (f.lo < hi && (ts[f.lo] < lower || (!left_closed && ts[f.lo] == lower))) {
                const double x = v[f.lo];
                if (!std::isnan(x)) {
                  f.sum.add(-x);
                  --f.cnt;
                }
                ++f.lo;
              }
            }
            if (f.cnt == 0) f.sum = RunningSum{};  // no drift carried over an empty window
            // A frame that summed past +-DBL_MAX leaves the running sum inf or NaN for good, even
            // after the large values leave it, and large values that left may have taken small
            // ones with them (RunningSum); a sum may also end too near a midpoint between two
            // doubles for its compensation's rounding.  Unless its value is shown to be the exact
            // sum rounded once, restart from the frame's exact sum (so every sum is math.fsum's,
            // as on the direct path).  O(1) amortised (FrameExactSum), rare but for such frames.
            if (!f.sum.rounded()) f.sum = RunningSum(f.exact.split(v, f.lo, hi));
            double* o = table + row * n_cols + c * lay.value_block + wi;
            const bool any = f.cnt > 0;
            const double total = any ? f.sum.value() : kNaN;
            if (lay.count >= 0) o[lay.count] = static_cast<double>(f.cnt);
            if (lay.sum >= 0) o[lay.sum] = total;
            if (lay.mean >= 0) o[lay.mean] = any ? total / static_cast<double>(f.cnt) : kNaN;
            if (lay.min >= 0) {
              f.min.drop_before(f.lo);
              o[lay.min] = any ? v[f.min.front()] : kNaN;
            }
            if (lay.max >= 0) {
              f.max.drop_before(f.lo);
              o[lay.max] = any ? v[f.max.front()] : kNaN;
            }
            if (lay.last >= 0) o[lay.last] = (any && last_valid >= f.lo) ? v[last_valid] : kNaN;
          }
        }
      }
    }
  });
}


using detail::Entry;

// An entry that carries its row's value through the grouping (one value column: read in row order
// by the scatter rather than at random when recorded).
struct ValuedEntry {
  std::int64_t time;
  index_t row;
  double value;
};

// The events in grouped order (by entity, then time, then row), one record of k + meta words per
// event: its values' bits, then where its frames lie among its neighbours, so that a query reads
// its frames from one or two cache lines and compares no times.  Meta bytes of the event at grouped
// position p of a directly aggregated entity: byte 0, the signed offset from p of its frames' common
// upper end (past the events at its time when frames are right-closed, before them otherwise);
// byte 1 + w, the number of events in window w's frame [end - len, end).  An event of a walked
// entity has byte 0 = kWalked and its row of the side table in the bytes above.
struct Frames {
  static constexpr std::uint8_t kWalked = 0x80;
  std::size_t k = 0, stride = 0;
  buffer<std::uint64_t> words;
  double value(std::size_t c, std::int64_t p) const {
    return std::bit_cast<double>(words[static_cast<std::size_t>(p) * stride + c]);
  }
  std::uint64_t* record(std::int64_t p) { return words.data() + static_cast<std::size_t>(p) * stride; }
  const std::uint8_t* meta(std::int64_t p) const {
    return reinterpret_cast<const std::uint8_t*>(words.data() + static_cast<std::size_t>(p) * stride + k);
  }
};

// An entity walked with sliding pointers: its grouped positions [pos, pos + time.size()).
struct WalkedGroup {
  index_t pos;
  std::vector<std::int64_t> time;
};

// Writes the values of a group's entries [first, first + g), the grouped positions pos, ..., into
// their records and notes the infinite ones (the self path's Recorder and the spine path share
// it); at_row(j, row) is told each entry's row, prefetch_row(row) each row read ahead (the rows
// are read at random: those of the entries up to ahead_last, the bucket's next groups, prefetched).
template <class E, class AtRow, class PrefetchRow>
void record_values(const WindowEvents& ev, Frames& fr, FirstBad& bad_value, const E* first, std::int64_t g, index_t pos,
                   const E* ahead_last, AtRow&& at_row, PrefetchRow&& prefetch_row) {
  constexpr bool carried = std::is_same_v<E, ValuedEntry>;
  constexpr std::int64_t kAhead = 16;
  const std::size_t k = fr.k;
  const std::int64_t n_ahead = std::min<std::int64_t>(ahead_last - first, g + kAhead);
  for (std::int64_t j = 0; j < g; ++j) {
    if (j + kAhead < n_ahead) {
      const index_t ahead = first[j + kAhead].row;
      prefetch_row(ahead);
      if constexpr (!carried)
        for (std::size_t c = 0; c < k; ++c) __builtin_prefetch(ev.values[c].data() + ahead);
    }
    const index_t row = first[j].row;
    at_row(j, row);
    std::uint64_t* w = fr.record(pos + j);
    for (std::size_t c = 0; c < k; ++c) {
      double x;
      if constexpr (carried) {
        x = first[j].value;
      } else {
        x = ev.values[c][row];
      }
      if (std::isinf(x)) bad_value.note(row);
      w[c] = std::bit_cast<std::uint64_t>(x);
    }
  }
}

// The times of a group's entries [first, first + g) (of an entity to walk).
template <class E>
std::vector<std::int64_t> group_times(const E* first, std::int64_t g) {
  std::vector<std::int64_t> time(static_cast<std::size_t>(g));
  for (std::int64_t j = 0; j < g; ++j) time[j] = first[j].time;
  return time;
}

// The exact sum of value c of the records [lo, end) rounded once, for the direct frames whose
// compensated sum cannot show that rounding.
[[gnu::noinline]]  // rare: kept out of the per-query loops
double exact_rounded(const Frames& fr, std::size_t c, std::int64_t lo, std::int64_t end) {
  return detail::exact_sum([&](std::int64_t q) { return fr.value(c, q); }, lo, end).rounded();
}

// The aggregates of one query whose window w's frame is the grouped positions [end - len[w], end)
// of `fr` (frames nested: windows visited by increasing size, each continuing the smaller one's
// sum backwards from `end`), written through put(column, value).  The self path and the spine path
// both call it, so that a query gets the same bits whichever table it comes from.
template <class Put>
inline void aggregate_frames(const Frames& fr, std::int64_t end, const std::uint8_t* len,
                             std::span<const std::size_t> by_size, const Layout& lay, Put&& put) {
  for (std::size_t c = 0; c < fr.k; ++c) {
    std::int64_t lo = end, cnt = 0;
    TrackedSum sum;
    double mn = 0, mx = 0, last = kNaN;
    for (std::size_t wi : by_size) {
      const std::int64_t target = end - len[wi];
      while (lo > target) {
        --lo;
        const double x = fr.value(c, lo);
        if (std::isnan(x)) continue;
        if (cnt == 0) {
          mn = mx = last = x;
        } else {
          mn = std::min(mn, x);
          mx = std::max(mx, x);
        }
        ++cnt;
        sum.add(x);
      }
      const bool any = cnt > 0;
      double total = any ? sum.value() : kNaN;
      // Past +-DBL_MAX, or within what the compensation rounded off of a midpoint between two
      // doubles (large values cancelling, ties of values of very different magnitudes): summed
      // exactly, so that every sum is the exact one rounded once, as math.fsum
      if (any && (lay.sum >= 0 || lay.mean >= 0) && !sum.rounded())
        total = exact_rounded(fr, c, lo, end);
      const std::size_t o = c * lay.value_block + wi;
      if (lay.count >= 0) put(o + lay.count, static_cast<double>(cnt));
      if (lay.sum >= 0) put(o + lay.sum, total);
      if (lay.mean >= 0) put(o + lay.mean, any ? total / static_cast<double>(cnt) : kNaN);
      if (lay.min >= 0) put(o + lay.min, any ? mn : kNaN);
      if (lay.max >= 0) put(o + lay.max, any ? mx : kNaN);
      if (lay.last >= 0) put(o + lay.last, any ? last : kNaN);
    }
  }
}

// For a query at time t whose frames end before the group's entry `end` (entries by time), the
// number of entries in each window's frame [end - len[w], end): those after t - w (at t - w too
// when left-closed).  A window reaching below the smallest int64 keeps every earlier entry.  The
// self path (Recorder::group) and the spine path both take their frame bytes from it.
template <class E>
void frame_lengths(const E* first, std::int64_t end, std::int64_t t, std::span<const std::int64_t> windows,
                   bool left_closed, std::uint8_t* len) {
  for (std::size_t wi = 0; wi < windows.size(); ++wi) {
    std::int64_t lower;
    const bool bounded = !__builtin_sub_overflow(t, windows[wi], &lower);
    std::int64_t lo = end;
    while (lo > 0 && (!bounded || first[lo - 1].time > lower || (left_closed && first[lo - 1].time == lower))) --lo;
    len[wi] = static_cast<std::uint8_t>(end - lo);
  }
}

// Windows in increasing size (ties in their order): the order in which aggregate_frames extends
// a query's nested frames.
std::vector<std::size_t> windows_by_size(std::span<const std::int64_t> windows) {
  std::vector<std::size_t> by_size(windows.size());
  for (std::size_t w = 0; w < windows.size(); ++w) by_size[w] = w;
  std::stable_sort(by_size.begin(), by_size.end(), [&](std::size_t a, std::size_t b) { return windows[a] < windows[b]; });
  return by_size;
}

// Writes the records, the row -> position map and the frame bytes of the entities' groups, from
// either grouping (the grouped positions of a group are contiguous).  inv[row] = its grouped
// position + 1, 0 for a missing key: 32-bit words while they suffice, so that the map of 5M rows
// (written at random) stays in the last-level cache.
template <class Pos>
class Recorder {
 public:
  Recorder(const WindowEvents& ev, std::span<const std::int64_t> windows, bool left_closed, bool right_closed,
           Frames& frames, buffer<Pos>& inv)
      : ev_(ev), windows_(windows), left_closed_(left_closed), right_closed_(right_closed), fr_(frames), inv_(inv),
        bad_value_(static_cast<std::int64_t>(ev.entity.size())) {}

  // The group of entries [first, last), sorted by (time, row), at grouped positions pos, ...; the
  // entries up to ahead_last are recorded next (their rows are read at random: prefetched).
  template <class E>
  void group(const E* first, const E* last, index_t pos, const E* ahead_last) {
    const auto g = static_cast<std::int64_t>(last - first);
    const std::size_t k = fr_.k;
    record_values(
        ev_, fr_, bad_value_, first, g, pos, ahead_last,
        [&](std::int64_t j, index_t row) { inv_[row] = static_cast<Pos>(pos + j + 1); },
        [&](index_t row) { __builtin_prefetch(inv_.data() + row, 1); });
    if (g > kDirectMax) {
      WalkedGroup wg{pos, group_times(first, g)};
      const std::lock_guard<std::mutex> lock(mu_);
      walked_.push_back(std::move(wg));
      return;
    }
    for (std::int64_t j = 0; j < g; ++j) {
      const std::int64_t t = first[j].time;
      std::int64_t end = j;
      if (right_closed_) {
        end = j + 1;
        while (end < g && first[end].time == t) ++end;
      } else {
        while (end > 0 && first[end - 1].time == t) --end;
      }
      auto* m = reinterpret_cast<std::uint8_t*>(fr_.record(pos + j) + k);
      m[0] = static_cast<std::uint8_t>(static_cast<std::int8_t>(end - j));
      frame_lengths(first, end, t, windows_, left_closed_, m + 1);
    }
  }

  // Rows that belong to no entity (a missing key): empty frames; their values are checked all the same.
  void missing(std::int64_t row) {
    inv_[row] = 0;
    for (std::size_t c = 0; c < fr_.k; ++c)
      if (std::isinf(ev_.values[c][row])) bad_value_.note(row);
  }

  // Starts over (the grouping gave up half-way).
  void reset() { walked_.clear(); }

  // Throws for an infinite value; the walked groups in position order.
  std::vector<WalkedGroup> finish() {
    MLSD_REQUIRE(bad_value_.at.load() == static_cast<std::int64_t>(ev_.entity.size()), kFn,
                 "values must be finite or NaN; row ", bad_value_.at.load(), " holds an infinite value");
    std::sort(walked_.begin(), walked_.end(), [](const WalkedGroup& a, const WalkedGroup& b) { return a.pos < b.pos; });
    return std::move(walked_);
  }

 private:
  const WindowEvents& ev_;
  std::span<const std::int64_t> windows_;
  bool left_closed_, right_closed_;
  Frames& fr_;
  buffer<Pos>& inv_;
  FirstBad bad_value_;
  std::mutex mu_;
  std::vector<WalkedGroup> walked_;
};

// `count` trivial objects of type E (records of 8-byte words, as the table's doubles) begun in
// `storage` from byte `offset` on, by a placement new of trivial objects (no code), so that writing
// them there is not an access to the doubles through another type; empty when they do not fit.  The
// result table lends its storage so to the grouping's entries: its pages are then faulted in once,
// not a second block of that size.  The caller begins the doubles' lifetime again before it writes
// the results.
template <class E>
std::span<E> lend(std::span<double> storage, std::size_t offset, std::size_t count) {
  static_assert(std::is_trivial_v<E> && alignof(E) <= alignof(double));
  if (count == 0 || offset % alignof(double) != 0 || offset > storage.size_bytes() ||
      (storage.size_bytes() - offset) / sizeof(E) < count)
    return {};
  void* at = reinterpret_cast<unsigned char*>(storage.data()) + offset;
  return std::span<E>(::new (at) E[count], count);
}

// Groups the events by entity code without sorting them (detail::group_buckets; sparse codes are
// numbered densely first: detail::plan_grouping); false when the codes leave no split or an entity
// is larger than the caches hold.
// `lent`: memory the first level's entries may use (the result table, which is written only after
// the grouping: its pages are then faulted in once, not a second block of that size).
template <class Rec>
bool record_grouped(const WindowEvents& ev, Rec& rec, std::span<double> lent) {
  const auto n = static_cast<std::uint64_t>(ev.entity.size());
  const detail::GroupingPlan plan = detail::plan_grouping(detail::range_of_present(ev.entity), ev.entity, {}, n, n);
  if (!plan.split) return false;
  const std::optional<detail::CodeSplit>& split = plan.split;
  auto on_group = [&](std::uint64_t, const auto* first, const auto* last, index_t pos, const auto* bucket_last) {
    rec.group(first, last, pos, bucket_last);
  };
  auto missing = [&](std::int64_t i) { rec.missing(i); };
  if (ev.values.size() == 1) {
    const std::span<const double> v = ev.values[0];
    const auto b1 = detail::scatter_by_top(
        *split, plan.codes, [&](std::int64_t i) { return ValuedEntry{ev.time[i], 0, v[i]}; }, missing, {},
        lend<ValuedEntry>(lent, 0, lent.size_bytes() / sizeof(ValuedEntry)));
    return detail::group_buckets(*split, b1, static_cast<ValuedEntry*>(nullptr), detail::kLargeGroup, on_group);
  }
  const auto b1 = detail::scatter_by_top(*split, plan.codes, [&](std::int64_t i) { return Entry{ev.time[i], 0}; }, missing,
                                         {}, lend<Entry>(lent, 0, lent.size_bytes() / sizeof(Entry)));
  return detail::group_buckets(*split, b1, static_cast<Entry*>(nullptr), detail::kLargeGroup, on_group);
}

// Sorts the events by (entity, time), stably, then records each entity's run.  When (entity, time,
// row) fit in 64 bits (entity codes and times offset by their minimum over the rows with a key),
// one word per row is radix-sorted on its key bits, else the shared sort_order gives the order.
// Negative codes (missing keys) sort first.
template <class Rec>
void record_sorted(const WindowEvents& ev, Rec& rec) {
  const auto n = static_cast<std::int64_t>(ev.entity.size());
  struct Ranges {
    features::detail::Range code, time;
  };
  const Ranges rg = mlsd::detail::ordered_reduce<Ranges>(
      n, Ranges{},
      [&](std::int64_t b, std::int64_t e) {
        Ranges r;
        for (std::int64_t i = b; i < e; ++i) {
          if (ev.entity[i] < 0) continue;
          r.code.lo = std::min(r.code.lo, ev.entity[i]);
          r.code.hi = std::max(r.code.hi, ev.entity[i]);
          r.time.lo = std::min(r.time.lo, ev.time[i]);
          r.time.hi = std::max(r.time.hi, ev.time[i]);
        }
        return r;
      },
      [](Ranges a, const Ranges& b) { return Ranges{a.code | b.code, a.time | b.time}; });
  // code 0: a missing key; entity c >= 0 gets c - lo + 1
  const std::uint64_t code_span = rg.code.empty() ? 0 : features::detail::span_of(rg.code) + 1;
  const int code_bits = code_span == 0 ? 0 : features::detail::bits_for(code_span);
  const int time_bits = features::detail::bits_for(features::detail::span_of(rg.time));
  const int row_bits = features::detail::bits_for(static_cast<std::uint64_t>(n - 1));
  // The events in sorted order: (time, row) and the entity code (-1: missing).
  buffer<Entry> sorted(static_cast<std::size_t>(n));
  buffer<std::int64_t> code(static_cast<std::size_t>(n));
  mlsd::detail::advise_huge_pages(sorted.data(), sorted.size() * sizeof(Entry));
  mlsd::detail::advise_huge_pages(code.data(), code.size() * sizeof(std::int64_t));
  if (code_bits + time_bits + row_bits <= 64 && code_bits < 64) {
    const int time_shift = row_bits, code_shift = row_bits + time_bits;
    const std::uint64_t time_mask = time_bits == 0 ? 0 : (~std::uint64_t{0} >> (64 - time_bits));
    const std::uint64_t row_mask = row_bits == 0 ? 0 : (~std::uint64_t{0} >> (64 - row_bits));
    buffer<std::uint64_t> keys(static_cast<std::size_t>(n));
    mlsd::detail::advise_huge_pages(keys.data(), keys.size() * sizeof(std::uint64_t));
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 1 << 14), [&](const auto& r) {
      for (std::int64_t i = r.begin(); i != r.end(); ++i) {
        const std::int64_t e = ev.entity[i];
        const std::uint64_t c = e < 0 ? 0 : static_cast<std::uint64_t>(e) - static_cast<std::uint64_t>(rg.code.lo) + 1;
        const std::uint64_t t = e < 0 ? 0 : static_cast<std::uint64_t>(ev.time[i]) - static_cast<std::uint64_t>(rg.time.lo);
        keys[i] = (code_shift >= 64 ? 0 : c << code_shift) | (t << time_shift) | static_cast<std::uint64_t>(i);
      }
    });
    mlsd::detail::radix_sort<mlsd::detail::NoPayload, default_init_allocator<std::uint64_t>, std::allocator<mlsd::detail::NoPayload>>(
        keys, nullptr, nullptr, nullptr, row_bits);
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 1 << 14), [&](const auto& r) {
      for (std::int64_t p = r.begin(); p != r.end(); ++p) {
        const std::uint64_t key = keys[p];
        const std::uint64_t c = code_shift >= 64 ? 0 : key >> code_shift;
        sorted[p] = Entry{static_cast<std::int64_t>(((key >> time_shift) & time_mask) + static_cast<std::uint64_t>(rg.time.lo)),
                          static_cast<index_t>(key & row_mask)};
        code[p] = c == 0 ? -1 : static_cast<std::int64_t>(c - 1 + static_cast<std::uint64_t>(rg.code.lo));
      }
    });
  } else {
    const buffer<index_t> order = sort_order(ev.entity, ev.time);
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 1 << 14), [&](const auto& r) {
      for (std::int64_t p = r.begin(); p != r.end(); ++p) {
        const index_t j = order[p];
        sorted[p] = Entry{ev.time[j], j};
        code[p] = ev.entity[j] < 0 ? -1 : ev.entity[j];
      }
    });
  }
  // Each chunk records the runs that start in it.
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 1 << 14), [&](const auto& r) {
    check_interrupt();
    std::int64_t a = r.begin();
    while (a > 0 && a < r.end() && code[a] == code[a - 1]) ++a;
    while (a < r.end()) {
      std::int64_t b = a + 1;
      while (b < n && code[b] == code[a]) ++b;
      if (code[a] < 0) {
        for (std::int64_t p = a; p < b; ++p) rec.missing(sorted[p].row);
      } else {
        rec.group(sorted.data() + a, sorted.data() + b, a, sorted.data() + n);
      }
      a = b;
    }
  });
}

// The queries are the events themselves: each event's frames, in the caller's row order.
template <class Pos>
WindowResult self_aggregate(const WindowEvents& ev, std::span<const std::int64_t> windows, bool left_closed,
                            bool right_closed, unsigned aggs) {
  const auto n = static_cast<std::int64_t>(ev.entity.size());
  const std::size_t k = ev.values.size(), n_w = windows.size();
  MLSD_REQUIRE(static_cast<std::int64_t>(ev.time.size()) == n, kFn, "events time has ", ev.time.size(),
               " elements but its entity codes have ", n);
  for (std::size_t c = 0; c < k; ++c)
    MLSD_REQUIRE(static_cast<std::int64_t>(ev.values[c].size()) == n, kFn, "values column ", c, " has ",
                 ev.values[c].size(), " elements but the events have ", n, " rows");
  WindowResult res = new_result(n, k, n_w, aggs);
  const Layout lay(res);
  const std::size_t n_cols = lay.n_cols;
  const auto m = static_cast<std::size_t>(n);
  if (n == 0) return res;
  Frames fr;
  fr.k = k;
  fr.stride = k + (1 + n_w + 7) / 8;
  fr.words.resize(m * fr.stride);
  mlsd::detail::advise_huge_pages(fr.words.data(), fr.words.size() * sizeof(std::uint64_t));
  buffer<Pos> inv(m);
  mlsd::detail::advise_huge_pages(inv.data(), inv.size() * sizeof(Pos));
  Recorder<Pos> recorder(ev, windows, left_closed, right_closed, fr, inv);
  if (!record_grouped(ev, recorder, std::span<double>(res.table))) {
    recorder.reset();
    record_sorted(ev, recorder);
  }
  // The table lent to the grouping holds doubles again (a placement new of trivial objects: no code).
  ::new (static_cast<void*>(res.table.data())) double[res.table.size()];
  const std::vector<WalkedGroup> walked = recorder.finish();

  // Entities too large for the direct path: walked into a side table, row-major by their rank.
  buffer<double> side;
  if (!walked.empty()) {
    Sorted sub;
    std::size_t rows = 0;
    for (const auto& g : walked) rows += g.time.size();
    sub.entity.resize(rows);
    sub.time.resize(rows);
    sub.values.resize(k);
    for (auto& v : sub.values) v.resize(rows);
    std::size_t s = 0;
    for (std::size_t g = 0; g < walked.size(); ++g) {
      for (std::size_t j = 0; j < walked[g].time.size(); ++j, ++s) {
        const index_t p = walked[g].pos + static_cast<index_t>(j);
        sub.entity[s] = static_cast<std::int64_t>(g);
        sub.time[s] = walked[g].time[j];
        for (std::size_t c = 0; c < k; ++c) sub.values[c][s] = fr.value(c, p);
        fr.record(p)[k] = Frames::kWalked | (static_cast<std::uint64_t>(s) << 8);
      }
    }
    side.resize(rows * n_cols);
    walk(sub, sub, windows, left_closed, right_closed, aggs, lay, side.data());
  }

  const std::vector<std::size_t> by_size = windows_by_size(windows);

  const std::vector<std::uint8_t> no_frames(1 + n_w, 0);  // a missing key's
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 1 << 14), [&](const auto& r) {
    check_interrupt();
    constexpr std::int64_t kAheadQ = 8;
    ColumnTile tile(res.table.data(), m, n_cols);
    std::int64_t first = r.begin();
    for (std::int64_t i = r.begin(); i != r.end(); ++i) {
      if (i + kAheadQ < r.end()) {
        const auto p = static_cast<std::int64_t>(inv[i + kAheadQ]) - 1;
        if (p >= 0) {
          __builtin_prefetch(fr.words.data() + static_cast<std::size_t>(p) * fr.stride);
          if (p >= 2) __builtin_prefetch(fr.words.data() + static_cast<std::size_t>(p - 2) * fr.stride);
        }
      }
      if (i - first == ColumnTile::kRows) {
        tile.flush(first, i - first);
        first = i;
      }
      auto put = [&, ii = i - first](std::size_t col, double x) { tile.at(ii, col) = x; };
      const auto p = static_cast<std::int64_t>(inv[i]) - 1;
      const std::uint8_t* meta = p < 0 ? no_frames.data() : fr.meta(p);
      if (meta[0] == Frames::kWalked) {
        const std::uint64_t slot = fr.words[static_cast<std::size_t>(p) * fr.stride + k] >> 8;
        const double* src = side.data() + slot * n_cols;
        for (std::size_t col = 0; col < n_cols; ++col) put(col, src[col]);
        continue;
      }
      const std::int64_t end = p + static_cast<std::int8_t>(meta[0]);  // the frames end before it
      aggregate_frames(fr, end, meta + 1, by_size, lay, put);
    }
    tile.flush(first, r.end() - first);
  });
  return res;
}

// ---- a spine: queries other than the events -----------------------------------------------------

// Where each spine query's frames lie among the events' records, in the spine's row order: the
// frames' common end (a grouped position of the events), a kind byte, then window w's frame length
// [end - len, end) in byte w.  A query of a walked entity has kind kWalked and its row of the side
// table in place of the end; a query of no entity with events is direct with end 0 and empty frames.
template <class Pos>
struct QueryFrames {
  static constexpr std::uint8_t kDirect = 0, kWalked = 1;
  std::size_t stride = 0;  // bytes per query
  buffer<std::uint8_t> bytes;
  std::uint8_t* at(std::int64_t q) { return bytes.data() + static_cast<std::size_t>(q) * stride; }
  const std::uint8_t* at(std::int64_t q) const { return bytes.data() + static_cast<std::size_t>(q) * stride; }
  static Pos end(const std::uint8_t* rec) {
    Pos e;
    std::memcpy(&e, rec, sizeof(Pos));
    return e;
  }
  static std::uint8_t kind(const std::uint8_t* rec) { return rec[sizeof(Pos)]; }
  static const std::uint8_t* len(const std::uint8_t* rec) { return rec + sizeof(Pos) + 1; }
  // Returns the length bytes to fill.
  std::uint8_t* set(std::int64_t q, std::uint64_t end, std::uint8_t kind) {
    std::uint8_t* rec = at(q);
    const auto e = static_cast<Pos>(end);
    std::memcpy(rec, &e, sizeof(Pos));
    rec[sizeof(Pos)] = kind;
    return rec + sizeof(Pos) + 1;
  }
  void clear(std::int64_t q) { std::memset(at(q), 0, stride); }
};

// An entity of more than kDirectMax events that the spine asks about: walked.
struct WalkedSpine {
  index_t pos;                     // its events' grouped positions [pos, pos + time.size())
  std::vector<std::int64_t> time;  // their times
  std::vector<Entry> queries;      // its queries, by (time, row)
};

// The queries are a spine: grouped by entity like the events (the same split; sparse codes
// numbered by the events' dictionary, detail::plan_grouping), each entity's queries merged against
// its events in cache to find where their frames lie, then each query's aggregates computed from
// the events' records in the spine's row order (aggregate_frames, as the self path), or walked for
// an entity of more than kDirectMax events.  None when the grouping gives up (the sort path then).
template <class Pos>
std::optional<WindowResult> spine_aggregate(const WindowEvents& ev, const WindowQueries& qs,
                                            std::span<const std::int64_t> windows, bool left_closed, bool right_closed,
                                            unsigned aggs) {
  const auto n = static_cast<std::int64_t>(ev.entity.size());
  const auto m = static_cast<std::int64_t>(qs.entity.size());
  const std::size_t k = ev.values.size(), n_w = windows.size();
  // Mismatched lengths (the sort path names them) and empty tables: the sort path.
  if (n == 0 || m == 0 || ev.time.size() != ev.entity.size() || qs.time.size() != qs.entity.size()) return std::nullopt;
  for (const auto& v : ev.values)
    if (v.size() != ev.entity.size()) return std::nullopt;
  const detail::Range range = detail::range_of_present(ev.entity);
  if (range.empty()) return std::nullopt;
  const auto un = static_cast<std::uint64_t>(n), um = static_cast<std::uint64_t>(m);
  detail::GroupingPlan plan = detail::plan_grouping(range, ev.entity, qs.entity, un + um, std::max(un, um));
  if (!plan.split) return std::nullopt;
  const detail::CodeSplit split = *plan.split;

  WindowResult res = new_result(m, k, n_w, aggs);
  const Layout lay(res);
  const std::size_t n_cols = lay.n_cols;
  const std::span<double> table(res.table);  // lent to the entries below: [queries' | first level's]

  // The queries grouped by entity, each entity's by (time, row): entity lo + c holds
  // qentries[qstart[c], qstart[c + 1]).  Queries outside the split (a missing key, or a key the
  // events do not hold when the codes were numbered) get empty frames here, those of a code in the
  // split without events in the events' pass.
  QueryFrames<Pos> qf;
  qf.stride = sizeof(Pos) + 1 + n_w;
  qf.bytes.resize(static_cast<std::size_t>(m) * qf.stride);
  mlsd::detail::advise_huge_pages(qf.bytes.data(), qf.bytes.size());
  buffer<Pos> qstart(static_cast<std::size_t>(split.n_codes + 1));
  buffer<Entry> own_qentries;
  std::span<Entry> qentries;
  {
    const auto b1 = detail::scatter_by_top(
        split, plan.other, [&](std::int64_t i) { return Entry{qs.time[i], 0}; }, [&](std::int64_t i) { qf.clear(i); },
        {}, lend<Entry>(table, static_cast<std::size_t>(m) * sizeof(Entry), static_cast<std::size_t>(m)));
    qentries = lend<Entry>(table, 0, b1.entries.size());
    if (qentries.size() != b1.entries.size()) {
      own_qentries = buffer<Entry>(b1.entries.size());
      mlsd::detail::advise_huge_pages(own_qentries.data(), own_qentries.size() * sizeof(Entry));
      qentries = own_qentries;
    }
    detail::group_buckets(split, b1, qentries.data(), std::numeric_limits<std::int64_t>::max(),
                          [&](std::uint64_t c, const Entry*, const Entry*, index_t pos, const Entry*) {
                            qstart[c] = static_cast<Pos>(pos);
                          });
    qstart[split.n_codes] = static_cast<Pos>(b1.entries.size());
  }
  const auto n_q_in = static_cast<std::int64_t>(qentries.size());

  // The events grouped the same way: their values recorded in grouped order, and each entity's
  // queries merged against its events (both by time).
  Frames fr;
  fr.k = k;
  fr.stride = k;
  FirstBad bad_value(n);
  std::mutex mu;
  std::vector<WalkedSpine> walked;
  auto missing = [&](std::int64_t i) {
    for (std::size_t c = 0; c < k; ++c)
      if (std::isinf(ev.values[c][i])) bad_value.note(i);
  };
  auto records = [&](std::size_t n_in) {
    fr.words.resize(n_in * k);
    mlsd::detail::advise_huge_pages(fr.words.data(), fr.words.size() * sizeof(std::uint64_t));
  };
  auto on_group = [&](std::uint64_t code, const auto* first, const auto* last, index_t pos, const auto* bucket_last) {
    constexpr std::int64_t kAhead = 16;
    const auto g = static_cast<std::int64_t>(last - first);
    record_values(ev, fr, bad_value, first, g, pos, bucket_last, [](std::int64_t, index_t) {}, [](index_t) {});
    const auto qa = static_cast<index_t>(qstart[code]), qb = static_cast<index_t>(qstart[code + 1]);
    if (qa == qb) return;
    if (g > kDirectMax) {
      WalkedSpine ws{pos, group_times(first, g), std::vector<Entry>(qentries.begin() + qa, qentries.begin() + qb)};
      const std::lock_guard<std::mutex> lock(mu);
      walked.push_back(std::move(ws));
      return;
    }
    // The frames' end and each window's start move forward with the query's time (the rules of
    // Recorder::group, for a time that need not be an event's).
    std::int64_t end = 0;
    for (index_t j = qa; j < qb; ++j) {
      if (j + kAhead < n_q_in) __builtin_prefetch(qf.at(qentries[j + kAhead].row), 1);
      const std::int64_t t = qentries[j].time;
      while (end < g && (first[end].time < t || (right_closed && first[end].time == t))) ++end;
      frame_lengths(first, end, t, windows, left_closed,
                    qf.set(qentries[j].row, static_cast<std::uint64_t>(pos + end), QueryFrames<Pos>::kDirect));
    }
  };
  // the first level's entries after the queries' (when these are lent too)
  const std::size_t qentries_end = own_qentries.empty() ? qentries.size_bytes() : 0;
  bool grouped;
  if (k == 1) {
    const std::span<const double> v = ev.values[0];
    const auto b1 = detail::scatter_by_top(
        split, plan.codes, [&](std::int64_t i) { return ValuedEntry{ev.time[i], 0, v[i]}; }, missing, {},
        lend<ValuedEntry>(table, qentries_end, static_cast<std::size_t>(n)));
    records(b1.entries.size());
    grouped = detail::group_buckets(split, b1, static_cast<ValuedEntry*>(nullptr), detail::kLargeGroup, on_group);
  } else {
    const auto b1 = detail::scatter_by_top(split, plan.codes, [&](std::int64_t i) { return Entry{ev.time[i], 0}; },
                                           missing, {}, lend<Entry>(table, qentries_end, static_cast<std::size_t>(n)));
    records(b1.entries.size());
    grouped = detail::group_buckets(split, b1, static_cast<Entry*>(nullptr), detail::kLargeGroup, on_group);
  }
  if (!grouped) return std::nullopt;
  MLSD_REQUIRE(bad_value.at.load() == n, kFn, "values must be finite or NaN; row ", bad_value.at.load(),
               " holds an infinite value");
  own_qentries = buffer<Entry>();
  qstart = buffer<Pos>();
  plan = detail::GroupingPlan();  // sparse codes' numbers: not needed any more

  // Entities too large for the direct path: walked into a side table, row-major by their rank.
  buffer<double> side;
  if (!walked.empty()) {
    std::sort(walked.begin(), walked.end(), [](const WalkedSpine& a, const WalkedSpine& b) { return a.pos < b.pos; });
    Sorted sub_ev, sub_q;
    std::size_t n_ev = 0, n_q = 0;
    for (const auto& g : walked) {
      n_ev += g.time.size();
      n_q += g.queries.size();
    }
    sub_ev.entity.resize(n_ev);
    sub_ev.time.resize(n_ev);
    sub_ev.values.resize(k);
    for (auto& v : sub_ev.values) v.resize(n_ev);
    sub_q.entity.resize(n_q);
    sub_q.time.resize(n_q);
    std::size_t s = 0, sq = 0;
    for (std::size_t g = 0; g < walked.size(); ++g) {
      for (std::size_t j = 0; j < walked[g].time.size(); ++j, ++s) {
        sub_ev.entity[s] = static_cast<std::int64_t>(g);
        sub_ev.time[s] = walked[g].time[j];
        for (std::size_t c = 0; c < k; ++c) sub_ev.values[c][s] = fr.value(c, walked[g].pos + static_cast<index_t>(j));
      }
      for (const Entry& q : walked[g].queries) {
        sub_q.entity[sq] = static_cast<std::int64_t>(g);
        sub_q.time[sq] = q.time;
        qf.set(q.row, sq, QueryFrames<Pos>::kWalked);
        ++sq;
      }
    }
    side.resize(n_q * n_cols);
    walk(sub_ev, sub_q, windows, left_closed, right_closed, aggs, lay, side.data());
  }

  const std::vector<std::size_t> by_size = windows_by_size(windows);
  // The table lent to the grouping holds doubles again (a placement new of trivial objects: no code).
  ::new (static_cast<void*>(res.table.data())) double[res.table.size()];
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, m, 1 << 14), [&](const auto& r) {
    check_interrupt();
    constexpr std::int64_t kAheadQ = 8;
    ColumnTile tile(res.table.data(), static_cast<std::size_t>(m), n_cols);
    std::int64_t first = r.begin();
    for (std::int64_t i = r.begin(); i != r.end(); ++i) {
      if (i + kAheadQ < r.end()) {  // the frames' first and last records
        const std::uint8_t* a = qf.at(i + kAheadQ);
        if (QueryFrames<Pos>::kind(a) == QueryFrames<Pos>::kDirect) {
          const std::uint8_t* len = QueryFrames<Pos>::len(a);
          const std::uint8_t widest = n_w == 0 ? 0 : *std::max_element(len, len + n_w);
          if (widest > 0) {
            const auto e = static_cast<std::size_t>(QueryFrames<Pos>::end(a));
            __builtin_prefetch(fr.words.data() + (e - 1) * k);
            __builtin_prefetch(fr.words.data() + (e - widest) * k);
          }
        }
      }
      if (i - first == ColumnTile::kRows) {
        tile.flush(first, i - first);
        first = i;
      }
      auto put = [&, ii = i - first](std::size_t col, double x) { tile.at(ii, col) = x; };
      const std::uint8_t* rec = qf.at(i);
      const auto end = static_cast<std::int64_t>(QueryFrames<Pos>::end(rec));
      if (QueryFrames<Pos>::kind(rec) == QueryFrames<Pos>::kWalked) {
        const double* src = side.data() + static_cast<std::size_t>(end) * n_cols;
        for (std::size_t col = 0; col < n_cols; ++col) put(col, src[col]);
        continue;
      }
      aggregate_frames(fr, end, QueryFrames<Pos>::len(rec), by_size, lay, put);
    }
    tile.flush(first, r.end() - first);
  });
  return res;
}

}  // namespace

Closed parse_closed(const std::string& closed) {
  if (closed == "left") return Closed::left;
  if (closed == "right") return Closed::right;
  if (closed == "both") return Closed::both;
  if (closed == "neither") return Closed::neither;
  mlsd::detail::throw_invalid(kFn, "closed must be one of 'left', 'right', 'both', 'neither'; got '", closed, "'");
}

std::size_t WindowResult::n_columns() const {
  return n_values * static_cast<std::size_t>(std::popcount(aggs)) * n_windows;
}

std::size_t WindowResult::column(std::size_t value, Agg agg, std::size_t window) const {
  const auto rank = static_cast<std::size_t>(std::popcount(aggs & (static_cast<unsigned>(agg) - 1u)));
  return (value * static_cast<std::size_t>(std::popcount(aggs)) + rank) * n_windows + window;
}

WindowResult window_aggregate(const WindowEvents& events, const WindowQueries& queries,
                              std::span<const std::int64_t> windows, Closed closed, unsigned aggs) {
  MLSD_REQUIRE(aggs != 0 && (aggs & ~kAllAggs) == 0, kFn, "aggs must be a non-empty set of known aggregates");
  for (std::size_t w = 0; w < windows.size(); ++w)
    MLSD_REQUIRE(windows[w] > 0, kFn, "windows must be positive durations; window ", w, " is ", windows[w]);
  const bool left_closed = closed == Closed::left || closed == Closed::both;
  const bool right_closed = closed == Closed::right || closed == Closed::both;
  // Queries that are the events themselves (the same arrays).
  const bool same = queries.entity.data() == events.entity.data() && queries.time.data() == events.time.data() &&
                    queries.order.data() == events.order.data() && queries.entity.size() == events.entity.size() &&
                    queries.time.size() == events.time.size() && queries.order.size() == events.order.size();

  return run_in_arena([&] {
    if (same && events.order.empty()) {
      return events.entity.size() < std::numeric_limits<std::uint32_t>::max()
                 ? self_aggregate<std::uint32_t>(events, windows, left_closed, right_closed, aggs)
                 : self_aggregate<std::uint64_t>(events, windows, left_closed, right_closed, aggs);
    }
    // A spine given without orders: grouped like the events, unless the grouping gives up.
    if (!same && events.order.empty() && queries.order.empty()) {
      const bool narrow = std::max(events.entity.size(), queries.entity.size()) < std::numeric_limits<std::uint32_t>::max();
      std::optional<WindowResult> r =
          narrow ? spine_aggregate<std::uint32_t>(events, queries, windows, left_closed, right_closed, aggs)
                 : spine_aggregate<std::uint64_t>(events, queries, windows, left_closed, right_closed, aggs);
      if (r) return std::move(*r);
    }
    // Tables given without their order are sorted here.
    buffer<index_t> own_event_order, own_query_order;
    WindowEvents ev_in = events;
    WindowQueries q_in = queries;
    if (events.order.empty() && !events.entity.empty()) {
      own_event_order = sort_order(events.entity, events.time);
      ev_in.order = own_event_order;
      if (same) q_in.order = own_event_order;
    }
    if (!same && queries.order.empty() && !queries.entity.empty()) {
      own_query_order = sort_order(queries.entity, queries.time);
      q_in.order = own_query_order;
    }
    const Sorted ev = gather(ev_in.entity, ev_in.time, ev_in.values, ev_in.order, "events");
    const Sorted own = same ? Sorted{} : gather(q_in.entity, q_in.time, {}, q_in.order, "queries");
    const Sorted& qs = same ? ev : own;
    const std::int64_t m = static_cast<std::int64_t>(qs.entity.size());

    WindowResult res = new_result(m, ev.values.size(), windows.size(), aggs);
    const Layout lay(res);
    const std::size_t n_cols = lay.n_cols;
    // The walk writes rows in sorted order (sequential stores, a query's features adjacent); a final
    // pass writes the columns in the caller's row order, reading each output row's sorted row
    // (random loads pipeline and prefetch; random stores of every feature stalled the walk).
    buffer<double> sorted_table(res.table.size());
    mlsd::detail::advise_huge_pages(sorted_table.data(), sorted_table.size() * sizeof(double));
    double* table = sorted_table.data();
    walk(ev, qs, windows, left_closed, right_closed, aggs, lay, table);
    buffer<std::int64_t> sorted_row(static_cast<std::size_t>(m));
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, m, 1 << 14), [&](const auto& r) {
      for (std::int64_t j = r.begin(); j != r.end(); ++j) sorted_row[static_cast<std::size_t>(qs.row[j])] = j;
    });
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, m, 1 << 14), [&](const auto& r) {
      constexpr std::int64_t kAhead = 8;
      ColumnTile tile(res.table.data(), static_cast<std::size_t>(m), n_cols);
      for (std::int64_t first = r.begin(); first < r.end(); first += ColumnTile::kRows) {
        const std::int64_t last = std::min(r.end(), first + ColumnTile::kRows);
        for (std::int64_t i = first; i != last; ++i) {
          if (i + kAhead < r.end()) {
            const double* p = table + static_cast<std::size_t>(sorted_row[i + kAhead]) * n_cols;
            __builtin_prefetch(p);
            __builtin_prefetch(p + n_cols - 1);
          }
          const double* src = table + static_cast<std::size_t>(sorted_row[i]) * n_cols;
          for (std::size_t col = 0; col < n_cols; ++col) tile.at(i - first, col) = src[col];
        }
        tile.flush(first, last - first);
      }
    });
    return res;
  });
}

}  // namespace mlsd::features
