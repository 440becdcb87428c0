"""Training digits MNIST lacks, in MNIST form, deterministic in the seed (numpy and Pillow only).

MNIST's writers were American (Census Bureau staff and high-school students): their 1 is nearly always
one plain stroke, their 7 seldom crossed, and none of them wrote in a print font. A 1 with a flag (the
European 1, and the 1 of most handwriting fonts) then reads as a 7 to a model trained on MNIST alone,
and a narrow slanted 8 as a 6. Two kinds of digit fill that gap, each brought to MNIST form exactly as a
user's image would be (`preprocess.ink_to_mnist`):
- `flagged_ones`: MNIST training 1s with a flag drawn from the top, down to the left, as thick as the
  1's own stroke;
- `drawn_digits`: every digit drawn with pen strokes in a random hand (slant, width, wobble, pen) from
  the skeletons of DIGIT_STROKES, or set in one of the print fonts matplotlib ships. The handwriting
  fonts of the realistic benchmark (benchmarks/synth) are never used here, so that it measures digits
  in hands the model has not seen.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from .errors import DigitrecError
from .negatives import arc, draw_strokes, glyph  # the negatives' hand and fonts draw digits too
from .preprocess import ink_to_mnist

Points = list[tuple[float, float]]

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


# Pen skeletons of each digit as people write them, several styles each, in a unit box (x right, y down):
# the forms MNIST's American writers seldom used among them (the flagged and based 1, the crossed 7, the
# open 4, the straight-tailed 9, the flat-topped 3).
DIGIT_STROKES: dict[int, list[list[Points]]] = {
    0: [[arc(0.5, 0.5, 0.32, 0.48, -90, 275)], [arc(0.5, 0.5, 0.4, 0.47, 250, -100)]],
    1: [[[(0.55, 0), (0.55, 1)]], [[(0.25, 0.3), (0.6, 0), (0.6, 1)]], [[(0.3, 0.22), (0.58, 0), (0.58, 1)],
                                                                      [(0.28, 1), (0.85, 1)]]],
    2: [[arc(0.5, 0.3, 0.35, 0.3, 200, 370) + [(0.15, 1), (0.9, 1)]],
        [arc(0.48, 0.28, 0.33, 0.28, 190, 380) + [(0.3, 0.8), (0.12, 1), (0.3, 0.92), (0.55, 0.95), (0.9, 0.98)]]],
    3: [[arc(0.48, 0.26, 0.3, 0.24, 200, 450) + arc(0.48, 0.73, 0.34, 0.27, 270, 520)],
        [[(0.15, 0), (0.8, 0), (0.45, 0.4)] + arc(0.47, 0.7, 0.35, 0.3, 270, 510)]],
    4: [[[(0.6, 0), (0.1, 0.68), (0.9, 0.68)], [(0.65, 0.3), (0.65, 1)]],
        [[(0.25, 0), (0.15, 0.6), (0.85, 0.6)], [(0.7, 0.05), (0.7, 1)]],
        [[(0.3, 0), (0.1, 0.55), (0.45, 0.6), (0.85, 0.55)], [(0.65, 0), (0.62, 1)]]],
    5: [[[(0.8, 0), (0.25, 0), (0.2, 0.42)] + arc(0.48, 0.68, 0.35, 0.3, -125, 150)],
        [[(0.25, 0), (0.2, 0.42)] + arc(0.48, 0.68, 0.35, 0.3, -125, 150), [(0.27, 0), (0.85, 0)]]],
    6: [[[(0.7, 0), (0.35, 0.3)] + arc(0.5, 0.7, 0.32, 0.3, 200, 560)],
        [arc(0.75, 0.55, 0.55, 0.55, -110, -180) + arc(0.5, 0.72, 0.3, 0.28, 180, 520)]],
    7: [[[(0.1, 0), (0.9, 0), (0.4, 1)]], [[(0.1, 0), (0.9, 0), (0.42, 1)], [(0.35, 0.5), (0.85, 0.5)]],
        [[(0.1, 0.15), (0.12, 0), (0.9, 0), (0.7, 0.35), (0.5, 1)]]],
    8: [[arc(0.5, 0.25, 0.27, 0.25, 90, 450) + arc(0.5, 0.73, 0.33, 0.27, -90, 270)],
        [arc(0.5, 0.26, 0.28, 0.26, 0, 360), arc(0.5, 0.74, 0.33, 0.26, -90, 270)]],
    9: [[arc(0.45, 0.3, 0.32, 0.3, 0, -360) + [(0.77, 0.3), (0.75, 1)]],
        [arc(0.47, 0.3, 0.3, 0.3, 10, -350) + arc(0.25, 0.35, 0.52, 0.65, 0, 100)]],
}


def drawn_digit(digit: int, rng: np.random.Generator) -> np.ndarray:
    """Ink (84, 84) float 0..1 of `digit`: half drawn by pen from DIGIT_STROKES with a random hand, half in
    a print font (their 1s have flags and bases, their 4s and 7s differ from MNIST's), slightly turned."""
    if rng.random() < 0.5:
        return glyph(str(digit), rng)
    styles = DIGIT_STROKES[digit]
    return draw_strokes(styles[rng.integers(len(styles))], rng, slant=(-0.15, 0.4), aspect=(0.55, 1.1),
                        pen=(0.04, 0.17))


def drawn_digits(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` drawn digits in MNIST form, uint8 (count, 28, 28), and their labels int64 (count,), the
    digits in turn."""
    out, labels = np.zeros((count, 28, 28), np.uint8), np.arange(count) % 10
    for index in range(count):
        for attempt in range(10):  # a digit drawn too small for MNIST form: draw it again
            rng = np.random.default_rng([seed, index, attempt, 2])
            try:
                out[index] = ink_to_mnist(drawn_digit(int(labels[index]), rng))
                break
            except DigitrecError:
                continue
        else:
            raise DigitrecError(f"drawn digit {index}", "could not be brought to MNIST form", "report this")
    return out, labels
