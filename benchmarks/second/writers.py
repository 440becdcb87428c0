"""Writers: one person's hand (a handwriting font or stroke skeletons, with their slant, rotation, width, pen
and pressure) and ink, drawn at random; and a digit written by one."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .fonts import FONT_BAD, FONTS, render_font
from .paper import ink_alpha
from .strokes import render_skeleton

# How often each ink is drawn when a condition does not choose one.
DEFAULT_INK_P = {"black": 0.32, "darkblue": 0.18, "ballpoint": 0.25, "red": 0.06, "green": 0.05, "pencil": 0.14}


@dataclass
class Writer:
    source: str  # "font" or "skel": how the digits are drawn
    font: str  # the font's path (also drawn for a "skel" writer, who does not use it)
    forms: dict[int, int]  # per digit, which of its skeleton forms (modulo their number)
    slant: float  # shear, x per unit of height (positive leans right)
    rot: float  # degrees
    rot_var: float  # degrees, standard deviation per digit
    aspect: float  # width multiplier
    pen: float  # pen width, fraction of the digit's height (skeletons)
    thick_mult: float  # stroke width multiplier of a font's glyphs
    jit: float  # skeleton control point jitter, fraction of the height
    elastic: float  # elastic warp of a font's glyphs, fraction of the height
    press_var: float  # pen pressure variation along a stroke
    taper: bool  # strokes thin at their ends
    ink: str  # a key of paper.INKS
    wobble: float = 0.0  # a mouse's wobble on a canvas, fraction of the height


def log_uniform(rng: np.random.Generator, a: float, b: float) -> float:
    return float(np.exp(rng.uniform(np.log(a), np.log(b))))


def pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    """A key of weights, drawn in proportion to its weight."""
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[rng.choice(len(keys), p=p / p.sum())]


def make_writer(rng: np.random.Generator, ink: str | None = None, source: str | None = None) -> Writer:
    """A random writer; half of them write in a font (slanted fonts' slant compensated), unless `source` says."""
    source = source or ("font" if rng.random() < 0.5 else "skel")
    font, font_slant = FONTS[rng.integers(len(FONTS))]
    forms = {d: int(rng.integers(0, 3)) for d in range(10)}
    slant = float(np.clip(rng.normal(0.1, 0.12), -0.2, 0.35))
    if source == "font" and font_slant:
        slant = float(np.clip(rng.normal(0.05, 0.1), -0.15, 0.3)) - float(font_slant)
    w = Writer(source=source, font=font, forms=forms, slant=slant, rot=float(rng.uniform(-6, 6)),
               rot_var=float(rng.uniform(0.5, 2.5)), aspect=float(rng.uniform(0.8, 1.2)),
               pen=log_uniform(rng, 0.05, 0.14), thick_mult=log_uniform(rng, 0.6, 2.0),
               jit=float(rng.uniform(0.012, 0.035)), elastic=float(rng.uniform(0.0, 0.025)),
               press_var=float(rng.uniform(0.0, 0.5)), taper=bool(rng.random() < 0.4),
               ink=ink or pick(rng, DEFAULT_INK_P))
    if w.ink == "pencil":  # pencil lines are thin-ish
        w.pen = float(rng.uniform(0.05, 0.09))
        w.thick_mult = float(rng.uniform(0.9, 1.3))
    return w


def glyph(digit: int, writer: Writer, h: float, rng: np.random.Generator, canvas_style: bool = False) -> np.ndarray:
    """Float32 alpha (tight) of the digit in the writer's hand, about h px high, textured by the ink (on paper)
    or drawn at constant width (canvas_style: a mouse on a web canvas, always strokes)."""
    if (writer.source == "font" and not canvas_style
            and (os.path.basename(writer.font), digit) not in FONT_BAD):
        a = render_font(digit, writer, h, rng)
    else:
        a = render_skeleton(digit, writer, h, rng, canvas_style)
    return a if canvas_style else ink_alpha(a, writer.ink, rng)
