// The as-of match's two plans (entities grouped by a counting scatter when their codes are dense,
// both sides radix-sorted and merged when they are not) against the definition, and take_rows.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/features.hpp"
#include "features_reference.hpp"

namespace mf = mlsd::features;
using iv = std::vector<std::int64_t>;
using mf::testing::brute_match;
using mf::testing::uniform;

namespace {

iv run(const iv& sc, const iv& st, const iv& fc, const iv& ft, const iv& cr, const mf::AsofOptions& o) {
  const auto got = mf::asof_match(sc, st, fc, ft, cr, o);
  return iv(got.begin(), got.end());
}

// Codes spread far apart (beyond the grouped plan's table: numbered densely first), keeping -1
// (missing) as it is.
iv spread(iv codes) {
  for (auto& c : codes) c = c < 0 ? c : c * 1'000'000'007;
  return codes;
}

// The feature rows with 65,537 more of a code no event has (one group beyond what the grouped plan
// holds in cache: the sorted plan), appended: the events' matches stay the same row numbers.
struct Heavy {
  iv fc, ft, cr;
};
Heavy with_heavy(const iv& fc, const iv& ft, const iv& cr, std::int64_t code) {
  Heavy h{fc, ft, cr};
  const iv t = uniform(std::size_t{1} << 16 | 1, 0, 60, 77);
  for (const std::int64_t x : t) {
    h.fc.push_back(code);
    h.ft.push_back(x);
    if (!cr.empty()) h.cr.push_back(x + 1);
  }
  return h;
}

}  // namespace

// Dense codes far from 0 and over several top buckets, one heavy entity (a group sorted with
// std::sort and searched by bisection) among small ones (insertion sort, counted), many ties in
// time, and missing codes; every option.  The same data with the codes spread apart (numbered
// densely, then grouped), and with a group too large for the grouped plan (the sorted plan), give
// the same rows.
TEST(FeaturesAsofPlans, GroupedAndSortedPlansMatchTheDefinition) {
  for (unsigned seed = 0; seed < 16; ++seed) {
    const std::size_t n = 700 + seed * 13, m = 900 + seed * 7;
    const std::int64_t lo = seed % 2 ? 1'000'000'000 : 0, width = 300 + 1500 * (seed % 4);  // up to 3 code bits below the top 11
    iv sc = uniform(n, 0, width, seed), fc = uniform(m, 0, width, seed + 50);
    const iv heavy = uniform(m, 0, 2, seed + 60);
    for (std::size_t j = 0; j < m; ++j) fc[j] = heavy[j] == 0 ? 7 : fc[j];  // a third of the rows
    for (auto* c : {&sc, &fc})
      for (auto& v : *c) v = (v % 41 == 5) ? -1 : v + lo;
    const iv st = uniform(n, 0, 60, seed + 100), ft = uniform(m, 0, 60, seed + 200);
    iv cr = uniform(m, 0, 8, seed + 300);
    for (std::size_t j = 0; j < m; ++j) cr[j] += ft[j] - 3;
    for (bool exact : {true, false})
      for (bool ttl : {false, true})
        for (bool created : {false, true}) {
          const mf::AsofOptions o{exact, ttl, 9};
          const iv c = created ? cr : iv{};
          const iv want = brute_match(sc, st, fc, ft, c, o);
          ASSERT_EQ(run(sc, st, fc, ft, c, o), want)
              << "grouped: seed=" << seed << " exact=" << exact << " ttl=" << ttl << " created=" << created;
          ASSERT_EQ(run(spread(sc), st, spread(fc), ft, c, o), want)
              << "numbered: seed=" << seed << " exact=" << exact << " ttl=" << ttl << " created=" << created;
          for (const bool sparse : {false, true}) {
            const Heavy h = with_heavy(sparse ? spread(fc) : fc, ft, c, lo + width + 5);
            const iv got = run(sparse ? spread(sc) : sc, st, h.fc, h.ft, h.cr, o);
            ASSERT_EQ(got, want) << "sorted: seed=" << seed << " sparse=" << sparse << " exact=" << exact
                                 << " ttl=" << ttl << " created=" << created;
          }
        }
  }
}

