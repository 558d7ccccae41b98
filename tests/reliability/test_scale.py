"""Several processes (DDP on CPU, gloo), loader worker processes, determinism, and the
optional SLURM and Optuna presets."""
import importlib.util
import json

import pytest

from tests.reliability.common import ADDING, QUIET, cli, metrics, results, run
from tests.helpers import SMALL, TASKS


def installed(module: str) -> bool:
    """Whether an optional plugin is importable (find_spec raises when its parent is absent)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def test_two_process_ddp_matches_one_process_with_the_same_global_batch(tmp_path):
    common = [*ADDING, "task.max_epochs=2", *QUIET]
    single = run(*common, "task.batch_size=32", f"run_dir={tmp_path / 'single'}")
    assert single.returncode == 0, single.stderr[-2000:]
    ddp = run(*common, "trainer=ddp", "trainer.devices=2", "task.batch_size=16",
              f"run_dir={tmp_path / 'ddp'}")
    assert ddp.returncode == 0, ddp.stderr[-2000:]
    one, two = metrics(tmp_path / "single"), metrics(tmp_path / "ddp")
    assert one.keys() == two.keys()
    for key in one:
        assert two[key] == pytest.approx(one[key], rel=1e-5, abs=1e-6), key
    assert results(tmp_path / "ddp")["world_size"] == 2
    assert results(tmp_path / "ddp")["steps"] == results(tmp_path / "single")["steps"] == 40
    assert ddp.stdout.count("rnnzoo: gru (custom) on adding") == 1  # rank 0 alone reports
    run_dir = tmp_path / "ddp"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp", "single"]  # one folder per run
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
    config = json.loads((run_dir / ".rnnzoo" / "ddp-config.json").read_text())
    assert config["run_dir"] == str(run_dir)


@pytest.mark.slow
def test_char_lm_ddp_splits_the_streams(tmp_path):
    common = ["task=char_lm", "task.max_chars=20000", "task.seq_len=20", "task.max_epochs=1",
              "cell=lstm", "cell.hidden_size=16", *QUIET]
    assert run(*common, "task.batch_size=8", f"run_dir={tmp_path / 'single'}").returncode == 0
    done = run(*common, "trainer=ddp", "trainer.devices=2", "task.batch_size=4",
               f"run_dir={tmp_path / 'ddp'}")
    assert done.returncode == 0, done.stderr[-2000:]
    one, two = metrics(tmp_path / "single"), metrics(tmp_path / "ddp")
    assert one and one.keys() == two.keys()
    for key in one:
        assert two[key] == pytest.approx(one[key], rel=1e-4), key


@pytest.mark.parametrize("task", TASKS)
def test_every_task_loads_in_worker_processes(capsys, tmp_path, task):
    code, _, err = cli(capsys, f"task={task}", "cell=gru", "cell.hidden_size=8",
                       "data.num_workers=2", "trainer.fast_dev_run=2", *SMALL[task], *QUIET,
                       f"run_dir={tmp_path}")
    assert code == 0, err
    assert any(k.startswith("test/") for k in results(tmp_path))


def test_same_seed_same_metrics_other_seed_other_metrics(capsys, tmp_path):
    args = [*ADDING, "task.num_train=256", "task.max_epochs=1", "cell.num_layers=2",
            "cell.dropout=0.3", *QUIET]
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        assert cli(capsys, *args, f"seed={seed}", f"run_dir={tmp_path / name}")[0] == 0
    assert metrics(tmp_path / "a") == metrics(tmp_path / "b")
    assert metrics(tmp_path / "a") != metrics(tmp_path / "c")


@pytest.mark.skipif(not installed("hydra_plugins.hydra_submitit_launcher"),
                    reason='needs pip install -e ".[slurm]"')
def test_slurm_launcher_preset_composes(capsys):
    code, out, err = cli(capsys, "--cfg", "hydra", "hydra/launcher=slurm", "trainer=ddp",
                         "trainer.devices=4", "hydra.launcher.partition=gpu")
    assert code == 0, err
    assert "submitit_launcher.SlurmLauncher" in out and "partition: gpu" in out
    assert "tasks_per_node: ${trainer.devices}" in out


@pytest.mark.skipif(not installed("hydra_plugins.hydra_optuna_sweeper"),
                    reason='needs pip install -e ".[optuna]"')
def test_optuna_preset_composes_and_is_checked(capsys, tmp_path):
    code, out, err = cli(capsys, "--cfg", "hydra", "hparams_search=optuna_adding")
    assert code == 0, err
    assert "OptunaSweeper" in out and "optimizer.lr: tag(log, interval(0.0003, 0.03))" in out
    code, _, err = cli(capsys, "hparams_search=optuna_adding", "cell.dropout=2",
                       f"hydra.sweep.dir={tmp_path}")
    assert code == 2 and "cell.dropout=2: must be in [0.0, 1.0)" in err


@pytest.mark.slow
@pytest.mark.skipif(not installed("hydra_plugins.hydra_optuna_sweeper"),
                    reason='needs pip install -e ".[optuna]"')
def test_optuna_sweep_runs(tmp_path):
    done = run("-m", "hparams_search=optuna_adding", "hydra.sweeper.n_trials=2",
               "task.num_train=128", "task.num_eval=32", "task.max_epochs=1", *QUIET,
               f"hydra.sweep.dir={tmp_path}")
    assert done.returncode == 0, done.stderr[-2000:]
    best = (tmp_path / "optimization_results.yaml").read_text()
    assert "best_value" in best
