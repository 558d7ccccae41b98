// C (m x n) = A (m x k) W (k x n) + beta C for float32, with W packed once and reused at every
// time step: the recurrent product of a loop (h_{t-1} W_hh^T going forward, delta_t W_hh going
// back) has the same W at each of its T steps and only a few rows of A per thread.
//
// Why not BLAS: at the loops' shapes (a thread's 16 rows times a 128 x 512 W_hh^T) MKL's sgemm
// ran at 76 GFLOP/s on one core of an AMD EPYC (Zen 4) and oneDNN's matmul at 32 (its per-call
// set-up dominates), while this kernel ran at 112; at 16 x 512 x 2048, 70 (MKL), 80 (oneDNN)
// and 115. BLAS re-packs W at every call; here it is packed once per loop.
//
// Layout: W is cut into panels of 32 columns (the last one 16 when n % 32 == 16); panel p holds
// its k rows of 32 floats one after another, so the kernel reads it front to back. The kernel
// keeps an MR x 32 block of C in 2 * MR vector registers (MR <= 8: 16 accumulators, plus two for
// the row of W and one for the broadcast element of A) and adds one rank-1 update per row of W.
// Without AVX-512 (or for n not a multiple of 16) ``PackedWeight::usable`` is false and the
// caller keeps BLAS.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace rnnzoo_native {

struct PackedWeight {
  int64_t k = 0, n = 0;
  std::vector<float> panels;  // empty: not packed, the caller uses BLAS
  bool usable() const { return !panels.empty(); }
};

inline int64_t panel_width(int64_t n, int64_t column) { return n - column >= 32 ? 32 : 16; }

// W row-major (k x n, leading dimension ldw)
inline PackedWeight pack_weight(const float* w, int64_t k, int64_t n, int64_t ldw) {
  PackedWeight packed;
  packed.k = k;
  packed.n = n;
#if defined(__AVX512F__)
  if (k <= 0 || n <= 0 || n % 16 != 0) return packed;
  packed.panels.resize(k * n);
  float* out = packed.panels.data();
  for (int64_t column = 0; column < n; column += panel_width(n, column)) {
    const int64_t width = panel_width(n, column);
    for (int64_t row = 0; row < k; ++row, out += width)
      std::memcpy(out, w + row * ldw + column, width * sizeof(float));
  }
#else
  (void)w, (void)ldw;
#endif
  return packed;
}

#if defined(__AVX512F__)
// rows [0, MR) of C's columns [column, column + 16 * VECS), from A's MR rows and one panel
template <int MR, int VECS>
inline void micro_kernel(int64_t k, const float* a, int64_t lda, const float* panel, float beta,
                         float* c, int64_t ldc) {
  __m512 acc[MR][VECS];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < VECS; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int64_t q = 0; q < k; ++q, panel += 16 * VECS) {
    __m512 w[VECS];
    for (int v = 0; v < VECS; ++v) w[v] = _mm512_loadu_ps(panel + 16 * v);
    for (int r = 0; r < MR; ++r) {
      const __m512 a_rq = _mm512_set1_ps(a[r * lda + q]);
      for (int v = 0; v < VECS; ++v) acc[r][v] = _mm512_fmadd_ps(a_rq, w[v], acc[r][v]);
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < VECS; ++v) {
      float* out = c + r * ldc + 16 * v;
      // beta == 0 must not read C: it may be uninitialised (NaN * 0 is NaN)
      const __m512 sum = beta == 0.0f ? acc[r][v]
                                      : _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_loadu_ps(out), acc[r][v]);
      _mm512_storeu_ps(out, sum);
    }
}

template <int VECS>
inline void panel_rows(int64_t m, int64_t k, const float* a, int64_t lda, const float* panel,
                       float beta, float* c, int64_t ldc) {
  int64_t r = 0;
  for (; r + 8 <= m; r += 8) micro_kernel<8, VECS>(k, a + r * lda, lda, panel, beta, c + r * ldc, ldc);
  if (r + 4 <= m) micro_kernel<4, VECS>(k, a + r * lda, lda, panel, beta, c + r * ldc, ldc), r += 4;
  if (r + 2 <= m) micro_kernel<2, VECS>(k, a + r * lda, lda, panel, beta, c + r * ldc, ldc), r += 2;
  if (r < m) micro_kernel<1, VECS>(k, a + r * lda, lda, panel, beta, c + r * ldc, ldc);
}
#endif

// C = A W + beta C on the calling thread; W must be usable()
inline void packed_gemm(int64_t m, const float* a, int64_t lda, const PackedWeight& w, float beta,
                        float* c, int64_t ldc) {
#if defined(__AVX512F__)
  const float* panel = w.panels.data();
  for (int64_t column = 0; column < w.n; column += panel_width(w.n, column)) {
    if (panel_width(w.n, column) == 32) panel_rows<2>(m, w.k, a, lda, panel, beta, c + column, ldc);
    else panel_rows<1>(m, w.k, a, lda, panel, beta, c + column, ldc);
    panel += w.k * panel_width(w.n, column);
  }
#else
  (void)m, (void)a, (void)lda, (void)w, (void)beta, (void)c, (void)ldc;
#endif
}

}  // namespace rnnzoo_native
