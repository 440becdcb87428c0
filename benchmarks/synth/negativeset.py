"""Things that are not one digit (NEGATIVE_CATEGORIES), and pages with no digit at all (BLANK_CATEGORIES).

A reader must answer "not a digit" to a negative and "no digit found" to a blank. Each negative is shown
as a user might send it: on a drawing pad (dark on white or light on black), on paper (plain, sometimes
ruled), or in a phone photo.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from . import fonts, mnist, photo, scene, shapes
from .layout import Hand, write_line
from .sample import Sample, register, sample_rng
from .scene import Item
from .skeletons import LETTERS, SYMBOLS
from .writers import Writer, draw_strokes, ink_texture, random_writer, shear

NEGATIVE_CATEGORIES = register("negative", ("letters-font", "letters-stroke", "symbols", "scribbles", "hatching",
                                            "shapes", "arrows", "checkmarks", "digit-pairs", "mnist-recombined"),
                               200)
# Letters a person could read as a digit are left out: O o Q D (0), l I i j (1), S s (5), Z z (2), B (8),
# b (6), g q (9); and G (6) and J (1) in some hands.
FONT_LETTERS = [c for c in "ACEFHKLMNPRTUVWXYacdefhkmnprtuvwxy"]
FONT_SYMBOLS = list("+=×÷%#@&$?!*€£<>~^±√π≠≈©¥¢")
PRESENTATIONS = ("pad-dark", "pad-light", "paper", "ruled", "photo")


def _presentation(rng: np.random.Generator) -> str:
    return str(rng.choice(PRESENTATIONS, p=[0.25, 0.2, 0.3, 0.1, 0.15]))


def _font_char(rng: np.random.Generator, chars: list[str], height: float) -> tuple[np.ndarray, dict]:
    """A character of `chars` in a random font that has it (handwriting or print)."""
    for _ in range(50):
        char, font = str(rng.choice(chars)), fonts.pick(rng, print_too=True)
        ink = fonts.render(font, char, height)
        if ink is not None:
            return shear(ink, rng.normal(0, 0.08), rng.normal(0, 4)), {"char": char, "font": font}
    raise RuntimeError("no font has any of the characters")  # pragma: no cover


def _strokes(category: str, rng: np.random.Generator) -> tuple[list, dict, dict]:
    """(glyph skeleton, info, writer overrides) of a stroke-drawn negative."""
    if category == "letters-stroke":
        char = str(rng.choice(list(LETTERS)))
        return LETTERS[char], {"char": char}, {}
    if category == "symbols":
        char = str(rng.choice(list(SYMBOLS)))
        return SYMBOLS[char], {"char": char}, {}
    make = {"scribbles": shapes.scribble, "hatching": shapes.hatching, "shapes": shapes.shape,
            "arrows": shapes.arrow, "checkmarks": shapes.check}[category]
    glyph, name = make(rng)
    # The glyph's larger side is its unit (a digit's is its height), and hatching and scribbles are many
    # lines in it: thinner pens relative to the unit, or they fill in.
    overrides: dict = {"pen_scale": {"scribbles": 0.35, "hatching": 0.35, "arrows": 0.45}.get(category, 0.6)}
    if category == "shapes":  # shapes keep their corners (a rounded square reads as 0) and proportions
        overrides.update(rounds=-1, aspect=float(rng.uniform(0.9, 1.1)), slant=float(rng.uniform(-0.1, 0.1)))
    return glyph, {"what": name}, overrides


def _ink(category: str, rng: np.random.Generator, writer: Writer, height: float) -> tuple[list[Item], dict]:
    """The negative's ink (items in scene px), about `height` px in its larger dimension."""
    if category == "digit-pairs":
        text = "".join(str(d) for d in rng.integers(0, 10, 2))
        items = write_line(text, writer, Hand(height * 0.8, gap=(0.08, 0.5)), rng)
        return items, {"text": text}
    if category == "mnist-recombined":
        image, info = mnist.recombined(rng)
        alpha = mnist.as_ink(image, height * 0.8, rng, writer.pen)
        return [Item(ink_texture(alpha, writer.pen_kind, rng), 0, 0, digit=False)], info
    use_font = category == "letters-font" or (category == "symbols" and rng.random() < 0.5)
    if use_font:
        alpha, info = _font_char(rng, FONT_LETTERS if category == "letters-font" else FONT_SYMBOLS, height * 0.8)
        return [Item(ink_texture(alpha, writer.pen_kind, rng), 0, 0, digit=False)], info
    glyph, info, overrides = _strokes(category, rng)
    pen = writer.pen * overrides.pop("pen_scale", 1.0)
    writer = dataclasses.replace(writer, pen=max(pen, 2.0 / height), **overrides)
    alpha = ink_texture(draw_strokes(glyph, writer, height * (0.8 if category in ("letters-stroke", "symbols")
                                                               else 1.0), rng), writer.pen_kind, rng)
    return [Item(alpha, 0, 0, digit=False)], info


def make_negative(category: str, index: int, seed: int) -> Sample:
    """Sample `index` of `category`: deterministic in (category, index, seed)."""
    rng = sample_rng("negative", category, index, seed)
    style = _presentation(rng)
    pad = style.startswith("pad")
    writer = random_writer(rng, source="stroke" if category != "digit-pairs" or pad else None,
                           pen_kind="mouse" if pad else None)
    if pad:
        canvas = scene.pad_size(rng, wide=category == "digit-pairs")
        height = rng.uniform(0.45, 0.85) * min(canvas)
        items, info = _ink(category, rng, writer, height)
        rect = scene.union([i.rect for i in items])
        room = np.maximum(np.array(canvas) - [rect[2] - rect[0], rect[3] - rect[1]], 0)
        offset = (round(-rect[0] + rng.uniform(0.15, 0.85) * room[0]), round(-rect[1] + rng.uniform(0.15, 0.85)
                                                                              * room[1]))
        data, fmt, _, more = scene.pad(items, canvas, style, rng, offset)
    elif style == "photo":
        frame = photo.frame_size(rng)
        height = rng.uniform(0.1, 0.25) * min(frame)
        items, info = _ink(category, rng, writer, height)
        data, fmt, _, more = scene.photographed(items, rng, frame, height * 0.8,
                                                "ruled" if rng.random() < 0.25 else "plain")
    else:
        height = float(np.exp(rng.uniform(np.log(28), np.log(300))))
        items, info = _ink(category, rng, writer, height)
        data, fmt, _, more = scene.on_paper(items, rng, height * 0.8, "ruled" if style == "ruled" else "plain",
                                            margin=(0.1, 0.6))
    info.update(more, presentation=style, writer=writer.info())
    return Sample(data, fmt, "negative", category, None, (), info)


def negatives(per_category: int, seed: int, categories: Sequence[str] = NEGATIVE_CATEGORIES) -> list[Sample]:
    """`per_category` images of each category of non-digits (label None, no boxes)."""
    return [make_negative(c, i, seed) for c in categories for i in range(per_category)]
