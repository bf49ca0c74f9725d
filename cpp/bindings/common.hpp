// Buffer conversion shared by the bindings: NumPy arrays in as spans (no copy), std::vector out
// as NumPy arrays that take ownership of the vector's storage (no copy).
#pragma once

#include <optional>
#include <span>
#include <tuple>
#include <utility>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

namespace mlsd::bindings {

namespace py = pybind11;

template <class T>
using carray = py::array_t<T, py::array::c_style>;

template <class T>
std::span<const T> view(const carray<T>& a) {
  return {a.data(), static_cast<std::size_t>(a.size())};
}
template <class T>
std::span<const T> view(const std::optional<carray<T>>& a) {
  return a ? view(*a) : std::span<const T>{};
}
template <class T>
std::span<T> mutable_view(carray<T>& a) {
  return {a.mutable_data(), static_cast<std::size_t>(a.size())};
}

template <class T, class Alloc>
py::array_t<T> to_numpy(std::vector<T, Alloc>&& v) {
  using Vec = std::vector<T, Alloc>;
  auto* owned = new Vec(std::move(v));
  py::capsule free_when_done(owned, [](void* p) { delete static_cast<Vec*>(p); });
  return py::array_t<T>({static_cast<py::ssize_t>(owned->size())}, {sizeof(T)}, owned->data(), free_when_done);
}

// Views of the arrays (no copy), then fn(views...) with the GIL released.
template <class Fn, class... Arrays>
auto call_without_gil(Fn&& fn, const Arrays&... arrays) {
  auto views = std::make_tuple(view(arrays)...);
  py::gil_scoped_release release;
  return std::apply(std::forward<Fn>(fn), views);
}

// fn() with the GIL released, for kernels whose inputs are not plain arrays (views built above the
// call); the one other place, besides call_without_gil, where bindings release the GIL.
template <class Fn>
auto without_gil(Fn&& fn) {
  py::gil_scoped_release release;
  return std::forward<Fn>(fn)();
}

// A tuple of NumPy arrays that take over the vectors' storage.
template <class... Vectors>
py::tuple numpy_tuple(Vectors&&... v) {
  return py::make_tuple(to_numpy(std::move(v))...);
}

void register_metrics(py::module_& m);
void register_hashing(py::module_& m);
void register_retrieval(py::module_& m);
void register_abtest(py::module_& m);
void register_features(py::module_& m);
void register_features_window(py::module_& m);
void register_monitoring(py::module_& m);
void register_monitoring_pca(py::module_& m);

}  // namespace mlsd::bindings
