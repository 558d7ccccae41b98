// The time loops of rnnzoo's explicit-BPTT Functions, in C++: the fast path on the CPU.
//
// Each function here does exactly what the Python loop of the same name in
// rnnzoo/kernels/bptt_{elman,lstm,gru}.py does (those are the reference, with the equations),
// with three differences that make it fast:
// - the loop runs without the Python interpreter;
// - all the elementwise work of one step (every gate, the cell, the output; or, going back,
//   every delta) is one pass over the step's rows instead of a dozen tensor operations;
// - the batch rows are split over ATen's threads once, for the whole sequence: a row's
//   recurrence never reads another row, so each thread runs every time step for its own rows,
//   with its own single-threaded product per step and no synchronisation between steps;
// - that product, h_{t-1} W_hh^T (or delta_t W_hh going back), reads W_hh packed once per loop
//   (packed_gemm.h, float32 on CPUs with AVX-512), where BLAS would re-pack it at every step.
//   (A multi-threaded GEMM per step pays a fork and a join per step, and with it the 2-thread
//   step was slower than oneDNN's on some CPUs; the per-step ATen views cost as much again.)
// The products over all steps at once (x W_ih^T, the weight gradients) stay outside, in ATen.
//
// Layout (rnnzoo/cells/steps.py): packed rows, step t's rows are data[start_t, start_t + rows_t),
// visited in time order, or reversed for the reverse direction. State rows follow the
// sequences: rows that drop out are finished (their state is final), rows that join start from
// their initial state.
#include <ATen/ATen.h>
#include <ATen/Config.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include "packed_gemm.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <cmath>
#include <cstdint>
#include <vector>

using at::Tensor;

// oneDNN's matmul (see gemm_rows): exported by torch, declared in a header it does not ship
namespace at { namespace native {
TORCH_API void mkldnn_matmul(const Tensor& mat1, const Tensor& mat2, const Tensor& result,
                             float beta, float alpha);
}}  // namespace at::native

