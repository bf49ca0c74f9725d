#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <thread>
#include <chrono>
#include <vector>

#include <gtest/gtest.h>

#include "mlsd/common/parallel.hpp"
#include "mlsd/features_window.hpp"

namespace mf = mlsd::features;
using i64 = std::vector<std::int64_t>;
using dv = std::vector<double>;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

i64 stable_order(const i64& entity, const i64& time) {
  i64 order(entity.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    return entity[a] != entity[b] ? entity[a] < entity[b] : time[a] < time[b];
  });
  return order;
}

struct Case {
  i64 entity, time, q_entity, q_time;
  std::vector<dv> values;
};

// Few entities and few distinct times, so that many events share a timestamp; NaN values too.
Case random_case(unsigned seed, std::size_t n, std::size_t m) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> ent(0, 6), tim(0, 40);
  std::normal_distribution<double> val(0.0, 10.0);
  std::bernoulli_distribution missing(0.15);
  Case c;
  for (std::size_t i = 0; i < n; ++i) {
    c.entity.push_back(ent(rng));
    c.time.push_back(tim(rng));
  }
  for (int col = 0; col < 2; ++col) {
    dv v(n);
    for (auto& x : v) x = missing(rng) ? kNaN : std::round(val(rng) * 4) / 4;
    c.values.push_back(v);
  }
  for (std::size_t i = 0; i < m; ++i) {
    c.q_entity.push_back(ent(rng) + (i % 17 == 0 ? 100 : 0));  // some entities without events
    c.q_time.push_back(tim(rng) - 5);
  }
  return c;
}

mf::WindowResult run(const Case& c, const i64& windows, mf::Closed closed, unsigned aggs = mf::kAllAggs) {
  const i64 eo = stable_order(c.entity, c.time), qo = stable_order(c.q_entity, c.q_time);
  std::vector<std::span<const double>> cols(c.values.begin(), c.values.end());
  return mf::window_aggregate({c.entity, c.time, cols, eo}, {c.q_entity, c.q_time, qo}, windows, closed, aggs);
}

bool in_frame(std::int64_t x, std::int64_t t, std::int64_t w, mf::Closed closed) {
  const bool lc = closed == mf::Closed::left || closed == mf::Closed::both;
  const bool rc = closed == mf::Closed::right || closed == mf::Closed::both;
  return (lc ? x >= t - w : x > t - w) && (rc ? x <= t : x < t);
}

void expect_same(double got, double want, const char* what) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << what;
  } else {
    EXPECT_NEAR(got, want, 1e-9 * (1 + std::abs(want))) << what;
  }
}

}  // namespace

TEST(FeaturesWindow, MatchesBruteForceForEveryClosedRule) {
  const i64 windows{1, 3, 10, 1000};
  for (auto closed : {mf::Closed::left, mf::Closed::right, mf::Closed::both, mf::Closed::neither}) {
    for (unsigned seed = 0; seed < 4; ++seed) {
      const Case c = random_case(seed, 300, 200);
      const auto r = run(c, windows, closed);
      const std::size_t m = c.q_entity.size();
      for (std::size_t col = 0; col < c.values.size(); ++col) {
        for (std::size_t wi = 0; wi < windows.size(); ++wi) {
          for (std::size_t q = 0; q < m; ++q) {
            std::int64_t cnt = 0, last_t = std::numeric_limits<std::int64_t>::min();
            double sum = 0, mn = INFINITY, mx = -INFINITY, last = kNaN;
            for (std::size_t i = 0; i < c.entity.size(); ++i) {
              const double x = c.values[col][i];
              if (c.entity[i] != c.q_entity[q] || std::isnan(x) || !in_frame(c.time[i], c.q_time[q], windows[wi], closed))
                continue;
              ++cnt;
              sum += x;
              mn = std::min(mn, x);
              mx = std::max(mx, x);
              if (c.time[i] >= last_t) {  // rows in order: a later row at the same time wins
                last_t = c.time[i];
                last = x;
              }
            }
            const auto qi = static_cast<std::int64_t>(q);
            ASSERT_EQ(r.at(qi, col, mf::kCount, wi), static_cast<double>(cnt));
            expect_same(r.at(qi, col, mf::kSum, wi), cnt ? sum : kNaN, "sum");
            expect_same(r.at(qi, col, mf::kMean, wi), cnt ? sum / cnt : kNaN, "mean");
            expect_same(r.at(qi, col, mf::kMin, wi), cnt ? mn : kNaN, "min");
            expect_same(r.at(qi, col, mf::kMax, wi), cnt ? mx : kNaN, "max");
            expect_same(r.at(qi, col, mf::kLast, wi), last, "last");
          }
        }
      }
    }
  }
}

