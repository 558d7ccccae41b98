"""Every task with every core cell trains (a few steps), and the learning tests learn."""
import pytest
import torch

from rnnzoo.experiment import train
from tests.helpers import SMALL, TASKS, make_config


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "lstm_torch"])
@pytest.mark.parametrize("task", TASKS)
def test_every_task_runs_with_every_core_cell(tmp_path, task, cell):
    cfg = make_config(tmp_path, f"task={task}", f"cell={cell}", "cell.hidden_size=16",
                      "trainer.fast_dev_run=2", "logger=none", *SMALL[task])
    results = train(cfg)
    assert any(k.startswith("test/") for k in results)
    assert results["params"] > 0
    assert (tmp_path / "results.json").exists()


@pytest.mark.parametrize("optimizer", ["sgd", "sgd_momentum", "adam", "adamw", "adagrad", "adadelta", "rmsprop"])
@pytest.mark.parametrize("scheduler", ["none", "step", "cosine", "plateau", "exponential"])
def test_every_optimizer_and_scheduler_trains(tmp_path, optimizer, scheduler):
    cfg = make_config(tmp_path, "task=adding", "cell=gru", "cell.hidden_size=8", f"optimizer={optimizer}",
                      f"scheduler={scheduler}", "task.max_epochs=2", "logger=none", *SMALL["adding"])
    results = train(cfg)
    assert results["steps"] == 2 * 2  # 128 samples in batches of 64, two epochs


def test_losses_and_their_checks(tmp_path):
    common = ["task=sentiment", "cell=gru", "cell.hidden_size=8", "trainer.fast_dev_run=1",
              "logger=none", *SMALL["sentiment"]]
    ce = train(make_config(tmp_path / "ce", "loss=cross_entropy", *common))
    nll = train(make_config(tmp_path / "nll", "loss=nll", *common))
    assert nll["test/loss"] == pytest.approx(ce["test/loss"], rel=1e-5)  # log-softmax + NLL = CE
    sse = train(make_config(tmp_path / "sse", "task=adding", "cell=gru", "loss=sse",
                            "trainer.fast_dev_run=1", "logger=none", *SMALL["adding"]))
    mse = train(make_config(tmp_path / "mse", "task=adding", "cell=gru", "loss=mse",
                            "trainer.fast_dev_run=1", "logger=none", *SMALL["adding"]))
    # one value per sequence: sum of squares over steps/values per sequence = mse per element
    assert sse["test/loss"] == pytest.approx(mse["test/loss"], rel=1e-5)
    with pytest.raises(ValueError, match="loss=mse does not apply to task sentiment"):
        train(make_config(tmp_path / "bad", "loss=mse", *common))


def test_truncated_bptt_k1_k2_in_training(tmp_path):
    cfg = make_config(tmp_path, "task=char_lm", "cell=lstm", "cell.hidden_size=16",
                      "task.max_chars=20000", "task.seq_len=40", "task.batch_size=8",
                      "tbptt.k1=10", "tbptt.k2=25", "task.max_epochs=1", "logger=none")
    results = train(cfg)
    batches = int(20000 * 0.9 - 1) // 8 // 40
    assert results["steps"] == batches * 4  # an update every k1=10 of the 40 steps
    assert results["test/bpc"] < 8  # trained, finite
    with pytest.raises(ValueError, match="tbptt applies to aligned many-to-many"):
        train(make_config(tmp_path / "bad", "task=adding", "tbptt.k1=5", "logger=none", *SMALL["adding"]))


def test_truncated_bptt_steps_a_per_step_schedule_every_batch(tmp_path):
    """Manual optimisation: the system steps the schedulers, each at its own interval."""
    cfg = make_config(tmp_path, "task=char_lm", "cell=gru", "cell.hidden_size=8",
                      "task.max_chars=20000", "task.seq_len=40", "task.batch_size=8",
                      "tbptt.k1=20", "scheduler=cosine", "task.max_epochs=1", "logger=none")
    results = train(cfg)
    state = torch.load(results["checkpoints"]["last"], weights_only=True)["lr_schedulers"][0]
    batches = int(20000 * 0.9 - 1) // 8 // 40
    assert state["last_epoch"] == batches  # cosine steps once per training batch
    assert state["_last_lr"][0] < 1e-6  # ... so one epoch anneals it to eta_min
