"""A tiny end-to-end benchmark run: every output file, every row key (no timing assertions)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from rnnzoo.bench import report, runner
from tests.helpers import load_script

ROOT = Path(__file__).resolve().parents[2]
TINY = ["shapes=[[6,2,3,4]]", "min_run_time=0.001", "rounds=1", "gemm_reference=true"]


def config(*overrides):
    with initialize_config_dir(config_dir=str(ROOT / "scripts" / "conf"), version_base="1.3"):
        return compose("benchmark", overrides=list(overrides))


@pytest.mark.parametrize("preset", ["default", "targets", "quick", "linear_t", "scan"])
def test_presets_compose(preset):
    cfg = config(f"bench={preset}")
    assert runner.configs_of(cfg)  # at least one configuration to run on this machine


def test_tiny_run_writes_every_output(tmp_path):
    cfg = config(*TINY, "cells=[lstm,min_gru]", "impls=[custom,custom_py,autograd,torch]",
                 "modes=[forward,train]", "device=[cpu,cuda]")
    files = load_script("benchmark").benchmark(cfg, tmp_path)
    assert {p.name for p in files.values()} == {"results.json", "results.md",
                                                "time_per_token.png", "ratio.png"}
    data = json.loads((tmp_path / "results.json").read_text())
    rows = data["rows"]
    assert data["meta"]["threads"] == 2 and "torch" in data["meta"]
    # min_gru has no torch.nn twin: 4 impls for lstm, 3 for min_gru, in 2 modes
    assert len(rows) == 2 * (4 + 3)
    for r in rows:
        assert set(report.SPEED_KEYS) <= set(r)
        assert r["median_ms"] > 0 and r["gflops"] > 0 and r["tokens_per_s"] > 0
    lstm_custom = next(r for r in rows if r["cell"] == "lstm" and r["impl"] == "custom")
    assert lstm_custom["ratio_vs_torch"] is not None
    markdown = (tmp_path / "results.md").read_text()
    assert "custom/torch" in markdown and "Fast path vs sequential loop" in markdown


def test_linear_in_t_run(tmp_path):
    cfg = config(*TINY[1:], "cells=[rnn_tanh]", "seq_lens=[4,8]", "batches=[2]",
                 "input_sizes=[3]", "hidden_sizes=[4]", "plots=false")
    rows = runner.run_benchmark(cfg)
    (entry,) = [e for e in report.linear_in_t(rows) if e["impl"] == "custom"]
    assert (entry["T_short"], entry["T_long"]) == (4, 8) and entry["time_ratio"] > 0


def test_command_line(tmp_path):
    """The Hydra entry point as a user runs it."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "benchmark.py"), *TINY, "cells=[gru]",
         "memory=false", "plots=false", f"out_dir={tmp_path}", f"hydra.run.dir={tmp_path}/hydra"],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "| gru | train |" in result.stdout
    assert (tmp_path / "results.json").exists() and (tmp_path / "results.md").exists()
