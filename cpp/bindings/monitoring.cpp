#include <optional>
#include <vector>

#include "common.hpp"
#include "mlsd/monitoring.hpp"

namespace mlsd::bindings {

namespace mm = mlsd::monitoring;
using f64 = carray<double>;
using i64 = carray<std::int64_t>;

namespace {

std::vector<std::span<const double>> views(const std::vector<f64>& columns) {
  std::vector<std::span<const double>> out;
  out.reserve(columns.size());
  for (const auto& c : columns) out.push_back(view(c));
  return out;
}

// Per-column results travel as a dict of arrays (one entry per column) plus lists of bin arrays.
py::dict to_python(std::vector<mm::ColumnDrift>&& r) {
  const std::size_t m = r.size();
  i64 n_ref(m), n_cur(m), miss_ref(m), miss_cur(m), uniq(m);
  f64 greater(m), less(m), wass(m), mean(m), std_(m);
  py::list edges, ref_counts, cur_counts;
  for (std::size_t c = 0; c < m; ++c) {
    auto& d = r[c];
    n_ref.mutable_at(c) = d.n_ref;
    n_cur.mutable_at(c) = d.n_cur;
    miss_ref.mutable_at(c) = d.missing_ref;
    miss_cur.mutable_at(c) = d.missing_cur;
    uniq.mutable_at(c) = d.unique_ref;
    greater.mutable_at(c) = d.ks_greater;
    less.mutable_at(c) = d.ks_less;
    wass.mutable_at(c) = d.wasserstein;
    mean.mutable_at(c) = d.ref_mean;
    std_.mutable_at(c) = d.ref_std;
    edges.append(to_numpy(std::move(d.edges)));
    ref_counts.append(to_numpy(std::move(d.ref_counts)));
    cur_counts.append(to_numpy(std::move(d.cur_counts)));
  }
  py::dict out;
  out["n_ref"] = n_ref;
  out["n_cur"] = n_cur;
  out["missing_ref"] = miss_ref;
  out["missing_cur"] = miss_cur;
  out["unique_ref"] = uniq;
  out["ks_greater"] = greater;
  out["ks_less"] = less;
  out["wasserstein"] = wass;
  out["ref_mean"] = mean;
  out["ref_std"] = std_;
  out["edges"] = edges;
  out["ref_counts"] = ref_counts;
  out["cur_counts"] = cur_counts;
  return out;
}

}  // namespace

void register_monitoring(py::module_& m) {
  m.def(
      "sort_columns",
      [](const std::vector<f64>& columns) {
        auto v = views(columns);
        auto sorted = without_gil([&] { return mm::sort_columns(v); });
        py::list values;
        i64 missing(sorted.size());
        for (std::size_t c = 0; c < sorted.size(); ++c) {
          missing.mutable_at(c) = sorted[c].n_missing;
          values.append(to_numpy(std::move(sorted[c].values)));
        }
        return py::make_tuple(values, missing);
      },
      py::arg("columns"));
  m.def(
      "drift_columns",
      [](const std::vector<f64>& reference, const std::vector<f64>& current, bool reference_sorted,
         const std::vector<f64>& edges, int n_bins) {
        auto r = views(reference), c = views(current), e = views(edges);
        return to_python(without_gil([&] { return mm::drift_columns(r, c, reference_sorted, e, n_bins); }));
      },
      py::arg("reference"), py::arg("current"), py::arg("reference_sorted"), py::arg("edges"), py::arg("n_bins"));
  m.def(
      "moments",
      [](const f64& sorted_values) {
        const auto x = view(sorted_values);
        const mm::Moments r = without_gil([&] { return mm::moments(x); });
        return py::make_tuple(static_cast<std::int64_t>(r.n), r.mean, r.m2, r.e);
      },
      py::arg("sorted_values"));
  m.def(
      "ks_exact_sf",
      [](const i64& n1, const i64& n2, const i64& h, bool two_sided) {
        return to_numpy(call_without_gil(
            [&](auto a, auto b, auto c) { return mm::ks_exact_sf_batch(a, b, c, two_sided); }, n1, n2, h));
      },
      py::arg("n1").noconvert(), py::arg("n2").noconvert(), py::arg("h").noconvert(), py::arg("two_sided"));
  m.def(
      "smirnov_sf",
      [](const i64& n, const f64& x) { return to_numpy(call_without_gil(mm::smirnov_sf_batch, n, x)); },
      py::arg("n").noconvert(), py::arg("x").noconvert());
  m.def(
      "wasserstein_distance",
      [](const f64& u, const f64& v, const std::optional<f64>& uw, const std::optional<f64>& vw) {
        return call_without_gil(mm::wasserstein_distance, u, v, uw, vw);
      },
      py::arg("u").noconvert(), py::arg("v").noconvert(), py::arg("u_weights").noconvert() = py::none(),
      py::arg("v_weights").noconvert() = py::none());
}

}  // namespace mlsd::bindings
