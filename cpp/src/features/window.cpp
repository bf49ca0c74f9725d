#include <algorithm>
#include <atomic>
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
    for (std::int64_t i = r.begin(); i != r.end(); ++i) {
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

struct Less {
  bool operator()(double a, double b) const { return a < b; }
};
struct Greater {
  bool operator()(double a, double b) const { return a > b; }
};

struct Outputs {
  std::int64_t* count;
  double *sum, *mean, *min, *max, *last;
};

}  // namespace

Closed parse_closed(const std::string& closed) {
  if (closed == "left") return Closed::left;
  if (closed == "right") return Closed::right;
  if (closed == "both") return Closed::both;
  if (closed == "neither") return Closed::neither;
  detail::throw_invalid(kFn, "closed must be one of 'left', 'right', 'both', 'neither'; got '", closed, "'");
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
    const Sorted qs = gather(queries.entity, queries.time, {}, queries.order, "queries");
    const std::int64_t m = static_cast<std::int64_t>(qs.entity.size());
    const std::size_t k = ev.values.size(), n_w = windows.size();
    const std::size_t total = k * n_w * static_cast<std::size_t>(m);

    WindowResult res;
    res.n_queries = m;
    if (aggs & kCount) res.count.resize(total);
    if (aggs & kSum) res.sum.resize(total);
    if (aggs & kMean) res.mean.resize(total);
    if (aggs & kMin) res.min.resize(total);
    if (aggs & kMax) res.max.resize(total);
    if (aggs & kLast) res.last.resize(total);
    const Outputs out{res.count.data(), res.sum.data(), res.mean.data(), res.min.data(), res.max.data(),
                      res.last.data()};

    // Runs of one entity among the sorted queries.
    std::vector<std::int64_t> group{0};
    for (std::int64_t i = 1; i < m; ++i)
      if (qs.entity[i] != qs.entity[i - 1]) group.push_back(i);
    if (m > 0) group.push_back(m);
    const auto n_groups = static_cast<std::int64_t>(group.size()) - 1;

    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, std::max<std::int64_t>(n_groups, 0)), [&](const auto& r) {
      MonotoneDeque<Less> dq_min;
      MonotoneDeque<Greater> dq_max;
      for (std::int64_t g = r.begin(); g != r.end(); ++g) {
        const std::int64_t q0 = group[g], q1 = group[g + 1];
        const std::int64_t e = qs.entity[q0];
        std::int64_t a = std::lower_bound(ev.entity.begin(), ev.entity.end(), e) - ev.entity.begin();
        std::int64_t b = std::upper_bound(ev.entity.begin() + a, ev.entity.end(), e) - ev.entity.begin();
        if (e < 0) a = b;  // a missing key: empty frames
        const std::int64_t* ts = ev.time.data();
        for (std::size_t c = 0; c < k; ++c) {
          const double* v = ev.values[c].data();
          for (std::size_t wi = 0; wi < n_w; ++wi) {
            const std::int64_t w = windows[wi];
            const std::size_t base = (c * n_w + wi) * static_cast<std::size_t>(m);
            std::int64_t lo = a, hi = a, cnt = 0, last_valid = -1;
            detail::KahanSum s;
            dq_min.reset();
            dq_max.reset();
            for (std::int64_t j = q0; j < q1; ++j) {
              const std::int64_t t = qs.time[j];
              while (hi < b && (ts[hi] < t || (right_closed && ts[hi] == t))) {
                const double x = v[hi];
                if (!std::isnan(x)) {
                  s.add(x);
                  ++cnt;
                  last_valid = hi;
                  if (aggs & kMin) dq_min.push(hi, v, Less{});
                  if (aggs & kMax) dq_max.push(hi, v, Greater{});
                }
                ++hi;
              }
              std::int64_t lower;
              // A window reaching below the smallest int64 keeps every earlier event.
              if (!__builtin_sub_overflow(t, w, &lower)) {
                while (lo < hi && (ts[lo] < lower || (!left_closed && ts[lo] == lower))) {
                  const double x = v[lo];
                  if (!std::isnan(x)) {
                    s.add(-x);
                    --cnt;
                  }
                  ++lo;
                }
              }
              if (cnt == 0) s = detail::KahanSum{};  // no drift carried over an empty window
              const std::size_t o = base + static_cast<std::size_t>(qs.row[j]);
              const bool any = cnt > 0;
              if (aggs & kCount) out.count[o] = cnt;
              if (aggs & kSum) out.sum[o] = any ? s.value() : kNaN;
              if (aggs & kMean) out.mean[o] = any ? s.value() / static_cast<double>(cnt) : kNaN;
              if (aggs & kMin) {
                dq_min.drop_before(lo);
                out.min[o] = any ? v[dq_min.front()] : kNaN;
              }
              if (aggs & kMax) {
                dq_max.drop_before(lo);
                out.max[o] = any ? v[dq_max.front()] : kNaN;
              }
              if (aggs & kLast) out.last[o] = (any && last_valid >= lo) ? v[last_valid] : kNaN;
            }
          }
        }
      }
    });
    return res;
  });
}

}  // namespace mlsd::features
