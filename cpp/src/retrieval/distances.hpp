// Vector-to-vector distances for the graph search, chosen once for the CPU at hand.
//
// The wheel is built for the generic target of the compiler (no -march), and Debian's FAISS is
// too, so FAISS's own distance functions use SSE only.  These functions carry AVX2/FMA code
// compiled with a target attribute and are picked at run time when the CPU has it.
#pragma once

#include <cstddef>

namespace mlsd::retrieval::detail {

using DistanceFn = float (*)(const float* a, const float* b, std::size_t d);

DistanceFn inner_product_fn();  // sum a[i] * b[i]
DistanceFn l2sqr_fn();          // sum (a[i] - b[i])^2

}  // namespace mlsd::retrieval::detail
