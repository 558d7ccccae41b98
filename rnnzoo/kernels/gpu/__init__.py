"""CUDA kernels of the core cells' registered ops, written in Triton.

``triton_kernels`` holds one fused elementwise kernel per cell and direction (a step's gate
activations, state update and what the backward keeps); ``cuda_ops`` runs them between the
per-step GEMMs and registers the loops as the CUDA kernels of ``rnnzoo::elman_seq``,
``lstm_seq``, ``gru_seq`` and their backward ops. Without triton nothing is registered, and CUDA
tensors run the ops' default kernels, the Python loops of ``rnnzoo.kernels.bptt_*``.
"""
import torch

triton = None
# only where CUDA is: importing triton costs most of a second, which a CPU-only machine with
# triton installed would pay at every `import rnnzoo` for nothing
if torch.cuda.is_available():
    try:
        import triton  # noqa: F401
    except ImportError:
        pass

if triton is not None:
    from rnnzoo.kernels.gpu import cuda_ops  # noqa: F401  (registers the kernels on import)
