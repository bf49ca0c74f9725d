// Buffer conversion shared by the bindings: NumPy arrays in as spans (no copy), std::vector out
// as NumPy arrays that take ownership of the vector's storage (no copy); the GIL released around
// kernels, with Ctrl-C checked between their chunks.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <tuple>
#include <utility>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "mlsd/common/parallel.hpp"

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

// Ctrl-C and cancellation.  Python runs signal handlers only on the main thread, so a kernel called
// there gets a hook (mlsd::interrupt_scope) that mlsd::check_interrupt runs on this thread between
// chunks: it takes the GIL for PyErr_CheckSignals() and, when a handler raised (KeyboardInterrupt),
// keeps that exception until the kernel has unwound (mlsd::interrupted) and the module's exception
// translator hands it back to Python with restore_interrupt().
//
// A thread may also hold a cancel probe (set_cancel_probe, from mlsd._interrupts.cancel_probe): a
// Python callable that the hook calls in the same way (GIL taken, at most every kInterruptPollMs;
// also at a kernel call's start, see hook_for_this_thread)
// and that stops the kernel by raising; its exception is the one the call raises.  mlsd.dask's
// tasks set one in distributed workers, whose threads get no signals.  A thread other than the main
// thread without a probe gets no hook and never takes the GIL.
namespace interrupts {
inline unsigned long main_thread_ident = 0;  // set when the module is imported
inline thread_local PyObject* pending[3] = {nullptr, nullptr, nullptr};  // type, value, traceback
inline thread_local PyObject* cancel_probe = nullptr;                    // owned; nullptr: none
// When this thread last called its probe.  The 20 ms clock runs across kernel calls: a task made
// of many short calls (bootstrap's blocks of 100 resamples) is polled as one long call would be,
// where an interrupt_scope's own clock, restarted by every call, would never reach 20 ms.
inline thread_local std::chrono::steady_clock::time_point last_probe{};
inline thread_local bool in_probe = false;  // the probe is running (it may call a kernel itself)

// With the GIL held: true (and the exception kept in pending) when the probe raised.  Not called
// again while it runs (a probe that calls an mlsd kernel is not re-entered by that kernel).
inline bool probe_raised() {
  if (cancel_probe == nullptr || in_probe) return false;
  last_probe = std::chrono::steady_clock::now();
  in_probe = true;
  PyObject* probe = cancel_probe;
  Py_INCREF(probe);  // the probe may replace itself (set_cancel_probe) while it runs
  PyObject* r = PyObject_CallNoArgs(probe);
  Py_DECREF(probe);
  in_probe = false;
  if (r != nullptr) {
    Py_DECREF(r);
    return false;
  }
  PyErr_Fetch(&pending[0], &pending[1], &pending[2]);
  return true;
}

inline bool check_signals() {
  const PyGILState_STATE gil = PyGILState_Ensure();
  bool raised = PyErr_CheckSignals() != 0;
  if (raised) {
    PyErr_Fetch(&pending[0], &pending[1], &pending[2]);
  } else {
    raised = probe_raised();
  }
  PyGILState_Release(gil);
  return raised;
}

inline bool check_probe() {
  const PyGILState_STATE gil = PyGILState_Ensure();
  const bool raised = probe_raised();
  PyGILState_Release(gil);
  return raised;
}

// Installs `probe` (None: none) for kernels called on this thread; returns the previous one.
inline py::object set_cancel_probe(py::object probe) {
  py::object previous = cancel_probe != nullptr ? py::reinterpret_steal<py::object>(cancel_probe) : py::none();
  cancel_probe = probe.is_none() ? nullptr : probe.release().ptr();
  return previous;
}

// Called with the GIL held: drops the exception a hook kept (see mlsd::call_with_interrupts).
inline void drop_pending() {
  for (PyObject*& p : pending) Py_CLEAR(p);
}

// Called with the GIL held; sets the Python error for an mlsd::interrupted.
inline void restore_interrupt() {
  if (pending[0] != nullptr) {
    PyErr_Restore(pending[0], pending[1], pending[2]);
    pending[0] = pending[1] = pending[2] = nullptr;
  } else {
    PyErr_SetNone(PyExc_KeyboardInterrupt);
  }
}

// The hook of every kernel call (chosen while the GIL is held).  The exception a hook keeps lives
// no longer than its call: handed to Python when the call ends by mlsd::interrupted, dropped by
// drop_pending when another error won the race inside TBB (call_with_interrupts, in the wrappers
// below), so it neither fires in a later call nor keeps its traceback's frames alive.
// A thread whose probe was last called kInterruptPollMs or more ago calls it here, at the kernel's
// start (the GIL is held: no extra cost), and raises its exception at once.
inline mlsd::interrupt_hook hook_for_this_thread() {
  const bool main = PyThread_get_thread_ident() == main_thread_ident;
  if (!main && cancel_probe == nullptr) return nullptr;
  if (cancel_probe != nullptr &&
      std::chrono::steady_clock::now() - last_probe >= std::chrono::milliseconds(mlsd::kInterruptPollMs) &&
      probe_raised()) {
    restore_interrupt();
    throw py::error_already_set();
  }
  return main ? &check_signals : &check_probe;
}
}  // namespace interrupts

// fn() with the GIL released, for kernels whose inputs are not plain arrays (views built above the
// call); the one place where bindings release the GIL.  The GIL is held again before
// call_with_interrupts hands over or drops what the hook kept.
template <class Fn>
auto without_gil(Fn&& fn) {
  return mlsd::call_with_interrupts(interrupts::hook_for_this_thread(), &interrupts::drop_pending, [&] {
    py::gil_scoped_release release;
    return std::forward<Fn>(fn)();
  });
}

// Views of the arrays (no copy), then fn(views...) with the GIL released.
template <class Fn, class... Arrays>
auto call_without_gil(Fn&& fn, const Arrays&... arrays) {
  auto views = std::make_tuple(view(arrays)...);
  return without_gil([&] { return std::apply(std::forward<Fn>(fn), views); });
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
