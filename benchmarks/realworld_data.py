"""A procedural, deterministic set of realistic non-MNIST digit images, as encoded files.

Digits come from 16 fonts that ship with matplotlib (so every machine renders the same set) and from
pen strokes: polyline skeletons per digit with random slant, aspect, jitter and pen width, smoothed
like handwriting. They are placed on canvases of many sizes and dressed as real inputs are: dark on
light and light on dark, off-centre, rotated, on noisy, textured, tinted or unevenly lit paper,
JPEG-compressed, RGBA with a transparent background, phone-photo-like with an EXIF rotation, thin pen,
thick marker, faint pencil, tiny canvases, and in several file formats. Sample i of a category has label i % 10.

Used by `realworld.py` (the benchmark) and by the tests: `make_set(per_category, seed)`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONTS = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
         "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSansMono.ttf",
         "DejaVuSansMono-Bold.ttf", "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf",
         "cmr10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmb10.ttf"]

CATEGORIES = ("font-dark-on-light", "font-light-on-dark", "stroke-dark-on-light", "stroke-light-on-dark",
              "off-centre", "rotated", "noisy-paper", "tinted-paper", "uneven-light", "jpeg",
              "rgba-transparent", "phone-photo", "thin-pen", "thick-marker", "faint-pencil", "tiny-canvas",
              "file-formats")

# Pen skeletons in a unit box (x right, y down); each digit has one or more styles, each a list of
# strokes. Curves are sampled densely enough for the smoothing to round them.
_T = np.linspace(0, 2 * np.pi, 25)
_SKELETONS: dict[int, list[list[list[tuple[float, float]]]]] = {
    0: [[list(zip(0.5 + 0.38 * np.sin(_T), 0.5 - 0.48 * np.cos(_T), strict=True))]],
    1: [[[(0.55, 0.0), (0.5, 1.0)]], [[(0.4, 0.22), (0.55, 0.0), (0.5, 1.0)]]],
    2: [[[(0.12, 0.25), (0.3, 0.04), (0.6, 0.0), (0.83, 0.18), (0.8, 0.4), (0.5, 0.68), (0.1, 1.0),
          (0.92, 0.98)]]],
    3: [[[(0.15, 0.12), (0.45, 0.0), (0.78, 0.12), (0.75, 0.35), (0.42, 0.48), (0.8, 0.6), (0.85, 0.85),
          (0.5, 1.0), (0.12, 0.9)]]],
    4: [[[(0.68, 1.0), (0.68, 0.0), (0.08, 0.68), (0.92, 0.68)]],
        [[(0.18, 0.0), (0.12, 0.6), (0.88, 0.6)], [(0.66, 0.15), (0.66, 1.0)]]],
    5: [[[(0.82, 0.0), (0.28, 0.02), (0.22, 0.45), (0.55, 0.38), (0.84, 0.58), (0.8, 0.86), (0.5, 1.0),
          (0.14, 0.9)]], [[(0.28, 0.02), (0.22, 0.45), (0.55, 0.38), (0.84, 0.58), (0.8, 0.86),
                          (0.5, 1.0), (0.14, 0.9)], [(0.3, 0.02), (0.85, 0.0)]]],
    6: [[[(0.72, 0.0), (0.38, 0.28), (0.18, 0.62), (0.28, 0.94), (0.58, 1.0), (0.8, 0.78), (0.68, 0.53),
          (0.38, 0.52), (0.2, 0.7)]]],
    7: [[[(0.1, 0.02), (0.9, 0.02), (0.55, 0.5), (0.38, 1.0)]],
        [[(0.08, 0.12), (0.15, 0.02), (0.9, 0.02), (0.4, 1.0)]]],
    8: [[list(zip(0.5 + 0.3 * np.sin(2 * _T), 0.5 - 0.49 * np.cos(_T), strict=True))]],
    9: [[list(zip(0.5 + 0.3 * np.cos(_T[:-3]), 0.3 - 0.28 * np.sin(_T[:-3]), strict=True))
         + [(0.8, 0.32), (0.7, 1.0)]]],
}


@dataclass(frozen=True)
class Sample:
    data: bytes  # an encoded image file
    label: int
    category: str
    fmt: str  # PNG, JPEG, ...


@cache
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name), size)


def render_font(digit: int, rng: np.random.Generator) -> np.ndarray:
    """Ink (float 0..1, tightly cropped, about 160 px tall) of a digit in a random font."""
    image = Image.new("L", (360, 360), 0)
    ImageDraw.Draw(image).text((90, 40), str(digit), font=_font(FONTS[rng.integers(len(FONTS))], 200), fill=255)
    return np.asarray(image.crop(image.getbbox()), dtype=np.float32) / 255


def _smooth(points: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Chaikin corner cutting: a polyline -> a smooth curve through its neighbourhood."""
    for _ in range(rounds):
        a, b = points[:-1], points[1:]
        points = np.concatenate([points[:1], np.stack([0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b], 1)
                                 .reshape(-1, 2), points[-1:]])
    return points


