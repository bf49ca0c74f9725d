// Point-in-time (as-of) match of spine events against feature rows.
//
// A feature row's time here is the moment it became visible (its time, or the later of its time
// and creation time).  Walking an entity's feature rows ordered by (visible time, row), the winner
// among the visible ones only changes when a better row appears, so a prefix "best so far" per
// position answers every event with one search in its entity's rows.
//
// Two plans.  When the feature codes span a range not much larger than the tables (integer ids,
// dictionary codes: the usual case; sparser codes are numbered densely first, the spine's by the
// features' dictionary: group.hpp), the feature rows are grouped by code with a two-level
// counting sort (one scatter pass through memory, the second level inside each cache-sized
// bucket; group.hpp, shared with the windowed aggregations), each group is ordered by time in
// cache, and each event looks its entity up directly: the spine is never sorted.  Otherwise both
// sides are ordered by (code, time) with the radix sort and merged chunk by chunk in parallel (each
// chunk finds its start by binary search).
#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "group.hpp"
#include "keys.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/detail/radix_sort.hpp"
#include "mlsd/features.hpp"

namespace mlsd::features {
namespace {

using detail::kChunk;
using detail::parallel_rows;

// Sorted packed keys and the permutation that sorts them.
struct Keyed {
  buffer<std::uint64_t> key;
  buffer<index_t> perm;
};

Keyed sort_packed(const detail::Packing& p, std::span<const std::int64_t> codes, std::span<const std::int64_t> times) {
  const auto n = static_cast<std::int64_t>(codes.size());
  Keyed k{buffer<std::uint64_t>(codes.size()), buffer<index_t>(codes.size())};
  parallel_rows(n, [&](std::int64_t i) {
    k.key[i] = p.key(codes[i], times[i]);
    k.perm[i] = i;
  });
  mlsd::detail::radix_sort(k.key, &k.perm);
  return k;
}

// Prefix winners (see asof_match_body) where creation times break ties; same_entity(j) says
// whether sorted positions j - 1 and j hold the same entity.
template <class SameEntity>
buffer<index_t> prefix_best(std::span<const index_t> fperm, std::span<const std::int64_t> feature_times,
                            std::span<const std::int64_t> created, SameEntity&& same_entity) {
  const auto m = static_cast<std::int64_t>(fperm.size());
  buffer<index_t> best(fperm.size());
  if (m == 0) return best;
  auto better = [&](index_t a, index_t b) {  // is row a preferred to row b?
    if (feature_times[a] != feature_times[b]) return feature_times[a] > feature_times[b];
    if (created[a] != created[b]) return created[a] > created[b];
    return a > b;
  };
  index_t cur = fperm[0];
  best[0] = cur;
  for (std::int64_t j = 1; j < m; ++j) {
    const index_t r = fperm[j];
    if (!same_entity(j) || better(r, cur)) cur = r;
    best[j] = cur;
  }
  return best;
}

// t - time <= ttl without overflow (time <= t here).
inline bool within_ttl(const AsofOptions& o, std::int64_t t, std::int64_t time) {
  return !o.has_ttl ||
         static_cast<std::uint64_t>(t) - static_cast<std::uint64_t>(time) <= static_cast<std::uint64_t>(o.ttl);
}

// The merge both paths share: sorted events i against sorted feature positions j, in parallel
// chunks of events, each chunk finding its first feature position by binary search.  before(j, i):
// is feature position j at or before event i in the merge order (its time <= the event's, or <
// without exact matches); same_entity(j, i): do they hold the same entity, and not a missing one.
// best[j] is the winning row among positions [start of j's entity, j]; sperm maps sorted events
// to spine rows.
template <class Before, class SameEntity>
buffer<index_t> merge_sorted(std::int64_t m, std::span<const index_t> sperm, std::span<const index_t> best,
                             std::span<const std::int64_t> spine_times, std::span<const std::int64_t> feature_times,
                             const AsofOptions& options, Before&& before, SameEntity&& same_entity) {
  const auto n = static_cast<std::int64_t>(sperm.size());
  buffer<index_t> match(sperm.size());
  const std::int64_t n_chunks = (n + kChunk - 1) / kChunk;
  tbb::parallel_for(std::int64_t{0}, n_chunks, [&](std::int64_t c) {
    check_interrupt();  // Ctrl-C (asked on the calling thread only)
    const std::int64_t b = c * kChunk;
    const std::int64_t e = std::min(n, b + kChunk);
    std::int64_t lo = 0, hi = m;
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (before(mid, b)) lo = mid + 1; else hi = mid;
    }
    std::int64_t j = lo;
    for (std::int64_t i = b; i < e; ++i) {
      while (j < m && before(j, i)) ++j;
      const index_t row = sperm[i];
      index_t hit = -1;
      if (j > 0 && same_entity(j - 1, i)) {
        hit = best[j - 1];
        if (!within_ttl(options, spine_times[row], feature_times[hit])) hit = -1;
      }
      match[row] = hit;
    }
  });
  return match;
}

// The packed path: both sides ordered by one common 64-bit key; the merge compares keys.
buffer<index_t> asof_match_packed(const detail::Packing& p, std::span<const std::int64_t> spine_codes,
                                  std::span<const std::int64_t> spine_times,
                                  std::span<const std::int64_t> feature_codes,
                                  std::span<const std::int64_t> feature_times, std::span<const std::int64_t> visible,
                                  std::span<const std::int64_t> created, const AsofOptions& options) {
  const auto m = static_cast<std::int64_t>(feature_codes.size());
  const Keyed f = sort_packed(p, feature_codes, visible);
  const Keyed s = sort_packed(p, spine_codes, spine_times);
  buffer<index_t> best_storage;
  std::span<const index_t> best = f.perm;
  if (!created.empty()) {
    best_storage = prefix_best(f.perm, feature_times, created,
                               [&](std::int64_t j) { return p.entity(f.key[j]) == p.entity(f.key[j - 1]); });
    best = best_storage;
  }
  const bool exact = options.allow_exact_matches;
  return merge_sorted(
      m, s.perm, best, spine_times, feature_times, options,
      [&](std::int64_t j, std::int64_t i) { return exact ? f.key[j] <= s.key[i] : f.key[j] < s.key[i]; },
      [&](std::int64_t j, std::int64_t i) { return p.entity(f.key[j]) == p.entity(s.key[i]) && p.code(s.key[i]) >= 0; });
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

// ---- the grouped plan ----------------------------------------------------------------------------

using Buckets = detail::Buckets<>;
using detail::CodeSplit;
using detail::Entry;
using detail::kSmallGroup;

// Feature rows grouped by code: the rows of code lo + k are entries[start[k], start[k + 1]), ordered
// by (visible time, row), each entry's row replaced by the winning row among its group's rows up to
// it.  Entries of one top bucket are contiguous (a few thousand rows: the probe of a bucket's
// events reads them from cache).
struct Groups {
  buffer<index_t> start;
  buffer<Entry> entries;
  buffer<Entry> scratch;  // the first level's records, for the events' scatter to reuse
};

// The second level, per top bucket in cache (detail::group_buckets); none when an entity has more
// rows than the caches hold, which would make every search in it miss them many times (a few
// entities with millions of rows each): the merge of the sorted plan suits it.
std::optional<Groups> group_features(const CodeSplit& split, std::span<const std::int64_t> codes,
                                     std::span<const std::int64_t> feature_times, std::span<const std::int64_t> created) {
  Buckets b1 = detail::scatter_by_top(
      split, codes,
      [&](std::int64_t i) {
        return Entry{created.empty() ? feature_times[i] : std::max(feature_times[i], created[i]), 0};
      },
      [](std::int64_t) {});
  Groups g;
  const auto total = static_cast<index_t>(b1.entries.size());
  g.start.resize(static_cast<std::size_t>(split.n_codes + 1));
  g.entries.resize(b1.entries.size());
  mlsd::detail::advise_huge_pages(g.entries.data(), g.entries.size() * sizeof(Entry));
  auto better = [&](index_t a, index_t b) {  // with creation times: is row a preferred to row b?
    if (feature_times[a] != feature_times[b]) return feature_times[a] > feature_times[b];
    if (created[a] != created[b]) return created[a] > created[b];
    return a > b;
  };
  const bool grouped = detail::group_buckets(
      split, b1, g.entries.data(), detail::kLargeGroup, [&](std::uint64_t k, Entry* first, Entry* last, index_t pos, Entry*) {
        g.start[k] = pos;
        if (created.empty()) return;  // the order is (time, row): the last visible row wins
        index_t cur = first < last ? first->row : -1;
        for (Entry* p = first; p < last; ++p) {
          if (better(p->row, cur)) cur = p->row;
          p->row = cur;
        }
      });
  if (!grouped) return std::nullopt;
  g.start[split.n_codes] = total;
  g.scratch = std::move(b1.records);
  return g;
}

// How many of a group's entries are visible at t (their times are sorted: the end of a prefix),
// without branches, which the random times would mispredict: a count for a small group (its loads
// are independent of each other), a binary search by multiplies for a larger one.
template <bool Exact>
index_t visible_count(const Entry* base, index_t n, std::int64_t t) {
  auto visible = [t](const Entry& x) { return Exact ? x.time <= t : x.time < t; };
  if (n <= kSmallGroup) {
    index_t c = 0;
    for (index_t j = 0; j < n; ++j) c += static_cast<index_t>(visible(base[j]));
    return c;
  }
  const Entry* const first = base;
  while (n > 1) {
    const index_t half = n / 2;
    base += static_cast<index_t>(visible(base[half - 1])) * half;  // a multiply, not a branch
    n -= half;
  }
  return (base - first) + static_cast<index_t>(visible(*base));
}

// The events scattered by the same top buckets, then each bucket's events searched in its groups
// (in cache); events of entities without feature rows get -1 in the scatter pass.  Chunks of
// events run in parallel whatever the buckets, so one heavy entity still uses every thread.
template <bool Exact>
void probe_buckets(const CodeSplit& split, const Groups& g, const Buckets& ev, std::span<index_t> match,
                   std::span<const std::int64_t> feature_times, bool own_time, const AsofOptions& options) {
  const int shift = split.shift;
  const std::uint64_t low_mask = split.low_mask();
  const auto n_in = static_cast<std::int64_t>(ev.entries.size());
  const Entry* entries = g.entries.data();
  const index_t* start = g.start.data();
  const Entry* records = ev.entries.data();
  const index_t* top = ev.top.data();
  index_t* out = match.data();
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n_in, kChunk), [&](const tbb::blocked_range<std::int64_t>& r) {
    check_interrupt();
    // the bucket of the chunk's first event
    std::int64_t t = std::upper_bound(ev.top.begin(), ev.top.end(), r.begin()) - ev.top.begin() - 1;
    for (std::int64_t i = r.begin(); i != r.end(); ++i) {
      while (top[t + 1] <= i) ++t;
      const Entry rec = records[i];
      const std::uint64_t k = (static_cast<std::uint64_t>(t) << shift) | (static_cast<std::uint64_t>(rec.row) & low_mask);
      const index_t first = start[k];
      const index_t c = visible_count<Exact>(entries + first, start[k + 1] - first, rec.time);
      index_t hit = -1;
      if (c > 0) {
        const Entry& e = entries[first + c - 1];
        hit = within_ttl(options, rec.time, own_time ? e.time : feature_times[e.row]) ? e.row : -1;
      }
      out[static_cast<std::uint64_t>(rec.row) >> shift] = hit;
    }
  });
}

