"""Real handwriting from MNIST's TRAIN split (never the test split), as ink at any size.

Only the typical images of each class is used (highest correlation with the class mean), so that a digit is
one a person reads at once: MNIST train holds some that even its labellers hesitated over.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from PIL import Image, ImageFilter


@cache
def train() -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8 white on black, labels (N,)) of the MNIST train split."""
    from digitrec.data import load_mnist  # numpy only: no torch

    data = load_mnist()
    return data.train_images, data.train_labels


@cache
def typical(digit: int) -> np.ndarray:
    """Indices into the train split of the typical images of `digit` (about 45% of them)."""
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
    return index[(score >= np.quantile(score, 0.4)) & (ink <= np.quantile(ink, 0.75))]


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
