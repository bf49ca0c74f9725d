// Threshold metrics by score range, for Dask's distributed sort: rows split by score range, each
// block of ranges sorted where it lands, its share of the ROC area and average precision, its tables.
#include <algorithm>
#include <cmath>
#include <limits>

#include "mlsd/common/checks.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/metrics.hpp"
#include "threshold_walk.hpp"

namespace mlsd::metrics {

using detail::SortedByClass;

namespace {

// #{cuts <= s}: a branch-free binary search (the comparison feeds a conditional move), since which
// range a score falls in is as unpredictable as the score.  NaN falls in range 0.
std::size_t range_of(std::span<const double> cuts, double s) {
  if (cuts.empty()) return 0;
  const double* base = cuts.data();
  std::size_t len = cuts.size();
  while (len > 1) {
    const std::size_t half = len / 2;
    base = base[half] <= s ? base + half : base;
    len -= half;
  }
  return static_cast<std::size_t>(base - cuts.data()) + (*base <= s);
}

// Ranges of s[0, n) into ids: with few cuts, one comparison per cut and row (counted in doubles,
// so that comparison, mask and sum stay in the same lanes and the compiler vectorises them); with
// many, a binary search per row.
constexpr std::size_t kIdChunk = 2048;
void range_ids(std::span<const double> cuts, const double* __restrict s, std::size_t n,
               std::uint32_t* __restrict ids) {
  if (cuts.size() > 24) {
    for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::uint32_t>(range_of(cuts, s[i]));
    return;
  }
  double count[kIdChunk];
  for (std::size_t i = 0; i < n; ++i) count[i] = 0.0;
  for (const double c : cuts)
    for (std::size_t i = 0; i < n; ++i) count[i] += c <= s[i] ? 1.0 : 0.0;
  for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::uint32_t>(count[i]);
}

}  // namespace

ScoreRanges split_score_ranges(std::span<const std::uint8_t> y, std::span<const double> s,
                               std::span<const double> w, std::span<const double> cuts) {
  const char* fn = "split_score_ranges";
  check_inputs(fn, y, s, w);
  MLSD_REQUIRE(cuts.size() < (std::size_t{1} << 16), fn, "at most 65535 cuts; got ", cuts.size());
  for (std::size_t c = 0; c < cuts.size(); ++c)
    MLSD_REQUIRE(!std::isnan(cuts[c]) && (c == 0 || cuts[c - 1] <= cuts[c]), fn,
                 "cuts must be non-decreasing and not NaN; cut ", c, " is ", cuts[c]);
  const std::size_t n_ranges = cuts.size() + 1;
  const auto n = static_cast<std::int64_t>(y.size());
  const std::int64_t block = std::max<std::int64_t>(detail::kReduceChunk, 16 * static_cast<std::int64_t>(n_ranges));
  const std::int64_t n_blocks = (n + block - 1) / block;
  ScoreRanges out;
  out.y_true.resize(y.size());
  out.y_score.resize(y.size());
  out.sample_weight.resize(w.size());
  detail::advise_huge_pages(out.y_true.data(), out.y_true.size());
  detail::advise_huge_pages(out.y_score.data(), out.y_score.size() * sizeof(double));
  detail::advise_huge_pages(out.sample_weight.data(), out.sample_weight.size() * sizeof(double));
  // Per block and range: the row count, then (after the prefix sum) where the block's rows go.
  // Unweighted, class weights are counts: positives per block and range, negatives by difference.
  std::vector<std::int64_t> at(static_cast<std::size_t>(n_blocks) * n_ranges, 0), n_pos(at.size(), 0);
  std::vector<detail::KahanSum> pos(w.empty() ? 0 : at.size()), neg(pos.size());
  run_in_arena([&] {
    tbb::parallel_for(std::int64_t{0}, n_blocks, [&](std::int64_t b) {
      std::int64_t* __restrict count = at.data() + b * n_ranges;
      std::int64_t* __restrict positives = n_pos.data() + b * n_ranges;
      detail::KahanSum* p = w.empty() ? nullptr : pos.data() + b * n_ranges;
      detail::KahanSum* q = w.empty() ? nullptr : neg.data() + b * n_ranges;
      std::uint32_t ids[kIdChunk];
      for (auto lo = b * block, hi = std::min(n, (b + 1) * block); lo < hi; lo += kIdChunk) {
        const auto m = static_cast<std::size_t>(std::min<std::int64_t>(kIdChunk, hi - lo));
        range_ids(cuts, s.data() + lo, m, ids);
        if (w.empty()) {
          for (std::size_t i = 0; i < m; ++i) {
            ++count[ids[i]];
            positives[ids[i]] += y[lo + i];
          }
        } else {
          for (std::size_t i = 0; i < m; ++i) {
            ++count[ids[i]];
            (y[lo + i] ? p : q)[ids[i]].add(w[lo + i]);
          }
        }
      }
    });
    if (w.empty()) {  // before `at` turns into write positions
      out.positive.assign(n_ranges, 0.0);
      out.negative.assign(n_ranges, 0.0);
      for (std::size_t r = 0; r < n_ranges; ++r) {
        std::int64_t p = 0, c = 0;
        for (std::int64_t b = 0; b < n_blocks; ++b) p += n_pos[b * n_ranges + r], c += at[b * n_ranges + r];
        out.positive[r] = static_cast<double>(p);
        out.negative[r] = static_cast<double>(c - p);
      }
    }
    out.offsets.assign(n_ranges + 1, 0);
    std::int64_t next = 0;
    for (std::size_t r = 0; r < n_ranges; ++r) {
      out.offsets[r] = next;
      for (std::int64_t b = 0; b < n_blocks; ++b) {
        const std::int64_t count = at[b * n_ranges + r];
        at[b * n_ranges + r] = next;
        next += count;
      }
    }
    out.offsets[n_ranges] = next;
    tbb::parallel_for(std::int64_t{0}, n_blocks, [&](std::int64_t b) {
      // restrict: the byte stores to the labels could otherwise alias the positions, which the
      // compiler would then reload from memory after every row.
      std::int64_t* __restrict dst = at.data() + b * n_ranges;
      std::uint8_t* __restrict oy = out.y_true.data();
      double* __restrict os = out.y_score.data();
      double* __restrict ow = out.sample_weight.data();
      std::uint32_t ids[kIdChunk];
      for (auto lo = b * block, hi = std::min(n, (b + 1) * block); lo < hi; lo += kIdChunk) {
        const auto m = static_cast<std::size_t>(std::min<std::int64_t>(kIdChunk, hi - lo));
        range_ids(cuts, s.data() + lo, m, ids);
        for (std::size_t i = 0; i < m; ++i) {
          const std::int64_t o = dst[ids[i]]++;
          oy[o] = y[lo + i];
          os[o] = s[lo + i];
          if (!w.empty()) ow[o] = w[lo + i];
        }
      }
    });
  });
  if (w.empty()) return out;
  out.positive.assign(n_ranges, 0.0);
  out.negative.assign(n_ranges, 0.0);
  for (std::size_t r = 0; r < n_ranges; ++r) {
    detail::KahanSum p, q;
    for (std::int64_t b = 0; b < n_blocks; ++b) {
      p.add(pos[b * n_ranges + r]);
      q.add(neg[b * n_ranges + r]);
    }
    out.positive[r] = p.value();
    out.negative[r] = q.value();
  }
  return out;
}

namespace {

// Validates a block's pieces; returns whether they carry sample weights.
bool check_pieces(std::span<const RangePiece> pieces, const char* fn) {
  MLSD_REQUIRE(!pieces.empty(), fn, "at least one piece is required");
  const std::size_t n_offsets = pieces[0].offsets.size();
  bool weighted = false;
  for (const auto& p : pieces) weighted = weighted || !p.sample_weight.empty();
  for (const auto& p : pieces) {
    check_inputs(fn, p.y_true, p.y_score, p.sample_weight);
    MLSD_REQUIRE(!weighted || p.sample_weight.size() == p.y_true.size(), fn,
                 "pieces: every piece needs sample_weight when one has it");
    MLSD_REQUIRE(p.offsets.size() == n_offsets && n_offsets >= 1 && p.offsets.front() == 0 &&
                     p.offsets.back() == static_cast<index_t>(p.y_true.size()) &&
                     std::is_sorted(p.offsets.begin(), p.offsets.end()),
                 fn,
                 "pieces: each piece's offsets must run from 0 to its length, non-decreasing, as many in every "
                 "piece");
  }
  return weighted;
}

// Range j of the pieces, as sort keys split by class (or keys with signed weights), written into
// `out`'s buffers (kept from the previous range) in piece order, in parallel over the pieces.
void gather_range(std::span<const RangePiece> pieces, std::size_t j, bool weighted, SortedByClass& out) {
  const std::size_t n = pieces.size();
  std::vector<std::int64_t> first_pos(n + 1, 0), first_neg(n + 1, 0);
  auto rows = [&](std::size_t k) { return std::pair{pieces[k].offsets[j], pieces[k].offsets[j + 1]}; };
  tbb::parallel_for(std::size_t{0}, n, [&](std::size_t k) {
    const auto [a, b] = rows(k);
    std::int64_t pos = 0, kept = 0;
    for (auto i = a; i < b; ++i) {
      pos += pieces[k].y_true[i];
      kept += !weighted || pieces[k].sample_weight[i] != 0.0;
    }
    first_pos[k + 1] = weighted ? kept : pos;
    first_neg[k + 1] = (b - a) - pos;
  });
  for (std::size_t k = 0; k < n; ++k) first_pos[k + 1] += first_pos[k], first_neg[k + 1] += first_neg[k];
  out.weighted = weighted;
  if (weighted) {
    out.keys.resize(static_cast<std::size_t>(first_pos[n]));
    out.signed_weight.resize(out.keys.size());
  } else {
    out.pos.resize(static_cast<std::size_t>(first_pos[n]));
    out.neg.resize(static_cast<std::size_t>(first_neg[n]));
  }
  tbb::parallel_for(std::size_t{0}, n, [&](std::size_t k) {
    const auto [a, b] = rows(k);
    const auto& pc = pieces[k];
    std::int64_t p = first_pos[k], q = first_neg[k];
    for (auto i = a; i < b; ++i) {
      const std::uint64_t key = detail::double_key(pc.y_score[i]);
      if (weighted) {
        if (pc.sample_weight[i] == 0.0) continue;
        out.keys[p] = key;
        out.signed_weight[p++] = pc.y_true[i] ? pc.sample_weight[i] : -pc.sample_weight[i];
      } else if (pc.y_true[i]) {
        out.pos[p++] = key;
      } else {
        out.neg[q++] = key;
      }
    }
  });
}

// Sorts each range of the pieces in turn with one set of buffers and calls visit(j, sorted).
template <class Visit>
void for_each_sorted_range(std::span<const RangePiece> pieces, bool weighted, Visit&& visit) {
  SortedByClass sorted;
  buffer<std::uint64_t> key_scratch;
  buffer<double> weight_scratch;
  for (std::size_t j = 0; j + 1 < pieces[0].offsets.size(); ++j) {
    gather_range(pieces, j, weighted, sorted);
    if (weighted) {
      detail::radix_sort(sorted.keys, &sorted.signed_weight, &key_scratch, &weight_scratch);
    } else {
      std::vector<detail::NoPayload>* no_payload = nullptr;
      detail::radix_sort(sorted.pos, no_payload, &key_scratch);
      detail::radix_sort(sorted.neg, no_payload, &key_scratch);
    }
    visit(j, sorted);
  }
}

}  // namespace

std::vector<ThresholdRangeSums> threshold_range_sums(std::span<const RangePiece> pieces,
                                                     std::span<const double> positive_above,
                                                     std::span<const double> negative_above, double total_positive,
                                                     double total_negative, double max_fpr) {
  const char* fn = "threshold_range_sums";
  const bool weighted = check_pieces(pieces, fn);
  const std::size_t n_ranges = pieces[0].offsets.size() - 1;
  MLSD_REQUIRE(max_fpr > 0.0 && max_fpr <= 1.0, fn, "max_fpr must be in (0, 1]; got ", max_fpr);
  MLSD_REQUIRE(positive_above.size() == n_ranges && negative_above.size() == n_ranges, fn,
               "positive_above and negative_above need one class weight per range; got ", positive_above.size(),
               " and ", negative_above.size(), " for ", n_ranges, " ranges");
  auto valid = [](double v) { return std::isfinite(v) && v >= 0.0; };
  MLSD_REQUIRE(valid(total_positive) && valid(total_negative) && std::all_of(positive_above.begin(), positive_above.end(), valid) &&
                   std::all_of(negative_above.begin(), negative_above.end(), valid),
               fn, "positive_above, negative_above, total_positive and total_negative must be finite and >= 0");
  std::vector<ThresholdRangeSums> out(n_ranges);
  run_in_arena([&] {
    for_each_sorted_range(pieces, weighted, [&](std::size_t j, const SortedByClass& sorted) {
      auto walk = [&](auto&& visit) { detail::walk_distinct_scores(sorted, visit); };
      if (total_positive > 0 && total_negative > 0)
        out[j].roc_area = roc_area_of(walk, positive_above[j], negative_above[j], total_positive, total_negative, max_fpr);
      if (total_positive > 0)
        out[j].average_precision = average_precision_sum(walk, positive_above[j], negative_above[j], total_positive);
    });
  });
  return out;
}

std::vector<ScoreTable> range_score_tables(std::span<const RangePiece> pieces) {
  const bool weighted = check_pieces(pieces, "range_score_tables");
  std::vector<ScoreTable> out(pieces[0].offsets.size() - 1);
  run_in_arena([&] {
    for_each_sorted_range(pieces, weighted, [&](std::size_t j, const SortedByClass& sorted) {
      out[j] = table_of_sorted(sorted);
    });
  });
  return out;
}
}  // namespace mlsd::metrics
