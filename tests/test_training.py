"""Every task with every core cell trains (a few steps), and the learning tests learn."""
import math

import pytest
import torch
from omegaconf import OmegaConf

import rnnzoo.tasks.systems.base as system_base
from rnnzoo.data.corpus import builtin_corpus, encode_text
from rnnzoo.callbacks import HPARAMS_METRICS
from rnnzoo.experiment import train
from rnnzoo.tasks.optim import build_optimizer, build_scheduler
from tests.helpers import SMALL, TASKS, make_config


#: every cell, classic and modern, and the LSTM with a projection (proj_size: its outputs are
#: proj_size wide, not hidden_size; the heads once took hidden_size and failed with a shape error)
CELL_SETUPS = [*((cell, ()) for cell in ("rnn", "lstm", "gru", "lstm_torch", "min_gru", "min_lstm",
                                         "slstm", "mlstm", "lru", "rg_lru", "s6")),
               *((cell, ("+cell.options.proj_size=5",)) for cell in ("lstm", "lstm_torch"))]


@pytest.mark.parametrize("cell, options", CELL_SETUPS, ids=lambda v: v if isinstance(v, str) else "-".join(v) or "plain")
@pytest.mark.parametrize("task", TASKS)
def test_every_task_runs_with_every_cell(tmp_path, task, cell, options):
    cfg = make_config(tmp_path, f"task={task}", f"cell={cell}", "cell.hidden_size=16", *options,
                      "trainer.fast_dev_run=2", "logger=none", *SMALL[task])
    results = train(cfg)
    assert any(k.startswith("test/") for k in results)
    assert all(math.isfinite(v) for k, v in results.items() if k.startswith("test/"))
    # every final metric a task reports is a declared HPARAMS column (mixed folders keep it)
    reported = {k for k in results if k.startswith(("test/", "val/"))}
    assert reported <= set(HPARAMS_METRICS), reported - set(HPARAMS_METRICS)
    assert results["params"] > 0
    assert (tmp_path / "results.json").exists()


#: optimizer name -> the class it must build and the hyperparameters the name itself implies
OPTIMIZER_CLASSES = {
    "sgd": (torch.optim.SGD, {"momentum": 0}),
    "sgd_momentum": (torch.optim.SGD, {"momentum": 0.9}),
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "adagrad": (torch.optim.Adagrad, {}),
    "adadelta": (torch.optim.Adadelta, {}),
    "rmsprop": (torch.optim.RMSprop, {}),
}
#: settings that make each schedule move the learning rate within the test's two epochs
SCHEDULE_OVERRIDES = {"step": ["scheduler.step_size=1"],
                      # an improvement must cut val/mse by 90% in one epoch; anything less is
                      # a plateau, and with patience 0 each plateau epoch halves the rate
                      "plateau": ["scheduler.patience=0", "+scheduler.threshold=0.9"]}


@pytest.fixture
def built(monkeypatch):
    """The optimizers and lr_scheduler dicts that the training systems build, as built."""
    made = {"optimizers": [], "schedulers": []}

    def optimizer(*args, **kw):
        made["optimizers"].append(build_optimizer(*args, **kw))
        return made["optimizers"][-1]

    def scheduler(*args, **kw):
        made["schedulers"].append(build_scheduler(*args, **kw))
        return made["schedulers"][-1]

    monkeypatch.setattr(system_base, "build_optimizer", optimizer)
    monkeypatch.setattr(system_base, "build_scheduler", scheduler)
    return made


def expected_lr(scheduler_name, options, lr, steps, val_history):
    """The learning rate after two epochs of ``steps`` optimiser steps, as the schedule says."""
    if scheduler_name == "none":
        return lr
    if scheduler_name == "step":  # epoch interval
        return lr * options["gamma"] ** (2 // options["step_size"])
    if scheduler_name == "exponential":
        return lr * options["gamma"] ** 2
    if scheduler_name == "cosine":  # step interval, T_max = the run's steps
        eta_min = options["eta_min"]
        return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * steps / steps)) / 2
    # plateau, mode min, relative threshold: an epoch improves when val < best * (1 - threshold)
    best, rate = math.inf, lr
    for value in val_history:
        if value < best * (1 - options["threshold"]):
            best = value
        else:
            rate *= options["factor"]  # patience 0: every plateau epoch reduces
    return rate


