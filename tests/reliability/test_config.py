"""A bad config stops the run before any work: one line naming key, value and what is
allowed; exit code 2; no traceback (HYDRA_FULL_ERROR=1 shows one)."""
import pytest
from omegaconf import OmegaConf

from rnnzoo.config import ConfigError, validate_config
from tests.helpers import ROOT, make_config
from tests.reliability.common import cli, error_line, run

BAD = [  # overrides -> what the one line must say
    (["cell=lsmt"], "config error: cell=lsmt is not a cell; choose one of: bow, gru"),
    (["task=sentimnt"], "config error: task=sentimnt is not a task; choose one of:"),
    (["optimizer=adamm"], "config error: optimizer=adamm is not an optimizer; choose one of: adadelta"),
    (["cell.hiden_size=3"], "config error: cell.hiden_size: is not a key of cell (lstm) (did you mean hidden_size?)"),
    (["trainer.max_epoch=3"], "config error: trainer.max_epoch: is not a trainer key (did you mean max_epochs?)"),
    (["+foo=1"], "config error: foo: is not a config key"),
    (["cell.hidden_size=abc"], "config error: cell.hidden_size=abc: must be an integer"),
    (["cell.bias=maybe"], "config error: cell.bias=maybe: must be true or false"),
    (["cell.hidden_size=0"], "config error: cell.hidden_size=0: must be >= 1"),
    (["cell.dropout=1.0"], "config error: cell.dropout=1.0: must be in [0.0, 1.0)"),
    (["cell.dropout=-0.1"], "config error: cell.dropout=-0.1: must be in [0.0, 1.0)"),
    (["optimizer.lr=0"], "config error: optimizer.lr=0: must be > 0.0"),
    (["optimizer.lr=-1e-3"], "config error: optimizer.lr=-0.001: must be > 0.0"),
    (["task=copy", "task.seq_len=0"], "config error: task.seq_len=0: must be >= 1"),
    (["task=adding", "task.seq_len=1"], "config error: task.seq_len=1: must be >= 2"),
    (["task=char_lm", "task.seq_len=0"], "config error: task.seq_len=0: must be >= 1"),
    (["task.batch_size=0"], "config error: task.batch_size=0: must be >= 1"),
    (["trainer.precision=17"], "config error: trainer.precision=17: must be one of"),
    (["data.on_bad_rows=ignore"], "config error: data.on_bad_rows=ignore: must be one of: error, skip"),
    (["faults.on_nonfinite=retry"], "config error: faults.on_nonfinite=retry: must be one of: stop, skip"),
    (["checkpoint.every_n_steps=-1"], "config error: checkpoint.every_n_steps=-1: must be >= 0"),
    (["loss=mse"], "config error: loss=mse does not apply to task sentiment (classes)"),
    (["tbptt.k1=5"], "config error: tbptt.k1=5: tbptt applies to aligned many-to-many tasks"),
    (["task=seq2seq_add", "cell=bow"], "config error: cell=bow (no recurrence) is a baseline"),
    (["task=seq2seq_add", "cell=mlstm", "cell.bidirectional=true"],
     "config error: cell=mlstm with cell.bidirectional=true cannot start the decoder"),
    (["task=char_lm", "tbptt.k1=10", "trainer=ddp"],
     "config error: tbptt.k1=10: truncated BPTT's several updates per batch are not kept in step"),
    (["trainer.devices=abc"], "config error: trainer.devices=abc: must be >= 1, -1 (all), auto"),
]


