// The exact kernel without the public entry's checks and centring, for callers that prepared the
// data themselves (Index stores l2 vectors centred, see index_impl.hpp).
#pragma once

#include "mlsd/retrieval.hpp"

namespace mlsd::retrieval::detail {

TopK knn_rows(std::span<const float> queries, std::span<const float> items, index_t d, index_t k, Metric metric,
              std::span<const index_t> ids, AllowBits allow, std::span<const float> item_sqnorms);

}  // namespace mlsd::retrieval::detail