namespace {

// ---- exp, sigmoid and tanh, written so that the compiler vectorises the loops calling them --
// exp(x) = 2^k exp(r) with k = round(x / ln 2) and |r| <= ln(2) / 2. exp(r) is its Taylor
// series sum_n r^n / n!, in Horner form, to degree 7 (float) or 12 (double), where the first
// omitted term is below half an ulp; 2^k is built from its exponent bits. ln 2 is split in a
// short head (k * head is exact) and a tail, so that r keeps its precision.
template <typename T> struct Exp;
template <> struct Exp<float> {
  using Bits = int32_t;
  static constexpr int degree = 7, mantissa = 23, bias = 127;
  static constexpr float limit = 87.0f;  // exp(+-87) is still a normal float
  static constexpr float ln2_head = 0.693145751953125f, ln2_tail = 1.42860676533018e-06f;
};
template <> struct Exp<double> {
  using Bits = int64_t;
  static constexpr int degree = 12, mantissa = 52, bias = 1023;
  static constexpr double limit = 708.0;
  static constexpr double ln2_head = 0.6931471803691238, ln2_tail = 1.9082149292705877e-10;
};

// 1 / n! for n = 0 .. degree, computed at compile time
template <typename T> struct Taylor {
  T coefficient[Exp<T>::degree + 1] = {};
  constexpr Taylor() {
    T factorial = 1;
    for (int n = 0; n <= Exp<T>::degree; ++n) {
      factorial *= n > 0 ? n : 1;
      coefficient[n] = T(1) / factorial;
    }
  }
};

template <typename T> inline T exp_(T x) {
  using E = Exp<T>;
  static constexpr Taylor<T> taylor{};
  const T limit = E::limit;
  x = x < -limit ? -limit : (x > limit ? limit : x);
  const T k = std::nearbyint(x * T(1.4426950408889634));  // round(x / ln 2)
  const T r = (x - k * E::ln2_head) - k * E::ln2_tail;
  T series = taylor.coefficient[E::degree];
#pragma GCC unroll 16
  for (int n = E::degree - 1; n >= 0; --n) series = series * r + taylor.coefficient[n];
  const typename E::Bits bits = (static_cast<typename E::Bits>(static_cast<int32_t>(k)) + E::bias)
                                << E::mantissa;
  return series * __builtin_bit_cast(T, bits);  // * 2^k
}
template <typename T> inline T sigmoid(T x) { return T(1) / (T(1) + exp_(-x)); }
template <typename T> inline T tanh_(T x) { return T(2) / (T(1) + exp_(T(-2) * x)) - T(1); }

// f and f'(u) (written from h = f(u), as bptt_elman.slope_from_output does), chosen once per
// loop rather than per element, so that the loop has a single body to vectorise
enum Activation : int64_t { TANH = 0, RELU = 1, SIGMOID = 2 };
template <typename F> void with_activation(int64_t f, const F& body) {
  if (f == TANH) body([](auto u) { return tanh_(u); }, [](auto h) { return decltype(h)(1) - h * h; });
  else if (f == SIGMOID) body([](auto u) { return sigmoid(u); }, [](auto h) { return h * (decltype(h)(1) - h); });
  else body([](auto u) { return std::max(u, decltype(u)(0)); }, [](auto h) { return decltype(h)(h > decltype(h)(0)); });
}

// ---- the packed time steps ------------------------------------------------------------------
struct Steps {
  std::vector<int64_t> start, rows;  // in the order this direction visits them
  Steps(at::IntArrayRef batch_sizes, bool reverse) {
    int64_t offset = 0;
    for (int64_t b : batch_sizes) {
      start.push_back(offset);
      rows.push_back(b);
      offset += b;
    }
    if (reverse) {
      std::reverse(start.begin(), start.end());
      std::reverse(rows.begin(), rows.end());
    }
  }
  int64_t size() const { return static_cast<int64_t>(rows.size()); }
  // the same rows of a contiguous (N, width) buffer as a pointer: no Tensor is made, which
  // matters in a loop whose steps take microseconds
  template <typename T> T* at(T* data, int64_t k, int64_t width) const {
    return data + start[k] * width;
  }
};

// Row r's state before the k-th visited step: its row of ``per_step`` at step k-1, or its row
// of ``initial`` when its sequence joins at step k (k == 0, or r past the rows of step k-1).
template <typename T>
const T* previous_row(const T* per_step, const Steps& steps, int64_t k, const T* initial,
                      int64_t r, int64_t width) {
  if (k == 0 || r >= steps.rows[k - 1]) return initial + r * width;
  return per_step + (steps.start[k - 1] + r) * width;
}

// Every row's final state: its value at the last visited step that has the row.
Tensor final_rows(const Tensor& per_step, const Steps& steps, const Tensor& like) {
  Tensor out = at::empty_like(like);
  int64_t done = 0;
  for (int64_t k = steps.size() - 1; k >= 0 && done < out.size(0); --k) {
    const int64_t rows = steps.rows[k];
    if (rows > done) {
      out.narrow(0, done, rows - done).copy_(per_step.narrow(0, steps.start[k] + done, rows - done));
      done = rows;
    }
  }
  return out;
}

// ---- one thread's share: rows [begin, end) of the batch -----------------------------------
// Runs body(begin, end) on ATen's threads with the batch rows split in contiguous blocks,
// at least ``min_rows`` each (fewer rows than that: one thread).
template <typename F> void for_row_blocks(int64_t batch, const F& body) {
  constexpr int64_t min_rows = 4;
  at::parallel_for(0, batch, min_rows, body);
}

// The end of this thread's rows [begin, end) that step k has: rows [begin, result) take part in
// the step (none when result == begin).
inline int64_t active_end(const Steps& steps, int64_t k, int64_t begin, int64_t end) {
  return std::clamp(steps.rows[k], begin, end);
}

// ---- C (m x n) = A (m x k) B (k x n) + beta C, row-major, on the calling thread -------------
// BLAS (the sgemm_/dgemm_ that torch's MKL or OpenBLAS exports) where the symbols are there;
// weak, so that a torch without them still loads this file and takes ATen's mm instead.
extern "C" {
void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*,
            const float*, const int*, const float*, const int*, const float*, float*,
            const int*) __attribute__((weak));
void dgemm_(const char*, const char*, const int*, const int*, const int*, const double*,
            const double*, const int*, const double*, const int*, const double*, double*,
            const int*) __attribute__((weak));
}

// oneDNN's matmul, which torch ships and exports; its JIT kernels beat MKL's sgemm by 10-15%
// on large float products on some CPUs (AMD Zen 4), but its per-call set-up (~8 us) loses on
// small ones, so it takes only products whose weight has at least DNNL_MIN_WEIGHT elements.
#ifndef RNNZOO_DNNL_MIN_WEIGHT
#define RNNZOO_DNNL_MIN_WEIGHT (1 << 18)
#endif

template <typename T>
void gemm_rows(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb,
               T beta, T* c, int64_t ldc) {
  if (m <= 0) return;
  if constexpr (std::is_same_v<T, float>) {
    if (AT_MKLDNN_ENABLED() && n * k >= RNNZOO_DNNL_MIN_WEIGHT && m >= 8) {
      auto options = at::TensorOptions().dtype(at::kFloat);
      const Tensor A = at::from_blob(const_cast<T*>(a), {m, k}, {lda, 1}, options);
      const Tensor B = at::from_blob(const_cast<T*>(b), {k, n}, {ldb, 1}, options);
      const Tensor C = at::from_blob(c, {m, n}, {ldc, 1}, options);
      return at::native::mkldnn_matmul(A, B, C, beta, 1.0f);
    }
  }
  // row-major C = A B is column-major C^T = B^T A^T: BLAS with the operands swapped
  const int M = static_cast<int>(n), N = static_cast<int>(m), K = static_cast<int>(k);
  const int LDA = static_cast<int>(ldb), LDB = static_cast<int>(lda), LDC = static_cast<int>(ldc);
  const T one = 1;
  if constexpr (std::is_same_v<T, float>) {
    if (sgemm_ != nullptr) return sgemm_("N", "N", &M, &N, &K, &one, b, &LDA, a, &LDB, &beta, c, &LDC);
  } else {
    if (dgemm_ != nullptr) return dgemm_("N", "N", &M, &N, &K, &one, b, &LDA, a, &LDB, &beta, c, &LDC);
  }
  auto options = at::TensorOptions().dtype(c10::CppTypeToScalarType<T>::value);
  const Tensor A = at::from_blob(const_cast<T*>(a), {m, k}, {lda, 1}, options);
  const Tensor B = at::from_blob(const_cast<T*>(b), {k, n}, {ldb, 1}, options);
  Tensor C = at::from_blob(c, {m, n}, {ldc, 1}, options);
  if (beta == T(0)) at::mm_out(C, A, B);
  else C.addmm_(A, B, beta, 1);
}

