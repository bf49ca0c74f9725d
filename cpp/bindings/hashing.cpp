// Bindings for mlsd::hashing: types in, the GIL released, NumPy arrays out.  Walking Python
// objects (FeatureHasher's samples, object columns) is the adapter's job (adapters/hashing_input).
#include <optional>
#include <string>

#include "adapters/hashing_input.hpp"
#include "common.hpp"
#include "mlsd/hashing.hpp"

namespace mlsd::bindings {

namespace mh = mlsd::hashing;
namespace ad = mlsd::bindings::adapters;

namespace {

// A column of hash_columns: mh::Column's views plus the arrays they view, held so that the views
// stay valid (a converted argument is a copy that lives only here).
struct ColumnSpec : mh::Column {
  std::optional<carray<char>> data;
  std::optional<carray<std::int64_t>> offsets;
  std::optional<carray<std::int32_t>> offsets32;
  std::optional<carray<std::int64_t>> ints_array;
  std::optional<carray<std::uint8_t>> valid_array;
};

ColumnSpec make_column_spec(mh::Column::Kind kind, std::string name, std::optional<carray<char>> data,
                            std::optional<carray<std::int64_t>> offsets, std::optional<carray<std::int32_t>> offsets32,
                            std::optional<carray<std::int64_t>> ints, std::optional<carray<std::uint8_t>> valid) {
  mh::Column::check_kind(kind, "ColumnSpec");
  ColumnSpec s;
  s.kind = kind;
  s.name = std::move(name);
  s.data = std::move(data);
  s.offsets = std::move(offsets);
  s.offsets32 = std::move(offsets32);
  s.ints_array = std::move(ints);
  s.valid_array = std::move(valid);
  s.strings = {view(s.data), view(s.offsets), view(s.offsets32)};
  s.ints = view(s.ints_array);
  s.valid = view(s.valid_array);
  return s;
}

py::tuple entries_tuple(mh::HashedEntries&& r) {
  return numpy_tuple(std::move(r.indices), std::move(r.values), std::move(r.indptr));
}

}  // namespace

void register_hashing(py::module_& m) {
  py::enum_<ad::FeatureInput>(m, "FeatureInput")
      .value("dict", ad::FeatureInput::dict)
      .value("pair", ad::FeatureInput::pair)
      .value("string", ad::FeatureInput::string);
  py::enum_<mh::Column::Kind>(m, "ColumnKind")
      .value("strings", mh::Column::Kind::strings)
      .value("ints", mh::Column::Kind::ints)
      .value("dictionary", mh::Column::Kind::dictionary);
  py::class_<ColumnSpec>(m, "ColumnSpec")
      .def(py::init(&make_column_spec), py::arg("kind"), py::arg("name"), py::kw_only(), py::arg("data") = py::none(),
           py::arg("offsets") = py::none(), py::arg("offsets32") = py::none(), py::arg("ints") = py::none(),
           py::arg("valid") = py::none())
      .def_property_readonly("kind", [](const ColumnSpec& s) { return s.kind; })
      .def_property_readonly("name", [](const ColumnSpec& s) { return s.name; });

  m.def(
      "murmurhash3_32_bytes",
      [](const py::bytes& key, std::uint32_t seed) {
        const std::string_view v = key;
        return mh::murmurhash3_32(v.data(), v.size(), seed);
      },
      py::arg("key"), py::arg("seed"));
  m.def(
      "murmurhash3_32_int32",
      [](const carray<std::int32_t>& keys, std::uint32_t seed) {
        carray<std::uint32_t> out(keys.size());
        call_without_gil([seed, dst = mutable_view(out)](auto in) { mh::murmurhash3_32_int32(in, seed, dst); }, keys);
        return out;
      },
      py::arg("keys").noconvert(), py::arg("seed"));
  m.def(
      "hash_feature_input",
      [](const py::object& raw_x, ad::FeatureInput input_type, std::int64_t n_features, std::uint32_t seed,
         bool alternate_sign) {
        ad::HashedFeatures r = ad::hash_feature_input(raw_x, input_type, n_features, seed, alternate_sign);
        return py::make_tuple(entries_tuple(std::move(r.entries)), r.summed);
      },
      py::arg("raw_X"), py::arg("input_type"), py::arg("n_features"), py::arg("seed"), py::arg("alternate_sign"));
  m.def(
      "strings_from_objects",
      [](const py::sequence& values, const std::string& column) {
        ad::ObjectStrings s = ad::strings_from_objects(values, column);
        return numpy_tuple(std::move(s.data), std::move(s.offsets), std::move(s.valid));
      },
      py::arg("values"), py::arg("column"));
  m.def(
      "hash_columns",
      [](const std::vector<ColumnSpec>& specs, std::size_t n_single, const std::vector<std::vector<std::size_t>>& crosses,
         std::int64_t n_rows, std::int64_t n_features, std::uint32_t seed, bool alternate_sign) {
        const std::vector<mh::Column> columns(specs.begin(), specs.end());
        return entries_tuple(call_without_gil(
            [&] { return mh::hash_columns(columns, n_single, crosses, n_rows, n_features, seed, alternate_sign); }));
      },
      py::arg("specs"), py::arg("n_single"), py::arg("crosses"), py::arg("n_rows"), py::arg("n_features"), py::arg("seed"),
      py::arg("alternate_sign"));
  m.def(
      "sum_duplicates",
      [](const carray<std::int32_t>& indices, const carray<double>& values, const carray<std::int64_t>& indptr) {
        return entries_tuple(call_without_gil(
            [](auto i, auto v, auto p) { return mh::sum_duplicates(i, v, p); }, indices, values, indptr));
      },
      py::arg("indices").noconvert(), py::arg("values").noconvert(), py::arg("indptr").noconvert());
}

}  // namespace mlsd::bindings
