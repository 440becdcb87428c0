"""How fast digitrec recognises digits, in the two ways users meet it.

    python benchmarks/predict_speed.py [--model PATH] [--repeats 5] [--runs 15] [--threads 0]

(a) Throughput: the 10,000 MNIST test images (already 28x28 MNIST form, preprocessing off) through
    `Recognizer.predict_batch`, images/s: the median of --repeats passes after one warm-up pass.
(b) Latency: `digitrec predict one.png` in a fresh process, start to answer, median of --runs runs
    (one.png: a 280x280 black-on-white drawing). `python -c pass` is timed the same way for scale.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from digitrec import Recognizer
from digitrec.data import load_mnist


def throughput(recognizer: Recognizer, images: np.ndarray, repeats: int) -> list[float]:
    """images/s of predict_batch(images, preprocess=False), one value per pass after a warm-up."""
    recognizer.predict_batch(images[:1000], preprocess=False)
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        predictions = recognizer.predict_batch(images, preprocess=False)
        rates.append(len(predictions) / (time.perf_counter() - t))
    return rates


def wall_times(command: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return times


def one_png(folder: Path) -> Path:
    """A 280x280 black-on-white digit, as drawn on a web canvas: MNIST test image 0 inverted, enlarged."""
    digit = 255 - load_mnist().test_images[0]
    path = folder / "one.png"
    Image.fromarray(digit).resize((280, 280), Image.Resampling.BILINEAR).save(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model to time (default: the shipped model)")
    parser.add_argument("--repeats", type=int, default=5, help="throughput passes (default: 5)")
    parser.add_argument("--runs", type=int, default=15, help="fresh-process runs (default: 15)")
    parser.add_argument("--threads", type=int, default=0, help="inference threads (default: 0, one per core)")
    args = parser.parse_args(argv)

    recognizer = Recognizer.load(args.model, threads=args.threads)
    images = load_mnist().test_images
    rates = throughput(recognizer, images, args.repeats)
    print(f"(a) predict_batch, {len(images)} MNIST test images, preprocessing off, model {recognizer.name}: "
          f"median {statistics.median(rates):,.0f} images/s (passes: {', '.join(f'{r:,.0f}' for r in rates)})")

    digitrec = shutil.which("digitrec")
    base = [digitrec] if digitrec else [sys.executable, "-m", "digitrec"]
    with tempfile.TemporaryDirectory() as tmp:
        path = one_png(Path(tmp))
        command = base + ["predict", str(path)] + (["--model", args.model] if args.model else [])
        times = wall_times(command, args.runs)
        baseline = wall_times([sys.executable, "-c", "pass"], args.runs)
    print(f"(b) `{' '.join(Path(c).name if i == 0 else c for i, c in enumerate(command[:2]))} one.png` in a "
          f"fresh process: median {statistics.median(times):.3f} s over {args.runs} runs "
          f"(min {min(times):.3f}, max {max(times):.3f}); `python -c pass`: median {statistics.median(baseline):.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
