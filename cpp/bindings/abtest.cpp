#include <string>
#include <vector>

#include "common.hpp"
#include "mlsd/abtest.hpp"

namespace mlsd::bindings {

namespace ma = mlsd::abtest;
using f64 = carray<double>;

namespace {

// Moments travel to and from Python as (n, mean[k], comoment[k, k]).
py::tuple to_python(const ma::Moments& m) {
  f64 mean(m.k);
  f64 com({m.k, m.k});
  for (int i = 0; i < m.k; ++i) {
    mean.mutable_at(i) = m.mean[i];
    for (int j = 0; j < m.k; ++j) com.mutable_at(i, j) = m.comoment[i][j];
  }
  return py::make_tuple(m.n, mean, com);
}

ma::Moments from_python(double n, const f64& mean, const f64& com) {
  ma::Moments m;
  m.k = static_cast<int>(mean.size());
  if (m.k < 1 || m.k > ma::kMaxColumns || com.ndim() != 2 || com.shape(0) != m.k || com.shape(1) != m.k)
    throw std::invalid_argument("merge: mean must have 1 to 4 entries and comoment be k x k");
  m.n = n;
  for (int i = 0; i < m.k; ++i) {
    m.mean[i] = mean.at(i);
    for (int j = 0; j < m.k; ++j) m.comoment[i][j] = com.at(i, j);
  }
  return m;
}

}  // namespace

void register_abtest(py::module_& m) {
  m.def(
      "moments",
      [](const std::vector<f64>& columns, const std::vector<std::string>& names) {
        std::vector<std::span<const double>> views;
        for (const auto& c : columns) views.push_back(view(c));
        ma::Moments r;
        {
          py::gil_scoped_release release;
          r = ma::moments(views, names);
        }
        return to_python(r);
      },
      py::arg("columns"), py::arg("names"));
  m.def(
      "merge",
      [](double na, const f64& ma_, const f64& ca, double nb, const f64& mb, const f64& cb) {
        return to_python(ma::merge(from_python(na, ma_, ca), from_python(nb, mb, cb)));
      },
      py::arg("n_a"), py::arg("mean_a").noconvert(), py::arg("comoment_a").noconvert(), py::arg("n_b"),
      py::arg("mean_b").noconvert(), py::arg("comoment_b").noconvert());
  m.def(
      "mann_whitney_u",
      [](const f64& x, const f64& y) {
        auto r = call_without_gil(ma::mann_whitney_u, x, y);
        return py::make_tuple(r.u_x, r.tie_term);
      },
      py::arg("x").noconvert(), py::arg("y").noconvert());
}

}  // namespace mlsd::bindings
