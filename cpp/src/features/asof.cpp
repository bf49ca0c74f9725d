// Point-in-time (as-of) match of spine events against feature rows.
//
// Both sides are ordered by (entity code, time) with sort_order; a feature row's time there is the
// moment it became visible (its time, or the later of its time and creation time).  Walking an
// entity's feature rows in that order, the winner among the visible ones only changes when a
// better row appears, so a prefix "best so far" per position answers every event with one merge
// step: events and features are merged chunk by chunk in parallel (each chunk finds its start by
// binary search), and each event reads the best row at its merge position.
#include <algorithm>
#include <limits>

#include <tbb/parallel_for.h>

#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/features.hpp"

namespace mlsd::features {
namespace {

constexpr std::int64_t kChunk = 1 << 16;

template <class F>
void parallel_rows(std::int64_t n, F&& f) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, kChunk), [&](const tbb::blocked_range<std::int64_t>& r) {
    for (std::int64_t i = r.begin(); i != r.end(); ++i) f(i);
  });
}

struct Sorted {
  buffer<std::int64_t> code;
  buffer<std::int64_t> time;
};

Sorted gather(std::span<const index_t> perm, std::span<const std::int64_t> code, std::span<const std::int64_t> time) {
  const auto n = static_cast<std::int64_t>(perm.size());
  Sorted s{buffer<std::int64_t>(perm.size()), buffer<std::int64_t>(perm.size())};
  parallel_rows(n, [&](std::int64_t i) {
    s.code[i] = code[perm[i]];
    s.time[i] = time[perm[i]];
  });
  return s;
}

buffer<index_t> asof_match_body(std::span<const std::int64_t> spine_codes, std::span<const std::int64_t> spine_times,
                           std::span<const std::int64_t> feature_codes, std::span<const std::int64_t> feature_times,
                           std::span<const std::int64_t> created, const AsofOptions& options) {
  const char* fn = "asof_match";
  MLSD_REQUIRE(spine_times.size() == spine_codes.size(), fn, "spine times have ", spine_times.size(),
               " elements, spine codes have ", spine_codes.size());
  MLSD_REQUIRE(feature_times.size() == feature_codes.size(), fn, "feature times have ", feature_times.size(),
               " elements, feature codes have ", feature_codes.size());
  MLSD_REQUIRE(created.empty() || created.size() == feature_times.size(), fn, "created_at has ", created.size(),
               " elements, the feature times have ", feature_times.size());
  MLSD_REQUIRE(!options.has_ttl || options.ttl >= 0, fn, "ttl must be >= 0, got ", options.ttl);
  const auto n = static_cast<std::int64_t>(spine_codes.size());
  const auto m = static_cast<std::int64_t>(feature_codes.size());
  buffer<index_t> match(static_cast<std::size_t>(n));
  if (n == 0) return match;

  // When each feature row becomes visible.
  buffer<std::int64_t> visible_storage;
  std::span<const std::int64_t> visible = feature_times;
  if (!created.empty()) {
    visible_storage.resize(static_cast<std::size_t>(m));
    parallel_rows(m, [&](std::int64_t i) { visible_storage[i] = std::max(feature_times[i], created[i]); });
    visible = visible_storage;
  }
  const buffer<index_t> fperm = sort_order(feature_codes, visible);
  const buffer<index_t> sperm = sort_order(spine_codes, spine_times);
  const Sorted f = gather(fperm, feature_codes, visible);
  const Sorted s = gather(sperm, spine_codes, spine_times);

  // best[j]: the winning row among sorted positions [start of j's entity, j].  Without creation
  // times the order is already (time, row), so the last visible row wins and best is fperm itself.
  buffer<index_t> best_storage;
  std::span<const index_t> best = fperm;
  if (!created.empty() && m > 0) {
    best_storage.resize(static_cast<std::size_t>(m));
    auto better = [&](index_t a, index_t b) {  // is row a preferred to row b?
      if (feature_times[a] != feature_times[b]) return feature_times[a] > feature_times[b];
      if (created[a] != created[b]) return created[a] > created[b];
      return a > b;
    };
    index_t cur = fperm[0];
    best_storage[0] = cur;
    for (std::int64_t j = 1; j < m; ++j) {
      const index_t r = fperm[j];
      if (f.code[j] != f.code[j - 1] || better(r, cur)) cur = r;
      best_storage[j] = cur;
    }
    best = best_storage;
  }

  const bool exact = options.allow_exact_matches;
  // Is feature position j at or before the event (code, t) in the merge order?
  auto before = [&](std::int64_t j, std::int64_t code, std::int64_t t) {
    return f.code[j] < code || (f.code[j] == code && (exact ? f.time[j] <= t : f.time[j] < t));
  };
  const std::int64_t n_chunks = (n + kChunk - 1) / kChunk;
  tbb::parallel_for(std::int64_t{0}, n_chunks, [&](std::int64_t c) {
    const std::int64_t b = c * kChunk;
    const std::int64_t e = std::min(n, b + kChunk);
    // First feature position not before the chunk's first event.
    std::int64_t lo = 0, hi = m;
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (before(mid, s.code[b], s.time[b])) lo = mid + 1; else hi = mid;
    }
    std::int64_t j = lo;
    for (std::int64_t i = b; i < e; ++i) {
      const std::int64_t code = s.code[i], t = s.time[i];
      while (j < m && before(j, code, t)) ++j;
      index_t hit = -1;
      if (code >= 0 && j > 0 && f.code[j - 1] == code) {
        hit = best[j - 1];
        if (options.has_ttl) {
          // t - time <= ttl without overflow: both are int64, the difference may not be.
          const auto age = static_cast<std::uint64_t>(t) - static_cast<std::uint64_t>(feature_times[hit]);
          if (age > static_cast<std::uint64_t>(options.ttl)) hit = -1;
        }
      }
      match[sperm[i]] = hit;
    }
  });
  return match;
}

}  // namespace

buffer<index_t> asof_match(std::span<const std::int64_t> spine_codes, std::span<const std::int64_t> spine_times,
                           std::span<const std::int64_t> feature_codes, std::span<const std::int64_t> feature_times,
                           std::span<const std::int64_t> created, const AsofOptions& options) {
  return run_in_arena(
      [&] { return asof_match_body(spine_codes, spine_times, feature_codes, feature_times, created, options); });
}

}  // namespace mlsd::features
