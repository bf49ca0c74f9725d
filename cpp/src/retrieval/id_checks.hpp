// The rule for ids entering an index, written once: Index::add, ShardedIndex::add and the public
// check_new_ids (which the Python layers and mlsd.dask call) all run it.
#pragma once

#include <functional>
#include <optional>
#include <span>

#include "mlsd/retrieval.hpp"

namespace mlsd::retrieval::detail {

// The first (smallest) of the ascending, distinct ids that the index already holds, if any.
using FirstPresent = std::function<std::optional<index_t>(std::span<const index_t> sorted_ids)>;

// Throws std::invalid_argument (messages start with function) unless ids contains no -1, no
// duplicate and (first_present given) no id already present, checked in that order, each
// reporting its smallest offending id.  Changes nothing, so a rejected batch leaves every index
// as it was.
void check_new_ids(std::span<const index_t> ids, const FirstPresent& first_present, const char* function);

}  // namespace mlsd::retrieval::detail
