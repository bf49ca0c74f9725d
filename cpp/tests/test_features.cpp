#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
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

iv reference_order(const iv& codes, const iv& times, const iv& tie) {
  iv order(codes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    if (codes[a] != codes[b]) return codes[a] < codes[b];
    if (times[a] != times[b]) return times[a] < times[b];
    return !tie.empty() && tie[a] < tie[b];
  });
  return order;
}

}  // namespace

TEST(FeaturesSortOrder, MatchesStableSortPackedAndFieldByField) {
  for (std::size_t n : {0u, 1u, 3u, 97u, 5000u, 200000u}) {
    // packed: small ranges; field by field: times spanning all of int64
    for (bool wide : {false, true}) {
      const iv codes = uniform(n, -1, 300, 1 + n);
      const iv times = wide ? uniform(n, std::numeric_limits<std::int64_t>::min(),
                                      std::numeric_limits<std::int64_t>::max(), 2 + n)
                            : uniform(n, -50, 50, 2 + n);
      const iv tie = uniform(n, 0, 3, 3 + n);
      for (bool with_tie : {false, true}) {
        const iv t = with_tie ? tie : iv{};
        const auto got = mf::sort_order_in_arena(codes, times, t);
        const iv want = reference_order(codes, times, t);
        ASSERT_EQ(iv(got.begin(), got.end()), want) << "n=" << n << " wide=" << wide << " tie=" << with_tie;
      }
    }
  }
}

// One field spanning all of int64 while the others are constant: the one-word key is that field
// alone (64 bits), which must not shift the empty key left by 64 (undefined behaviour; the
// sanitize preset's UBSan aborts on it). Each field in turn, with int64's extremes present.
TEST(FeaturesSortOrder, OneFieldSpanningAllOfInt64) {
  constexpr std::int64_t lo = std::numeric_limits<std::int64_t>::min(), hi = std::numeric_limits<std::int64_t>::max();
  for (std::size_t n : {2u, 97u, 5000u}) {
    iv full = uniform(n, lo, hi, 11 + n);
    full[0] = hi;
    full[n / 2] = lo;
    full[n - 1] = 0;
    const iv same(n, 7);
    for (int wide = 0; wide < 3; ++wide) {
      const iv& codes = wide == 0 ? full : same;
      const iv& times = wide == 1 ? full : same;
      const iv& tie = wide == 2 ? full : same;
      const auto got = mf::sort_order_in_arena(codes, times, tie);
      ASSERT_EQ(iv(got.begin(), got.end()), reference_order(codes, times, tie)) << "n=" << n << " wide field " << wide;
      const auto got2 = mf::sort_order_in_arena(codes, times);
      ASSERT_EQ(iv(got2.begin(), got2.end()), reference_order(codes, times, {})) << "n=" << n << " wide field " << wide;
    }
  }
}

TEST(FeaturesSortOrder, SameForAnyThreadCount) {
  const iv codes = uniform(300000, 0, 1000, 7), times = uniform(300000, 0, 1 << 20, 8);
  mlsd::set_num_threads(1);
  const auto one = mf::sort_order_in_arena(codes, times);
  mlsd::set_num_threads(0);
  const auto all = mf::sort_order_in_arena(codes, times);
  EXPECT_TRUE(std::equal(one.begin(), one.end(), all.begin(), all.end()));
}

TEST(FeaturesAsof, MatchesBruteForce) {
  for (unsigned seed = 0; seed < 40; ++seed) {
    const std::size_t n = 1 + seed * 7, m = seed * 5;
    const iv sc = uniform(n, -1, 6, seed), st = uniform(n, 0, 30, seed + 100);
    const iv fc = uniform(m, -1, 6, seed + 200), ft = uniform(m, 0, 30, seed + 300);
    iv cr = uniform(m, 0, 10, seed + 400);
    for (std::size_t j = 0; j < m; ++j) cr[j] += ft[j] - 3;  // created around the feature time
    for (bool exact : {true, false})
      for (bool ttl : {false, true})
        for (bool created : {false, true}) {
          const mf::AsofOptions o{exact, ttl, 4};
          const iv c = created ? cr : iv{};
          const auto got = mf::asof_match(sc, st, fc, ft, c, o);
          ASSERT_EQ(iv(got.begin(), got.end()), brute_match(sc, st, fc, ft, c, o))
              << "seed=" << seed << " exact=" << exact << " ttl=" << ttl << " created=" << created;
        }
  }
}

