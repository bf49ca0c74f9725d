// Vector-to-vector distances for the graph search, chosen once for the CPU at hand.
//
// The wheel is built for the generic target of the compiler (no -march), and Debian's FAISS is
// too, so FAISS's own distance functions use SSE only.  These functions carry AVX2/FMA code
// compiled with a target attribute and are picked at run time when the CPU has it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mlsd::retrieval::detail {

using DistanceFn = float (*)(const float* a, const float* b, std::size_t d);

DistanceFn inner_product_fn();  // sum a[i] * b[i]
DistanceFn l2sqr_fn();          // sum (a[i] - b[i])^2

// Writes the indices i < n with x[i] >= threshold to out (room for n) and returns their count:
// the top-k scan's filter, eight scores per instruction where AVX2 is available.
using SelectFn = std::size_t (*)(const float* x, std::size_t n, float threshold, std::uint32_t* out);
SelectFn select_at_least_fn();

}  // namespace mlsd::retrieval::detail
