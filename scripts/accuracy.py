"""The accuracy suite: every core cell on a fixed set of tasks, with a fixed budget and seed.

    python scripts/accuracy.py                          # suite=full (about 5 minutes of training on 2 CPU cores)
    python scripts/accuracy.py suite=quick out_dir=acc-out   # the CI version (about a minute)
    python scripts/accuracy.py cells=[lstm,gru] impl=torch

Writes leaderboard.json (accuracy rows: the final test metric, the steps and training seconds
until the validation metric reached the entry's threshold, the parameter count, the training
tokens/s, the learning rate kept), leaderboard.md and leaderboard.png (a heatmap) to
``out_dir``; every run's own folder is under ``out_dir/runs``. Compare with the committed
baseline by ``python scripts/check_regression.py compare <out_dir>/leaderboard.json``.
"""
from __future__ import annotations

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from rnnzoo.bench.accuracy import leaderboard_markdown, run_suite, suite_from_config
from rnnzoo.bench.heatmap import leaderboard_heatmap
from rnnzoo.bench.report import write_results
from rnnzoo.utils.io import write_text

CONFIG_DIR = Path(__file__).resolve().parents[1] / "conf"


@hydra.main(version_base="1.3", config_path="conf", config_name="accuracy")
def main(cfg: DictConfig) -> None:
    config = OmegaConf.to_container(cfg, resolve=True)
    out_dir = Path(config["out_dir"] or HydraConfig.get().runtime.output_dir)
    suite = suite_from_config(config)
    rows = run_suite(suite, out_dir, CONFIG_DIR)
    write_results(out_dir / "leaderboard.json", rows, {"suite": config})
    table = leaderboard_markdown(rows, suite)
    write_text(out_dir / "leaderboard.md", table)
    figure = leaderboard_heatmap(rows, [e.name for e in suite.entries], suite.cells,
                                 out_dir / "leaderboard.png")
    print("\n" + table)
    print(f"wrote {out_dir / 'leaderboard.json'}, {out_dir / 'leaderboard.md'} and {figure}")


if __name__ == "__main__":
    main()
