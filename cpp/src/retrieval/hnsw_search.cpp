#include "hnsw_search.hpp"

#include <algorithm>
#include <functional>
#include <limits>
#include <memory>
#include <queue>
#include <vector>

#include <faiss/IndexFlat.h>
#include <faiss/impl/DistanceComputer.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include "distances.hpp"
#include "mlsd/common/parallel.hpp"

namespace mlsd::retrieval::detail {
namespace {

using Node = std::pair<float, int>;  // (distance, position): smaller distance is better

// Per-thread "visited" marks: a generation number per node, so nothing is cleared between queries.
struct Visited {
  std::vector<std::uint32_t> mark;
  std::uint32_t generation = 0;
  void next_query(std::size_t n) {
    if (mark.size() != n) {
      mark.assign(n, 0);
      generation = 0;
    }
    if (++generation == 0) {  // wrapped around
      std::fill(mark.begin(), mark.end(), 0);
      generation = 1;
    }
  }
  bool visit(int i) {
    if (mark[static_cast<std::size_t>(i)] == generation) return false;
    mark[static_cast<std::size_t>(i)] = generation;
    return true;
  }
};

class Searcher {
 public:
  Searcher(const faiss::IndexHNSW& index, AllowBits allow)
      : hnsw_(index.hnsw), negate_(index.metric_type == faiss::METRIC_INNER_PRODUCT), allow_(allow), d_(index.d) {
    // Flat storage (HNSW32, HNSW32,Flat): read the vectors directly with mlsd's SIMD distances.
    // Other storages (PQ, SQ codes) decode through FAISS's distance computer.
    if (auto* flat = dynamic_cast<const faiss::IndexFlat*>(index.storage)) {
      xb_ = flat->get_xb();
      fn_ = negate_ ? inner_product_fn() : l2sqr_fn();
    } else {
      dis_.reset(index.storage->get_distance_computer());
    }
  }

  // Fills best-first (distance, position) pairs for one query.
  void search(const float* query, index_t k, int ef, Visited& visited, std::vector<Node>& result) {
    result.clear();
    if (hnsw_.entry_point < 0) return;
    query_ = query;
    if (dis_) dis_->set_query(query);
    int current = hnsw_.entry_point;
    float d_current = distance(current);
    for (int level = hnsw_.max_level; level >= 1; --level) {  // greedy descent
      for (bool moved = true; moved;) {
        moved = false;
        std::size_t begin, end;
        hnsw_.neighbor_range(current, level, &begin, &end);
        for (std::size_t j = begin; j < end; ++j) {
          const int nb = hnsw_.neighbors[j];
          if (nb < 0) break;
          const float d = distance(nb);
          if (d < d_current) {
            current = nb;
            d_current = d;
            moved = true;
          }
        }
      }
    }

    // Beam search on level 0: `candidates` to expand (closest first), `top` the ef best allowed.
    const std::size_t width = static_cast<std::size_t>(std::max<index_t>(ef, k));
    std::priority_queue<Node, std::vector<Node>, std::greater<Node>> candidates;
    std::priority_queue<Node> top;
    visited.next_query(static_cast<std::size_t>(hnsw_.levels.size()));
    visited.visit(current);
    candidates.emplace(d_current, current);
    if (allowed(current)) top.emplace(d_current, current);
    while (!candidates.empty()) {
      const Node c = candidates.top();
      if (top.size() >= width && c.first > top.top().first) break;
      candidates.pop();
      std::size_t begin, end;
      hnsw_.neighbor_range(c.second, 0, &begin, &end);
      // Collect the unvisited neighbours first and prefetch their vectors, so that the memory
      // loads overlap instead of stalling one distance at a time (graph walks are memory-bound).
      fresh_.clear();
      for (std::size_t j = begin; j < end; ++j) {
        const int nb = hnsw_.neighbors[j];
        if (nb < 0) break;
        if (!visited.visit(nb)) continue;
        fresh_.push_back(nb);
        prefetch(nb);
      }
      for (const int nb : fresh_) {
        const float d = distance(nb);
        if (top.size() < width || d < top.top().first) {
          candidates.emplace(d, nb);
          if (allowed(nb)) {
            top.emplace(d, nb);
            if (top.size() > width) top.pop();
          }
        }
      }
    }
    while (top.size() > static_cast<std::size_t>(k)) top.pop();
    result.resize(top.size());
    for (std::size_t i = result.size(); i-- > 0;) {
      result[i] = top.top();
      top.pop();
    }
  }

  float score(float distance) const { return negate_ ? -distance : distance; }

 private:
  void prefetch(int i) const {
    if (xb_ == nullptr) return;
    const char* p = reinterpret_cast<const char*>(xb_ + static_cast<std::size_t>(i) * d_);
    for (std::size_t off = 0; off < d_ * sizeof(float); off += 64) __builtin_prefetch(p + off);
  }

  float distance(int i) {
    const float d = xb_ != nullptr ? fn_(query_, xb_ + static_cast<std::size_t>(i) * d_, d_) : (*dis_)(i);
    return negate_ ? -d : d;  // inner product: larger is better, so search on its negative
  }
  bool allowed(int i) const { return retrieval::allowed(allow_, i); }

  const faiss::HNSW& hnsw_;
  bool negate_;
  AllowBits allow_;
  std::size_t d_;
  const float* xb_ = nullptr;
  DistanceFn fn_ = nullptr;
  std::unique_ptr<faiss::DistanceComputer> dis_;
  const float* query_ = nullptr;
  std::vector<int> fresh_;
};

}  // namespace

TopK hnsw_search(const faiss::IndexHNSW& index, std::span<const float> queries, index_t k, int ef,
                 AllowBits allow) {
  const index_t d = index.d;
  const index_t nq = static_cast<index_t>(queries.size()) / d;
  TopK out;
  out.n_queries = nq;
  out.k = k;
  out.scores.resize(static_cast<std::size_t>(nq * k));
  out.ids.resize(static_cast<std::size_t>(nq * k));
  const float pad = index.metric_type == faiss::METRIC_INNER_PRODUCT ? -std::numeric_limits<float>::infinity()
                                                                     : std::numeric_limits<float>::infinity();
  tbb::enumerable_thread_specific<Visited> visited;
  run_in_arena([&] {
    tbb::parallel_for(tbb::blocked_range<index_t>(0, nq, 8), [&](const auto& r) {
      Searcher searcher(index, allow);
      Visited& v = visited.local();
      std::vector<Node> result;
      check_interrupt();
      for (index_t q = r.begin(); q != r.end(); ++q) {
        searcher.search(queries.data() + q * d, k, ef, v, result);
        for (index_t j = 0; j < k; ++j) {
          const bool has = j < static_cast<index_t>(result.size());
          out.scores[static_cast<std::size_t>(q * k + j)] =
              has ? searcher.score(result[static_cast<std::size_t>(j)].first) : pad;
          out.ids[static_cast<std::size_t>(q * k + j)] = has ? result[static_cast<std::size_t>(j)].second : -1;
        }
      }
    });
  });
  return out;
}

}  // namespace mlsd::retrieval::detail
