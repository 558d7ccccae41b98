"""task=sentiment on a user's own files: a directory of class files in Latin-1, k-fold
cross-validation, pretrained vectors (frozen or fine-tuned), the linear baseline in every file
run and alone (cell=linear), the file recipe, and the small-data levers of the network."""
import pytest
import torch

from rnnzoo.models.encoders import InputEncoder
from rnnzoo.models.networks import POOLINGS, ManyToOne
from rnnzoo.layers import build_rnn
from rnnzoo.tasks.crossval import with_file_recipe
from tests.reliability.common import QUIET, cli, results

POSITIVE = ["a good fine movie", "great lovely film", "truly wonderful acting", "a charming story"]
NEGATIVE = ["a bad dull movie", "awful boring film", "truly terrible acting", "a tedious story"]
SMALL = ["cell.hidden_size=8", "task.max_epochs=1", *QUIET]


def class_dir(tmp_path, n=30):
    """rt-polarity's layout: one Latin-1 file per class, one sentence per line."""
    folder = tmp_path / "reviews"
    folder.mkdir()
    for name, words in (("r.pos", POSITIVE), ("r.neg", NEGATIVE)):
        lines = [f"{words[i % 4]} café {i}" for i in range(n)]
        (folder / name).write_bytes("\n".join(lines).encode("latin-1"))
    return folder


def vectors_file(tmp_path, dim=8):
    path = tmp_path / "vectors.txt"
    words = sorted({w for s in POSITIVE + NEGATIVE for w in s.split()})
    path.write_text("".join(f"{w} " + " ".join(f"{(i + j) % 7 / 7:.3f}" for j in range(dim)) + "\n"
                            for i, w in enumerate(words)))
    return path


def test_latin1_class_dir_trains_and_reports_the_number_to_beat(capsys, tmp_path):
    folder = class_dir(tmp_path)
    code, out, err = cli(capsys, "task=sentiment", f"data.path={folder}", "data.encoding=latin-1",
                         *SMALL, f"run_dir={tmp_path / 'run'}")
    assert code == 0, err
    assert "the number to beat: test/acc" in err
    found = results(tmp_path / "run")
    assert set(found["baselines"]) >= {"linear/test/acc", "linear/val/acc", "linear/test/f1"}
    assert "test/acc" in found and "(linear baseline)" in out


def test_folds_report_mean_and_std(capsys, tmp_path):
    folder = class_dir(tmp_path)
    code, out, err = cli(capsys, "task=sentiment", f"data.path={folder}", "data.encoding=latin-1",
                         "data.folds=3", *SMALL, f"run_dir={tmp_path / 'run'}")
    assert code == 0, err
    found = results(tmp_path / "run")
    assert found["folds"] == 3 and len(found["per_fold"]) == 3
    assert set(found["mean"]["test/acc"]) == {"mean", "std", "n"} and found["mean"]["test/acc"]["n"] == 3
    assert found["linear"]["test/acc"]["n"] == 3
    assert "over 3 folds: test/acc" in out and "the number to beat:" in out
    assert all((tmp_path / "run" / f"fold-{k}" / "results.json").exists() for k in range(3))


def test_cell_linear_trains_nothing_and_reports_the_baseline(capsys, tmp_path):
    folder = class_dir(tmp_path)
    code, out, err = cli(capsys, "task=sentiment", "cell=linear", f"data.path={folder}",
                         "data.encoding=latin-1", *QUIET, f"run_dir={tmp_path / 'run'}")
    assert code == 0, err
    found = results(tmp_path / "run")
    assert found["cell"] == "linear" and found["params"] == 0 and found["test/acc"] == 1.0
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_cell_linear_on_the_builtin_data(capsys, tmp_path):
    code, _, err = cli(capsys, "task=sentiment", "cell=linear", "task.num_samples=200", *QUIET,
                       f"run_dir={tmp_path / 'run'}")
    assert code == 0, err
    found = results(tmp_path / "run")
    assert found["cell"] == "linear" and 0.0 <= found["test/acc"] <= 1.0


def test_cell_linear_refused_for_other_tasks(capsys, tmp_path):
    code, _, err = cli(capsys, "task=adding", "cell=linear", *QUIET, f"run_dir={tmp_path / 'run'}")
    assert code == 2 and "cell=linear" in err


