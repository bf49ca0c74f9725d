#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <tuple>

#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexPQ.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_factory.h>
#include <faiss/utils/distances.h>
#include <omp.h>
#include <tbb/parallel_for.h>

#include "blas.hpp"
#include "exact_rows.hpp"
#include "hnsw_search.hpp"
#include "id_checks.hpp"
#include "index_impl.hpp"
#include "index_lock.hpp"
#include "mlsd/common/checks.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"

namespace mlsd::retrieval {
namespace {

constexpr const char* kFn = "Index";

// The index behind IndexPreTransform wrappers (OPQ, PCA, ...).
const faiss::Index* core_index(const faiss::Index* index) {
  while (auto* pt = dynamic_cast<const faiss::IndexPreTransform*>(index)) index = pt->index;
  return index;
}

// Sets the calling thread's OpenMP thread count (FAISS's loops) for a scope.
class OmpThreads {
 public:
  explicit OmpThreads(int n) : previous_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~OmpThreads() { omp_set_num_threads(previous_); }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int previous_;
};

// Runs a FAISS call, turning its exceptions into mlsd's (FAISS rejects some inputs itself, such as
// too few training points for the number of clusters).
template <class F>
void call_faiss(const char* what, F&& f) {
  try {
    f();
  } catch (const faiss::FaissException& e) {
    mlsd::detail::throw_invalid(kFn, what, " failed in FAISS: ", e.msg);
  }
}


// FAISS's interrupt points (1.7.3: each k-means iteration and each block of its assignment search;
// also inside IVF searches and HNSW adds) ask one process-wide InterruptCallback.  mlsd's says yes
// only on a thread inside a FaissInterruptible scope (training) whose hook says stop: searches and
// adds are stopped between mlsd's own blocks, so that an interrupted add keeps whole blocks.
//
// The hook may run Python (a signal handler, a cancel probe), which may call mlsd again, even
// search an IVF index or train another one.  FAISS calls the callback either bare (check(), from
// k-means: the only interrupt points training reaches in FAISS 1.7.3 with mlsd's specs) or under
// its one global mutex (is_interrupted(), from IVF searches and HNSW adds on every OpenMP thread).
// A hook run under that mutex whose Python reached an IVF search would lock it again on the same
// thread, a deadlock.  So the callback answers only in the interrupt scope the train started in:
// a kernel called by the hook's Python runs in a scope of its own (every binding opens one), and
// its FAISS calls never run the hook (it is stopped between mlsd's own blocks, as any search).
thread_local const mlsd::interrupt_scope* t_faiss_scope = nullptr;
thread_local bool t_faiss_interruptible = false;

struct InterruptCallback final : faiss::InterruptCallback {
  bool want_interrupt() override {
    return t_faiss_interruptible && t_faiss_scope == mlsd::current_interrupt_scope() && mlsd::interrupt_requested();
  }
};

class FaissInterruptible {
 public:
  FaissInterruptible() : previous_(t_faiss_interruptible), previous_scope_(t_faiss_scope) {
    t_faiss_interruptible = true;
    t_faiss_scope = mlsd::current_interrupt_scope();
  }
  ~FaissInterruptible() {
    t_faiss_interruptible = previous_;
    t_faiss_scope = previous_scope_;
  }
  FaissInterruptible(const FaissInterruptible&) = delete;
  FaissInterruptible& operator=(const FaissInterruptible&) = delete;