TEST(FeaturesWindow, SameBitsForAnyThreadCount) {
  const Case c = random_case(7, 50000, 30000);
  mlsd::set_num_threads(1);
  const auto one = run(c, {2, 9}, mf::Closed::left);
  mlsd::set_num_threads(4);
  const auto four = run(c, {2, 9}, mf::Closed::left);
  mlsd::set_num_threads(0);
  ASSERT_EQ(one.table.size(), four.table.size());
  ASSERT_EQ(one.table.size(), 2u * 6u * 2u * 30000u);
  for (std::size_t i = 0; i < one.table.size(); ++i) {
    ASSERT_EQ(std::isnan(one.table[i]), std::isnan(four.table[i]));
    if (!std::isnan(one.table[i])) ASSERT_EQ(one.table[i], four.table[i]);
  }
}

TEST(FeaturesWindow, OnlyRequestedAggregatesAreFilled) {
  const Case c = random_case(3, 50, 20);
  const auto r = run(c, {5}, mf::Closed::right, mf::kCount | mf::kMax);
  EXPECT_EQ(r.n_columns(), 2u * 2u);  // (count, max) of 2 values, 1 window
  EXPECT_EQ(r.table.size(), 4u * 20u);
  EXPECT_EQ(r.column(1, mf::kCount, 0), 2u);
  EXPECT_EQ(r.column(1, mf::kMax, 0), 3u);
}

TEST(FeaturesWindow, WindowsReachingBelowTheSmallestTimeKeepEverything) {
  const std::int64_t lo = std::numeric_limits<std::int64_t>::min();
  Case c;
  c.entity = {1, 1, 1};
  c.time = {lo, lo + 1, -10};
  c.values = {{1.0, 2.0, 4.0}};
  c.q_entity = {1};
  c.q_time = {-5};  // -5 - INT64_MAX is below INT64_MIN
  const auto r = run(c, {std::numeric_limits<std::int64_t>::max()}, mf::Closed::neither);
  EXPECT_EQ(r.at(0, 0, mf::kCount, 0), 3.0);
  EXPECT_EQ(r.at(0, 0, mf::kSum, 0), 7.0);
}

TEST(FeaturesWindow, RejectsBadInputNamingTheArgument) {
  Case c = random_case(1, 10, 5);
  EXPECT_THROW(run(c, {0}, mf::Closed::left), std::invalid_argument);
  EXPECT_THROW(run(c, {-3}, mf::Closed::left), std::invalid_argument);
  EXPECT_THROW(run(c, {1}, mf::Closed::left, 0), std::invalid_argument);
  EXPECT_THROW(run(c, {1}, mf::Closed::left, 1u << 10), std::invalid_argument);
  EXPECT_THROW(mf::parse_closed("middle"), std::invalid_argument);
  Case inf = c;
  inf.values[0][3] = INFINITY;
  try {
    run(inf, {1}, mf::Closed::left);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("values"), std::string::npos) << e.what();
  }
  // an order that does not sort the table, or points outside it
  std::vector<std::span<const double>> cols(c.values.begin(), c.values.end());
  i64 eo = stable_order(c.entity, c.time), qo = stable_order(c.q_entity, c.q_time);
  i64 reversed(eo.rbegin(), eo.rend());
  EXPECT_THROW(mf::window_aggregate({c.entity, c.time, cols, reversed}, {c.q_entity, c.q_time, qo}, i64{1},
                                    mf::Closed::left, mf::kAllAggs),
               std::invalid_argument);
  i64 outside = eo;
  outside[2] = 10;
  EXPECT_THROW(mf::window_aggregate({c.entity, c.time, cols, outside}, {c.q_entity, c.q_time, qo}, i64{1},
                                    mf::Closed::left, mf::kAllAggs),
               std::invalid_argument);
  i64 short_time(c.time.begin(), c.time.end() - 1);
  EXPECT_THROW(mf::window_aggregate({c.entity, short_time, cols, eo}, {c.q_entity, c.q_time, qo}, i64{1},
                                    mf::Closed::left, mf::kAllAggs),
               std::invalid_argument);
}

