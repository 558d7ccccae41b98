"""A run killed mid-epoch resumes to the same final metrics as an uninterrupted run (same seed,
CPU); SIGTERM and SIGINT save a checkpoint before stopping."""
import signal
import time

import pytest

from rnnzoo.checkpoints import load_checkpoint
from tests.faults import InjectedCrash, fault
from tests.reliability.common import ADDING, QUIET, cli, error_line, metrics, results, run, start

# dropout (the random state) and a cosine schedule (per-step state) must both come back
KILLED = [*ADDING, "task.max_epochs=3", "cell.num_layers=2", "cell.dropout=0.3",
          "scheduler=cosine", "checkpoint.every_n_steps=7", *QUIET]


def wait_for(process, text: str, timeout: float = 240) -> str:
    """Read ``process``'s stderr until a line holds ``text``."""
    end = time.monotonic() + timeout
    seen = []
    while time.monotonic() < end:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if text in line:
            return line
    process.kill()
    raise AssertionError(f"{text!r} never came:\n{''.join(seen)[-3000:]}")


def test_sigkill_mid_epoch_then_resume_gives_the_same_metrics(tmp_path):
    full, killed = tmp_path / "full", tmp_path / "killed"
    done = run(*KILLED, f"run_dir={full}")
    assert done.returncode == 0, done.stderr[-2000:]

    # 20 batches per epoch; step 31 is batch 11 of epoch 1, the last checkpoint is from step 28
    process = start(*KILLED, f"run_dir={killed}", fault("pause", step=31))
    wait_for(process, "paused at step 31")
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    saved = load_checkpoint(killed / "checkpoints" / "last.ckpt")
    progress = saved["loops"]["fit_loop"]["epoch_loop.batch_progress"]["current"]
    assert (saved["global_step"], saved["epoch"], progress["completed"]) == (28, 1, 7)  # mid-epoch
    assert not (killed / "results.json").exists()

    done = run(f"resume={killed}")  # the run's folder: its own overrides come back with it
    assert done.returncode == 0, done.stderr[-2000:]
    assert metrics(killed) == metrics(full)  # exactly, not approximately
    assert results(killed)["steps"] == results(full)["steps"] == 60
    assert results(killed)["resumed_from"] == str(killed / "checkpoints" / "last.ckpt")


@pytest.mark.parametrize("workers", [0, 2])
def test_char_lm_resumes_its_stream_and_carried_state(capsys, tmp_path, workers):
    """char_lm: ordered chunks of parallel streams, the hidden state carried across batches,
    loader worker processes; a crash in the second epoch (its last checkpoint from step 40,
    batch 12 of 28) and ``resume=last``."""
    args = ["task=char_lm", "task.max_chars=10000", "task.seq_len=20", "task.batch_size=16",
            "task.max_epochs=2", "cell=lstm", "cell.hidden_size=16", f"data.num_workers={workers}",
            "checkpoint.every_n_steps=10", *QUIET]
    assert cli(capsys, *args, f"run_dir={tmp_path / 'full'}")[0] == 0
    with pytest.raises(InjectedCrash):
        cli(capsys, *args, f"run_dir={tmp_path / 'crashed'}", fault("crash", step=45))
    saved = load_checkpoint(tmp_path / "crashed" / "checkpoints" / "last.ckpt")
    assert (saved["global_step"], saved["epoch"]) == (40, 1) and "rnnzoo_carried_state" in saved
    code, _, err = cli(capsys, *args, f"run_dir={tmp_path / 'crashed'}", "resume=last")
    assert code == 0, err
    assert metrics(tmp_path / "crashed") == metrics(tmp_path / "full")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_save_a_checkpoint_then_stop(tmp_path, signum):
    args = [*ADDING, "task.max_epochs=50", "checkpoint.every_n_steps=5", *QUIET,
            f"run_dir={tmp_path}"]
    process = start(*args, fault("pause", step=5))
    wait_for(process, "paused at step 5")
    process.send_signal(signum)  # noted now, acted on at the end of the step under way
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signum
    line = error_line(err)
    name = signal.Signals(signum).name
    checkpoint = tmp_path / "checkpoints" / "last.ckpt"
    assert line == (f"interrupted: stopped by {name} at step 6; checkpoint written to "
                    f"{checkpoint}; resume with: python train.py resume={tmp_path}")
    assert load_checkpoint(checkpoint)["global_step"] == 6


def test_resume_refuses_another_model(capsys, tmp_path):
    args = [*ADDING, "task.max_epochs=1", "checkpoint.every_n_steps=5", *QUIET]
    with pytest.raises(InjectedCrash):
        cli(capsys, *args, f"run_dir={tmp_path}", fault("crash", step=5))
    code, _, err = cli(capsys, *args, "cell.hidden_size=32", f"resume={tmp_path}")
    assert code == 2
    assert error_line(err).startswith(f"config error: resume={tmp_path}: the checkpoint was trained "
                                      "with cell.hidden_size=16, this run has cell.hidden_size=32")
    code, _, err = cli(capsys, "resume=last", f"run_dir={tmp_path / 'nothing'}")
    assert code == 2
    assert error_line(err) == (f"checkpoint error: resume=last: run folder '{tmp_path / 'nothing'}' "
                               "has no checkpoints/last.ckpt")
