#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <faiss/impl/AuxIndexStructures.h>

#include "mlsd/common/parallel.hpp"
#include "mlsd/detail/topk.hpp"
#include "mlsd/retrieval.hpp"
#include "../src/retrieval/distances.hpp"

namespace mr = mlsd::retrieval;
using mlsd::index_t;

namespace {

std::vector<float> random_matrix(index_t rows, index_t d, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist;
  std::vector<float> x(static_cast<std::size_t>(rows * d));
  for (auto& v : x) v = dist(gen);
  return x;
}

// Brute force in double precision: (score, id) sorted best first with the documented tie rule.
std::vector<std::pair<double, index_t>> brute_force(const std::vector<float>& q, index_t qi,
                                                    const std::vector<float>& x, index_t d, bool l2,
                                                    const std::vector<bool>& allow = {}) {
  const index_t n = static_cast<index_t>(x.size()) / d;
  std::vector<std::pair<double, index_t>> all;
  for (index_t i = 0; i < n; ++i) {
    if (!allow.empty() && !allow[static_cast<std::size_t>(i)]) continue;
    double s = 0;
    for (index_t j = 0; j < d; ++j) {
      const double a = q[static_cast<std::size_t>(qi * d + j)], b = x[static_cast<std::size_t>(i * d + j)];
      s += l2 ? (a - b) * (a - b) : a * b;
    }
    all.emplace_back(s, i);
  }
  std::sort(all.begin(), all.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return l2 ? a.first < b.first : a.first > b.first;
    return a.second < b.second;
  });
  return all;
}

std::vector<std::uint8_t> pack(const std::vector<bool>& mask) {
  std::vector<std::uint8_t> bits((mask.size() + 7) / 8, 0);
  for (std::size_t i = 0; i < mask.size(); ++i) {
    if (mask[i]) bits[i / 8] |= static_cast<std::uint8_t>(1u << (i % 8));
  }
  return bits;
}

// Checks a knn result against brute force: scores to float tolerance, ids exactly unless the
// reference has a near-tie at that rank.
void expect_matches(const mr::TopK& r, const std::vector<float>& q, const std::vector<float>& x, index_t d, bool l2,
                    const std::vector<bool>& allow = {}) {
  for (index_t qi = 0; qi < r.n_queries; ++qi) {
    const auto ref = brute_force(q, qi, x, d, l2, allow);
    for (index_t j = 0; j < r.k; ++j) {
      const float s = r.scores[static_cast<std::size_t>(qi * r.k + j)];
      const index_t id = r.ids[static_cast<std::size_t>(qi * r.k + j)];
      if (j >= static_cast<index_t>(ref.size())) {
        EXPECT_EQ(id, -1);
        EXPECT_EQ(s, l2 ? INFINITY : -INFINITY);
        continue;
      }
      const double tol = 1e-4 * (1.0 + std::abs(ref[static_cast<std::size_t>(j)].first));
      EXPECT_NEAR(s, ref[static_cast<std::size_t>(j)].first, tol) << "query " << qi << " rank " << j;
      const bool near_tie =
          (j > 0 && std::abs(ref[j].first - ref[j - 1].first) < tol) ||
          (j + 1 < static_cast<index_t>(ref.size()) && std::abs(ref[j].first - ref[j + 1].first) < tol);
      if (!near_tie) EXPECT_EQ(id, ref[static_cast<std::size_t>(j)].second) << "query " << qi << " rank " << j;
    }
  }
}

}  // namespace

TEST(TopKHeap, KeepsBestWithIdTieBreak) {
  std::vector<mr::detail::Candidate> slots(3);
  mr::detail::TopKHeap heap(slots);
  heap.reset();
  for (auto c : std::vector<mr::detail::Candidate>{{1, 5}, {3, 9}, {2, 1}, {3, 4}, {0, 0}, {2, 0}}) heap.push(c);
  heap.sort_best_first();
  EXPECT_EQ(slots[0].id, 4);  // key 3, smaller id first
  EXPECT_EQ(slots[1].id, 9);
  EXPECT_EQ(slots[2].id, 0);  // key 2: id 0 beats id 1
}

class KnnShapes : public ::testing::TestWithParam<std::tuple<index_t, index_t, index_t, index_t>> {};

