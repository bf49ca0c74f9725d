// The BLAS calls of the retrieval kernels, and control of the BLAS library's own threads.
//
// mlsd parallelises with oneTBB (and FAISS with OpenMP) around BLAS, so every BLAS call inside
// mlsd runs on one thread.  OpenBLAS keeps one process-wide thread count; the guard below sets it
// to 1 while any mlsd kernel runs and restores the caller's value when the last one leaves, so
// concurrent kernels never restore it under each other.  The OpenBLAS entry points are weak
// symbols: with another BLAS they are absent and the guard does nothing.
#pragma once

#include "mlsd/common/views.hpp"

namespace mlsd::retrieval::blas {

// C (m x n, row-major) = alpha * A (m x k, row-major) * B (n x k, row-major)^T.
void gemm_nt(index_t m, index_t n, index_t k, float alpha, const float* a, const float* b, float* c);

class SingleThreaded {
 public:
  SingleThreaded();
  ~SingleThreaded();
  SingleThreaded(const SingleThreaded&) = delete;
  SingleThreaded& operator=(const SingleThreaded&) = delete;
};

}  // namespace mlsd::retrieval::blas
