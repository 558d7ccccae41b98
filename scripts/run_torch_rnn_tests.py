"""Run PyTorch's own RNN/LSTM/GRU tests against rnnzoo's drop-in layers.

    python scripts/run_torch_rnn_tests.py PATH/TO/pytorch/test [--files nn modules]

PATH/TO/pytorch/test is the test/ folder of a PyTorch source checkout of the installed
version (its test_nn.py and test_modules.py; torch.testing._internal comes with the wheel).
The tests need pytest, expecttest and hypothesis importable (PYTHONPATH is passed on).

Each file runs twice on the CPU, in a fresh pytest process: once with torch.nn's layers
(the baseline) and once with torch.nn.RNN/LSTM/GRU replaced by rnnzoo.RNN/LSTM/GRU before
the tests import anything, so module_db and the tests' own ``nn.LSTM(...)`` build rnnzoo's
layers. Selected: from test_nn.py the tests whose names mention RNN/LSTM/GRU (any case)
plus two that drive these layers under other names; from test_modules.py the nn.RNN,
nn.GRU and nn.LSTM entries. Prints, per file, how many pass for torch.nn and for rnnzoo,
and each test that passes for torch.nn but not for rnnzoo with its first error line.

The script is also the pytest plugin that does the swap (``-p run_torch_rnn_tests``).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

SWAP_ENV = "RNNZOO_SWAP_TORCH_RNN"
SELECTIONS = {
    "nn": ("test_nn.py", "rnn or lstm or gru or variable_sequence or cudnn_forward_exception"),
    "modules": ("test_modules.py", "nn_RNN_ or nn_GRU_ or nn_LSTM_"),
}


def _swap_torch_layers() -> None:
    """Point every name the tests reach torch.nn's layers by at rnnzoo's classes."""
    import torch.nn
    import torch.nn.modules
    import torch.nn.modules.rnn

    import rnnzoo  # first, so rnnzoo's own references keep torch.nn's classes

    for name in ("RNN", "LSTM", "GRU"):
        for namespace in (torch.nn, torch.nn.modules, torch.nn.modules.rnn):
            setattr(namespace, name, getattr(rnnzoo, name))


if os.environ.get(SWAP_ENV) == "1":  # imported as a pytest plugin, before collection
    _swap_torch_layers()


def run_pytest(test_file: Path, keyword: str, swap: bool, report: Path) -> None:
    env = dict(os.environ, PYTORCH_TESTING_DEVICE_ONLY_FOR="cpu", **{SWAP_ENV: "1" if swap else "0"})
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(__file__).resolve().parent), env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", "pytest", str(test_file), "-k", keyword, "-q",
               "-p", "no:cacheprovider", "-p", "run_torch_rnn_tests",
               f"--junitxml={report}", "-o", "junit_family=xunit1"]
    # the tests' own directory first: PyTorch's tests import helpers that sit beside them
    subprocess.run(command, cwd=test_file.parent, env=env, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def outcomes(report: Path) -> dict[str, str]:
    """test id -> "passed", "skipped", or the failure's first line."""
    results = {}
    for case in ET.parse(report).iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        if bad is not None:
            message = (bad.get("message") or "failed").strip().splitlines()[0]
            if message == "collection failure" and bad.text:  # the cause is the text's end
                message = bad.text.strip().splitlines()[-1]
            results[test_id] = message[:160]
        else:
            results[test_id] = "skipped" if case.find("skipped") is not None else "passed"
    return results


def compare(test_dir: Path, which: str, workdir: Path) -> tuple[int, int]:
    filename, keyword = SELECTIONS[which]
    runs = {}
    for impl, swap in (("torch.nn", False), ("rnnzoo", True)):
        report = workdir / f"{which}-{impl}.xml"
        run_pytest(test_dir / filename, keyword, swap, report)
        runs[impl] = outcomes(report)
    base = {t for t, r in runs["torch.nn"].items() if r == "passed"}
    ours = {t for t, r in runs["rnnzoo"].items() if r == "passed"}
    print(f"\n{filename}: {len(runs['torch.nn'])} selected; passed: torch.nn {len(base)}, "
          f"rnnzoo {len(ours & base)} of those {len(base)}")
    for test_id in sorted(base - ours):
        print(f"  FAIL {test_id}: {runs['rnnzoo'].get(test_id, 'not run')}")
    if not base:  # nothing ran: most likely the file failed to import (a missing package)
        print("  torch.nn's run: " + "; ".join(sorted(set(runs["torch.nn"].values()))))
    return len(base), len(ours & base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("test_dir", type=Path, help="a PyTorch checkout's test/ folder")
    parser.add_argument("--files", nargs="+", choices=sorted(SELECTIONS), default=["nn", "modules"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        for which in args.files:
            compare(args.test_dir.resolve(), which, Path(workdir))


if __name__ == "__main__":
    main()
