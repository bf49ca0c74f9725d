// State of a retrieval::Index, shared by index.cpp (build and search) and io.cpp (files).
//
// Items live at internal "positions" 0, 1, 2, ...: rows of mlsd's own Flat storage, or the ids
// stored inside the FAISS index (mlsd keeps the external ids itself, since FAISS 1.7.3's IndexIDMap
// accepts no search parameters).  pos2id maps a position to its external id, -1 once removed.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <faiss/Index.h>

#include "mlsd/retrieval.hpp"
#include "spec.hpp"

namespace mlsd::retrieval {

struct Index::Impl {
  index_t dim = 0;
  Metric metric = Metric::inner_product;
  std::string spec;
  detail::Spec parsed;  // spec, checked (see spec.hpp)

  // Exactly one of the two storages is used: own_flat for spec "Flat", else a FAISS index.
  bool own_flat = true;
  std::vector<float> vectors;  // own_flat: (n positions, dim), compacted on remove
  std::vector<float> sqnorms;  // own_flat with l2: |x - center|^2 per position (centred_sqnorms)
  // own_flat with l2: the exact kernel's float32 scan centres queries and items on this point (the
  // mean of the first batch), so that the |x|^2 - 2<q, x> form of the distance keeps its precision
  // for data far from the origin.  Vectors are stored as added; distances are theirs.
  std::vector<float> center;
  std::unique_ptr<faiss::Index> faiss;

  std::vector<index_t> pos2id;
  std::unordered_map<index_t, index_t> id2pos;
  index_t n_live = 0;
  index_t next_id = 0;  // the first automatic id

  mutable std::shared_mutex mutex;

  // HNSW over cosine is built on L2 distances of the unit vectors (same order, 2 - 2 cos):
  // FAISS builds inner-product HNSW graphs several times slower than L2 ones.
  bool cosine_as_l2 = false;

  faiss::MetricType faiss_metric() const {
    return metric == Metric::l2 || cosine_as_l2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
  }
  // Builds an empty FAISS index for spec (throws std::invalid_argument for a bad spec).
  void make_faiss_index();
  void rebuild_id_map();
  // Allowed positions as a bitmap (FAISS IDSelectorBitmap layout) and their count; caller holds
  // the lock.
  std::pair<std::vector<std::uint8_t>, index_t> allow_bits(const Allow& allow) const;
  // Throws unless the FAISS index's internal structure is consistent (files can be crafted).
  void validate_faiss(const char* function) const;
};

}  // namespace mlsd::retrieval
