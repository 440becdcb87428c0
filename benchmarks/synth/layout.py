"""Writing a line of characters: the gaps, sizes and baseline of a hand writing a number."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .paper import INK_THRESHOLD
from .scene import Item, union
from .writers import Writer, glyph


@dataclass(frozen=True)
class Hand:
    """How a line is written. Gaps and heights are fractions of `height` unless `gap_px` is set."""
    height: float  # px, of a typical digit
    gap: tuple[float, float] = (0.1, 0.5)  # between neighbours' ink, fraction of the height
    gap_px: tuple[int, int] | None = None  # exact gaps between boxes instead (near-touching)
    size: tuple[float, float] = (0.92, 1.08)  # each character's height factor
    slope: float = 3.0  # baseline slope, up to this many degrees either way
    drift: float = 0.04  # baseline wander per character, fraction of the height
    broken: frozenset[int] = frozenset()  # positions drawn in two strokes that do not touch


def write_line(text: str, writer: Writer, hand: Hand, rng: np.random.Generator) -> list[Item]:
    """The characters of `text`, left to right, at integer positions; every character a digit item."""
    slope = np.tan(np.radians(rng.uniform(-hand.slope, hand.slope)))
    items: list[Item] = []
    x, wander = 0, 0.0
    for i, char in enumerate(text):
        alpha = glyph(char, writer, hand.height * rng.uniform(*hand.size), rng, broken=i in hand.broken)
        if hand.gap_px is not None:
            alpha = _trim(np.where(alpha > INK_THRESHOLD, alpha, 0))  # no faint fringe in the gap
        if items:
            gap = int(rng.integers(hand.gap_px[0], hand.gap_px[1] + 1)) if hand.gap_px else \
                max(2, round(rng.uniform(*hand.gap) * hand.height))
            x = round(items[-1].rect[2]) + gap
        wander += rng.normal(0, hand.drift * hand.height)
        baseline = hand.height + slope * x + wander
        items.append(Item(alpha, x, round(baseline - alpha.shape[0])))
    return items


def _trim(alpha: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(alpha)
    return alpha[ys.min():ys.max() + 1, xs.min():xs.max() + 1] if len(ys) else alpha


def specks(items: list[Item], rng: np.random.Generator, height: float) -> list[Item]:
    """1-8 small dots of ink near a number (a pen's touch, dust on the scanner), none touching its ink."""
    x0, y0, x1, y1 = union([i.rect for i in items])
    out: list[Item] = []
    for _ in range(int(rng.integers(1, 9)) * 4):
        if len(out) >= 8:
            break
        r = rng.uniform(0.6, max(1.0, 0.05 * height))  # radius px: under a twentieth of a digit's height
        cx, cy = rng.uniform(x0 - 0.5 * height, x1 + 0.5 * height), rng.uniform(y0 - 0.4 * height, y1 + 0.4 * height)
        n = int(np.ceil(2 * r + 2))
        yy, xx = np.mgrid[0:n, 0:n] - (n - 1) / 2
        dot = np.clip(r + 0.5 - np.hypot(xx * rng.uniform(0.7, 1.3), yy), 0, 1).astype(np.float32)
        speck = Item(dot, cx - n / 2, cy - n / 2, digit=False)
        if all(_apart(speck.rect, i.rect, 3) for i in items + out):
            out.append(speck)
    return out


def _apart(a: tuple, b: tuple, margin: float) -> bool:
    return a[2] + margin <= b[0] or b[2] + margin <= a[0] or a[3] + margin <= b[1] or b[3] + margin <= a[1]
