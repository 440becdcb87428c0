"""Training images of writing on paper, seen as recognition sees them (numpy and Pillow only; deterministic
in the seed).

Preprocessing removes a page's ruling, grid, boxes and cells, but not always cleanly: a line's remnant
beside a stroke, a box's corner, a grid's crossings, a stroke thinned where a line crossed it. A model
trained on MNIST alone has never seen such a 28x28, so it reads it less surely, or refuses it. Here a
digit (an MNIST training digit, or one drawn by pen or set in a print font, `positives.drawn_digit`)
is written on a generated page, and the page is brought to MNIST form by the real preprocessing
(`preprocess.analyse`): the model then learns the digits as preprocessing hands them over. The same
pages with a letter, a symbol or a tangle on them (`negatives`) keep "not a digit" honest on paper.

These pages are this module's own: plain numpy drawing, unlike the realistic benchmark's generator
(benchmarks/synth, its fonts, hands and photo geometry), so that the benchmark still measures pages
the model has not seen.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .errors import DigitrecError
from .negatives import draw_strokes
from .preprocess import analyse, ink_to_mnist

Ink = np.ndarray  # (H, W) float32 in 0..1: 1 where the pen laid ink

PAPERS = ((250, 250, 246), (246, 242, 228), (236, 242, 250), (238, 248, 236), (252, 236, 240), (252, 248, 220),
          (232, 232, 232))
LINE_COLOURS = ((120, 160, 220), (150, 150, 150), (90, 140, 200), (120, 190, 150), (60, 60, 60))
PENS = ((20, 20, 30), (25, 40, 140), (40, 40, 40), (170, 30, 30), (30, 120, 50), (90, 90, 95))
MARGIN_RED = (220, 90, 100)
ALIKE = 0.35  # a page whose 28x28 correlates less with the writing's own is dropped (3% of them)
ATTEMPTS = 20  # pages drawn for one image at most (preprocessing may lose a faint one, or see two pieces)
SUPER = 2  # lines are drawn at 2x and averaged down: antialiased, as printed lines photograph


def _layer(size: tuple[int, int], draw: Callable[[ImageDraw.ImageDraw, int], None]) -> np.ndarray:
    """An alpha layer (h, w) float32 0..1 of what `draw` draws at SUPER x (it gets the factor)."""
    w, h = size
    image = Image.new("L", (w * SUPER, h * SUPER), 0)
    draw(ImageDraw.Draw(image), SUPER)
    return np.asarray(image.reduce(SUPER), np.float32) / 255


def _lines(size: tuple[int, int], rng: np.random.Generator, spacing: float, vertical: bool, angle: float,
           width: int) -> np.ndarray:
    """Parallel lines `spacing` px apart (horizontal, and vertical too if asked), turned by `angle` rad."""
    w, h = size
    phase = rng.uniform(0, spacing)
    c, s = math.cos(angle), math.sin(angle)
    reach = w + h

    def draw(d: ImageDraw.ImageDraw, k: int) -> None:
        for offset in np.arange(-reach, reach, spacing) + phase:
            for (x0, y0), (x1, y1) in ([((-reach, offset), (reach, offset))]
                                       + ([((offset, -reach), (offset, reach))] if vertical else [])):
                ends = [((x * c - y * s + w / 2) * k, (x * s + y * c + h / 2) * k) for x, y in ((x0, y0), (x1, y1))]
                d.line(ends, fill=255, width=width * k)

    return _layer(size, draw)


def _rectangles(size: tuple[int, int], boxes: list[tuple[float, float, float, float]], width: int) -> np.ndarray:
    return _layer(size, lambda d, k: [d.rectangle([v * k for v in box], outline=255, width=width * k)
                                      for box in boxes])


def _place(canvas: np.ndarray, ink: Ink, x: int, y: int) -> None:
    """Lay `ink` on `canvas` (both alpha maps) with its top left at (x, y), clipped to the canvas."""
    h, w = canvas.shape
    ih, iw = ink.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + iw), min(h, y + ih)
    if x1 > x0 and y1 > y0:
        part = canvas[y0:y1, x0:x1]
        np.maximum(part, ink[y0 - y:y1 - y, x0 - x:x1 - x], out=part)


def _sized(ink: Ink, height: int, rng: np.random.Generator) -> Ink:
    """The ink cropped to its strokes, scaled to `height` px tall, turned a little."""
    rows, cols = np.flatnonzero(ink.max(1) > 0.1), np.flatnonzero(ink.max(0) > 0.1)
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    width = max(1, round(crop.shape[1] * height / crop.shape[0]))
    image = Image.fromarray((crop * 255).astype(np.uint8)).resize((width, height), Image.Resampling.BICUBIC)
    image = image.rotate(rng.uniform(-6, 6), Image.Resampling.BILINEAR, expand=True)
    return np.asarray(image, np.float32) / 255


def page(ink: Ink, rng: np.random.Generator, sliver: Ink | None = None) -> tuple[Image.Image, Ink]:
    """(an RGB page with `ink` written on it: plain, ruled (perhaps with a margin line), squared, in a box
    or in a row of cells; perhaps a neighbour's sliver at the edge (`sliver`: another digit's ink);
    coloured paper, a pen of any colour or pencil, uneven light, noise, blur and JPEG; the ink as written
    on it, sized and turned)."""
    height = int(rng.integers(28, 110))
    digit = _sized(ink, height, rng)
    dh, dw = digit.shape
    w = int(max(dw * rng.uniform(1.3, 3.0), height * rng.uniform(0.9, 2.2)))
    h = int(max(dh * rng.uniform(1.2, 2.2), w * rng.uniform(0.5, 1.2)))
    x, y = int(rng.uniform(0.1, 0.9) * (w - dw)), int(rng.uniform(0.1, 0.9) * (h - dh))
    writing = np.zeros((h, w), np.float32)
    _place(writing, digit, x, y)
    printed = np.zeros((h, w), np.float32)
    colour = LINE_COLOURS[rng.integers(len(LINE_COLOURS))]
    kind = rng.choice(["plain", "ruled", "squared", "box", "cells"], p=[0.15, 0.25, 0.2, 0.2, 0.2])
    angle = math.radians(rng.normal(0, 1.5))
    thin = int(rng.choice([1, 1, 2]))
    if kind == "ruled":
        printed = _lines((w, h), rng, height * rng.uniform(0.45, 1.1), False, angle, thin) * rng.uniform(0.3, 0.9)
        if rng.random() < 0.4:  # a margin line, left of the digit
            at = rng.uniform(0, x)
            margin = _layer((w, h), lambda d, k: d.line([(at * k, 0), (at * k, h * k)], fill=255, width=thin * 2 * k))
            colour = MARGIN_RED if rng.random() < 0.5 else colour
            printed = np.maximum(printed, margin * rng.uniform(0.5, 0.9))
    elif kind == "squared":
        printed = _lines((w, h), rng, height * rng.uniform(0.25, 0.65), True, angle, 1) * rng.uniform(0.2, 0.7)
    elif kind == "box":
        m = height * rng.uniform(0.05, 0.45)
        printed = _rectangles((w, h), [(x - m, y - m, x + dw + m, y + dh + m)], int(rng.integers(1, 4)))
        colour = (40, 40, 40) if rng.random() < 0.6 else colour
    elif kind == "cells":
        cw, m = dw + height * rng.uniform(0.15, 0.6), height * rng.uniform(0.05, 0.3)
        left = x - rng.uniform(0.2, 0.8) * (cw - dw)
        cells = [(left + i * cw, y - m, left + (i + 1) * cw, y + dh + m) for i in range(-8, 9)]
        printed = _rectangles((w, h), cells, int(rng.integers(1, 3)))
        colour = (40, 40, 40) if rng.random() < 0.6 else colour
    if sliver is not None and rng.random() < 0.5:
        other = _sized(sliver, int(height * rng.uniform(0.8, 1.1)), rng)
        shown = int(other.shape[1] * rng.uniform(0.1, 0.3))
        at = -other.shape[1] + shown if rng.random() < 0.5 else w - shown
        _place(writing, other, at, y + int(rng.normal(0, 0.1) * dh))
    return _photographed(writing, printed, colour, rng), digit


def _photographed(writing: np.ndarray, printed: np.ndarray, line_colour: tuple[int, int, int],
                  rng: np.random.Generator) -> Image.Image:
    """The page as an RGB image: paper, print and pen multiplied, then light, noise, blur and JPEG."""
    h, w = writing.shape
    paper = np.asarray(PAPERS[rng.integers(len(PAPERS))], np.float32) / 255
    pen = np.asarray(PENS[rng.integers(len(PENS))], np.float32) / 255
    strength = rng.uniform(0.35, 0.75) if rng.random() < 0.2 else rng.uniform(0.8, 1.0)  # pencil, or a pen
    line = np.asarray(line_colour, np.float32) / 255
    image = paper * (1 - printed[..., None] * (1 - line)) * (1 - strength * writing[..., None] * (1 - pen))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    tilt = rng.uniform(-1, 1, 2) * rng.uniform(0, 0.25)  # light falling off across the page
    image *= (1 + tilt[0] * (xx / w - 0.5) + tilt[1] * (yy / h - 0.5))[..., None]
    image += rng.normal(0, rng.uniform(0.005, 0.04), image.shape).astype(np.float32)
    out = Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8))
    if rng.random() < 0.5:
        out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    if rng.random() < 0.5:
        buffer = io.BytesIO()
        out.save(buffer, "JPEG", quality=int(rng.integers(35, 95)))
        out = Image.open(buffer)
    return out


def _alike(a: np.ndarray, b: np.ndarray) -> float:
    """The correlation of two 28x28 images (1: the same up to brightness)."""
    x, y = a.astype(np.float32).ravel(), b.astype(np.float32).ravel()
    x, y = x - x.mean(), y - y.mean()
    return float(x @ y / max(np.sqrt((x @ x) * (y @ y)), 1e-6))


def on_pages(count: int, seed: int, write: Callable[[int, np.random.Generator], tuple[Ink, Ink | None]],
             labelled: bool) -> np.ndarray:
    """Up to `count` pages in MNIST form, uint8 (N, 28, 28): page i holds `write(i, rng)`'s ink (and its
    sliver). A page preprocessing finds no single writing on (none, several, a dot under it) is drawn again. `labelled`:
    the writing is a digit, which preprocessing must not have lost (every page is then made, or an
    error raised); else a non-digit no page of which held single writing is left out."""
    out, made = np.zeros((count, 28, 28), np.uint8), 0
    for index in range(count):
        for attempt in range(ATTEMPTS):
            rng = np.random.default_rng([seed, index, attempt, 3])
            ink, sliver = write(index, rng)
            image, written = page(ink, rng, sliver)
            try:
                x28, aside = analyse(image)
                # Where preprocessing lost the digit (took a line's remnant for it, cut a stroke away),
                # the page would teach a wrong answer: it must still look like the digit alone.
                lost = labelled and _alike(x28, ink_to_mnist(written)) < ALIKE
            except DigitrecError:
                continue
            if not aside and not lost:
                out[made], made = x28, made + 1
                break
        else:
            if labelled:
                raise DigitrecError(f"page {index}", "could not be brought to MNIST form", "report this")
    return out[:made]


def paper_digits(count: int, seed: int, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`count` digits on pages in MNIST form, uint8 (count, 28, 28), and their labels int64 (count,), the
    digits in turn: half MNIST training digits (`images`/`labels`, uint8 (N, 28, 28), (N,)), half drawn."""
    from .positives import drawn_digit

    wanted = np.arange(count) % 10
    by_digit = [np.flatnonzero(labels == d) for d in range(10)]

    def write(index: int, rng: np.random.Generator) -> tuple[Ink, Ink | None]:
        digit = int(wanted[index])
        if rng.random() < 0.5:
            ink = images[rng.choice(by_digit[digit])].astype(np.float32) / 255
        else:
            ink = drawn_digit(digit, rng)
        return ink, images[rng.integers(len(images))].astype(np.float32) / 255

    return on_pages(count, seed, write, labelled=True), wanted.astype(np.int64)


