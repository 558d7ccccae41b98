"""The command line helps: Lightning's Trainer arguments pass without ``+``, and a top-level
key that lives in a group gets its group's name, in one line with exit code 2."""
import json

import pytest

from rnnzoo.cli import main, trainer_override
from tests.helpers import ROOT


def test_trainer_arguments_pass_without_plus():
    assert trainer_override("trainer.val_check_interval=100") == "++trainer.val_check_interval=100"
    assert trainer_override("trainer.max_epochs=3") == "++trainer.max_epochs=3"
    assert trainer_override("trainer.val_chek_interval=100") == "trainer.val_chek_interval=100"
    assert trainer_override("trainer.logger=x") == "trainer.logger=x"  # rnnzoo's own
    # not in the schema: Lightning takes it, with a + (the error says so)
    assert trainer_override("trainer.overfit_batches=2") == "trainer.overfit_batches=2"
    assert trainer_override("+trainer.val_check_interval=1") == "+trainer.val_check_interval=1"


def test_val_check_interval_runs(tmp_path, capsys):
    code = main([f"run_dir={tmp_path}", "task=adding", "cell=rnn", "cell.hidden_size=4",
                 "task.num_train=64", "task.num_eval=32", "task.seq_len=5", "task.batch_size=16",
                 "task.max_epochs=1", "logger=none", "trainer.enable_progress_bar=false",
                 "trainer.enable_model_summary=false", "trainer.val_check_interval=2",
                 f"hydra.run.dir={tmp_path}"], ROOT / "conf")
    assert code == 0
    history = json.loads((tmp_path / "results.json").read_text())["history"]
    assert [row["step"] for row in history] == [2, 4]  # 4 batches, a validation every 2


@pytest.mark.parametrize("override, meant", [("seq_len=20", "task.seq_len"), ("lr=0.01", "optimizer.lr"),
                                             ("hiden_size=8", "cell.hidden_size"),
                                             ("val_check_interval=5", "trainer.val_check_interval")])
def test_a_top_level_key_names_the_nested_key_it_meant(override, meant, capsys):
    assert main(["task=adding", override], ROOT / "conf") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"did you mean {meant}?" in err[0], err
