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
}

}  // namespace mlsd::bindings
