#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "mlsd/common/parallel.hpp"
#include "mlsd/monitoring.hpp"

namespace mm = mlsd::monitoring;
using dv = std::vector<double>;

namespace {

// n rows of (a, 2a + 1): after standardisation both columns are the same z.
dv collinear(std::size_t n) {
  dv x;
  for (std::size_t i = 0; i < n; ++i) {
    const double a = static_cast<double>(i % 7) - 3.0;
    x.push_back(a);
    x.push_back(2.0 * a + 1.0);
  }
  return x;
}

}  // namespace

TEST(MonitoringPca, CollinearColumnsHaveOneAxis) {
  const std::size_t n = 700;
  const dv x = collinear(n);
  const auto fit = mm::pca_fit(x, 2);
  // a = i % 7 - 3 takes -3..3 equally often: mean 0, population variance 4.
  EXPECT_NEAR(fit.mean[0], 0.0, 1e-12);
  EXPECT_NEAR(fit.mean[1], 1.0, 1e-12);
  EXPECT_NEAR(fit.scale[0], 2.0, 1e-12);
  EXPECT_NEAR(fit.scale[1], 4.0, 1e-12);
  // cov(z) = [[c, c], [c, c]] with c = n / (n - 1): eigenvalues 2c and 0, first axis (1, 1) / sqrt(2).
  const double c = static_cast<double>(n) / static_cast<double>(n - 1);
  EXPECT_NEAR(fit.explained_variance[0], 2.0 * c, 1e-12);
  EXPECT_NEAR(fit.explained_variance[1], 0.0, 1e-12);
  EXPECT_NEAR(fit.components[0], std::sqrt(0.5), 1e-12);
  EXPECT_NEAR(fit.components[1], std::sqrt(0.5), 1e-12);

  const dv axis(fit.components.begin(), fit.components.begin() + 2);
  const auto ref = mm::reconstruction_errors(x, 2, fit.mean, fit.scale, axis);
  for (double e : ref) EXPECT_NEAR(e, 0.0, 1e-12);
  // (a, -2a + 1) standardises to (z, -z): entirely off the axis, error |z| sqrt(2); NaN -> z = 0.
  const dv flipped = {3.0, -5.0, NAN, NAN, NAN, 1.0};
  const auto err = mm::reconstruction_errors(flipped, 2, fit.mean, fit.scale, axis);
  EXPECT_NEAR(err[0], 1.5 * std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(err[1], 0.0, 1e-15);
  EXPECT_NEAR(err[2], 0.0, 1e-15);  // (0, 0) is on the axis
}

TEST(MonitoringPca, ConstantColumnKeepsScaleOne) {
  dv x;
  for (int i = 0; i < 10; ++i) {
    x.push_back(i);
    x.push_back(5.0);
  }
  const auto fit = mm::pca_fit(x, 2);
  EXPECT_EQ(fit.scale[1], 1.0);
  EXPECT_EQ(fit.mean[1], 5.0);
}

TEST(MonitoringPca, ResultsDoNotDependOnThreads) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> g;
  const std::int64_t d = 13;
  dv x(150000 * d);
  for (auto& v : x) v = g(rng);
  for (std::size_t i = 0; i < x.size(); i += d) x[i + 1] += 0.5 * x[i];
  mlsd::set_num_threads(1);
  const auto one = mm::pca_fit(x, d);
  const dv w(one.components.begin(), one.components.begin() + 4 * d);
  const auto e1 = mm::reconstruction_errors(x, d, one.mean, one.scale, w);
  mlsd::set_num_threads(0);
  const auto all = mm::pca_fit(x, d);
  const auto e2 = mm::reconstruction_errors(x, d, all.mean, all.scale, w);
  EXPECT_EQ(one.mean, all.mean);
  EXPECT_EQ(one.scale, all.scale);
  EXPECT_EQ(one.explained_variance, all.explained_variance);
  EXPECT_EQ(one.components, all.components);
  EXPECT_EQ(e1, e2);
}

TEST(MonitoringPca, BadInputThrowsNamingTheArgument) {
  const dv x = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0};
  EXPECT_THROW(mm::pca_fit(x, 4), std::invalid_argument);   // not whole rows
  EXPECT_THROW(mm::pca_fit(x, 6), std::invalid_argument);   // one row
  EXPECT_THROW(mm::pca_fit(x, 0), std::invalid_argument);
  const dv inf = {1.0, 2.0, INFINITY, 4.0};
  try {
    mm::pca_fit(inf, 2);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("x must not contain infinite values; found inf at row 1, column 0"), std::string::npos) << e.what();
  }
  const dv all_nan = {1.0, NAN, 2.0, NAN};
  EXPECT_THROW(mm::pca_fit(all_nan, 2), std::invalid_argument);
  const auto fit = mm::pca_fit(x, 2);
  EXPECT_THROW(mm::reconstruction_errors(x, 2, fit.mean, fit.scale, {}), std::invalid_argument);
  EXPECT_THROW(mm::reconstruction_errors(x, 2, dv{0.0}, fit.scale, fit.components), std::invalid_argument);
  EXPECT_THROW(mm::reconstruction_errors(inf, 2, fit.mean, fit.scale, fit.components), std::invalid_argument);
}
