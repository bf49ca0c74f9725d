// Eigen's own OpenMP threads would multiply with oneTBB's: the loops here are the parallel part.
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <limits>

#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/monitoring.hpp"

namespace mlsd::monitoring {

namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Rows standardised at a time: a block of z stays in cache and bounds each task's scratch memory.
constexpr index_t kBlockRows = 256;

struct ColumnSums {
  std::vector<double> sum;
  std::vector<double> count;  // a count, as a double (exact below 2^53)
  index_t bad_row = -1;  // first infinite value of the chunk, if any
  index_t bad_col = 0;
};

ColumnSums column_sums(const double* x, index_t d, index_t b, index_t e, std::span<const double> mean) {
  ColumnSums p{std::vector<double>(static_cast<std::size_t>(d), 0.0),
               std::vector<double>(static_cast<std::size_t>(d), 0.0), -1, 0};
  const bool centred = !mean.empty();  // second pass: squared deviations from the mean
  for (index_t r = b; r < e; ++r) {
    const double* row = x + r * d;
    for (index_t j = 0; j < d; ++j) {
      const double v = row[j];
      if (std::isnan(v)) continue;
      if (std::isinf(v)) {
        if (p.bad_row < 0) {
          p.bad_row = r;
          p.bad_col = j;
        }
        continue;
      }
      if (centred) {
        const double c = v - mean[j];
        p.sum[j] += c * c;
      } else {
        p.sum[j] += v;
      }
      p.count[j] += 1.0;
    }
  }
  return p;
}

// GCC 12 reports false -Warray-bounds and -Wrestrict warnings on copying the partials' vectors inside ordered_reduce.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
ColumnSums reduce_columns(std::span<const double> x, index_t d, std::span<const double> mean) {
  const index_t n = static_cast<index_t>(x.size()) / d;
  ColumnSums empty{std::vector<double>(static_cast<std::size_t>(d), 0.0),
                   std::vector<double>(static_cast<std::size_t>(d), 0.0), -1, 0};
  return detail::ordered_reduce(
      n, empty, [&](index_t b, index_t e) { return column_sums(x.data(), d, b, e, mean); },
      [d](ColumnSums a, const ColumnSums& o) {
        for (index_t j = 0; j < d; ++j) {
          a.sum[j] += o.sum[j];
          a.count[j] += o.count[j];
        }
        if (a.bad_row < 0 && o.bad_row >= 0) {
          a.bad_row = o.bad_row;
          a.bad_col = o.bad_col;
        }
        return a;
      },
      std::max<index_t>(1, detail::kReduceChunk / d));
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

void check_shape(const char* fn, std::span<const double> x, index_t d, std::string_view name) {
  MLSD_REQUIRE(d >= 1, fn, name, " must have at least one column");
  MLSD_REQUIRE(static_cast<index_t>(x.size()) % d == 0, fn, name, " has ", x.size(),
               " values, not a whole number of rows of ", d, " columns");
}

// z of rows [b, e) into out (row-major, (e - b) x d); missing -> 0.  Infinite values were rejected.
void standardise(const double* x, index_t d, index_t b, index_t e, const double* mean, const double* inv_scale,
                 RowMatrix& out) {
  out.resize(e - b, d);
  for (index_t r = b; r < e; ++r) {
    const double* row = x + r * d;
    double* z = out.data() + (r - b) * d;
    for (index_t j = 0; j < d; ++j) z[j] = std::isnan(row[j]) ? 0.0 : (row[j] - mean[j]) * inv_scale[j];
  }
}

}  // namespace

PcaFit pca_fit(std::span<const double> x, index_t n_features, std::string_view name) {
  constexpr const char* fn = "pca_fit";
  check_shape(fn, x, n_features, name);
  const index_t d = n_features;
  const index_t n = static_cast<index_t>(x.size()) / d;
  MLSD_REQUIRE(n >= 2, fn, name, " must have at least 2 rows; got ", n);
  // A covariance partial per chunk is d x d: cap the chunks (by d and n only, never by threads).
  const index_t max_chunks = std::clamp<index_t>((index_t{1} << 25) / (d * d), 1, 256);
  const index_t cov_chunk = std::max<index_t>({kBlockRows, (n + max_chunks - 1) / max_chunks});

  return run_in_arena([&] {
    PcaFit fit;
    fit.n_rows = n;
    fit.n_features = d;
    const ColumnSums sums = reduce_columns(x, d, {});
    if (sums.bad_row >= 0)
      detail::throw_invalid(fn, name, " must not contain infinite values; found ", x[sums.bad_row * d + sums.bad_col],
                            " at row ", sums.bad_row, ", column ", sums.bad_col);
    fit.mean.resize(d);
    for (index_t j = 0; j < d; ++j) {
      MLSD_REQUIRE(sums.count[j] > 0.0, fn, "column ", j, " of ", name, " has no non-missing value");
      fit.mean[j] = sums.sum[j] / sums.count[j];
    }
    const ColumnSums squares = reduce_columns(x, d, fit.mean);
    fit.scale.resize(d);
    std::vector<double> inv_scale(d);
    constexpr double eps = std::numeric_limits<double>::epsilon();
    const double nd = static_cast<double>(n);
    for (index_t j = 0; j < d; ++j) {
      const double var = squares.sum[j] / nd;  // imputed values sit at the mean
      MLSD_REQUIRE(std::isfinite(var), fn, "column ", j, " of ", name, " is too large: its variance overflows a double");
      // scikit-learn's test for a constant feature (StandardScaler then divides by 1)
      const double bound = nd * eps * var + (nd * fit.mean[j] * eps) * (nd * fit.mean[j] * eps);
      fit.scale[j] = var <= bound ? 1.0 : std::sqrt(var);
      inv_scale[j] = 1.0 / fit.scale[j];
    }

    const Eigen::MatrixXd zero = Eigen::MatrixXd::Zero(d, d);
    Eigen::MatrixXd cov = detail::ordered_reduce(
        n, zero,
        [&](index_t b, index_t e) {
          Eigen::MatrixXd c = Eigen::MatrixXd::Zero(d, d);
          RowMatrix z;
          for (index_t s = b; s < e; s += kBlockRows) {
            standardise(x.data(), d, s, std::min(e, s + kBlockRows), fit.mean.data(), inv_scale.data(), z);
            c.selfadjointView<Eigen::Lower>().rankUpdate(z.transpose());
          }
          return c;
        },
        [](Eigen::MatrixXd a, const Eigen::MatrixXd& b) {
          a.triangularView<Eigen::Lower>() += b;
          return a;
        },
        cov_chunk);
    cov /= (nd - 1.0);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(cov);  // reads the lower triangle
    MLSD_REQUIRE(solver.info() == Eigen::Success, fn, "the eigen-decomposition of the covariance of ", name,
                 " did not converge");
    fit.explained_variance.resize(d);
    fit.components.resize(d * d);
    for (index_t k = 0; k < d; ++k) {
      const index_t src = d - 1 - k;  // the solver sorts ascending
      fit.explained_variance[k] = std::max(0.0, solver.eigenvalues()(src));
      const auto v = solver.eigenvectors().col(src);
      index_t arg = 0;
      for (index_t j = 1; j < d; ++j)
        if (std::abs(v(j)) > std::abs(v(arg))) arg = j;
      const double sign = v(arg) < 0 ? -1.0 : 1.0;
      for (index_t j = 0; j < d; ++j) fit.components[k * d + j] = sign * v(j);
    }
    return fit;
  });
}

std::vector<double> reconstruction_errors(std::span<const double> x, index_t n_features, std::span<const double> mean,
                                          std::span<const double> scale, std::span<const double> components,
                                          std::string_view name) {
  constexpr const char* fn = "reconstruction_errors";
  check_shape(fn, x, n_features, name);
  const index_t d = n_features;
  const index_t n = static_cast<index_t>(x.size()) / d;
  MLSD_REQUIRE(static_cast<index_t>(mean.size()) == d && static_cast<index_t>(scale.size()) == d, fn,
               "mean and scale must have one value per column of ", name, " (", d, ")");
  MLSD_REQUIRE(!components.empty() && static_cast<index_t>(components.size()) % d == 0, fn,
               "components must hold k >= 1 rows of ", d, " values");
  const index_t k = static_cast<index_t>(components.size()) / d;
  std::vector<double> inv_scale(d);
  for (index_t j = 0; j < d; ++j) {
    MLSD_REQUIRE(std::isfinite(mean[j]) && std::isfinite(scale[j]) && scale[j] > 0, fn,
                 "mean and scale must be finite and scale > 0");
    inv_scale[j] = 1.0 / scale[j];
  }
  const Eigen::Map<const RowMatrix> w(components.data(), k, d);
  std::vector<double> out(static_cast<std::size_t>(n));
  const index_t n_blocks = (n + kBlockRows - 1) / kBlockRows;
  std::vector<index_t> bad(static_cast<std::size_t>(n_blocks), -1);  // first infinite value per block
  run_in_arena([&] {
    tbb::parallel_for(tbb::blocked_range<index_t>(0, n_blocks), [&](const tbb::blocked_range<index_t>& r) {
      RowMatrix z, y, rest;
      for (index_t blk = r.begin(); blk != r.end(); ++blk) {
        const index_t b = blk * kBlockRows, e = std::min(n, b + kBlockRows);
        for (index_t i = b * d; i < e * d; ++i)
          if (std::isinf(x[i])) {
            bad[blk] = i;
            break;
          }
        if (bad[blk] >= 0) continue;
        standardise(x.data(), d, b, e, mean.data(), inv_scale.data(), z);
        y.noalias() = z * w.transpose();
        rest = z;
        rest.noalias() -= y * w;
        for (index_t i = 0; i < e - b; ++i) out[b + i] = rest.row(i).norm();
      }
    });
  });
  for (index_t i : bad)
    if (i >= 0)
      detail::throw_invalid(fn, name, " must not contain infinite values; found ", x[i], " at row ", i / d, ", column ",
                            i % d);
  return out;
}

}  // namespace mlsd::monitoring
