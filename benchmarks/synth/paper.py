"""Paper: the page a digit is written on, what is printed on it (ruling, grids, boxes, form cells, labels),
and the ink put on it. Sizes are in px of the page; colours are RGB floats 0..1.

A page is uint8 RGB: plain paper is one colour, and everything printed or written is composited locally
(only the pixels it covers), so that a 2000 px photo page costs little. Paper texture and sensor noise are
added at the end, by `finish_scan` here or by `photo.shoot`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from .fonts import _font

INK_THRESHOLD = 0.1  # a pixel belongs to a digit's box where its ink alpha exceeds this

PAPERS = {"white": (0.96, 0.96, 0.95), "cream": (0.97, 0.95, 0.88), "grey": (0.9, 0.9, 0.9),
          "blue": (0.84, 0.91, 0.98), "green": (0.86, 0.95, 0.86), "pink": (0.98, 0.87, 0.9),
          "yellow": (0.98, 0.95, 0.7), "kraft": (0.76, 0.62, 0.45)}
INKS = {"black": (0.08, 0.08, 0.1), "blue-black": (0.1, 0.12, 0.3), "blue": (0.1, 0.2, 0.65),
        "red": (0.75, 0.1, 0.12), "green": (0.1, 0.45, 0.2), "purple": (0.4, 0.15, 0.55),
        "pencil": (0.28, 0.28, 0.3)}


def jitter(rng: np.random.Generator, colour: tuple[float, float, float], amount: float = 0.03) -> np.ndarray:
    return np.clip(np.asarray(colour) + rng.normal(0, amount, 3), 0, 1)


@dataclass
class Page:
    rgb: np.ndarray  # uint8 (H, W, 3)
    # Each digit's ink as written, left to right: (alpha float32, x, y of its top-left); may overhang the page.
    marks: list[tuple[np.ndarray, int, int]] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:  # (width, height)
        return self.rgb.shape[1], self.rgb.shape[0]

    def _region(self, alpha: np.ndarray, x: int, y: int) -> tuple[np.ndarray, tuple[slice, slice]] | None:
        h, w = alpha.shape
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, self.size[0]), min(y + h, self.size[1])
        if x0 >= x1 or y0 >= y1:
            return None
        return alpha[y0 - y:y1 - y, x0 - x:x1 - x], (slice(y0, y1), slice(x0, x1))

    def ink(self, alpha: np.ndarray, x: int, y: int, colour: np.ndarray, digit: bool = False,
            over: bool = False) -> None:
        """Put ink of `colour` where `alpha` > 0, its top-left at (x, y). Ink and print filter the light
        (multiply: a pen line over a printed line is darker than either); `over` paints instead (light
        strokes on a dark pad). `digit`: remember it for the boxes."""
        if digit:
            self.marks.append((alpha, int(x), int(y)))
        region = self._region(alpha, int(x), int(y))
        if region is None:
            return
        a, where = region
        a = a[..., None]
        base = self.rgb[where].astype(np.float32) / 255
        out = base * (1 - a) + colour * a if over else base * (1 - a * (1 - colour))
        self.rgb[where] = np.rint(out * 255).astype(np.uint8)

    def boxes(self) -> tuple[tuple[int, int, int, int], ...]:
        """Each digit's box: the visible pixels of its ink, (x0, y0, x1, y1) with x1, y1 exclusive."""
        out = []
        for alpha, x, y in self.marks:
            region = self._region(alpha, x, y)
            if region is None:
                continue
            ys, xs = np.nonzero(region[0] > INK_THRESHOLD)
            if len(ys):
                sy, sx = region[1]
                out.append((sx.start + int(xs.min()), sy.start + int(ys.min()), sx.start + int(xs.max()) + 1,
                            sy.start + int(ys.max()) + 1))
        return tuple(out)


def blank(size: tuple[int, int], colour: np.ndarray) -> Page:
    """A page of (width, height) px of one colour."""
    return Page(np.broadcast_to(np.rint(colour * 255).astype(np.uint8), (size[1], size[0], 3)).copy())


def _band(n: int, pos: float, thickness: float) -> tuple[int, np.ndarray]:
    """Coverage of pixel rows by a line from `pos` to `pos + thickness` (anti-aliased): (first row, weights)."""
    first = int(np.floor(pos))
    edges = np.arange(first, int(np.ceil(pos + thickness)) + 1, dtype=np.float32)
    cover = np.clip(np.minimum(edges[1:], pos + thickness) - np.maximum(edges[:-1], pos), 0, 1)
    keep = (edges[:-1] >= 0) & (edges[:-1] < n)
    return first + int(np.argmax(keep)) if keep.any() else 0, cover[keep]


def line(page: Page, vertical: bool, pos: float, thickness: float, colour: np.ndarray, start: int = 0,
         stop: int | None = None, strength: float = 1.0) -> None:
    """A printed straight line across the page (or from `start` to `stop` along it)."""
    w, h = page.size
    first, cover = _band(w if vertical else h, pos, thickness)
    if len(cover) == 0:
        return
    length = (h if vertical else w)
    start, stop = max(0, start), min(length, length if stop is None else stop)
    if stop <= start:
        return
    a = np.broadcast_to(cover[None, :] if vertical else cover[:, None],
                        (stop - start, len(cover)) if vertical else (len(cover), stop - start)) * strength
    page.ink(np.ascontiguousarray(a, np.float32), first if vertical else start, start if vertical else first, colour)


