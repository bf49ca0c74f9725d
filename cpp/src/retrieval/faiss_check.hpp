// Structural check of a stored FAISS index before FAISS reads it.
//
// faiss::read_index trusts its input: a product quantizer with M = 0 divides by zero while it is
// read, a centroid table shorter than d * 2^nbits is read past its end when tables are
// precomputed, and inverted-list ids or direct-map entries that point nowhere crash the first
// search.  A file's checksum stops accidents, not crafted files.  So the bytes are walked first,
// in the layout FAISS 1.7.3 writes for the kinds spec.hpp allows, and every size, id, list number,
// code size and quantizer parameter is checked against the spec, the file header and each other;
// FAISS then reads only what was checked (and never fails part-way, so nothing is leaked).
#pragma once

#include <cstdint>
#include <span>

#include "mlsd/retrieval.hpp"
#include "spec.hpp"

namespace mlsd::retrieval::detail {

struct StoredIndex {
  const Spec& spec;
  index_t dim;
  bool l2;                              // FAISS metric: L2 (else inner product)
  std::span<const index_t> positions;   // pos2id of the file: FAISS ids are positions, -1 removed
  index_t n_live;                       // FAISS's ntotal
};

// Throws mlsd::invalid_argument (function "Index.load") unless blob is a FAISS index of exactly
// this shape whose every part is consistent.
void check_faiss_blob(std::span<const std::uint8_t> blob, const StoredIndex& expected);

}  // namespace mlsd::retrieval::detail