@pytest.mark.parametrize("overrides,expected", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_config_is_one_line_and_exit_2(capsys, tmp_path, overrides, expected):
    code, out, err = cli(capsys, *overrides, f"run_dir={tmp_path / 'run'}")
    assert code == 2
    assert error_line(err).startswith(expected), err
    assert not (tmp_path / "run").exists()  # stopped before anything was written


def test_every_sweep_value_is_checked_before_the_sweep(capsys, tmp_path):
    code, _, err = cli(capsys, "-m", "task=adding", "task.seq_len=5,1", f"hydra.sweep.dir={tmp_path}")
    assert code == 2
    assert error_line(err) == "config error: task.seq_len=1: must be >= 2 (one marked value in each half)"
    code, _, err = cli(capsys, "-m", "cell=gru,lsmt", f"hydra.sweep.dir={tmp_path}")
    assert code == 2 and "cell=lsmt is not a cell" in error_line(err)
    assert not any(tmp_path.iterdir())  # no job ran


def test_builtin_corpus_too_short_for_seq_len(capsys, tmp_path):
    code, _, err = cli(capsys, "task=char_lm", "task.seq_len=5000", "task.max_chars=20000",
                       f"run_dir={tmp_path}")
    assert code == 2
    assert error_line(err).startswith("config error: task.seq_len=5000: the built-in corpus' val split")


def test_misspelt_key_in_a_users_experiment_file(capsys, tmp_path):
    extra = tmp_path / "conf" / "experiment"
    extra.mkdir(parents=True)
    (extra / "mine.yaml").write_text("# @package _global_\ncell:\n  hiden_size: 3\n")
    code, _, err = cli(capsys, "--config-dir", str(tmp_path / "conf"), "experiment=mine",
                       f"run_dir={tmp_path / 'run'}")
    assert code == 2
    assert error_line(err).startswith("config error: cell.hiden_size: is not a key of cell (lstm) "
                                      "(did you mean hidden_size?)")


def test_every_config_option_passes_its_schema(tmp_path):
    """Each option of each group composes into a config the schemas accept (and they cover
    every key the YAML files have: an unknown key would fail here)."""
    # bench and suite belong to the benchmarks' own primary configs (benchmark.yaml, accuracy.yaml)
    groups = {p.parent.name for p in (ROOT / "conf").glob("*/*.yaml")} - {"hparams_search", "hydra", "bench", "suite"}
    for group in sorted(groups):
        for option in sorted(p.stem for p in (ROOT / "conf" / group).glob("*.yaml")):
            overrides = [f"{group}={option}"]
            if group == "loss":
                overrides.append("task=adding" if option in ("mse", "sse") else "task=copy")
            if group == "experiment":
                continue  # sweeps: checked by test_sweep_presets_compose
            config = OmegaConf.to_container(make_config(tmp_path, *overrides), resolve=True)
            validate_config(config)


def test_sweep_presets_are_checked_value_by_value(capsys, tmp_path):
    # long_range sweeps task=adding,copy x cell x task.seq_len: all 18 combinations are valid
    code, _, err = cli(capsys, "experiment=long_range", "task.seq_len=0",
                       f"hydra.sweep.dir={tmp_path}")
    assert code == 2 and "task.seq_len" in error_line(err)


def test_validate_config_checks_each_group_directly(tmp_path):
    config = OmegaConf.to_container(make_config(tmp_path), resolve=True)
    validate_config(config)
    for path, value, message in [
        (("init", "scheme"), "glorot", "init.scheme=glorot: must be one of: default"),
        (("scheduler", "gamma"), 0.5, "scheduler.gamma: is not a key of scheduler (none)"),
        (("callbacks", "histograms", "every_n_steps"), -1, "callbacks.histograms.every_n_steps=-1: must be >= 0"),
        (("data", "num_workers"), -2, "data.num_workers=-2: must be >= 0"),
        (("trainer", "gradient_clip_val"), -1.0, "trainer.gradient_clip_val=-1.0: must be >= 0.0"),
        (("trainer", "devices"), 0, "trainer.devices=0: must be >= 1"),
        (("trainer", "callbacks"), [], "trainer.callbacks: is set by rnnzoo itself"),
        (("seed",), -1, "seed=-1: must be in [0, 4294967296)"),
    ]:
        broken = OmegaConf.to_container(make_config(tmp_path), resolve=True)
        node = broken
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        with pytest.raises(ConfigError) as error:
            validate_config(broken)
        assert str(error.value).startswith(message), str(error.value)


def test_help_cfg_and_hydra_overrides_still_work(capsys, tmp_path):
    code, out, _ = cli(capsys, "--help")
    assert code == 0 and "== Config ==" in out
    for group in ["cell", "task", "optimizer", "scheduler", "loss", "init", "trainer", "logger",
                  "experiment", "data"]:  # every config group and its options
        assert f"{group}:" in out, group
    assert "lstm_torch" in out and "sgd_momentum" in out
    code, out, _ = cli(capsys, "--cfg", "job", "cell=gru", "cell.hidden_size=7")
    assert code == 0 and "hidden_size: 7" in out and "name: gru" in out
    code, out, _ = cli(capsys, "--cfg", "hydra", "hydra.job.name=custom")
    assert code == 0 and "name: custom" in out


def test_real_command_line_and_full_error(tmp_path):
    done = run("cell.hidden_size=0", f"run_dir={tmp_path}")
    assert done.returncode == 2
    assert done.stderr.strip() == "config error: cell.hidden_size=0: must be >= 1"
    done = run("cell.hidden_size=0", f"run_dir={tmp_path}", env={"HYDRA_FULL_ERROR": "1"})
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "ConfigError: cell.hidden_size=0: must be >= 1" in done.stderr


CHANGED = [  # messages that read differently since the checks moved into the builders and targets
    # the network's builders check the cell (rnnzoo.layers.builder): their words, the cell's name
    (["cell=min_gru", "cell.impl=torch"],
     "config error: cell=min_gru (impl=torch): cell 'min_gru' has no torch.nn implementation "
     "(torch.nn has rnn_tanh, rnn_relu, lstm, gru); use impl=custom"),
    (["cell=lstm_torch", "cell.options={foo:1}"],
     "config error: cell.options={foo:1}: options ['foo'] apply only to rnnzoo's cells"),
    # a _target_ entry is named by its target; its keys are the target's arguments
    (["optimizer.momentun=0.1"],
     "config error: optimizer.momentun: is not a key of optimizer (Adam); keys: lr, betas, eps"),
    (["optimizer=sgd", "optimizer.momentun=0.1"],
     "config error: optimizer.momentun: is not a key of optimizer (SGD) (did you mean momentum?)"),
    (["task=adding", "task.seq_lenn=3"],
     "config error: task.seq_lenn: is not a key of task (adding) (did you mean seq_len?)"),
    (["scheduler=step", "+scheduler.interval=hourly"],
     "config error: scheduler.interval=hourly: must be one of: step, epoch or null"),
    # a key the chosen option's file does not set (Hydra's struct mode) takes a +
    (["scheduler=step", "scheduler.interval=step"],
     "config error: scheduler.interval: is a key of scheduler (StepLR) that this config does not "
     "set; add it with +scheduler.interval=VALUE"),
    (["trainer.overfit_batches=2"],
     "config error: trainer.overfit_batches: is a key of trainer that this config does not set; "
     "add it with +trainer.overfit_batches=VALUE"),
    (["+callbacks.mine={_target_:nowhere.Thing}"],
     "config error: callbacks.mine._target_=nowhere.Thing: cannot be imported"),
    # the histograms are a callback's now (conf/callbacks/default.yaml), not the logger's
    (["callbacks.histograms.every_n_steps=-1"],
     "config error: callbacks.histograms.every_n_steps=-1: must be >= 0"),
    (["logger.histogram_every_n_steps=5"],
     "config error: logger.histogram_every_n_steps: is not a key of logger (DashboardLogger)"),
]


@pytest.mark.parametrize("overrides,expected", CHANGED, ids=[" ".join(c[0]) for c in CHANGED])
def test_changed_messages_are_one_line_and_exit_2(capsys, tmp_path, overrides, expected):
    code, _, err = cli(capsys, *overrides, f"run_dir={tmp_path / 'run'}")
    assert code == 2
    assert error_line(err).startswith(expected), err
    assert not (tmp_path / "run").exists()


def test_task_files_agree_with_their_classes_defaults():
    """A task's YAML (what a run uses) and its data module's defaults (what code that builds
    it directly gets) say the same, so each default has one value."""
    import inspect

    from hydra.utils import get_class

    for path in sorted((ROOT / "conf" / "task").glob("*.yaml")):
        node = OmegaConf.to_container(OmegaConf.load(path))
        cls = get_class(node.pop("_target_"))
        defaults = {}
        for klass in reversed(cls.__mro__):
            if "__init__" in klass.__dict__ and klass is not object:
                for name, p in inspect.signature(klass.__init__).parameters.items():
                    if p.default is not inspect.Parameter.empty:
                        defaults[name] = p.default
        for key, value in node.items():
            if key in defaults:
                expected = list(defaults[key]) if isinstance(defaults[key], tuple) else defaults[key]
                assert value == expected, f"{path.name}: {key}={value}, {cls.__name__}: {expected}"