TEST_P(KnnShapes, MatchesBruteForce) {
  const auto [nq, n, d, k] = GetParam();
  const auto q = random_matrix(nq, d, 1);
  const auto x = random_matrix(n, d, 2);
  for (bool l2 : {false, true}) {
    const auto r = mr::knn(q, x, d, k, l2 ? mr::Metric::l2 : mr::Metric::inner_product);
    ASSERT_EQ(r.n_queries, nq);
    ASSERT_EQ(r.k, k);
    expect_matches(r, q, x, d, l2);
  }
}

// Odd sizes: SIMD tails, a query count that spans two query blocks, k larger than n.
INSTANTIATE_TEST_SUITE_P(Sizes, KnnShapes,
                         ::testing::Values(std::make_tuple(1, 1, 1, 1), std::make_tuple(3, 97, 3, 5),
                                           std::make_tuple(130, 2500, 17, 10), std::make_tuple(5, 4, 8, 7),
                                           std::make_tuple(2, 3000, 256, 100)));

TEST(Knn, FilterNeverReturnsDisallowedAndIsExact) {
  const index_t d = 16, n = 4000, nq = 20, k = 10;
  const auto q = random_matrix(nq, d, 3);
  const auto x = random_matrix(n, d, 4);
  std::mt19937 gen(5);
  for (double keep : {0.5, 0.01, 0.0}) {  // dense mask path, gathered subset path, nothing allowed
    std::vector<bool> allow(static_cast<std::size_t>(n));
    std::bernoulli_distribution b(keep);
    for (std::size_t i = 0; i < allow.size(); ++i) allow[i] = b(gen);
    const auto bits = pack(allow);
    std::vector<index_t> ids(static_cast<std::size_t>(n));
    std::iota(ids.begin(), ids.end(), 0);
    const auto r = mr::knn(q, x, d, k, mr::Metric::inner_product, ids, bits);
    for (index_t id : r.ids) {
      if (id >= 0) EXPECT_TRUE(allow[static_cast<std::size_t>(id)]);
    }
    expect_matches(r, q, x, d, false, allow);
  }
}

TEST(Knn, TiesBrokenBySmallerIdAndIdsMapped) {
  const index_t d = 4;
  std::vector<float> x(static_cast<std::size_t>(6 * d), 1.0f);  // six identical items
  std::vector<float> q(static_cast<std::size_t>(d), 1.0f);
  std::vector<index_t> ids = {50, 10, 40, 20, 60, 30};
  const auto r = mr::knn(q, x, d, 3, mr::Metric::inner_product, ids);
  EXPECT_EQ(r.ids, (mlsd::buffer<index_t>{10, 20, 30}));
}

TEST(Knn, SameResultForAnyThreadCount) {
  const index_t d = 32, n = 20000, nq = 300, k = 20;
  const auto q = random_matrix(nq, d, 6);
  const auto x = random_matrix(n, d, 7);
  mlsd::set_num_threads(1);
  const auto one = mr::knn(q, x, d, k, mr::Metric::l2);
  mlsd::set_num_threads(0);
  const auto all = mr::knn(q, x, d, k, mr::Metric::l2);
  EXPECT_EQ(one.ids, all.ids);
  EXPECT_EQ(one.scores, all.scores);
}

TEST(Knn, RejectsBadArguments) {
  const auto x = random_matrix(10, 4, 8);
  EXPECT_THROW(mr::knn(x, x, 4, 0, mr::Metric::l2), std::invalid_argument);
  EXPECT_THROW(mr::knn(x, x, 3, 1, mr::Metric::l2), std::invalid_argument);
  EXPECT_THROW(mr::knn(x, x, 4, 1, mr::Metric::cosine), std::invalid_argument);
  auto bad = x;
  bad[13] = NAN;
  EXPECT_THROW(mr::knn(x, bad, 4, 1, mr::Metric::l2), std::invalid_argument);
}

TEST(Normalize, ErrorInsideParallelLoopReachesCaller) {
  auto x = random_matrix(50000, 8, 9);
  std::fill_n(x.begin() + 8 * 31337, 8, 0.0f);  // one zero row deep inside some worker's range
  try {
    mr::normalize_rows(x, 8, "f", "vectors");
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("row 31337"), std::string::npos) << e.what();
  }
}

