"""Accuracy and wall time of training recipes, each run as a fresh `digitrec train` process.

For every preset and seed it runs `python -m digitrec train --preset P --seed S`, times the whole
process (start to exit, imports and data loading included) and reads the run's metrics.csv. It prints
one row per preset: test accuracy as mean, sample standard deviation and range over the seeds, wall
time, and the elapsed time at which the test accuracy first reached the target (if it did).

    python benchmarks/train_results.py                       # default and speedrun, 3 seeds
    python benchmarks/train_results.py --presets tutorial-mlp,tutorial-cnn --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(preset: str, seed: int, extra: list[str], workdir: Path) -> dict:
    out = workdir / f"{preset}-{seed}"
    command = [sys.executable, "-m", "digitrec", "train", "--preset", preset, "--seed", str(seed),
               "--out", str(out), "--quiet", *extra]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - start
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    return {"wall": wall, "rows": [{k: float(v) if v else None for k, v in r.items()} for r in rows]}


def first_reaching(rows: list[dict], target: float) -> float | None:
    return next((r["elapsed_seconds"] for r in rows if r["test_acc"] >= target), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="default,speedrun")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--target", type=float, default=0.99, help="accuracy whose first time is reported")
    parser.add_argument("--extra", default="", help="more flags for every run, e.g. '--threads 2'")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    print("| preset | test accuracy: mean ± std (min–max), seeds | wall time per run (s) | "
          f"first ≥ {args.target:.1%} at (s) |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets.split(","):
            runs = [run_once(preset, seed, args.extra.split(), Path(tmp)) for seed in seeds]
            accs = [100 * r["rows"][-1]["test_acc"] for r in runs]
            walls = [r["wall"] for r in runs]
            reach = [first_reaching(r["rows"], args.target) for r in runs]
            std = statistics.stdev(accs) if len(accs) > 1 else 0.0
            reach_text = ("never" if None in reach else
                          f"{statistics.mean(reach):.1f} (max {max(reach):.1f})")
            print(f"| {preset} | {statistics.mean(accs):.2f}% ± {std:.2f} ({min(accs):.2f}–{max(accs):.2f}), "
                  f"{len(seeds)} | {statistics.mean(walls):.1f} (max {max(walls):.1f}) | {reach_text} |", flush=True)


if __name__ == "__main__":
    main()
