#include <string>

#include "common.hpp"
#include "mlsd/monitoring.hpp"

namespace mlsd::bindings {

namespace mm = mlsd::monitoring;
using f64 = carray<double>;

void register_monitoring_pca(py::module_& m) {
  m.def(
      "pca_fit",
      [](const f64& x, std::int64_t n_features, const std::string& name) {
        auto fit = call_without_gil([&](auto xv) { return mm::pca_fit(xv, n_features, name); }, x);
        return numpy_tuple(std::move(fit.mean), std::move(fit.scale), std::move(fit.explained_variance),
                           std::move(fit.components));
      },
      py::arg("x").noconvert(), py::arg("n_features"), py::arg("name"));
  m.def(
      "reconstruction_errors",
      [](const f64& x, std::int64_t n_features, const f64& mean, const f64& scale, const f64& components,
         const std::string& name) {
        return to_numpy(call_without_gil(
            [&](auto xv, auto mv, auto sv, auto cv) { return mm::reconstruction_errors(xv, n_features, mv, sv, cv, name); },
            x, mean, scale, components));
      },
      py::arg("x").noconvert(), py::arg("n_features"), py::arg("mean").noconvert(), py::arg("scale").noconvert(),
      py::arg("components").noconvert(), py::arg("name"));
}

}  // namespace mlsd::bindings
