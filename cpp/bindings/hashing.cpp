// Bindings for mlsd::hashing.  flatten_features is the one piece here that walks Python objects:
// it turns FeatureHasher's raw_X (an iterable of dicts, of (name, value) pairs, or of strings) into
// the flat string layout the C++ kernel takes, applying scikit-learn's conversion rules per item.
// That cannot live in the pure C++ library (it needs Python objects), and doing it item by item
// in Python would cost more than the hashing itself.  The GIL is held while it reads objects and
// released for hashing.
#include <Python.h>

#include <atomic>
#include <cstring>
#include <string>

#include "common.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/hashing.hpp"

namespace mlsd::bindings {

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

// One feature, by scikit-learn's rules (sklearn/feature_extraction/_hashing_fast.pyx):
// a str value v turns the name into "%s=%s" % (f, v) with value 1; otherwise the value is
// float(v) and the name must be str (hashed as UTF-8) or bytes.
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

// Fast path for input_type="string" when raw_X is a list of lists/tuples of exact, compact-ASCII
// str objects (the common case: rows built in Python): rows are read in parallel by TBB workers.
// This is safe without per-object locking because the calling thread holds the GIL for the whole
// call, so no Python code can run to mutate or free these objects, and the workers only read
// immutable fields (list items, str length and data) without calling into the C API.  Returns
// false, having written nothing, when any object falls outside that shape; the caller then takes
// the general serial path.
// Row r of a list of exact lists/tuples: its item array and length (false for any other row type).
bool row_items(PyObject* raw, Py_ssize_t r, PyObject*** items, Py_ssize_t* n) {
  PyObject* row = PyList_GET_ITEM(raw, r);
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

bool flatten_ascii_string_rows(PyObject* raw, Flat& flat) {
  if (!PyList_CheckExact(raw)) return false;
  const Py_ssize_t n_rows = PyList_GET_SIZE(raw);
  std::vector<std::int64_t> items_at(n_rows + 1, 0), bytes_at(n_rows + 1, 0);
  std::atomic<bool> ok{true};
  mlsd::run_in_arena([&] {
    tbb::parallel_for(Py_ssize_t{0}, n_rows, [&](Py_ssize_t r) {
      PyObject** items;
      Py_ssize_t n;
      if (!ok.load(std::memory_order_relaxed) || !row_items(raw, r, &items, &n)) return ok.store(false);
      std::int64_t bytes = 0;
      for (Py_ssize_t j = 0; j < n; ++j) {
        PyObject* s = items[j];
        if (!is_ascii_str(s)) return ok.store(false);
        bytes += PyUnicode_GET_LENGTH(s);
      }
      items_at[r + 1] = n;
      bytes_at[r + 1] = bytes;
    });
  });
  if (!ok.load()) return false;
  for (Py_ssize_t r = 0; r < n_rows; ++r) {
    items_at[r + 1] += items_at[r];
    bytes_at[r + 1] += bytes_at[r];
  }
  flat.data.resize(static_cast<std::size_t>(bytes_at[n_rows]));
  flat.offsets.resize(static_cast<std::size_t>(items_at[n_rows]) + 1);
  // values stay empty: every value is 1 for string input
  flat.row_indptr.assign(items_at.begin(), items_at.end());
  mlsd::run_in_arena([&] {
    tbb::parallel_for(Py_ssize_t{0}, n_rows, [&](Py_ssize_t r) {
      PyObject** items;
      Py_ssize_t n;
      row_items(raw, r, &items, &n);
      std::int64_t pos = bytes_at[r];
      for (Py_ssize_t j = 0; j < n; ++j) {
        const Py_ssize_t len = PyUnicode_GET_LENGTH(items[j]);
        std::memcpy(flat.data.data() + pos, PyUnicode_DATA(items[j]), static_cast<std::size_t>(len));
        pos += len;
        flat.offsets[items_at[r] + j + 1] = pos;
      }
    });
  });
  return true;
}

// FeatureHasher(input_type="string") on the same shape as flatten_ascii_string_rows, hashed where
// the strings are: TBB workers read each str's bytes in place (safe for the reason given above: the
// calling thread holds the GIL throughout) and nothing is copied.  Returns None, having decided
// nothing, when the input has another shape or a row longer than 2**24 keys (where the +-1 sums
// would no longer be exact in float32); the caller then takes the general path.
py::object hash_ascii_string_rows(PyObject* raw, std::int64_t n_features, std::uint32_t seed, bool alternate_sign) {
  if (!PyList_CheckExact(raw) || PyList_GET_SIZE(raw) == 0) return py::none();
  const Py_ssize_t n_rows = PyList_GET_SIZE(raw);
  std::vector<std::int64_t> row_indptr(n_rows + 1, 0);
  std::atomic<bool> ok{true};
  mlsd::run_in_arena([&] {
    tbb::parallel_for(Py_ssize_t{0}, n_rows, [&](Py_ssize_t r) {
      PyObject** items;
      Py_ssize_t n;
      if (!row_items(raw, r, &items, &n) || n > (Py_ssize_t{1} << 24)) return ok.store(false);
      row_indptr[r + 1] = n;
    });
  });
  if (!ok.load()) return py::none();
  for (Py_ssize_t r = 0; r < n_rows; ++r) row_indptr[r + 1] += row_indptr[r];
  const mh::KeySource keys = [&](std::int64_t lo, std::int64_t hi, std::string_view* out) {
    for (auto r = lo; r < hi; ++r) {
      PyObject** items;
      Py_ssize_t n;
      row_items(raw, r, &items, &n);
      for (Py_ssize_t j = 0; j < n; ++j) {
        PyObject* s = items[j];
        if (!is_ascii_str(s)) {
          ok.store(false, std::memory_order_relaxed);
          *out++ = {};
          continue;
        }
        *out++ = {static_cast<const char*>(PyUnicode_DATA(s)), static_cast<std::size_t>(PyUnicode_GET_LENGTH(s))};
      }
    }
  };
  mh::HashedEntries r = mh::hash_keys_summed(keys, row_indptr, n_features, seed, alternate_sign);
  if (!ok.load()) return py::none();
  return py::make_tuple(to_numpy(std::move(r.indices)), to_numpy(std::move(r.values)), to_numpy(std::move(r.indptr)));
}

Flat flatten(const py::iterable& raw_x, const std::string& input_type) {
  Flat flat;
  static PyObject* one = PyFloat_FromDouble(1.0);
  bool first = true;
  // Growing the output geometrically copies it several times; once the first rows are read,
  // reserve for the whole input when its length is known.
  const Py_ssize_t n_rows_hint = PyObject_LengthHint(raw_x.ptr(), 0);
  if (n_rows_hint < 0) throw py::error_already_set();
  for (py::handle row : raw_x) {
    if (flat.row_indptr.size() == 65 && n_rows_hint > 64) {
      const double per_row = static_cast<double>(flat.values.size()) / 64.0;
      const double bytes_per = flat.values.empty() ? 0.0 : static_cast<double>(flat.data.size()) / flat.values.size();
      const auto items = static_cast<std::size_t>(per_row * static_cast<double>(n_rows_hint) * 1.05);
      flat.values.reserve(items);
      flat.offsets.reserve(items + 1);
      flat.data.reserve(static_cast<std::size_t>(static_cast<double>(items) * bytes_per));
      flat.row_indptr.reserve(static_cast<std::size_t>(n_rows_hint) + 1);
    }
    if (input_type == "string" && first && PyUnicode_Check(row.ptr()))
      throw py::value_error("Samples can not be a single string. The input must be an iterable over iterables of strings.");
    first = false;
    if (input_type == "dict") {
      if (PyDict_Check(row.ptr())) {
        PyObject *k, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(row.ptr(), &pos, &k, &v)) add_feature(flat, k, v);
      } else {  // a Mapping that is not a dict: iterate its items()
        for (py::handle kv : row.attr("items")()) add_pair(flat, kv.ptr());
      }
    } else if (input_type == "pair") {
      for_each_item(row, [&](PyObject* item) { add_pair(flat, item); });
    } else {
      for_each_item(row, [&](PyObject* name) { add_feature(flat, name, one); });
    }
    flat.row_indptr.push_back(static_cast<std::int64_t>(flat.values.size()));
  }
  return flat;
}

}  // namespace

