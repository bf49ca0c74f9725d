// mlsd::features — sliding time-window aggregations per entity (the window half of the family).
//
// Data layout, stated once: events are n rows of (entity code, time, k value columns), queries are
// m rows of (entity code, time); entity codes and times are int64 (the Python layer encodes keys
// and converts datetimes to integer ticks; windows are in the same ticks).  A negative entity code
// is a missing key: such events are in no frame and such queries get empty frames.  Each table comes with
// its sort order: `order[i]` is the row that is i-th when the table is sorted by (entity, time),
// ties kept in row order (a stable sort).  Value columns are doubles; NaN marks a missing value
// and is skipped by every aggregate (as pandas' rolling does); +-inf is rejected.
//
// For a query (e, t) and a window w the frame is the events of entity e with time in
//   closed = left: [t - w, t)   right: (t - w, t]   both: [t - w, t]   neither: (t - w, t)
// (pandas' `closed` names).  Frames are defined by time values, not by row positions, so every
// event at a given timestamp is in or out together.  count is the number of non-NaN values;
// sum, mean, min, max and last (the non-NaN value of the latest event; among events at one time,
// the last in row order) are NaN when that count is 0.
//
// Every sum is the exact sum of its frame rounded once (as math.fsum; +-inf beyond the doubles),
// every mean that sum over the count.
//
// Cost: with orders given, the events and queries of one entity are walked once per value column
// with monotone pointers (one per window), compensated running sums (summed again exactly, by the
// one exact summation of features/exact_sum.hpp, where they cannot show their value is the exact
// sum rounded once: rare but for huge values cancelling or sums at a midpoint between two doubles)
// and monotonic deques for min and max, so the whole call is O((n + m) k W) after the sort; the
// rows, written in sorted order, are then moved to the caller's.  Without orders the kernel does not sort: dense entity codes are
// grouped with the as-of join's two-level counting scatter (features/group.hpp) and each entity's
// few events ordered by time in cache (sparse integer codes are numbered densely first, group.hpp's
// Dictionary).  When the queries are the events themselves, the grouping records next to each
// event's values where its frames start and end among its entity's events (a few bytes); when they
// are a spine, the spine is grouped by the same split (sparse codes through the events'
// dictionary; a code the events do not hold gets empty frames) and each entity's queries are
// merged against its events in cache, which records for each query where its frames end among the
// grouped events and each frame's length (a few bytes).  Each query's aggregates are then computed
// in the caller's row order: for an entity of at most 32 events directly from its frames (a
// compensated sum over the frame, at most 32 W steps per query, summed exactly when it cannot be
// shown to round to the exact sum's double: every such sum is the exact one rounded once, as
// math.fsum), for a larger one by the walk; the result columns are written sequentially, with no
// sorted copy of the table.  Codes the grouping gives up on (crafted hash collisions), or an entity
// of more than 65,536 events, are sorted instead: the events themselves by a radix sort of one
// packed (entity, time, row) word per event (the shared multi-key sort order when those three do
// not fit in 64 bits), a spine and its events by their sort orders, then walked; every sum being
// the exact one rounded once, every path gives the same numbers.  Entities (or rows)
// run in parallel; each is computed sequentially, so results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mlsd/common/views.hpp"

namespace mlsd::features {

enum class Closed { left, right, both, neither };

// Aggregates as bit flags (several in one call).
enum Agg : unsigned {
  kCount = 1u << 0,
  kSum = 1u << 1,
  kMean = 1u << 2,
  kMin = 1u << 3,
  kMax = 1u << 4,
  kLast = 1u << 5,
};
inline constexpr unsigned kAllAggs = kCount | kSum | kMean | kMin | kMax | kLast;

Closed parse_closed(const std::string& closed);

// One column of n_queries doubles (queries in the caller's order, not the sorted one) per
// (value c, aggregate a, window w), column-major: column (c * A + rank(a)) * W + w starts at
// column * n_queries, where A is the number of requested aggregates and rank orders them as the
// Agg flags do (count, sum, mean, min, max, last).  Counts are stored as doubles (exact below 2^53).
struct WindowResult {
  index_t n_queries = 0;
  std::size_t n_values = 0, n_windows = 0;
  unsigned aggs = 0;
  buffer<double> table;

  std::size_t n_columns() const;
  std::size_t column(std::size_t value, Agg agg, std::size_t window) const;
  double at(index_t query, std::size_t value, Agg agg, std::size_t window) const {
    return table[column(value, agg, window) * static_cast<std::size_t>(n_queries) + static_cast<std::size_t>(query)];
  }
};

// An empty `order` asks the kernel to order the table itself (grouped, see Cost, when neither
// table comes with its order).  Queries that are the events
// themselves are passed as the events' own spans (the same entity, time and order spans).
struct WindowEvents {
  std::span<const std::int64_t> entity, time;
  std::span<const std::span<const double>> values;  // k columns of length n
  std::span<const std::int64_t> order;              // stable (entity, time) sort order, or empty
};

struct WindowQueries {
  std::span<const std::int64_t> entity, time;
  std::span<const std::int64_t> order;  // stable (entity, time) sort order, or empty
};

// Throws mlsd::invalid_argument (naming the argument) on mismatched lengths, an order that is not
// in range or does not sort its table, a window <= 0, an unknown aggregate flag, or +-inf values.
WindowResult window_aggregate(const WindowEvents& events, const WindowQueries& queries,
                              std::span<const std::int64_t> windows, Closed closed, unsigned aggs);

}  // namespace mlsd::features
