#include "blas.hpp"

extern "C" {
// Fortran BLAS, as FAISS declares it (LP64 integers).
int sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const float* alpha,
           const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c,
           const int* ldc);
void openblas_set_num_threads(int) __attribute__((weak));
int openblas_get_num_threads() __attribute__((weak));
}

namespace mlsd::retrieval::blas {

void gemm_nt(index_t m, index_t n, index_t k, float alpha, const float* a, const float* b, float* c) {
  // Row-major C = A B^T is column-major C^T = B A^T: B is k x n column-major ("T"), A is k x m.
  const int mi = static_cast<int>(n), ni = static_cast<int>(m), ki = static_cast<int>(k);
  const float beta = 0.0f;
  sgemm_("T", "N", &mi, &ni, &ki, &alpha, b, &ki, a, &ki, &beta, c, &mi);
}

ScopedThreads::ScopedThreads(int n) : previous_(0) {
  if (openblas_get_num_threads != nullptr && openblas_set_num_threads != nullptr) {
    previous_ = openblas_get_num_threads();
    if (previous_ != n) openblas_set_num_threads(n);
  }
}

ScopedThreads::~ScopedThreads() {
  if (openblas_set_num_threads != nullptr && previous_ > 0) {
    if (openblas_get_num_threads() != previous_) openblas_set_num_threads(previous_);
  }
}

}  // namespace mlsd::retrieval::blas