// A loop's recurrent weight W (k x n, row-major): the same at every step, so it is packed once
// per loop for the float kernel of packed_gemm.h where that kernel can run, else BLAS takes it.
template <typename T> struct Weight {
  const T* data;
  int64_t k, n;
  rnnzoo_native::PackedWeight packed;
  Weight(const T* data, int64_t k, int64_t n) : data(data), k(k), n(n) {
    if constexpr (std::is_same_v<T, float>) packed = rnnzoo_native::pack_weight(data, k, n, n);
  }
};

// C (m x n) = A (m x k) W + beta C, row-major, on the calling thread
template <typename T>
void gemm_rows(int64_t m, const T* a, int64_t lda, const Weight<T>& w, T beta, T* c, int64_t ldc) {
  if (m <= 0) return;
  if constexpr (std::is_same_v<T, float>) {
    if (w.packed.usable()) return rnnzoo_native::packed_gemm(m, a, lda, w.packed, beta, c, ldc);
  }
  gemm_rows(m, w.n, w.k, a, lda, w.data, w.n, beta, c, ldc);
}

// C[rows begin..end) = (state before step k)[rows] W + beta C: the rows whose state is at step
// k-1 and the rows that join from the initial state are each contiguous, so two products.
template <typename T>
void gemm_previous(const T* per_step, const Steps& steps, int64_t k, const T* initial,
                   int64_t begin, int64_t end, const Weight<T>& w, T beta, T* c, int64_t ldc) {
  const int64_t width = w.k, carried = k == 0 ? begin : active_end(steps, k - 1, begin, end);
  if (carried > begin)
    gemm_rows(carried - begin, per_step + (steps.start[k - 1] + begin) * width, width, w, beta,
              c + begin * ldc, ldc);
  if (end > carried)
    gemm_rows(end - carried, initial + carried * width, width, w, beta, c + carried * ldc, ldc);
}

// Going back in time, a gradient carry of shape (batch, H) starts as dL/d(final state), so rows
// that join still hold their own final gradient; rows whose sequence began at the step just
// processed leave, and what they carry is the gradient of their initial state.
template <typename T>
void leave_rows(const T* carry, T* grad_initial, int64_t from, int64_t to, int64_t width) {
  if (to > from)
    std::memcpy(grad_initial + from * width, carry + from * width, (to - from) * width * sizeof(T));
}

template <typename T> T* ptr(const Tensor& t) { return t.data_ptr<T>(); }

// body(T{}) with T the C++ type of ``t``'s elements (float or double)
template <typename F> void dispatch(const Tensor& t, const F& body) {
  TORCH_CHECK(t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble,
              "rnnzoo's native loops take float32 or float64, got ", t.scalar_type());
  if (t.scalar_type() == at::kDouble) body(double{});
  else body(float{});
}

// The bias, or zeros where the layer has none (so the loops have one body).
Tensor bias_or_zeros(const c10::optional<Tensor>& bias, int64_t size, const Tensor& like) {
  return bias.has_value() ? bias->contiguous() : at::zeros({size}, like.options());
}

// ---- Elman: h_t = f(x_proj_t + h_{t-1} W_hh^T) ------------------------------------------------
// (x_proj = x W_ih^T; ``bias`` = b_ih + b_hh is added here, saving a pass over x_proj)
std::vector<Tensor> elman_forward(const Tensor& x_proj, const c10::optional<Tensor>& bias,
                                  const Tensor& h0, const Tensor& w_t,
                                  at::IntArrayRef batch_sizes, bool reverse, int64_t f) {
  const Steps steps(batch_sizes, reverse);
  const int64_t H = h0.size(1);
  Tensor outputs = at::empty_like(x_proj);
  const Tensor b_all = bias_or_zeros(bias, H, x_proj), w = w_t.contiguous(), init = h0.contiguous();
  dispatch(x_proj, [&](auto zero) {
    using scalar_t = decltype(zero);
    const scalar_t *x = ptr<scalar_t>(x_proj), *b = ptr<scalar_t>(b_all);
    const scalar_t* h_init = ptr<scalar_t>(init);
    const Weight<scalar_t> w_hh_t(ptr<scalar_t>(w), H, H);
    scalar_t* out = ptr<scalar_t>(outputs);
    with_activation(f, [&](auto activate, auto) {
      for_row_blocks(h0.size(0), [&](int64_t begin, int64_t end) {
        for (int64_t k = 0; k < steps.size(); ++k) {
          const int64_t stop = active_end(steps, k, begin, end);
          if (stop <= begin) continue;
          scalar_t* u = steps.at(out, k, H);  // h_{t-1} W_hh^T, then f(u_t)
          gemm_previous(out, steps, k, h_init, begin, stop, w_hh_t, scalar_t(0), u, H);
          const scalar_t* x_k = steps.at(x, k, H);
          for (int64_t row = begin; row < stop; ++row) {
            const scalar_t* x_row = x_k + row * H;
            scalar_t* u_row = u + row * H;
#pragma omp simd
            for (int64_t j = 0; j < H; ++j) u_row[j] = activate(x_row[j] + b[j] + u_row[j]);
          }
        }
      });
    });
  });
  return {outputs, final_rows(outputs, steps, h0)};
}