// Feature codes on one side of the spine's (events of entities below or above every feature code),
// a single feature row, no feature row with a code, extreme times.
TEST(FeaturesAsofPlans, EdgeCases) {
  const mf::AsofOptions o{true, true, std::int64_t{1} << 62};
  const std::int64_t big = std::numeric_limits<std::int64_t>::max(), small = std::numeric_limits<std::int64_t>::min();
  const iv sc{0, 5, 9, 10, 11, -1, 10}, st{3, 3, 3, big, small, 3, 0};
  for (const iv& fc : {iv{10}, iv{10, 10, 9}, iv{-1, -1}, iv{}}) {
    const iv ft = uniform(fc.size(), -5, 5, 1);
    ASSERT_EQ(run(sc, st, fc, ft, {}, o), brute_match(sc, st, fc, ft, {}, o));
    ASSERT_EQ(run(sc, st, fc, ft, {}, mf::AsofOptions{}), brute_match(sc, st, fc, ft, {}, mf::AsofOptions{}));
  }
}

// Large enough for many chunks, buckets and blocks, with one entity holding a fifth of the feature
// rows (grouped plan) or a third of them (more than the grouped plan takes: the sorted one): the
// same rows with one thread and with all, and the definition on a sample.
class FeaturesAsofHeavy : public ::testing::TestWithParam<std::size_t> {};

TEST_P(FeaturesAsofHeavy, SameRowsForAnyThreadCount) {
  const std::size_t n = 300000, m = 250000;
  iv sc = uniform(n, 0, 60000, 11), fc = uniform(m, 0, 60000, 12);
  for (std::size_t j = 0; j < m; j += GetParam()) fc[j] = 4242;
  const iv st = uniform(n, 0, 1'000'000, 13), ft = uniform(m, 0, 1'000'000, 14);
  iv cr = uniform(m, 0, 1000, 15);
  for (std::size_t j = 0; j < m; ++j) cr[j] += ft[j];
  for (bool created : {false, true}) {
    const iv c = created ? cr : iv{};
    const mf::AsofOptions o{true, true, 200000};
    mlsd::set_num_threads(1);
    const iv one = run(sc, st, fc, ft, c, o);
    mlsd::set_num_threads(0);
    const iv all = run(sc, st, fc, ft, c, o);
    ASSERT_EQ(one, all);
    for (std::size_t i = 0; i < n; i += 1499) {
      ASSERT_EQ(all[i], brute_match({sc[i]}, {st[i]}, fc, ft, c, o)[0]) << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(OneEntityWithEveryKthRow, FeaturesAsofHeavy, ::testing::Values(5, 3));

TEST(FeaturesTakeRows, EveryWidthWithFillsAndBounds) {
  const std::vector<std::uint8_t> a{1, 2, 3};
  const std::vector<std::uint16_t> b{10, 20, 30};
  const std::vector<float> c{0.5f, 1.5f, 2.5f};
  const std::vector<std::int64_t> d{-7, 8, 9};
  const std::vector<mf::TakeColumn> cols{{a.data(), 3, 1, 0xEE},
                                         {b.data(), 3, 2, 0},
                                         {c.data(), 3, 4, 0},
                                         {d.data(), 3, 8, std::uint64_t{1} << 63}};
  const iv rows{2, -1, 0, 0, 1};
  const auto out = mf::take_rows(rows, cols);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(std::vector<std::uint8_t>(out[0].begin(), out[0].end()), (std::vector<std::uint8_t>{3, 0xEE, 1, 1, 2}));
  std::vector<std::uint16_t> ob(5);
  std::memcpy(ob.data(), out[1].data(), 10);
  EXPECT_EQ(ob, (std::vector<std::uint16_t>{30, 0, 10, 10, 20}));
  std::vector<float> oc(5);
  std::memcpy(oc.data(), out[2].data(), 20);
  EXPECT_EQ(oc, (std::vector<float>{2.5f, 0.0f, 0.5f, 0.5f, 1.5f}));
  iv od(5);
  std::memcpy(od.data(), out[3].data(), 40);
  EXPECT_EQ(od, (iv{9, std::numeric_limits<std::int64_t>::min(), -7, -7, 8}));

  EXPECT_THROW(mf::take_rows(iv{0, 3}, cols), mlsd::invalid_argument);  // row 3 of 3
  const std::vector<mf::TakeColumn> odd{{d.data(), 3, 3, 0}};
  EXPECT_THROW(mf::take_rows(rows, odd), mlsd::invalid_argument);  // width 3
  // an empty column: every row must be missing
  const std::vector<mf::TakeColumn> empty{{nullptr, 0, 8, 5}};
  const auto e = mf::take_rows(iv{-1, -1}, empty);
  iv oe(2);
  std::memcpy(oe.data(), e[0].data(), 16);
  EXPECT_EQ(oe, (iv{5, 5}));
  EXPECT_THROW(mf::take_rows(iv{0}, empty), mlsd::invalid_argument);
}
