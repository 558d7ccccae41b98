"""Train a recurrent model: `python train.py cell=lstm task=sentiment` (see README for more).

Bad input stops with one line and exit code 2 before anything runs (rnnzoo.cli).
"""
import sys
from pathlib import Path

from rnnzoo.cli import main as cli_main

CONFIG_DIR = Path(__file__).resolve().parent / "conf"


def main(argv=None) -> int:
    return cli_main(sys.argv[1:] if argv is None else list(argv), CONFIG_DIR)


if __name__ == "__main__":
    sys.exit(main())
