"""scripts/summarize_sweep.py never crashes: numeric x gives lines, categorical x grouped bars,
an x with one value the table alone (said so), an unknown metric one line and exit 2; series
differ in colour and marker, and the trivial baseline is drawn with a line in the legend."""
import json

import pytest
import yaml

from tests.helpers import load_script

summarize = load_script("summarize_sweep")


def fake_sweep(folder, runs):
    """A multirun folder as Hydra and train() leave it: overrides and results per job."""
    for number, (overrides, results) in enumerate(runs):
        hydra = folder / str(number) / ".hydra"
        hydra.mkdir(parents=True)
        (hydra / "overrides.yaml").write_text(yaml.safe_dump(overrides))
        (folder / str(number) / "results.json").write_text(json.dumps(results))
    return folder


@pytest.fixture
def sweep(tmp_path):
    runs = []
    for i, (cell, optimizer) in enumerate([(c, o) for c in ("rnn", "gru") for o in ("sgd", "adam")]):
        runs.append(([f"cell={cell}", f"optimizer={optimizer}", "task=adding", "task.seq_len=10"],
                     {"test/mse": 0.05 + 0.01 * i, "val/mse_best": 0.04 + 0.01 * i, "params": 100,
                      "time_s": 1.0, "baselines": {"test/mse": 0.167}}))
    return fake_sweep(tmp_path / "sweep", runs)


@pytest.fixture
def figures(monkeypatch):
    """The figures plot() would save, kept open to look at."""
    saved = []
    monkeypatch.setattr(summarize, "save_figure", lambda fig, path, dpi: saved.append(fig))
    return saved


def test_categorical_x_gives_grouped_bars_with_the_baseline(sweep, figures, capsys):
    assert summarize.main([str(sweep), "--x", "optimizer"]) == 0
    assert "against optimizer" in capsys.readouterr().out
    ax, = figures[0].axes
    assert len(ax.patches) == 4  # 2 optimizers x 2 cells
    assert [t.get_text() for t in ax.get_xticklabels()] == ["adam", "sgd"]
    handles, labels = ax.get_legend_handles_labels()
    assert sorted(labels) == ["cell=gru", "cell=rnn", "trivial baseline"]
    baseline = handles[labels.index("trivial baseline")]
    assert baseline.get_linestyle() != [(0.0, None)]  # dashed segments across each group


def test_default_x_is_the_first_key_that_varies(sweep, figures, capsys):
    assert summarize.main([str(sweep)]) == 0  # task.seq_len has one value: not it
    assert "against cell" in capsys.readouterr().out


def test_numeric_x_lines_differ_in_colour_and_marker_and_the_baseline_has_a_line(tmp_path, figures):
    runs = [([f"cell={c}", f"task.seq_len={t}"], {"test/mse": 0.1, "baselines": {"test/mse": 0.167}})
            for c in ("rnn", "gru", "lstm") for t in (5, 10)]
    assert summarize.main([str(fake_sweep(tmp_path / "s", runs))]) == 0
    ax, = figures[0].axes
    *series, baseline = ax.get_lines()
    assert len({line.get_marker() for line in series}) == 3
    assert len({line.get_color() for line in series}) == 3
    assert baseline.get_label() == "trivial baseline" and baseline.get_linestyle() == "--"
    assert list(baseline.get_xdata()) == [5.0, 10.0]


@pytest.mark.parametrize("x, why", [("task.seq_len", "task.seq_len takes one value in this sweep"),
                                    ("optimizer.lr", "optimizer.lr is not set by this sweep's overrides")])
def test_an_x_with_one_value_gives_the_table_alone(sweep, figures, capsys, x, why):
    assert summarize.main([str(sweep), "--x", x]) == 0
    out = capsys.readouterr().out
    assert f"no plot: {why} (keys that vary: cell, optimizer)" in out and "| ok |" in out
    assert not figures and not (sweep / "summary.png").exists()
    assert (sweep / "summary.md").exists()


def test_an_unknown_metric_is_one_line_and_exit_2(sweep, capsys):
    assert summarize.main([str(sweep), "--metric", "test/acc"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --metric test/acc: no run of this sweep reports it; its metrics: "
                   "test/mse, val/mse_best"]
    assert not (sweep / "summary.md").exists()
