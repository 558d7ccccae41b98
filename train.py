"""Train a recurrent model: `python train.py cell=lstm task=sentiment` (see README for more)."""
import hydra
from omegaconf import DictConfig

from rnnzoo.experiment import train


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    results = train(cfg)
    # a sweeper (e.g. Optuna) optimises what main returns: the monitored metric's best value
    return next((v for k, v in results.items() if k.endswith("_best")), None)


if __name__ == "__main__":
    main()
