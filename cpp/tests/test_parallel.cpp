#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <set>
#include <thread>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "mlsd/common/checks.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/detail/radix_sort.hpp"
#include "mlsd/metrics.hpp"

namespace {

struct ThreadGuard {
  ~ThreadGuard() { mlsd::set_num_threads(0); }
};

TEST(Threads, SetAndGet) {
  ThreadGuard g;
  mlsd::set_num_threads(1);
  EXPECT_EQ(mlsd::get_num_threads(), 1);
  mlsd::set_num_threads(1 << 30);  // capped at the core count, never an oversized arena
  EXPECT_EQ(mlsd::get_num_threads(), mlsd::default_num_threads());
  EXPECT_EQ(mlsd::run_in_arena([] { return tbb::this_task_arena::max_concurrency(); }), mlsd::default_num_threads());
  mlsd::set_num_threads(0);
  EXPECT_EQ(mlsd::get_num_threads(), mlsd::default_num_threads());
  mlsd::set_num_threads(-5);  // non-positive means default
  EXPECT_EQ(mlsd::get_num_threads(), mlsd::default_num_threads());
}

TEST(Threads, ArenaHonoursThreadCount) {
  ThreadGuard g;
  mlsd::set_num_threads(1);
  const int seen = mlsd::run_in_arena([] { return tbb::this_task_arena::max_concurrency(); });
  EXPECT_EQ(seen, 1);
  const int two = std::min(2, mlsd::default_num_threads());
  mlsd::set_num_threads(two);
  EXPECT_EQ(mlsd::run_in_arena([] { return tbb::this_task_arena::max_concurrency(); }), two);
}

TEST(Threads, ExceptionInsideParallelLoopReachesCaller) {
  ThreadGuard g;
  mlsd::set_num_threads(2);
  auto run = [] {
    mlsd::run_in_arena([] {
      tbb::parallel_for(0, 10000, [](int i) {
        if (i == 7777) throw std::invalid_argument("boom at 7777");
      });
    });
  };
  try {
    run();
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "boom at 7777");
  }
}

TEST(Threads, OrderedReduceIsBitIdenticalForAnyThreadCount) {
  ThreadGuard g;
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(0.0, 3.0);
  std::vector<double> x(1'000'003);
  for (auto& v : x) v = dist(rng) * (rng() & 1 ? 1 : -1);
  auto sum = [&] {
    return mlsd::run_in_arena([&] {
      return mlsd::detail::ordered_reduce(
          static_cast<std::int64_t>(x.size()), 0.0,
          [&](std::int64_t b, std::int64_t e) {
            double s = 0;
            for (auto i = b; i < e; ++i) s += x[i];
            return s;
          },
          [](double a, double b) { return a + b; });
    });
  };
  mlsd::set_num_threads(1);
  const double one = sum();
  for (int t : {2, 3, 4}) {
    mlsd::set_num_threads(t);
    EXPECT_EQ(sum(), one) << "threads=" << t;
  }
}

TEST(Checks, FiniteReportsFirstBadIndex) {
  std::vector<double> x(100000, 1.0);
  x[70001] = std::numeric_limits<double>::quiet_NaN();
  x[90000] = std::numeric_limits<double>::infinity();
  try {
    mlsd::detail::check_finite(x, "f", "y_score");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("y_score must be finite"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("index 70001"), std::string::npos) << e.what();
  }
  std::vector<double> w{1.0, 0.0, -0.5};
  EXPECT_THROW(mlsd::detail::check_nonnegative(w, "f", "sample_weight"), std::invalid_argument);
}

TEST(RadixSort, DoubleKeyPreservesOrder) {
  using mlsd::detail::double_key;
  std::vector<double> v{-std::numeric_limits<double>::infinity(), -1e300, -1.0, -1e-310, 0.0, 1e-310, 0.5, 1.0,
                        1e300, std::numeric_limits<double>::infinity()};
  for (std::size_t i = 1; i < v.size(); ++i) EXPECT_LT(double_key(v[i - 1]), double_key(v[i])) << v[i];
  EXPECT_EQ(double_key(-0.0), double_key(0.0));
  for (double d : v) EXPECT_EQ(mlsd::detail::key_double(double_key(d)), d);
}

class RadixSortSizes : public ::testing::TestWithParam<std::size_t> {};

