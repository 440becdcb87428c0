"""One digit in a handwriting font: the glyph made thicker or thinner (its loops kept open), slanted, rotated,
stretched and elastically warped by the writer, then scaled to its height."""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .strokes import tight

if TYPE_CHECKING:
    from .writers import Writer

# (path, the native slant of the font's digits, which a writer compensates so that the net slant stays
# moderate); the paths of Debian's font packages (fonts-humor-sans, fonts-comic-neue, fonts-kristi, ...).
_FONT_CANDIDATES = [
    ("/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf", 0.0),
    ("/usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf", 0.0),
    ("/usr/share/fonts/opentype/comic-neue/ComicNeue-Bold.otf", 0.0),
    ("/usr/share/fonts/opentype/comic-neue/ComicNeue-Italic.otf", 0.2),
    ("/usr/share/fonts/opentype/comic-neue/ComicNeue-Light.otf", 0.0),
    ("/usr/share/fonts/truetype/kristi/Kristi.ttf", 0.2),
    ("/usr/share/fonts/opentype/dancingscript/DancingScript-Regular.otf", 0.15),
    ("/usr/share/fonts/opentype/dancingscript/DancingScript-Bold.otf", 0.15),
    ("/usr/share/fonts/truetype/fifthhorseman/dkg.ttf", 0.0),
    ("/usr/share/fonts/truetype/fifthhorseman/dkgBd.ttf", 0.0),
    ("/usr/share/fonts/truetype/fifthhorseman/dkgIt.ttf", 0.5),
    ("/usr/share/fonts/truetype/fifthhorseman/dkgBI.ttf", 0.45),
    ("/usr/share/fonts/truetype/breip/Breip.ttf", 0.0),
    ("/usr/share/fonts/opentype/bwht/BecauseWeBuild-Regular.otf", 0.0),
    ("/usr/share/fonts/opentype/bwht/BecauseWeConnect-Regular.otf", 0.0),
    ("/usr/share/fonts/opentype/bwht/BecauseWeCreate-Regular.otf", 0.0),
    ("/usr/share/fonts/opentype/bwht/BecauseWeLearn-Regular.otf", 0.0),
    ("/usr/share/fonts/opentype/bwht/BecauseWeMentor-Regular.otf", 0.0),
    ("/usr/share/fonts/opentype/bwht/BecauseWeOrganize-Regular.otf", 0.0),
]
# Fonts not installed are skipped (the set then differs from one made with all of them installed).
FONTS = [(p, s) for p, s in _FONT_CANDIDATES if os.path.exists(p)]
# fonts solid enough to be thinned without breaking strokes
ERODABLE = {"Humor-Sans.ttf", "ComicNeue-Bold.otf", "DancingScript-Bold.otf", "dkgBd.ttf", "dkgBI.ttf",
            "BecauseWeLearn-Regular.otf", "BecauseWeConnect-Regular.otf"}
# (font, digit) pairs whose glyph is ambiguous when written small (drawn as strokes instead)
FONT_BAD = {("Breip.ttf", 0), ("Kristi.ttf", 4), ("dkgIt.ttf", 0), ("dkgBI.ttf", 0)}
# condensed fonts get widened so that loops stay open
FONT_ASPECT = {"Kristi.ttf": 1.3, "BecauseWeBuild-Regular.otf": 1.12, "BecauseWeCreate-Regular.otf": 1.15,
               "BecauseWeMentor-Regular.otf": 1.1, "BecauseWeOrganize-Regular.otf": 1.1}
_GLYPH_CACHE: dict[tuple[int, str], tuple[Image.Image, float, int]] = {}


def _glyph(digit: int, path: str) -> tuple[Image.Image, float, int]:
    """The digit's glyph at 220 px as a tight "L" mask (4 px border), its stroke width estimate (px: twice
    the area over the outline length) and its height (px)."""
    key = (digit, path)
    if key in _GLYPH_CACHE:
        return _GLYPH_CACHE[key]
    img = Image.new("L", (600, 600), 0)
    ImageDraw.Draw(img).text((300, 300), str(digit), font=ImageFont.truetype(path, 220), fill=255, anchor="mm")
    a = np.pad(tight(np.asarray(img, dtype=np.float32) / 255.0), 4)
    b = a > 0.5
    area = b.sum()
    edge = (b & ~(np.roll(b, 1, 0) & np.roll(b, -1, 0) & np.roll(b, 1, 1) & np.roll(b, -1, 1))).sum()
    res = (Image.fromarray((a * 255).astype(np.uint8)), 2.0 * area / max(edge, 1), a.shape[0])
    _GLYPH_CACHE[key] = res
    return res


def _hole_area(img: Image.Image) -> int:
    """Pixels of background enclosed by ink (loops of 0, 4, 6, 8, 9)."""
    b = img.point(lambda v: 255 if v > 100 else 0)
    pad = Image.new("L", (b.width + 2, b.height + 2), 0)
    pad.paste(b, (1, 1))
    ImageDraw.floodfill(pad, (0, 0), 128)
    return int((np.asarray(pad) == 0).sum())