TEST(MergeTopK, ShardsEqualUnsharded) {
  const index_t d = 8, n = 3000, nq = 40, k = 15;
  const auto q = random_matrix(nq, d, 10);
  const auto x = random_matrix(n, d, 11);
  std::vector<index_t> ids(static_cast<std::size_t>(n));
  std::iota(ids.begin(), ids.end(), 0);
  for (bool l2 : {false, true}) {
    const auto metric = l2 ? mr::Metric::l2 : mr::Metric::inner_product;
    const auto whole = mr::knn(q, x, d, k, metric, ids);
    // Three uneven contiguous shards; one is smaller than k, so it returns padding.
    std::vector<mr::TopK> parts;
    const index_t cuts[] = {0, 5, 1700, n};
    for (int s = 0; s < 3; ++s) {
      std::span<const float> xs(x.data() + cuts[s] * d, static_cast<std::size_t>((cuts[s + 1] - cuts[s]) * d));
      std::span<const index_t> is(ids.data() + cuts[s], static_cast<std::size_t>(cuts[s + 1] - cuts[s]));
      parts.push_back(mr::knn(q, xs, d, k, metric, is));
    }
    std::vector<const mr::TopK*> ptrs{&parts[0], &parts[1], &parts[2]};
    const auto merged = mr::merge_topk(ptrs, k, metric);
    EXPECT_EQ(merged.ids, whole.ids);
    if (!l2) {
      EXPECT_EQ(merged.scores, whole.scores);
    } else {  // knn centres each call's items on their own mean: equal to float rounding
      for (std::size_t i = 0; i < whole.scores.size(); ++i) EXPECT_NEAR(merged.scores[i], whole.scores[i], 1e-5);
    }
  }
}

TEST(MergeTopK, PadsWhenTooFewResults) {
  mr::TopK a;
  a.n_queries = 1;
  a.k = 2;
  a.scores = {0.5f, -INFINITY};
  a.ids = {3, -1};
  const mr::TopK* p[] = {&a};
  const auto r = mr::merge_topk(p, 3, mr::Metric::inner_product);
  EXPECT_EQ(r.ids, (mlsd::buffer<index_t>{3, -1, -1}));
  EXPECT_EQ(r.scores[1], -INFINITY);
}

TEST(Recall, HandComputed) {
  // query 0: approx {1, 2, 9} vs exact {1, 2, 3} -> 2/3; query 1: all found -> 1.
  const std::vector<index_t> approx = {1, 2, 9, 4, 5, 6}, exact = {1, 2, 3, 4, 5, 6};
  EXPECT_DOUBLE_EQ(mr::recall_at_k(approx, 3, exact, 3, 2, 3), (2.0 / 3.0 + 1.0) / 2.0);
  // Padding in the truth shrinks the denominator; duplicates in approx count once.
  const std::vector<index_t> a2 = {7, 7}, e2 = {7, -1};
  EXPECT_DOUBLE_EQ(mr::recall_at_k(a2, 2, e2, 2, 1, 2), 1.0);
}

TEST(FileFormat, Crc32KnownValue) {
  const std::string s = "123456789";
  EXPECT_EQ(mr::crc32({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}), 0xCBF43926u);
}

class IndexFiles : public ::testing::TestWithParam<std::string> {};

