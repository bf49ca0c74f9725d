// Probabilistic losses and calibration: log loss and Brier sums, calibration bins.
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

LossSums log_loss_sums(std::span<const std::uint8_t> y, std::span<const double> p, std::span<const double> w,
                       double eps) {
  const char* fn = "log_loss";
  check_inputs(fn, y, p, w, "y_prob");
  detail::check_in_range(p, 0.0, 1.0, fn, "y_prob");
  return run_in_arena([&] {
    return detail::loss_sums_impl<LossSums>(y, p, w, [eps](std::uint8_t yi, double pi) {
      const double q = std::clamp(yi ? pi : 1.0 - pi, eps, 1.0 - eps);
      return -std::log(q);
    });
  });
}

LossSums brier_sums(std::span<const std::uint8_t> y, std::span<const double> p, std::span<const double> w) {
  const char* fn = "brier_score_loss";
  check_inputs(fn, y, p, w, "y_prob");
  detail::check_in_range(p, 0.0, 1.0, fn, "y_prob");
  return run_in_arena([&] {
    return detail::loss_sums_impl<LossSums>(y, p, w, [](std::uint8_t yi, double pi) {
      const double d = static_cast<double>(yi) - pi;
      return d * d;
    });
  });
}

BinnedStats calibration_bins(std::span<const std::uint8_t> y, std::span<const double> p, std::span<const double> w,
                             std::span<const double> edges) {
  const char* fn = "calibration_curve";
  check_inputs(fn, y, p, w, "y_prob");
  detail::check_in_range(p, 0.0, 1.0, fn, "y_prob");
  MLSD_REQUIRE(std::is_sorted(edges.begin(), edges.end()), fn,
               "the bin edges made from n_bins and strategy must be non-decreasing");
  const std::size_t n_bins = edges.size() + 1;
  struct Acc {
    std::vector<detail::KahanSum> weight, prob, truth;
  };
  // Chunks hold one histogram each: make them large enough that histograms stay a small overhead.
  const std::int64_t chunk = std::max<std::int64_t>(detail::kReduceChunk, 8 * static_cast<std::int64_t>(n_bins));
  Acc acc = run_in_arena([&] {
    return detail::ordered_reduce(
        static_cast<std::int64_t>(y.size()), Acc{},
        [&](std::int64_t b, std::int64_t e) {
          Acc a{std::vector<detail::KahanSum>(n_bins), std::vector<detail::KahanSum>(n_bins),
                std::vector<detail::KahanSum>(n_bins)};
          for (std::int64_t i = b; i < e; ++i) {
            const auto bin = static_cast<std::size_t>(std::lower_bound(edges.begin(), edges.end(), p[i]) - edges.begin());
            const double wi = w.empty() ? 1.0 : w[i];
            a.weight[bin].add(wi);
            a.prob[bin].add(wi * p[i]);
            a.truth[bin].add(wi * y[i]);
          }
          return a;
        },
        [n_bins](Acc a, const Acc& b) {
          if (a.weight.empty()) return b;
          for (std::size_t k = 0; k < n_bins; ++k) {
            a.weight[k].add(b.weight[k]);
            a.prob[k].add(b.prob[k]);
            a.truth[k].add(b.truth[k]);
          }
          return a;
        },
        chunk);
  });
  BinnedStats out;
  out.weight.assign(n_bins, 0.0);
  out.sum_prob.assign(n_bins, 0.0);
  out.sum_true.assign(n_bins, 0.0);
  if (!acc.weight.empty()) {
    for (std::size_t k = 0; k < n_bins; ++k) {
      out.weight[k] = acc.weight[k].value();
      out.sum_prob[k] = acc.prob[k].value();
      out.sum_true[k] = acc.truth[k].value();
    }
  }
  return out;
}
}  // namespace mlsd::metrics
