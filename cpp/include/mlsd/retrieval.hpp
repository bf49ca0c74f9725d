// mlsd::retrieval — embedding candidate generation: exact and FAISS-backed approximate top-k.
//
// Data layout, stated once for the family: a set of n vectors of dimension d is a contiguous,
// row-major float32 array, element (i, j) at x[i * d + j] (the FAISS convention).  Top-k results
// are two row-major (n_queries, k) arrays, scores and int64 ids, best first in every row.
//
// Scores: inner product ("ip", larger is better) or squared Euclidean distance ("l2", smaller is
// better); cosine similarity is the inner product of L2-normalised vectors.  Ties are broken by the
// smaller id, so results are deterministic and a sharded search equals the unsharded one.  A row
// with fewer than k results is padded with id -1 and the worst possible score (-inf for ip,
// +inf for l2).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "mlsd/common/views.hpp"

namespace mlsd::retrieval {

enum class Metric { inner_product, l2, cosine };

const char* metric_name(Metric m);

// (n_queries, k) results, row-major, best first.
struct TopK {
  index_t n_queries = 0;
  index_t k = 0;
  buffer<float> scores;
  buffer<index_t> ids;
};

// Items allowed in a search, as a bitmap over item rows (bit r of byte r / 8, the FAISS
// IDSelectorBitmap layout).  Empty span: every item is allowed.
using AllowBits = std::span<const std::uint8_t>;

inline bool allowed(AllowBits allow, index_t i) {
  return allow.empty() || ((allow[static_cast<std::size_t>(i >> 3)] >> (i & 7)) & 1u) != 0;
}

// Exact k-nearest neighbours by blocked GEMM (BLAS sgemm, single-threaded per task) and a oneTBB
// parallel top-k selection.  queries: (n_queries, d); items: (n_items, d); metric inner_product or
// l2 (normalise for cosine first).  ids: the id reported for each item row (empty: the row number).
// item_sqnorms: squared norms of the items for l2 (empty: computed here).
TopK knn(std::span<const float> queries, std::span<const float> items, index_t d, index_t k,
         Metric metric, std::span<const index_t> ids = {}, AllowBits allow = {},
         std::span<const float> item_sqnorms = {});

// Merges per-shard top-k results of the same queries into one top-k (scatter-gather).  Each part
// is a TopK over the same n_queries; parts may have different k.  Rows keep the tie rule above;
// padding (id -1) never displaces a real result.
TopK merge_topk(std::span<const TopK* const> parts, index_t k, Metric metric);

// Mean over queries of |approx[q, :k] ∩ exact[q, :k]| / |exact[q, :k]|, ignoring -1 padding and
// queries whose exact row is all padding.  Both arrays are (n_queries, width) with width >= k.
double recall_at_k(std::span<const index_t> approx, index_t approx_width, std::span<const index_t> exact,
                   index_t exact_width, index_t n_queries, index_t k);

// Scales each row of x (n rows of dimension d) to unit L2 norm, in place.  Throws if a row is zero.
void normalize_rows(std::span<float> x, index_t d, const char* function, const char* argument);

// Lets mlsd::check_interrupt's hook stop FAISS's k-means (Index::train) between its iterations and
// assignment blocks: installs a faiss::InterruptCallback, unless the program installed its own,
// that answers only for threads inside Index::train (searches and adds stop between mlsd's own
// blocks instead) and there asks the thread's interrupt hook.  Call once, before any thread uses
// FAISS (the Python module does so on import); FAISS reads the callback without a lock.
void enable_faiss_interrupts();

// CRC-32 (IEEE 802.3, as zlib.crc32), continuing from crc.
std::uint32_t crc32(std::span<const std::uint8_t> data, std::uint32_t crc = 0);

// A search filter: allowed ids (unknown ids are ignored), or a mask with one byte per live item in
// Index::ids() order (used when non-empty).
struct Allow {
  bool active = false;
  std::span<const index_t> ids;
  std::span<const std::uint8_t> mask;
};

struct SearchParams {
  std::optional<int> nprobe;     // IVF: inverted lists visited per query
  std::optional<int> ef_search;  // HNSW: candidate list size
  int threads = 0;                // OpenMP threads for FAISS's loops; 0: mlsd's thread count
};

class Index;

// Throws std::invalid_argument unless ids may enter an index as one batch: no -1 (it marks
// padding in search results), no duplicate, and (index not null) none already in index.  The one
// home of this rule: Index::add and ShardedIndex::add run it too.  It is exposed for callers that
// add one batch in parts (a progress bar, shards on Dask workers) and must reject the whole batch
// before the first part goes in.
void check_new_ids(std::span<const index_t> ids, const Index* index = nullptr);

// A vector index over items with int64 external ids.  `spec` is a FAISS index-factory string;
// "Flat" is served by mlsd's own exact kernel.  Searches may run concurrently from many threads;
// train/add/remove take an exclusive lock.
class Index {
 public:
  // l2_center: Flat l2 indexes store vectors minus a centre, so that the |x|^2 - 2<q, x> form of
  // the distance keeps its precision for data far from the origin.  By default the centre is the
  // mean of the first batch added; the pieces of one collection (the shards of a ShardedIndex or
  // of a Dask DistributedIndex) pass the mean of the whole first batch, so that their distances
  // are computed from the same numbers as one index's.  Must be empty for other specs and metrics.
  Index(index_t dim, Metric metric, const std::string& spec, std::span<const float> l2_center = {});
  ~Index();
  Index(Index&&) noexcept;
  Index& operator=(Index&&) noexcept;

