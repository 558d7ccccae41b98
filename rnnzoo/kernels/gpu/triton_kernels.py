"""One time step's elementwise work for the core cells, each as one fused Triton kernel.

Every kernel covers the ``rows`` active rows of one step: ``n = rows * H`` elements, one per
(row, hidden unit), flattened so that a program's lanes stay full whatever H is. The host
(:mod:`rnnzoo.kernels.gpu.cuda_ops`) passes each tensor already sliced to the step, so that
in-kernel offsets are small and every row-sized tensor is read at the same flat offset; gate
tensors hold K blocks of H per row and are read at ``row * K * H + k * H + col``.

Loads convert to float32 and all arithmetic is float32; stores convert to the destination's
dtype, so float16 and bfloat16 tensors get float32 gate arithmetic. The equations, and the
names of what is stored, are those of the reference loops in
:mod:`rnnzoo.kernels.bptt_elman`, ``bptt_lstm`` and ``bptt_gru``.

The same kernels run on CPU tensors under ``TRITON_INTERPRET=1`` (Triton's interpreter), which
is how the tests check their numbers without a GPU; so they use only what the interpreter
implements (no libdevice: tanh is written from exp).
"""
import triton
import triton.language as tl

#: elements per program: 2 per thread with the default 4 warps
BLOCK = 256

# Elman nonlinearities, as the kernels' constexpr ACTIVATION
TANH, RELU, SIGMOID = 0, 1, 2


@triton.jit
def _tanh(x):
    # exp of a non-positive number never overflows; the sign is put back afterwards
    e = tl.exp(-2.0 * tl.abs(x))
    t = (1.0 - e) / (1.0 + e)
    return tl.where(x < 0, -t, t)


@triton.jit
def _sigmoid(x):
    return 1.0 / (1.0 + tl.exp(-x))