TEST(FeaturesWindow, NegativeCodesAreMissingKeys) {
  Case c;
  c.entity = {-1, -1, 2};
  c.time = {0, 1, 1};
  c.values = {{1.0, 2.0, 4.0}};
  c.q_entity = {-1, 2};
  c.q_time = {5, 5};
  const auto r = run(c, {10}, mf::Closed::left);
  EXPECT_EQ(r.at(0, 0, mf::kCount, 0), 0.0);
  EXPECT_EQ(r.at(1, 0, mf::kCount, 0), 1.0);
  EXPECT_EQ(r.at(1, 0, mf::kSum, 0), 4.0);
}

TEST(FeaturesWindow, EmptyTables) {
  Case c;
  c.values = {dv{}};
  const auto r = run(c, {5}, mf::Closed::left);
  EXPECT_EQ(r.n_queries, 0);
  c.q_entity = {3, 3};
  c.q_time = {1, 2};
  const auto r2 = run(c, {5}, mf::Closed::left);
  EXPECT_EQ(r2.at(0, 0, mf::kCount, 0), 0.0);
  EXPECT_EQ(r2.at(1, 0, mf::kCount, 0), 0.0);
  EXPECT_TRUE(std::isnan(r2.at(0, 0, mf::kSum, 0)) && std::isnan(r2.at(1, 0, mf::kLast, 0)));
}

TEST(FeaturesWindow, StopsWhenTheCallingThreadIsInterrupted) {
  // The walk is the long part of the kernel: it must poll for Ctrl-C between its chunks.
  Case c = random_case(5, 200000, 200000);
  mlsd::interrupt_scope scope(+[] { return true; });  // "Ctrl-C was pressed"
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * mlsd::kInterruptPollMs));
  const i64 eo = stable_order(c.entity, c.time), qo = stable_order(c.q_entity, c.q_time);
  std::vector<std::span<const double>> cols(c.values.begin(), c.values.end());
  EXPECT_THROW(mf::window_aggregate({c.entity, c.time, cols, eo}, {c.q_entity, c.q_time, qo}, i64{3, 10},
                                    mf::Closed::left, mf::kAllAggs),
               mlsd::interrupted);
}

namespace {

// Events as their own queries, given without an order (the kernel sorts them): a few large
// entities (walked) among many small ones (aggregated query by query), missing keys, ties in time
// and NaN values.
Case self_case(unsigned seed, std::size_t n, std::int64_t time_scale) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> small(3, 1500), big(0, 2), tim(0, 60);
  std::normal_distribution<double> val(0.0, 10.0);
  std::bernoulli_distribution missing(0.1), large(0.3), no_key(0.02);
  Case c;
  for (std::size_t i = 0; i < n; ++i) {
    c.entity.push_back(no_key(rng) ? -1 : large(rng) ? big(rng) : small(rng));
    c.time.push_back(tim(rng) * time_scale);
  }
  dv v(n);
  for (auto& x : v) x = missing(rng) ? kNaN : std::round(val(rng) * 4) / 4;
  c.values.push_back(v);
  c.q_entity = c.entity;
  c.q_time = c.time;
  return c;
}

mf::WindowResult run_self(const Case& c, const i64& windows, mf::Closed closed, unsigned aggs = mf::kAllAggs) {
  std::vector<std::span<const double>> cols(c.values.begin(), c.values.end());
  const mf::WindowEvents ev{c.entity, c.time, cols, {}};
  return mf::window_aggregate(ev, {ev.entity, ev.time, {}}, windows, closed, aggs);
}

}  // namespace

