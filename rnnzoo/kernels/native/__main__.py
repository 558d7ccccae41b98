"""Build the native loops ahead of time: ``python -m rnnzoo.kernels.native [--verbose]``.

Prints where the build is cached and how long it took (a cache hit takes well under a second),
so CI set-up or a new machine pays the compilation before the first training step. Exits 1
with one line on stderr when the build fails; ``--verbose`` shows the compiler's output.
"""
from __future__ import annotations

import argparse
import sys
import time

from rnnzoo.kernels import native


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnzoo.kernels.native",
                                     description="Build (or load from the cache) rnnzoo's native loops.")
    parser.add_argument("--verbose", action="store_true", help="show the compiler's output")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        folder = native._build_dir()
        native.build(verbose=args.verbose)
    except Exception as error:  # noqa: BLE001 -- any failure is reported as one line
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        # the compiler's first "error:" line says why; torch's first line is the whole command
        reason = next((line for line in lines if "error:" in line), lines[0] if lines else "")
        reason = reason if len(reason) <= 300 else reason[:297] + "..."
        print(f"rnnzoo native loops: build failed after {time.perf_counter() - start:.1f} s "
              f"({type(error).__name__}: {reason}); rerun with --verbose for the compiler output",
              file=sys.stderr)
        return 1
    print(f"rnnzoo native loops: ready in {time.perf_counter() - start:.1f} s, cached in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
