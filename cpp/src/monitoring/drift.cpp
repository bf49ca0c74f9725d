#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include <tbb/parallel_for.h>

#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/detail/radix_sort.hpp"
#include "mlsd/monitoring.hpp"

namespace mlsd::monitoring {

namespace {

constexpr std::size_t kGrain = 1 << 16;

// Sorted non-missing values of x (order-preserving integer keys, parallel radix sort); throws on
// an infinite value.
SortedColumn sort_one(std::span<const double> x, std::size_t column, const char* fn) {
  SortedColumn out;
  const std::size_t n = x.size();
  const std::size_t n_chunks = (n + kGrain - 1) / kGrain;
  std::vector<std::size_t> kept(n_chunks, 0);
  std::vector<std::uint64_t> keys(n);
  // each chunk writes its non-missing keys at its own offset: first count, then fill
  tbb::parallel_for(std::size_t{0}, n_chunks, [&](std::size_t c) {
    const std::size_t b = c * kGrain, e = std::min(n, b + kGrain);
    std::size_t k = 0;
    for (std::size_t i = b; i < e; ++i) {
      const double v = x[i];
      if (std::isnan(v)) continue;
      MLSD_REQUIRE(!std::isinf(v), fn, "column ", column, " holds an infinite value at row ", i,
                   "; only finite values and NaN (missing) are allowed");
      ++k;
    }
    kept[c] = k;
  });
  std::vector<std::size_t> offset(n_chunks + 1, 0);
  for (std::size_t c = 0; c < n_chunks; ++c) offset[c + 1] = offset[c] + kept[c];
  const std::size_t m = offset[n_chunks];
  keys.resize(m);
  tbb::parallel_for(std::size_t{0}, n_chunks, [&](std::size_t c) {
    const std::size_t b = c * kGrain, e = std::min(n, b + kGrain);
    std::size_t o = offset[c];
    for (std::size_t i = b; i < e; ++i)
      if (!std::isnan(x[i])) keys[o++] = detail::double_key(x[i]);
  });
  detail::radix_sort(keys);
  out.values.resize(m);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, m, kGrain), [&](const tbb::blocked_range<std::size_t>& r) {
    for (std::size_t i = r.begin(); i != r.end(); ++i) out.values[i] = detail::key_double(keys[i]);
  });
  out.n_missing = static_cast<index_t>(n - m);
  return out;
}

// NumPy's linear interpolation between a and b (the form np.quantile uses, exact at t = 0 and 1).
double lerp(double a, double b, double t) {
  const double d = b - a;
  return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

void check_edges(std::span<const double> edges, std::size_t column, const char* fn) {
  MLSD_REQUIRE(edges.size() != 1, fn, "edges of column ", column, " must hold at least 2 values, got 1");
  for (std::size_t i = 0; i < edges.size(); ++i) {
    MLSD_REQUIRE(std::isfinite(edges[i]), fn, "edges of column ", column, " must be finite");
    MLSD_REQUIRE(i == 0 || edges[i] > edges[i - 1], fn, "edges of column ", column,
                 " must be strictly increasing");
  }
}

// counts of sorted values in the bins of `edges` (outermost bins open)
std::vector<index_t> bin_counts(std::span<const double> sorted, std::span<const double> edges) {
  const std::size_t k = edges.size() < 2 ? 1 : edges.size() - 1;
  std::vector<index_t> counts(k, 0);
  std::size_t prev = 0;
  for (std::size_t b = 0; b + 1 < k; ++b) {
    // bin b ends before the inner edge e_{b+1}: values < e_{b+1}
    const auto it = std::lower_bound(sorted.begin(), sorted.end(), edges[b + 1]);
    const std::size_t pos = static_cast<std::size_t>(it - sorted.begin());
    counts[b] = static_cast<index_t>(pos - prev);
    prev = pos;
  }
  counts[k - 1] = static_cast<index_t>(sorted.size() - prev);
  return counts;
}

}  // namespace

std::vector<SortedColumn> sort_columns(std::span<const std::span<const double>> columns) {
  return run_in_arena([&] {
    std::vector<SortedColumn> out(columns.size());
    tbb::parallel_for(std::size_t{0}, columns.size(),
                      [&](std::size_t j) { out[j] = sort_one(columns[j], j, "sort_columns"); });
    return out;
  });
}

