// Scatter-gather over shards: the same plan a cluster deployment uses, with shards in one process.
#include <algorithm>
#include <limits>

#include <tbb/parallel_for.h>

#include "exact_rows.hpp"
#include "id_checks.hpp"
#include "index_impl.hpp"
#include "index_lock.hpp"
#include "mlsd/common/checks.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/retrieval.hpp"
#include "spec.hpp"

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

std::vector<index_t> ShardedIndex::shard_of(std::span<const index_t> ids, int n_shards) {
  MLSD_REQUIRE(n_shards >= 1 && n_shards <= 4096, "shard_of", "n_shards must be an int in [1, 4096], got ", n_shards);
  std::vector<index_t> out(ids.size());
  std::transform(ids.begin(), ids.end(), out.begin(), [n_shards](index_t id) { return shard_of(id, n_shards); });
  return out;
}

ShardedIndex::ShardedIndex(index_t dim, Metric metric, const std::string& spec, int n_shards) {
  MLSD_REQUIRE(n_shards >= 1 && n_shards <= 4096, kFn, "n_shards must be an int in [1, 4096], got ", n_shards);
  shards_.reserve(static_cast<std::size_t>(n_shards));
  for (int s = 0; s < n_shards; ++s) shards_.emplace_back(dim, metric, spec);
}

int ShardedIndex::n_shards() const { return static_cast<int>(shards_.size()); }
Index& ShardedIndex::shard(int s) { return shards_.at(static_cast<std::size_t>(s)); }
const Index& ShardedIndex::shard(int s) const { return shards_.at(static_cast<std::size_t>(s)); }

// A shard in use by a call on this thread is refused as Index::size and is_trained refuse it, but
// in the words of the caller's own accessor (the shard's would name len(Index)).
index_t ShardedIndex::size() const {
  index_t n = 0;
  for (const Index& s : shards_) {
    detail::IndexLock::refuse_if_held_here(s.impl_->mutex, detail::IndexLock::shared, "len(ShardedIndex)");
    n += s.size();
  }
  return n;
}

bool ShardedIndex::is_trained() const {
  const Index& first = shards_.front();
  detail::IndexLock::refuse_if_held_here(first.impl_->mutex, detail::IndexLock::shared, "ShardedIndex.is_trained");
  return first.is_trained();
}

void ShardedIndex::train(std::span<const float> x) {
  detail::IndexLock lock(mutex_, detail::IndexLock::exclusive, "ShardedIndex.train");
  MLSD_REQUIRE(size() == 0, kFn, "train must be called before any vector is added");
  shards_.front().train(x);
  // Every shard shares the first shard's trained state (centroids, codebooks); the shard objects
  // stay the same, so a caller holding one (ShardedIndex.shard(s)) never sees it freed.
  const auto trained = shards_.front().serialize();
  for (std::size_t s = 1; s < shards_.size(); ++s) shards_[s].adopt_trained_state(Index::deserialize(trained));
}

