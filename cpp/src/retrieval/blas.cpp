#include "blas.hpp"

#include <mutex>

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

namespace {
std::mutex g_mutex;
int g_active = 0;    // guards alive
int g_previous = 0;  // the thread count to restore when the last guard leaves
}  // namespace

SingleThreaded::SingleThreaded() {
  if (openblas_get_num_threads == nullptr || openblas_set_num_threads == nullptr) return;
  std::lock_guard lock(g_mutex);
  if (g_active++ == 0) {
    g_previous = openblas_get_num_threads();
    if (g_previous != 1) openblas_set_num_threads(1);
  }
}

SingleThreaded::~SingleThreaded() {
  if (openblas_get_num_threads == nullptr || openblas_set_num_threads == nullptr) return;
  std::lock_guard lock(g_mutex);
  if (--g_active == 0 && g_previous > 1) openblas_set_num_threads(g_previous);
}

}  // namespace mlsd::retrieval::blas