// delta_t = f'(u_t) * (g_t + delta_{t+1} W_hh); returns (delta, dL/dh_0)
std::vector<Tensor> elman_backward(const Tensor& grad_outputs, const Tensor& grad_h_n,
                                   const Tensor& outputs, const Tensor& weight_hh,
                                   at::IntArrayRef batch_sizes, bool reverse, int64_t f) {
  const Steps steps(batch_sizes, reverse);
  const int64_t H = outputs.size(1);
  Tensor delta = at::empty_like(outputs), carry = grad_h_n.contiguous().clone();
  Tensor grad_h0 = at::empty_like(carry);
  const Tensor w = weight_hh.contiguous(), g_all = grad_outputs.contiguous();
  dispatch(outputs, [&](auto zero) {
    using scalar_t = decltype(zero);
    const scalar_t *h_all = ptr<scalar_t>(outputs), *g_out = ptr<scalar_t>(g_all);
    const Weight<scalar_t> w_hh(ptr<scalar_t>(w), H, H);
    scalar_t *d_all = ptr<scalar_t>(delta), *from_later = ptr<scalar_t>(carry), *gh0 = ptr<scalar_t>(grad_h0);
    with_activation(f, [&](auto, auto slope) {
      for_row_blocks(carry.size(0), [&](int64_t begin, int64_t end) {
        int64_t active = active_end(steps, steps.size() - 1, begin, end);
        for (int64_t k = steps.size() - 1; k >= 0; --k) {
          const int64_t stop = active_end(steps, k, begin, end);
          leave_rows(from_later, gh0, stop, active, H);
          active = stop;
          if (stop <= begin) continue;
          const scalar_t* h = steps.at(h_all, k, H);
          const scalar_t* g = steps.at(g_out, k, H);
          scalar_t* d = steps.at(d_all, k, H);
          for (int64_t row = begin; row < stop; ++row) {
            const int64_t base = row * H;
#pragma omp simd
            for (int64_t j = base; j < base + H; ++j) d[j] = slope(h[j]) * (g[j] + from_later[j]);
          }
          // delta_t W_hh, what reaches h_{t-1}
          gemm_rows(stop - begin, d + begin * H, H, w_hh, scalar_t(0), from_later + begin * H, H);
        }
        leave_rows(from_later, gh0, begin, active, H);
      });
    });
  });
  return {delta, grad_h0};
}

