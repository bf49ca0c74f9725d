// Top-k bookkeeping shared by the exact kernel and the shard merge.
//
// Candidates compare by a "key" where larger is better (the inner product, or minus the distance),
// ties broken by the smaller id.  A heap of size k keeps the worst kept candidate at its root, so
// a new candidate costs one comparison unless it enters the top-k.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <span>

#include "mlsd/common/views.hpp"

namespace mlsd::retrieval::detail {

struct Candidate {
  float key;
  index_t id;
  index_t row = 0;  // where the exact kernel found it, for rescoring; -1: an empty slot
};

// Ids of empty heap slots: larger than any real id, so real candidates always win ties with them.
inline constexpr index_t kEmptyId = std::numeric_limits<index_t>::max();
inline constexpr float kWorstKey = -std::numeric_limits<float>::infinity();

inline bool better(const Candidate& a, const Candidate& b) {
  return a.key > b.key || (a.key == b.key && a.id < b.id);
}

// A min-heap (by `better`) over k slots owned by the caller.
class TopKHeap {
 public:
  explicit TopKHeap(std::span<Candidate> slots) : h_(slots) {}

  void reset() { std::fill(h_.begin(), h_.end(), Candidate{kWorstKey, kEmptyId, -1}); }

  // The key a candidate must reach to be considered.
  float threshold() const { return h_[0].key; }

  void push(Candidate c) {
    if (!better(c, h_[0])) return;
    // Replace the root and sift down.
    const std::size_t n = h_.size();
    std::size_t i = 0;
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && better(h_[child], h_[child + 1])) ++child;  // the worse child
      if (!better(c, h_[child])) break;
      h_[i] = h_[child];
      i = child;
    }
    h_[i] = c;
  }

  // Sorts the slots best first (destroys the heap order).
  void sort_best_first() { std::sort(h_.begin(), h_.end(), better); }

 private:
  std::span<Candidate> h_;
};

}  // namespace mlsd::retrieval::detail
