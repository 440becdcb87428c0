"""Training speed and test accuracy in one process and under torchrun, on the same hardware.

On a CPU machine it spends the same cores two ways: 1 process x C threads against W processes x C/W
threads (`torchrun --standalone --nproc-per-node W`); C is the cores this process may use (2 on the
reference machine). On a CUDA machine (`--device cuda`) each process takes one GPU: 1 GPU against W.
Every configuration and seed runs as a fresh `digitrec train` process or torchrun job, the world
sizes taking turns; the script prints one row per world size: test accuracy (mean ± sample std and
range over the seeds), training images/s (the median of the epochs after the first, over the
seeds), wall time per run (start to exit, torchrun's start included) and the precision
`--precision auto` chose.

    python benchmarks/distributed.py                                 # default recipe, 2 epochs, W = 1, 2
    python benchmarks/distributed.py --epochs 0 --seeds 0,1,2 --worlds 2  # the full default recipe
    python benchmarks/distributed.py --device cuda --worlds 1,8      # a GPU box
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from digitrec.devices import available_cpus


def command(world: int, device: str, cores: int) -> list[str]:
    threads = ["--threads", str(max(1, cores // world))] if device == "cpu" else []
    if world == 1:
        return [sys.executable, "-m", "digitrec", "train", "--device", device, *threads]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(world),
            "-m", "digitrec", "train", "--device", device, *threads]


def run_once(world: int, seed: int, args: argparse.Namespace, out: Path) -> dict:
    epochs = ["--epochs", str(args.epochs)] if args.epochs else []
    train = [*command(world, args.device, args.cores), "--preset", args.preset, "--seed", str(seed), *epochs,
             "--out", str(out), "--quiet", *args.extra.split()]
    start = time.perf_counter()
    subprocess.run(train, check=True, stderr=subprocess.DEVNULL if world > 1 else None)  # torchrun's banner
    wall = time.perf_counter() - start
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    speeds = [float(r["images_per_second"]) for r in rows]
    return {"acc": 100 * float(rows[-1]["test_acc"]), "speeds": speeds[1:] or speeds, "wall": wall,
            "precision": json.loads((out / "config.json").read_text())["precision"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--epochs", type=int, default=2, help="0: the preset's own (default: 2)")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--worlds", default="1,2", help="process counts to compare (default: 1,2)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--cores", type=int, default=available_cpus(), help="CPU cores to share (default: all)")
    parser.add_argument("--extra", default="", help="more `digitrec train` flags for every run")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"| processes x threads | test accuracy: mean ± std (min–max), {len(seeds)} seed(s) | training img/s | "
          "wall time per run (s) | precision |")
    print("|---|---|---|---|---|")
    worlds = [int(w) for w in args.worlds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        # Seeds outside, world sizes inside: on a shared machine, the load drifts over both alike.
        results = {world: [] for world in worlds}
        for seed in seeds:
            for world in worlds:
                results[world].append(run_once(world, seed, args, Path(tmp) / f"w{world}-s{seed}"))
        for world, runs in results.items():
            accs = [r["acc"] for r in runs]
            std = statistics.stdev(accs) if len(accs) > 1 else 0.0
            layout = f"{world} x {max(1, args.cores // world)}" if args.device == "cpu" else f"{world} GPU(s)"
            speed = statistics.median(s for r in runs for s in r["speeds"])
            walls = [r["wall"] for r in runs]
            print(f"| {layout} | {statistics.mean(accs):.2f}% ± {std:.2f} ({min(accs):.2f}–{max(accs):.2f}) | "
                  f"{speed:,.0f} | {statistics.mean(walls):.1f} (max {max(walls):.1f}) | "
                  f"{', '.join(sorted({r['precision'] for r in runs}))} |", flush=True)


if __name__ == "__main__":
    main()
