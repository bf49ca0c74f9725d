#include <cmath>
#include <string>

#include "mlsd/abtest.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"

namespace mlsd::abtest {

Moments merge(const Moments& a, const Moments& b) {
  MLSD_REQUIRE(a.k == b.k, "merge", "cannot merge statistics of ", a.k, " and ", b.k, " columns");
  if (a.n == 0.0) return b;
  if (b.n == 0.0) return a;
  Moments out;
  out.k = a.k;
  out.n = a.n + b.n;
  std::array<double, kMaxColumns> delta{};
  const double wb = b.n / out.n;
  for (int i = 0; i < a.k; ++i) {
    delta[i] = b.mean[i] - a.mean[i];
    out.mean[i] = a.mean[i] + delta[i] * wb;
  }
  const double f = a.n * wb;  // n_a n_b / n
  for (int i = 0; i < a.k; ++i)
    for (int j = 0; j < a.k; ++j) out.comoment[i][j] = a.comoment[i][j] + b.comoment[i][j] + delta[i] * delta[j] * f;
  return out;
}

void merge_batch(int k, std::span<const double> n_a, std::span<const double> mean_a,
                 std::span<const double> comoment_a, std::span<const double> n_b, std::span<const double> mean_b,
                 std::span<const double> comoment_b, std::span<double> n_out, std::span<double> mean_out,
                 std::span<double> comoment_out) {
  constexpr const char* fn = "merge_batch";
  MLSD_REQUIRE(k >= 1 && k <= kMaxColumns, fn, "between 1 and ", kMaxColumns, " columns are supported; got ", k);
  const auto m = n_a.size();
  const auto kk = static_cast<std::size_t>(k);
  MLSD_REQUIRE(n_b.size() == m && n_out.size() == m && mean_a.size() == m * kk && mean_b.size() == m * kk &&
                   mean_out.size() == m * kk && comoment_a.size() == m * kk * kk &&
                   comoment_b.size() == m * kk * kk && comoment_out.size() == m * kk * kk,
               fn, "the arrays of the two sides must describe the same batch of ", k, "-column statistics");
  for (std::size_t r = 0; r < m; ++r) {
    Moments a, b;
    a.k = b.k = k;
    a.n = n_a[r];
    b.n = n_b[r];
    for (std::size_t i = 0; i < kk; ++i) {
      a.mean[i] = mean_a[r * kk + i];
      b.mean[i] = mean_b[r * kk + i];
      for (std::size_t j = 0; j < kk; ++j) {
        a.comoment[i][j] = comoment_a[(r * kk + i) * kk + j];
        b.comoment[i][j] = comoment_b[(r * kk + i) * kk + j];
      }
    }
    const Moments c = merge(a, b);
    n_out[r] = c.n;
    for (std::size_t i = 0; i < kk; ++i) {
      mean_out[r * kk + i] = c.mean[i];
      for (std::size_t j = 0; j < kk; ++j) comoment_out[(r * kk + i) * kk + j] = c.comoment[i][j];
    }
  }
}

namespace {

struct Partial {
  Moments m;
  std::int64_t bad_row = -1;  // first non-finite value of the chunk, if any
  int bad_col = 0;
};

// Two passes over one cache-resident chunk: exact-as-possible centring before the products.
Partial chunk_moments(std::span<const std::span<const double>> cols, std::int64_t b, std::int64_t e) {
  Partial p;
  Moments& m = p.m;
  m.k = static_cast<int>(cols.size());
  m.n = static_cast<double>(e - b);
  for (int j = 0; j < m.k; ++j) {
    const double* c = cols[j].data();
    double s = 0.0;
    for (std::int64_t r = b; r < e; ++r) s += c[r];
    if (!std::isfinite(s)) {
      for (std::int64_t r = b; r < e; ++r)
        if (!std::isfinite(c[r])) {
          if (p.bad_row < 0 || r < p.bad_row) {
            p.bad_row = r;
            p.bad_col = j;
          }
          break;
        }
    }
    m.mean[j] = s / m.n;
  }
  if (p.bad_row >= 0) return p;
  // Corrected two-pass algorithm (Chan, Golub and LeVeque 1983): the residual sums d_i of
  // (c_i - mean_i) remove the rounding error of the first-pass means from both the means and the
  // centred products, which matters when the mean is large against the spread.
  std::array<double, kMaxColumns> d{};
  for (int i = 0; i < m.k; ++i) {
    const double* ci = cols[i].data();
    const double mi = m.mean[i];
    double s = 0.0;
    for (std::int64_t r = b; r < e; ++r) s += ci[r] - mi;
    d[i] = s;
  }
  for (int i = 0; i < m.k; ++i) {
    const double* ci = cols[i].data();
    const double mi = m.mean[i];
    for (int j = i; j < m.k; ++j) {
      const double* cj = cols[j].data();
      const double mj = m.mean[j];
      double s = 0.0;
      for (std::int64_t r = b; r < e; ++r) s += (ci[r] - mi) * (cj[r] - mj);
      m.comoment[i][j] = m.comoment[j][i] = s - d[i] * d[j] / m.n;
    }
  }
  for (int i = 0; i < m.k; ++i) m.mean[i] += d[i] / m.n;
  return p;
}

}  // namespace

Moments moments(std::span<const std::span<const double>> columns, std::span<const std::string> names) {
  constexpr const char* fn = "moments";
  const int k = static_cast<int>(columns.size());
  MLSD_REQUIRE(k >= 1 && k <= kMaxColumns, fn, "between 1 and ", kMaxColumns, " columns are supported; got ", k);
  auto name = [&](int j) { return j < static_cast<int>(names.size()) ? names[j] : "column " + std::to_string(j); };
  const auto n = static_cast<std::int64_t>(columns[0].size());
  for (int j = 1; j < k; ++j)
    MLSD_REQUIRE(static_cast<std::int64_t>(columns[j].size()) == n, fn, name(j), " has ", columns[j].size(),
                 " elements but ", name(0), " has ", n);
  Partial empty;
  empty.m.k = k;
  const Partial total = run_in_arena([&] {
    return detail::ordered_reduce(
        n, empty, [&](std::int64_t b, std::int64_t e) { return chunk_moments(columns, b, e); },
        [](Partial a, const Partial& b) {
          if (a.bad_row >= 0) return a;
          if (b.bad_row >= 0) return b;
          a.m = merge(a.m, b.m);
          return a;
        });
  });
  if (total.bad_row >= 0)
    detail::throw_invalid(fn, name(total.bad_col), " must be finite; found ",
                          columns[total.bad_col][total.bad_row], " at index ", total.bad_row);
  for (int i = 0; i < k; ++i)
    MLSD_REQUIRE(std::isfinite(total.m.comoment[i][i]), fn, name(i),
                 " is too large: its sum of squares overflows a double");
  return total.m;
}

}  // namespace mlsd::abtest
