#include "common.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"

#ifndef MLSD_VERSION
#define MLSD_VERSION "dev"
#endif

PYBIND11_MODULE(_core, m) {
  m.doc() = "mlsd compiled kernels (private; use the mlsd package)";
  m.attr("__version__") = MLSD_VERSION;
  // The kernel's message without its C++ function name; the Python layer adds the public name.
  pybind11::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const mlsd::invalid_argument& e) {
      PyErr_SetString(PyExc_ValueError, e.message().c_str());
    } catch (const mlsd::interrupted&) {  // Ctrl-C or a cancel probe between a kernel's chunks (common.hpp)
      mlsd::bindings::interrupts::restore_interrupt();
    }
  });
  mlsd::bindings::interrupts::main_thread_ident =
      pybind11::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
  m.def("_set_cancel_probe", &mlsd::bindings::interrupts::set_cancel_probe, pybind11::arg("probe"));
  m.def("set_num_threads", &mlsd::set_num_threads, pybind11::arg("n"));
  m.def("get_num_threads", &mlsd::get_num_threads);
  m.def("default_num_threads", &mlsd::default_num_threads);
  auto metrics = m.def_submodule("metrics", "mlsd::metrics kernels");
  mlsd::bindings::register_metrics(metrics);
  auto hashing = m.def_submodule("hashing", "mlsd::hashing kernels");
  mlsd::bindings::register_hashing(hashing);
  auto retrieval = m.def_submodule("retrieval", "mlsd::retrieval kernels");
  mlsd::bindings::register_retrieval(retrieval);
  auto abtest = m.def_submodule("abtest", "mlsd::abtest kernels");
  mlsd::bindings::register_abtest(abtest);
  auto features = m.def_submodule("features", "mlsd::features kernels");
  mlsd::bindings::register_features(features);
  mlsd::bindings::register_features_window(features);
  auto monitoring = m.def_submodule("monitoring", "mlsd::monitoring kernels");
  mlsd::bindings::register_monitoring(monitoring);
  mlsd::bindings::register_monitoring_pca(monitoring);
}
