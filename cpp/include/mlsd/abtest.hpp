// mlsd::abtest — sufficient statistics and rank kernels for A/B significance tests.
//
// Data layout, stated once for the family: every input is a contiguous array of finite doubles;
// the k <= kMaxColumns columns passed to `moments` describe the same n units (row i of each column
// belongs to unit i) and must have the same length.  Typical columns are the metric y, its
// denominator (ratio metrics), a pre-experiment covariate and the covariate's denominator.
// Every function runs in a oneTBB arena sized by mlsd::set_num_threads and returns results that do
// not depend on the thread count.  Invalid input throws std::invalid_argument.
//
// The distributions (normal, t, chi-square tails) are evaluated by the Python layer through
// scipy.special; this header holds only what needs a pass over the rows.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mlsd/common/views.hpp"

namespace mlsd::abtest {

inline constexpr int kMaxColumns = 4;

// Count, means and centred cross-moments C[i][j] = sum_r (c_i[r] - mean_i) (c_j[r] - mean_j) of up
// to kMaxColumns columns.  C is symmetric; only i, j < k are meaningful.  Two Moments of the same
// k merge exactly (up to rounding) by Chan, Golub and LeVeque's pairwise update, so per-partition
// results combine into the moments of the concatenated data.
struct Moments {
  int k = 0;
  double n = 0.0;  // a count; a double so that merged counts above 2^63 cannot overflow
  std::array<double, kMaxColumns> mean{};
  std::array<std::array<double, kMaxColumns>, kMaxColumns> comoment{};
};

// One parallel pass over the columns: within each fixed chunk two passes over cache-resident data
// (chunk means, then centred products), chunks merged left to right with `merge`.  Throws if the
// columns differ in length, if there are more than kMaxColumns, or on a non-finite value; messages
// name column j as names[j] when given ("column j" otherwise).
Moments moments(std::span<const std::span<const double>> columns, std::span<const std::string> names = {});

// Moments of the union of the rows summarised by a and b (a.k == b.k required).  This is the one
// home of Chan's merge: the kernels reduce their chunks with it and the Python Stats merge through
// merge_batch below.
Moments merge(const Moments& a, const Moments& b);

// `merge` over a batch of m pairs of k-column moments stored flat and row-major: n[m], mean[m * k],
// comoment[m * k * k] for each side, written to the out spans (same sizes).  Throws if the sizes
// do not match m and k.
void merge_batch(int k, std::span<const double> n_a, std::span<const double> mean_a,
                 std::span<const double> comoment_a, std::span<const double> n_b, std::span<const double> mean_b,
                 std::span<const double> comoment_b, std::span<double> n_out, std::span<double> mean_out,
                 std::span<double> comoment_out);

// Mann-Whitney U statistic of x against y with mid-ranks for ties.
struct RankSums {
  double u_x = 0.0;        // U of x: rank sum of x minus n_x (n_x + 1) / 2
  double tie_term = 0.0;   // sum over tie groups of t^3 - t (tie correction of the variance)
  index_t n_x = 0, n_y = 0;
};
// Sorts the pooled sample once (parallel radix sort on order-preserving keys).  Both samples must
// be non-empty and free of NaN; ±inf are ranked (largest and smallest), as SciPy ranks them.
RankSums mann_whitney_u(std::span<const double> x, std::span<const double> y);

// Batched rank kernels: x is (n_rows, size / n_rows) row-major, one independent problem per row,
// rows run in parallel.  NaN entries are missing values and are skipped (the Python layer applies
// nan_policy before), so each row reports its own counts.
struct RankSumsRows {
  std::vector<double> u_x, tie_term, n_x, n_y;  // per row, as in RankSums
};
// Mann-Whitney U of row r of x against row r of y.
RankSumsRows mann_whitney_u_rows(std::span<const double> x, std::span<const double> y, index_t n_rows);

// Wilcoxon signed-rank sums of each row of the differences d: the non-zero |d| are ranked 1..m
// (mid-ranks for ties); r_plus is the rank sum of the positive ones, tie_term the sum of t^3 - t
// over tie groups of the non-zero |d|, and n_zero the number of exact zeros (which zero_method
// handles in Python: dropped, or ranked below every non-zero |d|).
struct SignedRanksRows {
  std::vector<double> r_plus, tie_term, n_pos, n_neg, n_zero;
};
SignedRanksRows signed_ranks_rows(std::span<const double> d, index_t n_rows);

}  // namespace mlsd::abtest

namespace mlsd::abtest {

// ---- streaming Poisson bootstrap ----------------------------------------------------------------
// Resample b gives a row with key k the weight w(b, k) ~ Poisson(1), drawn from a counter-based
// generator keyed by (seed, stream, b, k): no state is carried between rows, so any block of rows
// can be weighted by any thread, on any machine, and the weights (and every result below) are
// identical for any thread count and any partitioning of the rows.  This is the Poisson bootstrap
// (Hanley and MacGibbon 2006; Chamandy et al. 2012): the resample size is random with mean n,
// which makes resampling a single streaming pass with no n x resamples index matrix.  `stream`
// separates the arms of an experiment.
std::uint32_t poisson1_weight(std::uint64_t seed, std::uint64_t stream, std::int64_t b, std::int64_t key);

// The key of each row.  By default row i of the arrays passed has key first_row + i, so a
// partition that starts at row r of the whole sample, passed with first_row = r, gets exactly the
// weights its rows get in the whole sample.  With `keys` (one int64 per row, first_row then 0),
// row i has key keys[i]: rows keyed by a unit id get the same weights wherever they are, and rows
// sharing a key share their weights (they are resampled together).
struct RowKeys {
  std::int64_t first_row = 0;
  std::span<const std::int64_t> keys = {};
};

// Per resample b: sum_i w(b, i), sum_i w(b, i) y_i and (if d is given) sum_i w(b, i) d_i.
struct BootstrapSums {
  std::vector<double> weight, y, d;  // each n_resamples long; d empty when d is (no denominator, or no rows)
};
// Resamples are numbered first_resample, first_resample + 1, ...: a long bootstrap can run in
// blocks of resamples (the caller can then react to Ctrl-C between blocks) with the same result.
// The arrays may be empty (a partition with no rows): every sum is then 0.
BootstrapSums bootstrap_sums(std::span<const double> y, std::span<const double> d, std::int64_t n_resamples,
                             std::uint64_t seed, std::uint64_t stream, std::int64_t first_resample = 0,
                             RowKeys rows = {});

// Per resample b and probability q (row-major, n_resamples x probs.size()): the weighted
// inverted-CDF quantile of the ascending array `sorted`, i.e. the first sorted[i] whose cumulative
// weight reaches q * total weight (and is positive); NaN if the resample is empty.  Two passes
// over the data: per-chunk weight totals, then a scan of the one chunk holding each crossing.
// `rows` keys the sorted values (by default their sorted positions; pass the keys permuted with
// the values to key them by unit).
std::vector<double> bootstrap_quantiles(std::span<const double> sorted, std::span<const double> probs,
                                        std::int64_t n_resamples, std::uint64_t seed, std::uint64_t stream,
                                        std::int64_t first_resample = 0, RowKeys rows = {});

}  // namespace mlsd::abtest
