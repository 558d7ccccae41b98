"""The errors a run reports as one line, and its exit codes.

A user's mistake (a config, a data file, a checkpoint), a NaN that stopped training and a
signal that stopped it are each one exception below, whose message is one line naming the key,
file or step and what to do. :func:`report` prints ``<kind>: <message>`` on stderr and returns
the exit code; ``HYDRA_FULL_ERROR=1`` raises the error instead, with its traceback.

Exit codes: 0 done; 2 bad input (config, data file, checkpoint); 3 a NaN/Inf stopped the run;
128 + the signal's number (143 SIGTERM, 130 SIGINT) when a signal stopped it after a checkpoint.
"""
from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rnnzoo.utils.distributed import process_rank


class Reported(Exception):
    """An error that ends a run with one line (``kind: message``) and ``exit_code``."""
    kind = "error"
    exit_code = 1
    #: every process of a multi-process run raises it alike at the same step: rank 0 reports
    every_rank_alike = False


class ConfigError(Reported, ValueError):
    """A config that cannot run, worded as one line: ``key=value: what is allowed``."""
    kind, exit_code = "config error", 2


class CheckpointError(Reported, ValueError):
    """A checkpoint that cannot be used: missing, truncated, unsafe or not rnnzoo's."""
    kind, exit_code = "checkpoint error", 2


class DataError(Reported, ValueError):
    """A problem with a data file, worded for the person who wrote the file.

    ``str(err)`` reads ``data file 'reviews.csv', line 7: label 'maybe' is not one of:
    negative, positive (and 3 more bad rows)``. ``path``, ``line`` (1-based, physical) and
    ``more`` (how many further bad rows were found) stay available as attributes.
    """
    kind, exit_code = "data error", 2

    def __init__(self, message: str, path: str | os.PathLike | None = None,
                 line: int | None = None, more: int = 0, unit: str = "bad row"):
        self.message = message
        self.path = None if path is None else os.fspath(path)
        self.line = line
        self.more = more
        self.unit = unit  # what ``more`` counts: "bad row", or "bad line" in a plain text
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.path is not None:
            where.append(f"data file {self.path!r}")
        if self.line is not None:
            where.append(f"line {self.line}")
        text = f"{', '.join(where)}: {self.message}" if where else self.message
        if self.more:
            text += f" (and {self.more} more {self.unit}{'s' if self.more != 1 else ''})"
        return text

    def __reduce__(self):  # keep the attributes across pickling (DataLoader workers)
        return type(self), (self.message, self.path, self.line, self.more, self.unit)


class NumericalFault(Reported, RuntimeError):
    """A NaN or Inf loss or gradient stopped the run; ``checkpoint`` holds the last good state."""
    kind, exit_code, every_rank_alike = "numerical fault", 3, True

    def __init__(self, message: str, checkpoint: str | None = None):
        super().__init__(message)
        self.checkpoint = checkpoint


class RunInterrupted(Reported):
    """SIGTERM or SIGINT stopped the run after ``checkpoint`` was written."""
    kind, every_rank_alike = "interrupted", True

    def __init__(self, signum: int, step: int, checkpoint: str | os.PathLike):
        self.signum, self.step, self.checkpoint = int(signum), step, str(checkpoint)
        run_dir = Path(checkpoint).parent.parent
        super().__init__(f"stopped by {signal.Signals(signum).name} at step {step}; checkpoint "
                         f"written to {checkpoint}; resume with: python train.py resume={run_dir}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def report(error: Reported) -> int:
    """Print ``error`` as its one line (once per run: by rank 0 for an error every process
    raises alike) and return its exit code."""
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        raise error
    if not error.every_rank_alike or process_rank() == 0:
        print(f"{error.kind}: {one_line(error)}", file=sys.stderr, flush=True)
    return error.exit_code


def reporting(run: Callable[[], Any]) -> int:
    """Run ``run()``; a :class:`Reported` error becomes its one line and exit code."""
    try:
        run()
    except Reported as error:
        return report(error)
    return 0


def one_line(error: BaseException) -> str:
    """The error's message on one line. An error raised in a DataLoader worker arrives wrapped
    in the worker's traceback; its original message is the traceback's last line."""
    text = str(error).strip()
    if "Original Traceback" in text:
        last = [line for line in text.splitlines() if line.strip()][-1]
        name, sep, message = last.partition(": ")
        text = message if sep and "." in name and " " not in name else last
    return " ".join(text.split())