def marker_hatching(rng: np.random.Generator) -> Ink:
    """Hatching in a marker's wide strokes of uneven length, often touching: a scribbled-out patch."""
    n, angle = int(rng.integers(4, 11)), rng.uniform(0, math.pi)
    along = np.array([math.cos(angle), math.sin(angle)])
    across = np.array([-along[1], along[0]])
    strokes = []
    for offset in np.linspace(-0.4, 0.4, n):
        a, b = rng.uniform(0.25, 0.45, 2)
        strokes.append([tuple(0.5 + offset * across - a * along), tuple(0.5 + offset * across + b * along)])
    return draw_strokes(strokes, rng, smooth=False, pen=(0.08, 0.18))


def chevron(rng: np.random.Generator) -> Ink:
    """A pen's <, >, ^ or ~."""
    kind = int(rng.integers(4))
    if kind == 3:
        t = np.linspace(0, 1, 12)
        return draw_strokes([list(zip(t, 0.5 - 0.2 * np.sin(t * 2 * math.pi), strict=True))], rng)
    tip, ends = [((0.2, 0.5), [(0.8, 0.1), (0.8, 0.9)]), ((0.8, 0.5), [(0.2, 0.1), (0.2, 0.9)]),
                 ((0.5, 0.15), [(0.1, 0.7), (0.9, 0.7)])][kind]
    return draw_strokes([[ends[0], tip, ends[1]]], rng, smooth=False)