// ---- LSTM (gates i, f, g, o) ----------------------------------------------------------------
// Forward returns (outputs h, h_n, c_n, gates, cells C, tanh(C)); ``gates`` holds the
// activated i, f, g, o of every step, which is what the backward deltas read.
// (x_proj = x W_ih^T; ``bias`` = b_ih + b_hh is added here, saving a pass over x_proj)
std::vector<Tensor> lstm_forward(const Tensor& x_proj, const c10::optional<Tensor>& bias,
                                 const Tensor& h0, const Tensor& c0, const Tensor& w_t,
                                 at::IntArrayRef batch_sizes, bool reverse) {
  const Steps steps(batch_sizes, reverse);
  const int64_t H = h0.size(1);
  const Tensor b_all = bias_or_zeros(bias, 4 * H, x_proj), w = w_t.contiguous();
  const Tensor h_init = h0.contiguous(), c_init = c0.contiguous();
  Tensor gates = at::empty_like(x_proj);
  Tensor cells = at::empty({x_proj.size(0), H}, x_proj.options());
  Tensor tanh_cells = at::empty_like(cells), outputs = at::empty_like(cells);
  dispatch(x_proj, [&](auto zero) {
    using scalar_t = decltype(zero);
    const scalar_t *x_all = ptr<scalar_t>(x_proj), *b = ptr<scalar_t>(b_all);
    const Weight<scalar_t> w_hh_t(ptr<scalar_t>(w), H, 4 * H);
    const scalar_t *h0_p = ptr<scalar_t>(h_init), *c0_p = ptr<scalar_t>(c_init);
    scalar_t *gate_all = ptr<scalar_t>(gates), *c_all = ptr<scalar_t>(cells);
    scalar_t *tanh_all = ptr<scalar_t>(tanh_cells), *h_all = ptr<scalar_t>(outputs);
    const scalar_t *b_i = b, *b_f = b + H, *b_g = b + 2 * H, *b_o = b + 3 * H;
    for_row_blocks(h0.size(0), [&](int64_t begin, int64_t end) {
      for (int64_t k = 0; k < steps.size(); ++k) {
        const int64_t stop = active_end(steps, k, begin, end);
        if (stop <= begin) continue;
        scalar_t* gate = steps.at(gate_all, k, 4 * H);  // h_{t-1} W_hh^T, then i, f, g, o
        gemm_previous(h_all, steps, k, h0_p, begin, stop, w_hh_t, scalar_t(0), gate, 4 * H);
        const scalar_t* x = steps.at(x_all, k, 4 * H);
        scalar_t* c = steps.at(c_all, k, H);
        scalar_t* tanh_c = steps.at(tanh_all, k, H);
        scalar_t* h = steps.at(h_all, k, H);
        for (int64_t row = begin; row < stop; ++row) {
          scalar_t* i = gate + row * 4 * H;  // a_t = x_proj_t + h_{t-1} W_hh^T, then i, f, g, o
          scalar_t* f = i + H;
          scalar_t* g = f + H;
          scalar_t* o = g + H;
          const scalar_t* x_i = x + row * 4 * H;
          const scalar_t* x_f = x_i + H;
          const scalar_t* x_g = x_f + H;
          const scalar_t* x_o = x_g + H;
          const scalar_t* c_prev = previous_row(c_all, steps, k, c0_p, row, H);
          const int64_t base = row * H;
#pragma omp simd
          for (int64_t j = 0; j < H; ++j) {
            i[j] = sigmoid(x_i[j] + b_i[j] + i[j]);
            f[j] = sigmoid(x_f[j] + b_f[j] + f[j]);
            g[j] = tanh_(x_g[j] + b_g[j] + g[j]);
            o[j] = sigmoid(x_o[j] + b_o[j] + o[j]);
            c[base + j] = f[j] * c_prev[j] + i[j] * g[j];  // C_t = f * C_{t-1} + i * g
            tanh_c[base + j] = tanh_(c[base + j]);
            h[base + j] = o[j] * tanh_c[base + j];  // h_t = o * tanh(C_t)
          }
        }
      }
    });
  });
  return {outputs, final_rows(outputs, steps, h0), final_rows(cells, steps, c0), gates, cells,
          tanh_cells};
}

// The same forward for inference (nothing will go back through it): returns (outputs h, h_n,
// c_n) only. Keeping the gates, C and tanh(C) of every step for the backward is what the
// training forward spends its memory traffic on (at T=100, B=64, H=512: 52 MB of gates, written
// once and read by no one here); this one keeps one step of gates per row and each row's C in
// place, all of which stay in the cache.
std::vector<Tensor> lstm_infer(const Tensor& x_proj, const c10::optional<Tensor>& bias,
                               const Tensor& h0, const Tensor& c0, const Tensor& w_t,
                               at::IntArrayRef batch_sizes, bool reverse) {
  const Steps steps(batch_sizes, reverse);
  const int64_t H = h0.size(1), B = h0.size(0);
  const Tensor b_all = bias_or_zeros(bias, 4 * H, x_proj), w = w_t.contiguous();
  const Tensor h_init = h0.contiguous();
  Tensor outputs = at::empty({x_proj.size(0), H}, x_proj.options());
  Tensor cell_state = c0.contiguous().clone();  // each row's C_t, updated in place: C_n at the end
  Tensor step_gates = at::empty({B, 4 * H}, x_proj.options());
  dispatch(x_proj, [&](auto zero) {
    using scalar_t = decltype(zero);
    const scalar_t *x_all = ptr<scalar_t>(x_proj), *b = ptr<scalar_t>(b_all);
    const Weight<scalar_t> w_hh_t(ptr<scalar_t>(w), H, 4 * H);
    const scalar_t* h0_p = ptr<scalar_t>(h_init);
    scalar_t *a_all = ptr<scalar_t>(step_gates), *c_all = ptr<scalar_t>(cell_state), *h_all = ptr<scalar_t>(outputs);
    const scalar_t *b_i = b, *b_f = b + H, *b_g = b + 2 * H, *b_o = b + 3 * H;
    for_row_blocks(B, [&](int64_t begin, int64_t end) {
      for (int64_t k = 0; k < steps.size(); ++k) {
        const int64_t stop = active_end(steps, k, begin, end);
        if (stop <= begin) continue;
        gemm_previous(h_all, steps, k, h0_p, begin, stop, w_hh_t, scalar_t(0), a_all, 4 * H);
        const scalar_t* x = steps.at(x_all, k, 4 * H);
        scalar_t* h = steps.at(h_all, k, H);
        for (int64_t row = begin; row < stop; ++row) {
          const scalar_t* a_i = a_all + row * 4 * H;  // h_{t-1} W_hh^T, blocks i, f, g, o
          const scalar_t* a_f = a_i + H;
          const scalar_t* a_g = a_f + H;
          const scalar_t* a_o = a_g + H;
          const scalar_t* x_i = x + row * 4 * H;
          const scalar_t* x_f = x_i + H;
          const scalar_t* x_g = x_f + H;
          const scalar_t* x_o = x_g + H;
          scalar_t* c = c_all + row * H;  // C_{t-1}, becoming C_t
          scalar_t* h_row = h + row * H;
#pragma omp simd
          for (int64_t j = 0; j < H; ++j) {
            const scalar_t i = sigmoid(x_i[j] + b_i[j] + a_i[j]);
            const scalar_t f = sigmoid(x_f[j] + b_f[j] + a_f[j]);
            const scalar_t g = tanh_(x_g[j] + b_g[j] + a_g[j]);
            const scalar_t o = sigmoid(x_o[j] + b_o[j] + a_o[j]);
            c[j] = f * c[j] + i * g;  // C_t = f * C_{t-1} + i * g
            h_row[j] = o * tanh_(c[j]);  // h_t = o * tanh(C_t)
          }
        }
      }
    });
  });
  return {outputs, final_rows(outputs, steps, h0), cell_state};
}

