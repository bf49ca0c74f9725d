#include <string>
#include <vector>

#include "common.hpp"
#include "mlsd/abtest.hpp"

namespace mlsd::bindings {

namespace ma = mlsd::abtest;
using f64 = carray<double>;
using i64 = carray<std::int64_t>;

namespace {

// Moments travel to Python as (n, mean[k], comoment[k, k]); Python merges batches through merge_moments.
py::tuple to_python(const ma::Moments& m) {
  f64 mean(m.k);
  f64 com({m.k, m.k});
  for (int i = 0; i < m.k; ++i) {
    mean.mutable_at(i) = m.mean[i];
    for (int j = 0; j < m.k; ++j) com.mutable_at(i, j) = m.comoment[i][j];
  }
  return py::make_tuple(m.n, mean, com);
}

}  // namespace

void register_abtest(py::module_& m) {
  m.def(
      "moments",
      [](const std::vector<f64>& columns, const std::vector<std::string>& names) {
        std::vector<std::span<const double>> views;
        for (const auto& c : columns) views.push_back(view(c));
        return to_python(without_gil([&] { return ma::moments(views, names); }));
      },
      py::arg("columns"), py::arg("names"));
  m.def(
      "merge_moments",
      [](int k, const f64& n_a, const f64& mean_a, const f64& com_a, const f64& n_b, const f64& mean_b,
         const f64& com_b) {
        f64 n(n_a.size()), mean(mean_a.size()), com(com_a.size());
        without_gil([&] {
          ma::merge_batch(k, view(n_a), view(mean_a), view(com_a), view(n_b), view(mean_b), view(com_b),
                          mutable_view(n), mutable_view(mean), mutable_view(com));
        });
        return py::make_tuple(n, mean, com);
      },
      py::arg("k"), py::arg("n_a").noconvert(), py::arg("mean_a").noconvert(), py::arg("comoment_a").noconvert(),
      py::arg("n_b").noconvert(), py::arg("mean_b").noconvert(), py::arg("comoment_b").noconvert());
  m.def(
      "mann_whitney_u_rows",
      [](const f64& x, const f64& y, std::int64_t n_rows) {
        auto r = call_without_gil([&](auto xv, auto yv) { return ma::mann_whitney_u_rows(xv, yv, n_rows); }, x, y);
        return numpy_tuple(std::move(r.u_x), std::move(r.tie_term), std::move(r.n_x), std::move(r.n_y));
      },
      py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("n_rows"));
  m.def(
      "signed_ranks_rows",
      [](const f64& d, std::int64_t n_rows) {
        auto r = call_without_gil([&](auto dv) { return ma::signed_ranks_rows(dv, n_rows); }, d);
        return numpy_tuple(std::move(r.r_plus), std::move(r.tie_term), std::move(r.n_pos), std::move(r.n_neg),
                           std::move(r.n_zero));
      },
      py::arg("d").noconvert(), py::arg("n_rows"));
  m.def(
      "bootstrap_sums",
      [](const f64& y, const std::optional<f64>& d, std::int64_t n_resamples, std::uint64_t seed, std::uint64_t stream,
         std::int64_t first, std::int64_t first_row, const std::optional<i64>& keys) {
        auto r = call_without_gil(
            [&](auto yv, auto dv, auto kv) {
              return ma::bootstrap_sums(yv, dv, n_resamples, seed, stream, first, {first_row, kv});
            },
            y, d, keys);
        return numpy_tuple(std::move(r.weight), std::move(r.y), std::move(r.d));
      },
      py::arg("y").noconvert(), py::arg("d").noconvert(), py::arg("n_resamples"), py::arg("seed"), py::arg("stream"),
      py::arg("first_resample"), py::arg("first_row") = 0, py::arg("keys").noconvert() = py::none());
  m.def(
      "bootstrap_quantiles",
      [](const f64& sorted, const f64& probs, std::int64_t n_resamples, std::uint64_t seed, std::uint64_t stream,
         std::int64_t first, const std::optional<i64>& keys) {
        return to_numpy(call_without_gil(
            [&](auto s, auto p, auto kv) {
              return ma::bootstrap_quantiles(s, p, n_resamples, seed, stream, first, {0, kv});
            },
            sorted, probs, keys));
      },
      py::arg("sorted").noconvert(), py::arg("probs").noconvert(), py::arg("n_resamples"), py::arg("seed"),
      py::arg("stream"), py::arg("first_resample"), py::arg("keys").noconvert() = py::none());
}

}  // namespace mlsd::bindings
