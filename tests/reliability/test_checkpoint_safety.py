"""Checkpoints are read with weights_only=True everywhere (a pickled callable is refused and
never runs), written atomically (a crash mid-write leaves the old file), and a truncated one
is refused with one line — on resume and in predict."""
import pickle
import subprocess
import sys
import zipfile

import pytest
import torch

from rnnzoo.checkpoints import CheckpointError, SafeCheckpointIO, load_checkpoint
from rnnzoo.utils.io import write_json
from tests.helpers import ROOT
from tests.reliability.common import ADDING, QUIET, cli, error_line


class Payload:
    """Unpickling this runs ``open(marker, "w")``: the marker file appears."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def crafted_checkpoint(path, marker):
    torch.save({"state_dict": {"w": torch.zeros(2)}, "rnnzoo": Payload(marker)}, path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small finished run: its checkpoints exercise everything Lightning and rnnzoo store
    (optimizer and plateau-scheduler state, RNG states, loader position, carried state)."""
    import train

    run_dir = tmp_path_factory.mktemp("trained")
    code = train.main(["task=char_lm", "task.max_chars=20000", "task.seq_len=20",
                       "task.batch_size=8", "task.max_epochs=1", "cell=lstm", "cell.hidden_size=8",
                       "scheduler=plateau", "checkpoint.every_n_steps=10", *QUIET,
                       f"run_dir={run_dir}"])
    assert code == 0
    return run_dir


def test_everything_in_a_checkpoint_loads_weights_only(trained):
    for name in ("best.ckpt", "last.ckpt"):
        checkpoint = torch.load(trained / "checkpoints" / name, weights_only=True)
        assert {"state_dict", "optimizer_states", "lr_schedulers", "loops", "callbacks",
                "rnnzoo"} <= set(checkpoint)
        rng = next(v for k, v in checkpoint["callbacks"].items() if k.startswith("RandomState"))
        assert set(rng) >= {"torch", "numpy", "python"}
    last = torch.load(trained / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"epoch": 0, "batches": 112}]


def test_pickled_callable_is_refused_and_never_runs(capsys, tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.ckpt"
    crafted_checkpoint(path, marker)
    with pytest.raises(CheckpointError, match="refused unopened"):
        load_checkpoint(path)
    code, _, err = cli(capsys, *ADDING, *QUIET, f"resume={path}", f"run_dir={tmp_path / 'run'}")
    assert code == 2
    assert error_line(err).startswith(f"checkpoint error: checkpoint '{path}' holds objects that "
                                      "are not plain data, so it was refused unopened")
    done = subprocess.run([sys.executable, "scripts/predict.py", str(path), "hello"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "refused unopened" in done.stderr
    assert not marker.exists()
    pickle.loads(pickle.dumps(Payload(marker)))  # the payload is real: plain pickle runs it
    assert marker.exists()


def test_truncated_checkpoint_is_refused_on_resume_and_predict(capsys, tmp_path, trained):
    whole = (trained / "checkpoints" / "last.ckpt").read_bytes()
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    truncated = run_dir / "checkpoints" / "last.ckpt"
    truncated.write_bytes(whole[: len(whole) // 2])
    code, _, err = cli(capsys, "task=char_lm", f"resume={run_dir}", *QUIET)
    assert code == 2
    assert error_line(err).startswith(f"checkpoint error: checkpoint '{truncated}' is truncated or "
                                      "not a PyTorch checkpoint")
    done = subprocess.run([sys.executable, "scripts/predict.py", str(truncated)], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "is truncated or not a PyTorch checkpoint" in done.stderr


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "checkpoints" / "last.ckpt"
    io = SafeCheckpointIO()
    io.save_checkpoint({"step": torch.tensor(1)}, path)

    def crash(obj, target, *args, **kwargs):  # write half a file, then die
        with open(target, "wb") as f:
            f.write(b"PK\x03\x04 half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        io.save_checkpoint({"step": torch.tensor(2)}, path)
    monkeypatch.undo()
    assert int(load_checkpoint(path)["step"]) == 1  # the old checkpoint, whole
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]  # no temporary left
    assert zipfile.is_zipfile(path)


def test_results_json_is_written_atomically(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    write_json(path, {"a": 1})

    class Unserialisable:
        def __str__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_json(path, {"a": Unserialisable()})
    assert path.read_text() == '{\n  "a": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]
