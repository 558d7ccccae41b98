"""Learning tests: fixed seeds, a small CPU budget, and a threshold that only learning passes."""
from rnnzoo.experiment import train
from tests.helpers import make_config

FAST = ["logger=none"]


def test_lstm_learns_binary_addition_exactly(tmp_path):
    results = train(make_config(
        tmp_path, "task=binary_add", "cell=lstm", "cell.hidden_size=32", "task.num_train=2000",
        "task.max_epochs=10", "optimizer.lr=0.01", "seed=0", *FAST))
    assert results["test/seq_acc"] == 1.0  # every bit of all 1000 held-out sums


def test_lstm_solves_the_adding_problem(tmp_path):
    results = train(make_config(
        tmp_path, "task=adding", "task.seq_len=50", "cell=lstm", "cell.hidden_size=32",
        "task.num_train=6400", "task.max_epochs=6", "optimizer.lr=0.01", "seed=0", *FAST))
    assert results["baselines"]["test/mse"] > 0.15  # predicting 1.0 scores about 1/6
    assert results["test/mse"] < 0.01


def test_lstm_beats_bag_of_words_on_builtin_sentiment(tmp_path):
    common = ["task=sentiment", "task.num_samples=3000", "task.max_epochs=6", "seed=0", *FAST]
    lstm = train(make_config(tmp_path / "lstm", "cell=lstm", "cell.hidden_size=64", *common))
    bow = train(make_config(tmp_path / "bow", "cell=bow", *common))
    assert bow["test/acc"] < 0.8  # word order decides many labels: bags of words cannot
    assert lstm["test/acc"] > bow["test/acc"] + 0.1
