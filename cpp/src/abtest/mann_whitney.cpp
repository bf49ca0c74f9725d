#include <cmath>
#include <cstdint>
#include <vector>

#include <tbb/parallel_for.h>
#include <tbb/parallel_invoke.h>

#include "mlsd/abtest.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/detail/radix_sort.hpp"

namespace mlsd::abtest {

namespace {

// Sorted order-preserving keys of the non-NaN values of v (NaN is a missing value here; ±inf sort
// last and first, as SciPy ranks them).  `absolute` sorts |v|.
std::vector<std::uint64_t> sorted_keys(std::span<const double> v, bool absolute = false) {
  std::vector<std::uint64_t> k;
  k.reserve(v.size());
  for (double x : v)
    if (!std::isnan(x)) k.push_back(detail::double_key(absolute ? std::fabs(x) : x));
  detail::radix_sort(k);
  return k;
}

struct Walk {
  double rank_sum_x = 0.0, tie_term = 0.0;
};

// One merge walk over two sorted key arrays visits the tie groups of the pooled sample.  Ranks
// are 1-based; a tie group of t values after `below` smaller ones has mid-rank below + (t + 1) / 2.
// Rank sums stay exact in doubles (half-integers below 2^52).
Walk rank_walk(const std::vector<std::uint64_t>& kx, const std::vector<std::uint64_t>& ky) {
  const std::size_t nx = kx.size(), ny = ky.size();
  Walk w;
  std::size_t i = 0, j = 0;
  while (i < nx || j < ny) {
    const std::uint64_t v = (j == ny || (i < nx && kx[i] <= ky[j])) ? kx[i] : ky[j];
    const std::size_t below = i + j;
    std::size_t cx = 0, cy = 0;
    while (i < nx && kx[i] == v) ++i, ++cx;
    while (j < ny && ky[j] == v) ++j, ++cy;
    const double t = static_cast<double>(cx + cy);
    w.rank_sum_x += static_cast<double>(cx) * (static_cast<double>(below) + (t + 1.0) / 2.0);
    if (cx + cy > 1) w.tie_term += t * t * t - t;
  }
  return w;
}

void check_rows(std::size_t size, index_t n_rows, const char* fn, const char* name) {
  MLSD_REQUIRE(n_rows >= 1, fn, "n_rows must be >= 1; got ", n_rows);
  MLSD_REQUIRE(size % static_cast<std::size_t>(n_rows) == 0, fn, name, " has ", size,
               " values, not a multiple of n_rows = ", n_rows);
}

}  // namespace

RankSums mann_whitney_u(std::span<const double> x, std::span<const double> y) {
  constexpr const char* fn = "mann_whitney_u";
  MLSD_REQUIRE(!x.empty(), fn, "x is empty; at least one observation is required");
  MLSD_REQUIRE(!y.empty(), fn, "y is empty; at least one observation is required");
  for (std::size_t i = 0; i < x.size(); ++i) MLSD_REQUIRE(!std::isnan(x[i]), fn, "x has NaN at index ", i);
  for (std::size_t i = 0; i < y.size(); ++i) MLSD_REQUIRE(!std::isnan(y[i]), fn, "y has NaN at index ", i);
  const auto b = mann_whitney_u_rows(x, y, 1);
  RankSums out;
  out.u_x = b.u_x[0];
  out.tie_term = b.tie_term[0];
  out.n_x = static_cast<index_t>(x.size());
  out.n_y = static_cast<index_t>(y.size());
  return out;
}

RankSumsRows mann_whitney_u_rows(std::span<const double> x, std::span<const double> y, index_t n_rows) {
  constexpr const char* fn = "mann_whitney_u_rows";
  check_rows(x.size(), n_rows, fn, "x");
  check_rows(y.size(), n_rows, fn, "y");
  const auto rows = static_cast<std::size_t>(n_rows);
  const std::size_t wx = x.size() / rows, wy = y.size() / rows;
  RankSumsRows out;
  out.u_x.assign(rows, 0.0);
  out.tie_term.assign(rows, 0.0);
  out.n_x.assign(rows, 0.0);
  out.n_y.assign(rows, 0.0);
  run_in_arena([&] {
    // Each row on its own: the two samples are sorted concurrently, then one merge walk.
    tbb::parallel_for(std::size_t{0}, rows, [&](std::size_t r) {
      std::vector<std::uint64_t> kx, ky;
      tbb::parallel_invoke([&] { kx = sorted_keys(x.subspan(r * wx, wx)); },
                           [&] { ky = sorted_keys(y.subspan(r * wy, wy)); });
      const Walk w = rank_walk(kx, ky);
      const double nx = static_cast<double>(kx.size());
      out.u_x[r] = w.rank_sum_x - nx * (nx + 1.0) / 2.0;
      out.tie_term[r] = w.tie_term;
      out.n_x[r] = nx;
      out.n_y[r] = static_cast<double>(ky.size());
    });
  });
  return out;
}

SignedRanksRows signed_ranks_rows(std::span<const double> d, index_t n_rows) {
  constexpr const char* fn = "signed_ranks_rows";
  check_rows(d.size(), n_rows, fn, "d");
  const auto rows = static_cast<std::size_t>(n_rows);
  const std::size_t w = d.size() / rows;
  SignedRanksRows out;
  out.r_plus.assign(rows, 0.0);
  out.tie_term.assign(rows, 0.0);
  out.n_pos.assign(rows, 0.0);
  out.n_neg.assign(rows, 0.0);
  out.n_zero.assign(rows, 0.0);
  run_in_arena([&] {
    // |d| of the positive and of the negative differences are two samples of one pooled ranking:
    // r_plus is the rank sum of the positives, exactly Mann-Whitney's merge walk.
    tbb::parallel_for(std::size_t{0}, rows, [&](std::size_t r) {
      const auto row = d.subspan(r * w, w);
      std::vector<double> pos, neg;
      double zeros = 0.0;
      for (double v : row) {
        if (v > 0) pos.push_back(v);
        else if (v < 0) neg.push_back(v);
        else if (v == 0) zeros += 1.0;
      }
      std::vector<std::uint64_t> kp, kn;
      tbb::parallel_invoke([&] { kp = sorted_keys(pos, true); }, [&] { kn = sorted_keys(neg, true); });
      const Walk wk = rank_walk(kp, kn);
      out.r_plus[r] = wk.rank_sum_x;
      out.tie_term[r] = wk.tie_term;
      out.n_pos[r] = static_cast<double>(kp.size());
      out.n_neg[r] = static_cast<double>(kn.size());
      out.n_zero[r] = zeros;
    });
  });
  return out;
}

}  // namespace mlsd::abtest
