#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <limits>
#include <string>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
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

// The compensated (Neumaier) sum of the non-NaN values v[lo, hi), in long double so that no
// partial sum of finite doubles overflows, as a KahanSum that the sliding window then continues;
// its value is inf only when the sum itself is beyond the doubles.
detail::KahanSum frame_sum(const double* v, std::int64_t lo, std::int64_t hi) {
  long double sum = 0, comp = 0;
  for (std::int64_t i = lo; i < hi; ++i) {
    if (std::isnan(v[i])) continue;
    const long double x = v[i], t = sum + x;
    comp += std::fabs(sum) >= std::fabs(x) ? (sum - t) + x : (x - t) + sum;
    sum = t;
  }
  detail::KahanSum s;
  s.sum = static_cast<double>(sum);
  if (std::isfinite(s.sum)) s.comp = static_cast<double>((sum - static_cast<long double>(s.sum)) + comp);
  return s;
}

struct Less {
  bool operator()(double a, double b) const { return a < b; }
};
struct Greater {
  bool operator()(double a, double b) const { return a > b; }
};


}  // namespace

Closed parse_closed(const std::string& closed) {
  if (closed == "left") return Closed::left;
  if (closed == "right") return Closed::right;
  if (closed == "both") return Closed::both;
  if (closed == "neither") return Closed::neither;
  detail::throw_invalid(kFn, "closed must be one of 'left', 'right', 'both', 'neither'; got '", closed, "'");
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

  return run_in_arena([&] {
    const Sorted ev = gather(events.entity, events.time, events.values, events.order, "events");
    // Queries that are the events themselves (the same arrays) share their sorted copy.
    const bool same = queries.entity.data() == events.entity.data() && queries.time.data() == events.time.data() &&
                      queries.order.data() == events.order.data() && queries.entity.size() == events.entity.size() &&
                      queries.time.size() == events.time.size() && queries.order.size() == events.order.size();
    const Sorted own = same ? Sorted{} : gather(queries.entity, queries.time, {}, queries.order, "queries");
    const Sorted& qs = same ? ev : own;
    const std::int64_t m = static_cast<std::int64_t>(qs.entity.size());
    const std::size_t k = ev.values.size(), n_w = windows.size();

    WindowResult res;
    res.n_queries = m;
    res.n_values = k;
    res.n_windows = n_w;
    res.aggs = aggs;
    const std::size_t n_cols = res.n_columns();
    res.table.resize(n_cols * static_cast<std::size_t>(m));
    // column offsets of each aggregate within a value's block (-1: not requested)
    std::ptrdiff_t at_count = -1, at_sum = -1, at_mean = -1, at_min = -1, at_max = -1, at_last = -1;
    if (aggs & kCount) at_count = static_cast<std::ptrdiff_t>(res.column(0, kCount, 0));
    if (aggs & kSum) at_sum = static_cast<std::ptrdiff_t>(res.column(0, kSum, 0));
    if (aggs & kMean) at_mean = static_cast<std::ptrdiff_t>(res.column(0, kMean, 0));
    if (aggs & kMin) at_min = static_cast<std::ptrdiff_t>(res.column(0, kMin, 0));
    if (aggs & kMax) at_max = static_cast<std::ptrdiff_t>(res.column(0, kMax, 0));
    if (aggs & kLast) at_last = static_cast<std::ptrdiff_t>(res.column(0, kLast, 0));
    const std::size_t value_block = n_cols / std::max<std::size_t>(k, 1);
    // The walk writes rows in sorted order (sequential stores, a query's features adjacent); a final
    // pass writes the columns in the caller's row order, reading each output row's sorted row
    // (random loads pipeline and prefetch; random stores of every feature stalled the walk).
    buffer<double> sorted_table(res.table.size());
    double* table = sorted_table.data();

    // Runs of one entity among the sorted queries.
    std::vector<std::int64_t> group{0};
    for (std::int64_t i = 1; i < m; ++i)
      if (qs.entity[i] != qs.entity[i - 1]) group.push_back(i);
    if (m > 0) group.push_back(m);
    const auto n_groups = static_cast<std::int64_t>(group.size()) - 1;

    // One walk per (entity, value column): the upper pointer does not depend on the window, so the
    // events are added once and each window only moves its own lower pointer.
    struct Frame {
      std::int64_t lo = 0, cnt = 0;
      detail::KahanSum sum;
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
            f.sum = detail::KahanSum{};
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
              if (f.cnt == 0) f.sum = detail::KahanSum{};  // no drift carried over an empty window
              // A frame that summed past +-DBL_MAX leaves the running sum inf or NaN for good, even
              // after the large values leave it: recompute such a frame's sum (long double: a wider
              // exponent) and restart from it.  O(frame), only while the running sum is not finite.
              if (!std::isfinite(f.sum.value())) f.sum = frame_sum(v, f.lo, hi);
              double* o = table + row * n_cols + c * value_block + wi;
              const bool any = f.cnt > 0;
              if (at_count >= 0) o[at_count] = static_cast<double>(f.cnt);
              if (at_sum >= 0) o[at_sum] = any ? f.sum.value() : kNaN;
              if (at_mean >= 0) o[at_mean] = any ? f.sum.value() / static_cast<double>(f.cnt) : kNaN;
              if (at_min >= 0) {
                f.min.drop_before(f.lo);
                o[at_min] = any ? v[f.min.front()] : kNaN;
              }
              if (at_max >= 0) {
                f.max.drop_before(f.lo);
                o[at_max] = any ? v[f.max.front()] : kNaN;
              }
              if (at_last >= 0) o[at_last] = (any && last_valid >= f.lo) ? v[last_valid] : kNaN;
            }
          }
        }
      }
    });
    buffer<std::int64_t> sorted_row(static_cast<std::size_t>(m));
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, m, 1 << 14), [&](const auto& r) {
      for (std::int64_t j = r.begin(); j != r.end(); ++j) sorted_row[static_cast<std::size_t>(qs.row[j])] = j;
    });
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, m, 1 << 14), [&](const auto& r) {
      constexpr std::int64_t kAhead = 8;
      for (std::int64_t i = r.begin(); i != r.end(); ++i) {
        if (i + kAhead < r.end()) {
          const double* p = table + static_cast<std::size_t>(sorted_row[i + kAhead]) * n_cols;
          __builtin_prefetch(p);
          __builtin_prefetch(p + n_cols - 1);
        }
        const double* src = table + static_cast<std::size_t>(sorted_row[i]) * n_cols;
        double* dst = res.table.data() + i;
        for (std::size_t col = 0; col < n_cols; ++col) dst[col * static_cast<std::size_t>(m)] = src[col];
      }
    });
    return res;
  });
}

}  // namespace mlsd::features