TEST(FeaturesWindow, EventsAsTheirOwnQueriesWithoutAnOrderEqualTheSortedWalk) {
  // Every grouping of the events: dense codes (the counting scatter), codes spread 2^20 apart (too
  // sparse to count: numbered densely, then the counting scatter), the same with one entity of more
  // events than the scatter groups in cache (the packed (entity, time, row) radix sort) and, with
  // times 2^50 apart too, the shared sort_order (no packed key).  One value column is carried
  // through the scatter, two are read by row; missing keys of several negative codes.
  for (const int variant : {0, 1, 2}) {  // dense, spread, spread with a heavy entity
    const std::int64_t spread = variant == 0 ? 1 : std::int64_t{1} << 20;
    for (const std::int64_t scale : {std::int64_t{1}, std::int64_t{1} << 50}) {
      Case c = self_case(11, 9000, scale);
      if (variant == 2) {
        std::mt19937_64 rng(99);
        for (std::int64_t j = 0; j <= std::int64_t{1} << 16; ++j) {
          c.entity.push_back(1501);  // above self_case's codes
          c.time.push_back(static_cast<std::int64_t>(rng() % 5000) * scale);
          c.values[0].push_back(j % 7 == 0 ? kNaN : static_cast<double>(static_cast<std::int64_t>(rng() % 200) - 100) / 4);
        }
        c.q_time = c.time;
      }
      dv second(c.entity.size());
      for (std::size_t i = 0; i < c.entity.size(); ++i) {
        if (c.entity[i] >= 0) c.entity[i] *= spread;
        else if (i % 3 == 0) c.entity[i] = i % 2 ? -7 : std::numeric_limits<std::int64_t>::min();
        second[i] = std::isnan(c.values[0][i]) ? 1.5 : (i % 11 == 0 ? kNaN : -c.values[0][i] / 2);
      }
      c.q_entity = c.entity;
      const i64 windows{3 * scale, scale, 40 * scale};  // not in size order
      for (const std::size_t n_values : {std::size_t{1}, std::size_t{2}}) {
        if (n_values == 2) c.values.push_back(second);
        for (auto closed : {mf::Closed::left, mf::Closed::right, mf::Closed::both, mf::Closed::neither}) {
          const auto got = run_self(c, windows, closed);
          const auto want = run(c, windows, closed);  // queries with their own arrays and explicit orders
          ASSERT_EQ(got.table.size(), want.table.size());
          ASSERT_EQ(got.n_columns(), want.n_columns());
          std::size_t walked = 0;
          for (std::size_t q = 0; q < c.entity.size(); ++q) {
            const auto qi = static_cast<std::int64_t>(q);
            for (std::size_t col = 0; col < n_values; ++col) {
              for (std::size_t wi = 0; wi < windows.size(); ++wi) {
                ASSERT_EQ(got.at(qi, col, mf::kCount, wi), want.at(qi, col, mf::kCount, wi)) << q;
                expect_same(got.at(qi, col, mf::kSum, wi), want.at(qi, col, mf::kSum, wi), "sum");
                expect_same(got.at(qi, col, mf::kMean, wi), want.at(qi, col, mf::kMean, wi), "mean");
                for (auto a : {mf::kMin, mf::kMax, mf::kLast}) {
                  const double g = got.at(qi, col, a, wi), w = want.at(qi, col, a, wi);
                  ASSERT_TRUE(std::isnan(g) == std::isnan(w) && (std::isnan(w) || g == w)) << q << " agg " << a;
                }
              }
            }
            walked += c.entity[q] >= 0 && c.entity[q] <= 2 * spread;
          }
          EXPECT_GT(walked, 1000u);  // both paths ran
        }
      }
    }
  }
}

TEST(FeaturesWindow, EventsAsTheirOwnQueriesSameBitsForAnyThreadCount) {
  const Case c = self_case(12, 60000, 1);
  mlsd::set_num_threads(1);
  const auto one = run_self(c, {2, 9}, mf::Closed::both);
  mlsd::set_num_threads(4);
  const auto four = run_self(c, {2, 9}, mf::Closed::both);
  mlsd::set_num_threads(0);
  ASSERT_EQ(one.table.size(), four.table.size());
  for (std::size_t i = 0; i < one.table.size(); ++i) {
    ASSERT_EQ(std::isnan(one.table[i]), std::isnan(four.table[i]));
    if (!std::isnan(one.table[i])) ASSERT_EQ(one.table[i], four.table[i]);
  }
}

TEST(FeaturesWindow, EventsAsTheirOwnQueriesRejectInfiniteValues) {
  Case c = self_case(13, 5000, 1);
  c.values[0][4321] = -INFINITY;
  try {
    run_self(c, {5}, mf::Closed::left);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("row 4321"), std::string::npos) << e.what();
  }
}

