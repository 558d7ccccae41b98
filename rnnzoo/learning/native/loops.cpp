// The time loops of rnnzoo's explicit-BPTT Functions, in C++: the fast path on the CPU.
//
// Each function here does exactly what the Python loop of the same name in
// rnnzoo/learning/bptt_{elman,lstm,gru}.py does (those are the reference, with the equations),
// with two differences that make it fast: the loop runs without the Python interpreter, and
// all the elementwise work of one step (every gate, the cell, the output; or, going back, every
// delta) is one pass over the step's rows instead of a dozen tensor operations. The matrix
// products stay ATen's (addmm/mm on the step's rows). Rows are split over ATen's threads.
//
// Layout (rnnzoo/cells/steps.py): packed rows, step t's rows are data[start_t, start_t + rows_t),
// visited in time order, or reversed for the reverse direction. State rows follow the
// sequences: rows that drop out are finished (their state is final), rows that join start from
// their initial state.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

using at::Tensor;

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

// Run body(row) for rows [0, rows) on ATen's threads, in chunks of at least GRAIN elements
// (below that, waking a thread costs more than it saves).
#ifndef RNNZOO_GRAIN
#define RNNZOO_GRAIN 8192
#endif
template <typename F> void for_each_row(int64_t rows, int64_t width, const F& body) {
  const int64_t grain = std::max<int64_t>(1, RNNZOO_GRAIN / std::max<int64_t>(width, 1));
  at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) body(row);
  });
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
  Tensor at(const Tensor& data, int64_t k) const { return data.narrow(0, start[k], rows[k]); }
  // the same rows of a contiguous (N, width) buffer as a pointer: no Tensor is made, which
  // matters in a loop whose steps take microseconds
  template <typename T> T* at(T* data, int64_t k, int64_t width) const {
    return data + start[k] * width;
  }
};