// Returns (da: the gradient of every step's pre-activations, dL/dh_0, dL/dC_0).
std::vector<Tensor> lstm_backward(const Tensor& grad_outputs, const Tensor& grad_h_n,
                                  const Tensor& grad_c_n, const Tensor& gates, const Tensor& cells,
                                  const Tensor& tanh_cells, const Tensor& c0,
                                  const Tensor& weight_hh, at::IntArrayRef batch_sizes, bool reverse) {
  const Steps steps(batch_sizes, reverse);
  const int64_t H = c0.size(1);
  Tensor grad_gates = at::empty_like(gates);
  Tensor carry_h = grad_h_n.contiguous().clone(), carry_c = grad_c_n.contiguous().clone();
  Tensor grad_h0 = at::empty_like(carry_h), grad_c0 = at::empty_like(carry_c);
  const Tensor w = weight_hh.contiguous(), g_all = grad_outputs.contiguous(), c_init = c0.contiguous();
  dispatch(gates, [&](auto zero) {
    using scalar_t = decltype(zero);
    const scalar_t *gate_all = ptr<scalar_t>(gates), *c_all = ptr<scalar_t>(cells);
    const scalar_t *tanh_all = ptr<scalar_t>(tanh_cells), *g_out_all = ptr<scalar_t>(g_all);
    const scalar_t* c0_p = ptr<scalar_t>(c_init);
    const Weight<scalar_t> w_hh(ptr<scalar_t>(w), 4 * H, H);
    scalar_t *from_later = ptr<scalar_t>(carry_h), *dc_carry = ptr<scalar_t>(carry_c);
    scalar_t *gh0 = ptr<scalar_t>(grad_h0), *gc0 = ptr<scalar_t>(grad_c0), *da_all = ptr<scalar_t>(grad_gates);
    for_row_blocks(carry_h.size(0), [&](int64_t begin, int64_t end) {
      int64_t active = active_end(steps, steps.size() - 1, begin, end);
      for (int64_t k = steps.size() - 1; k >= 0; --k) {
        const int64_t stop = active_end(steps, k, begin, end);
        leave_rows(from_later, gh0, stop, active, H);
        leave_rows(dc_carry, gc0, stop, active, H);
        active = stop;
        if (stop <= begin) continue;
        const scalar_t* gate = steps.at(gate_all, k, 4 * H);
        const scalar_t* tanh_c = steps.at(tanh_all, k, H);
        const scalar_t* g_out = steps.at(g_out_all, k, H);
        scalar_t* da = steps.at(da_all, k, 4 * H);
        for (int64_t row = begin; row < stop; ++row) {
          const scalar_t* i = gate + row * 4 * H;
          const scalar_t* f = i + H;
          const scalar_t* g = f + H;
          const scalar_t* o = g + H;
          scalar_t* da_i = da + row * 4 * H;
          scalar_t* da_f = da_i + H;
          scalar_t* da_g = da_f + H;
          scalar_t* da_o = da_g + H;
          const scalar_t* c_prev = previous_row(c_all, steps, k, c0_p, row, H);
          const int64_t base = row * H;
#pragma omp simd
          for (int64_t j = 0; j < H; ++j) {
            const scalar_t dh = g_out[base + j] + from_later[base + j];
            const scalar_t t = tanh_c[base + j];
            const scalar_t dc = dc_carry[base + j] + dh * o[j] * (scalar_t(1) - t * t);
            da_i[j] = dc * g[j] * i[j] * (scalar_t(1) - i[j]);
            da_f[j] = dc * c_prev[j] * f[j] * (scalar_t(1) - f[j]);
            da_g[j] = dc * i[j] * (scalar_t(1) - g[j] * g[j]);
            da_o[j] = dh * t * o[j] * (scalar_t(1) - o[j]);
            dc_carry[base + j] = dc * f[j];  // what dC_t sends back to C_{t-1}
          }
        }
        // da_t W_hh, what reaches h_{t-1}
        gemm_rows(stop - begin, da + begin * 4 * H, 4 * H, w_hh, scalar_t(0), from_later + begin * H, H);
      }
      leave_rows(from_later, gh0, begin, active, H);
      leave_rows(dc_carry, gc0, begin, active, H);
    });
  });
  return {grad_gates, grad_h0, grad_c0};
}

