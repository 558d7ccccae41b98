"""A Hydra sweep runs every combination and the summary script tabulates and plots it."""
import csv
import subprocess
import sys

from tests.helpers import ROOT, load_script

SMALL = ["task=adding", "task.num_train=64", "task.num_eval=32", "cell.hidden_size=8",
         "task.max_epochs=1", "logger=none", "trainer.enable_progress_bar=false",
         "trainer.enable_model_summary=false"]


def test_two_by_two_sweep_is_summarised(tmp_path):
    sweep = tmp_path / "sweep"
    subprocess.run([sys.executable, "train.py", "-m", "cell=rnn,lstm", "task.seq_len=5,10",
                    f"hydra.sweep.dir={sweep}", *SMALL], cwd=ROOT, check=True,
                   capture_output=True, text=True)
    out = subprocess.run([sys.executable, "scripts/summarize_sweep.py", str(sweep)], cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout
    assert "test/mse" in out
    with open(sweep / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["cell"], r["task.seq_len"]) for r in rows) == [
        ("lstm", "10"), ("lstm", "5"), ("rnn", "10"), ("rnn", "5")]
    assert all(r["status"] == "ok" and float(r["test/mse"]) >= 0 for r in rows)
    assert (sweep / "summary.png").stat().st_size > 1000
    assert (sweep / "summary.md").read_text().count("| ok |") == 4


def test_a_sweep_over_tasks_gets_a_panel_per_task_with_its_own_metric(tmp_path):
    summarize = load_script("summarize_sweep")
    adding = {"task": "adding", "status": "ok", "test/mse": 0.01, "test/loss": 0.01,
              "baseline test/mse": 0.167}
    copy = {"task": "copy", "status": "ok", "test/acc": 0.9, "test/loss": 0.2,
            "baseline test/loss": 0.3}
    assert summarize.default_metric([adding]) == "test/mse"
    assert summarize.default_metric([copy]) == "test/loss"  # the one with a baseline, not acc
    rows = [{**row, "cell": cell, "task.seq_len": str(t)}
            for row in (adding, copy) for cell in ("rnn", "gru") for t in (5, 10)]
    titles = summarize.plot(rows, ["task", "cell", "task.seq_len"], "task.seq_len", None,
                            tmp_path / "p.png")
    assert titles == ["task=adding: test/mse", "task=copy: test/loss"]
    assert (tmp_path / "p.png").stat().st_size > 1000
