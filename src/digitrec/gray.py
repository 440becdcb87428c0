"""An image's gray plane at analysis resolution, float32 in 0..1, transparency composited: the
input of ink finding (`ink`). 16- and 32-bit grayscale are read at their full scale; a drawing on a
transparent canvas is put on the tone opposite its strokes, a mostly opaque image's holes filled
with its paper's tone.

Big images are reduced in tiles of about a megapixel, converting each tile on its own, so the
working copies of a 50-megapixel image stay a few megabytes beside the decoded image itself (tiles,
not strips: a strip of a 50,000,000 x 1 image is the whole image). numpy and Pillow only.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageChops

from .imageops import median, sample
from .images import check_finite

TILE_SIDE = 1024  # px: big images are converted and reduced in tiles of about this side (1 M pixels)
KEYED_PAPER = 0.25  # a transparent pixel's hidden tone this far from the strokes' is the paper's


def _plane_mode(image: Image.Image) -> tuple[str, bool]:
    """(how to read the gray plane: "L" or "F", whether the image has transparency)."""
    mode = image.mode
    wide = mode in ("I", "F") or mode.startswith("I;16")  # 16/32-bit grayscale
    alpha = not wide and ("A" in mode or "a" in mode or "transparency" in image.info)
    return ("F" if wide else "L"), alpha


def wide_scale(image: Image.Image) -> float:
    """The full-scale value of a 16/32-bit grayscale image."""
    if image.mode.startswith("I;16"):
        return 65535.0
    top = float(image.getextrema()[1])
    if not math.isfinite(top):
        return 1.0  # NaN or infinity: refused by check_finite when the pixels are read
    return next(s for s in (1.0, 255.0, 65535.0, top) if top <= s)


def _tile_planes(tile: Image.Image, plane: str, alpha: bool, factor: int, scale: float,
                 name: str) -> tuple[np.ndarray, ...]:
    """The planes of one tile reduced by `factor`, each float32 in 0..1: (gray,) for an opaque image;
    (gray premultiplied by alpha, alpha, gray premultiplied by transparency) for one with alpha."""
    if tile.mode in ("YCbCr", "LAB", "HSV"):
        tile = tile.convert("RGB")
    if tile.mode == "La":  # premultiplied: Pillow converts it to nothing else
        tile = tile.convert("LA")
    if plane == "F":
        x = np.asarray(tile.convert("F") if tile.mode != "F" else tile, dtype=np.float32)
        check_finite(x, name)
        x = x / max(scale, 1e-6)
        small = Image.fromarray(np.clip(x, 0, 1).astype(np.float32))
        small = small.reduce(factor) if factor > 1 else small
        return (np.asarray(small, dtype=np.float32),)
    if not alpha:
        gray = tile.convert("L")
        gray = gray.reduce(factor) if factor > 1 else gray
        return (np.asarray(gray, dtype=np.float32) / 255.0,)
    rgba = tile.convert("RGBA")
    a = rgba.getchannel("A")
    gray = rgba.convert("L")
    # Average premultiplied values, so transparent pixels' hidden colour does not leak into edges;
    # that hidden colour is kept apart (weighted by transparency), as a clue to the paper's tone.
    planes = [ImageChops.multiply(gray, a), a, ImageChops.multiply(gray, ImageChops.invert(a))]
    return tuple(np.asarray(p.reduce(factor) if factor > 1 else p, dtype=np.float32) / 255.0 for p in planes)


def gray_of(image: Image.Image, name: str, work_side: int) -> tuple[np.ndarray, int]:
    """(float32 (H, W) in 0..1 at most `work_side` on its longest side, transparency composited;
    the reduction factor)."""
    plane, alpha = _plane_mode(image)
    scale = wide_scale(image) if plane == "F" else 255.0
    factor = math.ceil(max(image.size) / work_side)
    if image.mode == "L" and not alpha:  # nothing to convert: reducing allocates only the small result
        return np.asarray(image.reduce(factor) if factor > 1 else image, dtype=np.float32) / 255.0, factor
    side = factor * max(1, TILE_SIDE // factor)  # input px per tile side: a multiple of factor, so blocks align
    if max(image.size) <= side:  # one tile: no copy of it cut out, none of its planes joined
        planes = list(_tile_planes(image, plane, alpha, factor, scale, name))
    else:
        planes = _tiled_planes(image, side, plane, alpha, factor, scale, name)
    if len(planes) == 1:
        return planes[0], factor
    premultiplied, a, hidden = planes
    if a.min() == 1.0:
        return premultiplied, factor  # declared transparency, but every pixel is opaque
    return _composite(np.clip(premultiplied / np.maximum(a, 1e-6), 0, 1), a, hidden), factor


def _tiled_planes(image: Image.Image, side: int, plane: str, alpha: bool, factor: int, scale: float,
                  name: str) -> list[np.ndarray]:
    """`_tile_planes` of the whole image, converted and reduced tile by tile (`side` input px each)."""
    rows = []
    for top in range(0, image.height, side):
        tiles = [_tile_planes(image.crop((left, top, min(image.width, left + side), min(image.height, top + side))),
                              plane, alpha, factor, scale, name) for left in range(0, image.width, side)]
        rows.append([np.concatenate(parts, axis=1) for parts in zip(*tiles, strict=True)])
    return [np.concatenate(parts) for parts in zip(*rows, strict=True)]


def _composite(g: np.ndarray, a: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """Flatten gray `g` with alpha `a` onto a backdrop chosen so that the digit stays visible.
    `hidden`: the tone the transparent pixels hold, premultiplied by their transparency (1 - a)."""
    visible = a > 0.5
    if not visible.any():
        return np.zeros_like(g)  # fully transparent: nothing to see
    if visible.mean() < 0.5:
        # Mostly transparent: the opaque pixels are the strokes (a drawing on a transparent canvas).
        # Put them on the opposite tone, whatever colour the transparent pixels secretly hold...
        stroke = float((a * g).sum() / a.sum())
        backdrop = 1.0 if stroke < 0.5 else 0.0
        # ...unless that colour clearly differs from the strokes: then it is the paper the image was
        # flattened on before its paper was keyed out (a palette PNG whose paper index is transparent
        # through tRNS), and the opaque pixels include the strokes' anti-aliasing toward it.
        clear = float((1 - a).sum())
        under = float(hidden.sum()) / clear
        if abs(under - stroke) >= KEYED_PAPER:
            backdrop = under
    else:
        # Mostly opaque: the opaque pixels are the paper; fill the holes with the paper's tone.
        backdrop = median(sample(g)[sample(visible)])
    return a * g + (1 - a) * backdrop
