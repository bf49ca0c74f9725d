// See hashing_input.hpp.  The GIL is held throughout except around the flat-layout kernels.
#include "hashing_input.hpp"

#include <Python.h>

#include <string_view>

namespace mlsd::bindings::adapters {

namespace mh = mlsd::hashing;

namespace {

struct Flat {
  std::vector<char> data;
  std::vector<std::int64_t> offsets{0};
  std::vector<double> values;
  std::vector<std::int64_t> row_indptr{0};

  void push_bytes(const char* p, Py_ssize_t n, double v) {
    data.insert(data.end(), p, p + n);
    offsets.push_back(static_cast<std::int64_t>(data.size()));
    values.push_back(v);
  }
};

// UTF-8 bytes of a str without building Python's cached UTF-8 copy when the string is ASCII.
inline const char* utf8_of(PyObject* s, Py_ssize_t* n) {
  if (PyUnicode_IS_COMPACT_ASCII(s)) {
    *n = PyUnicode_GET_LENGTH(s);
    return static_cast<const char*>(PyUnicode_DATA(s));
  }
  const char* p = PyUnicode_AsUTF8AndSize(s, n);
  if (p == nullptr) throw py::error_already_set();
  return p;
}

// Calls f(item) for each element: lists and tuples by index, anything else through iteration.
template <class F>
void for_each_item(py::handle seq, F&& f) {
  PyObject* o = seq.ptr();
  if (PyList_Check(o) || PyTuple_Check(o)) {
    const bool list = PyList_Check(o);
    for (Py_ssize_t i = 0; i < (list ? PyList_GET_SIZE(o) : PyTuple_GET_SIZE(o)); ++i)
      f(list ? PyList_GET_ITEM(o, i) : PyTuple_GET_ITEM(o, i));
  } else {
    for (py::handle item : py::reinterpret_borrow<py::iterable>(seq)) f(item.ptr());
  }
}

// One feature, by scikit-learn's rules: a str value v turns the name into "%s=%s" % (f, v) with
// value 1; otherwise the value is float(v) and the name must be str (hashed as UTF-8) or bytes.
void add_feature(Flat& flat, PyObject* f, PyObject* v) {
  if (PyUnicode_Check(v)) {
    py::str name = py::str(py::handle(f)) + py::str("=") + py::reinterpret_borrow<py::str>(v);
    Py_ssize_t n = 0;
    const char* p = utf8_of(name.ptr(), &n);
    flat.push_bytes(p, n, 1.0);
    return;
  }
  const double value = PyFloat_AsDouble(v);
  if (value == -1.0 && PyErr_Occurred()) throw py::error_already_set();
  if (PyUnicode_Check(f)) {
    Py_ssize_t n = 0;
    const char* p = utf8_of(f, &n);
    flat.push_bytes(p, n, value);
  } else if (PyBytes_Check(f)) {
    flat.push_bytes(PyBytes_AS_STRING(f), PyBytes_GET_SIZE(f), value);
  } else {
    throw py::type_error("feature names must be strings");
  }
}

void add_pair(Flat& flat, PyObject* item) {
  py::object seq = py::reinterpret_steal<py::object>(PySequence_Fast(item, ""));
  if (!seq) {
    PyErr_Clear();
    throw py::type_error(std::string("cannot unpack non-iterable ") + Py_TYPE(item)->tp_name + " object");
  }
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.ptr());
  if (n != 2) {
    if (n > 2) throw py::value_error("too many values to unpack (expected 2)");
    throw py::value_error("not enough values to unpack (expected 2, got " + std::to_string(n) + ")");
  }
  add_feature(flat, PySequence_Fast_GET_ITEM(seq.ptr(), 0), PySequence_Fast_GET_ITEM(seq.ptr(), 1));
}

Flat flatten(py::handle raw_x, FeatureInput input_type) {
  Flat flat;
  static PyObject* one = PyFloat_FromDouble(1.0);
  bool first = true;
  // Growing the output geometrically copies it several times; once the first rows are read,
  // reserve for the whole input when its length is known.
  const Py_ssize_t n_rows_hint = PyObject_LengthHint(raw_x.ptr(), 0);
  if (n_rows_hint < 0) throw py::error_already_set();
  for (py::handle row : py::reinterpret_borrow<py::iterable>(raw_x)) {
    if (flat.row_indptr.size() == 65 && n_rows_hint > 64) {
      const double per_row = static_cast<double>(flat.values.size()) / 64.0;
      const double bytes_per = flat.values.empty() ? 0.0 : static_cast<double>(flat.data.size()) / flat.values.size();
      const auto items = static_cast<std::size_t>(per_row * static_cast<double>(n_rows_hint) * 1.05);
      flat.values.reserve(items);
      flat.offsets.reserve(items + 1);
      flat.data.reserve(static_cast<std::size_t>(static_cast<double>(items) * bytes_per));
      flat.row_indptr.reserve(static_cast<std::size_t>(n_rows_hint) + 1);
    }
    if (input_type == FeatureInput::string && first && PyUnicode_Check(row.ptr()))
      throw py::value_error("Samples can not be a single string. The input must be an iterable over iterables of strings.");
    first = false;
    switch (input_type) {
      case FeatureInput::dict:
        if (PyDict_Check(row.ptr())) {
          PyObject *k, *v;
          Py_ssize_t pos = 0;
          while (PyDict_Next(row.ptr(), &pos, &k, &v)) add_feature(flat, k, v);
        } else {  // a Mapping that is not a dict: iterate its items()
          for (py::handle kv : row.attr("items")()) add_pair(flat, kv.ptr());
        }
        break;
      case FeatureInput::pair: for_each_item(row, [&](PyObject* item) { add_pair(flat, item); }); break;
      case FeatureInput::string: for_each_item(row, [&](PyObject* name) { add_feature(flat, name, one); }); break;
    }
    flat.row_indptr.push_back(static_cast<std::int64_t>(flat.values.size()));
  }
  return flat;
}

// Row r of a list of exact lists/tuples: its item array and length (false for any other row type).
bool row_items(PyObject* raw, std::int64_t r, PyObject*** items, Py_ssize_t* n) {
  PyObject* row = PyList_GET_ITEM(raw, static_cast<Py_ssize_t>(r));
  if (PyList_CheckExact(row)) {
    *items = reinterpret_cast<PyListObject*>(row)->ob_item;
    *n = PyList_GET_SIZE(row);
  } else if (PyTuple_CheckExact(row)) {
    *items = reinterpret_cast<PyTupleObject*>(row)->ob_item;
    *n = PyTuple_GET_SIZE(row);
  } else {
    return false;
  }
  return true;
}

bool is_ascii_str(PyObject* s) { return PyUnicode_CheckExact(s) && PyUnicode_IS_COMPACT_ASCII(s); }

// String rows read in place by the library's worker threads.  Safe without per-object locking
// because the calling thread holds the GIL for the whole call, so no Python code can run to mutate
// or free these objects, and the workers only read immutable fields (list items, str length and
// data) without calling into the C API.
mh::KeyRows ascii_key_rows(PyObject* list) {
  mh::KeyRows rows;
  rows.n_rows = PyList_GET_SIZE(list);
  rows.size = [list](std::int64_t r) -> std::int64_t {
    PyObject** items;
    Py_ssize_t n;
    return row_items(list, r, &items, &n) ? n : -1;
  };
  rows.read = [list](std::int64_t r, std::string_view* keys) {
    PyObject** items;
    Py_ssize_t n;
    row_items(list, r, &items, &n);
    for (Py_ssize_t j = 0; j < n; ++j) {
      if (!is_ascii_str(items[j])) return false;
      keys[j] = {static_cast<const char*>(PyUnicode_DATA(items[j])),
                 static_cast<std::size_t>(PyUnicode_GET_LENGTH(items[j]))};
    }
    return true;
  };
  return rows;
}

}  // namespace

