// The exact kernel without the public entry's checks and centring, for callers that prepared the
// data themselves (Index stores l2 vectors centred, see index_impl.hpp).
#pragma once

#include <vector>

#include "mlsd/retrieval.hpp"

namespace mlsd::retrieval::detail {

// The mean of the rows of x (n rows of dimension d), accumulated in double; zeros when n == 0.
// The point l2 data are centred on (see knn and Index::Impl::center).
std::vector<float> column_mean(std::span<const float> x, index_t d);

// out = x minus center in every row (rows of dimension center.size()), in parallel; out may be
// x itself.  Call inside an arena.  Index (stored items, queries) and knn (both sides) centre l2
// data with it.
void subtract_center(std::span<const float> x, std::span<const float> center, std::span<float> out);

// |x - center|^2 per row of x in float32, x - center rounded to float32 first, exactly as the
// l2 scan centres an item tile (no centre: |x|^2).  Call inside an arena.  The kernel's |x|^2
// term: Index keeps one per stored item.
std::vector<float> centred_sqnorms(std::span<const float> x, index_t d, std::span<const float> center);

// Exact top-k of queries over items as given.  For l2, item_sqnorms (optional) are
// |item - center|^2 computed as the kernel's squared_norms does, and a non-empty center is the
// point both sides are centred on for the float32 scan (the reported distances are those of the
// vectors as given, in double precision, whatever the centre).
TopK knn_rows(std::span<const float> queries, std::span<const float> items, index_t d, index_t k, Metric metric,
              std::span<const index_t> ids, AllowBits allow, std::span<const float> item_sqnorms,
              std::span<const float> center);

}  // namespace mlsd::retrieval::detail