def ruled(page: Page, rng: np.random.Generator, spacing: float, through: float) -> dict:
    """Notebook ruling every `spacing` px with one line at y = `through`; sometimes the red margin line."""
    colour = jitter(rng, [(0.55, 0.7, 0.92), (0.62, 0.78, 0.95), (0.6, 0.62, 0.66), (0.7, 0.6, 0.85)]
                    [rng.integers(4)])
    thickness, strength = rng.uniform(1, 3), rng.uniform(0.6, 1.0)
    for k in range(-int(through / spacing) - 1, int((page.size[1] - through) / spacing) + 2):
        line(page, False, through + k * spacing, thickness, colour, strength=strength)
    info = {"ruling": "ruled", "spacing": round(spacing, 1), "rule_px": round(thickness, 1)}
    if rng.random() < 0.35:
        x = rng.uniform(0.05, 0.95) * page.size[0]
        red = jitter(rng, (0.9, 0.45, 0.5))
        line(page, True, x, rng.uniform(1, 2.5), red)
        if rng.random() < 0.3:
            line(page, True, x + rng.uniform(3, 6), rng.uniform(1, 2), red)
        info["margin_x"] = round(x)
    return info


def squared(page: Page, rng: np.random.Generator, spacing: float, origin: tuple[float, float]) -> dict:
    """Squared or graph paper: a grid every `spacing` px through `origin`; graph paper darkens every 5th."""
    colour = jitter(rng, [(0.6, 0.75, 0.92), (0.65, 0.65, 0.68), (0.55, 0.8, 0.6), (0.9, 0.65, 0.5)]
                    [rng.integers(4)])
    thickness = rng.uniform(0.8, 1.8) if spacing < 25 else rng.uniform(1, 2.5)
    major = rng.random() < 0.3
    strength = rng.uniform(0.5, 0.95)
    for vertical, o, n in ((False, origin[1], page.size[1]), (True, origin[0], page.size[0])):
        for k in range(-int(o / spacing) - 1, int((n - o) / spacing) + 2):
            heavy = major and k % 5 == 0
            line(page, vertical, o + k * spacing, thickness * (1.8 if heavy else 1), colour,
                 strength=min(1.0, strength * (1.4 if heavy else 1)))
    return {"ruling": "graph" if major else "squared", "spacing": round(spacing, 1), "rule_px": round(thickness, 1)}


def outline(size: tuple[int, int], thickness: float, radius: float = 0.0) -> np.ndarray:
    """Alpha of a rectangle's border, (width, height) px outside to outside, corners of `radius` px."""
    ss = 3  # drawn at 3x for smooth rounded corners and fractional widths
    image = Image.new("L", (max(1, round(size[0] * ss)), max(1, round(size[1] * ss))), 0)
    ImageDraw.Draw(image).rounded_rectangle((0, 0, image.width - 1, image.height - 1), radius=radius * ss,
                                            outline=255, width=max(1, round(thickness * ss)))
    return np.asarray(image.reduce(ss), np.float32) / 255


def label(text: str, height: float, rng: np.random.Generator) -> np.ndarray:
    """Alpha of small printed text (a form's field label), about `height` px tall."""
    font = _font(str(rng.choice(["DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSans-Bold.ttf"])), max(6, round(height)))
    box = font.getbbox(text)
    image = Image.new("L", (box[2] - box[0] + 2, box[3] - box[1] + 2), 0)
    ImageDraw.Draw(image).text((1 - box[0], 1 - box[1]), text, font=font, fill=255)
    return np.asarray(image, np.float32) / 255


def field_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """A smooth random field about -1..1 over (H, W): a few cells of noise, bicubically upsampled."""
    grid = Image.fromarray(rng.uniform(-1, 1, (cells, max(2, cells * shape[1] // max(shape[0], 1)))).astype(
        np.float32))
    return np.asarray(grid.resize((shape[1], shape[0]), Image.Resampling.BICUBIC), np.float32)


def finish_scan(page: Page, rng: np.random.Generator, texture: float = 0.02, blur: bool = True) -> np.ndarray:
    """A scanner's or a flatbed phone app's view of a page: paper texture (`texture`: its depth), a little
    unevenness, sensor noise, and the slight softness of the optics. Returns uint8 RGB."""
    h, w = page.rgb.shape[:2]
    rgb = page.rgb.astype(np.float32) / 255
    gain = 1 + texture * field_noise(rng, (h, w), int(rng.integers(3, 12))) \
        + texture * 0.6 * rng.standard_normal((h, w), dtype=np.float32)
    rgb = rgb * gain[..., None] + rng.normal(0, rng.uniform(0.003, 0.015), (h, w, 1)).astype(np.float32)
    image = Image.fromarray(np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8))
    if blur and rng.random() < 0.5:
        from PIL import ImageFilter

        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    return np.asarray(image)