@triton.jit
def _elements(n, hidden, BLOCK: tl.constexpr):
    """This program's flat offsets into a (rows, H) tensor, their mask, row and column."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    row = offs // hidden
    return offs, mask, row, offs - row * hidden


@triton.jit
def _load(ptr, offs, mask):
    return tl.load(ptr + offs, mask=mask, other=0.0).to(tl.float32)


@triton.jit
def _store(ptr, offs, value, mask):
    tl.store(ptr + offs, value.to(ptr.dtype.element_ty), mask=mask)


@triton.jit
def _previous(prev_ptr, prev_rows, initial_ptr, offs, mask, row):
    """The state a row started this step from: the previous step's row while that step had it,
    the initial state for a row that joins here (the reverse direction's growing batch)."""
    carried = row < prev_rows
    from_prev = tl.load(prev_ptr + offs, mask=mask & carried, other=0.0).to(tl.float32)
    from_initial = tl.load(initial_ptr + offs, mask=mask & (~carried), other=0.0).to(tl.float32)
    return tl.where(carried, from_prev, from_initial)


@triton.jit
def _gate_input(x_ptr, hw_ptr, bias_ptr, at, col, mask, HAS_BIAS: tl.constexpr):
    """x_proj + h_{t-1} W_hh^T (+ bias) of one gate block: its pre-activation."""
    a = _load(x_ptr, at, mask) + _load(hw_ptr, at, mask)
    if HAS_BIAS:
        a += _load(bias_ptr, col, mask)
    return a


# -- Elman ------------------------------------------------------------------------------------
@triton.jit
def elman_forward_step(x_ptr, bias_ptr, hw_ptr, out_ptr, state_ptr, n, hidden,
                       HAS_BIAS: tl.constexpr, ACTIVATION: tl.constexpr, BLOCK: tl.constexpr):
    """h_t = f(x_proj_t + b + h_{t-1} W_hh^T), written to the outputs and the running state."""
    offs, mask, row, col = _elements(n, hidden, BLOCK)
    u = _gate_input(x_ptr, hw_ptr, bias_ptr, offs, col, mask, HAS_BIAS)
    if ACTIVATION == 0:
        h = _tanh(u)
    elif ACTIVATION == 1:
        h = tl.maximum(u, 0.0)
    else:
        h = _sigmoid(u)
    _store(out_ptr, offs, h, mask)
    _store(state_ptr, offs, h, mask)


@triton.jit
def elman_backward_step(grad_out_ptr, carry_ptr, out_ptr, delta_ptr, n, hidden,
                        ACTIVATION: tl.constexpr, BLOCK: tl.constexpr):
    """delta_t = f'(u_t) * (dL/dh_t + delta_{t+1} W_hh), f' read from h_t; the caller's GEMM
    then overwrites the carry with delta_t W_hh."""
    offs, mask, row, col = _elements(n, hidden, BLOCK)
    h = _load(out_ptr, offs, mask)
    if ACTIVATION == 0:
        slope = 1.0 - h * h
    elif ACTIVATION == 1:
        slope = tl.where(h > 0, 1.0, 0.0)
    else:
        slope = h * (1.0 - h)
    dh = _load(grad_out_ptr, offs, mask) + _load(carry_ptr, offs, mask)
    _store(delta_ptr, offs, dh * slope, mask)


# -- LSTM (blocks i, f, g, o) -------------------------------------------------------------------
@triton.jit
def lstm_forward_step(x_ptr, bias_ptr, hw_ptr, c_ptr, h_ptr, out_ptr, gates_ptr, cells_ptr,
                      tanh_ptr, n, hidden, HAS_BIAS: tl.constexpr, KEEP: tl.constexpr,
                      BLOCK: tl.constexpr):
    """C_t = f C_{t-1} + i g and h_t = o tanh(C_t); the running C (``c_ptr``, float32) and h are
    updated in place. With KEEP, the activated gates, C_t and tanh(C_t) are stored for the
    backward (inference leaves them out)."""
    offs, mask, row, col = _elements(n, hidden, BLOCK)
    at = row * 4 * hidden + col  # the i block of this element; f, g, o follow H apart
    i = _sigmoid(_gate_input(x_ptr, hw_ptr, bias_ptr, at, col, mask, HAS_BIAS))
    f = _sigmoid(_gate_input(x_ptr, hw_ptr, bias_ptr, at + hidden, col + hidden, mask, HAS_BIAS))
    g = _tanh(_gate_input(x_ptr, hw_ptr, bias_ptr, at + 2 * hidden, col + 2 * hidden, mask,
                          HAS_BIAS))
    o = _sigmoid(_gate_input(x_ptr, hw_ptr, bias_ptr, at + 3 * hidden, col + 3 * hidden, mask,
                             HAS_BIAS))
    c = f * _load(c_ptr, offs, mask) + i * g
    tanh_c = _tanh(c)
    h = o * tanh_c
    tl.store(c_ptr + offs, c, mask=mask)
    _store(h_ptr, offs, h, mask)
    _store(out_ptr, offs, h, mask)
    if KEEP:
        _store(gates_ptr, at, i, mask)
        _store(gates_ptr, at + hidden, f, mask)
        _store(gates_ptr, at + 2 * hidden, g, mask)
        _store(gates_ptr, at + 3 * hidden, o, mask)
        _store(cells_ptr, offs, c, mask)
        _store(tanh_ptr, offs, tanh_c, mask)


@triton.jit
def lstm_backward_step(grad_out_ptr, dh_ptr, dc_ptr, gates_ptr, tanh_ptr, prev_ptr, prev_rows,
                       c0_ptr, grad_gates_ptr, n, hidden, BLOCK: tl.constexpr):
    """The gate deltas da_t = dL/da_t of one step (see bptt_lstm), and the cell carry
    dC_t * f (``dc_ptr``, float32, in place); the caller's GEMM turns da_t into the h carry."""
    offs, mask, row, col = _elements(n, hidden, BLOCK)
    at = row * 4 * hidden + col
    i = _load(gates_ptr, at, mask)
    f = _load(gates_ptr, at + hidden, mask)
    g = _load(gates_ptr, at + 2 * hidden, mask)
    o = _load(gates_ptr, at + 3 * hidden, mask)
    tanh_c = _load(tanh_ptr, offs, mask)
    c_prev = _previous(prev_ptr, prev_rows, c0_ptr, offs, mask, row)
    dh = _load(grad_out_ptr, offs, mask) + _load(dh_ptr, offs, mask)
    dc = _load(dc_ptr, offs, mask) + dh * o * (1.0 - tanh_c * tanh_c)
    _store(grad_gates_ptr, at, dc * g * i * (1.0 - i), mask)
    _store(grad_gates_ptr, at + hidden, dc * c_prev * f * (1.0 - f), mask)
    _store(grad_gates_ptr, at + 2 * hidden, dc * i * (1.0 - g * g), mask)
    _store(grad_gates_ptr, at + 3 * hidden, dh * tanh_c * o * (1.0 - o), mask)
    tl.store(dc_ptr + offs, dc * f, mask=mask)


# -- GRU, reset after the matmul (blocks r, z, n) -----------------------------------------------
@triton.jit
def gru_forward_step(x_ptr, bias_ih_ptr, s_ptr, bias_hh_ptr, h_ptr, out_ptr, gates_ptr, n,
                     hidden, HAS_BIAS_IH: tl.constexpr, HAS_BIAS_HH: tl.constexpr,
                     BLOCK: tl.constexpr):
    """r, z = sigmoid(x + s), n = tanh(x_n + r s_n), h_t = (1 - z) n + z h_{t-1}, with
    s = h_{t-1} W_hh^T + b_hh; the running h is updated in place and r, z, n, s_n stored."""
    offs, mask, row, col = _elements(n, hidden, BLOCK)
    at = row * 3 * hidden + col  # the r block of x and s
    x_r = _load(x_ptr, at, mask)
    x_z = _load(x_ptr, at + hidden, mask)
    x_n = _load(x_ptr, at + 2 * hidden, mask)
    s_r = _load(s_ptr, at, mask)
    s_z = _load(s_ptr, at + hidden, mask)
    s_n = _load(s_ptr, at + 2 * hidden, mask)
    if HAS_BIAS_IH:
        x_r += _load(bias_ih_ptr, col, mask)
        x_z += _load(bias_ih_ptr, col + hidden, mask)
        x_n += _load(bias_ih_ptr, col + 2 * hidden, mask)
    if HAS_BIAS_HH:
        s_r += _load(bias_hh_ptr, col, mask)
        s_z += _load(bias_hh_ptr, col + hidden, mask)
        s_n += _load(bias_hh_ptr, col + 2 * hidden, mask)
    r = _sigmoid(x_r + s_r)
    z = _sigmoid(x_z + s_z)
    candidate = _tanh(x_n + r * s_n)
    h = (1.0 - z) * candidate + z * _load(h_ptr, offs, mask)
    _store(h_ptr, offs, h, mask)
    _store(out_ptr, offs, h, mask)
    kept = row * 4 * hidden + col
    _store(gates_ptr, kept, r, mask)
    _store(gates_ptr, kept + hidden, z, mask)
    _store(gates_ptr, kept + 2 * hidden, candidate, mask)
    _store(gates_ptr, kept + 3 * hidden, s_n, mask)


@triton.jit
def gru_backward_step(grad_out_ptr, carry_ptr, gates_ptr, prev_ptr, prev_rows, h0_ptr,
                      grad_x_ptr, grad_s_ptr, n, hidden, BLOCK: tl.constexpr):
    """dL/dx_proj_t and ds_t of one step (see bptt_gru); the carry becomes dh_t * z, to which
    the caller's GEMM adds ds_t W_hh."""
    offs, mask, row, col = _elements(n, hidden, BLOCK)
    kept = row * 4 * hidden + col
    r = _load(gates_ptr, kept, mask)
    z = _load(gates_ptr, kept + hidden, mask)
    candidate = _load(gates_ptr, kept + 2 * hidden, mask)
    s_n = _load(gates_ptr, kept + 3 * hidden, mask)
    h_prev = _previous(prev_ptr, prev_rows, h0_ptr, offs, mask, row)
    dh = _load(grad_out_ptr, offs, mask) + _load(carry_ptr, offs, mask)
    d_candidate = dh * (1.0 - z) * (1.0 - candidate * candidate)  # dh_t q_t
    d_r = d_candidate * s_n * r * (1.0 - r)
    d_z = dh * (h_prev - candidate) * z * (1.0 - z)
    at = row * 3 * hidden + col
    _store(grad_x_ptr, at, d_r, mask)
    _store(grad_x_ptr, at + hidden, d_z, mask)
    _store(grad_x_ptr, at + 2 * hidden, d_candidate, mask)
    _store(grad_s_ptr, at, d_r, mask)
    _store(grad_s_ptr, at + hidden, d_z, mask)
    _store(grad_s_ptr, at + 2 * hidden, d_candidate * r, mask)
    _store(carry_ptr, offs, dh * z, mask)