def _reweight(img: Image.Image, sw: float, gh: int, digit: int, writer: Writer, name: str) -> Image.Image:
    """The glyph's strokes brought towards the writer's thickness (at the 220 px scale, 5.5%-15% of the
    height): dilated by as much as keeps 3/4 of its loops' area, or eroded (only fonts in ERODABLE)."""
    target = np.clip(sw * writer.thick_mult, 0.055 * gh, 0.15 * gh)
    if digit != 1:
        target = min(target, max(sw, 0.2 * img.size[0]))
    delta = target - sw
    k = int(round(abs(delta) / 2))
    if delta > 0 and k > 0:
        holes0 = _hole_area(img)
        for kk in range(min(k, 8), 0, -1):
            cand = img.filter(ImageFilter.MaxFilter(2 * kk + 1))
            if _hole_area(cand) >= 0.75 * holes0:
                return cand
    elif delta < 0 and k > 0 and name in ERODABLE:
        k = min(k, int(0.3 * sw / 2))
        if k > 0:
            return img.filter(ImageFilter.MinFilter(2 * k + 1))
    return img


def _affine(img: Image.Image, writer: Writer, rng: np.random.Generator, name: str) -> np.ndarray:
    """The glyph rotated, slanted (sheared) and stretched, M = R @ Shear @ S, as a tight float alpha."""
    rot = math.radians(writer.rot + rng.normal(0, writer.rot_var))
    slant = writer.slant + rng.normal(0, 0.03)
    sx = writer.aspect * rng.uniform(0.93, 1.07) * FONT_ASPECT.get(name, 1.0)
    sy = rng.uniform(0.96, 1.04)
    S = np.array([[sx, 0], [0, sy]])
    Sh = np.array([[1, -slant], [0, 1]])
    R = np.array([[math.cos(rot), -math.sin(rot)], [math.sin(rot), math.cos(rot)]])
    Mi = np.linalg.inv(R @ Sh @ S)
    w0, h0 = img.size
    pad = int(max(w0, h0) * 0.9)
    W = w0 + 2 * pad
    H = h0 + 2 * pad
    cx, cy = W / 2, H / 2
    icx, icy = w0 / 2, h0 / 2
    # PIL maps output to input: input = Mi @ (out - c) + ic, about the centres c and ic
    a_, b_ = Mi[0]
    d_, e_ = Mi[1]
    c_ = icx - a_ * cx - b_ * cy
    f_ = icy - d_ * cx - e_ * cy
    img = img.transform((W, H), Image.AFFINE, (a_, b_, c_, d_, e_, f_), resample=Image.BICUBIC)
    return tight(np.asarray(img, dtype=np.float32) / 255.0)


def render_font(digit: int, writer: Writer, h: float, rng: np.random.Generator) -> np.ndarray:
    """Float32 alpha (tight-cropped) of the digit in the writer's font, ink h px high."""
    name = os.path.basename(writer.font)
    img, sw, gh = _glyph(digit, writer.font)
    a = _affine(_reweight(img, sw, gh, digit, writer, name), writer, rng, name)
    if writer.elastic > 0:
        a = tight(elastic(a, writer.elastic * a.shape[0], rng))
    scale = h / a.shape[0]
    ow = max(1, int(round(a.shape[1] * scale)))
    oh = max(1, int(round(a.shape[0] * scale)))
    im = Image.fromarray((np.clip(a, 0, 1) * 255).astype(np.uint8)).resize((ow, oh), Image.LANCZOS)
    return tight(np.asarray(im, dtype=np.float32) / 255.0)


def elastic(a: np.ndarray, amp: float, rng: np.random.Generator) -> np.ndarray:
    """a warped by a smooth random displacement field (4x4 normal values, bicubic; amp px per unit)."""
    h, w = a.shape

    def field() -> np.ndarray:
        g = rng.normal(0, 1, (4, 4)).astype(np.float32)
        return np.asarray(Image.fromarray(g, "F").resize((w, h), Image.BICUBIC)) * amp

    dx, dy = field(), field()
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return remap(a, xx + dx, yy + dy)


def remap(a: np.ndarray, sx: np.ndarray, sy: np.ndarray) -> np.ndarray:
    """a sampled bilinearly at (sx, sy) (arrays of a's shape), zero outside."""
    h, w = a.shape
    x0 = np.floor(sx).astype(int)
    y0 = np.floor(sy).astype(int)
    fx = sx - x0
    fy = sy - y0
    ap = np.pad(a, 1)

    def g(yi: np.ndarray, xi: np.ndarray) -> np.ndarray:
        return ap[np.clip(yi + 1, 0, h + 1), np.clip(xi + 1, 0, w + 1)]

    return ((g(y0, x0) * (1 - fx) + g(y0, x0 + 1) * fx) * (1 - fy)
            + (g(y0 + 1, x0) * (1 - fx) + g(y0 + 1, x0 + 1) * fx) * fy)
