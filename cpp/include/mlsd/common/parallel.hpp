// Thread control shared by every mlsd kernel.
//
// One process-wide setting, `set_num_threads`, sizes the oneTBB arena each kernel runs in and the
// OpenMP thread count (FAISS).  An arena limits only the work submitted to it, so the user's other
// TBB-based libraries keep their own concurrency (unlike tbb::global_control).
#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

namespace mlsd {

// n >= 1 sets the number of threads, capped at the cores available to the process; n <= 0 restores
// the default (all of them).
void set_num_threads(int n);
int get_num_threads();
int default_num_threads();

// Runs f inside a task arena sized by get_num_threads().  Exceptions thrown by f or by any parallel
// loop inside it propagate to the caller unchanged (oneTBB captures and rethrows them).
//
// Called from inside a task (a kernel run by another kernel's parallel loop, as each shard's search
// in ShardedIndex::search), f runs in the caller's arena, isolated (a thread waiting in f's loops
// takes none of the outer loop's tasks, as in an arena of its own).  A nested arena would start its
// loops under that arena's own root: cancelling the outer loop (Ctrl-C seen by the calling thread,
// an exception in another task) would not reach them, and the call would wait for them to finish.
template <class F>
decltype(auto) run_in_arena(F&& f) {
  if (tbb::task::current_context() != nullptr) return tbb::this_task_arena::isolate(std::forward<F>(f));
  tbb::task_arena arena(get_num_threads());
  return arena.execute(std::forward<F>(f));
}

// Interrupts (Ctrl-C, or a cancelled Dask task).  A long kernel calls check_interrupt() between
// chunks of its work.  On a thread that has an interrupt_scope with a hook (the Python bindings open
// one around each kernel call on Python's main thread, for Ctrl-C, and on a thread with a cancel
// probe, such as an mlsd.dask task on a distributed worker), it asks the scope's hook, at most every kInterruptPollMs, whether to stop, and
// throws mlsd::interrupted if so.  On any other thread (oneTBB workers) it does nothing, so the hook
// only ever runs on the thread that installed it: the hook may take the GIL, a worker never does.
// Thrown inside a parallel loop, oneTBB cancels the loop's remaining tasks and rethrows it on the
// caller; a worker inside a loop being cancelled stops at its next check_interrupt().
class interrupted : public std::exception {
 public:
  const char* what() const noexcept override { return "interrupted"; }
};

// Returns true when the running kernel should stop.  Called only on the installing thread.
using interrupt_hook = bool (*)();

inline constexpr int kInterruptPollMs = 20;

// Installs `hook` on the current thread for the scope's lifetime (nullptr: none); scopes nest.
class interrupt_scope {
 public:
  explicit interrupt_scope(interrupt_hook hook);
  ~interrupt_scope();
  interrupt_scope(const interrupt_scope&) = delete;
  interrupt_scope& operator=(const interrupt_scope&) = delete;

  // The hook said stop in this scope (meaningful while it is the thread's innermost scope).
  bool tripped() const;

