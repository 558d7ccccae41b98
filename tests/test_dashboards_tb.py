"""The dashboard as TensorBoard's own loader reads it (the UI's view): final metrics at the
step they were measured, tags that sort train/val/test first, no loss/mse twins, HPARAMS with
typed comparison keys and every task's metrics, the baseline on the metric's chart."""
import pytest
from tensorboard.backend.event_processing.plugin_event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import metadata as hparams_metadata

from rnnzoo.callbacks import HPARAMS_METRICS
from rnnzoo.experiment import train
from tests.helpers import make_config


def accumulator(folder):
    """The loader behind TensorBoard's data provider: it drops points whose step goes back."""
    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    return events


def steps(events, tag):
    return [e.step for e in events.Tensors(tag)]


def values(events, tag):
    return [float(e.tensor_proto.float_val[0]) for e in events.Tensors(tag)]


def test_adding_run_as_tensorboard_shows_it(tmp_path):
    results = train(make_config(tmp_path, "task=adding", "cell=gru", "cell.hidden_size=8",
                                "task.max_epochs=2", "task.num_train=128", "task.num_eval=64",
                                "task.seq_len=10", "callbacks.histograms.every_n_steps=2"))
    events = accumulator(tmp_path)  # the run's folder itself: TensorBoard names the run by it
    scalars = list(events.PluginTagToContent("scalars"))
    histograms = list(events.PluginTagToContent("histograms"))
    last = results["steps"]
    # measured once, at the end of training: never again at step 0
    assert steps(events, "test/mse") == [last]
    # the best so far: one point per validation, at that validation's step (Lightning's)
    best = steps(events, "val/mse_best")
    assert best == steps(events, "val/mse") and len(best) == 2 and 0 not in best
    # one chart per quantity: MSE is the loss, so no val/loss, test/loss or train/loss_epoch
    assert not {"val/loss", "test/loss", "train/loss_epoch"} & set(scalars)
    assert {"train/mse", "val/mse"} <= set(scalars)  # train/loss: every log_every_n_steps
    assert results["test/loss"] == results["test/mse"]  # results.json keeps it
    # train/val/test sort before the counters and histograms
    groups = sorted({t.split("/")[0] for t in scalars + histograms})
    assert groups[:3] == ["test", "train", "val"] and "epoch" not in groups, groups
    assert histograms and all(t.startswith("x_histograms/") for t in histograms)
    # the trivial baseline: a flat line on test/mse's chart, in a run of its own
    baseline = accumulator(tmp_path / "baseline")
    assert steps(baseline, "test/mse") == [0, last]
    assert values(baseline, "test/mse") == pytest.approx([results["baselines"]["test/mse"]] * 2)


def comparison_hparams_of(*overrides):
    from rnnzoo.experiment import comparison_hparams, prepare
    config, _ = prepare(make_config("/tmp/unused", "task=adding", "cell=gru", *overrides))
    return comparison_hparams(config)


def test_hparams_are_typed_and_declare_every_tasks_metrics(tmp_path):
    train(make_config(tmp_path, "task=adding", "cell=gru", "cell.hidden_size=8", "task.max_epochs=1",
                      "task.num_train=64", "task.num_eval=32", "task.seq_len=6"))
    events = accumulator(tmp_path)
    content = events.PluginTagToContent(hparams_metadata.PLUGIN_NAME)
    experiment = hparams_metadata.parse_experiment_plugin_data(content[hparams_metadata.EXPERIMENT_TAG])
    start = hparams_metadata.parse_session_start_info_plugin_data(
        content[hparams_metadata.SESSION_START_INFO_TAG])
    names = [h.name for h in experiment.hparam_infos]
    assert names[:3] == ["task", "cell", "optimizer"]
    assert [h.name for h in experiment.hparam_infos if h.differs] == ["task"]  # shown first
    assert "cell.hidden_size" in names and "optimizer.lr" in names
    assert "cell.bidirectional" not in names and "cell.dropout" not in names  # off: left out
    assert not any(n.startswith(("trainer", "data", "callbacks", "faults")) for n in names)
    values = start.hparams
    assert values["cell"].string_value == "gru" and values["cell.hidden_size"].string_value == "8"
    assert values["optimizer.lr"].WhichOneof("kind") == "number_value"
    assert comparison_hparams_of("cell.bidirectional=true")["cell.bidirectional"] is True
    assert [m.name.tag for m in experiment.metric_infos] == list(HPARAMS_METRICS)
    assert {"test/bpc", "val/bpc_best", "test/acc", "val/mse_best", "test/mase"} <= set(HPARAMS_METRICS)


