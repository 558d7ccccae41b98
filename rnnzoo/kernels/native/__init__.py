"""The native (C++) time loops of the explicit-BPTT Functions: built on first use, then cached.

``loops.cpp`` runs the same forward and backward loops as the Python reference loops in
:mod:`rnnzoo.kernels.bptt_elman`, ``bptt_lstm`` and ``bptt_gru``, with each step's elementwise
work fused into one pass (see its header). The Functions use it for float32/float64 tensors on
the CPU; the Python loops run for other dtypes or when it is unavailable (CUDA has its own
kernels, :mod:`rnnzoo.kernels.gpu`).

The first use compiles it with ``torch.utils.cpp_extension`` (a C++ compiler and ninja are
needed; about 15 s on two cores) into torch's extension cache, in a folder named by a hash of
the source, the torch build and the CPU, so a shared home directory on a mixed cluster is safe.
When the build fails, rnnzoo warns once and keeps the Python loops; results agree either way.
``RNNZOO_NATIVE=0`` in the environment (or :func:`use_native` in code) turns it off;
``RNNZOO_NATIVE_FLAGS`` adds compiler flags (each set gets its own cached build).

``RNNZOO_REQUIRE_NATIVE=1`` (CI sets it) makes a failed build an error instead: the first use
(and every later one) raises :class:`NativeBuildError` with the compiler's message, so the
native path cannot silently drop out of what is tested; the tests that need the native loops
fail instead of skipping under it (:func:`required`).

``python -m rnnzoo.kernels.native`` builds the loops ahead of time (CI set-up, a new machine)
and prints where they are cached and how long it took; it exits 1 when the build fails.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import sys
import threading
import warnings
from pathlib import Path

import torch
from torch import Tensor

SOURCE = Path(__file__).with_name("loops.cpp")
DTYPES = (torch.float32, torch.float64)

_lock = threading.RLock()  # reentrant: _ops holds it around build()
_state = {"tried": False, "ops": None, "error": None}
_enabled = os.environ.get("RNNZOO_NATIVE", "1").strip().lower() not in ("0", "false", "off", "no")
_required = os.environ.get("RNNZOO_REQUIRE_NATIVE", "0").strip().lower() in ("1", "true", "on", "yes")


class NativeBuildError(RuntimeError):
    """The native loops failed to build while ``RNNZOO_REQUIRE_NATIVE=1`` demands them."""


def required() -> bool:
    """Whether ``RNNZOO_REQUIRE_NATIVE=1`` is set: a failed build raises instead of warning."""
    return _required


def _openmp() -> bool:
    """Whether torch runs its threads with OpenMP, so that at::parallel_for compiled here can
    join them: the code is compiled with -fopenmp but not linked to an OpenMP library, so its
    OpenMP calls resolve to the runtime torch has already loaded (never a second one)."""
    return not sys.platform.startswith("win") and "parallel backend: OpenMP" in torch.__config__.parallel_info()


def _flags() -> list[str]:
    # -fno-math-errno and -fno-trapping-math as torch itself is built: they let the loops vectorise
    flags = ["-O3", "-fopenmp-simd", "-fno-math-errno", "-fno-trapping-math"]
    if _openmp():
        flags.append("-fopenmp")
    if sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64"):
        # the cache folder is keyed by the CPU (see _build_dir); 512-bit vectors where the CPU
        # has them measured ~15% faster on the gate loops
        flags += ["-march=native", "-mprefer-vector-width=512"]
    return flags + os.environ.get("RNNZOO_NATIVE_FLAGS", "").split()  # extra flags, if any


def _cpu_signature() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _build_dir() -> str:
    from torch.utils.cpp_extension import get_default_build_root

    sources = [SOURCE.read_text()] + [h.read_text() for h in sorted(SOURCE.parent.glob("*.h"))]
    key = "|".join([*sources, torch.__version__, sys.version, " ".join(_flags()),
                    _cpu_signature()])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = os.path.join(get_default_build_root(), f"rnnzoo_native_{digest}")
    os.makedirs(path, exist_ok=True)
    return path


def build(verbose: bool = False):
    """Compile (or load from the cache) the native loops; returns ``torch.ops.rnnzoo``.

    Raises when the build fails. Call it ahead of time (e.g. in CI set-up) to pay the
    compilation outside the first training step.
    """
    with _lock:
        if _state["ops"] is None:
            from torch.utils.cpp_extension import load

            load("rnnzoo_native", [str(SOURCE)], extra_cflags=_flags(),
                 build_directory=_build_dir(), is_python_module=False, verbose=verbose)
            _state["ops"] = torch.ops.rnnzoo
        return _state["ops"]


def _ops():
    if not _state["tried"]:
        with _lock:  # another thread's first use waits for this build rather than skipping it
            if not _state["tried"]:
                try:
                    build()
                except Exception as error:  # no compiler, no ninja, an unsupported platform ...
                    _state["error"] = error
                    if not _required:
                        warnings.warn(f"rnnzoo: the native loops could not be built, so the "
                                      f"Python loops run instead (same results, slower on the "
                                      f"CPU): {error}", RuntimeWarning, stacklevel=3)
                _state["tried"] = True
    if _state["ops"] is None and _required:
        raise NativeBuildError(
            f"RNNZOO_REQUIRE_NATIVE=1, but the native loops ({SOURCE}) could not be built: "
            f"{_state['error']}") from _state["error"]
    return _state["ops"]


def loops_for(x: Tensor):
    """``torch.ops.rnnzoo`` when the native loops can run on ``x``, else None."""
    if not _enabled or x.device.type != "cpu" or x.dtype not in DTYPES:
        return None
    return _ops()


def available() -> bool:
    """Whether the native loops are enabled and built (building them if needed).

    Under ``RNNZOO_REQUIRE_NATIVE=1`` a failed build raises :class:`NativeBuildError` here
    rather than returning False.
    """
    return _enabled and _ops() is not None


@contextlib.contextmanager
def use_native(enabled: bool):
    """Turn the native loops on or off inside a ``with`` block (tests, benchmarks)."""
    global _enabled
    before, _enabled = _enabled, enabled
    try:
        yield
    finally:
        _enabled = before