void ShardedIndex::add(std::span<const float> x, std::span<const index_t> ids) {
  detail::IndexLock lock(mutex_, detail::IndexLock::exclusive, "ShardedIndex.add");
  const Index& first = shards_.front();
  const index_t d = first.dim();
  MLSD_REQUIRE(x.size() % static_cast<std::size_t>(d) == 0, kFn, "vectors must have ", d, " columns");
  const index_t n = static_cast<index_t>(x.size()) / d;
  MLSD_REQUIRE(ids.empty() || static_cast<index_t>(ids.size()) == n, kFn, "ids has ", ids.size(),
               " entries but vectors has ", n, " rows");
  MLSD_REQUIRE(first.is_trained(), kFn, "index with spec ", detail::quote_spec(first.spec()),
               " must be trained before vectors are added: call train() first");
  // Everything a shard could reject is checked here, for the whole batch and with the caller's
  // row numbers, so that a bad row never leaves some shards updated and others not.
  run_in_arena([&] { mlsd::detail::check_finite_rows(x, d, kFn, "vectors"); });
  if (first.kind() != "flat" && first.metric() != Metric::cosine) detail::check_faiss_magnitude(x, d, kFn, "vectors");
  if (first.metric() == Metric::cosine) {
    for (index_t i = 0; i < n; ++i) {
      bool zero = true;
      for (index_t j = 0; j < d && zero; ++j) zero = x[static_cast<std::size_t>(i * d + j)] == 0.0f;
      MLSD_REQUIRE(!zero, kFn, "vectors row ", i, " has zero norm; cosine similarity is undefined for it");
    }
  }
  std::vector<index_t> auto_ids;
  if (ids.empty()) {
    MLSD_REQUIRE(next_id_ <= std::numeric_limits<index_t>::max() - n, kFn, "automatic ids would overflow int64; pass ids");
    auto_ids.resize(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) auto_ids[static_cast<std::size_t>(i)] = next_id_ + i;
    ids = auto_ids;
  }
  const auto rows = rows_by_shard(ids, n_shards());
  std::vector<std::vector<index_t>> shard_ids(rows.size());
  for (int s = 0; s < n_shards(); ++s) {
    for (index_t i : rows[static_cast<std::size_t>(s)]) shard_ids[static_cast<std::size_t>(s)].push_back(ids[static_cast<std::size_t>(i)]);
  }
  detail::check_new_ids(
      ids,
      [&](std::span<const index_t> sorted) -> std::optional<index_t> {
        std::optional<index_t> first_present;
        for (int s = 0; s < n_shards(); ++s) {
          const Index& shard = shards_[static_cast<std::size_t>(s)];
          if (shard.count_present(shard_ids[static_cast<std::size_t>(s)]) == 0) continue;
          for (const index_t& id : sorted) {
            if (shard_of(id, n_shards()) != s || shard.count_present({&id, 1}) == 0) continue;
            if (!first_present || id < *first_present) first_present = id;
            break;
          }
        }
        return first_present;
      },
      kFn);
  const index_t max_id = n > 0 ? *std::max_element(ids.begin(), ids.end()) : 0;
  if (first.metric() == Metric::l2 && first.spec() == "Flat" && size() == 0 && next_id_ == 0 && n > 0) {
    // One centre for every shard, the mean of this first batch as an unsharded index takes it; the
    // shards are still empty and are given it in place (a caller may hold one of them).
    const std::vector<float> center = detail::column_mean(x, d);
    for (Index& shard : shards_) shard.set_l2_center(center);
  }
  try {
    for (int s = 0; s < n_shards(); ++s) {
      const auto& r = rows[static_cast<std::size_t>(s)];
      if (r.empty()) continue;
      std::vector<float> xs(r.size() * static_cast<std::size_t>(d));
      for (std::size_t j = 0; j < r.size(); ++j) std::copy_n(x.data() + r[j] * d, d, xs.data() + static_cast<index_t>(j) * d);
      shards_[static_cast<std::size_t>(s)].add(xs, shard_ids[static_cast<std::size_t>(s)]);
    }
  } catch (...) {
    // An interrupted add (Ctrl-C between shards, or between a FAISS shard's blocks) keeps the rows
    // that reached the shards, each with its id, as Index.add does: automatic ids must continue
    // after theirs, or the next add would reuse them.
    for (int s = 0; s < n_shards(); ++s) {
      for (const index_t& id : shard_ids[static_cast<std::size_t>(s)]) {
        if (id >= next_id_ && shards_[static_cast<std::size_t>(s)].count_present({&id, 1}) > 0) {
          next_id_ = id == std::numeric_limits<index_t>::max() ? id : id + 1;
        }
      }
    }
    throw;
  }
  if (n > 0 && max_id >= next_id_) {
    next_id_ = max_id == std::numeric_limits<index_t>::max() ? max_id : max_id + 1;
  }
}

index_t ShardedIndex::remove(std::span<const index_t> ids) {
  detail::IndexLock lock(mutex_, detail::IndexLock::exclusive, "ShardedIndex.remove");
  MLSD_REQUIRE(shards_.front().supports_remove(), kFn, "spec ", detail::quote_spec(shards_.front().spec()),
               " does not support removing items");
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
                          const Allow& allow) const {
  MLSD_REQUIRE(allow.mask.empty(), kFn, "allow must be ids: a mask over one shard's rows has no meaning across shards");
  detail::IndexLock lock(mutex_, detail::IndexLock::shared, "ShardedIndex.search");
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
      parts[static_cast<std::size_t>(s)] = shard.search(queries, k, shard_params, allow);
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
