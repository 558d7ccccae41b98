"""Running train.py as a user would: in this process through ``train.main(argv)`` (fast), or
as a subprocess (the real command line, signals, several processes)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import lightning  # noqa: F401  imported here, not under capsys: it binds a log handler to stderr
import train
from tests.helpers import QUIET as QUIET_RUN, ROOT

QUIET = [*QUIET_RUN, "logger=none"]
#: a run of a few seconds: 20 batches of 32 per epoch
ADDING = ["task=adding", "task.num_train=640", "task.num_eval=64", "task.seq_len=10",
          "task.batch_size=32", "cell=gru", "cell.hidden_size=16"]


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``python train.py *argv``, run in this process."""
    code = train.main([*argv])
    out, err = capsys.readouterr()
    return code, out, err


def run(*argv: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python train.py *argv`` as a subprocess, from the repository root."""
    return subprocess.run([sys.executable, "train.py", *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def start(*argv: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "train.py", *argv], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})


def error_line(stderr: str) -> str:
    """The one line a user mistake prints; fails the test when there is more (a traceback)."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "nothing on stderr"
    return lines[-1]


def results(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "results.json").read_text())


def metrics(run_dir: Path) -> dict[str, float]:
    return {k: v for k, v in results(run_dir).items() if "/" in k}