// The state the k-th visited step starts from: the rows of ``per_step`` at step k-1 (a view),
// plus, for sequences that join at step k, their rows of ``initial`` (copied into ``scratch``).
Tensor previous(const Tensor& per_step, const Steps& steps, int64_t k, const Tensor& initial,
                const Tensor& scratch) {
  const int64_t rows = steps.rows[k];
  if (k == 0) return initial.narrow(0, 0, rows);
  const int64_t before = steps.rows[k - 1];
  if (rows <= before) return per_step.narrow(0, steps.start[k - 1], rows);
  Tensor joined = scratch.narrow(0, 0, rows);
  joined.narrow(0, 0, before).copy_(per_step.narrow(0, steps.start[k - 1], before));
  joined.narrow(0, before, rows - before).copy_(initial.narrow(0, before, rows - before));
  return joined;
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

// Going back in time, a gradient carry of shape (batch, H) starts as dL/d(final state), so rows
// that join still hold their own final gradient; rows whose sequence began at the step just
// processed leave, and what they carry is the gradient of their initial state.
void leave(const Tensor& carry, Tensor& grad_initial, int64_t rows, int64_t active) {
  if (rows < active)
    grad_initial.narrow(0, rows, active - rows).copy_(carry.narrow(0, rows, active - rows));
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
  Tensor outputs = at::empty_like(x_proj), scratch = at::empty_like(h0);
  const Tensor b_all = bias_or_zeros(bias, H, x_proj);
  dispatch(x_proj, [&](auto zero) {
    using scalar_t = decltype(zero);
    for (int64_t k = 0; k < steps.size(); ++k) {
      Tensor h = steps.at(outputs, k);
      at::mm_out(h, previous(outputs, steps, k, h0, scratch), w_t);  // h_{t-1} W_hh^T
      const scalar_t* x = steps.at(ptr<scalar_t>(x_proj), k, H);
      const scalar_t* b = ptr<scalar_t>(b_all);
      scalar_t* u = steps.at(ptr<scalar_t>(outputs), k, H);
      with_activation(f, [&](auto activate, auto) {
        for_each_row(steps.rows[k], H, [&](int64_t row) {
          const scalar_t* x_row = x + row * H;
          scalar_t* u_row = u + row * H;
#pragma omp simd
          for (int64_t j = 0; j < H; ++j) u_row[j] = activate(x_row[j] + b[j] + u_row[j]);  // f(u_t)
        });
      });
    }
  });
  return {outputs, final_rows(outputs, steps, h0)};
}

// delta_t = f'(u_t) * (g_t + delta_{t+1} W_hh); returns (delta, dL/dh_0)
std::vector<Tensor> elman_backward(const Tensor& grad_outputs, const Tensor& grad_h_n,
                                   const Tensor& outputs, const Tensor& weight_hh,
                                   at::IntArrayRef batch_sizes, bool reverse, int64_t f) {
  const Steps steps(batch_sizes, reverse);
  const int64_t H = outputs.size(1);
  Tensor delta = at::empty_like(outputs), carry = grad_h_n.clone(), grad_h0 = at::empty_like(grad_h_n);
  int64_t active = steps.rows.back();
  dispatch(outputs, [&](auto zero) {
    using scalar_t = decltype(zero);
    for (int64_t k = steps.size() - 1; k >= 0; --k) {
      const int64_t rows = steps.rows[k];
      leave(carry, grad_h0, rows, active);
      active = rows;
      const scalar_t* h = steps.at(ptr<scalar_t>(outputs), k, H);
      const scalar_t* g = steps.at(ptr<scalar_t>(grad_outputs), k, H);
      const scalar_t* from_later = ptr<scalar_t>(carry);
      scalar_t* d = steps.at(ptr<scalar_t>(delta), k, H);
      with_activation(f, [&](auto, auto slope) {
        for_each_row(rows, H, [&](int64_t row) {
          const int64_t base = row * H;
#pragma omp simd
          for (int64_t j = base; j < base + H; ++j) d[j] = slope(h[j]) * (g[j] + from_later[j]);
        });
      });
      Tensor to_earlier = carry.narrow(0, 0, rows);
      at::mm_out(to_earlier, steps.at(delta, k), weight_hh);  // delta_t W_hh
    }
  });
  leave(carry, grad_h0, 0, active);
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
  const Tensor b_all = bias_or_zeros(bias, 4 * H, x_proj);
  Tensor gates = at::empty_like(x_proj);
  Tensor cells = at::empty({x_proj.size(0), H}, x_proj.options());
  Tensor tanh_cells = at::empty_like(cells), outputs = at::empty_like(cells);
  Tensor scratch_h = at::empty_like(h0), scratch_c = at::empty_like(c0);
  dispatch(x_proj, [&](auto zero) {
    using scalar_t = decltype(zero);
    for (int64_t k = 0; k < steps.size(); ++k) {
      Tensor a = steps.at(gates, k);
      at::mm_out(a, previous(outputs, steps, k, h0, scratch_h), w_t);  // h_{t-1} W_hh^T
      const scalar_t* x = steps.at(ptr<scalar_t>(x_proj), k, 4 * H);
      const scalar_t* b = ptr<scalar_t>(b_all);
      scalar_t* gate = steps.at(ptr<scalar_t>(gates), k, 4 * H);
      const scalar_t* c_prev = ptr<scalar_t>(previous(cells, steps, k, c0, scratch_c));
      scalar_t* c = steps.at(ptr<scalar_t>(cells), k, H);
      scalar_t* tanh_c = steps.at(ptr<scalar_t>(tanh_cells), k, H);
      scalar_t* h = steps.at(ptr<scalar_t>(outputs), k, H);
      for_each_row(steps.rows[k], 4 * H, [&](int64_t row) {
        scalar_t* i = gate + row * 4 * H;  // a_t = x_proj_t + h_{t-1} W_hh^T, then i, f, g, o
        scalar_t* f = i + H;
        scalar_t* g = f + H;
        scalar_t* o = g + H;
        const scalar_t* x_i = x + row * 4 * H;
        const scalar_t* x_f = x_i + H;
        const scalar_t* x_g = x_f + H;
        const scalar_t* x_o = x_g + H;
        const scalar_t *b_i = b, *b_f = b + H, *b_g = b + 2 * H, *b_o = b + 3 * H;
        const int64_t base = row * H;
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) {
          i[j] = sigmoid(x_i[j] + b_i[j] + i[j]);
          f[j] = sigmoid(x_f[j] + b_f[j] + f[j]);
          g[j] = tanh_(x_g[j] + b_g[j] + g[j]);
          o[j] = sigmoid(x_o[j] + b_o[j] + o[j]);
          c[base + j] = f[j] * c_prev[base + j] + i[j] * g[j];  // C_t = f * C_{t-1} + i * g
          tanh_c[base + j] = tanh_(c[base + j]);
          h[base + j] = o[j] * tanh_c[base + j];  // h_t = o * tanh(C_t)
        }
      });
    }
  });
  return {outputs, final_rows(outputs, steps, h0), final_rows(cells, steps, c0), gates, cells,
          tanh_cells};
}

