// Scatter-gather over shards: the same plan a cluster deployment uses, with shards in one process.
#include <algorithm>
#include <limits>

#include <tbb/parallel_for.h>

#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/retrieval.hpp"

namespace mlsd::retrieval {
namespace {
constexpr const char* kFn = "ShardedIndex";

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Rows of a batch grouped by shard.
std::vector<std::vector<index_t>> rows_by_shard(std::span<const index_t> ids, int n_shards) {
  std::vector<std::vector<index_t>> rows(static_cast<std::size_t>(n_shards));
  for (index_t i = 0; i < static_cast<index_t>(ids.size()); ++i) {
    rows[static_cast<std::size_t>(ShardedIndex::shard_of(ids[static_cast<std::size_t>(i)], n_shards))].push_back(i);
  }
  return rows;
}

}  // namespace

int ShardedIndex::shard_of(index_t id, int n_shards) {
  return static_cast<int>(splitmix64(static_cast<std::uint64_t>(id)) % static_cast<std::uint64_t>(n_shards));
}

ShardedIndex::ShardedIndex(index_t dim, Metric metric, const std::string& spec, int n_shards) {
  MLSD_REQUIRE(n_shards >= 1 && n_shards <= 4096, kFn, "n_shards must be an int in [1, 4096], got ", n_shards);
  shards_.reserve(static_cast<std::size_t>(n_shards));
  for (int s = 0; s < n_shards; ++s) shards_.emplace_back(dim, metric, spec);
}

int ShardedIndex::n_shards() const { return static_cast<int>(shards_.size()); }
Index& ShardedIndex::shard(int s) { return shards_.at(static_cast<std::size_t>(s)); }
const Index& ShardedIndex::shard(int s) const { return shards_.at(static_cast<std::size_t>(s)); }

index_t ShardedIndex::size() const {
  index_t n = 0;
  for (const Index& s : shards_) n += s.size();
  return n;
}

bool ShardedIndex::is_trained() const { return shards_.front().is_trained(); }

void ShardedIndex::train(std::span<const float> x) {
  MLSD_REQUIRE(size() == 0, kFn, "train must be called before any vector is added");
  shards_.front().train(x);
  // Every shard shares the first shard's trained state (centroids, codebooks).
  const auto trained = shards_.front().serialize();
  for (std::size_t s = 1; s < shards_.size(); ++s) shards_[s] = Index::deserialize(trained);
}

void ShardedIndex::add(std::span<const float> x, std::span<const index_t> ids) {
  const index_t d = shards_.front().dim();
  MLSD_REQUIRE(x.size() % static_cast<std::size_t>(d) == 0, kFn, "vectors must have ", d, " columns");
  const index_t n = static_cast<index_t>(x.size()) / d;
  MLSD_REQUIRE(ids.empty() || static_cast<index_t>(ids.size()) == n, kFn, "ids has ", ids.size(),
               " entries but vectors has ", n, " rows");
  std::vector<index_t> auto_ids;
  if (ids.empty()) {
    auto_ids.resize(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) auto_ids[static_cast<std::size_t>(i)] = next_id_ + i;
    ids = auto_ids;
  }
  // Reject duplicates (within the batch or already present) before any shard changes.
  std::vector<index_t> sorted(ids.begin(), ids.end());
  std::sort(sorted.begin(), sorted.end());
  MLSD_REQUIRE(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(), kFn, "ids contains duplicates");
  const auto rows = rows_by_shard(ids, n_shards());
  for (int s = 0; s < n_shards(); ++s) {
    const auto& r = rows[static_cast<std::size_t>(s)];
    if (r.empty()) continue;
    const auto [bits, present] = shards_[static_cast<std::size_t>(s)].allow_from_ids(
        [&] {
          std::vector<index_t> v;
          for (index_t i : r) v.push_back(ids[static_cast<std::size_t>(i)]);
          return v;
        }());
    MLSD_REQUIRE(present == 0, kFn, "ids contains ids already in the index");
  }
  for (int s = 0; s < n_shards(); ++s) {
    const auto& r = rows[static_cast<std::size_t>(s)];
    if (r.empty()) continue;
    std::vector<float> xs(r.size() * static_cast<std::size_t>(d));
    std::vector<index_t> is(r.size());
    for (std::size_t j = 0; j < r.size(); ++j) {
      std::copy_n(x.data() + r[j] * d, d, xs.data() + static_cast<index_t>(j) * d);
      is[j] = ids[static_cast<std::size_t>(r[j])];
    }
    shards_[static_cast<std::size_t>(s)].add(xs, is);
  }
  if (n > 0 && sorted.back() >= next_id_) {
    next_id_ = sorted.back() == std::numeric_limits<index_t>::max() ? sorted.back() : sorted.back() + 1;
  }
}

index_t ShardedIndex::remove(std::span<const index_t> ids) {
  MLSD_REQUIRE(shards_.front().supports_remove(), kFn, "spec '", shards_.front().spec(),
               "' does not support removing items");
  const auto rows = rows_by_shard(ids, n_shards());
  index_t removed = 0;
  for (int s = 0; s < n_shards(); ++s) {
    std::vector<index_t> v;
    for (index_t i : rows[static_cast<std::size_t>(s)]) v.push_back(ids[static_cast<std::size_t>(i)]);
    if (!v.empty()) removed += shards_[static_cast<std::size_t>(s)].remove(v);
  }
  return removed;
}

TopK ShardedIndex::search(std::span<const float> queries, index_t k, const SearchParams& params,
                          std::span<const index_t> allow_ids, bool has_allow) const {
  MLSD_REQUIRE(size() > 0, kFn, "the index is empty: add() vectors before searching");
  const int ns = n_shards();
  std::vector<TopK> parts(static_cast<std::size_t>(ns));
  std::vector<char> used(static_cast<std::size_t>(ns), 0);
  // Shards run in parallel; FAISS's OpenMP loops inside each get a share of the threads.
  SearchParams shard_params = params;
  shard_params.threads = std::max(1, get_num_threads() / ns);
  run_in_arena([&] {
    tbb::parallel_for(0, ns, [&](int s) {
      const Index& shard = shards_[static_cast<std::size_t>(s)];
      if (shard.size() == 0) return;
      if (has_allow) {
        const auto [bits, count] = shard.allow_from_ids(allow_ids);
        parts[static_cast<std::size_t>(s)] = shard.search(queries, k, shard_params, bits, count);
      } else {
        parts[static_cast<std::size_t>(s)] = shard.search(queries, k, shard_params);
      }
      used[static_cast<std::size_t>(s)] = 1;
    });
  });
  std::vector<const TopK*> ptrs;
  for (int s = 0; s < ns; ++s) {
    if (used[static_cast<std::size_t>(s)]) ptrs.push_back(&parts[static_cast<std::size_t>(s)]);
  }
  return merge_topk(ptrs, k, shards_.front().metric());
}

}  // namespace mlsd::retrieval