TEST_P(IndexFiles, RoundTripAndCorruption) {
  const index_t d = 8, n = 2000;
  const auto x = random_matrix(n, d, 12);
  mr::Index index(d, mr::Metric::l2, GetParam());
  if (!index.is_trained()) index.train(x);
  std::vector<index_t> ids(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) ids[static_cast<std::size_t>(i)] = 1000 + 3 * i;
  index.add(x, ids);
  if (index.supports_remove()) EXPECT_EQ(index.remove(std::vector<index_t>{1000, 1003, 7}), 2);
  const auto bytes = index.serialize();
  ASSERT_EQ(std::memcmp(bytes.data(), mr::kFileMagic, 8), 0);

  const auto back = mr::Index::deserialize(bytes);
  EXPECT_EQ(back.ids(), index.ids());
  EXPECT_EQ(back.spec(), index.spec());
  EXPECT_EQ(back.metric(), index.metric());
  const auto q = random_matrix(5, d, 13);
  const auto r1 = index.search(q, 10), r2 = back.search(q, 10);
  EXPECT_EQ(r1.ids, r2.ids);
  EXPECT_EQ(r1.scores, r2.scores);

  // Truncated at several points, a flipped byte, a foreign file, a future version.
  for (std::size_t cut : {std::size_t{0}, std::size_t{5}, std::size_t{12}, bytes.size() / 2, bytes.size() - 1}) {
    std::vector<std::uint8_t> t(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_THROW(mr::Index::deserialize(t), std::invalid_argument) << "cut at " << cut;
  }
  auto flipped = bytes;
  flipped[flipped.size() / 3] ^= 0x40;
  EXPECT_THROW(mr::Index::deserialize(flipped), std::invalid_argument);
  std::vector<std::uint8_t> foreign(100, 'x');
  EXPECT_THROW(mr::Index::deserialize(foreign), std::invalid_argument);
  auto future = bytes;
  future[8] = 99;
  EXPECT_THROW(mr::Index::deserialize(future), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(Specs, IndexFiles, ::testing::Values("Flat", "IVF16,Flat", "HNSW16", "PQ4x4"));

TEST(Index, IdsRemoveAndErrors) {
  const index_t d = 4;
  const auto x = random_matrix(100, d, 14);
  mr::Index index(d, mr::Metric::inner_product, "Flat");
  EXPECT_THROW(index.search(x, 1), std::invalid_argument);  // empty
  std::vector<index_t> ids(100);
  std::iota(ids.begin(), ids.end(), 500);
  ids[7] = ids[8];
  EXPECT_THROW(index.add(x, ids), std::invalid_argument);  // duplicate within the batch
  EXPECT_EQ(index.size(), 0);
  std::iota(ids.begin(), ids.end(), 500);
  index.add(x, ids);
  EXPECT_THROW(index.add(std::span<const float>(x.data(), d), std::vector<index_t>{510}), std::invalid_argument);
  EXPECT_EQ(index.remove(std::vector<index_t>{500, 501, 12345}), 2);
  const auto r = index.search(x, 100);
  for (index_t id : r.ids) EXPECT_TRUE(id == -1 || id >= 502);
  index.add(std::span<const float>(x.data(), d), {});  // automatic id continues after the largest
  EXPECT_EQ(index.ids().back(), 600);

  mr::Index hnsw(d, mr::Metric::l2, "HNSW8");
  EXPECT_FALSE(hnsw.supports_remove());
  EXPECT_THROW(mr::Index(d, mr::Metric::l2, "NotASpec"), std::invalid_argument);
  EXPECT_THROW(mr::Index(d, mr::Metric::l2, "IDMap,Flat"), std::invalid_argument);
  mr::Index ivf(d, mr::Metric::l2, "IVF4,Flat");
  EXPECT_THROW(ivf.add(x, {}), std::invalid_argument);  // untrained
  EXPECT_THROW(ivf.search(x, 1), std::invalid_argument);
}

TEST(Distances, MatchDoublePrecisionOnOddSizes) {
  for (std::size_t d : {1u, 3u, 7u, 8u, 15u, 16u, 17u, 97u, 128u, 256u}) {
    const auto a = random_matrix(1, static_cast<index_t>(d), 20 + static_cast<unsigned>(d));
    const auto b = random_matrix(1, static_cast<index_t>(d), 40 + static_cast<unsigned>(d));
    double ip = 0, l2 = 0;
    for (std::size_t i = 0; i < d; ++i) {
      ip += static_cast<double>(a[i]) * b[i];
      l2 += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    }
    EXPECT_NEAR(mr::detail::inner_product_fn()(a.data(), b.data(), d), ip, 1e-5 * (1 + std::abs(ip))) << d;
    EXPECT_NEAR(mr::detail::l2sqr_fn()(a.data(), b.data(), d), l2, 1e-5 * (1 + l2)) << d;
  }
}

namespace {
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(IdRule, OneCheckForIndexShardedIndexAndCallers) {
  const index_t d = 4;
  const auto x = random_matrix(3, d, 30);
  mr::Index index(d, mr::Metric::inner_product, "Flat");
  mr::ShardedIndex sharded(d, mr::Metric::inner_product, "Flat", 3);
  const std::vector<index_t> present = {10, 7, 1};
  index.add(x, present);
  sharded.add(x, present);
  // (ids, message): -1 first, then the smallest duplicate, then the smallest present id.
  const std::vector<std::pair<std::vector<index_t>, std::string>> cases = {
      {{3, -1, 3}, "ids must not contain -1 (it marks padding in search results)"},
      {{5, 2, 5, 2}, "ids contains duplicate id 2"},
      {{11, 7, 10}, "id 7 is already in the index"},
  };
  for (const auto& [ids, msg] : cases) {
    std::vector<float> xs(ids.size() * static_cast<std::size_t>(d), 1.0f);
    EXPECT_EQ(message_of([&] { index.add(xs, ids); }), "Index: " + msg);
    EXPECT_EQ(message_of([&] { sharded.add(xs, ids); }), "ShardedIndex: " + msg);
    EXPECT_EQ(message_of([&] { mr::check_new_ids(ids, &index); }), "Index: " + msg);
  }
  EXPECT_EQ(index.size(), 3);
  EXPECT_EQ(sharded.size(), 3);
  EXPECT_NO_THROW(mr::check_new_ids(std::vector<index_t>{10, 7}));  // no index: the batch alone
  EXPECT_NO_THROW(mr::check_new_ids(std::vector<index_t>{4, 5}, &index));
}

TEST(ShardedIndex, VectorisedShardOfIsThePlacement) {
  const index_t d = 4, n = 300;
  std::vector<index_t> ids(static_cast<std::size_t>(n));
  std::mt19937_64 gen(31);
  for (auto& id : ids) id = static_cast<index_t>(gen() >> 1) - (index_t{1} << 61);
  ids[0] = std::numeric_limits<index_t>::min();
  ids[1] = std::numeric_limits<index_t>::max();
  mr::ShardedIndex sharded(d, mr::Metric::inner_product, "Flat", 5);
  sharded.add(random_matrix(n, d, 32), ids);
  const auto where = mr::ShardedIndex::shard_of(ids, 5);
  ASSERT_EQ(where.size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(where[i], mr::ShardedIndex::shard_of(ids[i], 5));
    EXPECT_EQ(sharded.shard(static_cast<int>(where[i])).count_present({&ids[i], 1}), 1);
  }
  EXPECT_THROW(mr::ShardedIndex::shard_of(ids, 0), std::invalid_argument);
}

TEST(ShardedIndex, TakesTheFilterAsIndexDoes) {
  const index_t d = 6, n = 400;
  const auto x = random_matrix(n, d, 33), q = random_matrix(7, d, 34);
  std::vector<index_t> ids(static_cast<std::size_t>(n));
  std::iota(ids.begin(), ids.end(), 0);
  mr::Index index(d, mr::Metric::l2, "Flat");
  mr::ShardedIndex sharded(d, mr::Metric::l2, "Flat", 3);
  index.add(x, ids);
  sharded.add(x, ids);
  const std::vector<index_t> keep = {3, 50, 51, 399, 12345};
  mr::Allow allow;
  allow.active = true;
  allow.ids = keep;
  const auto a = index.search(q, 4, {}, allow), b = sharded.search(q, 4, {}, allow);
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_EQ(a.scores, b.scores);  // one centre for every shard: the same numbers as one index
  const std::vector<std::uint8_t> mask(static_cast<std::size_t>(n), 1);
  allow.mask = mask;
  EXPECT_THROW(sharded.search(q, 4, {}, allow), std::invalid_argument);
}

// Ctrl-C during ShardedIndex::add: the batch is added to every shard or to none.  The hook asks to
// stop as soon as some shard holds rows (it sleeps past the polling interval, so that every check
// asks it): an add that could stop between shards would leave the first shards filled.
namespace sharded_add_interrupt {
const mr::ShardedIndex* watched = nullptr;
bool stop_once_filled() {
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * mlsd::kInterruptPollMs));
  return watched->size() > 0;
}
}  // namespace sharded_add_interrupt

// Ctrl-C during a sharded add stops it and keeps the rows that reached the shards (as Index.add
// keeps its finished blocks); automatic ids then go on after every id present.
TEST(ShardedIndex, CtrlCDuringAddKeepsIdsConsistent) {
  mlsd::set_num_threads(1);  // the checks run on this thread, the one that has the hook
  const index_t d = 4, n = 300;
  const auto x = random_matrix(n, d, 36);
  for (const char* spec : {"Flat", "HNSW8"}) {
    mr::ShardedIndex sharded(d, mr::Metric::l2, spec, 4);
    sharded_add_interrupt::watched = &sharded;
    {
      mlsd::interrupt_scope scope(&sharded_add_interrupt::stop_once_filled);
      std::this_thread::sleep_for(std::chrono::milliseconds(2 * mlsd::kInterruptPollMs));
      try {
        sharded.add(x, {});
      } catch (const mlsd::interrupted&) {
      }
    }
    const index_t kept = sharded.size();
    EXPECT_LE(kept, n) << spec;
    sharded.add(x, {});  // automatic ids go on after every id present: no id is reused
    EXPECT_EQ(sharded.size(), kept + n) << spec;
    const auto r = sharded.search(x, 1, {});
    for (index_t id : r.ids) EXPECT_GE(id, 0) << spec;
  }
  mlsd::set_num_threads(0);
}

TEST(Index, L2CentreIsGivenAtConstruction) {
  const index_t d = 5, n = 200;
  auto x = random_matrix(n, d, 35);
  for (auto& v : x) v += 40.0f;  // far from the origin, where the centre matters
  const auto q = random_matrix(6, d, 36);
  std::vector<float> center(static_cast<std::size_t>(d), 0.0f);
  for (index_t i = 0; i < n; ++i) {
    for (index_t j = 0; j < d; ++j) center[static_cast<std::size_t>(j)] += x[static_cast<std::size_t>(i * d + j)] / n;
  }
  mr::Index own(d, mr::Metric::l2, "Flat", center);
  own.add(x, {});
  const auto r = own.search(q, 10);
  const auto exact = mr::knn(q, x, d, 10, mr::Metric::l2);
  EXPECT_EQ(r.ids, exact.ids);
  const auto back = own.vectors();
  for (std::size_t i = 0; i < back.size(); ++i) EXPECT_NEAR(back[i], x[i], 1e-4);
  EXPECT_THROW(mr::Index(d, mr::Metric::inner_product, "Flat", center), std::invalid_argument);
  EXPECT_THROW(mr::Index(d, mr::Metric::l2, "HNSW8", center), std::invalid_argument);
  EXPECT_THROW(mr::Index(d + 1, mr::Metric::l2, "Flat", center), std::invalid_argument);
}

TEST(Index, EmptyIndexKeepsItsCentreThroughSerialize) {
  const index_t d = 4, n = 100;
  auto x = random_matrix(n, d, 37);
  for (auto& v : x) v += 1e4f;
  auto q = random_matrix(3, d, 38);
  for (auto& v : q) v += 1e4f;
  const std::vector<float> center(static_cast<std::size_t>(d), 3e4f);
  mr::Index fresh(d, mr::Metric::l2, "Flat", center);
  mr::Index loaded = mr::Index::deserialize(fresh.serialize());
  fresh.add(x, {});
  loaded.add(x, {});
  const auto a = fresh.search(q, 5), b = loaded.search(q, 5);
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_EQ(a.scores, b.scores);
}

// -------------------------------------------------------------------------------------------
// Specs are parsed and bounded before FAISS sees them; shards are changed in place.

#include <atomic>
#include <thread>

#include "../src/retrieval/spec.hpp"
#include "mlsd/common/error.hpp"

TEST(Spec, DegenerateAndUnsupportedSpecsThrowNamingTheParameter) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"PQ0", "M must be in [1, 16], got 0"},     {"PQ4x0", "nbits must be in [1, 16]"},
      {"PQ3", "M = 3 must divide"},               {"IVF4,PQ4x9", "nbits must be in [1, 8]"},
      {"HNSW1", "neighbours M must be in [2, 512], got 1"}, {"HNSW0", "got 0"},
      {"IVF0,Flat", "nlist must be in"},          {"NSG32", "'NSG32' is not an index kind"},
      {"OPQ3,PQ4", "OPQ's m = 3 must divide"},    {"OPQ4,Flat", "OPQ applies before PQ codes only"},
      {"IVF99999999999999999999,Flat", "a larger number"}, {std::string(300, 'A'), "is too long"},
  };
  for (const auto& [spec, fragment] : bad) {
    try {
      mr::Index(16, mr::Metric::l2, spec);
      ADD_FAILURE() << spec << " was accepted";
    } catch (const mlsd::invalid_argument& e) {
      EXPECT_NE(e.message().find(fragment), std::string::npos) << e.message();
      EXPECT_LT(e.message().size(), 400u) << "a long spec is quoted truncated";
    }
  }
  const auto s = mr::detail::parse_spec("OPQ4_8,IVF32,PQ2x6np", 16, "test");
  EXPECT_EQ(s.kind, mr::detail::Spec::Kind::ivf_pq);
  EXPECT_EQ(std::vector<index_t>({s.opq_m, s.opq_d, s.nlist, s.pq_m, s.pq_nbits}),
            std::vector<index_t>({4, 8, 32, 2, 6}));
  EXPECT_EQ(s.min_training_vectors(), 256);
  EXPECT_EQ(mr::detail::parse_spec("HNSW", 16, "test").hnsw_m, 32);
}

