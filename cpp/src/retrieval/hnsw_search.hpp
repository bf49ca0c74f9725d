// Search over a FAISS HNSW graph with per-call parameters.
//
// FAISS 1.7.3 sizes the candidate queue from the index's own efSearch field even when
// SearchParametersHNSW asks for another value (HNSW::search: `ef = max(efSearch, k)` reads the
// member), so a per-call efSearch has no effect there.  This search walks the same graph, with
// the candidate list, the filter and the threads (oneTBB) under mlsd's control; nothing in the
// index is modified, so concurrent searches with different parameters are safe.
#pragma once

#include <faiss/IndexHNSW.h>

#include "mlsd/retrieval.hpp"

namespace mlsd::retrieval::detail {

// Top-k positions (FAISS's item numbers) per query, best first, scores in the index's metric
// (inner product or squared L2).  Only items allowed by `allow` (a bitmap over positions; empty:
// all) enter the results; the graph walk goes through every node, and continues until ef allowed
// candidates are held, as hnswlib does for filters.
TopK hnsw_search(const faiss::IndexHNSW& index, std::span<const float> queries, index_t k, int ef,
                 AllowBits allow);

}  // namespace mlsd::retrieval::detail