@pytest.mark.parametrize("optimizer", list(OPTIMIZER_CLASSES))
@pytest.mark.parametrize("scheduler", ["none", "step", "cosine", "plateau", "exponential"])
def test_every_optimizer_and_scheduler_trains(tmp_path, optimizer, scheduler, built, one_thread):
    cfg = make_config(tmp_path, "task=adding", "cell=gru", "cell.hidden_size=8", f"optimizer={optimizer}",
                      f"scheduler={scheduler}", "task.max_epochs=2", "logger=none", *SMALL["adding"],
                      *SCHEDULE_OVERRIDES.get(scheduler, []))
    results = train(cfg)
    assert results["steps"] == 2 * 2  # 128 samples in batches of 64, two epochs

    # the chosen optimizer, with the config's hyperparameters, over every parameter
    (opt,), (schedule,) = built["optimizers"], built["schedulers"]
    cls, implied = OPTIMIZER_CLASSES[optimizer]
    assert type(opt) is cls
    options = {k: v for k, v in OmegaConf.to_container(cfg.optimizer).items() if not k.startswith("_")}
    for key, value in {**options, **implied}.items():
        assert opt.defaults[key] == value, key
    assert sum(p.numel() for group in opt.param_groups for p in group["params"]) == results["params"]
    for state in opt.state.values():  # the optimizers that count their steps took all four
        if "step" in state:
            assert int(state["step"]) == 4

    # the chosen schedule, stepped at its interval, moving the rate as it says
    lr = options["lr"]
    schedule_options = OmegaConf.to_container(cfg.scheduler)
    kinds = {"none": None, "step": torch.optim.lr_scheduler.StepLR,
             "exponential": torch.optim.lr_scheduler.ExponentialLR,
             "cosine": torch.optim.lr_scheduler.CosineAnnealingLR,
             "plateau": torch.optim.lr_scheduler.ReduceLROnPlateau}
    if scheduler == "none":
        assert schedule is None
    else:
        assert type(schedule["scheduler"]) is kinds[scheduler]
        assert schedule["interval"] == ("step" if scheduler == "cosine" else "epoch")
        assert schedule["scheduler"].last_epoch == (4 if scheduler == "cosine" else 2)
    val = [row["val/mse"] for row in results["history"]]
    assert len(val) == 2
    want = expected_lr(scheduler, schedule_options, lr, results["steps"], val)
    assert opt.param_groups[0]["lr"] == pytest.approx(want, rel=1e-9, abs=1e-15)
    if scheduler != "none":
        assert want < lr  # each schedule here does lower the rate within the two epochs


def test_a_new_optimizer_is_one_yaml_file(tmp_path, capsys, built):
    """No table in code lists the optimizers: a YAML file naming the class is the whole of a
    new one (here in a config folder of one's own, on Hydra's search path with --config-dir),
    and its keys are checked against the class like every optimizer's."""
    import train as entry

    folder = tmp_path / "conf" / "optimizer"
    folder.mkdir(parents=True)
    (folder / "nadam.yaml").write_text("_target_: torch.optim.NAdam\n_partial_: true\n"
                                       "lr: 0.002\nmomentum_decay: 0.005\n")
    common = ["--config-dir", str(tmp_path / "conf"), "optimizer=nadam", "task=adding", "cell=gru",
              "cell.hidden_size=8", "trainer.fast_dev_run=1", "logger=none", *SMALL["adding"],
              "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]
    assert entry.main([*common, f"run_dir={tmp_path / 'run'}"]) == 0
    (opt,) = built["optimizers"]
    assert type(opt) is torch.optim.NAdam
    assert (opt.defaults["lr"], opt.defaults["momentum_decay"]) == (0.002, 0.005)
    capsys.readouterr()
    assert entry.main([*common, "optimizer.momentum_decai=0.1", f"run_dir={tmp_path / 'bad'}"]) == 2
    assert capsys.readouterr().err.strip().startswith(
        "config error: optimizer.momentum_decai: is not a key of optimizer (NAdam) "
        "(did you mean momentum_decay?)")
    assert entry.main(["--config-dir", str(tmp_path / "conf"), "--help"]) == 0
    assert "optimizer: adadelta, adagrad, adam, adamw, nadam, rmsprop" in capsys.readouterr().out


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


def unigram_entropy_bits(ids) -> float:
    """The entropy of the characters' own frequencies: the best bpc of a model without context."""
    counts = torch.bincount(torch.as_tensor(ids).long()).double()
    p = counts[counts > 0] / counts.sum()
    return float(-(p * p.log2()).sum())


def test_truncated_bptt_k1_k2_in_training(tmp_path, one_thread):
    cfg = make_config(tmp_path, "task=char_lm", "cell=lstm", "cell.hidden_size=64", "optimizer.lr=0.01",
                      "task.max_chars=20000", "task.seq_len=40", "task.batch_size=8",
                      "tbptt.k1=10", "tbptt.k2=25", "task.max_epochs=1", "logger=none")
    results = train(cfg)
    batches = int(20000 * 0.9 - 1) // 8 // 40
    assert results["steps"] == batches * 4  # an update every k1=10 of the 40 steps
    # learned from context: clearly below the test text's unigram entropy (4.35 bits here; a
    # uniform guess over the 93 symbols would be 6.54), which no context-free model can beat
    test_ids = encode_text(builtin_corpus(20000)).split((0.9, 0.05, 0.05))[2]
    assert results["test/bpc"] < unigram_entropy_bits(test_ids) - 0.75
    with pytest.raises(ValueError, match="tbptt applies to aligned many-to-many"):
        train(make_config(tmp_path / "bad", "task=adding", "tbptt.k1=5", "logger=none", *SMALL["adding"]))


def test_truncated_bptt_steps_a_per_step_schedule_every_batch(tmp_path, one_thread):
    """Manual optimisation: the system steps the schedulers, each at its own interval."""
    cfg = make_config(tmp_path, "task=char_lm", "cell=gru", "cell.hidden_size=8",
                      "task.max_chars=20000", "task.seq_len=40", "task.batch_size=8",
                      "tbptt.k1=20", "scheduler=cosine", "task.max_epochs=1", "logger=none")
    results = train(cfg)
    state = torch.load(results["checkpoints"]["last"], weights_only=True)["lr_schedulers"][0]
    batches = int(20000 * 0.9 - 1) // 8 // 40
    assert state["last_epoch"] == batches  # cosine steps once per training batch
    assert state["_last_lr"][0] < 1e-6  # ... so one epoch anneals it to eta_min