TEST_P(RadixSortSizes, MatchesStableSort) {
  const std::size_t n = GetParam();
  std::mt19937_64 rng(n);
  for (int variant = 0; variant < 3; ++variant) {
    std::vector<std::uint64_t> keys(n);
    for (auto& k : keys) {
      if (variant == 0) k = rng();                      // all bytes vary
      else if (variant == 1) k = rng() % 50;            // heavy duplicates, one varying byte
      else k = (rng() % 4) << 56 | 0x00FF00FF00FF00FFULL;  // only the top byte varies
    }
    std::vector<std::int64_t> payload(n);
    std::iota(payload.begin(), payload.end(), 0);
    std::vector<std::int64_t> expect = payload;
    std::stable_sort(expect.begin(), expect.end(), [&](auto a, auto b) { return keys[a] < keys[b]; });
    auto sorted_keys = keys;
    mlsd::detail::radix_sort(sorted_keys, &payload);
    ASSERT_EQ(payload, expect) << "variant " << variant;
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(sorted_keys[i], keys[expect[i]]);
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, RadixSortSizes, ::testing::Values(0, 1, 3, 97, 4095, 4096, 70001, 300000));

// ---- interrupts (Ctrl-C) ------------------------------------------------------------------------

// A hook that records which threads call it and asks to stop from its `stop_after`-th call on.
struct HookLog {
  static inline std::mutex mutex;
  static inline std::set<std::thread::id> threads;
  static inline std::atomic<int> calls{0};
  static inline int stop_after = 1;
  static void reset(int stop) {
    std::lock_guard lock(mutex);
    threads.clear();
    calls = 0;
    stop_after = stop;
  }
  static bool hook() {
    {
      std::lock_guard lock(mutex);
      threads.insert(std::this_thread::get_id());
    }
    return ++calls >= stop_after;
  }
};

TEST(Interrupts, NoScopeNoHook) {
  EXPECT_NO_THROW(mlsd::check_interrupt());
  mlsd::interrupt_scope none(nullptr);
  EXPECT_NO_THROW(mlsd::check_interrupt());
}

TEST(Interrupts, ParallelLoopStopsAndOnlyTheCallingThreadAsks) {
  ThreadGuard g;
  mlsd::set_num_threads(std::min(4, mlsd::default_num_threads()));
  HookLog::reset(3);
  std::atomic<int> done{0};
  const int total = 100000;  // 1 ms each: minutes if nothing stopped the loop
  {
    mlsd::interrupt_scope scope(&HookLog::hook);
    EXPECT_THROW(mlsd::run_in_arena([&] {
                   tbb::parallel_for(0, total, [&](int) {
                     mlsd::check_interrupt();
                     std::this_thread::sleep_for(std::chrono::milliseconds(1));
                     ++done;
                   });
                 }),
                 mlsd::interrupted);
    EXPECT_THROW(mlsd::check_interrupt(), mlsd::interrupted);  // stays interrupted until the scope ends
  }
  EXPECT_EQ(HookLog::calls.load(), 3);
  EXPECT_EQ(HookLog::threads, std::set<std::thread::id>{std::this_thread::get_id()});
  EXPECT_LT(done.load(), total / 10);
  EXPECT_NO_THROW(mlsd::check_interrupt());  // the scope is gone
}

TEST(Interrupts, ScopesNest) {
  HookLog::reset(1);
  mlsd::interrupt_scope outer(&HookLog::hook);
  {
    mlsd::interrupt_scope inner(nullptr);
    std::this_thread::sleep_for(std::chrono::milliseconds(2 * mlsd::kInterruptPollMs));
    EXPECT_NO_THROW(mlsd::check_interrupt());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * mlsd::kInterruptPollMs));
  EXPECT_THROW(mlsd::check_interrupt(), mlsd::interrupted);
}

// A kernel run inside another kernel's task (each shard's search in ShardedIndex::search): the
// caller's Ctrl-C stops the inner loops on the other threads too, not only on the calling thread.
TEST(Interrupts, NestedKernelsStopOnEveryThread) {
  ThreadGuard g;
  mlsd::set_num_threads(std::min(4, mlsd::default_num_threads()));
  HookLog::reset(3);
  std::atomic<int> done{0};
  const int per_branch = 20000;  // 1 ms each: tens of seconds if a branch ran to its end
  {
    mlsd::interrupt_scope scope(&HookLog::hook);
    EXPECT_THROW(mlsd::run_in_arena([&] {
                   tbb::parallel_for(0, 2, [&](int) {
                     mlsd::run_in_arena([&] {
                       tbb::parallel_for(0, per_branch, [&](int) {
                         mlsd::check_interrupt();
                         std::this_thread::sleep_for(std::chrono::milliseconds(1));
                         ++done;
                       });
                     });
                   });
                 }),
                 mlsd::interrupted);
  }
  EXPECT_EQ(HookLog::threads, std::set<std::thread::id>{std::this_thread::get_id()});
  EXPECT_LT(done.load(), per_branch / 10);
}

