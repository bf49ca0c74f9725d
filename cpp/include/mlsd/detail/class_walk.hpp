// Sorting scores with their labels and walking them by distinct score: the core of every
// threshold metric (ROC, PR, AUC, group AUC).
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "mlsd/common/parallel.hpp"
#include "mlsd/detail/radix_sort.hpp"

namespace mlsd::detail {

// Samples sorted by score ascending.  Unweighted: the label is the payload.  Weighted: the payload
// is +w for a positive and -w for a negative; zero-weight samples are dropped (as sklearn does),
// so the sign is never ambiguous.
struct SortedByClass {
  std::vector<std::uint64_t> keys;  // double_key(score)
  std::vector<std::uint8_t> labels;
  std::vector<double> signed_weight;
  bool weighted = false;
  double positive = 0.0, negative = 0.0;  // total weight of each class

  double total_positive() const { return positive; }
  double total_negative() const { return negative; }
  std::size_t size() const { return keys.size(); }
};

inline SortedByClass sort_by_class(std::span<const std::uint8_t> y, std::span<const double> s,
                                   std::span<const double> w) {
  SortedByClass out;
  out.weighted = !w.empty();
  const auto n = static_cast<std::int64_t>(y.size());
  if (!out.weighted) {
    out.keys.resize(n);
    out.labels.assign(y.begin(), y.end());
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n), [&](const tbb::blocked_range<std::int64_t>& r) {
      for (auto i = r.begin(); i != r.end(); ++i) out.keys[i] = double_key(s[i]);
    });
    radix_sort(out.keys, &out.labels);
    const auto pos = ordered_reduce(
        n, std::int64_t{0},
        [&](std::int64_t b, std::int64_t e) {
          std::int64_t c = 0;
          for (auto i = b; i < e; ++i) c += y[i];
          return c;
        },
        [](std::int64_t a, std::int64_t b) { return a + b; });
    out.positive = static_cast<double>(pos);
    out.negative = static_cast<double>(n - pos);
    return out;
  }
  // Weighted: compact away zero weights (stable, block-parallel), then sort.
  constexpr std::int64_t kBlock = 1 << 16;
  const std::int64_t n_blocks = (n + kBlock - 1) / kBlock;
  std::vector<std::int64_t> kept(n_blocks + 1, 0);
  tbb::parallel_for(std::int64_t{0}, n_blocks, [&](std::int64_t b) {
    std::int64_t c = 0;
    for (auto i = b * kBlock, e = std::min(n, (b + 1) * kBlock); i < e; ++i) c += w[i] != 0.0;
    kept[b + 1] = c;
  });
  for (std::int64_t b = 0; b < n_blocks; ++b) kept[b + 1] += kept[b];
  out.keys.resize(kept[n_blocks]);
  out.signed_weight.resize(kept[n_blocks]);
  tbb::parallel_for(std::int64_t{0}, n_blocks, [&](std::int64_t b) {
    std::int64_t dst = kept[b];
    for (auto i = b * kBlock, e = std::min(n, (b + 1) * kBlock); i < e; ++i) {
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

// Calls visit(score, positive_weight, negative_weight) once per distinct score in [begin, end),
// highest score first.
template <class Visit>
void walk_distinct_scores(const SortedByClass& s, std::size_t begin, std::size_t end, Visit&& visit) {
  std::size_t i = end;
  while (i > begin) {
    const std::uint64_t k = s.keys[i - 1];
    double wp = 0.0, wn = 0.0;
    if (s.weighted) {
      for (; i > begin && s.keys[i - 1] == k; --i) {
        const double v = s.signed_weight[i - 1];
        (v > 0 ? wp : wn) += v > 0 ? v : -v;
      }
    } else {
      std::size_t pos = 0, cnt = 0;
      for (; i > begin && s.keys[i - 1] == k; --i, ++cnt) pos += s.labels[i - 1];
      wp = static_cast<double>(pos);
      wn = static_cast<double>(cnt - pos);
    }
    visit(key_double(k), wp, wn);
  }
}
template <class Visit>
void walk_distinct_scores(const SortedByClass& s, Visit&& visit) {
  walk_distinct_scores(s, 0, s.size(), std::forward<Visit>(visit));
}

// Rank-sum AUC of [begin, end): P(score+ > score-) + P(tie) / 2, NaN for a single class.
template <class Sorted>
double auc_of_range(const Sorted& s, std::size_t begin, std::size_t end) {
  double area = 0.0, tp = 0.0, fp = 0.0;
  walk_distinct_scores(s, begin, end, [&](double, double wp, double wn) {
    area += wn * (tp + 0.5 * wp);
    tp += wp;
    fp += wn;
  });
  if (tp <= 0.0 || fp <= 0.0) return std::numeric_limits<double>::quiet_NaN();
  return area / (tp * fp);
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
