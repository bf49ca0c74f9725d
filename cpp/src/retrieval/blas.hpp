// The BLAS calls of the retrieval kernels, and control of the BLAS library's own threads.
//
// mlsd parallelises with oneTBB around BLAS, so each sgemm runs on one thread.  OpenBLAS keeps a
// process-wide thread count; a guard sets it for the duration of a kernel and restores it after.
// The OpenBLAS entry points are weak symbols: with another BLAS they are absent and ignored.
#pragma once

#include "mlsd/common/views.hpp"

namespace mlsd::retrieval::blas {

// C (m x n, row-major) = alpha * A (m x k, row-major) * B (n x k, row-major)^T.
void gemm_nt(index_t m, index_t n, index_t k, float alpha, const float* a, const float* b, float* c);

// Sets the BLAS thread count for a scope (e.g. 1 inside TBB tasks, or mlsd's thread count while
// FAISS trains, since FAISS calls BLAS from one thread and relies on BLAS's own threads).
class ScopedThreads {
 public:
  explicit ScopedThreads(int n);
  ~ScopedThreads();
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int previous_;
};

struct SingleThreaded : ScopedThreads {
  SingleThreaded() : ScopedThreads(1) {}
};

}  // namespace mlsd::retrieval::blas