TEST(FeaturesWindow, SmallValuesSurviveLargeOnesPassingThroughTheFrame) {
  // 1e308 and 3.3e307 leave rounding errors of ~1e291 in the running compensation; the -3s added
  // meanwhile must still be there once the large values leave: [-3, -3] sums to -6, [-3, 5] to 2.
  // Before them, `n_before` zeros far in the past (40: more than 32 events, the walk).
  const dv tail{1e308, 3.3e307, -3.0, -3.0, 5.0, 7.0};
  for (const std::size_t n_before : {std::size_t{0}, std::size_t{40}}) {
    Case c;
    for (std::size_t i = 0; i < n_before + tail.size(); ++i) {
      c.entity.push_back(1);
      c.time.push_back(i < n_before ? -1000000 + static_cast<std::int64_t>(i) : static_cast<std::int64_t>(i - n_before));
    }
    dv v(n_before, 0.0);
    v.insert(v.end(), tail.begin(), tail.end());
    c.values.push_back(v);
    c.q_entity = c.entity;
    c.q_time = c.time;
    for (const auto& r : {run(c, {2}, mf::Closed::left), run_self(c, {2}, mf::Closed::left)}) {
      const auto q = static_cast<std::int64_t>(n_before);
      EXPECT_EQ(r.at(q + 3, 0, mf::kSum, 0), 3.3e307 - 3.0) << n_before;
      EXPECT_EQ(r.at(q + 4, 0, mf::kSum, 0), -6.0) << n_before;
      EXPECT_EQ(r.at(q + 5, 0, mf::kSum, 0), 2.0) << n_before;
      EXPECT_EQ(r.at(q + 5, 0, mf::kMean, 0), 1.0) << n_before;
    }
  }
}

TEST(FeaturesWindow, EventsAsTheirOwnQueriesStopWhenTheCallingThreadIsInterrupted) {
  // The default path of the Python API (no order: the kernel groups the events, then direct frames
  // and walks).
  const Case c = self_case(14, 200000, 1);
  mlsd::interrupt_scope scope(+[] { return true; });  // "Ctrl-C was pressed"
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * mlsd::kInterruptPollMs));
  EXPECT_THROW(run_self(c, {3, 10}, mf::Closed::left), mlsd::interrupted);
}

namespace {

mf::WindowResult run_unsorted(const Case& c, const i64& windows, mf::Closed closed, unsigned aggs = mf::kAllAggs) {
  std::vector<std::span<const double>> cols(c.values.begin(), c.values.end());
  return mf::window_aggregate({c.entity, c.time, cols, {}}, {c.q_entity, c.q_time, {}}, windows, closed, aggs);
}

void expect_same_bits(const mf::WindowResult& got, const mf::WindowResult& want) {
  ASSERT_EQ(got.table.size(), want.table.size());
  for (std::size_t i = 0; i < got.table.size(); ++i)
    ASSERT_EQ(std::bit_cast<std::uint64_t>(got.table[i]), std::bit_cast<std::uint64_t>(want.table[i])) << i;
}

}  // namespace

TEST(FeaturesWindow, SpineWithoutOrdersEqualsTheSortedWalkBitForBit) {
  // A spine given without orders is grouped like the events (dense codes as they are, sparse ones
  // numbered by the events' dictionary; a few entities of more than 32 events walked), unless an
  // entity is larger than the grouping holds in cache (variant 2: the sort path).  Spine queries
  // at event times, before and after them, of entities without events and of missing keys.
  for (const int variant : {0, 1, 2}) {
    const std::int64_t spread = variant == 0 ? 1 : std::int64_t{1} << 40;
    Case c = self_case(21, 9000, 1);
    if (variant == 2) {
      for (std::int64_t j = 0; j <= std::int64_t{1} << 16; ++j) {
        c.entity.push_back(1501);
        c.time.push_back(j % 5000);
        c.values[0].push_back(static_cast<double>(j % 13) - 6.5);
      }
    }
    std::mt19937_64 rng(5);
    c.q_entity.clear();
    c.q_time.clear();
    for (std::size_t i = 0; i < 12000; ++i) {
      const std::size_t at = rng() % c.entity.size();
      c.q_entity.push_back(i % 23 == 0 ? -1 : i % 7 == 0 ? static_cast<std::int64_t>(1600 + rng() % 50) : c.entity[at]);
      c.q_time.push_back(i % 2 ? c.time[at] : static_cast<std::int64_t>(rng() % 80) - 10);
    }
    for (auto* codes : {&c.entity, &c.q_entity})
      for (auto& e : *codes)
        if (e >= 0) e *= spread;
    dv second(c.entity.size());
    for (std::size_t i = 0; i < c.entity.size(); ++i) second[i] = i % 9 == 0 ? kNaN : static_cast<double>(i % 17) / 8;
    for (const std::size_t n_values : {std::size_t{1}, std::size_t{2}}) {
      if (n_values == 2) c.values.push_back(second);
      for (auto closed : {mf::Closed::left, mf::Closed::right, mf::Closed::both, mf::Closed::neither}) {
        for (const unsigned aggs : {unsigned{mf::kAllAggs}, unsigned{mf::kCount | mf::kLast}}) {
          const i64 windows{3, 1, 40};
          mlsd::set_num_threads(1);
          const auto one = run_unsorted(c, windows, closed, aggs);
          mlsd::set_num_threads(4);
          const auto four = run_unsorted(c, windows, closed, aggs);
          mlsd::set_num_threads(0);
          const auto want = run(c, windows, closed, aggs);  // explicit orders: the sort path
          expect_same_bits(one, want);
          expect_same_bits(four, want);
        }
      }
    }
  }
}