// ---- what a hook keeps lives no longer than its call (call_with_interrupts) -------------------

// The Python bindings' hook keeps the exception that made it say stop (a KeyboardInterrupt, a
// cancel probe's error), to be raised when mlsd::interrupted reaches them.  This fake hook keeps a
// count instead; release() is what the bindings' drop_pending does.
struct KeepingHook {
  static inline std::atomic<bool> asked{false};
  static inline int kept = 0;
  static inline int released = 0;
  static inline bool (*before_stop)() = nullptr;  // runs inside the hook before it says stop
  static void reset() {
    asked = false;
    kept = released = 0;
    before_stop = nullptr;
  }
  static bool hook() {
    asked = true;
    if (before_stop != nullptr && !before_stop()) return false;
    ++kept;
    return true;
  }
  static void release() {
    kept = 0;
    ++released;
  }
};

// Waits for the hook's first poll (kInterruptPollMs after the scope opened) and lets it say stop.
bool poll_until_stopped() {
  for (;;) {
    if (mlsd::interrupt_requested()) return true;
    std::this_thread::yield();
  }
}

TEST(Interrupts, WhatTheHookKeptIsReleasedWhenAnotherErrorEndsTheCall) {
  KeepingHook::reset();
  EXPECT_THROW(mlsd::call_with_interrupts(&KeepingHook::hook, &KeepingHook::release,
                                          [] {
                                            poll_until_stopped();  // the hook kept its reason
                                            throw std::invalid_argument("bad data found later");
                                          }),
               std::invalid_argument);
  EXPECT_EQ(KeepingHook::kept, 0);
  EXPECT_EQ(KeepingHook::released, 1);
  // The call returns after the hook said stop (nothing checked again): released too.
  KeepingHook::reset();
  EXPECT_EQ(mlsd::call_with_interrupts(&KeepingHook::hook, &KeepingHook::release, [] { return poll_until_stopped() ? 7 : 0; }),
            7);
  EXPECT_EQ(KeepingHook::kept, 0);
  EXPECT_EQ(KeepingHook::released, 1);
}

TEST(Interrupts, WhatTheHookKeptIsHandedOverWhenTheCallEndsInterrupted) {
  KeepingHook::reset();
  EXPECT_THROW(mlsd::call_with_interrupts(&KeepingHook::hook, &KeepingHook::release,
                                          [] {
                                            for (;;) {
                                              mlsd::check_interrupt();
                                              std::this_thread::yield();
                                            }
                                          }),
               mlsd::interrupted);
  EXPECT_EQ(KeepingHook::kept, 1);  // for the caller (the bindings raise it)
  EXPECT_EQ(KeepingHook::released, 0);
  // A call whose hook never said stop releases nothing, whatever ends it.
  KeepingHook::reset();
  EXPECT_THROW(mlsd::call_with_interrupts(&KeepingHook::hook, &KeepingHook::release,
                                          [] { throw std::invalid_argument("bad"); }),
               std::invalid_argument);
  EXPECT_EQ(KeepingHook::released, 0);
  EXPECT_FALSE(KeepingHook::asked);
  EXPECT_EQ(mlsd::current_interrupt_scope(), nullptr);
}

// The race itself, inside oneTBB: a worker's error is the loop's first exception while the
// calling thread's hook is saying stop.  The hook waits (inside the loop) until the worker's error
// has cancelled the loop, so the order is fixed: the call ends with the worker's error, and the
// hook's kept reason is released, not left for a later call.
namespace race {
std::atomic<bool> worker_threw{false};
bool wait_for_the_workers_error() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!tbb::is_current_task_group_canceling() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  return true;
}
}  // namespace race

TEST(Interrupts, AHookThatLosesTheRaceToAWorkersErrorKeepsNothing) {
  ThreadGuard g;
  if (mlsd::default_num_threads() < 2) GTEST_SKIP() << "needs a second thread";
  mlsd::set_num_threads(2);
  KeepingHook::reset();
  KeepingHook::before_stop = &race::wait_for_the_workers_error;
  race::worker_threw = false;
  const auto caller = std::this_thread::get_id();
  EXPECT_THROW(mlsd::call_with_interrupts(&KeepingHook::hook, &KeepingHook::release,
                                          [&] {
                                            mlsd::run_in_arena([&] {
                                              tbb::parallel_for(tbb::blocked_range<int>(0, 2, 1), [&](const auto&) {
                                                if (std::this_thread::get_id() == caller) {
                                                  for (;;) {
                                                    mlsd::check_interrupt();
                                                    std::this_thread::yield();
                                                  }
                                                }
                                                while (!KeepingHook::asked) std::this_thread::yield();
                                                race::worker_threw = true;
                                                throw std::invalid_argument("bad data found by a worker");
                                              });
                                            });
                                          }),
               std::invalid_argument);
  EXPECT_TRUE(race::worker_threw);
  EXPECT_TRUE(KeepingHook::asked);
  EXPECT_EQ(KeepingHook::released, 1);  // the hook did say stop, and what it kept was dropped
  EXPECT_EQ(KeepingHook::kept, 0);
}

