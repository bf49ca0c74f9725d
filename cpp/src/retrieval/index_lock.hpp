// An index's lock, refused with a clear error where this thread would wait for itself.
//
// Index and ShardedIndex calls check for Ctrl-C while they hold their lock, and the check may run
// Python (a signal handler, a cancel probe).  Should that Python change the index a call on this
// thread is reading, or use the index a call on this thread is changing, taking the lock would
// never return (a writer waits for this thread's own read lock) or fail with an obscure "Resource
// deadlock avoided"; it raises std::runtime_error (RuntimeError) saying so.  A read inside a read
// (a search from a handler run by a search) goes ahead: glibc's rwlock, which std::shared_mutex
// uses, prefers readers, so a second read lock never waits.  Other threads wait as before.
//
// What it does not cover: the check sees this thread's own locks only.  A hook whose Python waits
// for another thread that needs the index (or two threads whose hooks each change the index the
// other's call holds) still waits forever, as would a lock held by a worker whose task the calling
// thread is running.  Readers being preferred, overlapping searches from several threads keep an
// add, remove or train waiting until they pause (it never starves a search).  On a C++ library
// whose std::shared_mutex prefers writers (libc++), the read inside a read would wait for a writer
// queued on another thread: there, a hook must not search the index its own call is searching.
#pragma once

#include <algorithm>
#include <iterator>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace mlsd::retrieval::detail {

class IndexLock {
 public:
  enum Mode { shared, exclusive };

  IndexLock(std::shared_mutex& mutex, Mode mode, const char* function) : mutex_(mutex), mode_(mode) {
    refuse_if_held_here(mutex, mode, function);
    // Noted before the lock is taken: a push_back that ran out of memory after it would leave the
    // index locked for good.  Taking the lock can throw too (std::system_error): then the note goes.
    std::vector<Held>& held = held_here();
    held.push_back({&mutex, mode});
    try {
      if (mode == exclusive) {
        mutex.lock();
      } else {
        mutex.lock_shared();
      }
    } catch (...) {
      held.pop_back();
      throw;
    }
  }
  ~IndexLock() {
    std::vector<Held>& held = held_here();
    // The innermost entry for this mutex: locks nest, so it is the most recent one.
    const auto it = std::find_if(held.rbegin(), held.rend(), [&](const Held& h) { return h.mutex == &mutex_; });
    held.erase(std::next(it).base());
    if (mode_ == exclusive) {
      mutex_.unlock();
    } else {
      mutex_.unlock_shared();
    }
  }
  IndexLock(const IndexLock&) = delete;
  IndexLock& operator=(const IndexLock&) = delete;

  // The same refusal without taking the lock, for an accessor that reads its parts under their own
  // locks (ShardedIndex's len and is_trained, from its shards): its error names the accessor.
  static void refuse_if_held_here(const std::shared_mutex& mutex, Mode mode, const char* function) {
    const std::vector<Held>& held = held_here();
    const bool conflict = std::any_of(held.begin(), held.end(), [&](const Held& h) {
      return h.mutex == &mutex && (mode == exclusive || h.mode == exclusive);
    });
    if (conflict) {
      throw std::runtime_error(std::string(function) +
                               ": the index is in use by a call on this same thread (a signal handler or cancel "
                               "probe run by that call's Ctrl-C check cannot change an index the call reads, nor "
                               "use one it changes); use the index after that call returns");
    }
  }

 private:
  struct Held {
    const std::shared_mutex* mutex;
    Mode mode;
  };
  static std::vector<Held>& held_here() {
    thread_local std::vector<Held> held;
    return held;
  }
  std::shared_mutex& mutex_;
  Mode mode_;
};

}  // namespace mlsd::retrieval::detail