void register_hashing(py::module_& m) {
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
        auto in = view(keys);
        auto dst = mutable_view(out);
        py::gil_scoped_release release;
        mh::murmurhash3_32_int32(in, seed, dst);
        return out;
      },
      py::arg("keys").noconvert(), py::arg("seed"));
  m.def(
      "flatten_features",
      [](const py::iterable& raw_x, const std::string& input_type) {
        Flat f;
        const bool first_is_str = PyList_Check(raw_x.ptr()) && PyList_GET_SIZE(raw_x.ptr()) > 0 &&
                                  PyUnicode_Check(PyList_GET_ITEM(raw_x.ptr(), 0));
        if (input_type != "string" || first_is_str || !flatten_ascii_string_rows(raw_x.ptr(), f))
          f = flatten(raw_x, input_type);
        return py::make_tuple(to_numpy(std::move(f.data)), to_numpy(std::move(f.offsets)), to_numpy(std::move(f.values)),
                              to_numpy(std::move(f.row_indptr)));
      },
      py::arg("raw_X"), py::arg("input_type"));
  m.def(
      "hash_features",
      [](const carray<char>& data, const carray<std::int64_t>& offsets, const carray<double>& values,
         const carray<std::int64_t>& row_indptr, std::int64_t n_features, std::uint32_t seed, bool alternate_sign) {
        mh::HashedEntries r;
        {
          mh::StringsView names{view(data), view(offsets)};
          auto vv = view(values);
          auto rv = view(row_indptr);
          py::gil_scoped_release release;
          r = mh::hash_features(names, vv, rv, n_features, seed, alternate_sign);
        }
        return py::make_tuple(to_numpy(std::move(r.indices)), to_numpy(std::move(r.values)),
                              to_numpy(std::move(r.indptr)));
      },
      py::arg("data").noconvert(), py::arg("offsets").noconvert(), py::arg("values").noconvert(),
      py::arg("row_indptr").noconvert(), py::arg("n_features"), py::arg("seed"), py::arg("alternate_sign"));
  m.def(
      "hash_features_summed",
      [](const carray<char>& data, const carray<std::int64_t>& offsets, const carray<std::int64_t>& row_indptr,
         std::int64_t n_features, std::uint32_t seed, bool alternate_sign) {
        mh::HashedEntries r;
        {
          mh::StringsView names{view(data), view(offsets)};
          auto rv = view(row_indptr);
          py::gil_scoped_release release;
          r = mh::hash_features_summed(names, rv, n_features, seed, alternate_sign);
        }
        return py::make_tuple(to_numpy(std::move(r.indices)), to_numpy(std::move(r.values)),
                              to_numpy(std::move(r.indptr)));
      },
      py::arg("data").noconvert(), py::arg("offsets").noconvert(), py::arg("row_indptr").noconvert(),
      py::arg("n_features"), py::arg("seed"), py::arg("alternate_sign"));
  m.def(
      "hash_ascii_string_rows",
      [](const py::object& raw_x, std::int64_t n_features, std::uint32_t seed, bool alternate_sign) {
        return hash_ascii_string_rows(raw_x.ptr(), n_features, seed, alternate_sign);
      },
      py::arg("raw_X"), py::arg("n_features"), py::arg("seed"), py::arg("alternate_sign"));
  m.def(
      "strings_from_objects",
      [](const py::sequence& values, const std::string& column) {
        // An object column: str values, or missing (None, float NaN, pandas.NA).
        Flat f;
        std::vector<std::uint8_t> valid;
        const auto n = static_cast<std::size_t>(py::len(values));
        valid.reserve(n);
        f.offsets.reserve(n + 1);
        for (std::size_t i = 0; i < n; ++i) {
          py::object v = values[i];
          PyObject* o = v.ptr();
          Py_ssize_t len = 0;
          if (PyUnicode_Check(o)) {
            const char* p = utf8_of(o, &len);
            f.data.insert(f.data.end(), p, p + len);
            valid.push_back(1);
          } else if (o == Py_None || (PyFloat_Check(o) && PyFloat_AS_DOUBLE(o) != PyFloat_AS_DOUBLE(o)) ||
                     std::string_view(Py_TYPE(o)->tp_name) == "NAType") {
            valid.push_back(0);
          } else {
            throw py::type_error("hash_columns: column '" + column + "' must hold strings (or missing values); found " +
                                 Py_TYPE(o)->tp_name + " at row " + std::to_string(i));
          }
          f.offsets.push_back(static_cast<std::int64_t>(f.data.size()));
        }
        return py::make_tuple(to_numpy(std::move(f.data)), to_numpy(std::move(f.offsets)), to_numpy(std::move(valid)));
      },
      py::arg("values"), py::arg("column"));
  m.def(
      "hash_columns",
      [](const py::list& specs, std::size_t n_single, const std::vector<std::vector<std::size_t>>& crosses,
         std::int64_t n_rows, std::int64_t n_features, std::uint32_t seed, bool alternate_sign) {
        // specs: (kind, name, data uint8|None, offsets int32|int64|None, ints int64|None, valid uint8|None)
        std::vector<mh::Column> columns;
        std::vector<py::object> keep_alive;
        for (py::handle h : specs) {
          auto t = h.cast<py::tuple>();
          mh::Column c;
          const auto kind = t[0].cast<std::string>();
          c.kind = kind == "strings" ? mh::Column::Kind::strings
                   : kind == "ints"  ? mh::Column::Kind::ints
                                     : mh::Column::Kind::dictionary;
          c.name = t[1].cast<std::string>();
          // Arrays are held in keep_alive: a cast may return a converted copy, which must outlive
          // the views taken of it.
          auto hold = [&](py::handle a, auto tag) {
            auto arr = a.cast<carray<decltype(tag)>>();
            keep_alive.push_back(arr);
            return view(arr);
          };
          if (!t[2].is_none()) {
            c.strings.data = hold(t[2], char{});
            if (py::isinstance<py::array_t<std::int32_t>>(t[3])) c.strings.offsets32 = hold(t[3], std::int32_t{});
            else c.strings.offsets = hold(t[3], std::int64_t{});
          }
          if (!t[4].is_none()) c.ints = hold(t[4], std::int64_t{});
          if (!t[5].is_none()) c.valid = hold(t[5], std::uint8_t{});
          columns.push_back(std::move(c));
        }
        mh::HashedEntries r;
        {
          py::gil_scoped_release release;
          r = mh::hash_columns(columns, n_single, crosses, n_rows, n_features, seed, alternate_sign);
        }
        return py::make_tuple(to_numpy(std::move(r.indices)), to_numpy(std::move(r.values)),
                              to_numpy(std::move(r.indptr)));
      },
      py::arg("specs"), py::arg("n_single"), py::arg("crosses"), py::arg("n_rows"), py::arg("n_features"), py::arg("seed"),
      py::arg("alternate_sign"));
  m.def(
      "sum_duplicates",
      [](const carray<std::int32_t>& indices, const carray<double>& values, const carray<std::int64_t>& indptr) {
        mh::HashedEntries r;
        {
          auto iv = view(indices);
          auto vv = view(values);
          auto pv = view(indptr);
          py::gil_scoped_release release;
          r = mh::sum_duplicates(iv, vv, pv);
        }
        return py::make_tuple(to_numpy(std::move(r.indices)), to_numpy(std::move(r.values)),
                              to_numpy(std::move(r.indptr)));
      },
      py::arg("indices").noconvert(), py::arg("values").noconvert(), py::arg("indptr").noconvert());
}

}  // namespace mlsd::bindings