// ---- GRU, reset after the matmul (blocks r, z, n) -------------------------------------------
// Forward returns (outputs h, h_n, gates); ``gates`` holds r, z, n and s_n = (W_hn h_{t-1} +
// b_hn) of every step, the four things the backward deltas read.
// (x_proj = x W_ih^T; b_ih and b_hh are added here)
std::vector<Tensor> gru_forward(const Tensor& x_proj, const c10::optional<Tensor>& bias_ih,
                                const Tensor& h0, const Tensor& w_t,
                                const c10::optional<Tensor>& bias_hh, at::IntArrayRef batch_sizes,
                                bool reverse) {
  const Steps steps(batch_sizes, reverse);
  const int64_t H = h0.size(1), B = h0.size(0);
  Tensor outputs = at::empty({x_proj.size(0), H}, x_proj.options());
  Tensor gates = at::empty({x_proj.size(0), 4 * H}, x_proj.options());
  Tensor hidden = at::empty({B, 3 * H}, x_proj.options());  // W_hh h_{t-1}; b_hh is added below
  const Tensor b_x = bias_or_zeros(bias_ih, 3 * H, x_proj), b_s = bias_or_zeros(bias_hh, 3 * H, x_proj);
  const Tensor w = w_t.contiguous(), h_init = h0.contiguous();
  dispatch(x_proj, [&](auto zero) {
    using scalar_t = decltype(zero);
    const scalar_t *x_all = ptr<scalar_t>(x_proj), *bx = ptr<scalar_t>(b_x), *bs = ptr<scalar_t>(b_s);
    const scalar_t* h0_p = ptr<scalar_t>(h_init);
    const Weight<scalar_t> w_hh_t(ptr<scalar_t>(w), H, 3 * H);
    scalar_t *s_all = ptr<scalar_t>(hidden), *gate_all = ptr<scalar_t>(gates), *h_all = ptr<scalar_t>(outputs);
    const scalar_t *b_ir = bx, *b_iz = bx + H, *b_in = bx + 2 * H;
    const scalar_t *b_hr = bs, *b_hz = bs + H, *b_hn = bs + 2 * H;
    for_row_blocks(B, [&](int64_t begin, int64_t end) {
      for (int64_t k = 0; k < steps.size(); ++k) {
        const int64_t stop = active_end(steps, k, begin, end);
        if (stop <= begin) continue;
        gemm_previous(h_all, steps, k, h0_p, begin, stop, w_hh_t, scalar_t(0), s_all, 3 * H);
        const scalar_t* x = steps.at(x_all, k, 3 * H);
        scalar_t* gate = steps.at(gate_all, k, 4 * H);
        scalar_t* h = steps.at(h_all, k, H);
        for (int64_t row = begin; row < stop; ++row) {
          const scalar_t* x_r = x + row * 3 * H;
          const scalar_t* x_z = x_r + H;
          const scalar_t* x_n = x_z + H;
          const scalar_t* s_r = s_all + row * 3 * H;
          const scalar_t* s_z = s_r + H;
          const scalar_t* s_n = s_z + H;
          scalar_t* r = gate + row * 4 * H;
          scalar_t* z = r + H;
          scalar_t* n = z + H;
          scalar_t* kept_s_n = n + H;
          const scalar_t* hp = previous_row(h_all, steps, k, h0_p, row, H);
          const int64_t base = row * H;
#pragma omp simd
          for (int64_t j = 0; j < H; ++j) {
            r[j] = sigmoid((x_r[j] + b_ir[j]) + (s_r[j] + b_hr[j]));
            z[j] = sigmoid((x_z[j] + b_iz[j]) + (s_z[j] + b_hz[j]));
            kept_s_n[j] = s_n[j] + b_hn[j];
            n[j] = tanh_((x_n[j] + b_in[j]) + r[j] * kept_s_n[j]);
            h[base + j] = (scalar_t(1) - z[j]) * n[j] + z[j] * hp[j];
          }
        }
      }
    });
  });
  return {outputs, final_rows(outputs, steps, h0), gates};
}

