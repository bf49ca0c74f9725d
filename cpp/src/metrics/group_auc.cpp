#include <cmath>

#include "mlsd/common/checks.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "class_walk.hpp"
#include "mlsd/metrics.hpp"

namespace mlsd::metrics {

GroupAucResult group_auc(std::span<const std::int64_t> groups, std::span<const std::uint8_t> y,
                         std::span<const double> s, std::span<const double> w) {
  const char* fn = "group_auc";
  MLSD_REQUIRE(groups.size() == y.size(), fn, "groups has ", groups.size(), " elements but y_true has ", y.size());
  MLSD_REQUIRE(s.size() == y.size(), fn, "y_score has ", s.size(), " elements but y_true has ", y.size());
  MLSD_REQUIRE(w.empty() || w.size() == y.size(), fn, "sample_weight has ", w.size(), " elements but y_true has ",
               y.size());
  check_binary_labels(y);
  detail::check_finite(s, fn, "y_score");
  if (!w.empty()) detail::check_nonnegative(w, fn, "sample_weight");

  return run_in_arena([&] {
    using detail::double_key;
    const bool weighted = !w.empty();
    // Rows with zero weight take no part, as in roc_auc_score.
    std::vector<std::int64_t> rows;
    rows.reserve(y.size());
    for (std::size_t i = 0; i < y.size(); ++i)
      if (!weighted || w[i] != 0.0) rows.push_back(static_cast<std::int64_t>(i));
    const auto n = static_cast<std::int64_t>(rows.size());
    auto par = [n](auto&& body) {
      tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n), [&](const tbb::blocked_range<std::int64_t>& r) {
        check_interrupt();
        for (auto i = r.begin(); i != r.end(); ++i) body(i);
      });
    };

    // Sort by score, then stably by group: each group is contiguous and sorted by score.
    std::vector<std::uint64_t> keys(n);
    par([&](std::int64_t i) { keys[i] = double_key(s[rows[i]]); });
    detail::radix_sort(keys, &rows);
    par([&](std::int64_t i) { keys[i] = detail::int64_key(groups[rows[i]]); });
    detail::radix_sort(keys, &rows);

    std::vector<std::int64_t> starts;  // segment boundaries
    std::vector<std::int64_t> group_of_segment;
    for (std::int64_t i = 0; i < n; ++i)
      if (i == 0 || keys[i] != keys[i - 1]) {
        starts.push_back(i);
        group_of_segment.push_back(groups[rows[i]]);
      }
    starts.push_back(n);
    const std::size_t n_groups = starts.size() - 1;

    // Rows in (group, score) order: score keys with labels, or with signed weights.
    std::vector<std::uint8_t> labels(weighted ? 0 : n);
    std::vector<double> signed_weight(weighted ? n : 0);
    par([&](std::int64_t i) {
      const auto r = rows[i];
      keys[i] = double_key(s[r]);
      if (weighted) signed_weight[i] = y[r] ? w[r] : -w[r];
      else labels[i] = y[r];
    });

    GroupAucResult out;
    out.group_keys.resize(n_groups);
    out.auc.resize(n_groups);
    out.weight.resize(n_groups);
    tbb::parallel_for(std::size_t{0}, n_groups, [&](std::size_t g) {
      check_interrupt();
      const auto b = static_cast<std::size_t>(starts[g]), e = static_cast<std::size_t>(starts[g + 1]);
      out.group_keys[g] = group_of_segment[g];
      double pos = 0.0, neg = 0.0;
      if (weighted) {
        detail::KahanSum p, q;
        for (auto i = b; i < e; ++i) (signed_weight[i] > 0 ? p : q).add(std::abs(signed_weight[i]));
        pos = p.value();
        neg = q.value();
      } else {
        std::size_t c = 0;
        for (auto i = b; i < e; ++i) c += labels[i];
        pos = static_cast<double>(c);
        neg = static_cast<double>(e - b - c);
      }
      out.weight[g] = pos + neg;
      out.auc[g] = detail::auc_of_walk(
          [&](auto&& visit) { detail::walk_mixed(keys, labels, signed_weight, b, e, visit); }, pos, neg);
    });
    return out;
  });
}

}  // namespace mlsd::metrics
