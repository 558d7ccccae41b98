"""The texts' learning algorithms written out by hand.

- ``bptt_elman``, ``bptt_lstm``, ``bptt_gru``: back-propagation through time from the delta
  equations, without autograd. They are also the fast training path of the core cells: the
  forward loop keeps only what the deltas need, and every weight gradient is one GEMM over all
  time steps.
- ``native``: the same loops in C++ (each step's elementwise work fused into one vectorised
  pass), built on first use and run on the CPU; the Python loops stay the reference.
- ``gpu``: the ops' CUDA kernels (one cuBLAS GEMM and one fused Triton kernel per step),
  registered when triton is installed.
"""
from rnnzoo.learning import gpu  # noqa: F401  (the ops' CUDA kernels, when triton is installed)
