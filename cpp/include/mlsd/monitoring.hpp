// mlsd::monitoring — per-column drift kernels: two-sample Kolmogorov-Smirnov, Wasserstein-1 and
// binned distributions of a reference column against a current column.
//
// Data layout, stated once for the family: a column is a contiguous span of doubles in which NaN
// marks a missing value (counted, then left out of every test); infinite values are rejected.
// Many columns travel as a span of spans (one per column, lengths may differ between reference
// and current).  Bins are given by ascending edges e_0 < ... < e_k; the outermost bins are open
// (value < e_1 falls in bin 0, value >= e_{k-1} in bin k-1), so every current value lands in a
// bin even outside the reference's range.  Every function runs in a oneTBB arena sized by
// mlsd::set_num_threads (one column per thread, or within a column when there are fewer columns
// than threads) and
// returns results that do not depend on the thread count.  Invalid input throws
// mlsd::invalid_argument naming the column.
//
// The O(1) parts of the p-value distributions are evaluated by the Python layer through SciPy;
// the parts that cost a pass over n terms live here: the exact two-sample KS tail (an n1 x n2
// lattice) and Smirnov's one-sided tail (n terms), which SciPy evaluates one scalar at a time.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "mlsd/common/views.hpp"
#include "mlsd/monitoring/pca.hpp"  // multivariate drift (PCA reconstruction), its own header

namespace mlsd::monitoring {

// The non-missing values of a column, ascending, and the number of missing (NaN) values.
struct SortedColumn {
  buffer<double> values;
  index_t n_missing = 0;
};

// Sorts each column: one column per thread when there are at least as many columns as threads,
// else one column at a time with its sort split over the threads.  Messages name column j as
// "column j".
std::vector<SortedColumn> sort_columns(std::span<const std::span<const double>> columns);

// Bin edges at the reference quantiles 0, 1/k, ..., 1 (NumPy's default "linear" quantile rule on
// the sorted values), repeated edges dropped; empty input gives no edges.  A constant reference c
// gets the edges {c-, c, c+, c++} (adjacent doubles): three bins, below c, at c and above c.
std::vector<double> quantile_edges(std::span<const double> sorted, int n_bins);

// Everything the numeric drift tests need from one reference/current pair.
struct ColumnDrift {
  index_t n_ref = 0, n_cur = 0;          // non-missing values
  index_t missing_ref = 0, missing_cur = 0;
  index_t unique_ref = 0;                // distinct non-missing reference values
  double ks_greater = 0.0;               // max over x of F_ref(x) - F_cur(x), clipped at 0
  double ks_less = 0.0;                  // max over x of F_cur(x) - F_ref(x), clipped at 0
  double wasserstein = 0.0;              // integral of |F_ref - F_cur|
  double ref_mean = 0.0, ref_std = 0.0;  // of the reference (std with ddof 0)
  std::vector<double> edges;             // the edges used (quantile or fixed)
  std::vector<index_t> ref_counts, cur_counts;  // edges.size() - 1 bins (one bin when < 2 edges)
};

// The moments of a sample, kept scaled by a power of two for values beyond 2^400 in magnitude (so
// that neither the sum nor the squared deviations can overflow, up to +-DBL_MAX): e = max(0, the
// frexp exponent of the largest magnitude - 400), mean the mean of the values, m2 the sum of the
// squared deviations of the values times 2^-e (so m2 / 4^e is the plain sum), std = 2^e sqrt(m2 / n)
// (ddof 0).  Below 2^400, e = 0 and the moments are the plain ones.  The one home of this rule:
// drift's reference mean and std, and the sketched profiles' moments (through the binding).
struct Moments {
  index_t n = 0;
  double mean = 0.0, m2 = 0.0;
  int e = 0;
  double std_dev() const;
};

// The moments of sorted, finite values (ascending: the largest magnitude is at an end), from
// compensated sums.  ValueError (naming `fn`) unless the values are finite and ascending.
Moments moments(std::span<const double> sorted, const char* fn = "moments");

// One pair of sorted, NaN-free columns.  `edges` empty: quantile edges of the reference with
// n_bins bins.
ColumnDrift compare_sorted(std::span<const double> ref, std::span<const double> cur,
                           std::span<const double> edges, int n_bins);

// Many columns: column j of `reference` against column j of `current`.  When `reference_sorted`
// the reference columns are already sorted and NaN-free (a profile's); otherwise each is copied
// and sorted inside the loop, so memory stays at a few columns per thread.  `edges[j]` empty (or
// `edges` empty) means quantile edges with n_bins bins.
std::vector<ColumnDrift> drift_columns(std::span<const std::span<const double>> reference,
                                       std::span<const std::span<const double>> current, bool reference_sorted,
                                       std::span<const std::span<const double>> edges, int n_bins);

// P(D >= h / lcm(n1, n2)) under the null for the two-sample KS statistic D (two-sided, or one
// one-sided statistic: both have the same law), by the probability mass of the uniformly random
// lattice path from (0, 0) to (n1, n2) that first reaches the boundary |i n2 - j n1| >= h gcd.
// A sum of positive terms, so tiny tails keep their relative accuracy.  O(n1 n2) time.
double ks_exact_sf(index_t n1, index_t n2, index_t h, bool two_sided);

// The batch of ks_exact_sf over m triples, parallel over them.
std::vector<double> ks_exact_sf_batch(std::span<const index_t> n1, std::span<const index_t> n2,
                                      std::span<const index_t> h, bool two_sided);

// Smirnov's one-sided tail P(D+_n >= x) of the one-sample statistic, by Birnbaum and Tingey's
// exact sum with Loader's binomial probabilities (relative accuracy ~1e-13 for n up to 1e6 and
// beyond); O(n), parallel in fixed chunks.  Kolmogorov's two-sided tail is 2 smirnov_sf where
// n x^2 >= 2.2 (SciPy's kstwo takes the same branch); the Python layer uses it there for n <= 1e6
// (above, SciPy switches to a closed-form approximation, and the Python layer follows SciPy).
double smirnov_sf(index_t n, double x);
std::vector<double> smirnov_sf_batch(std::span<const index_t> n, std::span<const double> x);

// Wasserstein-1 distance between two weighted samples (weights empty: all 1), as SciPy defines
// it: the integral of |U(x) - V(x)| with U, V the weighted empirical CDFs.
double wasserstein_distance(std::span<const double> u, std::span<const double> v, std::span<const double> u_weights,
                            std::span<const double> v_weights);

}  // namespace mlsd::monitoring