@pytest.mark.parametrize("freeze", [True, False])
def test_pretrained_vectors_frozen_or_fine_tuned(capsys, tmp_path, freeze):
    folder, vectors = class_dir(tmp_path), vectors_file(tmp_path)
    code, _, err = cli(capsys, "task=sentiment", f"data.path={folder}", "data.encoding=latin-1",
                       f"data.embeddings={vectors}", "task.embedding_dim=8",
                       f"task.freeze_embeddings={str(freeze).lower()}", *SMALL,
                       f"run_dir={tmp_path / 'run'}")
    assert code == 0, err
    assert "vectors cover" in err and "word types" in err
    state = torch.load(tmp_path / "run" / "checkpoints" / "best.ckpt", weights_only=True)["state_dict"]
    weight = state["network.encoder.embedding.weight"]
    good = sorted({w for s in POSITIVE for w in s.split()})[0]  # a word the file has
    lines = {l.split()[0]: [float(v) for v in l.split()[1:]] for l in vectors.read_text().splitlines()}
    row = torch.tensor(lines[good])
    assert any(torch.allclose(r, row, atol=1e-6) for r in weight) == freeze


def recipe_config(path=None, **task):
    recipes = {"builtin_recipe": {"max_epochs": 10, "batch_size": 64},
               "file_recipe": {"max_epochs": 3, "batch_size": 128, "pooling": "max"}}
    base = {"max_epochs": None, "batch_size": None, "pooling": None}
    return {"task": {**base, **recipes, **task}, "data": {"path": path},
            "trainer": {"max_epochs": task.get("max_epochs"), "max_steps": -1}}


def test_file_recipe_on_a_file_builtin_recipe_otherwise():
    on_file = with_file_recipe(recipe_config("reviews.tsv"))
    assert on_file["task"]["pooling"] == "max" and on_file["trainer"]["max_epochs"] == 3
    builtin = with_file_recipe(recipe_config())
    assert builtin["task"]["pooling"] is None and builtin["trainer"]["max_epochs"] == 10
    assert builtin["task"]["batch_size"] == 64


def test_a_value_set_wins_over_the_recipe():
    config = with_file_recipe(recipe_config("reviews.tsv", pooling="mean", max_epochs=1))
    assert config["task"]["pooling"] == "mean" and config["trainer"]["max_epochs"] == 1
    assert config["task"]["batch_size"] == 128


def test_early_stopping_callback_entry(capsys, tmp_path):
    folder = class_dir(tmp_path)
    code, _, err = cli(capsys, "task=sentiment", f"data.path={folder}", "data.encoding=latin-1",
                       "callbacks=early_stopping", "callbacks.early_stopping.patience=1",
                       "cell.hidden_size=8", "task.max_epochs=30", *QUIET, f"run_dir={tmp_path / 'run'}")
    assert code == 0, err
    assert results(tmp_path / "run")["epochs"] < 30  # stopped once val/acc stayed at 1.0


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_pooling_ignores_padding(pooling, bidirectional):
    torch.manual_seed(0)
    rnn = build_rnn("gru", 6, 5, batch_first=True, bidirectional=bidirectional)
    net = ManyToOne(InputEncoder(20, tokens=True, embedding_dim=6), rnn, 3, pooling=pooling).eval()
    x = torch.randint(1, 20, (1, 4))
    padded = torch.cat([x, torch.zeros(1, 3, dtype=torch.long)], 1)
    alone = net(x, torch.tensor([4]))
    assert torch.allclose(alone, net(padded, torch.tensor([4])), atol=1e-5)


def test_word_and_embedding_dropout_only_in_training():
    enc = InputEncoder(50, tokens=True, embedding_dim=4, word_dropout=0.5, embedding_dropout=0.2)
    x = torch.randint(1, 50, (64, 10))
    enc.eval()
    assert torch.equal(enc(x), enc.embedding(x))
    enc.train()
    zeroed = (enc(x).abs().sum(-1) == 0).float().mean()
    assert 0.3 < zeroed < 0.7  # about half the words dropped whole


def test_frozen_embedding_gets_no_gradient():
    enc = InputEncoder(10, tokens=True, embedding_dim=4, freeze=True)
    assert not enc.embedding.weight.requires_grad
    with pytest.raises(ValueError, match="do not fit"):
        enc.load_pretrained(torch.zeros(3, 4))