TEST(FeaturesAsof, LargeInputAcrossChunksAndThreads) {
  const std::size_t n = 150000, m = 120000;
  const iv sc = uniform(n, 0, 2000, 1), st = uniform(n, 0, 100000, 2);
  const iv fc = uniform(m, 0, 2000, 3), ft = uniform(m, 0, 100000, 4);
  const mf::AsofOptions o{true, true, 500};
  mlsd::set_num_threads(1);
  const auto one = mf::asof_match(sc, st, fc, ft, {}, o);
  mlsd::set_num_threads(0);
  const auto all = mf::asof_match(sc, st, fc, ft, {}, o);
  ASSERT_TRUE(std::equal(one.begin(), one.end(), all.begin(), all.end()));
  // spot-check against the definition on a sample of events
  for (std::size_t i = 0; i < n; i += 997) {
    const auto want = brute_match({sc[i]}, {st[i]}, fc, ft, {}, o);
    ASSERT_EQ(all[i], want[0]) << i;
  }
}

TEST(FeaturesAsof, RejectsMismatchedLengthsAndNegativeTtl) {
  const iv a{1, 2}, b{1};
  EXPECT_THROW(mf::asof_match(a, b, a, a, {}, {}), mlsd::invalid_argument);
  EXPECT_THROW(mf::asof_match(a, a, a, b, {}, {}), mlsd::invalid_argument);
  EXPECT_THROW(mf::asof_match(a, a, a, a, b, {}), mlsd::invalid_argument);
  EXPECT_THROW(mf::asof_match(a, a, a, a, {}, mf::AsofOptions{true, true, -1}), mlsd::invalid_argument);
  EXPECT_THROW(mf::sort_order(a, b), mlsd::invalid_argument);
}

// Keys that do not fit one word (field-by-field sorts, merge on pairs) and keys that fit once the
// times are divided by their gcd (nanosecond times recorded to the second) give the same matches.
TEST(FeaturesAsof, WideAndGcdPackedKeysMatchBruteForce) {
  for (unsigned seed = 0; seed < 12; ++seed) {
    const std::size_t n = 300, m = 250;
    iv sc = uniform(n, -1, 8, seed), fc = uniform(m, -1, 8, seed + 1);
    iv st = uniform(n, 0, 40, seed + 2), ft = uniform(m, 0, 40, seed + 3);
    const bool wide = seed % 2 == 0;
    const std::int64_t big = std::int64_t{1} << 30;
    for (auto* c : {&sc, &fc})
      for (auto& v : *c) v = v < 0 ? v : v * big;  // codes spread over 2^33
    std::int64_t jitter = 0;  // wide: an odd offset here and there leaves a gcd of 1, so nothing packs
    for (auto* t : {&st, &ft})
      for (auto& v : *t) v = wide ? v * (std::int64_t{1} << 56) - (std::int64_t{1} << 61) + (++jitter % 3)
                                  : v * 1000000000 * (big / 64);
    for (bool exact : {true, false}) {
      const mf::AsofOptions o{exact, seed % 3 == 0, wide ? (std::int64_t{3} << 56) : std::int64_t{3} * 1000000000 * (big / 64)};
      iv cr(ft);
      for (std::size_t j = 0; j < m; ++j) cr[j] += (j % 3 == 0 ? 1 : 0) * (wide ? (std::int64_t{1} << 56) : 1000000000);
      for (bool created : {false, true}) {
        const iv c = created ? cr : iv{};
        const auto got = mf::asof_match(sc, st, fc, ft, c, o);
        ASSERT_EQ(iv(got.begin(), got.end()), brute_match(sc, st, fc, ft, c, o))
            << "seed=" << seed << " wide=" << wide << " exact=" << exact << " created=" << created;
      }
    }
    const auto order = mf::sort_order_in_arena(sc, st);
    ASSERT_EQ(iv(order.begin(), order.end()), reference_order(sc, st, {}));
  }
}

// ---- sparse codes numbered densely (detail::Dictionary, detail::plan_grouping) -------------------

#include <map>
#include <tbb/task_arena.h>

#include "../src/features/group.hpp"