TEST(FeaturesWindow, SpineWithoutOrdersStopsWhenTheCallingThreadIsInterrupted) {
  // The default path of the Python API for at= (no orders: both tables grouped).
  const Case c = random_case(15, 200000, 200000);
  mlsd::interrupt_scope scope(+[] { return true; });  // "Ctrl-C was pressed"
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * mlsd::kInterruptPollMs));
  EXPECT_THROW(run_unsorted(c, {3, 10}, mf::Closed::left), mlsd::interrupted);
}

TEST(FeaturesWindow, DirectFrameSumsAreTheExactSumsRoundedOnceOnEveryPath) {
  // A frame whose Neumaier sum ends within its compensation's rounding of a midpoint between two
  // doubles: summed from either end it rounds to 7215570046358548; the exact sum rounds to ...549.
  // The grouped spine, the sort path (orders given) and the events themselves give ...549.
  Case c;
  c.values.push_back({-590428768727196.5, 2.991637290907816e-17, 7188129210471838.0, 617869604613907.0, 0.0});
  c.entity = {0, 0, 0, 0, 0};
  c.time = {0, 1, 2, 3, 4};
  c.q_entity = {0};
  c.q_time = {4};
  const i64 windows{100};
  const double exact = 7215570046358549.0;
  EXPECT_EQ(run_unsorted(c, windows, mf::Closed::left, mf::kSum).table[0], exact);
  EXPECT_EQ(run(c, windows, mf::Closed::left, mf::kSum).table[0], exact);
  EXPECT_EQ(run_self(c, windows, mf::Closed::left, mf::kSum).table[4], exact);
}

// ---- the exact sum (detail::ExactSum): every frame sum that the compensated sums cannot vouch for --

#include "../src/features/exact_sum.hpp"

namespace {

namespace fd = mf::detail;
__extension__ typedef __int128 i128;

const double kMax = std::numeric_limits<double>::max();
const double kTiny = std::numeric_limits<double>::denorm_min();  // 2^-1074

fd::ExactSum exact_of(const dv& v) {
  fd::ExactSum s;
  for (double x : v)
    if (!std::isnan(x)) s.add(x);
  return s;
}

// The double nearest S 2^-unit, ties to even, found independently of ExactSum's rounding: the
// conversion of S to double and its two neighbours are compared by their exact distance to S
// (integers of at most 53 bits: exact in 128 bits).  S may have any sign; |S| < 2^120.
double nearest(i128 s, int unit) {
  const double d = static_cast<double>(s);
  if (static_cast<i128>(d) == s) return std::ldexp(d, -unit);  // exact (53 bits at most)
  // |S| >= 2^53: the candidates are integers
  double best = d;
  i128 best_dist = -1;
  for (double c : {std::nextafter(d, -INFINITY), d, std::nextafter(d, INFINITY)}) {
    const i128 diff = s - static_cast<i128>(c);
    const i128 dist = diff < 0 ? -diff : diff;
    const bool even = (std::bit_cast<std::uint64_t>(c) & 1) == 0;
    if (best_dist < 0 || dist < best_dist || (dist == best_dist && even)) {
      best = c;
      best_dist = dist;
    }
  }
  return std::ldexp(best, -unit);  // exact: no underflow at these units
}

// Checks ExactSum on values whose exact sum is S 2^-unit: rounded() is the nearest double, and
// split() is that double with the remainder's nearest double (or, where that would tip the pair
// to the other neighbour, the next double towards zero), so that value() is rounded() too.
void expect_exact(const dv& v, i128 s, int unit, const char* what) {
  const fd::ExactSum e = exact_of(v);
  const double want = nearest(s, unit);
  ASSERT_EQ(e.rounded(), want) << what;
  const fd::SplitSum split = e.split();
  const mlsd::detail::KahanSum& k = split.sum;
  ASSERT_EQ(k.sum, want) << what;
  ASSERT_EQ(k.value(), want) << what;
  const i128 rest = s - static_cast<i128>(std::ldexp(want, unit));
  const double r = nearest(rest, unit);
  ASSERT_EQ(split.exact, static_cast<i128>(std::ldexp(k.comp, unit)) == rest) << what;
  if (k.comp != r) {
    ASSERT_NE(want + r, want) << what << " comp " << k.comp << " nearest remainder " << r << " rest/2^64 "
                              << static_cast<double>(rest) / 0x1p64 << " " << static_cast<std::int64_t>(rest);  // nudged only where the nearest remainder tips the pair
    ASSERT_EQ(k.comp, std::nextafter(r, 0.0)) << what;
  }
}

}  // namespace

