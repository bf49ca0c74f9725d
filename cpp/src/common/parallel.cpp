#include "mlsd/common/parallel.hpp"

#include <atomic>

#include <omp.h>
#include <tbb/info.h>

namespace mlsd {
namespace {
std::atomic<int> g_num_threads{0};  // 0: default
}

int default_num_threads() {
  // Respects the process affinity mask and cgroup limits, as oneTBB sees them.
  const int n = tbb::info::default_concurrency();
  return n > 0 ? n : 1;
}

void set_num_threads(int n) {
  g_num_threads.store(n > 0 ? n : 0, std::memory_order_relaxed);
  omp_set_num_threads(get_num_threads());
}

int get_num_threads() {
  // More threads than cores would only oversubscribe them (and oneTBB cannot build arenas beyond
  // its worker limit), so a request above the core count is served with every core.
  const int cores = default_num_threads();
  const int n = g_num_threads.load(std::memory_order_relaxed);
  return n > 0 && n < cores ? n : cores;
}

}  // namespace mlsd
