"""Does the saliency mean something, and what do its squares cost? Measured on clean MNIST test
digits with the shipped model (or --model).

    python benchmarks/saliency.py [--digits 200] [--model PATH]

For each square size and spacing (the default, saliency.PATCH and STRIDE, first): how many model
runs one map costs (squares holding ink, plus the uncovered image), the share of the map's mass on
or within 2 px of the ink (the target: at least 70%), and how well it ranks the ink: blank the 15%
of the ink pixels it ranks highest, or as many at random, and count the answers that change and
the median drop of the answer's log-odds.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from digitrec import Recognizer
from digitrec.data import load_split
from digitrec.saliency import NEAR, PATCH, STRIDE, covered_copies, ink_share, log_odds, occlusion

SETTINGS = list(dict.fromkeys([(PATCH, STRIDE), (3, 1), (2, 2), (3, 2), (4, 2), (5, 2)]))
BLANKED = 0.15  # share of the ink pixels blanked by the deletion test


def deletion(recognizer: Recognizer, x28: np.ndarray, digit: int, saliency: np.ndarray,
             rng: np.random.Generator) -> tuple[float, float, bool, bool]:
    """(log-odds drop, salient; random; whether the answer changed, salient; random)."""
    ink = np.flatnonzero(x28.ravel() > 0)
    k = max(1, int(BLANKED * len(ink)))
    variants = []
    for chosen in (ink[np.argsort(-saliency.ravel()[ink], kind="stable")[:k]], rng.choice(ink, k, replace=False)):
        blanked = x28.ravel().copy()
        blanked[chosen] = 0
        variants.append(blanked.reshape(28, 28))
    logits = recognizer.logits(np.stack([x28, *variants]))
    scores = log_odds(logits, digit, recognizer.temperature)
    changed = logits[1:, :10].argmax(1) != digit
    return scores[0] - scores[1], scores[0] - scores[2], bool(changed[0]), bool(changed[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=200, help="MNIST test digits (default: 200)")
    parser.add_argument("--model", default=None, help="model to test (default: the shipped model)")
    args = parser.parse_args(argv)
    recognizer = Recognizer.load(args.model, threads=1)
    images = load_split("test")[0][:args.digits]
    digits = [p.closest_digit for p in recognizer.classify(images)]
    print(f"model {recognizer.name}, {len(images)} MNIST test digits; blanking {BLANKED:.0%} of the ink")
    print(f"{'squares':>16} {'model runs':>10} {'on ink':>7} {'lowest':>7} {'changed':>8} {'random':>7} "
          f"{'drop':>6} {'random':>7} {'ms':>6}")
    for patch, stride in SETTINGS:
        rng = np.random.default_rng(0)
        shares, runs, results, seconds = [], [], [], []
        for x28, digit in zip(images, digits, strict=True):
            start = time.thread_time()
            saliency = occlusion(recognizer, x28, digit, patch, stride)
            seconds.append(time.thread_time() - start)
            runs.append(len(covered_copies(x28, patch, stride)[1]))
            shares.append(ink_share(saliency, x28, NEAR))
            results.append(deletion(recognizer, x28, digit, saliency, rng))
        drop, random_drop, changed, random_changed = (list(column) for column in zip(*results, strict=True))
        name = f"{patch}x{patch} every {stride}" + (" (used)" if (patch, stride) == (PATCH, STRIDE) else "")
        print(f"{name:>16} {statistics.mean(runs):10.0f} {statistics.mean(shares):7.1%} {min(shares):7.1%} "
              f"{sum(changed):8d} {sum(random_changed):7d} {statistics.median(drop):6.2f} "
              f"{statistics.median(random_drop):7.2f} {statistics.median(seconds) * 1e3:6.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