TEST(Spec, ValuesFaissCannotClusterThrow) {
  const index_t d = 8;
  auto x = random_matrix(300, d, 81);
  mr::Index ivf(d, mr::Metric::l2, "IVF4,Flat");
  auto big = x;
  for (auto& v : big) v *= 1e20f;
  EXPECT_THROW(ivf.train(big), std::invalid_argument);
  EXPECT_THROW(mr::Index(d, mr::Metric::l2, "IVF4,Flat").train(std::span<const float>(x).first(3 * d)),
               std::invalid_argument);  // fewer vectors than lists
  ivf.train(x);
  EXPECT_THROW(ivf.add(big, {}), std::invalid_argument);
  EXPECT_EQ(ivf.size(), 0);
}

TEST(ShardedIndex, ShardsAreChangedInPlaceWhileHeld) {
  // A caller holding a shard (Python's ShardedIndex.shard(s)) searches it while the first add
  // gives every Flat l2 shard its centre, and while train hands the trained state out: the shard
  // objects (and their state) must never be freed under it.
  const index_t d = 8;
  const auto x = random_matrix(400, d, 82);
  for (const char* spec : {"Flat", "IVF4,Flat"}) {
    mr::ShardedIndex sharded(d, mr::Metric::l2, spec, 3);
    const mr::Index& held = sharded.shard(1);
    std::atomic<bool> stop{false};
    std::thread reader([&] {
      while (!stop) {
        try {
          if (held.size() > 0) held.search(std::span<const float>(x).first(d), 3);
        } catch (const std::invalid_argument&) {  // not trained yet
        }
      }
    });
    if (std::string(spec) != "Flat") sharded.train(x);
    sharded.add(x, {});
    stop = true;
    reader.join();
    EXPECT_EQ(&held, &sharded.shard(1));
    EXPECT_GT(held.size(), 0);
    EXPECT_EQ(sharded.size(), 400);
    // Same answers as one unsharded index (the centre is the same for every shard).
    mr::Index whole(d, mr::Metric::l2, "Flat");
    whole.add(x, {});
    if (std::string(spec) == "Flat") {
      const auto a = sharded.search(std::span<const float>(x).first(4 * d), 5);
      const auto b = whole.search(std::span<const float>(x).first(4 * d), 5);
      EXPECT_EQ(std::vector<index_t>(a.ids.begin(), a.ids.end()), std::vector<index_t>(b.ids.begin(), b.ids.end()));
    }
  }
}