HashedFeatures hash_feature_input(py::handle raw_x, FeatureInput input_type, std::int64_t n_features,
                                  std::uint32_t seed, bool alternate_sign) {
  const bool string = input_type == FeatureInput::string;
  if (string && PyList_CheckExact(raw_x.ptr()))
    if (auto in_place = mh::hash_key_rows_summed(ascii_key_rows(raw_x.ptr()), n_features, seed, alternate_sign))
      return {std::move(*in_place), true};
  const Flat flat = flatten(raw_x, input_type);
  const mh::StringsView names{flat.data, flat.offsets};
  if (string && mh::rows_sum_exactly(flat.row_indptr))
    return {call_without_gil([&] {
              return mh::hash_features_summed(names, flat.row_indptr, n_features, seed, alternate_sign);
            }),
            true};
  return {call_without_gil([&] {
            return mh::hash_features(names, flat.values, flat.row_indptr, n_features, seed, alternate_sign);
          }),
          false};
}

ObjectStrings strings_from_objects(const py::sequence& values, const std::string& column) {
  ObjectStrings out;
  const auto n = static_cast<std::size_t>(py::len(values));
  out.valid.reserve(n);
  out.offsets.reserve(n + 1);
  out.offsets.push_back(0);
  for (std::size_t i = 0; i < n; ++i) {
    py::object v = values[i];
    PyObject* o = v.ptr();
    Py_ssize_t len = 0;
    if (PyUnicode_Check(o)) {
      const char* p = utf8_of(o, &len);
      out.data.insert(out.data.end(), p, p + len);
      out.valid.push_back(1);
    } else if (o == Py_None || (PyFloat_Check(o) && PyFloat_AS_DOUBLE(o) != PyFloat_AS_DOUBLE(o)) ||
               std::string_view(Py_TYPE(o)->tp_name) == "NAType") {
      out.valid.push_back(0);
    } else {
      throw py::type_error("hash_columns: column '" + column + "' must hold strings (or missing values); found " +
                           Py_TYPE(o)->tp_name + " at row " + std::to_string(i));
    }
    out.offsets.push_back(static_cast<std::int64_t>(out.data.size()));
  }
  return out;
}

}  // namespace mlsd::bindings::adapters
