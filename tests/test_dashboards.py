"""TensorBoard gets scalars, hparams, histograms, text samples and figures."""
import json

from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.util import tensor_util

from rnnzoo.experiment import train
from tests.helpers import make_config


def logged(run_dir):
    """Every summary value in the run's event files: {tag: [(kind, value proto), ...]}."""
    found = {}
    for path in sorted(run_dir.glob("events.out.tfevents.*")):
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                kind = value.metadata.plugin_data.plugin_name or value.WhichOneof("value")
                found.setdefault(value.tag, []).append((kind, value))
    return found


def test_char_lm_run_logs_scalars_text_histograms_and_hparams(tmp_path):
    train(make_config(tmp_path, "task=char_lm", "cell=lstm", "cell.hidden_size=32",
                      "task.max_chars=30000", "task.seq_len=32", "task.max_epochs=1",
                      "task.sample_length=50", "callbacks.histograms.every_n_steps=5"))
    found = logged(tmp_path)
    for tag in ["train/loss_step", "train/loss_epoch", "val/loss", "val/bpc", "val/ppl",
                "train/grad_norm", "train/lr", "test/bpc", "val/bpc_best"]:
        assert tag in found, tag
        assert all(kind == "scalars" for kind, _ in found[tag])
    kinds = {kind for values in found.values() for kind, _ in values}
    assert {"histograms", "text", "hparams"} <= kinds
    assert any(t.startswith("x_histograms/weights/") for t in found)
    assert any(t.startswith("x_histograms/grads/") for t in found)
    (kind, value), = found["x_examples/char_lm/sample/text_summary"][-1:]
    sample = tensor_util.make_ndarray(value.tensor).item().decode()
    assert kind == "text" and len(sample) > 40  # the sampled text itself
    for tag in ["_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info"]:
        assert found[tag][0][0] == "hparams"
    # the HPARAMS tab lists the final metrics next to the hyper-parameters
    experiment = found["_hparams_/experiment"][0][1].metadata.plugin_data.content
    assert b"test/bpc" in experiment and b"cell.hidden_size" in experiment


def test_sine_run_logs_a_figure(tmp_path):
    train(make_config(tmp_path, "task=sine", "cell=gru", "cell.hidden_size=16", "task.num_train=256",
                      "task.num_eval=64", "task.max_epochs=1"))
    found = logged(tmp_path)
    (kind, value), = found["x_examples/sine/prediction"][-1:]
    width, height, png = value.tensor.string_val[:3]  # how the images plugin stores a figure
    assert kind == "images" and int(width) > 100 and int(height) > 100
    assert png.startswith(b"\x89PNG")


def test_results_json_is_complete(tmp_path):
    results = train(make_config(tmp_path, "task=digits", "cell=gru", "cell.hidden_size=16",
                                "task.max_epochs=1", "logger=none"))
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved == json.loads(json.dumps(results))
    assert {"test/acc", "test/f1", "test/loss", "params", "time_s", "run_dir", "checkpoints"} <= set(saved)
    assert (tmp_path / "checkpoints" / "best.ckpt").exists()
    assert (tmp_path / "checkpoints" / "last.ckpt").exists()