  index_t dim() const;
  Metric metric() const;
  const std::string& spec() const;
  index_t size() const;            // live items
  bool is_trained() const;
  bool supports_remove() const;
  std::string kind() const;        // "flat", "ivf", "hnsw", "pq", ...

  void train(std::span<const float> x);
  // ids empty: the next ids after the largest id so far (0, 1, ... for a new index).
  void add(std::span<const float> x, std::span<const index_t> ids);
  // Returns the number of items removed; ids not in the index are ignored.
  index_t remove(std::span<const index_t> ids);

  // Live ids in insertion order; a boolean allow mask is over this order.
  std::vector<index_t> ids() const;
  // How many of these ids are in the index.
  index_t count_present(std::span<const index_t> ids) const;
  // The first automatic id (one past the largest id ever added).
  index_t next_id() const;

  // allow is resolved against the index under the same lock as the search, so a concurrent
  // add/remove can never make it select other items.
  TopK search(std::span<const float> queries, index_t k, const SearchParams& params = {},
              const Allow& allow = {}) const;

  // Reconstructed vectors of the live items (exact for Flat and HNSW-Flat/IVF-Flat).
  std::vector<float> vectors() const;

  std::vector<std::uint8_t> serialize() const;
  static Index deserialize(std::span<const std::uint8_t> bytes);

  struct Impl;  // opaque; defined in the library's sources

 private:
  // A ShardedIndex changes its shards in place (a caller may hold a shard while another thread
  // adds): it gives empty Flat l2 shards their common centre and trained shards their state.
  friend class ShardedIndex;
  void set_l2_center(std::span<const float> center);
  void adopt_trained_state(Index&& trained);

  std::unique_ptr<Impl> impl_;
  explicit Index(std::unique_ptr<Impl> impl);
};

// Items split across shards by a hash of their id; each shard is an Index with the same spec.
// search() queries every shard in parallel and merges with merge_topk.
class ShardedIndex {
 public:
  ShardedIndex(index_t dim, Metric metric, const std::string& spec, int n_shards);
  int n_shards() const;
  Index& shard(int s);
  const Index& shard(int s) const;
  index_t size() const;
  bool is_trained() const;
  void train(std::span<const float> x);  // trains one shard, copies its trained state to the others
  void add(std::span<const float> x, std::span<const index_t> ids);
  index_t remove(std::span<const index_t> ids);
  // As Index::search; allow must hold ids (a mask over one shard's rows means nothing here).
  TopK search(std::span<const float> queries, index_t k, const SearchParams& params = {},
              const Allow& allow = {}) const;
  // The shard an id lives on: splitmix64(id) % n_shards.  The one home of the placement rule;
  // mlsd.dask places rows with the vectorised form below.
  static int shard_of(index_t id, int n_shards);
  static std::vector<index_t> shard_of(std::span<const index_t> ids, int n_shards);

 private:
  std::vector<Index> shards_;
  index_t next_id_ = 0;
  mutable std::shared_mutex mutex_;  // add/remove/train exclusive, search shared
};

// File format of a serialised Index, exposed for tests.
inline constexpr char kFileMagic[8] = {'M', 'L', 'S', 'D', 'I', 'D', 'X', '\0'};
// Version 2 stores l2 Flat vectors as added (version 1, still read: minus the centre).
inline constexpr std::uint32_t kFileVersion = 2;

}  // namespace mlsd::retrieval
