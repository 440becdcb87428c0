"""Training digits MNIST lacks: the 1 written with a long flag, as much of the world writes it.

MNIST's writers were American (Census Bureau staff and high-school students), and their 1 is nearly
always one plain stroke. A 1 with a flag (the European 1, and the 1 of most handwriting fonts) then
reads as a 7 to a model trained on MNIST alone. Each flagged 1 here is an MNIST training 1 with a
flag drawn from its top, down to the left, as thick as its own stroke, and brought back to MNIST
form exactly as a user's image would be (`preprocess.ink_to_mnist`). numpy and Pillow only;
deterministic in the seed.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from .errors import DigitrecError
from .preprocess import ink_to_mnist

SCALE = 4  # the flag is drawn at 4x and averaged down, for a smooth edge
FLAG_LENGTH = (0.25, 0.45)  # of the 1's height
FLAG_ANGLE_DEG = (35, 60)  # below the horizontal: a 7's bar is near level, a flag slopes


def flagged_one(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An MNIST 1 (uint8 (28, 28), white on black) with a flag drawn on: ink (28, 28) float in 0..1."""
    ink = image.astype(np.float32) / 255
    rows = np.flatnonzero((ink > 0.5).any(1))
    top, height = int(rows[0]), int(rows[-1] - rows[0] + 1)
    tip = np.flatnonzero(ink[top] > 0.5)
    x0, y0 = float(tip.mean()), float(top)
    width = max(1.5, float((ink > 0.5).sum()) / height)  # px: the stroke's area over its length
    length = height * rng.uniform(*FLAG_LENGTH)
    angle = math.radians(rng.uniform(*FLAG_ANGLE_DEG))
    x1, y1 = x0 - length * math.cos(angle), y0 + length * math.sin(angle)
    canvas = Image.new("L", (28 * SCALE, 28 * SCALE), 0)
    draw = ImageDraw.Draw(canvas)
    ends = [(x * SCALE + SCALE / 2, y * SCALE + SCALE / 2) for x, y in ((x0, y0), (x1, y1))]
    draw.line(ends, fill=255, width=max(1, round(width * SCALE * rng.uniform(0.8, 1.1))))
    radius = width * SCALE / 2
    for x, y in ends:
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    flag = np.asarray(canvas.reduce(SCALE), dtype=np.float32) / 255
    return np.maximum(ink, flag * rng.uniform(0.8, 1.0) * ink.max())


def flagged_ones(count: int, seed: int, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """`count` flagged 1s in MNIST form, uint8 (count, 28, 28), from the 1s among `images`/`labels`
    (MNIST training digits, uint8 (N, 28, 28), (N,))."""
    ones = np.flatnonzero(labels == 1)
    out = np.zeros((count, 28, 28), np.uint8)
    made = 0
    for index in range(count * 2):
        if made == count or not len(ones):
            break
        rng = np.random.default_rng([seed, index, 1])
        try:
            out[made] = ink_to_mnist(flagged_one(images[ones[rng.integers(len(ones))]], rng))
        except DigitrecError:  # a 1 too faint to hold a flag: take another
            continue
        made += 1
    return out[:made]