// Ctrl-C during Index::train stops FAISS's k-means between its iterations (enable_faiss_interrupts)
// and leaves the index untrained and whole: trained again, it gives exactly what a fresh index
// trained on the same data gives (the quantizer keeps no half-trained centroids).
namespace train_interrupt {
std::atomic<int> calls{0};
bool stop() { return ++calls >= 2; }
}  // namespace train_interrupt

TEST(Index, CtrlCDuringTrainingStopsKMeansAndLeavesTheIndexUntrained) {
  mr::enable_faiss_interrupts();
  mlsd::set_num_threads(1);
  const index_t d = 32, n = 60000;
  const auto x = random_matrix(n, d, 39);
  const std::vector<float> small(x.begin(), x.begin() + 2000 * d);
  const auto q = random_matrix(50, d, 40);
  mr::Index ix(d, mr::Metric::l2, "IVF256,Flat");
  train_interrupt::calls = 0;
  {
    mlsd::interrupt_scope scope(&train_interrupt::stop);
    // uninterrupted, this training takes seconds; the hook says stop on its second call (40 ms in)
    EXPECT_THROW(ix.train(x), mlsd::interrupted);
  }
  EXPECT_EQ(train_interrupt::calls.load(), 2);
  EXPECT_FALSE(ix.is_trained());
  EXPECT_THROW(ix.add(x, {}), std::invalid_argument);  // not trained
  ix.train(small);
  ix.add(small, {});
  mr::Index fresh(d, mr::Metric::l2, "IVF256,Flat");
  fresh.train(small);
  fresh.add(small, {});
  mr::SearchParams p;
  p.nprobe = 1;  // one list per query: other centroids would give other neighbours
  EXPECT_EQ(ix.search(q, 10, p).ids, fresh.search(q, 10, p).ids);
  mlsd::set_num_threads(0);
}