namespace {

namespace fd = mf::detail;

// Codes of `n` rows over `n_ids` sparse ids of the kind `kind` (0: k * 10^12 + 7, 1: random 62-bit,
// 2: ids next to INT64_MAX and 0), with missing keys of several negative codes.
iv sparse_codes(std::size_t n, std::int64_t n_ids, int kind, unsigned seed) {
  std::mt19937_64 rng(seed);
  iv ids(static_cast<std::size_t>(n_ids));
  for (std::int64_t k = 0; k < n_ids; ++k) {
    ids[k] = kind == 0 ? k * 1'000'000'000'000 + 7
             : kind == 1 ? static_cast<std::int64_t>(rng() >> 2)
                         : (k % 2 ? std::numeric_limits<std::int64_t>::max() - k : k);
  }
  iv codes(n);
  for (auto& c : codes) {
    const std::uint64_t r = rng();
    c = r % 29 == 0 ? (r % 2 ? -1 : std::numeric_limits<std::int64_t>::min()) : ids[(r >> 8) % ids.size()];
  }
  return codes;
}

// The numbers of `codes` by a Dictionary built on `threads` threads.
iv numbers_of(const iv& codes, int threads, std::int64_t* size = nullptr) {
  iv out(codes.size(), 12345);
  tbb::task_arena arena(threads);
  arena.execute([&] {
    const fd::Dictionary d(codes, out);
    if (size != nullptr) *size = d.size();
  });
  return out;
}

}  // namespace

// Each distinct code >= 0 gets one number in [0, n_distinct) and distinct codes distinct numbers;
// missing keys (any negative code) get -1; find() and find_all() give the same numbers and -1 for a
// code never numbered; the numbers are those of first appearance within a hash bucket, whatever the
// thread count (1, 2 or 4 threads: the same numbers).
TEST(FeaturesDictionary, NumbersSparseCodesDenselyTheSameOnAnyThreadCount) {
  for (const std::size_t n : {0u, 1u, 97u, 5000u, 300000u}) {
    for (const int kind : {0, 1, 2}) {
      for (const std::int64_t n_ids : {std::int64_t{1}, std::int64_t{50}, std::int64_t{40000}}) {
        const iv codes = sparse_codes(n, n_ids, kind, static_cast<unsigned>(n + kind));
        std::int64_t size = -1;
        const iv got = numbers_of(codes, 1, &size);
        std::map<std::int64_t, std::int64_t> number_of;  // code -> its number
        std::vector<bool> used(static_cast<std::size_t>(std::max<std::int64_t>(size, 0)), false);
        for (std::size_t i = 0; i < n; ++i) {
          if (codes[i] < 0) {
            ASSERT_EQ(got[i], -1) << "row " << i;
            continue;
          }
          ASSERT_GE(got[i], 0);
          ASSERT_LT(got[i], size);
          const auto [it, fresh] = number_of.emplace(codes[i], got[i]);
          if (fresh) {
            ASSERT_FALSE(used[got[i]]) << "two codes share number " << got[i];
            used[got[i]] = true;
          } else {
            ASSERT_EQ(it->second, got[i]) << "code " << codes[i] << " got two numbers";
          }
        }
        ASSERT_EQ(size, static_cast<std::int64_t>(number_of.size())) << "n=" << n << " kind=" << kind;
        for (const int threads : {2, 4}) ASSERT_EQ(numbers_of(codes, threads), got) << threads << " threads";
        // find / find_all: the same numbers, -1 for absent or missing codes
        iv probe = sparse_codes(n / 2 + 3, n_ids, kind, static_cast<unsigned>(n + kind));
        probe.push_back(-5);
        probe.push_back(3);  // absent unless kind 2 has it (then its number)
        iv own(codes.size());
        iv found(probe.size());
        tbb::task_arena(2).execute([&] {
          const fd::Dictionary d(codes, own);
          d.find_all(probe, found);
          for (std::size_t i = 0; i < probe.size(); ++i) ASSERT_EQ(d.find(probe[i]), found[i]);
        });
        for (std::size_t i = 0; i < probe.size(); ++i) {
          const auto it = number_of.find(probe[i]);
          ASSERT_EQ(found[i], probe[i] < 0 || it == number_of.end() ? -1 : it->second) << "probe " << probe[i];
        }
      }
    }
  }
}

