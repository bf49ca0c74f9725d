#include "mlsd/common/parallel.hpp"

#include <atomic>
#include <chrono>

#include <omp.h>
#include <tbb/info.h>
#include <tbb/task_group.h>

namespace mlsd {
namespace {
std::atomic<int> g_num_threads{0};  // 0: default

// The current thread's interrupt state: its hook (none on oneTBB workers), when it last asked the
// hook, and whether the hook said stop (then every later check throws without asking again).
struct InterruptState {
  interrupt_hook hook = nullptr;
  std::chrono::steady_clock::time_point last_poll{};
  bool tripped = false;
  const interrupt_scope* scope = nullptr;  // the innermost
};
thread_local InterruptState t_interrupt;
}  // namespace

interrupt_scope::interrupt_scope(interrupt_hook hook)
    : previous_(t_interrupt.hook), previous_tripped_(t_interrupt.tripped), previous_scope_(t_interrupt.scope) {
  t_interrupt.hook = hook;
  t_interrupt.tripped = false;
  t_interrupt.last_poll = std::chrono::steady_clock::now();
  t_interrupt.scope = this;
}

interrupt_scope::~interrupt_scope() {
  t_interrupt.hook = previous_;
  t_interrupt.tripped = previous_tripped_;
  t_interrupt.scope = previous_scope_;
}

bool interrupt_scope::tripped() const { return t_interrupt.scope == this && t_interrupt.tripped; }

const interrupt_scope* current_interrupt_scope() { return t_interrupt.scope; }

bool interrupt_requested() {
  InterruptState& st = t_interrupt;
  if (st.hook == nullptr) return false;
  if (st.tripped) return true;
  const auto now = std::chrono::steady_clock::now();
  if (now - st.last_poll < std::chrono::milliseconds(kInterruptPollMs)) return false;
  st.last_poll = now;
  st.tripped = st.hook();
  return st.tripped;
}

void check_interrupt() {
  // A loop already being cancelled (Ctrl-C seen by the caller, or an exception in another task):
  // stop this task now rather than at its end.  oneTBB keeps the first exception, not this one.
  if (tbb::is_current_task_group_canceling()) throw interrupted();
  if (interrupt_requested()) throw interrupted();
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