// The training's hook may run Python (a signal handler, a cancel probe) that calls mlsd again, for
// instance an IVF search.  That nested kernel runs in an interrupt scope of its own (every binding
// opens one), and no hook may run from its FAISS interrupt points: IVF searches ask FAISS's
// callback on every query while holding FAISS's one global mutex, so a hook run there whose Python
// reached another IVF search would lock that mutex again on the same thread and never return.
namespace nested_in_train {
const mr::Index* other = nullptr;
const std::vector<float>* queries = nullptr;
std::atomic<int> outer_calls{0}, inner_calls{0}, under_faiss_lock{0};

// Asked from another thread, since this one may be the holder.  With one OpenMP thread nothing
// else takes the mutex, and a holder other than this thread would let go within the retries.
bool faiss_lock_free() {
  bool free = false;
  std::thread t([&] {
    for (int i = 0; i < 1000 && !free; ++i) {
      if (faiss::InterruptCallback::lock.try_lock()) {
        faiss::InterruptCallback::lock.unlock();
        free = true;
      } else {
        std::this_thread::yield();
      }
    }
  });
  t.join();
  return free;
}
bool inner() {
  ++inner_calls;
  if (!faiss_lock_free()) ++under_faiss_lock;
  return false;
}
bool outer() {
  if (!faiss_lock_free()) ++under_faiss_lock;
  if (++outer_calls == 1) {
    mlsd::interrupt_scope scope(&inner);  // what a binding opens around the nested call
    mr::SearchParams p;
    p.nprobe = 4;
    other->search(*queries, 10, p);
  }
  return outer_calls >= 2;
}
}  // namespace nested_in_train