TEST(FeaturesExactSum, HandMadeSumsAreRoundedOnce) {
  struct Hand {
    dv v;
    double sum, comp;
    bool exact = true;  // sum + comp is the exact sum
  };
  const double p53 = 0x1p53;
  const std::vector<Hand> cases{
      {{}, 0.0, 0.0},
      {{kNaN, kNaN}, 0.0, 0.0},
      {{1e300, 1.0, -1e300}, 1.0, 0.0},  // cancellation
      {{1.7e308, 1e-300, -1.7e308, kTiny}, 1e-300, kTiny},
      {{1e16, 1.0, -1e16, -1.0, 0x1p-60}, 0x1p-60, 0.0},
      {{0.1, 0.2, -0.3}, 0x1p-55, 0.0},  // the doubles 0.1 + 0.2 - 0.3, exactly (Fraction)
      // midpoints: ties to even, and just off them
      {{p53, 1.0}, p53, 1.0},
      {{p53 + 2, 1.0}, p53 + 4, -1.0},
      {{p53, 1.0, kTiny}, p53 + 2, -std::nextafter(1.0, 0.0), false},  // the remainder -1 + 2^-1074: not -1
      {{p53, 1.0, -kTiny}, p53, 1.0, false},  // the remainder 1 - 2^-1074 rounds to 1, which keeps 2^53
      {{1.0, 0x1p-53}, 1.0, 0x1p-53},
      {{1.0, 0x1p-53, 0x1p-1000}, 1.0 + 0x1p-52, -std::nextafter(0x1p-53, 0.0), false},
      {{1.0, -0x1p-54}, 1.0, -0x1p-54},  // below a power of two: half of the smaller ulp, to even
      {{1.0, -0x1p-54, -kTiny}, 1.0 - 0x1p-53, std::nextafter(0x1p-54, 0.0), false},
      // subnormals: exact
      {{kTiny, kTiny, kTiny}, 3 * kTiny, 0.0},
      {{std::numeric_limits<double>::min(), -kTiny}, std::nextafter(std::numeric_limits<double>::min(), 0.0), 0.0},
      {{-kTiny, -kTiny, 2 * kTiny, -kTiny}, -kTiny, 0.0},
      {{0x1p-1022, 0x1p-1022, -0x1p-1023}, 0x1.8p-1022, 0.0},
      // near and beyond DBL_MAX (math.fsum raises there; the exact sum rounds to +-inf)
      {{kMax, kMax}, INFINITY, 0.0, false},
      {{-kMax, -kMax, 1.0}, -INFINITY, 0.0, false},
      {{kMax, kMax, -kMax}, kMax, 0.0},  // an intermediate sum beyond the doubles does not matter
      {{kMax, 0x1p970}, INFINITY, 0.0, false},  // the midpoint to 2^1024: ties to even, i.e. beyond
      // just below it: DBL_MAX; the remainder 2^970 - 2^900 rounds to 2^970, which would tip the
      // pair to inf: one step towards zero
      {{kMax, 0x1p970, -0x1p900}, kMax, std::nextafter(0x1p970, 0.0), false},
      {{-kMax, -0x1p969, -0x1p968}, -kMax, -(0x1p969 + 0x1p968)},
      {{1.7e308, 1.7e308, -1.7e308, -1.7e308, 2.0}, 2.0, 0.0},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Hand& h = cases[i];
    const fd::ExactSum e = exact_of(h.v);
    EXPECT_EQ(e.rounded(), h.sum) << "case " << i;
    EXPECT_EQ(std::signbit(e.rounded()), std::signbit(h.sum)) << "case " << i;
    const fd::SplitSum split = e.split();
    const mlsd::detail::KahanSum& k = split.sum;
    EXPECT_EQ(k.sum, h.sum) << "case " << i;
    EXPECT_EQ(k.comp, h.comp) << "case " << i;
    EXPECT_EQ(split.exact, h.exact) << "case " << i;
    if (std::isfinite(h.sum)) EXPECT_EQ(k.value(), h.sum) << "case " << i;
    // the range form (NaN skipped) gives the same sum
    fd::ExactSum r;
    r.add([&](std::int64_t j) { return h.v[j]; }, 0, static_cast<std::int64_t>(h.v.size()));
    EXPECT_EQ(r.rounded(), h.sum) << "case " << i;
  }
}

