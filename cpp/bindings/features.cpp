#include "common.hpp"
#include "mlsd/features.hpp"

namespace mlsd::bindings {

namespace mf = mlsd::features;
using i64 = carray<std::int64_t>;

void register_features(py::module_& m) {
  m.def(
      "sort_order",
      [](const i64& codes, const i64& times, const std::optional<i64>& tie) {
        return to_numpy(call_without_gil(mf::sort_order_in_arena, codes, times, tie));
      },
      py::arg("codes"), py::arg("times"), py::arg("tie") = py::none());
  m.def(
      "asof_match",
      [](const i64& spine_codes, const i64& spine_times, const i64& feature_codes, const i64& feature_times,
         const std::optional<i64>& created, bool allow_exact_matches, std::optional<std::int64_t> ttl) {
        const mf::AsofOptions options{allow_exact_matches, ttl.has_value(), ttl.value_or(0)};
        return to_numpy(call_without_gil(
            [&](auto sc, auto st, auto fc, auto ft, auto cr) { return mf::asof_match(sc, st, fc, ft, cr, options); },
            spine_codes, spine_times, feature_codes, feature_times, created));
      },
      py::arg("spine_codes"), py::arg("spine_times"), py::arg("feature_codes"), py::arg("feature_times"),
      py::arg("created"), py::arg("allow_exact_matches"), py::arg("ttl"));
  m.def(
      "take_rows",
      [](const i64& rows, const std::vector<py::array>& columns, const std::vector<std::uint64_t>& fills) {
        std::vector<py::array> held;  // C-contiguous (copied only when not already)
        std::vector<mf::TakeColumn> cols;
        for (std::size_t k = 0; k < columns.size(); ++k) {
          held.push_back(py::array::ensure(columns[k], py::array::c_style));
          cols.push_back({held.back().data(), static_cast<std::int64_t>(held.back().size()),
                          static_cast<int>(held.back().itemsize()), fills.at(k)});
        }
        auto out = call_without_gil([&](auto r) { return mf::take_rows(r, cols); }, rows);
        py::list result;
        for (auto& b : out) result.append(to_numpy(std::move(b)));
        return result;
      },
      py::arg("rows"), py::arg("columns"), py::arg("fills"));
}

}  // namespace mlsd::bindings