std::vector<double> quantile_edges(std::span<const double> sorted, int n_bins) {
  MLSD_REQUIRE(n_bins >= 1, "quantile_edges", "n_bins must be >= 1, got ", n_bins);
  std::vector<double> edges;
  const std::size_t n = sorted.size();
  if (n == 0) return edges;
  const double step = 1.0 / static_cast<double>(n_bins);  // np.linspace(0, 1, n_bins + 1)
  for (int i = 0; i <= n_bins; ++i) {
    const double q = i == n_bins ? 1.0 : static_cast<double>(i) * step;
    const double vi = static_cast<double>(n - 1) * q;
    double e;
    if (vi >= static_cast<double>(n - 1)) {
      e = sorted[n - 1];
    } else {
      const double lo = std::floor(vi);
      const std::size_t i0 = static_cast<std::size_t>(lo);
      e = lerp(sorted[i0], sorted[i0 + 1], vi - lo);
    }
    if (edges.empty() || e > edges.back()) edges.push_back(e);
  }
  if (edges.size() == 1) {
    // A constant reference c: one bin would hold every current value, and PSI / JS / Hellinger would
    // be 0 whatever current holds.  Three bins instead: below c, at c, above c (the outer edges
    // only label the open outer bins).
    const double c = edges[0], inf = std::numeric_limits<double>::infinity();
    const double above = std::nextafter(c, inf);
    edges = {std::nextafter(c, -inf), c, above, std::nextafter(above, inf)};
  }
  return edges;
}

ColumnDrift compare_sorted(std::span<const double> ref, std::span<const double> cur, std::span<const double> edges,
                           int n_bins) {
  ColumnDrift out;
  const std::size_t n1 = ref.size(), n2 = cur.size();
  out.n_ref = static_cast<index_t>(n1);
  out.n_cur = static_cast<index_t>(n2);
  if (edges.empty()) {
    out.edges = quantile_edges(ref, n_bins);
  } else {
    out.edges.assign(edges.begin(), edges.end());
  }
  out.ref_counts = bin_counts(ref, out.edges);
  out.cur_counts = bin_counts(cur, out.edges);
  if (n1 > 0) {
    detail::KahanSum s;
    for (double v : ref) s.add(v);
    out.ref_mean = s.value() / static_cast<double>(n1);
    detail::KahanSum ss;
    for (double v : ref) ss.add((v - out.ref_mean) * (v - out.ref_mean));
    out.ref_std = std::sqrt(ss.value() / static_cast<double>(n1));
  }
  if (n1 == 0 || n2 == 0) return out;
  // One merge walk over the distinct values of the pooled sample: after the values equal to x,
  // F_ref(x) = i / n1 and F_cur(x) = j / n2 (SciPy's searchsorted(side="right") rule for ties).
  const double d1 = static_cast<double>(n1), d2 = static_cast<double>(n2);
  double max_diff = 0.0, min_diff = 0.0;
  detail::KahanSum w;
  std::size_t i = 0, j = 0;
  index_t unique = 0;
  while (i < n1 || j < n2) {
    const double x = (j == n2 || (i < n1 && ref[i] <= cur[j])) ? ref[i] : cur[j];
    bool in_ref = false;
    while (i < n1 && ref[i] == x) ++i, in_ref = true;
    while (j < n2 && cur[j] == x) ++j;
    unique += in_ref;
    const double diff = static_cast<double>(i) / d1 - static_cast<double>(j) / d2;
    max_diff = std::max(max_diff, diff);
    min_diff = std::min(min_diff, diff);
    if (i < n1 || j < n2) {
      const double next = (j == n2 || (i < n1 && ref[i] <= cur[j])) ? ref[i] : cur[j];
      w.add(std::abs(diff) * (next - x));
    }
  }
  out.unique_ref = unique;
  out.ks_greater = max_diff;
  out.ks_less = std::min(1.0, -min_diff);
  out.wasserstein = w.value();
  return out;
}

