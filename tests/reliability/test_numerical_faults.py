"""A NaN or Inf loss or gradient stops the run naming the step and the last finite loss, or
(faults.on_nonfinite=skip) skips the step and counts it; the last good state is saved first."""
import math

import torch

from rnnzoo.checkpoints import load_checkpoint
from tests.faults import fault
from tests.reliability.common import QUIET, cli, error_line, results

SMALL = ["task=adding", "task.num_train=640", "task.num_eval=64", "task.seq_len=10",
         "cell=gru", "cell.hidden_size=8", "task.max_epochs=1", "task.batch_size=64", *QUIET]


def test_poisoned_batch_stops_with_step_last_loss_and_a_good_checkpoint(capsys, tmp_path):
    code, _, err = cli(capsys, *SMALL, f"run_dir={tmp_path}", fault("nan_loss", steps=5))
    assert code == 3
    line = error_line(err)
    last = tmp_path / "checkpoints" / "last.ckpt"
    assert line.startswith("numerical fault: the loss is nan at step 5 (epoch 0, batch 5); "
                           "last finite loss ")
    assert f"at step 4; the last good state is saved in {last}" in line
    saved = load_checkpoint(last)  # the state before step 5's update: loadable, finite
    assert saved["global_step"] == 5
    assert all(torch.isfinite(v).all() for v in saved["state_dict"].values())
    loss = float(line.split("last finite loss ")[1].split()[0])
    assert math.isfinite(loss) and loss > 0
    assert not (tmp_path / "results.json").exists()


def test_skip_mode_skips_and_counts(capsys, tmp_path):
    code, out, err = cli(capsys, *SMALL, "faults.on_nonfinite=skip", f"run_dir={tmp_path}",
                         fault("nan_loss", steps="[3,7]"))
    assert code == 0, err
    done = results(tmp_path)
    assert done["faults"] == {"on_nonfinite": "skip", "skipped_steps": 2}
    assert done["steps"] == 10 and math.isfinite(done["test/mse"])
    assert "skipped steps      2 (NaN/Inf)" in out


def test_skip_mode_has_a_limit(capsys, tmp_path):
    code, _, err = cli(capsys, *SMALL, "faults.on_nonfinite=skip", "faults.max_skips=2",
                       f"run_dir={tmp_path}", fault("nan_loss", steps="[3,4,5]"))
    assert code == 3
    assert "the loss is nan at step 5" in error_line(err)
    assert "skipped 2 steps already (faults.max_skips=2)" in error_line(err)


def test_a_huge_learning_rate_is_caught_for_real(capsys, tmp_path):
    # clipping keeps each step's size at lr * 1: with lr=1e38 the weights leave float32's range
    code, _, err = cli(capsys, *SMALL, "optimizer=sgd", "optimizer.lr=1e38", f"run_dir={tmp_path}")
    assert code == 3
    line = error_line(err)
    assert line.startswith("numerical fault: the loss is ") and " at step 1 " in line
    assert "last finite loss" in line and "at step 0" in line
