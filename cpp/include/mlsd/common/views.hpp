// Data layouts used across mlsd.
//
// Dense arrays are contiguous, row-major, and passed as std::span.  Ragged data (ranked lists per
// query, rows per user group) is CSR: `indptr` of length n_groups + 1 (int64, non-decreasing,
// indptr[0] == 0) indexing flat value arrays.  Sizes and counts are int64.
#pragma once

#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <utility>
#include <vector>

namespace mlsd {

using index_t = std::int64_t;

struct CsrView {
  std::span<const index_t> indptr;  // n_groups + 1 offsets into the flat arrays
  index_t n_groups() const { return indptr.empty() ? 0 : static_cast<index_t>(indptr.size()) - 1; }
};

// Allocator whose resize() leaves trivially constructible elements uninitialised: for output
// buffers that a kernel overwrites completely (zero-filling hundreds of MB first is a serial pass).
template <class T>
struct default_init_allocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = default_init_allocator<U>;
  };
  default_init_allocator() = default;
  template <class U>
  default_init_allocator(const default_init_allocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

template <class T>
using buffer = std::vector<T, default_init_allocator<T>>;

namespace detail {
// Asks the kernel to back [p, p + bytes) with transparent huge pages where it can (Linux; a no-op
// elsewhere or for small buffers): before the first write, so that filling a few hundred MB of
// output takes a few hundred 2 MB page faults instead of tens of thousands of 4 KB ones.
void advise_huge_pages(void* p, std::size_t bytes);
}  // namespace detail

}  // namespace mlsd