// Returns (da: the gradient of every step's pre-activations, dL/dh_0, dL/dC_0).
std::vector<Tensor> lstm_backward(const Tensor& grad_outputs, const Tensor& grad_h_n,
                                  const Tensor& grad_c_n, const Tensor& gates, const Tensor& cells,
                                  const Tensor& tanh_cells, const Tensor& c0,
                                  const Tensor& weight_hh, at::IntArrayRef batch_sizes, bool reverse) {
  const Steps steps(batch_sizes, reverse);
  const int64_t H = c0.size(1);
  Tensor grad_gates = at::empty_like(gates), scratch = at::empty_like(c0);
  Tensor carry_h = grad_h_n.clone(), carry_c = grad_c_n.clone();
  Tensor grad_h0 = at::empty_like(grad_h_n), grad_c0 = at::empty_like(grad_c_n);
  int64_t active = steps.rows.back();
  dispatch(gates, [&](auto zero) {
    using scalar_t = decltype(zero);
    for (int64_t k = steps.size() - 1; k >= 0; --k) {
      const int64_t rows = steps.rows[k];
      leave(carry_h, grad_h0, rows, active);
      leave(carry_c, grad_c0, rows, active);
      active = rows;
      const scalar_t* gate = steps.at(ptr<scalar_t>(gates), k, 4 * H);
      const scalar_t* c_prev = ptr<scalar_t>(previous(cells, steps, k, c0, scratch));
      const scalar_t* tanh_c = steps.at(ptr<scalar_t>(tanh_cells), k, H);
      const scalar_t* g_out = steps.at(ptr<scalar_t>(grad_outputs), k, H);
      const scalar_t* from_later = ptr<scalar_t>(carry_h);
      scalar_t* dc_carry = ptr<scalar_t>(carry_c);
      scalar_t* da = steps.at(ptr<scalar_t>(grad_gates), k, 4 * H);
      for_each_row(rows, 4 * H, [&](int64_t row) {
        const scalar_t* i = gate + row * 4 * H;
        const scalar_t* f = i + H;
        const scalar_t* g = f + H;
        const scalar_t* o = g + H;
        scalar_t* da_i = da + row * 4 * H;
        scalar_t* da_f = da_i + H;
        scalar_t* da_g = da_f + H;
        scalar_t* da_o = da_g + H;
        const int64_t base = row * H;
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) {
          const scalar_t dh = g_out[base + j] + from_later[base + j];
          const scalar_t t = tanh_c[base + j];
          const scalar_t dc = dc_carry[base + j] + dh * o[j] * (scalar_t(1) - t * t);
          da_i[j] = dc * g[j] * i[j] * (scalar_t(1) - i[j]);
          da_f[j] = dc * c_prev[base + j] * f[j] * (scalar_t(1) - f[j]);
          da_g[j] = dc * i[j] * (scalar_t(1) - g[j] * g[j]);
          da_o[j] = dh * t * o[j] * (scalar_t(1) - o[j]);
          dc_carry[base + j] = dc * f[j];  // what dC_t sends back to C_{t-1}
        }
      });
      Tensor to_earlier = carry_h.narrow(0, 0, rows);
      at::mm_out(to_earlier, steps.at(grad_gates, k), weight_hh);  // da_t W_hh
    }
  });
  leave(carry_h, grad_h0, 0, active);
  leave(carry_c, grad_c0, 0, active);
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
  Tensor hidden = at::empty({B, 3 * H}, x_proj.options()), scratch = at::empty_like(h0);
  const Tensor b_x = bias_or_zeros(bias_ih, 3 * H, x_proj), b_s = bias_or_zeros(bias_hh, 3 * H, x_proj);
  dispatch(x_proj, [&](auto zero) {
    using scalar_t = decltype(zero);
    for (int64_t k = 0; k < steps.size(); ++k) {
      const int64_t rows = steps.rows[k];
      const Tensor h_prev = previous(outputs, steps, k, h0, scratch);
      Tensor s = hidden.narrow(0, 0, rows);  // W_hh h_{t-1}; b_hh is added below
      at::mm_out(s, h_prev, w_t);
      const scalar_t* x = steps.at(ptr<scalar_t>(x_proj), k, 3 * H);
      const scalar_t* bx = ptr<scalar_t>(b_x);
      const scalar_t* bs = ptr<scalar_t>(b_s);
      const scalar_t* sp = ptr<scalar_t>(s);
      const scalar_t* hp = ptr<scalar_t>(h_prev);
      scalar_t* gate = steps.at(ptr<scalar_t>(gates), k, 4 * H);
      scalar_t* h = steps.at(ptr<scalar_t>(outputs), k, H);
      for_each_row(rows, 4 * H, [&](int64_t row) {
        const scalar_t* x_r = x + row * 3 * H;
        const scalar_t* x_z = x_r + H;
        const scalar_t* x_n = x_z + H;
        const scalar_t* s_r = sp + row * 3 * H;
        const scalar_t* s_z = s_r + H;
        const scalar_t* s_n = s_z + H;
        scalar_t* r = gate + row * 4 * H;
        scalar_t* z = r + H;
        scalar_t* n = z + H;
        scalar_t* kept_s_n = n + H;
        const int64_t base = row * H;
        const scalar_t *b_ir = bx, *b_iz = bx + H, *b_in = bx + 2 * H;
        const scalar_t *b_hr = bs, *b_hz = bs + H, *b_hn = bs + 2 * H;
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) {
          r[j] = sigmoid((x_r[j] + b_ir[j]) + (s_r[j] + b_hr[j]));
          z[j] = sigmoid((x_z[j] + b_iz[j]) + (s_z[j] + b_hz[j]));
          kept_s_n[j] = s_n[j] + b_hn[j];
          n[j] = tanh_((x_n[j] + b_in[j]) + r[j] * kept_s_n[j]);
          h[base + j] = (scalar_t(1) - z[j]) * n[j] + z[j] * hp[base + j];
        }
      });
    }
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
  Tensor carry = grad_h_n.clone(), grad_h0 = at::empty_like(grad_h_n), scratch = at::empty_like(h0);
  int64_t active = steps.rows.back();
  dispatch(outputs, [&](auto zero) {
    using scalar_t = decltype(zero);
    for (int64_t k = steps.size() - 1; k >= 0; --k) {
      const int64_t rows = steps.rows[k];
      leave(carry, grad_h0, rows, active);
      active = rows;
      const scalar_t* gate = steps.at(ptr<scalar_t>(gates), k, 4 * H);
      const scalar_t* hp = ptr<scalar_t>(previous(outputs, steps, k, h0, scratch));
      const scalar_t* g_out = steps.at(ptr<scalar_t>(grad_outputs), k, H);
      scalar_t* dh_carry = ptr<scalar_t>(carry);
      scalar_t* dx = steps.at(ptr<scalar_t>(grad_x), k, 3 * H);
      scalar_t* ds = steps.at(ptr<scalar_t>(grad_s), k, 3 * H);
      for_each_row(rows, 4 * H, [&](int64_t row) {
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
        const int64_t base = row * H;
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) {
          const scalar_t dh = g_out[base + j] + dh_carry[base + j];
          const scalar_t q = dh * (scalar_t(1) - z[j]) * (scalar_t(1) - n[j] * n[j]);
          ds_r[j] = dx_r[j] = q * s_n[j] * r[j] * (scalar_t(1) - r[j]);
          ds_z[j] = dx_z[j] = dh * (hp[base + j] - n[j]) * z[j] * (scalar_t(1) - z[j]);
          dx_n[j] = q;
          ds_n[j] = q * r[j];
          dh_carry[base + j] = dh * z[j];  // the direct path h_{t-1} -> h_t
        }
      });
      Tensor to_earlier = carry.narrow(0, 0, rows);
      to_earlier.addmm_(steps.at(grad_s, k), weight_hh);  // + ds_t W_hh
    }
  });
  leave(carry, grad_h0, 0, active);
  return {grad_x, grad_s, grad_h0};
}

}  // namespace

TORCH_LIBRARY(rnnzoo, m) {
  m.def("elman_forward", &elman_forward);
  m.def("elman_backward", &elman_backward);
  m.def("lstm_forward", &lstm_forward);
  m.def("lstm_backward", &lstm_backward);
  m.def("gru_forward", &gru_forward);
  m.def("gru_backward", &gru_backward);
}
