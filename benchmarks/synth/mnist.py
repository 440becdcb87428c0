"""Real handwriting from MNIST's TRAIN split (never the test split), as ink at any size.

Only the typical images of each class is used (highest correlation with the class mean), so that a digit is
one a person reads at once: MNIST train holds some that even its labellers hesitated over.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from PIL import Image, ImageFilter

from digitrec.negatives import DigitLikeness


@cache
def train() -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8 white on black, labels (N,)) of the MNIST train split."""
    from digitrec.data import load_mnist  # numpy only: no torch

    data = load_mnist()
    return data.train_images, data.train_labels


@cache
def typical(digit: int) -> np.ndarray:
    """Indices into the train split of the typical images of `digit` (about 40% of them)."""
    images, labels = train()
    index = np.flatnonzero(labels == digit)
    x = images[index].reshape(len(index), -1).astype(np.float32)
    x -= x.mean(1, keepdims=True)
    x /= np.linalg.norm(x, axis=1, keepdims=True) + 1e-6
    mean = x.mean(0)
    score = x @ (mean / np.linalg.norm(mean))
    # Correlation with the (blurry) mean favours bold digits; drop the boldest quarter too, whose holes
    # close up when drawn as ink.
    ink = (images[index] > 128).reshape(len(index), -1).mean(1)
    return index[(score >= np.quantile(score, 0.5)) & (ink <= np.quantile(ink, 0.75))]