def test_sine_figure_shows_the_unseen_test_frequencies_beside_the_baseline(tmp_path):
    from rnnzoo.experiment import instantiate_data, instantiate_system, prepare

    config, _ = prepare(make_config(tmp_path, "task=sine", "cell=gru", "cell.hidden_size=4",
                                    "task.num_train=32", "task.num_eval=16", "task.seq_len=20"))
    data = instantiate_data(config)
    data.setup("fit")
    system = instantiate_system(config, data.info)
    figure = data.examples(system)["figures"]["sine/prediction"]  # logged as x_examples/sine/...
    titles = [ax.get_title(loc="left") for ax in figure.axes]
    assert sum("unseen test frequencies" in t for t in titles) == 2
    assert sum("training frequencies" in t for t in titles) == 2
    assert all("vs echo baseline" in t for t in titles)


def test_sine_report_says_where_the_model_is_worse_than_echoing():
    from rnnzoo.analysis.sine_report import _worse_than_echo

    rows = [{"freq": 1.0, "mse": 0.01, "echo_mse": 0.09}, {"freq": 2.5, "mse": 0.2, "echo_mse": 0.09}]
    assert "at 1 of 2 frequencies: 2.5 Hz" in _worse_than_echo(rows)[0]
    assert "beats echoing" in _worse_than_echo(rows[:1])[0]


def test_char_lm_samples_between_validations(tmp_path):
    train(make_config(tmp_path, "task=char_lm", "cell=gru", "cell.hidden_size=8",
                      "task.max_chars=20000", "task.seq_len=20", "task.max_epochs=1",
                      "trainer.max_steps=6", "task.sample_length=20",
                      "callbacks.examples.every_n_steps=2", "callbacks.histograms.every_n_steps=0"))
    events = accumulator(tmp_path)
    # max_steps ends the run mid-epoch: validation alone would have shown no sample at all
    assert steps(events, "x_examples/char_lm/sample/text_summary") == [2, 4, 6]
    # the samples' group sorts after train/val/test, as the histograms' does
    tags = [t for kind in ("scalars", "tensors", "images") for t in events.Tags().get(kind, [])]
    groups = sorted({t.split("/")[0] for t in tags} - {"_hparams_"})  # the plugin's own, unshown
    assert groups == ["test", "train", "x_examples", "x_progress"], groups  # max_steps: no val


def test_a_sweeps_runs_are_named_by_their_swept_values(tmp_path):
    import subprocess
    import sys

    from tests.helpers import ROOT
    sweep = tmp_path / "sweep"
    subprocess.run([sys.executable, "train.py", "-m", "cell=rnn,gru", "task=adding", "task.num_train=64",
                    "task.num_eval=32", "task.seq_len=5", "cell.hidden_size=4", "task.max_epochs=1",
                    "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false",
                    f"hydra.sweep.dir={sweep}"], cwd=ROOT, check=True, capture_output=True)
    for cell in ("rnn", "gru"):
        events = accumulator(sweep / f"cell={cell}")  # the run's name in TensorBoard
        content = events.PluginTagToContent(hparams_metadata.PLUGIN_NAME)
        experiment = hparams_metadata.parse_experiment_plugin_data(content[hparams_metadata.EXPERIMENT_TAG])
        assert [h.name for h in experiment.hparam_infos][:2] == ["cell", "task"]
        assert {h.name for h in experiment.hparam_infos if h.differs} == {"cell", "task"}
        assert steps(events, "test/mse")


def test_the_summary_points_tensorboard_where_run_names_read_well(tmp_path):
    from rnnzoo.experiment import logdir_for

    run = tmp_path / "outputs" / "adding" / "gru" / "2026-11-30_18-00-00"
    assert logdir_for({"run_dir": str(run), "task": "adding", "cell": "gru",
                       "tensorboard": str(run)}) == tmp_path / "outputs"
    sweep = tmp_path / "multirun" / "stamp"
    assert logdir_for({"run_dir": str(sweep / "0"), "task": "adding", "cell": "gru",
                       "tensorboard": str(sweep / "cell=gru")}) == sweep
