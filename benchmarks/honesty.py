"""Honest answers: calibration and "not a digit", measured.

    python benchmarks/honesty.py [--model PATH] [--seed 1] [--per-category 40]

Prints, for the shipped model (or --model):
- ECE (15 equal-width bins, top label) and NLL on the MNIST test set and on realistic non-MNIST digits
  (benchmarks/synth digits of every paper condition), without calibration (T = 1) and with the
  model's own calibration (its temperature, raised for unusual inputs by its novelty term);
- the share of each kind of negative (benchmarks/synth negatives: letters, symbols, scribbles, shapes,
  digit pairs...) answered "not a digit" or "several digits", and of blank pages answered "no digit";
- the share of real digits refused, on the MNIST test set and on the realistic digits.
Tune on seed 0; report on another seed (default 1), which nothing was tuned on.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from digitrec import Recognizer
from digitrec.calibration import Calibration
from digitrec.data import load_split
from digitrec.errors import DigitrecError
from digitrec.evaluation import expected_calibration_error
from synth import BLANK_CATEGORIES, NEGATIVE_CATEGORIES, blanks, digits, negatives


def calibration_figures(recognizer: Recognizer, x28: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    logits = recognizer.logits(x28).astype(np.float64)
    out = {}
    for name, calibration in (("raw", Calibration()), ("calibrated", recognizer.calibration)):
        out[f"ece_{name}"] = expected_calibration_error(calibration.probabilities(logits), labels)
        out[f"nll_{name}"] = calibration.nll(logits, labels)
    return out


def realistic(recognizer: Recognizer, per_category: int, seed: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(28x28s, labels, refused, count) of the realistic digits that preprocessing finds."""
    samples = digits(per_category, seed)
    x28, labels, failed = [], [], 0
    for s in samples:
        try:
            x28.append(recognizer.prepare(s.data))
            labels.append(int(s.label))
        except DigitrecError:
            failed += 1  # no ink found: counted as a refusal by predict below
    answers = recognizer.predict_many([s.data for s in samples])
    refused = sum(isinstance(a, DigitrecError) or not a.is_digit for a in answers)
    return np.stack(x28), np.array(labels), refused, len(samples)


def refusals(recognizer: Recognizer, per_category: int, seed: int) -> None:
    title = f"not one digit (seed {seed})"
    print(f"\n{title:32s} {'refused':>8s}  answered")
    total = [0, 0]
    for category in NEGATIVE_CATEGORIES:
        samples = negatives(per_category, seed, [category])
        answers = recognizer.predict_many([s.data for s in samples])
        refused = [isinstance(a, DigitrecError) or not a.is_digit for a in answers]
        kinds = sorted({a.verdict if not isinstance(a, DigitrecError) else a.kind for a in answers})
        total[0] += sum(refused)
        total[1] += len(refused)
        print(f"{category:32s} {np.mean(refused):8.1%}  {', '.join(kinds)}")
    for category in BLANK_CATEGORIES:
        samples = blanks(per_category, seed, [category])
        answers = recognizer.predict_many([s.data for s in samples])
        no_digit = [isinstance(a, DigitrecError) for a in answers]
        refused = [isinstance(a, DigitrecError) or not a.is_digit for a in answers]
        total[0] += sum(refused)
        total[1] += len(refused)
        print(f"{category:32s} {np.mean(refused):8.1%}  ({np.mean(no_digit):.0%} 'no digit found')")
    print(f"{'all of them':32s} {total[0] / total[1]:8.1%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model to test (default: the shipped model)")
    parser.add_argument("--seed", type=int, default=1, help="synthetic sets' seed (default: 1)")
    parser.add_argument("--per-category", type=int, default=40, help="images per category (default: 40)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    recognizer = Recognizer.load(args.model)
    print(f"model: {recognizer.name} ({recognizer.metadata['model']['name']}), temperature "
          f"{recognizer.temperature:.3f}, novelty {recognizer.calibration.novelty:.2f}, "
          f"judgement: {recognizer.judge.method} at {recognizer.judge.threshold:.4g}")
    images, labels = load_split("test")
    mnist = calibration_figures(recognizer, images, labels.astype(np.int64))
    answers = recognizer.predict_batch(images, preprocess=False)
    mnist_refused = sum(not a.is_digit for a in answers)
    x28, real_labels, real_refused, real_count = realistic(recognizer, args.per_category, args.seed)
    real = calibration_figures(recognizer, x28, real_labels)
    print(f"\n{'':24s} {'ECE raw':>8s} {'ECE cal':>8s} {'NLL raw':>8s} {'NLL cal':>8s} {'refused':>9s}")
    print(f"{'MNIST test (10,000)':24s} {mnist['ece_raw']:8.2%} {mnist['ece_calibrated']:8.2%} "
          f"{mnist['nll_raw']:8.4f} {mnist['nll_calibrated']:8.4f} {mnist_refused / len(labels):9.2%}")
    title = f"realistic digits ({real_count})"
    print(f"{title:24s} {real['ece_raw']:8.2%} {real['ece_calibrated']:8.2%} "
          f"{real['nll_raw']:8.4f} {real['nll_calibrated']:8.4f} {real_refused / real_count:9.2%}")
    refusals(recognizer, args.per_category, args.seed)
    print(f"\n({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