 private:
  bool previous_;
  const mlsd::interrupt_scope* previous_scope_;
};

// A copy of x with unit rows for cosine; otherwise x itself.
std::span<const float> prepare(const Index::Impl& s, std::span<const float> x, std::vector<float>& storage,
                               const char* argument) {
  if (s.metric != Metric::cosine) return x;
  storage.assign(x.begin(), x.end());
  normalize_rows(storage, s.dim, kFn, argument);
  return storage;
}

// Ids of rows that reached the storage at positions first_pos, first_pos + 1, ...
void register_added(Index::Impl& s, std::span<const index_t> ids, index_t first_pos) {
  if (ids.empty()) return;
  s.pos2id.insert(s.pos2id.end(), ids.begin(), ids.end());
  const auto n = static_cast<index_t>(ids.size());
  for (index_t i = 0; i < n; ++i) s.id2pos.emplace(ids[static_cast<std::size_t>(i)], first_pos + i);
  s.n_live += n;
  const index_t max_id = *std::max_element(ids.begin(), ids.end());
  if (max_id >= s.next_id) s.next_id = max_id == std::numeric_limits<index_t>::max() ? max_id : max_id + 1;
}

void check_rows(const Index::Impl& s, std::span<const float> x, const char* argument) {
  MLSD_REQUIRE(x.size() % static_cast<std::size_t>(s.dim) == 0, kFn, argument, " must have ", s.dim, " columns");
  run_in_arena([&] { mlsd::detail::check_finite_rows(x, s.dim, kFn, argument); });
  // Cosine rows reach FAISS as unit vectors; the others as they are.
  if (!s.own_flat && s.metric != Metric::cosine) detail::check_faiss_magnitude(x, s.dim, kFn, argument);
}

}  // namespace

void enable_faiss_interrupts() {
  static std::once_flag installed;
  std::call_once(installed, [] {
    if (!faiss::InterruptCallback::instance) faiss::InterruptCallback::instance.reset(new InterruptCallback);
  });
}

void Index::Impl::make_faiss_index() {
  // Only specs parse_spec accepted reach FAISS (its factory takes degenerate parameters and then
  // aborts); mlsd keeps the ids itself, so no IDMap (see index_impl.hpp).
  faiss::Index* raw = nullptr;
  try {
    raw = faiss::index_factory(static_cast<int>(dim), spec.c_str(), faiss_metric());
  } catch (const faiss::FaissException& e) {
    mlsd::detail::throw_invalid(kFn, "spec ", detail::quote_spec(spec), " was rejected by FAISS: ", e.msg);
  }
  faiss.reset(raw);
  if (metric == Metric::cosine && !cosine_as_l2 && dynamic_cast<const faiss::IndexHNSW*>(core_index(raw))) {
    cosine_as_l2 = true;
    return make_faiss_index();
  }
  // The factory turns on polysemous training for PQ codes unless the spec says "np".  It tunes
  // codes for Hamming-distance pre-filtering, which mlsd never uses, and dominated training time
  // (minutes for a few thousand vectors), so it is off.
  auto* core = const_cast<faiss::Index*>(core_index(raw));
  if (auto* pq = dynamic_cast<faiss::IndexPQ*>(core)) pq->do_polysemous_training = false;
  if (auto* ivfpq = dynamic_cast<faiss::IndexIVFPQ*>(core)) ivfpq->do_polysemous_training = false;
  if (auto* ivf = const_cast<faiss::IndexIVF*>(dynamic_cast<const faiss::IndexIVF*>(core_index(raw)))) {
    // A hash-table direct map reconstructs any position and survives removals: filtered searches
    // over few items read the allowed vectors back (see search()).
    ivf->set_direct_map_type(faiss::DirectMap::Hashtable);
  }
}

void Index::Impl::validate_faiss(const char* function) const {
  // Search and reconstruct index FAISS's arrays without bounds checks; a file whose checksum is
  // valid may still be crafted, so the graph of an HNSW index is checked before it is used.
  const auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(core_index(faiss.get()));
  if (hnsw == nullptr) return;
  const faiss::HNSW& g = hnsw->hnsw;
  const auto n = static_cast<std::size_t>(hnsw->ntotal);
  MLSD_REQUIRE(hnsw->storage != nullptr && hnsw->storage->ntotal == hnsw->ntotal && hnsw->storage->d == hnsw->d,
               function, "HNSW storage does not match the graph");
  MLSD_REQUIRE(g.levels.size() == n && g.offsets.size() == n + 1 && g.offsets.back() == g.neighbors.size(),
               function, "HNSW graph arrays are inconsistent");
  MLSD_REQUIRE(g.entry_point >= -1 && g.entry_point < static_cast<int>(n) && (n == 0 || g.entry_point >= 0) &&
                   g.max_level >= 0 && static_cast<std::size_t>(g.max_level) + 1 < g.cum_nneighbor_per_level.size(),
               function, "HNSW entry point or levels are invalid");
  for (std::size_t i = 0; i < n; ++i) {
    const int level = g.levels[i];
    MLSD_REQUIRE(level >= 1 && level <= g.max_level + 1 && g.offsets[i] <= g.offsets[i + 1] &&
                     g.offsets[i + 1] - g.offsets[i] == static_cast<std::size_t>(g.cum_nneighbor_per_level[level]),
                 function, "HNSW node ", i, " is malformed");
  }
  MLSD_REQUIRE(n == 0 || g.levels[static_cast<std::size_t>(g.entry_point)] == g.max_level + 1, function,
               "HNSW entry point is not on the top level");
  // Every edge on layer l must lead to a node that exists on layer l (the walk follows it there).
  for (std::size_t i = 0; i < n; ++i) {
    for (int layer = 0; layer < g.levels[i]; ++layer) {
      std::size_t begin, end;
      g.neighbor_range(static_cast<faiss::Index::idx_t>(i), layer, &begin, &end);
      for (std::size_t j = begin; j < end; ++j) {
        const int nb = g.neighbors[j];
        MLSD_REQUIRE(nb >= -1 && nb < static_cast<int>(n) && (nb < 0 || g.levels[static_cast<std::size_t>(nb)] > layer),
                     function, "HNSW graph refers to a missing node");
      }
    }
  }
}

void Index::Impl::rebuild_id_map() {
  id2pos.clear();
  id2pos.reserve(static_cast<std::size_t>(n_live));
  for (index_t p = 0; p < static_cast<index_t>(pos2id.size()); ++p) {
    if (pos2id[static_cast<std::size_t>(p)] != -1) id2pos.emplace(pos2id[static_cast<std::size_t>(p)], p);
  }
}

Index::Index(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Index::Index(index_t dim, Metric metric, const std::string& spec, std::span<const float> l2_center)
    : impl_(std::make_unique<Impl>()) {
  MLSD_REQUIRE(dim >= 1 && dim <= (1 << 20), kFn, "dim must be an int in [1, 2**20], got ", dim);
  impl_->dim = dim;
  impl_->metric = metric;
  impl_->spec = spec;
  impl_->parsed = detail::parse_spec(spec, dim, kFn);
  impl_->own_flat = impl_->parsed.kind == detail::Spec::Kind::flat;
  if (!l2_center.empty()) {
    MLSD_REQUIRE(impl_->own_flat && metric == Metric::l2, kFn, "l2_center applies to Flat l2 indexes only");
    MLSD_REQUIRE(static_cast<index_t>(l2_center.size()) == dim, kFn, "l2_center must have dim = ", dim,
                 " entries, got ", l2_center.size());
    run_in_arena([&] { mlsd::detail::check_finite_rows(l2_center, dim, kFn, "l2_center"); });
    impl_->center.assign(l2_center.begin(), l2_center.end());
  }
  if (!impl_->own_flat) impl_->make_faiss_index();
}

void detail::check_new_ids(std::span<const index_t> ids, const FirstPresent& first_present, const char* function) {
  std::vector<index_t> sorted(ids.begin(), ids.end());
  std::sort(sorted.begin(), sorted.end());
  MLSD_REQUIRE(!std::binary_search(sorted.begin(), sorted.end(), index_t{-1}), function,
               "ids must not contain -1 (it marks padding in search results)");
  const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
  MLSD_REQUIRE(dup == sorted.end(), function, "ids contains duplicate id ", dup == sorted.end() ? 0 : *dup);
  if (!first_present) return;
  const std::optional<index_t> present = first_present(sorted);
  MLSD_REQUIRE(!present, function, "id ", present.value_or(0), " is already in the index");
}

void check_new_ids(std::span<const index_t> ids, const Index* index) {
  detail::FirstPresent first_present;
  if (index != nullptr) {
    first_present = [index](std::span<const index_t> sorted) -> std::optional<index_t> {
      if (index->count_present(sorted) == 0) return std::nullopt;
      for (const index_t& id : sorted) {
        if (index->count_present({&id, 1}) != 0) return id;
      }
      return std::nullopt;  // removed meanwhile
    };
  }
  detail::check_new_ids(ids, first_present, kFn);
}

Index::~Index() = default;
Index::Index(Index&&) noexcept = default;
Index& Index::operator=(Index&&) noexcept = default;

index_t Index::dim() const { return impl_->dim; }
Metric Index::metric() const { return impl_->metric; }
const std::string& Index::spec() const { return impl_->spec; }

index_t Index::size() const {
  detail::IndexLock lock(impl_->mutex, detail::IndexLock::shared, "len(Index)");
  return impl_->n_live;
}

bool Index::is_trained() const {
  detail::IndexLock lock(impl_->mutex, detail::IndexLock::shared, "Index.is_trained");
  return impl_->own_flat || impl_->faiss->is_trained;
}

std::string Index::kind() const {
  // From the parsed spec, which never changes (the FAISS object may be replaced under the lock).
  switch (impl_->parsed.kind) {
    case detail::Spec::Kind::flat: return "flat";
    case detail::Spec::Kind::ivf_flat:
    case detail::Spec::Kind::ivf_pq: return "ivf";
    case detail::Spec::Kind::hnsw: return "hnsw";
    default: return "other";
  }
}

void Index::set_l2_center(std::span<const float> center) {
  detail::IndexLock lock(impl_->mutex, detail::IndexLock::exclusive, "Index");
  Impl& s = *impl_;
  MLSD_REQUIRE(s.own_flat && s.metric == Metric::l2 && s.pos2id.empty() &&
                   static_cast<index_t>(center.size()) == s.dim,
               kFn, "l2_center applies to empty Flat l2 indexes, with dim entries");
  s.center.assign(center.begin(), center.end());
}

void Index::adopt_trained_state(Index&& trained) {
  detail::IndexLock lock(impl_->mutex, detail::IndexLock::exclusive, "Index");
  Impl& s = *impl_;
  Impl& t = *trained.impl_;
  MLSD_REQUIRE(!s.own_flat && s.pos2id.empty() && t.pos2id.empty() && t.spec == s.spec && t.dim == s.dim &&
                   t.metric == s.metric,
               kFn, "a trained state is adopted by an empty index of the same spec only");
  s.faiss = std::move(t.faiss);
  s.cosine_as_l2 = t.cosine_as_l2;
}

bool Index::supports_remove() const { return impl_->own_flat || kind() == "ivf"; }

void Index::train(std::span<const float> x) {
  Impl& s = *impl_;
  check_rows(s, x, "training vectors");
  const index_t n = static_cast<index_t>(x.size()) / s.dim;
  MLSD_REQUIRE(n >= 1, kFn, "train needs at least one vector");
  detail::IndexLock lock(s.mutex, detail::IndexLock::exclusive, "Index.train");
  if (s.own_flat) return;
  const index_t needed = s.parsed.min_training_vectors();
  MLSD_REQUIRE(n >= needed, kFn, "spec ", detail::quote_spec(s.spec), " needs at least ", needed,
               " training vectors (one per k-means centroid), got ", n);
  MLSD_REQUIRE(s.n_live == 0 && s.pos2id.empty(), kFn, "train must be called before any vector is added");
  std::vector<float> storage;
  const auto v = prepare(s, x, storage, "training vectors");
  // FAISS's k-means mixes BLAS calls with OpenMP loops.  A threaded OpenBLAS keeps its workers
  // spinning for a while after each call, stealing the cores from the OpenMP team that runs next;
  // on a small machine that made training several times slower.  So BLAS runs on one thread and
  // OpenMP on mlsd's thread count.
  blas::SingleThreaded blas_threads;
  OmpThreads omp_threads(get_num_threads());
  try {
    FaissInterruptible interruptible;  // k-means stops between iterations (enable_faiss_interrupts)
    call_faiss("train", [&] { s.faiss->train(n, v.data()); });
  } catch (...) {
    // k-means stopped part-way leaves the IVF quantizer holding nlist half-trained centroids, which
    // the next train() would keep as they are (FAISS skips a quantizer that has nlist of them); a
    // fresh index from the spec is untrained and whole.
    s.make_faiss_index();
    if (mlsd::interrupt_requested()) throw interrupted();  // FAISS's "computation interrupted"
    throw;
  }
  check_interrupt();
}

void Index::add(std::span<const float> x, std::span<const index_t> ids) {
  Impl& s = *impl_;
  check_rows(s, x, "vectors");
  const index_t n = static_cast<index_t>(x.size()) / s.dim;
  MLSD_REQUIRE(ids.empty() || static_cast<index_t>(ids.size()) == n, kFn, "ids has ", ids.size(),
               " entries but vectors has ", n, " rows");
  detail::IndexLock lock(s.mutex, detail::IndexLock::exclusive, "Index.add");
  MLSD_REQUIRE(s.own_flat || s.faiss->is_trained, kFn, "index with spec ", detail::quote_spec(s.spec),
               " must be trained before vectors are added: call train() first");
  if (n == 0) return;

  std::vector<index_t> new_ids;
  if (ids.empty()) {
    MLSD_REQUIRE(s.next_id <= std::numeric_limits<index_t>::max() - n, kFn,
                 "automatic ids would overflow int64; pass ids");
    new_ids.resize(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) new_ids[static_cast<std::size_t>(i)] = s.next_id + i;
  } else {
    new_ids.assign(ids.begin(), ids.end());
  }
  // Check every id before changing anything, so a rejected batch leaves the index as it was.
  detail::check_new_ids(
      new_ids,
      [&s](std::span<const index_t> sorted) -> std::optional<index_t> {
        for (index_t id : sorted) {
          if (s.id2pos.contains(id)) return id;
        }
        return std::nullopt;
      },
      kFn);
  std::vector<float> storage;
  const auto v = prepare(s, x, storage, "vectors");
  const index_t first_pos = static_cast<index_t>(s.pos2id.size());

  if (s.own_flat) {
    s.vectors.insert(s.vectors.end(), v.begin(), v.end());
    if (s.metric == Metric::l2) {
      if (s.center.empty()) s.center = detail::column_mean(v, s.dim);
      s.sqnorms.resize(static_cast<std::size_t>(first_pos + n));
      run_in_arena([&] {
        const auto sq = detail::centred_sqnorms(v, s.dim, s.center);
        std::copy(sq.begin(), sq.end(), s.sqnorms.begin() + first_pos);
      });
    }
  } else {
    OmpThreads omp_threads(get_num_threads());
    blas::SingleThreaded blas_threads;
    const bool ivf = kind() == "ivf";
    std::vector<faiss::Index::idx_t> positions(ivf ? static_cast<std::size_t>(n) : 0);
    for (index_t i = 0; ivf && i < n; ++i) positions[static_cast<std::size_t>(i)] = first_pos + i;
    // FAISS has no hook for Ctrl-C, so rows go in by blocks with a check between blocks (an HNSW
    // graph build takes seconds per block of 10,000 at most).  An interrupted add keeps the
    // blocks added so far, consistently: their ids are registered below, then the interrupt
    // propagates.  (IVF and PQ add rows independently; HNSW inserts each block's rows by level.)
    constexpr index_t kAddBlock = 10'000;
    index_t done = 0;
    try {
      while (done < n) {
        if (done > 0) check_interrupt();
        const index_t m = std::min(kAddBlock, n - done);
        const float* rows = v.data() + done * s.dim;
        if (ivf) {
          call_faiss("add", [&] { s.faiss->add_with_ids(m, rows, positions.data() + done); });
        } else {
          // FAISS numbers these indexes' items 0, 1, ...; without removal that is the position.
          call_faiss("add", [&] { s.faiss->add(m, rows); });
        }
        done += m;
      }
    } catch (...) {
      // Ctrl-C, or an error from FAISS in a later block: the blocks already in FAISS get their ids,
      // so FAISS's numbering and mlsd's positions stay in step.
      register_added(s, std::span<const index_t>(new_ids).first(static_cast<std::size_t>(done)), first_pos);
      throw;
    }
  }
  register_added(s, new_ids, first_pos);
}

index_t Index::remove(std::span<const index_t> ids) {
  Impl& s = *impl_;
  MLSD_REQUIRE(supports_remove(), kFn, "spec ", detail::quote_spec(s.spec), " does not support removing items");
  detail::IndexLock lock(s.mutex, detail::IndexLock::exclusive, "Index.remove");
  std::vector<index_t> positions;
  for (index_t id : ids) {
    auto it = s.id2pos.find(id);
    if (it == s.id2pos.end()) continue;
    positions.push_back(it->second);
    s.id2pos.erase(it);
  }
  if (positions.empty()) return 0;
  std::sort(positions.begin(), positions.end());
  for (index_t p : positions) s.pos2id[static_cast<std::size_t>(p)] = -1;
  s.n_live -= static_cast<index_t>(positions.size());

  if (s.own_flat) {
    // Compact: positions stay equal to rows.
    index_t w = 0;
    const std::size_t d = static_cast<std::size_t>(s.dim);
    for (index_t p = 0; p < static_cast<index_t>(s.pos2id.size()); ++p) {
      if (s.pos2id[static_cast<std::size_t>(p)] == -1) continue;
      if (w != p) {
        std::copy_n(s.vectors.begin() + static_cast<std::ptrdiff_t>(p * s.dim), d,
                    s.vectors.begin() + static_cast<std::ptrdiff_t>(w * s.dim));
        if (!s.sqnorms.empty()) s.sqnorms[static_cast<std::size_t>(w)] = s.sqnorms[static_cast<std::size_t>(p)];
        s.pos2id[static_cast<std::size_t>(w)] = s.pos2id[static_cast<std::size_t>(p)];
      }
      ++w;
    }
    s.vectors.resize(static_cast<std::size_t>(w) * d);
    if (!s.sqnorms.empty()) s.sqnorms.resize(static_cast<std::size_t>(w));
    s.pos2id.resize(static_cast<std::size_t>(w));
    s.rebuild_id_map();
  } else {
    std::vector<faiss::Index::idx_t> sel_ids(positions.begin(), positions.end());
    faiss::IDSelectorArray sel(sel_ids.size(), sel_ids.data());
    OmpThreads omp_threads(get_num_threads());
    call_faiss("remove", [&] { s.faiss->remove_ids(sel); });
  }
  return static_cast<index_t>(positions.size());
}

std::vector<index_t> Index::ids() const {
  detail::IndexLock lock(impl_->mutex, detail::IndexLock::shared, "Index.ids");
  std::vector<index_t> out;
  out.reserve(static_cast<std::size_t>(impl_->n_live));
  for (index_t id : impl_->pos2id) {
    if (id != -1) out.push_back(id);
  }
  return out;
}

index_t Index::count_present(std::span<const index_t> ids) const {
  detail::IndexLock lock(impl_->mutex, detail::IndexLock::shared, "Index.add");
  index_t n = 0;
  for (index_t id : ids) n += impl_->id2pos.contains(id) ? 1 : 0;
  return n;
}

index_t Index::next_id() const {
  detail::IndexLock lock(impl_->mutex, detail::IndexLock::shared, "Index.next_id");
  return impl_->next_id;
}

std::pair<std::vector<std::uint8_t>, index_t> Index::Impl::allow_bits(const Allow& allow) const {
  std::vector<std::uint8_t> bits((pos2id.size() + 7) / 8, 0);
  index_t count = 0;
  auto set = [&](index_t p) {
    const std::uint8_t m = static_cast<std::uint8_t>(1u << (p & 7));
    std::uint8_t& b = bits[static_cast<std::size_t>(p >> 3)];
    if ((b & m) == 0) ++count;
    b |= m;
  };
  if (!allow.mask.empty()) {
    MLSD_REQUIRE(static_cast<index_t>(allow.mask.size()) == n_live, kFn, "allow mask has ", allow.mask.size(),
                 " entries but the index holds ", n_live, " items");
    index_t row = 0;
    for (index_t p = 0; p < static_cast<index_t>(pos2id.size()); ++p) {
      if (pos2id[static_cast<std::size_t>(p)] == -1) continue;
      if (allow.mask[static_cast<std::size_t>(row++)] != 0) set(p);
    }
  } else {
    for (index_t id : allow.ids) {
      auto it = id2pos.find(id);
      if (it != id2pos.end()) set(it->second);
    }
  }
  return {std::move(bits), count};
}

std::vector<float> Index::vectors() const {
  detail::IndexLock lock(impl_->mutex, detail::IndexLock::shared, "Index.vectors");
  const Impl& s = *impl_;
  if (s.own_flat) {
    return s.vectors;
  }
  std::vector<float> out(static_cast<std::size_t>(s.n_live * s.dim));
  index_t row = 0;
  call_faiss("reconstruct", [&] {
    for (index_t p = 0; p < static_cast<index_t>(s.pos2id.size()); ++p) {
      if (s.pos2id[static_cast<std::size_t>(p)] == -1) continue;
      s.faiss->reconstruct(p, out.data() + (row++) * s.dim);
    }
  });
  return out;
}

TopK Index::search(std::span<const float> queries, index_t k, const SearchParams& params,
                   const Allow& allow_spec) const {
  const Impl& s = *impl_;
  check_rows(s, queries, "queries");
  MLSD_REQUIRE(k >= 1, kFn, "k must be >= 1, got ", k);
  detail::IndexLock lock(s.mutex, detail::IndexLock::shared, "Index.search");
  MLSD_REQUIRE(s.own_flat || s.faiss->is_trained, kFn, "index with spec ", detail::quote_spec(s.spec),
               " is not trained: call train() and add() before searching");
  MLSD_REQUIRE(s.n_live > 0, kFn, "the index is empty: add() vectors before searching");
  const std::string kind_name = kind();
  MLSD_REQUIRE(!params.nprobe || kind_name == "ivf", kFn, "nprobe applies to IVF indexes, not spec ", detail::quote_spec(s.spec));
  MLSD_REQUIRE(!params.ef_search || kind_name == "hnsw", kFn, "efSearch applies to HNSW indexes, not spec ",
               detail::quote_spec(s.spec));
  MLSD_REQUIRE(!params.nprobe || *params.nprobe >= 1, kFn, "nprobe must be >= 1, got ", *params.nprobe);
  MLSD_REQUIRE(!params.ef_search || *params.ef_search >= 1, kFn, "efSearch must be >= 1, got ", *params.ef_search);

  std::vector<float> storage;
  auto q = prepare(s, queries, storage, "queries");
  const index_t nq = static_cast<index_t>(q.size()) / s.dim;
  const Metric kernel_metric = s.metric == Metric::l2 ? Metric::l2 : Metric::inner_product;
  std::vector<std::uint8_t> bits;
  index_t n_allowed = -1;
  if (allow_spec.active) std::tie(bits, n_allowed) = s.allow_bits(allow_spec);
  const AllowBits allow = allow_spec.active ? AllowBits(bits) : AllowBits();

  if (s.own_flat) {
    return detail::knn_rows(q, s.vectors, s.dim, k, kernel_metric, s.pos2id, allow, s.sqnorms, s.center);
  }

  // A selective filter, or an index that takes no selector: score the allowed items' stored
  // vectors exactly.  Graph and list traversals find few allowed items when most are filtered out.
  const bool takes_selector = kind_name == "ivf" || kind_name == "hnsw";
  if (!allow.empty() && (!takes_selector || n_allowed * 20 <= s.n_live || n_allowed <= 4096)) {
    std::vector<float> sub(static_cast<std::size_t>(n_allowed * s.dim));
    std::vector<index_t> sub_ids(static_cast<std::size_t>(n_allowed));
    index_t j = 0;
    call_faiss("reconstruct", [&] {
      for (index_t p = 0; p < static_cast<index_t>(s.pos2id.size()); ++p) {
        if (!allowed(allow, p)) continue;
        s.faiss->reconstruct(p, sub.data() + j * s.dim);
        sub_ids[static_cast<std::size_t>(j++)] = s.pos2id[static_cast<std::size_t>(p)];
      }
    });
    if (s.metric == Metric::l2) return knn(q, sub, s.dim, k, kernel_metric, sub_ids);  // centres
    return detail::knn_rows(q, sub, s.dim, k, kernel_metric, sub_ids, {}, {}, {});
  }

  // FAISS search with per-call parameters; shared index state is never modified.
  TopK out;
  const faiss::Index* core = core_index(s.faiss.get());
  if (auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(core)) {
    std::span<const float> hq = q;
    std::unique_ptr<float[]> transformed;
    if (core != s.faiss.get()) {  // e.g. "PCA32,HNSW32": transform the queries first
      MLSD_REQUIRE(core_index(s.faiss.get()) == hnsw && dynamic_cast<const faiss::IndexPreTransform*>(s.faiss.get())->index == hnsw,
                   kFn, "nested transforms around HNSW are not supported");
      const auto* pt = dynamic_cast<const faiss::IndexPreTransform*>(s.faiss.get());
      const float* xt = pt->apply_chain(nq, q.data());
      if (xt != q.data()) transformed.reset(const_cast<float*>(xt));
      hq = std::span<const float>(xt, static_cast<std::size_t>(nq * hnsw->d));
    }
    out = detail::hnsw_search(*hnsw, hq, k, params.ef_search.value_or(hnsw->hnsw.efSearch), allow);
    if (s.cosine_as_l2) {
      for (float& v : out.scores) v = 1.0f - 0.5f * v;  // |a - b|^2 = 2 - 2 cos for unit vectors
    }
  } else {
    std::unique_ptr<faiss::IDSelectorBitmap> sel;
    if (!allow.empty()) sel = std::make_unique<faiss::IDSelectorBitmap>(allow.size(), allow.data());
    faiss::SearchParametersIVF ivf_params;
    faiss::SearchParameters* inner = nullptr;
    if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(core)) {
      ivf_params.nprobe = static_cast<std::size_t>(params.nprobe.value_or(static_cast<int>(ivf->nprobe)));
      ivf_params.sel = sel.get();
      inner = &ivf_params;
    }
    faiss::SearchParametersPreTransform pt_params;
    const faiss::SearchParameters* top = inner;
    if (inner != nullptr && core != s.faiss.get()) {
      pt_params.index_params = inner;
      top = &pt_params;
    }
    out.n_queries = nq;
    out.k = k;
    out.scores.resize(static_cast<std::size_t>(nq * k));
    std::vector<faiss::Index::idx_t> labels(static_cast<std::size_t>(nq * k));
    {
      OmpThreads omp_threads(params.threads > 0 ? params.threads : get_num_threads());
      blas::SingleThreaded blas_threads;
      // In blocks of FAISS's own BLAS query block (so the results are those of one call), with a
      // check for Ctrl-C between blocks; a tail below FAISS's BLAS threshold stays with the block
      // before it, which one call would also have searched with BLAS.
      const index_t block = std::max<index_t>(faiss::distance_compute_blas_query_bs, 1);
      const index_t tail = std::max<index_t>(faiss::distance_compute_blas_threshold, 0);
      for (index_t q0 = 0; q0 < nq;) {
        check_interrupt();
        const index_t m = nq - q0 < block + tail ? nq - q0 : block;
        call_faiss("search", [&] {
          s.faiss->search(m, q.data() + q0 * s.dim, k, out.scores.data() + q0 * k, labels.data() + q0 * k, top);
        });
        q0 += m;
      }
    }
    out.ids.assign(labels.begin(), labels.end());
  }
  const bool l2 = s.metric == Metric::l2;
  const float pad = l2 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < out.ids.size(); ++i) {
    const index_t p = out.ids[i];
    const bool valid = p >= 0 && p < static_cast<index_t>(s.pos2id.size()) && s.pos2id[static_cast<std::size_t>(p)] != -1;
    out.ids[i] = valid ? s.pos2id[static_cast<std::size_t>(p)] : -1;
    if (!valid) out.scores[i] = pad;
  }
  return out;
}

}  // namespace mlsd::retrieval
