"""Skeletons of things that are not digits: shapes, arrows, ticks and crosses, scribbles, hatching.

Each function returns a glyph (strokes in a box of unit height, see `skeletons.py`) drawn at random
proportions and turn. Circles and ellipses are left out on purpose: they read as 0.
"""

from __future__ import annotations

import numpy as np

from .skeletons import Glyph, arc


def fit(glyph: Glyph) -> Glyph:
    """Scale a glyph so that its larger side is 1 and its top-left is at (0, 0)."""
    pts = np.concatenate([np.asarray(s, np.float64) for s in glyph])
    lo, span = pts.min(0), max(float(np.ptp(pts, 0).max()), 1e-6)
    return [[(float((x - lo[0]) / span), float((y - lo[1]) / span)) for x, y in s] for s in glyph]


def turn(glyph: Glyph, degrees: float) -> Glyph:
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    return [[(x * c - y * s, x * s + y * c) for x, y in stroke] for stroke in glyph]


def _closed(points: list[tuple[float, float]], rng: np.random.Generator) -> list[tuple[float, float]]:
    """A closed outline as a hand draws it: back to the start, a little past it."""
    overshoot = rng.uniform(0.0, 0.3)
    a, b = np.asarray(points[0]), np.asarray(points[1])
    return [*points, points[0], tuple(a + overshoot * (b - a))]


def shape(rng: np.random.Generator) -> tuple[Glyph, str]:
    """A square, rectangle, triangle, star, heart, diamond or spiral."""
    name = str(rng.choice(["square", "rectangle", "triangle", "star", "heart", "diamond", "spiral"]))
    if name == "square":
        g = [_closed([(0, 0), (1, 0), (1, 1), (0, 1)], rng)]
    elif name == "rectangle":  # wide: a tall rounded rectangle would read as 0
        w = rng.uniform(1.6, 3.0)
        g = [_closed([(0, 0), (w, 0), (w, 1), (0, 1)], rng)]
    elif name == "triangle":
        g = turn([_closed([(0.5, 0), (1, 0.9), (0, 0.9)], rng)], float(rng.choice([0, 90, 180, 270])))
    elif name == "star":
        pts = [(np.sin(np.radians(144 * k)), -np.cos(np.radians(144 * k))) for k in range(5)]
        if rng.random() < 0.5:  # outline of the star instead of the pentagram
            pts = [(r * np.sin(np.radians(36 * k)), -r * np.cos(np.radians(36 * k)))
                   for k, r in zip(range(10), [1, 0.42] * 5, strict=True)]
        g = [_closed(pts, rng)]
    elif name == "heart":
        g = [[(0.5, 1.0), (0.08, 0.45)] + arc(0.27, 0.27, 0.24, 0.24, 150, 345) + arc(0.73, 0.27, 0.24, 0.24, 195, 390)
             + [(0.92, 0.45), (0.5, 1.0)]]
    elif name == "diamond":
        g = [_closed([(0.5, 0), (0.9, 0.5), (0.5, 1), (0.1, 0.5)], rng)]
    else:  # Archimedean, 2.5-4 turns: nothing like a 6 or a 9
        t = np.linspace(0, 2 * np.pi * rng.uniform(2.5, 4), 120)
        sign = rng.choice([-1, 1])
        g = [[(float(tt * np.cos(sign * tt)), float(tt * np.sin(sign * tt))) for tt in t]]
    return fit(turn(g, rng.normal(0, 6))), name


def arrow(rng: np.random.Generator) -> tuple[Glyph, str]:
    """A straight or curved arrow pointing anywhere; sometimes two-headed."""
    curved = rng.random() < 0.4
    if curved:  # a gentle bend: a half turn with a head reads as a C, G, 2 or 6
        sweep = rng.uniform(40, 110) * rng.choice([-1, 1])
        shaft = arc(0, 0, 1, rng.uniform(0.6, 1.0), 0, sweep)
    else:
        shaft = [(0.0, 0.0), (0.5, rng.normal(0, 0.02)), (1.0, 0.0)]
    length = rng.uniform(0.3, 0.45) * np.hypot(*np.subtract(shaft[-1], shaft[0]))  # the head, to the chord
    spread = np.radians(rng.uniform(25, 40))
    strokes = [shaft]
    for end, before in ([(-1, -2)] + ([(0, 1)] if rng.random() < 0.2 else [])):
        tip, prev = np.asarray(shaft[end]), np.asarray(shaft[before])
        back = (prev - tip) / (np.linalg.norm(prev - tip) + 1e-9)
        rot = [np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) for a in (spread, -spread)]
        strokes.append([tuple(tip + length * (rot[0] @ back)), tuple(tip), tuple(tip + length * (rot[1] @ back))])
    return fit(turn(strokes, rng.uniform(0, 360))), "curved arrow" if curved else "arrow"


def check(rng: np.random.Generator) -> tuple[Glyph, str]:
    """A tick or a cross."""
    if rng.random() < 0.55:
        short = rng.uniform(0.25, 0.5)
        g = [[(0.0, 1 - short), (0.3, 1.0), (rng.uniform(0.9, 1.2), rng.uniform(-0.1, 0.1))]]
        return fit(turn(g, rng.normal(0, 10))), "tick"
    g = [[(0.0, 0.0), (1.0, 1.0)], [(rng.uniform(0.85, 1.1), rng.uniform(-0.1, 0.1)), (0.0, 1.0)]]
    return fit(turn(g, rng.normal(0, 12))), "cross"


def scribble(rng: np.random.Generator) -> tuple[Glyph, str]:
    """A tangle, a zigzag crossing-out, a row of loops, or a few random strokes."""
    kind = str(rng.choice(["tangle", "zigzag", "loops", "strokes"]))
    if kind == "tangle":
        g = [[tuple(p) for p in rng.uniform(0, 1, (int(rng.integers(9, 25)), 2))]]
    elif kind == "zigzag":
        n = int(rng.integers(6, 16))
        y = np.linspace(0, 1, n) + rng.normal(0, 0.02, n)
        x = np.where(np.arange(n) % 2, rng.uniform(0.8, 1.0, n), rng.uniform(0.0, 0.2, n))
        g = turn([list(zip(x * rng.uniform(1, 2.5), y, strict=True))], rng.uniform(-30, 30))
    elif kind == "loops":
        g, x = [[]], 0.0
        for _ in range(int(rng.integers(4, 9))):
            r = rng.uniform(0.15, 0.3)
            g[0] += arc(x + r, 0.5, r, rng.uniform(0.3, 0.5), 90, -270 + rng.uniform(-20, 20))
            x += rng.uniform(0.2, 0.45)
    else:
        g = [[tuple(p) for p in rng.uniform(0, 1, (int(rng.integers(3, 6)), 2))] for _ in range(rng.integers(3, 7))]
    return fit(g), kind


def hatching(rng: np.random.Generator) -> tuple[Glyph, str]:
    """5-14 parallel strokes, sometimes crossed by a second family."""
    crossed = rng.random() < 0.45
    g: Glyph = []
    angle = rng.uniform(0, 180)
    for family in range(2 if crossed else 1):
        n = int(rng.integers(5, 15))
        spacing = rng.uniform(0.08, 0.2)
        length = rng.uniform(0.6, 1.2)
        lines = [[(k * spacing + rng.normal(0, 0.01), rng.normal(0, 0.04)),
                  (k * spacing + rng.normal(0, 0.02), length + rng.normal(0, 0.06))] for k in range(n)]
        g += turn(lines, angle + family * rng.uniform(55, 95))
    return fit(g), "cross-hatching" if crossed else "hatching"