std::vector<ColumnDrift> drift_columns(std::span<const std::span<const double>> reference,
                                       std::span<const std::span<const double>> current, bool reference_sorted,
                                       std::span<const std::span<const double>> edges, int n_bins) {
  constexpr const char* fn = "drift_columns";
  MLSD_REQUIRE(reference.size() == current.size(), fn, "reference has ", reference.size(),
               " columns but current has ", current.size());
  MLSD_REQUIRE(edges.empty() || edges.size() == reference.size(), fn, "edges has ", edges.size(),
               " entries but there are ", reference.size(), " columns");
  MLSD_REQUIRE(n_bins >= 1, fn, "n_bins must be >= 1, got ", n_bins);
  for (std::size_t c = 0; c < edges.size(); ++c) check_edges(edges[c], c, fn);
  return run_in_arena([&] {
    std::vector<ColumnDrift> out(reference.size());
    tbb::parallel_for(std::size_t{0}, reference.size(), [&](std::size_t c) {
      SortedColumn cur = sort_one(current[c], c, fn);
      const std::span<const double> e = edges.empty() ? std::span<const double>{} : edges[c];
      if (reference_sorted) {
        const auto r = reference[c];
        for (std::size_t i = 0; i < r.size(); ++i) {
          MLSD_REQUIRE(std::isfinite(r[i]) && (i == 0 || r[i] >= r[i - 1]), fn, "sorted reference column ", c,
                       " must be finite and ascending");
        }
        out[c] = compare_sorted(reference[c], cur.values, e, n_bins);
      } else {
        SortedColumn ref = sort_one(reference[c], c, fn);
        out[c] = compare_sorted(ref.values, cur.values, e, n_bins);
        out[c].missing_ref = ref.n_missing;
      }
      out[c].missing_cur = cur.n_missing;
    });
    return out;
  });
}

double wasserstein_distance(std::span<const double> u, std::span<const double> v, std::span<const double> u_weights,
                            std::span<const double> v_weights) {
  constexpr const char* fn = "wasserstein_distance";
  MLSD_REQUIRE(!u.empty() && !v.empty(), fn, "u_values and v_values must not be empty");
  MLSD_REQUIRE(u_weights.empty() || u_weights.size() == u.size(), fn, "u_weights has ", u_weights.size(),
               " values but u_values has ", u.size());
  MLSD_REQUIRE(v_weights.empty() || v_weights.size() == v.size(), fn, "v_weights has ", v_weights.size(),
               " values but v_values has ", v.size());
  for (double x : u) MLSD_REQUIRE(std::isfinite(x), fn, "u_values must be finite");
  for (double x : v) MLSD_REQUIRE(std::isfinite(x), fn, "v_values must be finite");
  const std::span<const double> weights[2] = {u_weights, v_weights};
  const char* names[2] = {"u_weights", "v_weights"};
  for (int s = 0; s < 2; ++s) {
    double total = 0.0;
    for (double x : weights[s]) {
      MLSD_REQUIRE(std::isfinite(x) && x >= 0.0, fn, names[s], " must be finite and >= 0");
      total += x;
    }
    // SciPy's rule: a sum of finite weights can still overflow to inf, and every CDF would be 0 or NaN
    MLSD_REQUIRE(weights[s].empty() || (total > 0.0 && std::isfinite(total)), fn, names[s],
                 " must sum to a positive finite value, got ", total);
  }
  return run_in_arena([&] {
    // each sample sorted with its weights; cumulative weights summed left to right (np.cumsum)
    auto cdf = [](std::span<const double> x, std::span<const double> w) {
      std::vector<std::size_t> order(x.size());
      std::iota(order.begin(), order.end(), std::size_t{0});
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
      std::vector<double> xs(x.size()), cum(x.size());
      double acc = 0.0;
      for (std::size_t i = 0; i < x.size(); ++i) {
        xs[i] = x[order[i]];
        acc += w.empty() ? 1.0 : w[order[i]];
        cum[i] = acc;
      }
      return std::make_pair(std::move(xs), std::move(cum));
    };
    auto [us, uc] = cdf(u, u_weights);
    auto [vs, vc] = cdf(v, v_weights);
    const double ut = uc.back(), vt = vc.back();
    const std::size_t n1 = us.size(), n2 = vs.size();
    std::size_t i = 0, j = 0;
    detail::KahanSum s;
    while (i < n1 || j < n2) {
      const double x = (j == n2 || (i < n1 && us[i] <= vs[j])) ? us[i] : vs[j];
      while (i < n1 && us[i] == x) ++i;
      while (j < n2 && vs[j] == x) ++j;
      if (i == n1 && j == n2) break;
      const double fu = i == 0 ? 0.0 : uc[i - 1] / ut, fv = j == 0 ? 0.0 : vc[j - 1] / vt;
      const double next = (j == n2 || (i < n1 && us[i] <= vs[j])) ? us[i] : vs[j];
      s.add(std::abs(fu - fv) * (next - x));
    }
    return s.value();
  });
}

}  // namespace mlsd::monitoring
