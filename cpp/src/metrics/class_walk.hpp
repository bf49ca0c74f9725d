// Sorting scores by class and walking them by distinct score: the core of every threshold metric
// (ROC, PR, AUC, group AUC).
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "mlsd/common/parallel.hpp"
#include "mlsd/common/views.hpp"
#include "mlsd/detail/radix_sort.hpp"

namespace mlsd::detail {

// Keys (double_key of the score) ascending, in one of two forms:
//  * unweighted: positives' and negatives' keys in two arrays, sorted keys-only (the cheapest sort);
//  * weighted: one array, with +w for a positive and -w for a negative as payload.  Zero-weight
//    samples are dropped (as sklearn does), so the sign is never ambiguous.
struct SortedByClass {
  bool weighted = false;
  buffer<std::uint64_t> pos, neg;  // unweighted
  buffer<std::uint64_t> keys;      // weighted
  buffer<double> signed_weight;    // weighted
  double positive = 0.0, negative = 0.0;  // total weight of each class
};

// Calls visit(score, positive_weight, negative_weight) once per distinct score, highest first.
// Mixed form: keys ascending over [begin, end), with either labels (0/1) or signed weights.
template <class Visit>
void walk_mixed(std::span<const std::uint64_t> keys, std::span<const std::uint8_t> labels,
                std::span<const double> signed_weight, std::size_t begin, std::size_t end, Visit&& visit) {
  std::size_t i = end;
  while (i > begin) {
    const std::uint64_t k = keys[i - 1];
    double wp = 0.0, wn = 0.0;
    if (!signed_weight.empty()) {
      for (; i > begin && keys[i - 1] == k; --i) {
        const double v = signed_weight[i - 1];
        if (v > 0) wp += v; else wn -= v;
      }
    } else {
      std::size_t n_pos = 0, count = 0;
      for (; i > begin && keys[i - 1] == k; --i, ++count) n_pos += labels[i - 1];
      wp = static_cast<double>(n_pos);
      wn = static_cast<double>(count - n_pos);
    }
    visit(key_double(k), wp, wn);
  }
}

// Split form: merge of the two sorted key arrays, from the top.
template <class Visit>
void walk_split(std::span<const std::uint64_t> pos, std::span<const std::uint64_t> neg, Visit&& visit) {
  std::size_t i = pos.size(), j = neg.size();
  while (i > 0 || j > 0) {
    const std::uint64_t k = i == 0 ? neg[j - 1] : (j == 0 ? pos[i - 1] : std::max(pos[i - 1], neg[j - 1]));
    std::size_t cp = 0, cn = 0;
    for (; i > 0 && pos[i - 1] == k; --i) ++cp;
    for (; j > 0 && neg[j - 1] == k; --j) ++cn;
    visit(key_double(k), static_cast<double>(cp), static_cast<double>(cn));
  }
}

template <class Visit>
void walk_distinct_scores(const SortedByClass& s, Visit&& visit) {
  if (s.weighted) {
    walk_mixed(s.keys, {}, s.signed_weight, 0, s.keys.size(), std::forward<Visit>(visit));
  } else {
    walk_split(s.pos, s.neg, std::forward<Visit>(visit));
  }
}

// Rank-sum AUC over a walk: P(score+ > score-) + P(tie) / 2, given each class's total weight;
// NaN for a single class.  Each negative group is credited with the positives above it and half
// of those tied with it.  Terms are normalised as they are added: a product of raw weights
// overflows for weights near 1e155 (and underflows near 1e-160).  They are summed with
// compensation, so the result is within a few ulps of the exact sum of the terms, whatever their
// number; a walk over one score range of a larger sample starts from the positive weight above
// that range (positive_above) and returns that range's share of the area.
template <class Walk>
double auc_of_walk(Walk&& walk, double total_positive, double total_negative, double positive_above = 0.0) {
  if (!(total_positive > 0.0) || !(total_negative > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  KahanSum area;
  double tp = positive_above;
  walk([&](double, double wp, double wn) {
    area.add((wn / total_negative) * ((tp + 0.5 * wp) / total_positive));
    tp += wp;
  });
  return area.value();
}

inline SortedByClass sort_by_class(std::span<const std::uint8_t> y, std::span<const double> s,
                                   std::span<const double> w) {
  SortedByClass out;
  out.weighted = !w.empty();
  const auto n = static_cast<std::int64_t>(y.size());
  constexpr std::int64_t kBlock = 1 << 16;
  const std::int64_t n_blocks = (n + kBlock - 1) / kBlock;
  // Block-parallel stable partition: counts per block, prefix sums, then each block writes its part.
  auto for_blocks = [&](auto&& body) {
    tbb::parallel_for(std::int64_t{0}, n_blocks, [&](std::int64_t b) {
      check_interrupt();
      body(b, b * kBlock, std::min(n, (b + 1) * kBlock));
    });
  };
  if (!out.weighted) {
    std::vector<std::int64_t> pos_at(n_blocks + 1, 0), neg_at(n_blocks + 1, 0);
    for_blocks([&](std::int64_t b, std::int64_t lo, std::int64_t hi) {
      std::int64_t c = 0;
      for (auto i = lo; i < hi; ++i) c += y[i];
      pos_at[b + 1] = c;
      neg_at[b + 1] = (hi - lo) - c;
    });
    for (std::int64_t b = 0; b < n_blocks; ++b) {
      pos_at[b + 1] += pos_at[b];
      neg_at[b + 1] += neg_at[b];
    }
    out.pos.resize(pos_at[n_blocks]);
    out.neg.resize(neg_at[n_blocks]);
    advise_huge_pages(out.pos.data(), out.pos.size() * sizeof(std::uint64_t));
    advise_huge_pages(out.neg.data(), out.neg.size() * sizeof(std::uint64_t));
    for_blocks([&](std::int64_t b, std::int64_t lo, std::int64_t hi) {
      std::int64_t p = pos_at[b], q = neg_at[b];
      for (auto i = lo; i < hi; ++i) {
        const std::uint64_t k = double_key(s[i]);
        if (y[i]) out.pos[p++] = k; else out.neg[q++] = k;
      }
    });
    radix_sort<NoPayload>(out.pos);
    radix_sort<NoPayload>(out.neg);
    out.positive = static_cast<double>(out.pos.size());
    out.negative = static_cast<double>(out.neg.size());
    return out;
  }
  std::vector<std::int64_t> kept(n_blocks + 1, 0);
  for_blocks([&](std::int64_t b, std::int64_t lo, std::int64_t hi) {
    std::int64_t c = 0;
    for (auto i = lo; i < hi; ++i) c += w[i] != 0.0;
    kept[b + 1] = c;
  });
  for (std::int64_t b = 0; b < n_blocks; ++b) kept[b + 1] += kept[b];
  out.keys.resize(kept[n_blocks]);
  out.signed_weight.resize(kept[n_blocks]);
  advise_huge_pages(out.keys.data(), out.keys.size() * sizeof(std::uint64_t));
  advise_huge_pages(out.signed_weight.data(), out.signed_weight.size() * sizeof(double));
  for_blocks([&](std::int64_t b, std::int64_t lo, std::int64_t hi) {
    std::int64_t dst = kept[b];
    for (auto i = lo; i < hi; ++i) {
      if (w[i] == 0.0) continue;
      out.keys[dst] = double_key(s[i]);
      out.signed_weight[dst] = y[i] ? w[i] : -w[i];
      ++dst;
    }
  });
  struct Totals {
    KahanSum pos, neg;
  };
  const Totals t = ordered_reduce(
      n, Totals{},
      [&](std::int64_t b, std::int64_t e) {
        Totals r;
        for (auto i = b; i < e; ++i) (y[i] ? r.pos : r.neg).add(w[i]);
        return r;
      },
      [](Totals a, const Totals& b) {
        a.pos.add(b.pos);
        a.neg.add(b.neg);
        return a;
      });
  out.positive = t.pos.value();
  out.negative = t.neg.value();
  radix_sort(out.keys, &out.signed_weight);
  return out;
}

// sum_i w_i * loss(y_i, p_i), sum_i w_i, sum_i w_i * y_i, reduced in a fixed order.
template <class Sums, class Loss>
Sums loss_sums_impl(std::span<const std::uint8_t> y, std::span<const double> p, std::span<const double> w, Loss loss) {
  struct Acc {
    KahanSum loss, weight, positive;
  };
  const Acc a = ordered_reduce(
      static_cast<std::int64_t>(y.size()), Acc{},
      [&](std::int64_t b, std::int64_t e) {
        Acc r;
        for (auto i = b; i < e; ++i) {
          const double wi = w.empty() ? 1.0 : w[i];
          r.loss.add(wi * loss(y[i], p[i]));
          r.weight.add(wi);
          if (y[i]) r.positive.add(wi);
        }
        return r;
      },
      [](Acc x, const Acc& o) {
        x.loss.add(o.loss);
        x.weight.add(o.weight);
        x.positive.add(o.positive);
        return x;
      });
  return Sums{a.loss.value(), a.weight.value(), a.positive.value()};
}

}  // namespace mlsd::detail
