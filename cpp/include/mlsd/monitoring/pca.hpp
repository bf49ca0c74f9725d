// mlsd::monitoring — multivariate drift by PCA reconstruction error.
//
// Data layout: a table of n rows and d numeric columns is one contiguous row-major array,
// x[i * d + j].  NaN marks a missing value and is imputed with its column's reference mean (so it
// is 0 once standardised); an infinite value is an error.  Every function runs in a oneTBB arena
// sized by mlsd::set_num_threads, reduces in fixed chunks (results do not depend on the thread
// count) and throws mlsd::invalid_argument naming the argument on invalid input.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "mlsd/common/views.hpp"

namespace mlsd::monitoring {

// Standardisation and principal axes of a reference table: the same numbers as scikit-learn's
// SimpleImputer(strategy="mean") -> StandardScaler -> PCA pipeline.
struct PcaFit {
  index_t n_rows = 0;
  index_t n_features = 0;
  std::vector<double> mean;                // d: mean of each column's non-missing values
  std::vector<double> scale;               // d: population std after imputation; 1 for a constant column
  std::vector<double> explained_variance;  // d, descending: eigenvalues of the covariance (ddof 1) of z
  std::vector<double> components;          // d x d row-major: row k is the k-th axis, unit norm, its
                                           // largest-magnitude entry positive (scikit-learn's sign rule)
};

// Needs at least 2 rows and 1 column; throws if a column has no non-missing value.  Messages call
// the table `name`.
PcaFit pca_fit(std::span<const double> x, index_t n_features, std::string_view name = "x");

// Per row, the Euclidean norm of z - W^T W z, where z is the row standardised with (mean, scale)
// (missing -> 0) and W (k x d, row-major, orthonormal rows) the kept components.
std::vector<double> reconstruction_errors(std::span<const double> x, index_t n_features, std::span<const double> mean,
                                          std::span<const double> scale, std::span<const double> components,
                                          std::string_view name = "x");

}  // namespace mlsd::monitoring
