"""How fast digitrec recognises digits, in the two ways users meet it.

    python benchmarks/predict_speed.py [--model PATH] [--repeats 5] [--runs 15] [--threads 0]

(a) Throughput: the 10,000 MNIST test images (already 28x28 MNIST form, preprocessing off) through
    `Recognizer.predict_batch`, images/s: the median of --repeats passes after one warm-up pass.
(b) Latency: `digitrec predict one.png` in a fresh process, start to answer, median of --runs runs
    (one.png: a 280x280 black-on-white drawing). `python -c pass` is timed the same way for scale.
(c) The same for photo.jpg, a 2000x1500 phone photo of a digit on paper (vignette, side shadow,
    sensor noise, JPEG).
(d) Preprocessing alone of the 280x280 drawing and of the photo, in a warm process: median ms.
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


def photo_jpg(folder: Path) -> Path:
    """A 2000x1500 phone photo of a 7 written on paper, as a JPEG."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from fixtures import photo_of_paper, write_on

    path = folder / "photo.jpg"
    write_on(photo_of_paper((2000, 1500)), 7, 420, (820, 520)).save(path, quality=90)
    return path


def preprocess_ms(recognizer: Recognizer, path: Path, repeats: int = 30) -> float:
    data = path.read_bytes()
    recognizer.prepare(data)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        recognizer.prepare(data)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


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
        path, photo = one_png(Path(tmp)), photo_jpg(Path(tmp))
        baseline = wall_times([sys.executable, "-c", "pass"], args.runs)
        for label, name, image in (("b", "one.png", path), ("c", "photo.jpg", photo)):
            command = base + ["predict", str(image)] + (["--model", args.model] if args.model else [])
            times = wall_times(command, args.runs)
            print(f"({label}) `{Path(command[0]).name} {command[1]} {name}` in a fresh process: median "
                  f"{statistics.median(times):.3f} s over {args.runs} runs (min {min(times):.3f}, max "
                  f"{max(times):.3f}); `python -c pass`: median {statistics.median(baseline):.3f} s")
        print(f"(d) preprocessing in a warm process, median of 30: 280x280 drawing "
              f"{preprocess_ms(recognizer, path):.2f} ms, 2000x1500 photo {preprocess_ms(recognizer, photo):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