def as_ink(image: np.ndarray, height: float, rng: np.random.Generator, pen: float = 0.09) -> np.ndarray:
    """A 28x28 MNIST-style image (uint8, white on black) -> crisp ink about `height` px tall (alpha, cropped).
    The grey blur of MNIST is upsampled and thresholded: the level sets of a blurred stroke are its
    outlines, so a lower level gives a bolder pen (`pen`: wanted width / height)."""
    ys, xs = np.nonzero(image > 30)
    crop = np.pad(image[ys.min():ys.max() + 1, xs.min():xs.max() + 1], 2)
    drawn = min(height, 120.0)  # drawn at most 120 px tall: above that the pixel grid shows as lumps
    scale = drawn / (crop.shape[0] - 4)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    # A blur of 0.7 MNIST pixel rounds the grid away; the threshold then gives crisp ink.
    big = Image.fromarray(crop).resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(0.7 * scale))
    level = float(np.clip(0.85 - 3.0 * pen + rng.normal(0, 0.03), 0.45, 0.7))
    soft = max(0.02, 0.5 / scale)  # the edge ramp: about one output px wide
    alpha = np.clip((np.asarray(big, np.float32) / 255 - level) / soft + 0.5, 0, 1)
    ys, xs = np.nonzero(alpha > 0.02)
    alpha = alpha[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    if height > drawn:
        out = (max(1, round(alpha.shape[1] * height / drawn)), max(1, round(height)))
        alpha = np.asarray(Image.fromarray(alpha).resize(out, Image.Resampling.BICUBIC), np.float32).clip(0, 1)
    return alpha


def glyph(char: str, height: float, rng: np.random.Generator, pen: float = 0.09) -> np.ndarray:
    """A random typical MNIST train `char` as ink about `height` px tall."""
    images, _ = train()
    pool = typical(int(char))
    return as_ink(images[pool[rng.integers(len(pool))]], height, rng, pen)


# Which digits share a top or a bottom half (a 9's top on a 4's stem is still a 9, a 3's top on a 5's
# bowl is a 3): stitching two of the same group gives a clean digit, so such pairs are not stitched.
_TOP = {0: "arch", 8: "arch", 9: "arch", 2: "hook", 3: "hook", 7: "hook", 1: "stem", 4: "stem", 5: "flag",
        6: "curve"}
_BOTTOM = {1: "stem", 4: "stem", 7: "stem", 9: "stem", 3: "bowl", 5: "bowl", 0: "loop", 6: "loop", 8: "loop",
           2: "base"}
_LEFT = {0: "round", 6: "round", 8: "round", 2: "open", 3: "open", 7: "open", 1: "none", 4: "slant", 5: "c",
         9: "loop"}
_RIGHT = {0: "round", 8: "round", 9: "round", 3: "round", 1: "none", 7: "diag", 2: "hook", 4: "stem", 5: "bowl",
          6: "bowl"}


@cache
def _reader() -> tuple[np.ndarray, float]:
    """(20 000 train digits as vectors, similarity threshold): a nearest-neighbour reader, no model. The
    threshold is the 0.5th percentile of real digits' similarity to their nearest reference: 99.5% of real
    digits are at least that close to one."""
    images, _ = train()
    pick = np.random.default_rng(12345).permutation(len(images))
    reference, held_out = DigitLikeness.vectors(images[pick[:20000]]), DigitLikeness.vectors(images[pick[20000:22000]])
    return reference, float(np.quantile((held_out @ reference.T).max(1), 0.005))


def reads_as_digit(images: np.ndarray) -> np.ndarray:
    """For each 28x28 image (N, 28, 28): whether it is as close to some real MNIST train digit as real digits
    are to each other (used to throw away recombinations that came out as a clean digit)."""
    reference, threshold = _reader()
    return (DigitLikeness.vectors(images) @ reference.T).max(1) >= threshold


def _pick(rng: np.random.Generator, digit: int) -> np.ndarray:
    images, _ = train()
    pool = typical(digit)
    return images[pool[rng.integers(len(pool))]]


def _stitch(rng: np.random.Generator, mode: str) -> tuple[np.ndarray, list[int]] | None:
    a, b = (int(v) for v in rng.choice(10, 2, replace=False))
    split = int(rng.integers(12, 17))
    if mode == "top-bottom":
        if _TOP[a] == _TOP[b] or _BOTTOM[a] == _BOTTOM[b]:
            return None
        return np.concatenate([_pick(rng, a)[:split], _pick(rng, b)[split:]]), [a, b]
    if mode == "left-right":
        if _LEFT[a] == _LEFT[b] or _RIGHT[a] == _RIGHT[b]:
            return None
        return np.concatenate([_pick(rng, a)[:, :split], _pick(rng, b)[:, split:]], 1), [a, b]
    if mode == "quarters":
        ds = [int(v) for v in rng.choice(10, 4, replace=False)]
        q = [_pick(rng, d) for d in ds]
        top, bottom = [q[0][:split, :split], q[1][:split, split:]], [q[2][split:, :split], q[3][split:, split:]]
        return np.block([top, bottom]), ds
    first, second = _pick(rng, a), np.roll(_pick(rng, b), tuple(rng.integers(-3, 4, 2)), (0, 1))
    inked = [first > 100, second > 100]
    if (inked[0] & inked[1]).sum() > 0.5 * min(inked[0].sum(), inked[1].sum()):
        return None  # one lies mostly on the other: it reads as that one
    return np.maximum(first, second), [a, b]


def _substantial(image: np.ndarray) -> bool:
    """Enough ink, tall enough, and not one slim stroke: a stroke at any slant reads as 1 (the ratio of the
    ink's spread across its main axis to along it: MNIST's 1s are under 0.3, other digits over 0.4)."""
    ys, xs = np.nonzero(image > 100)
    if len(ys) < 40 or np.ptp(ys) < 10:
        return False
    spread = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(np.float64)))
    return bool(np.sqrt(spread[0] / max(spread[1], 1e-9)) >= 0.4)


def recombined(rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """A 28x28 image (white on black) stitched from parts of MNIST train digits, or two overlaid, that
    is not one digit: (image, what it was made of). Candidates are made 16 at a time, the first that
    passes is kept."""
    for _ in range(20):
        batch = []
        for _ in range(16):
            mode = str(rng.choice(["top-bottom", "left-right", "quarters", "overlay"], p=[0.35, 0.25, 0.2, 0.2]))
            made = _stitch(rng, mode)
            if made is None:
                continue
            if _substantial(made[0]):
                batch.append((made[0], {"mode": mode, "from": made[1]}))
        if batch:
            digit = reads_as_digit(np.stack([b[0] for b in batch]))
            for (image, info), is_digit in zip(batch, digit, strict=True):
                if not is_digit:
                    return image, info
    raise RuntimeError("no recombination found")  # pragma: no cover (rejection rates are far below this)