 private:
  interrupt_hook previous_;
  bool previous_tripped_;
  const interrupt_scope* previous_scope_;
};

// The current thread's innermost interrupt_scope (nullptr: none).  Code that lets a third-party
// library ask interrupt_requested() through a process-wide callback (FAISS's InterruptCallback)
// keeps the scope it was started in and answers only while that scope is still the innermost: a
// kernel called from inside the hook (by a Python signal handler or cancel probe) runs in a scope
// of its own, and the hook never runs again from inside the library's own call.
const interrupt_scope* current_interrupt_scope();

void check_interrupt();

// The non-throwing half of check_interrupt, for code that must not throw through a third-party
// library's frames (FAISS's InterruptCallback): true when the current thread's hook says stop, now
// or earlier in the scope (then check_interrupt() throws too).  Never true on a thread without a
// hook, and never asks the hook more often than check_interrupt does.
bool interrupt_requested();

namespace detail {

// f() as a call of its own.  Called from inside a task (by a hook's code, such as Python run by
// another call's Ctrl-C check), f runs on this thread under a task_group_context of its own
// (isolated: not bound to that task's), so the other call's cancellation (a worker's error, its
// Ctrl-C) neither skips f's loops, which would return partial results as whole, nor makes f's
// check_interrupt() throw.  Elsewhere f() runs as it is.
template <class F>
std::invoke_result_t<F&> run_as_own_call(F& f) {
  using R = std::invoke_result_t<F&>;
  static_assert(!std::is_reference_v<R>, "a call returns a value");
  if (tbb::task::current_context() == nullptr) return f();
  tbb::task_group_context own(tbb::task_group_context::isolated);
  tbb::task_group group(own);
  if constexpr (std::is_void_v<R>) {
    tbb::this_task_arena::isolate([&] { group.run_and_wait([&] { f(); }); });
  } else {
    std::optional<R> result;
    tbb::this_task_arena::isolate([&] { group.run_and_wait([&] { result.emplace(f()); }); });
    return std::move(*result);
  }
}

}  // namespace detail

// Runs f() in an interrupt_scope with `hook`, as a call of its own (detail::run_as_own_call).  A
// hook may keep what made it say stop (the bindings keep a Python exception, to raise when
// mlsd::interrupted reaches them); `release` (may be null)
// drops it when the call ends some other way after the hook said stop: another task's error
// reached the caller first (oneTBB rethrows the first exception of a loop; that one is the call's
// error), or f returned.  So nothing a hook keeps outlives the call whose hook kept it.
template <class F>
decltype(auto) call_with_interrupts(interrupt_hook hook, void (*release)(), F&& f) {
  interrupt_scope scope(hook);
  struct Release {
    const interrupt_scope& scope;
    void (*release)();
    bool handed_over = false;
    ~Release() {
      if (!handed_over && release != nullptr && scope.tripped()) release();
    }
  } guard{scope, release};
  try {
    return detail::run_as_own_call(f);
  } catch (const interrupted&) {
    guard.handed_over = true;
    throw;
  }
}

namespace detail {

// Fixed chunk size for reductions: results depend on it, never on the thread count.
inline constexpr std::int64_t kReduceChunk = 1 << 15;

// Reduces [0, n) in fixed chunks: partial[c] = body(begin, end) runs in parallel, then the partials
// are combined left to right.  The result is bit-identical for any thread count.
template <class T, class Body, class Combine>
T ordered_reduce(std::int64_t n, T identity, Body&& body, Combine&& combine,
                 std::int64_t chunk = kReduceChunk) {
  if (n <= 0) return identity;
  const std::int64_t n_chunks = (n + chunk - 1) / chunk;
  std::vector<T> partial(static_cast<std::size_t>(n_chunks), identity);
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n_chunks),
                    [&](const tbb::blocked_range<std::int64_t>& r) {
                      for (std::int64_t c = r.begin(); c != r.end(); ++c) {
                        check_interrupt();
                        const std::int64_t b = c * chunk;
                        const std::int64_t e = b + chunk < n ? b + chunk : n;
                        partial[static_cast<std::size_t>(c)] = body(b, e);
                      }
                    });
  T acc = identity;
  for (auto& p : partial) acc = combine(std::move(acc), p);
  return acc;
}

// Compensated (Neumaier) sum, for reductions over millions of terms.
struct KahanSum {
  double sum = 0.0;
  double comp = 0.0;
  void add(double x) {
    const double t = sum + x;
    if ((sum >= 0 ? sum : -sum) >= (x >= 0 ? x : -x)) {
      comp += (sum - t) + x;
    } else {
      comp += (x - t) + sum;
    }
    sum = t;
  }
  void add(const KahanSum& o) {
    add(o.sum);
    add(o.comp);
  }
  double value() const { return sum + comp; }
};

}  // namespace detail
}  // namespace mlsd
