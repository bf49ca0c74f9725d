#include <string>
#include <vector>

#include "common.hpp"
#include "mlsd/features_window.hpp"

namespace mlsd::bindings {

namespace mf = mlsd::features;
using f64 = carray<double>;
using i64 = carray<std::int64_t>;

void register_features_window(py::module_& m) {
  m.def(
      "window_aggregate",
      [](const i64& entity, const i64& time, const std::vector<f64>& values, const i64& order, const i64& q_entity,
         const i64& q_time, const i64& q_order, const i64& windows, const std::string& closed, unsigned aggs) {
        std::vector<std::span<const double>> cols;
        for (const auto& v : values) cols.push_back(view(v));
        auto r = without_gil([&] {
          return mf::window_aggregate({view(entity), view(time), cols, view(order)},
                                      {view(q_entity), view(q_time), view(q_order)}, view(windows),
                                      mf::parse_closed(closed), aggs);
        });
        // (n_columns, n_queries): one row per feature column; the Python layer names them
        const auto n_rows = static_cast<py::ssize_t>(r.n_queries);
        const auto n_cols = static_cast<py::ssize_t>(r.n_columns());
        return py::array(to_numpy(std::move(r.table)).reshape({n_cols, n_rows}));
      },
      py::arg("entity").noconvert(), py::arg("time").noconvert(), py::arg("values"), py::arg("order").noconvert(),
      py::arg("query_entity").noconvert(), py::arg("query_time").noconvert(), py::arg("query_order").noconvert(),
      py::arg("windows").noconvert(), py::arg("closed"), py::arg("aggs"));
}

}  // namespace mlsd::bindings
