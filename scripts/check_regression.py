"""The regression check: fresh benchmark results against the committed baseline.

    python scripts/check_regression.py compare RESULTS.json [MORE.json ...]
                                       [--baseline benchmarks/baseline.json] [--tolerance 0.25] [--allow-missing]
    python scripts/check_regression.py update RESULTS.json [MORE.json ...]
                                       [--baseline benchmarks/baseline.json] [--tolerance 0.25] [--prune]

RESULTS files are the speed benchmark's results.json and the accuracy suite's leaderboard.json
(give both to check both against one baseline).

``compare`` prints a table and exits 1 when a custom/torch time ratio got worse than the
baseline's by more than the tolerance (25% by default), when an accuracy row fell below its
baseline minus its tolerance, or when a baseline row is missing from the results. ``update``
adds or refreshes the baseline's checks from result files and keeps the others (``--prune``:
drops the checks of the same kind, speed or accuracy, that the results no longer have).
See rnnzoo/bench/regression.py for the format.
"""
from __future__ import annotations

import argparse
import sys

from rnnzoo.bench import regression
from rnnzoo.bench.report import read_rows

DEFAULT_BASELINE = "benchmarks/baseline.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    compare = commands.add_parser("compare", help="check results against the baseline")
    update = commands.add_parser("update", help="refresh the baseline from results")
    for sub in (compare, update):
        sub.add_argument("results", nargs="+", help="result files of scripts/benchmark.py "
                         "(results.json) and scripts/accuracy.py (leaderboard.json)")
        sub.add_argument("--baseline", default=DEFAULT_BASELINE)
    compare.add_argument("--tolerance", type=float, default=None,
                         help="relative tolerance of the speed ratios (default: each check's own)")
    compare.add_argument("--allow-missing", action="store_true",
                         help="do not fail on baseline rows absent from the results")
    update.add_argument("--tolerance", type=float, default=regression.DEFAULT_TOLERANCE)
    update.add_argument("--prune", action="store_true",
                        help="drop checks of the results' kinds that the results no longer have")
    args = parser.parse_args(argv)

    rows = [row for path in args.results for row in read_rows(path)]
    if args.command == "update":
        baseline = regression.update_baseline(regression.read_baseline(args.baseline), rows,
                                              args.tolerance, source=" ".join(args.results),
                                              prune=args.prune)
        regression.write_baseline(args.baseline, baseline)
        print(f"{args.baseline}: {len(baseline['checks'])} checks")
        return 0
    baseline = regression.read_baseline(args.baseline)
    outcomes = regression.compare(rows, baseline, args.tolerance)
    print(regression.format_outcomes(outcomes))
    failed = [o for o in outcomes if o.failed and not (args.allow_missing and o.status == "MISSING")]
    if failed:
        print(f"FAILED: {len(failed)} check(s) regressed or missing", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
