"""How a recogniser does on the synthetic sets, per category.

    python benchmarks/synth/report.py [--set digits|numbers|negatives|blanks|all] [--per-category 20]
        [--seed 1] [--model PATH]

digits: accuracy of `Recognizer.predict` (an input it refuses counts as wrong). numbers, negatives and
blanks: how many it refuses (raises a DigitrecError, e.g. "no digit found"), and for digits' sake what it
answers otherwise. Tune on seed 0; report on seed 1 or later.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import synth  # noqa: E402 (benchmarks/ is on sys.path only now)

SETS = {"digits": (synth.digits, synth.DIGIT_CATEGORIES), "numbers": (synth.numbers, synth.NUMBER_CATEGORIES),
        "negatives": (synth.negatives, synth.NEGATIVE_CATEGORIES), "blanks": (synth.blanks, synth.BLANK_CATEGORIES)}


def run(recognizer, name: str, per_category: int, seed: int) -> None:
    from digitrec.errors import DigitrecError

    make, categories = SETS[name]
    print(f"\n{name}, seed {seed}, {per_category} per category")
    print(f"{'category':20s} {'correct' if name == 'digits' else 'refused':>8s} {'gen ms':>7s}  answers")
    totals = Counter()
    for category in categories:
        t0 = time.perf_counter()
        samples = make(per_category, seed, [category])
        ms = (time.perf_counter() - t0) / per_category * 1000
        answers = Counter()
        good = 0
        for sample in samples:
            try:
                digit = str(recognizer.predict(sample.data).digit)
            except DigitrecError:
                digit = "refused"
            answers[digit] += 1
            good += digit == sample.label if name == "digits" else digit == "refused"
        totals["good"] += good
        totals["all"] += len(samples)
        common = ", ".join(f"{k}:{v}" for k, v in answers.most_common(4))
        print(f"{category:20s} {good:4d}/{len(samples):<3d} {ms:7.0f}  {common}")
    print(f"{'overall':20s} {totals['good']:4d}/{totals['all']:<3d}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=[*SETS, "all"], default="all")
    parser.add_argument("--per-category", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--model", default=None, help="model to test (default: the shipped model)")
    args = parser.parse_args(argv)
    from digitrec import Recognizer

    recognizer = Recognizer.load(args.model)
    for name in SETS if args.set == "all" else [args.set]:
        run(recognizer, name, args.per_category, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