// A hook's code (Python run by a Ctrl-C check: a signal handler, a cancel probe) may call another
// kernel while the hook's own call is being cancelled by a worker's error.  That kernel is a call of
// its own (the bindings open it with call_with_interrupts): the other call's cancellation must not
// cut its loops short (it returned partial sums as if whole, or raised a spurious interrupt).
namespace own_call {
std::atomic<bool> asked{false};
std::int64_t nested_sum = -1;
std::string nested_error;
bool hook() {
  asked = true;
  race::wait_for_the_workers_error();
  try {
    nested_sum = mlsd::call_with_interrupts(nullptr, nullptr, [] {
      return mlsd::run_in_arena([] {
        return mlsd::detail::ordered_reduce<std::int64_t>(
            1'000'000, 0, [](std::int64_t b, std::int64_t e) { return (b + e - 1) * (e - b) / 2; },
            [](std::int64_t a, std::int64_t p) { return a + p; }, 1000);
      });
    });
  } catch (const std::exception& e) {
    nested_error = e.what();
  }
  return false;
}
}  // namespace own_call

TEST(Interrupts, AKernelCalledByAHookIsNotCancelledWithTheHooksCall) {
  ThreadGuard g;
  if (mlsd::default_num_threads() < 2) GTEST_SKIP() << "needs a second thread";
  mlsd::set_num_threads(2);
  own_call::asked = false;
  own_call::nested_sum = -1;
  own_call::nested_error.clear();
  const auto caller = std::this_thread::get_id();
  EXPECT_THROW(mlsd::call_with_interrupts(&own_call::hook, nullptr,
                                          [&] {
                                            mlsd::run_in_arena([&] {
                                              tbb::parallel_for(tbb::blocked_range<int>(0, 2, 1), [&](const auto&) {
                                                if (std::this_thread::get_id() == caller) {
                                                  while (!own_call::asked) mlsd::check_interrupt();
                                                  return;
                                                }
                                                while (!own_call::asked) std::this_thread::yield();
                                                throw std::invalid_argument("bad data found by a worker");
                                              });
                                            });
                                          }),
               std::invalid_argument);
  EXPECT_EQ(own_call::nested_error, "");
  EXPECT_EQ(own_call::nested_sum, std::int64_t{999'999} * 1'000'000 / 2);
}

// A kernel called from inside a task still runs isolated: a thread waiting in its loops never
// picks up another task of the outer loop (which could, say, hold per-thread state mid-use).
TEST(Parallel, NestedKernelRunsIsolated) {
  ThreadGuard g;
  mlsd::set_num_threads(std::min(4, mlsd::default_num_threads()));
  std::atomic<int> violations{0};
  mlsd::run_in_arena([&] {
    tbb::parallel_for(0, 64, [&](int) {
      thread_local int depth = 0;
      if (depth != 0) ++violations;  // an outer task started while this thread was inside one
      ++depth;
      mlsd::run_in_arena([&] {
        tbb::parallel_for(0, 64, [&](int) { std::this_thread::sleep_for(std::chrono::microseconds(50)); });
      });
      --depth;
    });
  });
  EXPECT_EQ(violations.load(), 0);
}

TEST(Interrupts, GroupAucStops) {
  ThreadGuard g;
  mlsd::set_num_threads(2);
  const std::size_t n = 4'000'000;  // several polling intervals of work
  std::mt19937_64 rng(3);
  std::vector<std::int64_t> groups(n);
  std::vector<std::uint8_t> y(n);
  std::vector<double> s(n);
  for (std::size_t i = 0; i < n; ++i) {
    groups[i] = static_cast<std::int64_t>(rng() % 100000);
    y[i] = static_cast<std::uint8_t>(rng() & 1);
    s[i] = static_cast<double>(rng() % 1000);
  }
  HookLog::reset(1);
  mlsd::interrupt_scope scope(&HookLog::hook);
  EXPECT_THROW(mlsd::metrics::group_auc(groups, y, s, {}), mlsd::interrupted);
  EXPECT_EQ(HookLog::threads, std::set<std::thread::id>{std::this_thread::get_id()});
}

}  // namespace