// plan_grouping keeps dense codes as they are and numbers sparse ones, mapping the other table's
// codes by the same dictionary (codes it does not hold, and missing keys: -1); the split then
// covers exactly the distinct codes.
TEST(FeaturesDictionary, PlanGroupingNumbersOnlySparseCodes) {
  const iv dense = uniform(20000, 0, 30000, 5);
  tbb::task_arena(2).execute([&] {
    const fd::GroupingPlan p = fd::plan_grouping(fd::range_of_present(dense), dense, {}, 20000, 20000);
    EXPECT_FALSE(p.renumbered);
    ASSERT_TRUE(p.split.has_value());
    EXPECT_EQ(p.codes.data(), dense.data());
    EXPECT_EQ(p.split->n_codes, fd::span_of(fd::range_of_present(dense)) + 1);
  });
  const iv feats = sparse_codes(20000, 3000, 0, 8);
  iv spine = sparse_codes(15000, 6000, 0, 9);  // ids 3000..5999: absent from the features
  spine.push_back(7);                          // never an id (ids are k * 10^12 + 7 with k > 0, and 7 itself: k = 0)
  spine.push_back(8);
  tbb::task_arena(2).execute([&] {
    const auto rows = static_cast<std::uint64_t>(feats.size() + spine.size());
    const fd::GroupingPlan p = fd::plan_grouping(fd::range_of_present(feats), feats, spine, rows, feats.size());
    EXPECT_TRUE(p.renumbered);
    ASSERT_TRUE(p.split.has_value());
    std::map<std::int64_t, std::int64_t> number_of;
    for (std::size_t i = 0; i < feats.size(); ++i)
      if (feats[i] >= 0) number_of.emplace(feats[i], p.codes[i]);
    EXPECT_EQ(p.split->n_codes, number_of.size());
    EXPECT_EQ(p.split->lo, 0);
    for (std::size_t i = 0; i < spine.size(); ++i) {
      const auto it = number_of.find(spine[i]);
      ASSERT_EQ(p.other[i], spine[i] < 0 || it == number_of.end() ? -1 : it->second) << "spine row " << i;
    }
  });
}

namespace {

// MurmurHash3's finaliser undone (code_hash's inverse): the code whose hash is h.
std::int64_t unhash(std::uint64_t h) {
  h ^= h >> 33;
  h *= 0x9cb4b2f8129337dbULL;  // the inverse of 0xc4ceb9fe1a85ec53 modulo 2^64
  h ^= h >> 33;
  h *= 0x4f74430c22a54005ULL;  // the inverse of 0xff51afd7ed558ccd
  h ^= h >> 33;
  return static_cast<std::int64_t>(h);
}

// `n` distinct codes >= 0 whose hashes share the top (bucket) bits and the low 24 bits: every one
// has the same home slot in its bucket's table.
iv colliding_codes(std::size_t n) {
  iv codes;
  for (std::uint64_t i = 0; codes.size() < n; ++i) {
    const std::uint64_t h = (std::uint64_t{5} << 53) | (i << 24) | 12345;
    const std::int64_t c = unhash(h);
    if (c >= 0) codes.push_back(c);
  }
  return codes;
}

}  // namespace

// Codes crafted to share every hash bit the tables look at would make the numbering quadratic (a
// probe through all the codes numbered before: 30,000 codes, 450M probes; 5M codes, hours): the
// Dictionary gives up after kMaxProbe slots and plan_grouping leaves the table to the sort plan.
// Codes from real ids number as before (the tests above), and lookups stop at the longest probe.
TEST(FeaturesDictionary, CodesSharingTheirHashBitsFallBackToTheSort) {
  const iv codes = colliding_codes(30000);
  for (std::size_t i = 0; i < codes.size(); ++i) ASSERT_EQ(fd::code_hash(codes[i]) >> 53, 5u);
  tbb::task_arena(2).execute([&] {
    iv out(codes.size());
    const fd::Dictionary d(codes, out);
    EXPECT_FALSE(d.ok());
    const auto rows = static_cast<std::uint64_t>(codes.size());
    const fd::GroupingPlan p = fd::plan_grouping(fd::range_of_present(codes), codes, codes, rows, rows);
    EXPECT_FALSE(p.split.has_value());
    EXPECT_FALSE(p.renumbered);
    EXPECT_EQ(p.codes.data(), codes.data());
    // a few hundred colliding codes still number (probes below the limit), and find agrees
    const iv few(codes.begin(), codes.begin() + 500);
    iv num(few.size());
    const fd::Dictionary small(few, num);
    ASSERT_TRUE(small.ok());
    EXPECT_EQ(small.size(), 500);
    for (std::size_t i = 0; i < few.size(); ++i) ASSERT_EQ(small.find(few[i]), num[i]);
    EXPECT_EQ(small.find(codes[600]), -1);
  });
}

