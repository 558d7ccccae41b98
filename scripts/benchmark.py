"""The speed benchmark: rnnzoo's cells against torch.nn, configured with Hydra.

    python scripts/benchmark.py                                  # scripts/conf/benchmark.yaml as it is
    python scripts/benchmark.py bench=targets                    # the issue's targets
    python scripts/benchmark.py bench=quick out_dir=bench-out    # the CI preset
    python scripts/benchmark.py cells=[lstm,gru] impls=[custom,torch] seq_lens=[100,1000] device=cpu threads=2

Writes results.json, results.md, time_per_token.png and ratio.png to ``out_dir`` (default:
Hydra's run directory) and prints the Markdown report.
"""
from __future__ import annotations

import logging
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from rnnzoo.bench import runner

log = logging.getLogger("benchmark")


def benchmark(cfg: DictConfig, out_dir: str | Path) -> dict[str, Path]:
    """Run the benchmark of ``cfg`` and write its outputs to ``out_dir``; returns the files."""
    rows = runner.run_benchmark(cfg)
    meta = {"command": runner.command_line(), **runner.machine_facts(cfg),
            "config": OmegaConf.to_container(cfg, resolve=True)}
    return runner.write_outputs(rows, out_dir, meta, plots=bool(cfg.get("plots", True)))


@hydra.main(version_base="1.3", config_path="conf", config_name="benchmark")
def main(cfg: DictConfig) -> None:
    out_dir = cfg.out_dir or HydraConfig.get().runtime.output_dir
    files = benchmark(cfg, out_dir)
    print(files["markdown"].read_text())
    log.info("wrote %s", ", ".join(str(p) for p in files.values()))


if __name__ == "__main__":
    main()