TEST(FeaturesExactSum, MatchesAnExact128BitIntegerSumOnRandomCancellingValues) {
  // Values m 2^e (|m| < 2^53, e in [-112, -60]) are integers in units of 2^-112 and their sums
  // fit in 128 bits: the reference is that integer sum, rounded by `nearest`.  Some values are
  // cancelled later in the list, some are powers of two (midpoints), so that sums end near ties.
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 3000; ++trial) {
    const int n = 1 + static_cast<int>(rng() % 120);
    const int e_lo = -112 + static_cast<int>(rng() % 40);
    dv v;
    std::vector<std::pair<std::int64_t, int>> terms;
    i128 s = 0;
    auto push = [&](std::int64_t m, int e) {
      v.push_back(std::ldexp(static_cast<double>(m), e));
      terms.emplace_back(m, e);
      s += static_cast<i128>(m) * (i128{1} << (e + 112));
    };
    for (int j = 0; j < n; ++j) {
      const int e = e_lo + static_cast<int>(rng() % static_cast<std::uint64_t>(-60 - e_lo + 1));
      const std::uint64_t kind = rng() % 8;
      const std::int64_t sign = (rng() & 1) ? 1 : -1;
      if (kind == 0 && !terms.empty()) {  // cancel an earlier value
        const auto [m, e0] = terms[rng() % terms.size()];
        push(-m, e0);
      } else if (kind == 1) {
        push(sign, e);  // a power of two
      } else {
        push(sign * static_cast<std::int64_t>(rng() >> 11), e);
      }
    }
    if (trial % 3 == 0) v.insert(v.begin() + static_cast<std::ptrdiff_t>(rng() % (v.size() + 1)), kNaN);
    expect_exact(v, s, 112, "units of 2^-112");
  }
}

TEST(FeaturesExactSum, MatchesAnExact128BitIntegerSumAmongTheSubnormals) {
  // Values of at most 60 bits in units of 2^-1074: subnormals and the smallest normal numbers.
  std::mt19937_64 rng(12);
  for (int trial = 0; trial < 3000; ++trial) {
    const int n = 1 + static_cast<int>(rng() % 60);
    const int bits = 1 + static_cast<int>(rng() % 60);
    dv v;
    i128 s = 0;
    for (int j = 0; j < n; ++j) {
      // m 2^k with m < 2^min(bits, 53): a double (no rounding) whatever its size
      const int mb = std::min(bits, 53);
      const auto m = static_cast<std::int64_t>(rng() >> (64 - mb));
      const int k = bits - mb;
      const std::int64_t sign = (rng() & 1) ? 1 : -1;
      v.push_back(std::ldexp(static_cast<double>(sign * m), k - 1074));
      s += static_cast<i128>(sign * m) * (i128{1} << k);
    }
    expect_exact(v, s, 1074, "units of 2^-1074");
  }
}

TEST(FeaturesExactSum, StaysExactPastItsNormalisationInterval) {
  // More additions than the words take between normalisations (2^28): 0.1 (m 2^-56) added
  // 2^28 + 5 times, then one -0.1: exactly (2^28 + 4) m 2^-56.
  const double x = 0.1;
  int ex;
  const auto m = static_cast<std::int64_t>(std::ldexp(std::frexp(x, &ex), 53));  // x = m 2^(ex - 53)
  const std::int64_t n = (std::int64_t{1} << 28) + 5;
  fd::ExactSum s;
  s.add([&](std::int64_t) { return x; }, 0, n);
  s.add(-x);
  const i128 want = static_cast<i128>(m) * (n - 1);
  EXPECT_EQ(s.rounded(), nearest(want, 53 - ex));
  fd::ExactSum one_by_one;  // the single-value form counts too
  for (std::int64_t i = 0; i < (std::int64_t{1} << 28) + 3; ++i) one_by_one.add(1.0);
  EXPECT_EQ(one_by_one.rounded(), static_cast<double>((std::int64_t{1} << 28) + 3));
}