// A table slot keeps a code as the parts of its hash that its position does not give (its home slot
// is the position less the distance kept with it): codes whose hashes differ only in the home bits,
// only in the bits above them, or in both, all of one bucket, get distinct numbers, are found, and
// those never numbered are not, before and after the tables grow.  The hashes' varied bits stay
// below the bucket's (bit 53 up): bit 52, the highest a slot keeps, is one of them, and the 3000
// extra codes, of random home slots, all fall in bucket 9, so that its table grows to 2^13 slots
// (bit 12 a home bit then) and its numbers need more than 8 bits.
TEST(FeaturesDictionary, CodesDifferingInFewHashBitsStayApart) {
  for (const std::size_t extra : {0u, 3000u}) {  // 3000 more codes of the bucket: the table grows
    iv held, absent;
    std::uint64_t i = 0;
    for (const std::uint64_t high : {0ull, 1ull, 2ull, 3ull, (1ull << 40) - 1, 1ull << 40, (1ull << 40) + 3}) {
      for (std::uint64_t home = 0; home < 24; ++home) {
        const std::int64_t c = unhash((std::uint64_t{9} << 53) | (high << 12) | home);
        if (c < 0) continue;
        ((i++ % 3 == 0) ? absent : held).push_back(c);
      }
    }
    for (std::uint64_t k = 1, added = 0; added < extra; ++k) {  // k = 0: the hash of high 0, home 0
      const std::int64_t c = unhash((std::uint64_t{9} << 53) | ((k * 0x9e3779b97f4a7c15ULL) >> 11));
      if (c >= 0) held.push_back(c), ++added;
    }
    ASSERT_GT(absent.size(), 20u);
    for (const iv* codes : {&held, &absent})
      for (const std::int64_t c : *codes) ASSERT_EQ(fd::code_hash(c) >> 53, 9u) << c;
    tbb::task_arena(2).execute([&] {
      iv out(held.size());
      const fd::Dictionary d(held, out);
      ASSERT_TRUE(d.ok());
      std::map<std::int64_t, std::int64_t> number_of;
      for (std::size_t j = 0; j < held.size(); ++j) number_of.emplace(held[j], out[j]);
      ASSERT_EQ(d.size(), static_cast<std::int64_t>(number_of.size()));
      std::vector<bool> used(number_of.size(), false);
      for (const auto& [code, number] : number_of) {
        ASSERT_GE(number, 0);
        ASSERT_LT(number, d.size());
        ASSERT_FALSE(used[number]) << "two codes share number " << number;
        used[number] = true;
        ASSERT_EQ(d.find(code), number);
      }
      for (const std::int64_t c : absent) ASSERT_EQ(d.find(c), -1) << c;
      iv found(absent.size());
      d.find_all(absent, found);
      for (const std::int64_t f : found) ASSERT_EQ(f, -1);
    });
  }
}

// The switch between the table of group starts and the numbering is one rule (too_sparse, which
// plan_split applies): codes spanning 4 * rows + 1023 keep their split, one more is numbered.
TEST(FeaturesDictionary, DenseSparseSwitchAtOneBoundary) {
  for (const std::uint64_t rows : {2u, 3u, 1000u}) {
    for (const std::int64_t extra : {0, 1}) {
      const std::int64_t span = static_cast<std::int64_t>(4 * rows + 1023) + extra;
      iv codes(rows, 0);
      codes.back() = span;
      if (rows > 2) codes[1] = -1;  // a missing key: no part of the range
      const fd::Range range = fd::range_of_present(codes);
      ASSERT_EQ(fd::span_of(range), static_cast<std::uint64_t>(span));
      EXPECT_EQ(fd::too_sparse(range, rows), extra == 1);
      const fd::GroupingPlan p = fd::plan_grouping(range, codes, {}, rows, rows);
      ASSERT_TRUE(p.split.has_value());
      EXPECT_EQ(p.renumbered, extra == 1) << rows;
      EXPECT_EQ(p.split->n_codes, extra == 1 ? 2u : static_cast<std::uint64_t>(span) + 1);
    }
  }
}