buffer<index_t> probe(const CodeSplit& split, Groups& g, std::span<const std::int64_t> spine_codes,
                      std::span<const std::int64_t> spine_times, std::span<const std::int64_t> feature_times,
                      std::span<const std::int64_t> created, const AsofOptions& options) {
  buffer<index_t> match(spine_codes.size());
  mlsd::detail::advise_huge_pages(match.data(), match.size() * sizeof(index_t));
  const Buckets ev = detail::scatter_by_top(
      split, spine_codes, [&](std::int64_t i) { return Entry{spine_times[i], 0}; }, [&](std::int64_t i) { match[i] = -1; },
      std::move(g.scratch));
  const bool own_time = created.empty();  // an entry's time is then its winning row's time
  if (options.allow_exact_matches) {
    probe_buckets<true>(split, g, ev, match, feature_times, own_time, options);
  } else {
    probe_buckets<false>(split, g, ev, match, feature_times, own_time, options);
  }
  return match;
}

// The grouped plan when the codes, as given or renumbered, are dense enough for a table of group
// starts (and the rows and low code bits pack in one word); else an empty optional.
std::optional<buffer<index_t>> asof_match_grouped(std::span<const std::int64_t> spine_codes,
                                                  std::span<const std::int64_t> spine_times,
                                                  std::span<const std::int64_t> feature_codes,
                                                  std::span<const std::int64_t> feature_times,
                                                  std::span<const std::int64_t> created, const AsofOptions& options) {
  const auto n = static_cast<std::uint64_t>(spine_codes.size());
  const auto m = static_cast<std::uint64_t>(feature_codes.size());
  const detail::Range range = detail::range_of_present(feature_codes);
  if (range.empty()) return buffer<index_t>(spine_codes.size(), index_t{-1});
  // both sides' codes by one dictionary of the feature codes when these are sparse
  const detail::GroupingPlan plan = detail::plan_grouping(range, feature_codes, spine_codes, n + m, std::max(n, m));
  if (!plan.split) return std::nullopt;
  std::optional<Groups> g = group_features(*plan.split, plan.codes, feature_times, created);
  if (!g) return std::nullopt;
  return probe(*plan.split, *g, plan.other, spine_times, feature_times, created, options);
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

  if (auto grouped = asof_match_grouped(spine_codes, spine_times, feature_codes, feature_times, created, options)) {
    return std::move(*grouped);
  }

  // Sparse codes.  When each feature row becomes visible:
  buffer<std::int64_t> visible_storage;
  std::span<const std::int64_t> visible = feature_times;
  if (!created.empty()) {
    visible_storage.resize(static_cast<std::size_t>(m));
    parallel_rows(m, [&](std::int64_t i) { visible_storage[i] = std::max(feature_times[i], created[i]); });
    visible = visible_storage;
  }
  {
    const std::array<std::span<const std::int64_t>, 2> cols{spine_times, visible};
    const detail::Packing p = detail::plan_packing(detail::range_of(spine_codes) | detail::range_of(feature_codes),
                                                   detail::range_of(spine_times) | detail::range_of(visible), cols);
    if (p.fits) {
      return asof_match_packed(p, spine_codes, spine_times, feature_codes, feature_times, visible, created, options);
    }
  }
  // Keys too wide for one word: sort field by field and merge on (code, time) pairs.
  const buffer<index_t> fperm = sort_order(feature_codes, visible);
  const buffer<index_t> sperm = sort_order(spine_codes, spine_times);
  const Sorted f = gather(fperm, feature_codes, visible);
  const Sorted s = gather(sperm, spine_codes, spine_times);

  // best[j]: the winning row among sorted positions [start of j's entity, j].  Without creation
  // times the order is already (time, row), so the last visible row wins and best is fperm itself.
  buffer<index_t> best_storage;
  std::span<const index_t> best = fperm;
  if (!created.empty()) {
    best_storage = prefix_best(fperm, feature_times, created, [&](std::int64_t j) { return f.code[j] == f.code[j - 1]; });
    best = best_storage;
  }

  const bool exact = options.allow_exact_matches;
  return merge_sorted(
      m, sperm, best, spine_times, feature_times, options,
      [&](std::int64_t j, std::int64_t i) {
        return f.code[j] < s.code[i] || (f.code[j] == s.code[i] && (exact ? f.time[j] <= s.time[i] : f.time[j] < s.time[i]));
      },
      [&](std::int64_t j, std::int64_t i) { return s.code[i] >= 0 && f.code[j] == s.code[i]; });
}

}  // namespace

buffer<index_t> asof_match(std::span<const std::int64_t> spine_codes, std::span<const std::int64_t> spine_times,
                           std::span<const std::int64_t> feature_codes, std::span<const std::int64_t> feature_times,
                           std::span<const std::int64_t> created, const AsofOptions& options) {
  return run_in_arena(
      [&] { return asof_match_body(spine_codes, spine_times, feature_codes, feature_times, created, options); });
}

}  // namespace mlsd::features
