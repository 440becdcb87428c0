"""Paper, ink and printed lines: float RGB pages (H, W, 3) in 0..1, ink multiplied onto them, and the
finished page as the bytes of a PNG or JPEG file."""

from __future__ import annotations

import io
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

Colour = tuple[float, float, float]  # RGB, 0..1

INKS: dict[str, Colour] = {
    "black": (0.07, 0.07, 0.09),
    "darkblue": (0.07, 0.11, 0.33),
    "ballpoint": (0.13, 0.22, 0.62),
    "red": (0.78, 0.10, 0.12),
    "green": (0.08, 0.48, 0.20),
    "purple": (0.40, 0.13, 0.55),
    "pencil": (0.30, 0.30, 0.33),
}
PAPERS: dict[str, Colour] = {"yellow": (1.0, 0.96, 0.7), "pink": (1.0, 0.84, 0.88), "blue": (0.8, 0.89, 1.0),
                             "green": (0.82, 0.96, 0.82)}


class Line(NamedTuple):
    """A printed line, in px of the page."""

    x0: float
    y0: float
    x1: float
    y1: float
    width: float
    intensity: float  # 0..1: how much of the colour is printed
    colour: Colour


def lowfreq(rng: np.random.Generator, h: float, w: float, cells: int = 4) -> np.ndarray:
    """(h, w) float32 smooth unit-normal noise: cells x cells values, bicubic."""
    g = rng.normal(0, 1.0, (cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(g, "F").resize((w, h), Image.BICUBIC))


def make_paper(rng: np.random.Generator, h: int, w: int, base: Colour | None = None,
               texture: float = 1.0) -> np.ndarray:
    """(h, w, 3) float32 page: white to slightly yellowed (or `base`), with cloudiness and fibre noise."""
    if base is None:
        yel = rng.uniform(0, 0.06)
        b = rng.uniform(0.93, 1.0)
        base = (b, b * (1 - yel * 0.3), b * (1 - yel))
    p = np.empty((h, w, 3), np.float32)
    p[:] = base
    p *= (1 + 0.012 * texture * lowfreq(rng, h, w, 5))[..., None]
    fib = rng.normal(0, 0.012 * texture, (h, w)).astype(np.float32)
    p *= (1 + fib)[..., None]
    return p


def paste_ink(paper: np.ndarray, alpha: np.ndarray, x: int, y: int, colour: Colour, strength: float = 1.0) -> None:
    """Multiply an alpha mask of ink in `colour` onto the paper in place, its top left at (x, y); clipped."""
    H, W = paper.shape[:2]
    h, w = alpha.shape
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        return
    a = alpha[y0 - y:y1 - y, x0 - x:x1 - x][..., None] * strength
    c = np.asarray(colour, np.float32)
    paper[y0:y1, x0:x1] *= 1 - a * (1 - c)


def ink_alpha(alpha: np.ndarray, ink: str, rng: np.random.Generator) -> np.ndarray:
    """The ink's texture on an alpha mask: graphite grain for pencil, unevenness for black and blue pens."""
    h, w = alpha.shape
    if ink == "pencil":
        # graphite grain: speckle whose size grows with the resolution (paper tooth)
        cell = max(1.0, h / 90.0)
        gw_, gh_ = max(2, int(w / cell)), max(2, int(h / cell))
        g = rng.normal(0, 1, (gh_, gw_)).astype(np.float32)
        grain = np.asarray(Image.fromarray(g, "F").resize((w, h), Image.BILINEAR))
        level = rng.uniform(0.7, 0.9)
        a = alpha * np.clip(level + 0.18 * grain + 0.06 * lowfreq(rng, h, w, 3), 0.35, 1)
        return a.astype(np.float32)
    if ink in ("ballpoint", "darkblue", "black"):
        a = alpha * np.clip(0.93 + 0.07 * lowfreq(rng, h, w, 3) + rng.normal(0, 0.03, (h, w)), 0.7, 1)
        return a.astype(np.float32)
    return alpha


def draw_lines(paper: np.ndarray, lines: list[Line], ss: int = 3) -> None:
    """Print the lines onto the paper in place, drawn ss times supersampled, one layer per colour."""
    h, w = paper.shape[:2]
    by_colour: dict[Colour, list[Line]] = {}
    for ln in lines:
        by_colour.setdefault(ln.colour, []).append(ln)
    for colour, lns in by_colour.items():
        img = Image.new("L", (w * ss, h * ss), 0)
        draw = ImageDraw.Draw(img)
        for x0, y0, x1, y1, wd, it, _ in lns:
            draw.line((x0 * ss, y0 * ss, x1 * ss, y1 * ss), fill=int(255 * it), width=max(1, int(round(wd * ss))))
        paste_ink(paper, np.asarray(img.resize((w, h), Image.BOX), dtype=np.float32) / 255.0, 0, 0, colour)


def to_image(a: np.ndarray) -> Image.Image:
    """Float RGB (H, W, 3) in 0..1 -> RGB image, rounding."""
    return Image.fromarray((np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8), "RGB")


def finish(paper: np.ndarray, rng: np.random.Generator, noise: float, blur: float) -> Image.Image:
    """The page as a scan: grey sensor noise (standard deviation `noise`), then a Gaussian blur (px)."""
    img = np.clip(paper, 0, 1)
    if noise > 0:
        img = img + rng.normal(0, noise, img.shape[:2]).astype(np.float32)[..., None]
    im = to_image(img)
    if blur > 0:
        im = im.filter(ImageFilter.GaussianBlur(blur))
    return im


def png(im: Image.Image) -> tuple[bytes, str]:
    """(file bytes, extension)."""
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue(), "png"


def jpeg(im: Image.Image, quality: int) -> tuple[bytes, str]:
    """(file bytes, extension)."""
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue(), "jpg"


def encode(im: Image.Image, rng: np.random.Generator) -> tuple[bytes, str]:
    """A scan's file: JPEG (quality 60-95) one time in three or so, PNG otherwise."""
    if rng.random() < 0.35:
        return jpeg(im, int(rng.integers(60, 96)))
    return png(im)


def photo_page(rng: np.random.Generator, W: int, H: int, ruled_p: float = 0.3) -> np.ndarray:
    """A page to photograph: ruled with probability ruled_p, squared with 0.15, else plain."""
    p = make_paper(rng, H, W)
    r = rng.random()
    if r < ruled_p:
        sp = rng.uniform(0.025, 0.045) * min(W, H)
        col = (0.5, 0.65, 0.9)
        draw_lines(p, [Line(-2, y, W + 2, y, max(1.0, min(W, H) / 700), 0.6, col)
                       for y in np.arange(rng.uniform(0, sp), H, sp)], ss=1)
    elif r < ruled_p + 0.15:
        c = rng.uniform(0.015, 0.03) * min(W, H)
        col = (0.55, 0.7, 0.9)
        lw = max(1.0, min(W, H) / 900)
        lines = [Line(x, -2, x, H + 2, lw, 0.5, col) for x in np.arange(rng.uniform(0, c), W, c)]
        lines += [Line(-2, y, W + 2, y, lw, 0.5, col) for y in np.arange(rng.uniform(0, c), H, c)]
        draw_lines(p, lines, ss=1)
    return p
