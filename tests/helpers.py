"""Shared test helpers: the tasks and their small settings, composing the real Hydra config as
train.py does, loading a script."""
import importlib.util
from pathlib import Path

from rnnzoo.config.compose import QUIET, compose_training

ROOT = Path(__file__).resolve().parents[1]
#: every task: the options of the task group
TASKS = sorted(p.stem for p in (ROOT / "conf" / "task").glob("*.yaml"))
SMALL = {  # shrink the data so a smoke run is quick
    "sentiment": ["task.num_samples=300"],
    "char_lm": ["task.max_chars=20000", "task.seq_len=20"],
    "adding": ["task.num_train=128", "task.num_eval=64", "task.seq_len=10"],
    "copy": ["task.num_train=128", "task.num_eval=64", "task.seq_len=5"],
    "binary_add": ["task.num_train=128", "task.num_eval=64"],
    "sine": ["task.num_train=128", "task.num_eval=64", "task.seq_len=20"],
    "sine_gen": ["task.num_train=128", "task.num_eval=64", "task.seq_len=20"],
    "seq2seq_add": ["task.num_train=128", "task.num_eval=64"],
    "digits": [],
    "mqar": ["task.num_train=128", "task.num_eval=64", "task.seq_len=32", "task.vocab_size=32",
             "task.num_kv_pairs=4"],
    "selective_copy": ["task.num_train=128", "task.num_eval=64", "task.seq_len=16", "task.copy_len=4"],
    "induction": ["task.num_train=128", "task.num_eval=64", "task.seq_len=16", "task.test_len=24"],
    "forecast": ["task.seq_len=12"],  # the built-in seasonal series (1200 rows)
}


def make_config(tmp_path, *overrides, quiet=True):
    """The composed training config with ``overrides``, writing into ``tmp_path``."""
    return compose_training([f"run_dir={tmp_path}", *(QUIET if quiet else []), *overrides],
                            ROOT / "conf")


def load_script(name: str):
    """``scripts/<name>.py`` as a module (the scripts are not a package), to call its main()."""
    spec = importlib.util.spec_from_file_location(f"{name}_cli", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
