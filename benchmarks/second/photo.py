"""A phone photo of a page: the desk beyond one or two of its edges, a slight perspective, uneven light (a
gradient, a soft shadow, vignetting, a colour cast), focus blur and sensor noise."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .paper import lowfreq, to_image

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in px


def perspective_coeffs(dst: list[tuple[float, float]], src: list[tuple[float, float]]) -> list[float]:
    """PIL's PERSPECTIVE coefficients mapping output points dst to input points src (four each)."""
    A, B = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        A.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        B.append(u)
        A.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        B.append(v)
    return np.linalg.solve(np.array(A, float), np.array(B, float)).tolist()


def desk_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """(h, w, 3) float32 desk: wood grain, grey or dark laminate, or cloth."""
    kind = rng.choice(["wood", "grey", "dark", "cloth"])
    if kind == "wood":
        base = np.array([rng.uniform(0.45, 0.65), rng.uniform(0.3, 0.42), rng.uniform(0.15, 0.25)])
        g = rng.normal(0, 1, (max(2, h // 6), 6)).astype(np.float32)
        streak = np.asarray(Image.fromarray(g, "F").resize((w, h), Image.BICUBIC))
        t = 1 + 0.12 * streak + 0.05 * lowfreq(rng, h, w, 3)
    elif kind == "grey":
        v = rng.uniform(0.35, 0.6)
        base = np.array([v, v * rng.uniform(0.95, 1.05), v * rng.uniform(0.9, 1.08)])
        t = 1 + 0.04 * lowfreq(rng, h, w, 4)
    elif kind == "dark":
        v = rng.uniform(0.1, 0.22)
        base = np.array([v, v, v * rng.uniform(0.9, 1.2)])
        t = 1 + 0.08 * lowfreq(rng, h, w, 4)
    else:
        base = np.array([rng.uniform(0.2, 0.5), rng.uniform(0.25, 0.45), rng.uniform(0.3, 0.6)])
        t = 1 + 0.05 * rng.normal(0, 1, (h, w)).astype(np.float32)
    d = base[None, None, :].astype(np.float32) * t[..., None]
    d *= (1 + rng.normal(0, 0.02, (h, w)).astype(np.float32))[..., None]
    return d


def _page_mask(rng: np.random.Generator, W: int, H: int, content: Box) -> Image.Image:
    """"L" mask, 255 on the page and 0 beyond 1-2 of its edges: each 3%-14% of the shorter side in,
    slightly tilted, and never closer than 2% of it to the content."""
    S = min(H, W)
    cx0, cy0, cx1, cy1 = content
    mask = Image.new("L", (W, H), 255)
    draw = ImageDraw.Draw(mask)
    for side in rng.choice(4, size=int(rng.integers(1, 3)), replace=False):
        d = rng.uniform(0.03, 0.14) * S
        tilt = rng.uniform(-0.04, 0.04)
        d = min(d, [cx0, W - cx1, cy0, H - cy1][side] - 0.02 * S)  # left, right, top, bottom
        if d <= 2:
            continue
        th, tw = tilt * H / 2, tilt * W / 2  # the edge's offset at the ends, px
        draw.polygon([[(0, 0), (d + th, 0), (d - th, H), (0, H)],
                      [(W, 0), (W - d + th, 0), (W - d - th, H), (W, H)],
                      [(0, 0), (W, 0), (W, d + tw), (0, d - tw)],
                      [(0, H), (W, H), (W, H - d + tw), (0, H - d - tw)]][side], fill=0)
    return mask


def _on_desk(paper: np.ndarray, rng: np.random.Generator, content: Box) -> np.ndarray:
    """The page lying on a desk, which its edge shades a little."""
    H, W = paper.shape[:2]
    mask = _page_mask(rng, W, H, content)
    m = np.asarray(mask.filter(ImageFilter.GaussianBlur(0.8)), np.float32)[..., None] / 255.0
    sh = np.asarray(mask.filter(ImageFilter.GaussianBlur(min(H, W) * 0.01)), np.float32)[..., None] / 255.0
    dk = desk_texture(rng, H, W) * (1 - 0.35 * sh)
    return paper * m + dk * (1 - m)


def _tilt(im: Image.Image, rng: np.random.Generator, strength: float) -> Image.Image:
    """A slight perspective: the output's corners show source points moved inwards by up to 6% (x strength)."""
    W, H = im.size
    j = rng.uniform(0.0, 0.06) * strength
    src = [(rng.uniform(0, j) * W, rng.uniform(0, j) * H), (W - rng.uniform(0, j) * W, rng.uniform(0, j) * H),
           (W - rng.uniform(0, j) * W, H - rng.uniform(0, j) * H), (rng.uniform(0, j) * W, H - rng.uniform(0, j) * H)]
    dst = [(0, 0), (W, 0), (W, H), (0, H)]
    return im.transform((W, H), Image.PERSPECTIVE, perspective_coeffs(dst, src), resample=Image.BICUBIC)


def _light(a: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """a (H, W, 3) under the room's light: exposure, a gradient, often a soft shadow edge, vignetting, and
    a colour cast."""
    H, W = a.shape[:2]
    S = min(H, W)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    ramp = ((xx - W / 2) * math.cos(ang) + (yy - H / 2) * math.sin(ang)) / (0.5 * math.hypot(W, H))
    illum = rng.uniform(0.85, 1.08) * (1 - rng.uniform(0.0, 0.22) * strength * (ramp + 1) / 2)
    if rng.random() < 0.65:
        ang2 = rng.uniform(0, 2 * math.pi)
        off = rng.uniform(-0.45, 0.45) * S
        dist = (xx - W / 2) * math.cos(ang2) + (yy - H / 2) * math.sin(ang2) - off
        soft = rng.uniform(0.03, 0.2) * S
        illum = illum * (1 - rng.uniform(0.12, 0.35) * strength / (1 + np.exp(-dist / soft)))
    r2 = ((xx - W / 2) / (W / 2)) ** 2 + ((yy - H / 2) / (H / 2)) ** 2
    illum = illum * (1 - rng.uniform(0.05, 0.3) * strength * r2 / 2)
    a = a * illum[..., None]
    cast = np.array([1 + rng.uniform(-0.07, 0.07), 1 + rng.uniform(-0.04, 0.04), 1 + rng.uniform(-0.08, 0.08)],
                    np.float32)
    return a * cast


def photo(paper: np.ndarray, rng: np.random.Generator, content: Box, desk: bool | None = None,
          strength: float = 1.0) -> Image.Image:
    """A photo of the page (float (H, W, 3)), the content box kept clear of the desk; desk None: one time in
    two. strength scales the perspective and the light's unevenness."""
    H, W = paper.shape[:2]
    if desk is None:
        desk = rng.random() < 0.5
    scene = _on_desk(paper, rng, content) if desk else paper
    im = _tilt(to_image(scene), rng, strength)
    im = to_image(_light(np.asarray(im, np.float32) / 255.0, rng, strength))
    im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.3) * max(1, min(H, W) / 1000)))
    a = np.asarray(im, np.float32) / 255.0
    sig = rng.uniform(0.008, 0.03)
    a = a + rng.normal(0, sig, (H, W, 1)).astype(np.float32) + rng.normal(0, sig * 0.4, (H, W, 3)).astype(np.float32)
    return to_image(a)
