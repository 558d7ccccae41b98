"""Every task with every core cell trains (a few steps), and the learning tests learn."""
import json

import pytest

from rnnzoo.experiment import train
from tests.helpers import make_config

TASKS = ["sentiment", "char_lm", "adding", "copy", "binary_add", "sine", "sine_gen",
         "seq2seq_add", "digits"]
SMALL = {  # shrink the data so a smoke run is quick
    "sentiment": ["task.num_samples=300"],
    "char_lm": ["task.max_chars=20000", "task.seq_len=20"],
    "adding": ["task.num_train=128", "task.num_eval=64", "task.seq_len=10"],
    "copy": ["task.num_train=128", "task.num_eval=64", "task.seq_len=5"],
    "binary_add": ["task.num_train=128", "task.num_eval=64"],
    "sine": ["task.num_train=128", "task.num_eval=64", "task.seq_len=20"],
    "sine_gen": ["task.num_train=128", "task.num_eval=64", "task.seq_len=20"],
    "seq2seq_add": ["task.num_train=128", "task.num_eval=64"],
    "digits": [],
}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "lstm_torch"])
@pytest.mark.parametrize("task", TASKS)
def test_every_task_runs_with_every_core_cell(tmp_path, task, cell):
    cfg = make_config(tmp_path, f"task={task}", f"cell={cell}", "cell.hidden_size=16",
                      "trainer.fast_dev_run=2", "logger=none", *SMALL[task])
    results = train(cfg)
    assert any(k.startswith("test/") for k in results)
    assert results["params"] > 0
    assert (tmp_path / "results.json").exists()
