"""The regression check: fresh benchmark results against the baselines.

    python scripts/check_regression.py compare RESULTS.json [MORE.json ...]
        [--baseline benchmarks/baseline.json] [--machines benchmarks/machines]
        [--tolerance 0.25] [--allow-missing] [--no-record]
    python scripts/check_regression.py update RESULTS.json [MORE.json ...]
        [--baseline benchmarks/baseline.json] [--machines benchmarks/machines] [--prune]

RESULTS files are the speed benchmark's results.json and the accuracy suite's leaderboard.json.

Accuracy rows are judged against ``--baseline`` (one file for every machine). Speed rows are
judged only against the baseline of the machine that measured them,
``<machines>/<fingerprint>.json`` (the fingerprint is in the results' meta; see
rnnzoo/bench/machine.py). When that file is missing, or lacks the shapes measured, ``compare``
records them there, says so, and does not fail on them (``--no-record``: only say so).

``compare`` prints a table per baseline and exits 1 when a check REGRESSED or is MISSING.
``update`` adds or refreshes checks from result files and keeps the others (``--prune``: drops
the checks of the same kind that the results no longer have). See rnnzoo/bench/regression.py.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rnnzoo.bench import accuracy_check, regression
from rnnzoo.bench.report import rows_in

DEFAULT_BASELINE = "benchmarks/baseline.json"


def read_results(paths: list[str]) -> tuple[list[dict], dict[str, list[dict]], dict[str, dict]]:
    """(accuracy rows, speed rows by machine fingerprint, machine facts by fingerprint)."""
    accuracy, speed, machines = [], {}, {}
    for path in paths:
        data = json.loads(Path(path).read_text())
        meta = data.get("meta", {}) if isinstance(data, dict) else {}
        for row in rows_in(data):
            if row.get("kind", "speed") != "speed":
                accuracy.append(row)
                continue
            if "fingerprint" not in meta:
                raise SystemExit(f"{path}: speed results without a machine fingerprint in their "
                                 f"meta (made by an older scripts/benchmark.py); run it again")
            speed.setdefault(meta["fingerprint"], []).append(row)
            machines[meta["fingerprint"]] = meta.get("machine", {})
    return accuracy, speed, machines


def compare_speed(fingerprint: str, rows: list[dict], machine: dict, args) -> list:
    path = regression.machine_baseline_path(fingerprint, args.machines)
    baseline = regression.read_baseline(path)
    outcomes = regression.compare(rows, baseline, args.tolerance)
    new = regression.unrecorded_shapes(rows, baseline)
    print(f"\nspeed, machine {fingerprint} ({machine.get('cpu', '?')}): {path}")
    if outcomes:
        print(regression.format_outcomes(outcomes))
    if new:
        what = "no speed baseline" if not baseline["checks"] else "no baseline for some shapes"
        if args.no_record:
            print(f"{what} on this machine; {len(new)} row(s) not judged (--no-record)")
        else:
            regression.record_machine_baseline(path, new, machine, source=" ".join(args.results))
            print(f"{what} on this machine: recorded {len(new)} row(s) in {path}; they are "
                  f"judged from the next run on this machine on (not failing this one)")
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    compare = commands.add_parser("compare", help="check results against the baselines")
    update = commands.add_parser("update", help="refresh the baselines from results")
    for sub in (compare, update):
        sub.add_argument("results", nargs="+", help="result files of scripts/benchmark.py "
                         "(results.json) and scripts/accuracy.py (leaderboard.json)")
        sub.add_argument("--baseline", default=DEFAULT_BASELINE, help="the accuracy baseline")
        sub.add_argument("--machines", default=regression.MACHINES_DIR,
                         help="the folder of per-machine speed baselines")
    compare.add_argument("--tolerance", type=float, default=None,
                         help="relative tolerance of the speed ratios (default: each check's own)")
    compare.add_argument("--allow-missing", action="store_true",
                         help="do not fail on baseline rows absent from the results")
    compare.add_argument("--no-record", action="store_true",
                         help="do not record a baseline for a machine that has none")
    update.add_argument("--prune", action="store_true",
                        help="drop checks of the results' kinds that the results no longer have")
    args = parser.parse_args(argv)

    accuracy, speed, machines = read_results(args.results)
    if args.command == "update":
        if accuracy:
            baseline = regression.update_baseline(regression.read_baseline(args.baseline), accuracy,
                                                  source=" ".join(args.results), prune=args.prune)
            regression.write_baseline(args.baseline, baseline)
            print(f"{args.baseline}: {len(baseline['checks'])} checks")
        for fingerprint, rows in speed.items():
            path = regression.machine_baseline_path(fingerprint, args.machines)
            baseline = regression.update_baseline(regression.read_baseline(path), rows,
                                                  source=" ".join(args.results), prune=args.prune)
            baseline["machine"] = machines[fingerprint]
            regression.write_baseline(path, baseline)
            print(f"{path}: {len(baseline['checks'])} checks")
        return 0

    outcomes = []
    if accuracy:
        baseline = regression.read_baseline(args.baseline)
        baseline["checks"] = [c for c in baseline["checks"] if c.get("kind") == "accuracy"]
        accuracy_outcomes = regression.compare(accuracy, baseline)
        print(f"accuracy: {args.baseline}")
        print(regression.format_outcomes(accuracy_outcomes))
        for row in accuracy:  # the rows the baseline has no check for, and why
            if not any(regression.matches(row, check) for check in baseline["checks"]):
                reason = accuracy_check.why_unchecked(row) or "not in the baseline"
                print(f"no check: {row.get('task')} {row.get('cell')}: {reason}")
        outcomes += accuracy_outcomes
    for fingerprint, rows in speed.items():
        outcomes += compare_speed(fingerprint, rows, machines[fingerprint], args)
    failed = [o for o in outcomes if o.failed and not (args.allow_missing and o.status == "MISSING")]
    if failed:
        print(f"FAILED: {len(failed)} check(s) regressed or missing", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
