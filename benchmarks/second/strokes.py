"""One digit drawn as pen strokes: hand-made skeletons (splines through control points) per digit, drawn in a
writer's slant, rotation, aspect, jitter, pen width and pressure, or as a mouse on a web canvas draws them."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw

if TYPE_CHECKING:
    from .writers import Writer

Point = tuple[float, float]


def _ellipse(cx: float, cy: float, rx: float, ry: float, a0: float, sweep: float, n: int) -> list[Point]:
    """n + 1 points along an ellipse from angle a0 over sweep (degrees; y down, sweep > 0 counterclockwise on
    screen)."""
    out = []
    for k in range(n + 1):
        a = math.radians(a0 + sweep * k / n)
        out.append((cx + rx * math.cos(a), cy - ry * math.sin(a)))
    return out


# Per digit, its forms; a form is a list of strokes (pen down to pen up); a stroke a list of pieces, each a
# smooth spline through its points (0..1, y down), consecutive pieces meeting at a sharp corner.
SKEL: dict[int, list[list[list[list[Point]]]]] = {
    0: [
        [[_ellipse(0.5, 0.5, 0.46, 0.5, 90, 380, 14)]],
        [[_ellipse(0.5, 0.5, 0.42, 0.5, 60, 345, 13)]],
        [[[(0.62, 0.03), (0.3, 0.06), (0.08, 0.4), (0.15, 0.85), (0.5, 1.0), (0.85, 0.8),
           (0.92, 0.35), (0.7, 0.02), (0.45, 0.05)]]],
    ],
    1: [
        [[[(0.5, 0.0), (0.49, 0.5), (0.47, 1.0)]]],
        [[[(0.12, 0.25), (0.55, 0.0)], [(0.55, 0.0), (0.53, 0.5), (0.5, 1.0)]]],
        [[[(0.15, 0.22), (0.55, 0.0)], [(0.55, 0.0), (0.54, 0.5), (0.53, 0.99)]],
         [[(0.18, 1.0), (0.88, 0.99)]]],
    ],
    2: [
        [[[(0.06, 0.26), (0.25, 0.04), (0.55, 0.0), (0.82, 0.12), (0.85, 0.35), (0.6, 0.6),
           (0.3, 0.82), (0.05, 1.0)], [(0.05, 1.0), (0.5, 0.98), (0.95, 0.98)]]],
        [[[(0.05, 0.3), (0.2, 0.06), (0.5, 0.0), (0.8, 0.1), (0.85, 0.32), (0.65, 0.55),
           (0.35, 0.78), (0.08, 0.98)], [(0.08, 0.98), (0.35, 0.92), (0.65, 0.97), (0.95, 0.92)]]],
        [[[(0.1, 0.2), (0.35, 0.02), (0.7, 0.03), (0.85, 0.25), (0.7, 0.52), (0.35, 0.78),
           (0.1, 0.93), (0.2, 0.82), (0.32, 0.88), (0.25, 0.99)],
          [(0.25, 0.99), (0.6, 0.96), (0.95, 0.95)]]],
    ],
    3: [
        [[[(0.1, 0.15), (0.35, 0.01), (0.7, 0.02), (0.85, 0.2), (0.7, 0.4), (0.4, 0.48)],
          [(0.4, 0.48), (0.75, 0.55), (0.9, 0.75), (0.75, 0.95), (0.4, 1.0), (0.08, 0.88)]]],
        [[[(0.1, 0.02), (0.88, 0.02)], [(0.88, 0.02), (0.4, 0.42)],
          [(0.4, 0.42), (0.75, 0.5), (0.92, 0.72), (0.75, 0.95), (0.4, 1.0), (0.08, 0.88)]]],
    ],
    4: [
        [[[(0.6, 0.0), (0.05, 0.68)], [(0.05, 0.68), (0.95, 0.68)]],
         [[(0.68, 0.0), (0.68, 0.5), (0.67, 1.0)]]],
        [[[(0.15, 0.0), (0.11, 0.35), (0.08, 0.62)], [(0.08, 0.62), (0.5, 0.62), (0.95, 0.6)]],
         [[(0.7, 0.05), (0.7, 0.5), (0.69, 1.0)]]],
        [[[(0.2, 0.0), (0.12, 0.55)], [(0.12, 0.55), (0.45, 0.56), (0.72, 0.52)],
          [(0.72, 0.52), (0.74, 0.0)], [(0.74, 0.0), (0.72, 0.5), (0.7, 1.0)]]],
    ],
    5: [
        [[[(0.22, 0.03), (0.15, 0.45)],
          [(0.15, 0.45), (0.45, 0.36), (0.78, 0.45), (0.88, 0.7), (0.72, 0.93), (0.4, 1.0),
           (0.08, 0.88)]],
         [[(0.22, 0.02), (0.55, 0.0), (0.9, 0.0)]]],
        [[[(0.9, 0.02), (0.22, 0.02)], [(0.22, 0.02), (0.15, 0.45)],
          [(0.15, 0.45), (0.45, 0.38), (0.8, 0.48), (0.88, 0.72), (0.7, 0.94), (0.35, 1.0),
           (0.08, 0.86)]]],
    ],
    6: [
        [[[(0.8, 0.03), (0.45, 0.18), (0.2, 0.45), (0.12, 0.72), (0.3, 0.97), (0.6, 0.98),
           (0.85, 0.8), (0.78, 0.58), (0.5, 0.5), (0.25, 0.58), (0.14, 0.72)]]],
        [[[(0.65, 0.0), (0.35, 0.3), (0.15, 0.65), (0.2, 0.92), (0.5, 1.0), (0.8, 0.88),
           (0.82, 0.65), (0.55, 0.52), (0.25, 0.62)]]],
    ],
    7: [
        [[[(0.05, 0.04), (0.5, 0.02), (0.95, 0.02)], [(0.95, 0.02), (0.6, 0.45), (0.35, 1.0)]]],
        [[[(0.05, 0.04), (0.5, 0.02), (0.95, 0.02)], [(0.95, 0.02), (0.62, 0.45), (0.38, 1.0)]],
         [[(0.3, 0.52), (0.85, 0.5)]]],
        [[[(0.06, 0.18), (0.05, 0.02)], [(0.05, 0.02), (0.95, 0.03)],
          [(0.95, 0.03), (0.55, 0.5), (0.4, 1.0)]]],
    ],
    8: [
        [[[(0.78, 0.1), (0.5, 0.0), (0.2, 0.1), (0.22, 0.32), (0.5, 0.47), (0.82, 0.63),
           (0.85, 0.87), (0.5, 1.0), (0.15, 0.87), (0.18, 0.63), (0.5, 0.47), (0.78, 0.3),
           (0.78, 0.1)]]],
        [[_ellipse(0.5, 0.24, 0.3, 0.24, 80, 370, 12)],
         [_ellipse(0.5, 0.72, 0.38, 0.28, 80, 370, 12)]],
    ],
    9: [
        [[[(0.85, 0.12), (0.5, 0.0), (0.15, 0.12), (0.15, 0.35), (0.45, 0.48), (0.8, 0.35),
           (0.86, 0.1)], [(0.86, 0.1), (0.84, 0.55), (0.8, 1.0)]]],
        [[[(0.85, 0.12), (0.5, 0.0), (0.15, 0.12), (0.15, 0.35), (0.45, 0.48), (0.8, 0.35),
           (0.86, 0.1)], [(0.86, 0.1), (0.85, 0.6), (0.7, 0.92), (0.45, 1.0), (0.25, 0.92)]]],
    ],
}
# Digit width relative to its height, before the writer's aspect.
SKEL_W = {0: 0.62, 1: 0.3, 2: 0.6, 3: 0.58, 4: 0.66, 5: 0.58, 6: 0.58, 7: 0.6, 8: 0.58, 9: 0.58}


def _catmull(points: list[Point], n_per: int) -> np.ndarray:
    """(n, 2) points of a Catmull-Rom spline through `points`, n_per per span (a straight line for two)."""
    p = np.asarray(points, dtype=np.float64)
    if len(p) == 2:
        t = np.linspace(0, 1, max(2, n_per))[:, None]
        return p[0] * (1 - t) + p[1] * t
    ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    out = []
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        t = np.linspace(0, 1, n_per, endpoint=False)[:, None]
        out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    out.append(p[-1:])
    return np.vstack(out)


def smooth_noise(rng: np.random.Generator, n: int, knots: int) -> np.ndarray:
    """n samples of a smooth random curve: unit normal values at `knots` points, linearly interpolated."""
    k = rng.normal(0, 1, knots)
    return np.interp(np.linspace(0, knots - 1, n), np.arange(knots), k)


def tight(a: np.ndarray, thr: float = 0.03) -> np.ndarray:
    """An alpha mask cropped to where it exceeds thr (unchanged when it nowhere does)."""
    ys, xs = np.nonzero(a > thr)
    if len(ys) == 0:
        return a
    return a[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def _strokes(digit: int, writer: Writer, size: float, rng: np.random.Generator) -> list[np.ndarray]:
    """The writer's form of the digit as strokes of (n, 2) points in px (x right, y down, about 0), the
    control points jittered (shared points once, so corners stay joined), slanted, bowed and rotated."""
    form = SKEL[digit][writer.forms[digit] % len(SKEL[digit])]
    jit = writer.jit
    cache: dict[Point, Point] = {}

    def jitter(pt: Point) -> Point:
        if pt not in cache:
            cache[pt] = (pt[0] + rng.normal(0, jit), pt[1] + rng.normal(0, jit))
        return cache[pt]

    rot = math.radians(writer.rot + rng.normal(0, writer.rot_var))
    slant = writer.slant + rng.normal(0, 0.03)
    aspect = SKEL_W[digit] * writer.aspect * rng.uniform(0.93, 1.07)
    yscale = rng.uniform(0.96, 1.04)
    bow = rng.normal(0, 0.03)
    strokes = []
    for stroke in form:
        pts = []
        for pi, piece in enumerate(stroke):
            seg = _catmull([jitter(tuple(q)) for q in piece], 10)
            pts.append(seg[1:] if pi > 0 else seg)  # a piece starts where the previous one ended
        p = np.vstack(pts)
        x = (p[:, 0] - 0.5) * aspect
        y = (p[:, 1] - 0.5) * yscale
        x = x + bow * (1 - 4 * y * y) - slant * y
        xr = x * math.cos(rot) - y * math.sin(rot)
        yr = x * math.sin(rot) + y * math.cos(rot)
        strokes.append(np.stack([xr, yr], 1) * size)
    return strokes


def _draw_stroke(draw: ImageDraw.ImageDraw, s: np.ndarray, pen: float, writer: Writer, size: float,
                 rng: np.random.Generator, canvas_style: bool) -> None:
    """Stamp round pen tips along the polyline s ((n, 2) px), spaced an eighth of the pen width apart: with
    varying pressure (and tapered ends) on paper, or with a mouse's wobble at constant width on a canvas."""
    seg = np.diff(s, axis=0)
    L = np.concatenate([[0], np.cumsum(np.hypot(seg[:, 0], seg[:, 1]))])  # arc length at each point, px
    total = L[-1]
    step = max(0.7, pen * 0.12)
    n = max(2, int(total / step) + 1)
    t = np.linspace(0, total, n)
    xs = np.interp(t, L, s[:, 0])
    ys = np.interp(t, L, s[:, 1])
    if canvas_style:
        press = np.ones(n)
        xs = xs + smooth_noise(rng, n, max(3, n // 40)) * writer.wobble * size
        ys = ys + smooth_noise(rng, n, max(3, n // 40)) * writer.wobble * size
    else:
        press = 1 + writer.press_var * smooth_noise(rng, n, 4) * 0.5
        if writer.taper:
            u = t / max(total, 1e-6)
            tl = 0.08  # the tapered length at each end, fraction of the stroke
            press = press * np.minimum(1, 0.55 + 0.45 * np.minimum(u, 1 - u) / tl)
        press = np.clip(press, 0.45, 1.5)
    r = pen * 0.5 * press
    for xi, yi, ri in zip(xs, ys, r, strict=True):
        draw.ellipse((xi - ri, yi - ri, xi + ri, yi + ri), fill=255)


def render_skeleton(digit: int, writer: Writer, h: float, rng: np.random.Generator,
                    canvas_style: bool = False) -> np.ndarray:
    """Float32 alpha (tight-cropped) of the digit drawn in strokes, ink about h px high; drawn at ~1000 px
    (1.5x-4x supersampled) and box-filtered down."""
    ss = float(np.clip(1000.0 / max(h, 1), 1.5, 4.0))
    size = h * ss
    strokes = _strokes(digit, writer, size, rng)
    allp = np.vstack(strokes)
    pen = writer.pen * size * rng.uniform(0.92, 1.08)
    pad = pen + 4
    x0, y0 = allp.min(0) - pad
    x1, y1 = allp.max(0) + pad
    W, H = int(math.ceil(x1 - x0)), int(math.ceil(y1 - y0))
    img = Image.new("L", (W, H), 0)
    draw = ImageDraw.Draw(img)
    for s in strokes:
        _draw_stroke(draw, s - [x0, y0], pen, writer, size, rng, canvas_style)
    img = img.resize((max(1, int(round(W / ss))), max(1, int(round(H / ss)))), Image.BOX)
    return tight(np.asarray(img, dtype=np.float32) / 255.0)