def render_strokes(digit: int, rng: np.random.Generator, pen: float | None = None) -> np.ndarray:
    """Ink (float 0..1, cropped, about 200 px tall) of a hand-drawn digit. `pen`: width / height."""
    styles = _SKELETONS[digit]
    strokes = styles[rng.integers(len(styles))]
    slant, aspect = rng.uniform(-0.1, 0.35), rng.uniform(0.6, 1.1)  # slant > 0 leans right
    pen = pen if pen is not None else rng.uniform(0.05, 0.14)
    height, scale = 200, 2  # drawn at 2x, then averaged down for anti-aliasing
    size = int(height * 1.8)
    image = Image.new("L", (size * scale, size * scale), 0)
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        p = np.asarray(stroke, dtype=np.float64)
        p = p + rng.normal(0, 0.025, p.shape)  # the hand's wobble
        p[:, 0] = 0.5 + (p[:, 0] - 0.5) * aspect + slant * (0.5 - p[:, 1])
        p = _smooth(p) * height + (size - height) / 2
        width = max(1.0, pen * height * rng.uniform(0.8, 1.2)) * scale
        xy = [tuple(q) for q in p * scale]
        draw.line(xy, fill=255, width=round(width), joint="curve")
        for x, y in (xy[0], xy[-1]):  # round pen tips
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    image = image.reduce(scale)
    return np.asarray(image.crop(image.getbbox()), dtype=np.float32) / 255


def place(ink: np.ndarray, canvas: tuple[int, int], height: float, where: tuple[float, float],
          angle: float) -> np.ndarray:
    """Rotate `ink` by `angle` degrees, scale it to `height` px tall and put it on a (H, W) canvas.
    `where` (x, y) in 0..1 picks the position among those that keep the digit inside the canvas
    (0.5, 0.5: centred)."""
    glyph = Image.fromarray(ink).rotate(angle, Image.Resampling.BICUBIC, expand=True)
    s = min(height / glyph.height, 0.95 * canvas[1] / glyph.width)
    glyph = glyph.resize((max(1, round(glyph.width * s)), max(1, round(glyph.height * s))),
                         Image.Resampling.BILINEAR)
    out = Image.new("F", (canvas[1], canvas[0]), 0.0)
    out.paste(glyph, (round(where[0] * (canvas[1] - glyph.width)), round(where[1] * (canvas[0] - glyph.height))))
    return np.clip(np.asarray(out, dtype=np.float32), 0, 1)


