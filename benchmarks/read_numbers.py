"""Reading whole numbers: accuracy on the synthetic numbers, and speed.

    python benchmarks/read_numbers.py [--seed 1] [--per-category 40] [--model PATH] [--speed]

Accuracy: a number counts as read only when every digit is right, in order, with nothing extra or
missing; per category (pen on paper, ruled paper, web pads in both polarities and transparent,
near-touching digits with 1-3 px gaps, digits in two strokes, sizes, specks, photos), per number
length, and for single digits (benchmarks/synth digits, as one-digit numbers, against predict);
and what `predict` answers for the numbers (it should say "several-digits").
With --speed: `Recognizer.read` of a 600x200 pad image in a warm process (median of 50), and fresh
`digitrec read one.png` processes (median of 10).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from digitrec import Recognizer
from digitrec.errors import DigitrecError
from synth import NUMBER_CATEGORIES, digits, make_number, numbers


def accuracy(recognizer: Recognizer, per_category: int, seed: int) -> None:
    by_length: dict[int, list[bool]] = defaultdict(list)
    every = []
    verdicts: Counter[str] = Counter()  # what `predict` answers for each number
    title = f"numbers (seed {seed})"
    print(f"{title:20s} {'read':>7s}")
    for category in NUMBER_CATEGORIES:
        samples = numbers(per_category, seed, [category])
        readings = recognizer.read_many([s.data for s in samples])
        verdicts.update("no digit found" if isinstance(p, DigitrecError) else p.verdict
                        for p in recognizer.predict_many([s.data for s in samples]))
        right = [not isinstance(r, DigitrecError) and r.number == s.label
                 for r, s in zip(readings, samples, strict=True)]
        for ok, s in zip(right, samples, strict=True):
            by_length[len(s.label)].append(ok)
        every += right
        print(f"{category:20s} {np.mean(right):7.1%}")
    print(f"{'all numbers':20s} {np.mean(every):7.1%}  ({len(every)})")
    print("by length: " + ", ".join(f"{n} digits {np.mean(v):.1%} ({len(v)})" for n, v in sorted(by_length.items())))
    print("predict on the numbers: " + ", ".join(f"{v} {k}" for k, v in verdicts.most_common()))
    singles = digits(per_category // 2, seed)
    readings = recognizer.read_many([s.data for s in singles])
    predictions = recognizer.predict_many([s.data for s in singles])
    read_ok = np.mean([not isinstance(r, DigitrecError) and r.number == s.label for r, s in zip(readings, singles,
                                                                                                strict=True)])
    predict_ok = np.mean([not isinstance(p, DigitrecError) and str(p.digit) == s.label
                          for p, s in zip(predictions, singles, strict=True)])
    print(f"single digits ({len(singles)}): read as one-digit numbers {read_ok:.1%}, predict {predict_ok:.1%}")


def speed(recognizer: Recognizer, seed: int) -> None:
    import io

    from PIL import Image

    pad = make_number("pad-dark", 0, seed)
    buffer = io.BytesIO()
    Image.open(io.BytesIO(pad.data)).convert("RGB").resize((600, 200)).save(buffer, "PNG")  # the target's size
    image = buffer.getvalue()
    for _ in range(5):
        recognizer.read(image)
    times = []
    for _ in range(50):
        start = time.perf_counter()
        recognizer.read(image)
        times.append(time.perf_counter() - start)
    print(f"read of a 600x200 pad image ({pad.label}): {statistics.median(times) * 1e3:.1f} ms median of 50, warm")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "one.png"
        path.write_bytes(image)
        fresh = []
        for _ in range(10):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "digitrec", "read", str(path)], check=True, capture_output=True)
            fresh.append(time.perf_counter() - start)
    print(f"fresh `digitrec read one.png`: {statistics.median(fresh):.3f} s median of 10")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1, help="the sets' seed (default: 1; tune on 0)")
    parser.add_argument("--per-category", type=int, default=40, help="numbers per category (default: 40)")
    parser.add_argument("--model", default=None, help="model to test (default: the shipped model)")
    parser.add_argument("--speed", action="store_true", help="also time reading")
    args = parser.parse_args(argv)
    recognizer = Recognizer.load(args.model)
    accuracy(recognizer, args.per_category, args.seed)
    if args.speed:
        speed(recognizer, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
