// Data layouts used across mlsd.
//
// Dense arrays are contiguous, row-major, and passed as std::span.  Ragged data (ranked lists per
// query, rows per user group) is CSR: `indptr` of length n_groups + 1 (int64, non-decreasing,
// indptr[0] == 0) indexing flat value arrays.  Sizes and counts are int64.
#pragma once

#include <cstdint>
#include <span>

namespace mlsd {

using index_t = std::int64_t;

struct CsrView {
  std::span<const index_t> indptr;  // n_groups + 1 offsets into the flat arrays
  index_t n_groups() const { return indptr.empty() ? 0 : static_cast<index_t>(indptr.size()) - 1; }
};

}  // namespace mlsd