TEST(Index, AKernelCalledFromTheTrainingsHookRunsNoHookUnderFaissMutex) {
  mr::enable_faiss_interrupts();
  mlsd::set_num_threads(1);
  const index_t d = 8;
  const auto y = random_matrix(20000, d, 41);
  mr::Index other(d, mr::Metric::l2, "IVF4,Flat");
  other.train(y);
  other.add(y, {});
  const auto q = random_matrix(8192, d, 42);  // two of mlsd's query blocks, many polling intervals
  nested_in_train::other = &other;
  nested_in_train::queries = &q;
  nested_in_train::outer_calls = nested_in_train::inner_calls = nested_in_train::under_faiss_lock = 0;
  const auto x = random_matrix(60000, 32, 39);
  mr::Index ix(32, mr::Metric::l2, "IVF256,Flat");
  {
    mlsd::interrupt_scope scope(&nested_in_train::outer);
    EXPECT_THROW(ix.train(x), mlsd::interrupted);  // seconds uninterrupted; stopped at the hook's second call
  }
  EXPECT_EQ(nested_in_train::outer_calls.load(), 2);
  EXPECT_GE(nested_in_train::inner_calls.load(), 1);  // the nested search was polled (between mlsd's blocks)
  EXPECT_EQ(nested_in_train::under_faiss_lock.load(), 0);
  EXPECT_FALSE(ix.is_trained());
  mlsd::set_num_threads(0);
}

// A hook run by a search (in Python: a signal handler, a cancel probe) that adds to the index being
// searched would wait for its own thread's read lock forever: it gets a runtime_error naming the
// call instead.  A search inside the search (a read inside a read) goes ahead.  Afterwards the
// index takes writes again (the thread's record of its locks is clean).
namespace same_index {
mr::Index* ix = nullptr;
const std::vector<float>* rows = nullptr;
std::string add_error;
int inner_searches = 0;
bool hook() {
  try {
    ix->add(std::span<const float>(*rows).first(8), {});
  } catch (const std::runtime_error& e) {
    add_error = e.what();
  }
  inner_searches += static_cast<int>(ix->search(std::span<const float>(*rows).first(8), 3).ids.size() == 3);
  return true;
}
}  // namespace same_index

TEST(Index, AHookThatChangesTheIndexItsCallReadsGetsAnErrorNotADeadlock) {
  mlsd::set_num_threads(1);
  const index_t d = 8;
  const auto x = random_matrix(100000, d, 43);
  mr::Index ix(d, mr::Metric::l2, "Flat");
  ix.add(x, {});
  same_index::ix = &ix;
  same_index::rows = &x;
  same_index::add_error.clear();
  same_index::inner_searches = 0;
  {
    mlsd::interrupt_scope scope(&same_index::hook);
    EXPECT_THROW(ix.search(x, 10), mlsd::interrupted);  // 100,000 x 100,000: stopped at the first poll
  }
  EXPECT_EQ(same_index::add_error.rfind("Index.add: the index is in use by a call on this same thread", 0), 0u)
      << same_index::add_error;
  EXPECT_EQ(same_index::inner_searches, 1);
  EXPECT_EQ(ix.size(), 100000);
  ix.add(std::span<const float>(x).first(8), {});
  EXPECT_EQ(ix.size(), 100001);
  mlsd::set_num_threads(0);
}
