"""Writers: who holds the pen. A writer draws a character's ink as a float alpha map (0..1, cropped to the ink).

Three kinds of hand, so that no single rendering trick dominates a set:
- "stroke": the skeletons of `skeletons.py` with the writer's slant, aspect, smooth wobble, pen width and
  pressure, drawn by stamping discs along the smoothed path (variable width, round tips);
- "font": a handwriting font (see `fonts.py`), sheared and turned a little;
- "mnist": a real person's digit from the MNIST TRAIN split, rendered as ink (see `mnist.py`).
Pen kinds: ballpoint, felt, marker, pencil (grainy, see `ink_texture`), and mouse (uniform width, round caps,
polyline through mouse-event points: what a web drawing pad records).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageDraw

from . import fonts, mnist
from .skeletons import BROKEN, DIGITS, LETTERS, SYMBOLS, Glyph

PEN_KINDS = ("ballpoint", "felt", "marker", "pencil", "mouse")
# Pen width as a fraction of the glyph height, per pen kind (a 5 mm digit in 0.5 mm ballpoint: 0.1).
PEN_WIDTH = {"ballpoint": (0.045, 0.09), "felt": (0.08, 0.13), "marker": (0.12, 0.18), "pencil": (0.045, 0.08),
             "mouse": (0.06, 0.16)}


@dataclass(frozen=True)
class Writer:
    source: str  # "stroke", "font" or "mnist"
    pen_kind: str  # one of PEN_KINDS
    seed: int  # the writer's own habits: which style of each digit, ...
    slant: float  # x shift of the top per unit height; > 0 leans right
    aspect: float  # width scale of the skeletons
    wobble: float  # amplitude of the smooth deformation, in units of the glyph height
    pen: float  # pen width / glyph height
    rounds: int  # corner smoothing passes: 1 sharp, 4 round (-1: none, for shapes)
    font: str | None = None  # file name, for source "font"

    def style(self, key: str, count: int) -> int:
        """The style this writer uses for `key` (fixed per writer, so a number's two 7s match)."""
        return int(np.random.default_rng([self.seed, *key.encode()]).integers(count))

    def info(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def random_writer(rng: np.random.Generator, source: str | None = None, pen_kind: str | None = None) -> Writer:
    """A random writer; `source`/`pen_kind` force those (a mouse pen implies strokes)."""
    if pen_kind == "mouse":
        source = "stroke"
    source = source or str(rng.choice(["stroke", "font", "mnist"], p=[0.45, 0.25, 0.3]))
    pen_kind = pen_kind or str(rng.choice(PEN_KINDS[:4], p=[0.5, 0.25, 0.15, 0.1]))
    font = fonts.pick(rng) if source == "font" else None
    return Writer(source, pen_kind, int(rng.integers(2**31)), slant=float(rng.uniform(-0.12, 0.35)),
                  aspect=float(rng.uniform(0.6, 1.1)), wobble=float(rng.uniform(0.01, 0.04)),
                  pen=float(rng.uniform(*PEN_WIDTH[pen_kind])), rounds=int(rng.integers(1, 5)), font=font)


def _chaikin(points: np.ndarray, rounds: int) -> np.ndarray:
    """Corner cutting: a polyline -> a smooth curve through its neighbourhood (ends kept)."""
    for _ in range(rounds):
        if len(points) < 3:
            break
        a, b = points[:-1], points[1:]
        cut = np.stack([0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b], 1).reshape(-1, 2)
        points = np.concatenate([points[:1], cut, points[-1:]])
    return points


def _resample(points: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every `step` along the polyline, and their position 0..1 along it."""
    seg = np.hypot(*np.diff(points, axis=0).T) if len(points) > 1 else np.zeros(0)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] < 1e-9:
        return points[:1], np.zeros(1)
    t = np.linspace(0, s[-1], max(2, int(s[-1] / step) + 1))
    return np.stack([np.interp(t, s, points[:, 0]), np.interp(t, s, points[:, 1])], 1), t / s[-1]


def _split(points: np.ndarray, longest: float) -> np.ndarray:
    """The polyline with every segment longer than `longest` cut into equal pieces (corners kept)."""
    out = [points[:1]]
    for a, b in zip(points[:-1], points[1:], strict=True):
        n = max(1, int(np.ceil(np.hypot(*(b - a)) / longest)))
        out.append(a + (b - a) * (np.arange(1, n + 1) / n)[:, None])
    return np.concatenate(out)


def _deform(strokes: list[np.ndarray], writer: Writer, rng: np.random.Generator, angle: float) -> list[np.ndarray]:
    """The writer's slant and aspect, a small turn (degrees), and a smooth random deformation of the glyph
    (three plane waves of about one cycle per glyph height: a hand's wobble, not noise)."""
    waves = [(rng.normal(0, 1.2, 2), rng.uniform(0, 2 * np.pi), rng.normal(0, 1, 2)) for _ in range(3)]
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    out = []
    for stroke in strokes:
        p = _split(stroke, 0.3)  # long straight segments bend with the wobble too
        p[:, 0] = p[:, 0] * writer.aspect + writer.slant * (1 - p[:, 1])
        p = p @ np.array([[c, s], [-s, c]])
        for freq, phase, direction in waves:
            p += writer.wobble / 2 * np.sin(2 * np.pi * (p @ freq) + phase)[:, None] * direction
        p += rng.normal(0, writer.wobble / 3, 2)  # the pen lifts and lands a little off
        out.append(p)
    return out


def draw_strokes(glyph: Glyph, writer: Writer, height: float, rng: np.random.Generator,
                 angle: float = 0.0) -> np.ndarray:
    """Ink of `glyph` (strokes in a unit-height box) about `height` px tall: alpha float32, cropped."""
    mouse = writer.pen_kind == "mouse"
    width = max(1.3, writer.pen * height)  # pen width, px
    ss = 4 if height < 40 else 3 if height < 120 else 2  # supersampling, for anti-aliased edges
    strokes = _deform([np.asarray(s, np.float64) for s in glyph], writer, rng, angle)
    lo = np.min([p.min(0) for p in strokes], 0)
    scale = (height - width) * ss
    size = np.ceil((np.max([p.max(0) for p in strokes], 0) - lo) * scale + width * ss * 2 + 4).astype(int)
    image = Image.new("L", (int(size[0]), int(size[1])), 0)
    draw = ImageDraw.Draw(image)
    phase = rng.uniform(0, 2 * np.pi)
    for p in strokes:
        p = (p - lo) * scale + width * ss + 2
        if mouse:  # a pad records the pointer every few px, a little off the intended path
            p, _ = _resample(_chaikin(p, min(2, writer.rounds + 1)), rng.uniform(6, 14) * ss)
            p[1:-1] += rng.normal(0, 0.6 * ss, p[1:-1].shape)
        else:
            p = _chaikin(p, writer.rounds + 1)  # rounds -1: sharp corners (shapes)
        r0 = width * ss / 2
        q, t = _resample(p, max(0.5, r0 / 4))
        if mouse:
            radius = np.full(len(t), r0)
        else:  # pressure: a slow swell, lighter at the start and the lift-off
            radius = r0 * (1 + 0.12 * np.sin(2 * np.pi * 1.5 * t + phase)) * np.clip(0.7 + 3 * t, 0, 1) \
                * np.clip(0.8 + 3 * (1 - t), 0, 1)
            if len(q) == 1:
                radius = radius * 1.25  # a dot
        for (x, y), r in zip(q, radius, strict=True):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    image = image.reduce(ss)
    return _crop(np.asarray(image, np.float32) / 255)


def _crop(alpha: np.ndarray, threshold: float = 0.02) -> np.ndarray:
    ys, xs = np.nonzero(alpha > threshold)
    if len(ys) == 0:
        return alpha[:1, :1] * 0
    return alpha[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def skeleton(char: str, writer: Writer, broken: bool = False) -> Glyph | None:
    """The writer's skeleton for `char` (a broken, two-stroke one if asked and there is one)."""
    if broken and char in BROKEN:
        return BROKEN[char][writer.style("broken" + char, len(BROKEN[char]))]
    if char in DIGITS:
        return DIGITS[char][writer.style(char, len(DIGITS[char]))]
    return LETTERS.get(char) or SYMBOLS.get(char)


def shear(alpha: np.ndarray, slant: float, angle: float) -> np.ndarray:
    """Lean a rendered glyph by `slant` (x shift per unit height) and turn it `angle` degrees."""
    image = Image.fromarray(alpha)
    h = image.height
    pad = int(abs(slant) * h) + 2
    image = image.transform((image.width + pad, h), Image.Transform.AFFINE,
                            (1, slant, -pad if slant > 0 else 0, 0, 1, 0), Image.Resampling.BILINEAR)
    image = image.rotate(angle, Image.Resampling.BILINEAR, expand=True)
    return _crop(np.asarray(image, np.float32))


def glyph(char: str, writer: Writer, height: float, rng: np.random.Generator, broken: bool = False) -> np.ndarray:
    """Ink of one character, about `height` px tall, in the writer's hand and pen (alpha, cropped)."""
    angle = rng.normal(0, 3)
    alpha = None
    if writer.source == "mnist" and char.isdigit() and not broken:
        alpha = shear(mnist.glyph(char, height, rng, writer.pen), rng.normal(0, 0.05), angle)
    elif writer.source == "font" and writer.font and not broken:
        ink = fonts.render(writer.font, char, height)
        if ink is not None:
            alpha = shear(ink, writer.slant * 0.3, angle)
    if alpha is None:
        shape = skeleton(char, writer, broken)
        if shape is None:
            raise ValueError(f"no skeleton for {char!r}")
        alpha = draw_strokes(shape, writer, height, rng, angle)
    return ink_texture(alpha, writer.pen_kind, rng)


def ink_texture(alpha: np.ndarray, pen_kind: str, rng: np.random.Generator) -> np.ndarray:
    """What the pen leaves: pencil is grainy and never fully dark; a ballpoint a little uneven."""
    if pen_kind == "pencil":
        grain = rng.uniform(0.35, 1.0, alpha.shape).astype(np.float32)
        return alpha * grain * rng.uniform(0.6, 0.9)
    if pen_kind == "ballpoint":
        return alpha * rng.uniform(0.85, 1.0, alpha.shape).astype(np.float32)
    return alpha