// Returns (dL/dx_proj, ds: the gradient of every step's s_t, dL/dh_0).
std::vector<Tensor> gru_backward(const Tensor& grad_outputs, const Tensor& grad_h_n,
                                 const Tensor& outputs, const Tensor& gates, const Tensor& h0,
                                 const Tensor& weight_hh, at::IntArrayRef batch_sizes, bool reverse) {
  const Steps steps(batch_sizes, reverse);
  const int64_t H = h0.size(1), N = outputs.size(0);
  Tensor grad_x = at::empty({N, 3 * H}, outputs.options()), grad_s = at::empty_like(grad_x);
  Tensor carry = grad_h_n.contiguous().clone(), grad_h0 = at::empty_like(carry);
  const Tensor w = weight_hh.contiguous(), g_all = grad_outputs.contiguous(), h_init = h0.contiguous();
  dispatch(outputs, [&](auto zero) {
    using scalar_t = decltype(zero);
    const scalar_t *gate_all = ptr<scalar_t>(gates), *h_all = ptr<scalar_t>(outputs);
    const scalar_t *h0_p = ptr<scalar_t>(h_init), *g_out_all = ptr<scalar_t>(g_all);
    const Weight<scalar_t> w_hh(ptr<scalar_t>(w), 3 * H, H);
    scalar_t *dh_carry = ptr<scalar_t>(carry), *gh0 = ptr<scalar_t>(grad_h0);
    scalar_t *dx_all = ptr<scalar_t>(grad_x), *ds_all = ptr<scalar_t>(grad_s);
    for_row_blocks(carry.size(0), [&](int64_t begin, int64_t end) {
      int64_t active = active_end(steps, steps.size() - 1, begin, end);
      for (int64_t k = steps.size() - 1; k >= 0; --k) {
        const int64_t stop = active_end(steps, k, begin, end);
        leave_rows(dh_carry, gh0, stop, active, H);
        active = stop;
        if (stop <= begin) continue;
        const scalar_t* gate = steps.at(gate_all, k, 4 * H);
        const scalar_t* g_out = steps.at(g_out_all, k, H);
        scalar_t* dx = steps.at(dx_all, k, 3 * H);
        scalar_t* ds = steps.at(ds_all, k, 3 * H);
        for (int64_t row = begin; row < stop; ++row) {
          const scalar_t* r = gate + row * 4 * H;
          const scalar_t* z = r + H;
          const scalar_t* n = z + H;
          const scalar_t* s_n = n + H;
          scalar_t* dx_r = dx + row * 3 * H;
          scalar_t* dx_z = dx_r + H;
          scalar_t* dx_n = dx_z + H;
          scalar_t* ds_r = ds + row * 3 * H;
          scalar_t* ds_z = ds_r + H;
          scalar_t* ds_n = ds_z + H;
          const scalar_t* hp = previous_row(h_all, steps, k, h0_p, row, H);
          const int64_t base = row * H;
#pragma omp simd
          for (int64_t j = 0; j < H; ++j) {
            const scalar_t dh = g_out[base + j] + dh_carry[base + j];
            const scalar_t q = dh * (scalar_t(1) - z[j]) * (scalar_t(1) - n[j] * n[j]);
            ds_r[j] = dx_r[j] = q * s_n[j] * r[j] * (scalar_t(1) - r[j]);
            ds_z[j] = dx_z[j] = dh * (hp[j] - n[j]) * z[j] * (scalar_t(1) - z[j]);
            dx_n[j] = q;
            ds_n[j] = q * r[j];
            dh_carry[base + j] = dh * z[j];  // the direct path h_{t-1} -> h_t
          }
        }
        // + ds_t W_hh
        gemm_rows(stop - begin, ds + begin * 3 * H, 3 * H, w_hh, scalar_t(1), dh_carry + begin * H, H);
      }
      leave_rows(dh_carry, gh0, begin, active, H);
    });
  });
  return {grad_x, grad_s, grad_h0};
}

// ---- a @ b for the large products around the loops ------------------------------------------
// The input projection x W_ih^T over all steps and the products of the backward are the largest
// GEMMs of a recurrent layer. torch's mm runs them in MKL; oneDNN's matmul (which torch.nn's
// LSTM uses through its RNN primitive) was 25-35% faster for float32 on an AMD EPYC (Zen 4)
// with 2 threads, so rnnzoo::dense (rnnzoo/kernels/dense.py) sends them here.
Tensor dense(const Tensor& a, const Tensor& b) {
  TORCH_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(0), "dense: shapes ",
              a.sizes(), " and ", b.sizes(), " cannot be multiplied");
  Tensor out = at::empty({a.size(0), b.size(1)}, a.options());
#if AT_MKLDNN_ENABLED()
  if (a.scalar_type() == at::kFloat && b.scalar_type() == at::kFloat && out.numel() > 0) {
    at::native::mkldnn_matmul(a, b, out, 0.0f, 1.0f);
    return out;
  }
#endif
  return at::mm_out(out, a, b);
}

}  // namespace

TORCH_LIBRARY(rnnzoo, m) {
  m.def("elman_forward", &elman_forward);
  m.def("elman_backward", &elman_backward);
  m.def("lstm_forward", &lstm_forward);
  m.def("lstm_infer", &lstm_infer);
  m.def("lstm_backward", &lstm_backward);
  m.def("gru_forward", &gru_forward);
  m.def("gru_backward", &gru_backward);
  m.def("dense_matmul", &dense);
}