def curved_arrow(rng: np.random.Generator) -> Ink:
    """An arrow along an arc (a turn, a loop back), its head at one end or both."""
    start, sweep = rng.uniform(0, 2 * math.pi), rng.uniform(1.5, 4.5) * rng.choice([-1, 1])
    t = start + np.linspace(0, sweep, 16)
    shaft = list(zip(0.5 + 0.4 * np.cos(t), 0.5 + 0.4 * np.sin(t), strict=True))
    strokes = [shaft]
    for end, inward in ((shaft[-1], shaft[-3]), (shaft[0], shaft[2]))[:1 + int(rng.random() < 0.3)]:
        back = np.subtract(inward, end)
        back = back / max(np.linalg.norm(back), 1e-6) * 0.25
        for a in (0.6, -0.6):
            turn = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
            strokes.append([end, tuple(np.add(end, turn @ back))])
    return draw_strokes(strokes, rng, smooth=False)


def paper_negatives(count: int, seed: int, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Up to `count` non-digits on pages in MNIST form, uint8 (N, 28, 28): letters, symbols, chevrons,
    shapes, scribbles, hatching (a pen's and a marker's), arrows (straight and curved), tangles of two
    MNIST digits and halves of two joined (`negatives`), in turn. (Not empty pages: what preprocessing
    may leave of one, a line's remnant, is a 1 in MNIST form.)"""
    from .negatives import DigitLikeness, arrow, hatching, letter, recombined, scribble, shape, stitched, symbol

    digit_like = DigitLikeness(images, np.random.default_rng([seed, 2**31]))
    kinds: list[Callable[[np.random.Generator], Ink]] = [
        letter, letter, symbol, chevron, shape, scribble, hatching, marker_hatching, arrow, curved_arrow,
        lambda r: recombined(r, images, labels), lambda r: stitched(r, images, labels, digit_like)]
    return on_pages(count, seed, lambda index, rng: (kinds[index % len(kinds)](rng), None), labelled=False)
