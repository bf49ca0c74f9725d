// mlsd::features: point-in-time correct training data.
//
// Data layout (stated once for the family): a table is a set of parallel columns of one length;
// entity keys arrive as int64 codes (equal codes <=> equal keys; any value < 0 is a null key that
// never matches), times as int64 in one unit shared by every table of a call.  Row numbers and
// permutations are int64.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "mlsd/common/views.hpp"

namespace mlsd::features {

// The stable permutation that orders rows by (code, time[, tie]) compared as signed int64; rows that
// are equal on all of them keep their input order.  An LSD radix sort (no comparison sort): the
// fields are packed into one 64-bit key when their ranges fit, else sorted field by field from the
// least significant.  Parallel with oneTBB inside the caller's arena; the result does not depend on
// the thread count.  `tie` may be empty.
buffer<index_t> sort_order(std::span<const std::int64_t> codes, std::span<const std::int64_t> times,
                           std::span<const std::int64_t> tie = {});

// sort_order inside an arena sized by mlsd::get_num_threads() (for callers outside a kernel).
buffer<index_t> sort_order_in_arena(std::span<const std::int64_t> codes, std::span<const std::int64_t> times,
                                    std::span<const std::int64_t> tie = {});

struct AsofOptions {
  bool allow_exact_matches = true;  // feature times equal to the event time match (<=), else <
  bool has_ttl = false;
  std::int64_t ttl = 0;  // with has_ttl: event time - feature time <= ttl (>= 0)
};

// Point-in-time (as-of) match: for each spine row i, the feature row that the event at
// (spine_codes[i], spine_times[i]) sees, or -1.  A feature row is visible when it has the same code,
// its time is <= the event time (< without exact matches) and, when `created` is given (same
// length as feature_times), it was also created by then (same comparison).  Among visible rows the
// latest time wins, then the latest creation time, then the last row (pandas.merge_asof's rule);
// with a ttl the winner must be at most ttl older than the event, else -1.
buffer<index_t> asof_match(std::span<const std::int64_t> spine_codes, std::span<const std::int64_t> spine_times,
                           std::span<const std::int64_t> feature_codes, std::span<const std::int64_t> feature_times,
                           std::span<const std::int64_t> created, const AsofOptions& options);

// One column of a take_rows: `size` elements of `width` bytes (1, 2, 4 or 8) at `data`; `fill`'s
// low `width` bytes stand for a missing row (0, or NaT's bits for datetimes).
struct TakeColumn {
  const void* data = nullptr;
  std::int64_t size = 0;
  int width = 8;
  std::uint64_t fill = 0;
};

// For each column, the elements at `rows` (row < 0: the column's fill), rows.size() * width bytes:
// the gather of a join's matched feature rows, all columns in one parallel pass over the rows, in
// an arena sized by mlsd::get_num_threads().  Throws when a row is >= a column's size.
std::vector<buffer<std::uint8_t>> take_rows(std::span<const index_t> rows, std::span<const TakeColumn> columns);

}  // namespace mlsd::features
