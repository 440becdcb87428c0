"""Accuracy on realistic non-MNIST digit images: digitrec's preprocessing vs the tutorials' naive one.

    python benchmarks/realworld.py [--per-category 100] [--seed 0] [--model PATH] [--samples OUT.png]

Builds the procedural set of `realworld_data.py` (17 categories x N images, deterministic), runs the
shipped model (or --model) on it twice, with digitrec's preprocessing and with the naive tutorial
preprocessing (grayscale, resize to 28x28, no inversion, no cropping, no centring), and prints the
accuracy overall and per category. Inputs our preprocessing rejects (no digit found) count as wrong.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

import synth  # this folder is on sys.path when run as a script
from digitrec import Recognizer
from digitrec.errors import DigitrecError
from digitrec.plots import thumbnail
from realworld_data import CATEGORIES, Sample, make_set


def naive_28(data: bytes) -> np.ndarray:
    """What MNIST tutorials do with "your own image": grayscale and squash to 28x28, nothing else."""
    return np.asarray(Image.open(io.BytesIO(data)).convert("L").resize((28, 28)), dtype=np.uint8)


def evaluate(recognizer: Recognizer, samples: list[Sample]) -> tuple[list[bool], list[bool]]:
    """(correct with our preprocessing, correct with the naive one) per sample."""
    ours = recognizer.predict_many([s.data for s in samples], names=[f"{s.category}#{i}" for i, s in
                                                                     enumerate(samples)])
    naive = recognizer.classify(np.stack([naive_28(s.data) for s in samples]))
    return ([not isinstance(p, DigitrecError) and p.digit == s.label for p, s in zip(ours, samples, strict=True)],
            [p.closest_digit == s.label for p, s in zip(naive, samples, strict=True)])  # tutorials never refuse


def save_samples(recognizer: Recognizer, samples: list[Sample], out: str, per_category: int = 4) -> None:
    """A grid: for each category a few inputs, each beside the 28x28 the model saw and its answer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    picked = [[s for s in samples if s.category == c][:per_category] for c in CATEGORIES]
    fig, axes = plt.subplots(len(CATEGORIES), 2 * per_category, figsize=(2 * per_category * 1.1, len(CATEGORIES) * 1.2),
                             squeeze=False)
    for r, row in enumerate(picked):
        for j, sample in enumerate(row):
            axes[r, 2 * j].imshow(thumbnail(Image.open(io.BytesIO(sample.data)), 128))
            try:
                p = recognizer.predict(sample.data)
                axes[r, 2 * j + 1].imshow(p.preprocessed, cmap="gray", vmin=0, vmax=255)
                axes[r, 2 * j + 1].set_title(f"{p.digit} ({p.confidence:.0%})", fontsize=7,
                                             color="black" if p.digit == sample.label else "red")
            except DigitrecError:
                axes[r, 2 * j + 1].set_title("no digit", fontsize=7, color="red")
        axes[r, 0].set_ylabel(CATEGORIES[r], fontsize=6, rotation=0, ha="right")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _sets(which: str, per_category: int, seed: int) -> list[tuple[str, Callable[[], list[Sample]]]]:
    """(category, make its samples) for the clean set (realworld_data) and/or the paper-and-photo set
    (synth.digits), labels as ints."""
    out: list[tuple[str, Callable[[], list[Sample]]]] = []
    if which in ("clean", "all"):
        out += [(c, lambda c=c: make_set(per_category, seed, (c,))) for c in CATEGORIES]
    if which in ("paper", "all"):
        out += [(c, lambda c=c: [Sample(s.data, int(s.label), s.category, s.fmt)
                                 for s in synth.digits(per_category, seed, [c])]) for c in synth.DIGIT_CATEGORIES]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-category", type=int, default=100, help="images per category (default: 100)")
    parser.add_argument("--seed", type=int, default=1, help="the sets' seed (default: 1; tune on 0)")
    parser.add_argument("--set", choices=("clean", "paper", "all"), default="all",
                        help="the clean set, the paper-and-photo conditions, or both (default: all)")
    parser.add_argument("--model", default=None, help="model to test (default: the shipped model)")
    parser.add_argument("--samples", metavar="OUT.png", default=None, help="also draw a grid of examples")
    args = parser.parse_args(argv)

    recognizer = Recognizer.load(args.model)
    generating = evaluating = 0.0
    results: dict[str, tuple[list[bool], list[bool]]] = {}
    shown: list[Sample] = []
    for category, make in _sets(args.set, args.per_category, args.seed):  # one at a time: bounded memory
        t0 = time.perf_counter()
        samples = make()
        t1 = time.perf_counter()
        results[category] = evaluate(recognizer, samples)
        evaluating += time.perf_counter() - t1
        generating += t1 - t0
        shown += samples[:4]
    total = sum(len(ours) for ours, _ in results.values())
    print(f"model: {recognizer.name} ({recognizer.metadata.get('model', {}).get('name', '?')}); "
          f"{total} images, {len(results)} categories x {args.per_category}, seed {args.seed}; "
          f"generated in {generating:.1f} s, recognised in {evaluating:.1f} s "
          f"({evaluating / total * 1000:.1f} ms per image, both ways)")
    print(f"{'category':22s} {'digitrec':>9s} {'naive':>9s}")
    for category, (ours, naive) in results.items():
        print(f"{category:22s} {np.mean(ours):9.1%} {np.mean(naive):9.1%}")
    for name, keep in (("clean set", set(CATEGORIES)), ("paper and photos", set(synth.DIGIT_CATEGORIES))):
        chosen = [r for c, r in results.items() if c in keep]
        if chosen:
            print(f"{name:22s} {np.mean([x for o, _ in chosen for x in o]):9.1%} "
                  f"{np.mean([x for _, n in chosen for x in n]):9.1%}")
    if args.samples:
        save_samples(recognizer, [s for s in shown if s.category in CATEGORIES], args.samples)
        print(f"wrote {args.samples}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
