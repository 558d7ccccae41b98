"""The core cells' time loops as registered PyTorch operators: what runs by default.

- ``bptt_elman``, ``bptt_lstm``, ``bptt_gru``: each family's forward loop and its backward from
  the delta equations (no autograd), as ``rnnzoo::*_seq`` ops; the Python loops are the
  reference (and the plain-PyTorch decomposition) every other kernel is tested against;
- ``ops``: what the three share (fake kernels, vmap rules, the exact second derivative);
- ``dense``: ``rnnzoo::dense``, the large products around the loops;
- ``native``: the same loops in C++ for the CPU (built on first use);
- ``gpu``: the CUDA kernels (one cuBLAS GEMM and one fused Triton kernel per step), registered
  when triton is installed and CUDA is available.
"""
from rnnzoo.kernels import gpu  # noqa: F401  (the ops' CUDA kernels, when triton is installed)