def _field(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Smooth random field in about -1..1: a cells x cells grid of noise, bilinearly upsampled."""
    grid = Image.fromarray(rng.uniform(-1, 1, (cells, cells)).astype(np.float32))
    return np.asarray(grid.resize((shape[1], shape[0]), Image.Resampling.BICUBIC), dtype=np.float32)


def _lighting(rng: np.random.Generator, shape: tuple[int, int], depth: float) -> np.ndarray:
    """Multiplicative light: a linear gradient in a random direction plus a vignette, darkest = 1 - depth."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    theta = rng.uniform(0, 2 * np.pi)
    g = (np.cos(theta) * x / w + np.sin(theta) * y / h)
    g = (g - g.min()) / max(float(np.ptp(g)), 1e-6)
    r2 = ((x / w - 0.5) ** 2 + (y / h - 0.5) ** 2) * 2
    light = 1 - depth * (0.7 * g + 0.3 * r2)
    return light[..., None].astype(np.float32)


def _encode(rgb: np.ndarray, fmt: str, rng: np.random.Generator, alpha: np.ndarray | None = None,
            quality: int = 75, exif_rotate: bool = False) -> bytes:
    """float RGB (H, W, 3) in 0..1 (and optional alpha) -> file bytes in `fmt`."""
    pixels = np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8)
    if alpha is not None:
        pixels = np.dstack([pixels, np.rint(np.clip(alpha, 0, 1) * 255).astype(np.uint8)])
    image = Image.fromarray(pixels)
    buf = io.BytesIO()
    kwargs: dict = {}
    if exif_rotate:  # store the pixels turned 90 degrees, with the EXIF tag that turns them back
        image = image.transpose(Image.Transpose.ROTATE_90)
        exif = Image.Exif()
        exif[0x0112] = 6  # orientation: rotate 90 CW to display
        kwargs["exif"] = exif
    if fmt == "JPEG":
        image.convert("RGB").save(buf, "JPEG", quality=quality, **kwargs)
    elif fmt == "PNG16":  # 16-bit grayscale PNG
        gray = np.asarray(image.convert("L"), dtype=np.uint16) * 257
        Image.fromarray(gray).save(buf, "PNG")
    elif fmt == "GIF":
        image.convert("P", palette=Image.Palette.ADAPTIVE, colors=int(rng.integers(4, 64))).save(buf, "GIF")
    elif fmt == "PNG":
        image.save(buf, "PNG", compress_level=1)  # noisy paper compresses badly; level 1 is 5x faster
    else:
        image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def make_sample(category: str, index: int, seed: int = 0) -> Sample:
    """Sample `index` of `category`: deterministic in (category, index, seed)."""
    rng = np.random.default_rng([seed, CATEGORIES.index(category), index])
    label = index % 10
    source = category.split("-")[0] if category.startswith(("font", "stroke")) else rng.choice(["font", "stroke"])
    pen = {"thin-pen": rng.uniform(0.012, 0.03), "thick-marker": rng.uniform(0.2, 0.3),
           "faint-pencil": rng.uniform(0.03, 0.06)}.get(category)
    if source == "font" and pen is None:
        ink = render_font(label, rng)
    else:
        ink = render_strokes(label, rng, pen)
    h = int(rng.integers(80, 640))
    w = int(h * rng.uniform(0.75, 1.33))
    height_frac, spread, angle = rng.uniform(0.45, 0.8), 0.1, rng.uniform(-5, 5)
    if category == "off-centre":
        h, w = int(rng.integers(200, 800)), int(rng.integers(200, 800))
        height_frac, spread = rng.uniform(0.15, 0.35), 0.5
    elif category == "rotated":
        angle = rng.choice([-1, 1]) * rng.uniform(8, 25)
    elif category == "tiny-canvas":
        h = int(rng.integers(16, 48))
        w = int(h * rng.uniform(0.75, 1.33))
        height_frac = rng.uniform(0.6, 0.9)
    elif category in ("phone-photo", "thin-pen"):
        h = int(rng.integers(600, 1600))
        w = int(h * rng.uniform(0.75, 1.33))
        angle = rng.uniform(-10, 10)
    where = (0.5 + rng.uniform(-spread, spread), 0.5 + rng.uniform(-spread, spread))
    ink = place(ink, (h, w), height_frac * min(h, w), where, angle)

    light_on_dark = category.endswith("light-on-dark") or (
        category in ("off-centre", "rotated", "file-formats") and rng.random() < 0.5)
    paper, pen_rgb = np.ones(3, np.float32), np.zeros(3, np.float32)
    if category in ("tinted-paper", "phone-photo"):
        paper = rng.uniform([0.75, 0.7, 0.55], [1.0, 1.0, 1.0])
        pen_rgb = np.array([[0.05, 0.1, 0.5], [0.6, 0.05, 0.05], [0.1, 0.35, 0.1], [0.25, 0.25, 0.25]]
                           )[rng.integers(4)]
    if category == "faint-pencil":
        paper, pen_rgb = rng.uniform(0.9, 1.0, 3), np.full(3, rng.uniform(0.45, 0.7))
    if light_on_dark:
        paper, pen_rgb = 1 - paper, 1 - pen_rgb
    rgb = paper * (1 - ink[..., None]) + pen_rgb * ink[..., None]
    if category in ("uneven-light", "phone-photo"):
        rgb = rgb * _lighting(rng, (h, w), rng.uniform(0.3, 0.6) if category == "uneven-light" else 0.35)
    if category in ("noisy-paper", "phone-photo", "jpeg", "faint-pencil"):
        texture = _field(rng, (h, w), int(rng.integers(8, 40)))[..., None] * rng.uniform(0.02, 0.06)
        sigma = rng.uniform(0.03, 0.1) if category == "noisy-paper" else 0.02
        rgb = rgb + texture + sigma * rng.standard_normal((h, w, 1), dtype=np.float32)

    if category == "rgba-transparent":
        colour = [np.zeros(3), np.ones(3), np.array([0.1, 0.2, 0.8])][rng.integers(3)]
        hidden = [np.zeros(3), np.ones(3), colour][rng.integers(3)]  # what transparent pixels hold
        rgb = np.broadcast_to(np.where(ink[..., None] > 0, colour, hidden), (h, w, 3))
        return Sample(_encode(rgb, "PNG", rng, alpha=ink), label, category, "PNG")
    if category in ("jpeg", "phone-photo"):
        quality = int(rng.integers(10, 50)) if category == "jpeg" else int(rng.integers(60, 90))
        exif = category == "phone-photo" and rng.random() < 0.3
        return Sample(_encode(rgb, "JPEG", rng, quality=quality, exif_rotate=exif), label, category, "JPEG")
    fmt = rng.choice(["BMP", "GIF", "WEBP", "TIFF", "PNG16"]) if category == "file-formats" else "PNG"
    return Sample(_encode(rgb, str(fmt), rng), label, category, str(fmt))


def make_set(per_category: int = 100, seed: int = 0, categories: tuple[str, ...] = CATEGORIES) -> list[Sample]:
    return [make_sample(c, i, seed) for c in categories for i in range(per_category)]
